//! The HTTP middleware stack against a bare Axum handler, in one run: a GET
//! through `Router::oneshot` on a current-thread Tokio runtime.
//!
//! - `bare`: the handler alone;
//! - `noop_layer`: the handler behind a do-nothing layer (axum boxes each
//!   layered route again: the floor any middleware pays);
//! - `obs_min`: + the observability layer with no metrics, log or index
//!   (trace context, correlation ID, error-token check, panic catching);
//! - `full`: + metrics (the Core API's request counter and histogram through
//!   the generated emitters, indexed by the route enum), the log plane at the spec's 1% success sampling
//!   (lines to a discarding sink), the 1024-entry trace index, the limits
//!   (tenant bucket, session-type bucket, concurrency) and chaos light (off),
//!   all in the one observability service (`builder().limits(..).chaos(..)`);
//! - `full_layered`: the same with the limits and chaos as their own layers
//!   (`LimitLayer`, `ChaosLayer`), as before they joined the one service;
//! - `full_ids`: `full` with the opt-in `RequestIds` extension and the
//!   `traceparent` / `x-correlation-id` response headers;
//! - `full_log_all`: `full` with every line formatted and queued (100% sampling).
//!
//! After criterion, two paired harnesses (blocks of requests to each app in
//! turn, median per-round ratio to `bare`): in-process, and over a real
//! socket (a hyper HTTP/1.1 server on 127.0.0.1 and one keep-alive client
//! connection, both on the same current-thread runtime).
//!
//! Run: `cargo bench -p obspec --bench http_stack -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::print_stdout)]

use std::convert::Infallible;
use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group};
use http::Method;
use obspec::flags::Flags;
use obspec::http::layer::ObservabilityBuilder;
use obspec::http::{
    ChaosLayer, LimitLayer, LimitMetrics, Limits, ObservabilityLayer, Rate, RequestMetrics, TraceIndex,
};
use obspec::log::{LineSink, LogPlane, LogSchema, UtcDay};
use tower::ServiceExt;

// The spec's vocabulary (generated): tokens and log schema.
use obspec_generated::routes::CoreRoute;
use obspec_generated::{ErrorToken as Tok, LOG_SCHEMA, metrics};

static SAMPLED: LogSchema = LOG_SCHEMA.with_success(LOG_SCHEMA.sampling.success);
static ALL: LogSchema = LOG_SCHEMA.with_success(1.0);

/// Counts heap allocations, to report allocations per request beside the
/// timings (one relaxed add per allocation, for every app alike).
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn allocations() -> usize {
    let s = GLOBAL.stats();
    s.allocations + s.reallocations
}

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

fn bare() -> Router {
    Router::new().route("/v1/rooms/{room_id}", get(|| async { "ok" }))
}

/// A layer that does nothing: what axum's per-layer boxing costs by itself.
fn noop_layer() -> Router {
    bare().layer(tower_layer::Identity::new())
}

fn obs_min() -> Router {
    bare().layer(ObservabilityLayer::<Tok>::builder().no_log().build())
}

fn full(schema: &'static LogSchema) -> (Router, LogPlane) {
    full_with(schema, |b| b)
}

/// `full` with the opt-in request-ids extension and response headers.
fn full_ids(schema: &'static LogSchema) -> (Router, LogPlane) {
    full_with(schema, |b| b.request_ids().response_ids())
}

