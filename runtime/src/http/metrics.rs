//! Per-request metrics, labelled by the matched route template (never the raw
//! path). The service implements [`RequestMetrics`] with its generated typed
//! emitters, e.g. `core_http_requests_total` and
//! `core_http_request_duration_seconds`:
//!
//! ```
//! use std::time::Duration;
//! use obspec_generated::metrics::{self, Code, Method};
//! use obspec_generated::routes::CoreRoute;
//!
//! struct CoreMetrics;
//!
//! impl obspec::http::RequestMetrics for CoreMetrics {
//!     fn record(&self, route: &str, method: &http::Method, status: u16, latency: Duration) {
//!         // The generated route enum indexes the series (None: unmatched).
//!         let route = CoreRoute::from_template(route);
//!         if let (Some(m), Some(c)) = (Method::from_value(method.as_str()), Code::from_number(u64::from(status))) {
//!             metrics::core_http_requests_total(route, m, c).increment(1);
//!         }
//!         metrics::core_http_request_duration_seconds(route).record(latency.as_secs_f64());
//!     }
//! }
//! ```

use std::time::Duration;

use http::Method;

/// Records one finished request. `route` is the spec form of the matched
/// template (`/v1/rooms/:room_id`), [`crate::http::route::UNMATCHED`] when no
/// route matched.
pub trait RequestMetrics: Send + Sync + 'static {
    /// One request answered with `status` after `latency`.
    fn record(&self, route: &str, method: &Method, status: u16, latency: Duration);
}

/// Records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl RequestMetrics for NoMetrics {
    fn record(&self, _: &str, _: &Method, _: u16, _: Duration) {}
}

impl<M: RequestMetrics> RequestMetrics for std::sync::Arc<M> {
    fn record(&self, route: &str, method: &Method, status: u16, latency: Duration) {
        (**self).record(route, method, status, latency);
    }
}
