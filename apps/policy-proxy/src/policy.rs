//! The policy: ABAC attributes from the request's headers, as bits, and the
//! rules over them. Attributes: `x-tenant-id` (an ID), `x-session-type`
//! (one of the spec's session types), `x-scopes` (comma-separated `read`,
//! `write`, `admin`), the method and whether the path names another tenant.

use http::{HeaderMap, Method};
use obspec_generated::ErrorToken;
use obspec_generated::metrics::SessionType;

use crate::obs::DenyReason;

/// Policy attribute bits (the `bits` of `policy.eval_min`).
pub mod bits {
    /// The request names a well-formed tenant.
    pub const TENANT: u64 = 1 << 0;
    /// The session type is one the spec declares.
    pub const SESSION_TYPE: u64 = 1 << 1;
    /// Scope `read`.
    pub const READ: u64 = 1 << 2;
    /// Scope `write`.
    pub const WRITE: u64 = 1 << 3;
    /// Scope `admin`.
    pub const ADMIN: u64 = 1 << 4;
    /// The method changes state (POST, PUT, PATCH, DELETE).
    pub const MUTATES: u64 = 1 << 5;
    /// The path names a tenant other than the caller's.
    pub const FOREIGN_TENANT: u64 = 1 << 6;
    /// The session type is `agent`.
    pub const AGENT: u64 = 1 << 7;
}

/// The header naming the tenant.
pub const TENANT_HEADER: &str = "x-tenant-id";
/// The header naming the session type.
pub const SESSION_HEADER: &str = "x-session-type";
/// The header listing the caller's scopes.
pub const SCOPES_HEADER: &str = "x-scopes";
/// The path prefix of tenant resources (`/v1/tenants/{tenant_id}`).
pub const TENANT_PATH: &str = "/v1/tenants/";

/// The attributes of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// The tenant, when well-formed.
    pub tenant: Option<String>,
    /// The session type, when declared by the spec.
    pub session_type: Option<SessionType>,
    /// The bits.
    pub bits: u64,
}

/// IDs accepted as tenants: 1 to 64 of `[A-Za-z0-9_-]`.
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Reads the attributes of a request to `path`.
pub fn attributes(method: &Method, path: &str, h: &HeaderMap) -> Attributes {
    let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    let tenant = header(TENANT_HEADER).filter(|t| is_id(t)).map(str::to_owned);
    let session_type = header(SESSION_HEADER).and_then(SessionType::from_value);
    let mut b = 0;
    if tenant.is_some() {
        b |= bits::TENANT;
    }
    if let Some(s) = session_type {
        b |= bits::SESSION_TYPE;
        if s == SessionType::Agent {
            b |= bits::AGENT;
        }
    }
    for scope in header(SCOPES_HEADER).unwrap_or_default().split(',').map(str::trim) {
        b |= match scope {
            "read" => bits::READ,
            "write" => bits::WRITE,
            "admin" => bits::ADMIN,
            _ => 0,
        };
    }
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        b |= bits::MUTATES;
    }
    if let Some(rest) = path.strip_prefix(TENANT_PATH) {
        let named = rest.split('/').next().unwrap_or_default();
        if tenant.as_deref() != Some(named) {
            b |= bits::FOREIGN_TENANT;
        }
    }
    Attributes { tenant, session_type, bits: b }
}

/// A denial: why, and the token answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    /// The `access.denied_min` reason.
    pub reason: DenyReason,
    /// The answer.
    pub token: ErrorToken,
}

/// The rules, first match wins:
/// 1. no tenant → `UNAUTHENTICATED` (no_session);
/// 2. a state change without `write`, or a read without `read` or `write` → `ACCESS_DENIED` (scope);
/// 3. another tenant's resource without `admin`, or an agent session on a tenant resource → `ACCESS_DENIED` (policy);
/// 4. otherwise allow.
pub fn evaluate(b: u64) -> Result<(), Denial> {
    let deny = |reason, token| Err(Denial { reason, token });
    if b & bits::TENANT == 0 {
        return deny(DenyReason::NoSession, ErrorToken::Unauthenticated);
    }
    let can_read = b & (bits::READ | bits::WRITE) != 0;
    if (b & bits::MUTATES != 0 && b & bits::WRITE == 0) || !can_read {
        return deny(DenyReason::Scope, ErrorToken::AccessDenied);
    }
    if b & bits::FOREIGN_TENANT != 0 && (b & bits::ADMIN == 0 || b & bits::AGENT != 0) {
        return deny(DenyReason::Policy, ErrorToken::AccessDenied);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().expect("value"));
        }
        m
    }

    #[test]
    fn rules_in_order() {
        let get = |p: &str, hs: &[(&'static str, &'static str)]| evaluate(attributes(&Method::GET, p, &h(hs)).bits);
        let post = |p: &str, hs: &[(&'static str, &'static str)]| evaluate(attributes(&Method::POST, p, &h(hs)).bits);
        assert_eq!(get("/v1/rooms", &[]).map_err(|d| d.reason), Err(DenyReason::NoSession));
        assert_eq!(get("/v1/rooms", &[(TENANT_HEADER, "t1")]).map_err(|d| d.reason), Err(DenyReason::Scope));
        assert_eq!(get("/v1/rooms", &[(TENANT_HEADER, "t1"), (SCOPES_HEADER, "read")]), Ok(()));
        assert_eq!(
            post("/v1/rooms", &[(TENANT_HEADER, "t1"), (SCOPES_HEADER, "read")]).map_err(|d| d.reason),
            Err(DenyReason::Scope)
        );
        assert_eq!(post("/v1/rooms", &[(TENANT_HEADER, "t1"), (SCOPES_HEADER, "read, write")]), Ok(()));
        assert_eq!(get("/v1/tenants/t1", &[(TENANT_HEADER, "t1"), (SCOPES_HEADER, "read")]), Ok(()));
        let other = [(TENANT_HEADER, "t1"), (SCOPES_HEADER, "read")];
        assert_eq!(get("/v1/tenants/t2", &other).map_err(|d| d.reason), Err(DenyReason::Policy));
        assert_eq!(get("/v1/tenants/t2", &[(TENANT_HEADER, "t1"), (SCOPES_HEADER, "read,admin")]), Ok(()));
        let agent = [(TENANT_HEADER, "t1"), (SCOPES_HEADER, "read,admin"), (SESSION_HEADER, "agent")];
        assert_eq!(get("/v1/tenants/t2", &agent).map_err(|d| d.token), Err(ErrorToken::AccessDenied));
    }
}