fn full_with(
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

fn full_parts(schema: &'static LogSchema) -> (LogPlane, Arc<Limits>) {
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

fn full_layered(schema: &'static LogSchema) -> (Router, LogPlane) {
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

fn request() -> http::Request<Body> {
    http::Request::builder()
        .uri("/v1/rooms/r-123")
        .header("host", "127.0.0.1")
        .header("x-tenant-id", "tenant-42")
        .header("x-session-type", "user")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .body(Body::empty())
        .expect("request")
}

fn bench(c: &mut Criterion) {
    let _ = obspec::metrics::install(&[]);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (full_sampled, p1) = full(&SAMPLED);
    let (full_all, p2) = full(&ALL);
    let (layered, p3) = full_layered(&SAMPLED);
    let apps = [
        ("bare", bare()),
        ("noop_layer", noop_layer()),
        ("obs_min", obs_min()),
        ("full", full_sampled),
        ("full_layered", layered),
        ("full_log_all", full_all),
    ];
    let mut g = c.benchmark_group("http");
    for (name, app) in apps {
        g.bench_function(name, |b| {
            b.iter(|| {
                let resp: Result<_, Infallible> = rt.block_on(app.clone().oneshot(request()));
                black_box(resp)
            })
        });
    }
    g.finish();
    p1.flush(Duration::from_secs(5));
    p2.flush(Duration::from_secs(5));
    p3.flush(Duration::from_secs(5));
}

/// Blocks of requests to each app in turn, so machine noise hits them alike;
/// prints the median ns/request of each and the median per-round ratio to `bare`.
fn paired() {
    const ROUNDS: usize = 40;
    const BLOCK: u32 = 2000;
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (full_sampled, _p1) = full(&SAMPLED);
    let (full_all, _p2) = full(&ALL);
    let (layered, _p3) = full_layered(&SAMPLED);
    let (with_ids, _p4) = full_ids(&SAMPLED);
    let apps = [
        ("bare", bare()),
        ("noop_layer", noop_layer()),
        ("obs_min", obs_min()),
        ("full", full_sampled),
        ("full_ids", with_ids),
        ("full_layered", layered),
        ("full_log_all", full_all),
    ];
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); apps.len()];
    for _ in 0..ROUNDS {
        for (i, (_, app)) in apps.iter().enumerate() {
            let t = std::time::Instant::now();
            for _ in 0..BLOCK {
                let resp: Result<_, Infallible> = rt.block_on(app.clone().oneshot(request()));
                black_box(resp.ok());
            }
            ns[i].push(t.elapsed().as_nanos() as f64 / f64::from(BLOCK));
        }
    }
    // Allocations per request (the request and response included), after the
    // timings: the same requests again, counted.
    for (name, app) in &apps {
        let before = allocations();
        for _ in 0..BLOCK {
            let resp: Result<_, Infallible> = rt.block_on(app.clone().oneshot(request()));
            black_box(resp.ok());
        }
        let n = allocations() - before;
        println!("allocations in-process http/{name:<13} {:.2} per request", n as f64 / f64::from(BLOCK));
    }
    report("in-process", &apps.map(|(n, _)| n), ns, ROUNDS, BLOCK);
}

/// Prints each app's median ns/request and its median per-round ratio to the first.
fn report(what: &str, names: &[&str], mut ns: Vec<Vec<f64>>, rounds: usize, block: u32) {
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let base = ns[0].clone();
    for (i, name) in names.iter().enumerate() {
        let mut ratios: Vec<f64> = ns[i].iter().zip(&base).map(|(a, b)| a / b).collect();
        let m = median(&mut ns[i]);
        let r = median(&mut ratios);
        let added = m - median(&mut ns[0].clone());
        println!(
            "paired {what} http/{name:<13} median {m:>8.0} ns/request  +{added:>6.0} ns  x{r:.3} of bare  ({rounds} rounds of {block})"
        );
    }
}

/// The same pairing over a real socket: per app a hyper HTTP/1.1 server on
/// 127.0.0.1 and one keep-alive client connection, all on one current-thread
/// runtime, so each request's full cost (both ends, the loopback) is counted.
fn paired_socket() {
    use http_body_util::BodyExt;
    const ROUNDS: usize = 30;
    const BLOCK: u32 = 500;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let (full_sampled, _p1) = full(&SAMPLED);
    let (with_ids, _p2) = full_ids(&SAMPLED);
    let (layered, _p3) = full_layered(&SAMPLED);
    let apps = [("bare", bare()), ("full", full_sampled), ("full_ids", with_ids), ("full_layered", layered)];
    let names = apps.clone().map(|(n, _)| n);
    let ns = rt.block_on(async move {
        let mut senders = Vec::new();
        for (_, app) in apps {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(async move {
                let (stream, _) = listener.accept().await.expect("accept");
                let svc = hyper_util::service::TowerToHyperService::new(app);
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
            });
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (tx, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.expect("handshake");
            tokio::spawn(conn);
            senders.push(tx);
        }
        let mut ns: Vec<Vec<f64>> = vec![Vec::new(); senders.len()];
        for _ in 0..ROUNDS {
            for (i, tx) in senders.iter_mut().enumerate() {
                let t = std::time::Instant::now();
                for _ in 0..BLOCK {
                    let resp = tx.send_request(request()).await.expect("response");
                    black_box(resp.into_body().collect().await.expect("body"));
                }
                ns[i].push(t.elapsed().as_nanos() as f64 / f64::from(BLOCK));
            }
        }
        ns
    });
    report("socket", &names, ns, ROUNDS, BLOCK);
}

criterion_group!(benches, bench);

fn main() {
    benches();
    paired();
    paired_socket();
    Criterion::default().configure_from_args().final_summary();
}
