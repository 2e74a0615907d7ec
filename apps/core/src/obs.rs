//! The Core API's observability vocabulary, all from the spec: request and
//! limit metrics through the generated emitters, trail records and log lines
//! through the derives, errors through `#[derive(ErrorToken)]`.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use obspec::http::{ApiError, LimitMetrics, RequestMetrics};
use obspec_generated::ErrorToken;
use obspec_generated::metrics::{self, Bucket, Code, Method, Quota, SessionType};
use obspec_generated::routes::CoreRoute;

/// `core_http_requests_total{route,method,code}` and
/// `core_http_request_duration_seconds{route}` for every request.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreRequestMetrics;

impl RequestMetrics for CoreRequestMetrics {
    fn record(&self, route: &str, method: &http::Method, status: u16, latency: Duration) {
        // The route enum indexes the series (None: no route matched).
        let route = CoreRoute::from_template(route);
        if let (Some(m), Some(c)) = (Method::from_value(method.as_str()), Code::from_number(u64::from(status))) {
            metrics::core_http_requests_total(route, m, c).increment(1);
        }
        metrics::core_http_request_duration_seconds(route).record(latency.as_secs_f64());
    }
}

/// `core_rate_limit_hits_total{bucket,tenant}`, `core_quota_exceeded_total{session_type,quota}`
/// and `core_tenant_requests_total{tenant}` from the limit layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct CoreLimitMetrics;

impl LimitMetrics for CoreLimitMetrics {
    fn rate_limited(&self, bucket: &str, tenant: &str, session_type: &str) {
        if let Some(b) = Bucket::from_value(bucket) {
            metrics::core_rate_limit_hits_total(b, tenant).increment(1);
        }
        if let Some(s) = SessionType::from_value(session_type) {
            metrics::core_quota_exceeded_total(s, Quota::RateLimit).increment(1);
        }
    }

    fn backpressure(&self, _tenant: &str, session_type: &str) {
        if let Some(s) = SessionType::from_value(session_type) {
            metrics::core_quota_exceeded_total(s, Quota::Backpressure).increment(1);
        }
    }

    fn admitted(&self, tenant: &str, _session_type: &str) {
        metrics::core_tenant_requests_total(tenant).increment(1);
    }
}

/// Every way a Core handler fails, mapped onto the spec's ErrorToken vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, obspec_macros::ErrorToken)]
pub enum CoreError {
    /// The body, a path parameter or a query parameter is malformed.
    #[token(INVALID_INPUT)]
    Invalid,
    /// No tenant, or bad credentials.
    #[token(UNAUTHENTICATED)]
    Unauthenticated,
    /// The caller may not see this tenant.
    #[token(ACCESS_DENIED)]
    Denied,
    /// No such room (for this tenant).
    #[token(NOT_FOUND)]
    Missing,
    /// The ID exists already.
    #[token(CONFLICT)]
    Conflict,
    /// A dependency is not configured or not reachable (media signer).
    #[token(UNAVAILABLE)]
    Unavailable,
    /// The database failed.
    #[token(INTERNAL)]
    Internal,
}

impl IntoResponse for CoreError {
    fn into_response(self) -> Response {
        ApiError::new(self.error_token()).into_response()
    }
}

impl From<CoreError> for ApiError<ErrorToken> {
    fn from(e: CoreError) -> Self {
        ApiError::new(e.error_token())
    }
}

pub use obspec_generated::trails::access_denied_min::Reason as DenyReason;
pub use obspec_generated::trails::auth_login_min::AuthMethod;
pub use obspec_generated::trails::core_append_link::LinkKind;
pub use obspec_generated::trails::media_presign_min::{BytesClass, Op as MediaOp};
pub use obspec_generated::trails::webhook_delivery_min::State as DeliveryState;

/// The size class (`media.presign_min.bytes_class`) of an object of `bytes`.
pub fn bytes_class(bytes: u64) -> BytesClass {
    match bytes {
        b if b < 64 << 10 => BytesClass::Lt64k,
        b if b < 1 << 20 => BytesClass::Lt1m,
        b if b < 16 << 20 => BytesClass::Lt16m,
        b if b < 256 << 20 => BytesClass::Lt256m,
        _ => BytesClass::Ge256m,
    }
}

