//! The proxy's vocabulary, all from the spec: `policy_eval_total{decision}`,
//! trails `policy.eval_min`, `access.denied_min`, `ops.reload` through the
//! derive, log lines through `LogEvent`.

use obspec_generated::ErrorToken;

pub use obspec_generated::trails::access_denied_min::Reason as DenyReason;

/// Trail `policy.eval_min`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "policy.eval_min")]
pub struct EvalMin {
    /// The policy bits of the request.
    pub bits: u64,
    /// The decision (the `decision` label's value).
    pub decision: &'static str,
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

/// Trail `ops.reload`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "ops.reload")]
pub struct Reload {
    /// Stage requested.
    pub stage: &'static str,
    /// Whether the switch happened.
    pub ok: bool,
}

/// Log line of one upstream call.
#[derive(Debug, obspec_macros::LogEvent)]
pub struct Forwarded<'a> {
    /// Caller's tenant.
    pub tenant: &'a str,
    /// The stage's upstream name (`node`): the stage value.
    pub node: &'a str,
    /// Upstream status.
    pub code: u16,
    /// Whether the upstream answered below 500.
    pub ok: bool,
    /// The token of a failed call.
    pub err_token: Option<ErrorToken>,
    /// Upstream time.
    pub latency_ms: u64,
}

/// `policy_proxy_http_requests_total{route,method,code}` and
/// `policy_proxy_http_request_duration_seconds{route}` for every request (R43).
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyProxyRequestMetrics;

impl obspec::http::RequestMetrics for PolicyProxyRequestMetrics {
    fn record(&self, route: &str, method: &http::Method, status: u16, latency: std::time::Duration) {
        use obspec_generated::metrics::{self, Code, Method};
        // The route enum indexes the series (None: no route matched).
        let route = obspec_generated::routes::PolicyProxyRoute::from_template(route);
        if let (Some(m), Some(c)) = (Method::from_value(method.as_str()), Code::from_number(u64::from(status))) {
            metrics::policy_proxy_http_requests_total(route, m, c).increment(1);
        }
        metrics::policy_proxy_http_request_duration_seconds(route).record(latency.as_secs_f64());
    }
}
