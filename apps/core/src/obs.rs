//! The Core API's observability vocabulary, all from the spec: request and
//! limit metrics through the generated emitters, trail records and log lines
//! through the derives, errors through `#[derive(ErrorToken)]`.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use obspec::event::TrailEnum;
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
        if let (Some(m), Some(c)) = (Method::from_value(method.as_str()), Code::from_value(itoa(status).as_str())) {
            metrics::core_http_requests_total(route, m, c).increment(1);
        }
        metrics::core_http_request_duration_seconds(route).record(latency.as_secs_f64());
    }
}

fn itoa(n: u16) -> String {
    n.to_string()
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

/// Kind of a link (`core.append_link.link_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// A reference to another record.
    Reference,
    /// A media object.
    Media,
    /// A mention of a member.
    Mention,
}

impl TrailEnum for LinkKind {
    fn as_trail_str(&self) -> &'static str {
        match self {
            LinkKind::Reference => "reference",
            LinkKind::Media => "media",
            LinkKind::Mention => "mention",
        }
    }
}

/// Upload or download (`media.presign_min.op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaOp {
    /// Upload (`PUT`).
    Put,
    /// Download (`GET`).
    Get,
}

impl TrailEnum for MediaOp {
    fn as_trail_str(&self) -> &'static str {
        match self {
            MediaOp::Put => "put",
            MediaOp::Get => "get",
        }
    }
}

/// Size class of a media object (`media.presign_min.bytes_class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BytesClass {
    /// Under 64 KiB.
    Lt64k,
    /// Under 1 MiB.
    Lt1m,
    /// Under 16 MiB.
    Lt16m,
    /// Under 256 MiB.
    Lt256m,
    /// 256 MiB or more.
    Ge256m,
}

impl BytesClass {
    /// The class of an object of `bytes`.
    pub fn of(bytes: u64) -> Self {
        match bytes {
            b if b < 64 << 10 => BytesClass::Lt64k,
            b if b < 1 << 20 => BytesClass::Lt1m,
            b if b < 16 << 20 => BytesClass::Lt16m,
            b if b < 256 << 20 => BytesClass::Lt256m,
            _ => BytesClass::Ge256m,
        }
    }
}

impl TrailEnum for BytesClass {
    fn as_trail_str(&self) -> &'static str {
        match self {
            BytesClass::Lt64k => "lt_64k",
            BytesClass::Lt1m => "lt_1m",
            BytesClass::Lt16m => "lt_16m",
            BytesClass::Lt256m => "lt_256m",
            BytesClass::Ge256m => "ge_256m",
        }
    }
}

/// How a caller authenticated (`auth.login_min.auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A configured API key.
    ApiKey,
}

impl TrailEnum for AuthMethod {
    fn as_trail_str(&self) -> &'static str {
        match self {
            AuthMethod::ApiKey => "api_key",
        }
    }
}

/// Why an action was denied (`access.denied_min.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// No (valid) session or credentials.
    NoSession,
    /// Outside the caller's scope (another tenant).
    Scope,
}

impl TrailEnum for DenyReason {
    fn as_trail_str(&self) -> &'static str {
        match self {
            DenyReason::NoSession => "no_session",
            DenyReason::Scope => "scope",
        }
    }
}

/// Outcome of one webhook attempt (`webhook.delivery_min.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// The destination answered 2xx.
    Delivered,
    /// Failed; another attempt follows.
    Retrying,
    /// Failed; no attempt left.
    Failed,
}

impl TrailEnum for DeliveryState {
    fn as_trail_str(&self) -> &'static str {
        match self {
            DeliveryState::Delivered => "delivered",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Failed => "failed",
        }
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
        for k in [LinkKind::Reference, LinkKind::Media, LinkKind::Mention] {
            AppendLink { link_id: "l", target_id: "t", link_kind: k }.trail_data().expect("link kind");
        }
        for c in [0, 70_000, 2 << 20, 20 << 20, 300 << 20] {
            for op in [MediaOp::Put, MediaOp::Get] {
                PresignMin { bytes_class: BytesClass::of(c), op }.trail_data().expect("presign");
            }
        }
        for state in [DeliveryState::Delivered, DeliveryState::Retrying, DeliveryState::Failed] {
            DeliveryMin { dest: "d", state, attempt: 1 }.trail_data().expect("delivery");
        }
        for reason in [DenyReason::NoSession, DenyReason::Scope] {
            AccessDenied { reason, err_token: ErrorToken::AccessDenied }.trail_data().expect("denied");
        }
        LoginMin { auth_method: AuthMethod::ApiKey, ok: true }.trail_data().expect("login");
        let flags = obspec::flags::Flags::defaults(&obspec_generated::FLAGS);
        assert!(!flags.stages().is_empty());
        for s in flags.stages() {
            Reload { stage: s, ok: true }.trail_data().expect("reload");
        }
    }

    #[test]
    fn bytes_classes_have_the_spec_bounds() {
        assert_eq!(BytesClass::of(0), BytesClass::Lt64k);
        assert_eq!(BytesClass::of((64 << 10) - 1), BytesClass::Lt64k);
        assert_eq!(BytesClass::of(64 << 10), BytesClass::Lt1m);
        assert_eq!(BytesClass::of(256 << 20), BytesClass::Ge256m);
    }
}