/// Serde of a generated trail enum as its wire value, for API bodies
/// (`#[serde(with = "crate::obs::wire")]`).
pub mod wire {
    use obspec::event::TrailEnum;

    /// Writes the value as its trail string.
    pub fn serialize<T: TrailEnum, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_trail_str())
    }

    /// Reads one of the field's values.
    pub fn deserialize<'de, T: std::str::FromStr, D: serde::Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(|_| serde::de::Error::custom("not a value of the field"))
    }
}

/// Trail `core.append_link`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "core.append_link")]
pub struct AppendLink<'a> {
    /// New link.
    pub link_id: &'a str,
    /// What it points to.
    pub target_id: &'a str,
    /// Its kind.
    pub link_kind: LinkKind,
}

/// Trail `auth.login_min`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "auth.login_min")]
pub struct LoginMin {
    /// How the caller authenticated.
    pub auth_method: AuthMethod,
    /// Whether it succeeded.
    pub ok: bool,
}

/// Trail `access.denied_min`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "access.denied_min")]
pub struct AccessDenied {
    /// Why.
    pub reason: DenyReason,
    /// The answer's token.
    pub err_token: ErrorToken,
}

/// Trail `media.presign_min`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "media.presign_min")]
pub struct PresignMin {
    /// Size class.
    pub bytes_class: BytesClass,
    /// Upload or download.
    pub op: MediaOp,
}

/// Trail `webhook.delivery_min`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "webhook.delivery_min")]
pub struct DeliveryMin<'a> {
    /// Destination ID.
    pub dest: &'a str,
    /// Outcome.
    pub state: DeliveryState,
    /// Attempt number (from 1).
    pub attempt: u64,
}

/// Trail `ops.reload`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "ops.reload")]
pub struct Reload {
    /// Stage requested (the runtime's `Stage` wire form).
    pub stage: &'static str,
    /// Whether the switch happened.
    pub ok: bool,
}

/// Log line of one webhook attempt (IDs and counters only).
#[derive(Debug, obspec_macros::LogEvent)]
pub struct WebhookAttempt<'a> {
    /// Tenant of the event.
    pub tenant: &'a str,
    /// Whether the destination answered 2xx.
    pub ok: bool,
    /// Attempt time.
    pub latency_ms: u64,
    /// Token of a failed attempt.
    pub err_token: Option<ErrorToken>,
    /// Attempt number (billable upstream calls so far).
    pub cost_calls: u64,
}

#[cfg(test)]
mod tests {
    use obspec::event::TrailData;

    use super::*;

    #[test]
    fn every_trail_enum_value_is_in_the_spec() {
        for k in LinkKind::ALL {
            AppendLink { link_id: "l", target_id: "t", link_kind: k }.trail_data().expect("link kind");
        }
        for c in [0, 70_000, 2 << 20, 20 << 20, 300 << 20] {
            for op in MediaOp::ALL {
                PresignMin { bytes_class: bytes_class(c), op }.trail_data().expect("presign");
            }
        }
        for state in DeliveryState::ALL {
            DeliveryMin { dest: "d", state, attempt: 1 }.trail_data().expect("delivery");
        }
        for reason in DenyReason::ALL {
            AccessDenied { reason, err_token: ErrorToken::AccessDenied }.trail_data().expect("denied");
        }
        for auth_method in AuthMethod::ALL {
            LoginMin { auth_method, ok: true }.trail_data().expect("login");
        }
        let flags = obspec::flags::Flags::defaults(&obspec_generated::FLAGS);
        assert!(!flags.stages().is_empty());
        for s in flags.stages() {
            Reload { stage: s, ok: true }.trail_data().expect("reload");
        }
    }

    #[test]
    fn bytes_classes_have_the_spec_bounds() {
        assert_eq!(bytes_class(0), BytesClass::Lt64k);
        assert_eq!(bytes_class((64 << 10) - 1), BytesClass::Lt64k);
        assert_eq!(bytes_class(64 << 10), BytesClass::Lt1m);
        assert_eq!(bytes_class(256 << 20), BytesClass::Ge256m);
    }
}
