//! The apps the HTTP benches compare (`http_stack` times them,
//! `http_allocs` counts their allocations): a bare Axum handler and the same
//! handler behind the observability stack in its configurations. Included
//! with `#[path]`; not a bench of its own.
#![allow(dead_code)]

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::Method;
use obspec::flags::Flags;
use obspec::http::layer::ObservabilityBuilder;
use obspec::http::{
    ChaosLayer, LimitLayer, LimitMetrics, Limits, ObservabilityLayer, Rate, RequestMetrics, TraceIndex,
};
use obspec::log::{LineSink, LogPlane, LogSchema, UtcDay};

// The spec's vocabulary (generated): tokens and log schema.
use obspec_generated::routes::CoreRoute;
use obspec_generated::{ErrorToken as Tok, LOG_SCHEMA, metrics};

pub static SAMPLED: LogSchema = LOG_SCHEMA.with_success(LOG_SCHEMA.sampling.success);
pub static ALL: LogSchema = LOG_SCHEMA.with_success(1.0);

struct Discard;

impl LineSink for Discard {
    fn write_line(&mut self, _day: UtcDay, line: &[u8]) -> io::Result<()> {
        black_box(line);
        Ok(())
    }
}

/// What the Core API writes with its generated emitters (as
/// `apps/core/src/obs.rs` does): the route enum indexes the series.
struct Emitters;

impl RequestMetrics for Emitters {
    fn record(&self, route: &str, method: &Method, status: u16, latency: Duration) {
        let route = CoreRoute::from_template(route);
        let code = metrics::Code::from_number(u64::from(status));
        if let (Some(m), Some(c)) = (metrics::Method::from_value(method.as_str()), code) {
            metrics::core_http_requests_total(route, m, c).increment(1);
        }
        metrics::core_http_request_duration_seconds(route).record(latency.as_secs_f64());
    }
}

struct LimitCounters;

impl LimitMetrics for LimitCounters {
    fn rate_limited(&self, _: &str, _: &str, _: &str) {}
    fn backpressure(&self, _: &str, _: &str) {}
}

pub fn bare() -> Router {
    Router::new().route("/v1/rooms/{room_id}", get(|| async { "ok" }))
}

/// A layer that does nothing: what axum's per-layer boxing costs by itself.
pub fn noop_layer() -> Router {
    bare().layer(tower_layer::Identity::new())
}

pub fn obs_min() -> Router {
    bare().layer(ObservabilityLayer::<Tok>::builder().no_log().build())
}

pub fn full(schema: &'static LogSchema) -> (Router, LogPlane) {
    full_with(schema, |b| b)
}

/// `full` with the opt-in request-ids extension and response headers.
pub fn full_ids(schema: &'static LogSchema) -> (Router, LogPlane) {
    full_with(schema, |b| b.request_ids().response_ids())
}

pub fn full_with(
    schema: &'static LogSchema,
    opt: impl FnOnce(ObservabilityBuilder<Tok>) -> ObservabilityBuilder<Tok>,
) -> (Router, LogPlane) {
    let (plane, limits) = full_parts(schema);
    let builder = ObservabilityLayer::<Tok>::builder()
        .metrics(Emitters)
        .log_plane(plane.clone())
        .trace_index(Arc::new(TraceIndex::default()))
        .limits(limits)
        .expect("tokens")
        .chaos(Arc::new(Flags::defaults(&obspec_generated::FLAGS)));
    (bare().layer(opt(builder).build()), plane)
}

pub fn full_parts(schema: &'static LogSchema) -> (LogPlane, Arc<Limits>) {
    let plane = LogPlane::builder(schema, "core").sink(Discard).build().expect("plane");
    let limits = Limits::builder()
        .tenant_rate(Rate::per_second(1_000_000_000, 1_000_000))
        .tenant_key(obspec::http::HeaderKey::new("x-tenant-id"))
        .session_rate("user", Rate::per_second(1_000_000_000, 1_000_000))
        .max_concurrency(1024)
        .metrics(LimitCounters)
        .build();
    (plane, limits)
}

pub fn full_layered(schema: &'static LogSchema) -> (Router, LogPlane) {
    let (plane, limits) = full_parts(schema);
    let router = bare()
        .layer(ChaosLayer::new(Arc::new(Flags::defaults(&obspec_generated::FLAGS))))
        .layer(LimitLayer::<Tok>::new(limits).expect("tokens"))
        .layer(
            ObservabilityLayer::<Tok>::builder()
                .metrics(Emitters)
                .log_plane(plane.clone())
                .trace_index(Arc::new(TraceIndex::default()))
                .build(),
        );
    (router, plane)
}

pub fn request() -> http::Request<Body> {
    http::Request::builder()
        .uri("/v1/rooms/r-123")
        .header("host", "127.0.0.1")
        .header("x-tenant-id", "tenant-42")
        .header("x-session-type", "user")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .body(Body::empty())
        .expect("request")
}

/// Every app of the in-process comparison, `bare` first (the plane of each
/// that logs is returned to be kept alive and flushed).
pub fn apps() -> (Vec<(&'static str, Router)>, Vec<LogPlane>) {
    let (full_sampled, p1) = full(&SAMPLED);
    let (with_ids, p2) = full_ids(&SAMPLED);
    let (layered, p3) = full_layered(&SAMPLED);
    let (full_all, p4) = full(&ALL);
    let apps = vec![
        ("bare", bare()),
        ("noop_layer", noop_layer()),
        ("obs_min", obs_min()),
        ("full", full_sampled),
        ("full_ids", with_ids),
        ("full_layered", layered),
        ("full_log_all", full_all),
    ];
    (apps, vec![p1, p2, p3, p4])
}
