//! Typed emitters against the alternatives, side by side in one run: a counter
//! with 3 labels and a histogram observation, single-threaded and with 2
//! threads contending on the same series.
//!
//! ```sh
//! cargo bench -p obspec-generated --bench metrics_emitters -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! Contenders: a raw `AtomicU64::fetch_add` (the floor); the obspec typed
//! emitter (with its open-label lookup, and with the open label resolved once);
//! `metrics::counter!`/`histogram!` with dynamic labels on obspec's recorder
//! and on `metrics-exporter-prometheus`'s; `prometheus-client`'s
//! `Family::get_or_create` and its cached handle.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use metrics_exporter_prometheus::PrometheusBuilder;
use obspec_generated::metrics::{self as m, Code, Method, Quota, SessionType};
use obspec_generated::routes::GatewayRoute;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;

const ROUTE: &str = "/v1/rooms/:room_id";
/// The same route as the gateway's route enum (the emitters index by it).
const TYPED_ROUTE: Option<GatewayRoute> = Some(GatewayRoute::RoomsRoomId);
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Runs `op` `iters` times on each of 2 threads started together; the time is
/// the wall time until both finish (so per iteration: one op per thread while
/// the other thread does the same).
fn contended<F: Fn() + Sync>(iters: u64, op: F) -> Duration {
    let barrier = Barrier::new(3);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..iters {
                    op();
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope joins both threads before returning.
        start
    })
    .elapsed()
}

type PcLabels = (String, &'static str, &'static str);

fn setup() -> metrics_exporter_prometheus::PrometheusRecorder {
    // The obspec recorder is global; the typed emitters resolve against it.
    let _ = m::install();
    PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .map(|b| b.build_recorder())
        .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder())
}

fn counters(c: &mut Criterion) {
    let prom = setup();
    let raw = Arc::new(AtomicU64::new(0));
    let row = m::gateway_http_requests_total(TYPED_ROUTE, Method::Get, Code::S200);
    let family: Family<PcLabels, PcCounter> = Family::default();
    let labels: PcLabels = (ROUTE.to_owned(), "GET", "200");
    let route = black_box(ROUTE);
    let typed = black_box(TYPED_ROUTE);

    let mut g = c.benchmark_group("counter_3_labels");
    g.bench_function("raw_atomic_fetch_add", |b| b.iter(|| raw.fetch_add(1, Ordering::Relaxed)));
    g.bench_function("obspec_typed", |b| {
        b.iter(|| m::gateway_http_requests_total(typed, Method::Get, Code::S200).increment(1))
    });
    g.bench_function("obspec_typed_row_resolved", |b| b.iter(|| row.increment(1)));
    g.bench_function("obspec_typed_closed_only_2_labels", |b| {
        b.iter(|| m::core_quota_exceeded_total(SessionType::User, Quota::Backpressure).increment(1))
    });
    g.bench_function("metrics_counter_macro_obspec_recorder", |b| {
        b.iter(|| {
            metrics::counter!("gateway_http_requests_total", "route" => route, "method" => "GET", "code" => "200")
                .increment(1)
        })
    });
    g.bench_function("metrics_counter_macro_prometheus_exporter", |b| {
        metrics::with_local_recorder(&prom, || {
            b.iter(|| {
                metrics::counter!("gateway_http_requests_total", "route" => route, "method" => "GET", "code" => "200")
                    .increment(1)
            })
        })
    });
    g.bench_function("prometheus_client_family_get_or_create", |b| b.iter(|| family.get_or_create(&labels).inc()));
    g.finish();

    let mut g = c.benchmark_group("counter_3_labels_2_threads");
    g.bench_function("raw_atomic_fetch_add", |b| {
        b.iter_custom(|n| {
            contended(n, || {
                raw.fetch_add(1, Ordering::Relaxed);
            })
        })
    });
    g.bench_function("obspec_typed", |b| {
        b.iter_custom(|n| contended(n, || m::gateway_http_requests_total(typed, Method::Get, Code::S200).increment(1)))
    });
    g.bench_function("obspec_typed_row_resolved", |b| {
        b.iter_custom(|n| contended(n, || row.increment(1)))
    });
    g.bench_function("metrics_counter_macro_obspec_recorder", |b| {
        b.iter_custom(|n| {
            contended(n, || {
                metrics::counter!("gateway_http_requests_total", "route" => route, "method" => "GET", "code" => "200")
                    .increment(1)
            })
        })
    });
    g.bench_function("metrics_counter_macro_prometheus_exporter", |b| {
        b.iter_custom(|n| {
            contended(n, || {
                metrics::with_local_recorder(&prom, || {
                    metrics::counter!("gateway_http_requests_total", "route" => route, "method" => "GET", "code" => "200")
                        .increment(1)
                })
            })
        })
    });
    g.bench_function("prometheus_client_family_get_or_create", |b| {
        b.iter_custom(|n| {
            contended(n, || {
                family.get_or_create(&labels).inc();
            })
        })
    });
    g.finish();
}

fn histograms(c: &mut Criterion) {
    let prom = setup();
    let raw = Arc::new(AtomicU64::new(0));
    let cached = m::gateway_http_request_duration_seconds(TYPED_ROUTE);
    let pc = PcHistogram::new(BUCKETS);
    let route = black_box(ROUTE);
    let typed = black_box(TYPED_ROUTE);
    let v = black_box(0.042);

    let mut g = c.benchmark_group("histogram_observe");
    g.bench_function("raw_atomic_fetch_add", |b| b.iter(|| raw.fetch_add(1, Ordering::Relaxed)));
    g.bench_function("obspec_typed", |b| b.iter(|| m::gateway_http_request_duration_seconds(typed).record(v)));
    g.bench_function("obspec_typed_cached_handle", |b| b.iter(|| cached.record(v)));
    g.bench_function("metrics_histogram_macro_obspec_recorder", |b| {
        b.iter(|| metrics::histogram!("gateway_http_request_duration_seconds", "route" => route).record(v))
    });
    g.bench_function("metrics_histogram_macro_prometheus_exporter", |b| {
        metrics::with_local_recorder(&prom, || {
            b.iter(|| metrics::histogram!("gateway_http_request_duration_seconds", "route" => route).record(v))
        })
    });
    g.bench_function("prometheus_client_cached_histogram", |b| b.iter(|| pc.observe(v)));
    g.finish();

    let mut g = c.benchmark_group("histogram_observe_2_threads");
    g.bench_function("raw_atomic_fetch_add", |b| {
        b.iter_custom(|n| {
            contended(n, || {
                raw.fetch_add(1, Ordering::Relaxed);
            })
        })
    });
    g.bench_function("obspec_typed", |b| {
        b.iter_custom(|n| contended(n, || m::gateway_http_request_duration_seconds(typed).record(v)))
    });
    g.bench_function("obspec_typed_cached_handle", |b| b.iter_custom(|n| contended(n, || cached.record(v))));
    g.bench_function("metrics_histogram_macro_prometheus_exporter", |b| {
        b.iter_custom(|n| {
            contended(n, || {
                metrics::with_local_recorder(&prom, || {
                    metrics::histogram!("gateway_http_request_duration_seconds", "route" => route).record(v)
                })
            })
        })
    });
    g.bench_function("prometheus_client_cached_histogram", |b| b.iter_custom(|n| contended(n, || pc.observe(v))));
    g.finish();
}

criterion_group!(benches, counters, histograms);
criterion_main!(benches);
