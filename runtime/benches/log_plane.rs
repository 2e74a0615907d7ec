//! Log plane benchmarks, side by side in one run:
//! - a sampled-out success event (sampling decision included), typed and via
//!   tracing, beside the floor of the tracing path (a layer that does nothing,
//!   and one that only visits the event's fields);
//! - an emitted 6-field line through [`ServerBlindLayer`], the typed [`LogLine`]
//!   path, and `tracing-subscriber`'s JSON layer, all writing to `io::sink`.
//!
//! After criterion, a paired harness runs the same cases in blocks, one after
//! the other in every round, and prints the median per-round speed-up of each
//! over the JSON layer (the figure to trust on a shared machine).
//!
//! Run: `cargo bench -p obspec --bench log_plane -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use obspec::log::{FieldSlot, LogPlane, LogSchema, WriteSink, trace_coin};
use tracing_subscriber::layer::SubscriberExt;

// The spec's log schema (generated), the one the log tests use.
#[path = "../tests/log_fixture.rs"]
mod log_fixture;
use log_fixture::{BLUEPRINT as SPEC, KEEP_ALL};

/// The 6-field success event every tracing case emits (the bench's one shape).
macro_rules! six_fields {
    ($trace_hex:expr) => {
        tracing::info!(
            route = room_route(),
            method = "GET",
            ok = true,
            code = 200u64,
            latency_ms = black_box(12u64),
            trace_id = $trace_hex
        )
    };
}

/// A route template of the spec (generated), as a handler's line names it.
#[inline(always)]
fn room_route() -> &'static str {
    obspec_generated::routes::CoreRoute::RoomsRoomId.template()
}

/// The same 6-field success line as a typed line.
#[inline(always)]
fn typed_line(plane: &LogPlane, trace: u128, code: FieldSlot, latency: FieldSlot) -> obspec::log::Emitted {
    plane
        .line()
        .route(black_box(room_route()))
        .method("GET")
        .ok(true)
        .u64(code, 200)
        .u64(latency, black_box(12))
        .trace(black_box(trace))
        .emit()
}

fn code_slot() -> FieldSlot {
    SPEC.role(obspec::log::LogRole::Status).expect("status field")
}
fn latency_slot() -> FieldSlot {
    log_fixture::latency()
}
const TRACE_HEX_LEN: usize = 32;

/// A trace-id the 1% sampler drops, so the full decision (hash included) runs.
fn unsampled_trace() -> u128 {
    (1u128..).find(|t| (trace_coin(*t) >> 11) > (1u64 << 53) / 100).unwrap_or(1)
}

fn plane(schema: &'static LogSchema) -> LogPlane {
    LogPlane::builder(schema, "core")
        .sink(WriteSink(std::io::sink()))
        .queue_bytes(64 << 20)
        .flush_interval(Duration::from_millis(5))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("log_plane");
    let trace = unsampled_trace();
    let trace_hex = format!("{trace:0TRACE_HEX_LEN$x}");
    // Resolved once, as the derive's `const` slots are.
    let (code, latency) = (code_slot(), latency_slot());

    // 1. Sampled-out success (1% spec rate; this trace-id is not in the 1%).
    let spec = plane(&SPEC);
    g.bench_function("sampled_out_success/typed_line", |b| {
        b.iter(|| black_box(typed_line(&spec, trace, code, latency)))
    });
    let sub = tracing_subscriber::registry().with(spec.layer());
    tracing::subscriber::with_default(sub, || {
        g.bench_function("sampled_out_success/tracing_layer", |b| b.iter(|| six_fields!(trace_hex.as_str())));
    });
    assert_eq!(spec.stats().queued, 0, "the chosen trace must be sampled out");
    // The floor any tracing layer pays before it can decide: the dispatch
    // through the registry with a layer that does nothing, and one that only
    // visits the event's fields (tracing hands a layer its fields by visitor,
    // so reading the trace-id means visiting them).
    for (name, visit) in [("tracing_floor_empty_layer", false), ("tracing_floor_visit_only_layer", true)] {
        let sub = tracing_subscriber::registry().with(FloorLayer { visit });
        tracing::subscriber::with_default(sub, || {
            g.bench_function(format!("sampled_out_success/{name}"), |b| b.iter(|| six_fields!(trace_hex.as_str())));
        });
    }

    // 2. Emitted 6-field line.
    let keep = plane(&KEEP_ALL);
    let sub = tracing_subscriber::registry().with(keep.layer());
    tracing::subscriber::with_default(sub, || {
        g.bench_function("emit_6_fields/server_blind_layer", |b| b.iter(|| six_fields!(trace_hex.as_str())));
    });
    g.bench_function("emit_6_fields/typed_line", |b| b.iter(|| black_box(typed_line(&keep, trace, code, latency))));
    let json = tracing_subscriber::fmt().json().with_writer(std::io::sink).finish();
    tracing::subscriber::with_default(json, || {
        g.bench_function("emit_6_fields/tracing_subscriber_json", |b| b.iter(|| six_fields!(trace_hex.as_str())));
    });
    g.finish();
    keep.flush(Duration::from_secs(10));
    let s = keep.stats();
    eprintln!("emitting plane: queued {} written {} dropped {}", s.queued, s.written, s.dropped);
    paired(&spec, &keep, trace, &trace_hex, code, latency);
}

/// A layer that does nothing on an event, or only visits its fields: the
/// floor of the tracing path (`sampled_out_success/tracing_floor_*`).
struct FloorLayer {
    visit: bool,
}

/// A visitor that reads nothing.
struct NoVisit;

impl tracing::field::Visit for NoVisit {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        black_box((field, value));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for FloorLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _cx: tracing_subscriber::layer::Context<'_, S>) {
        if self.visit {
            event.record(&mut NoVisit);
        }
    }
}

/// The same cases in blocks, one after the other in every round, so machine
/// noise hits them alike: the median ns per line of each, and the median
/// per-round ratio of the JSON layer's time to each case's.
fn paired(spec: &LogPlane, keep: &LogPlane, trace: u128, trace_hex: &str, code: FieldSlot, latency: FieldSlot) {
    const ROUNDS: usize = 30;
    const BLOCK: u32 = 20_000;
    let typed = |p: &LogPlane| {
        for _ in 0..BLOCK {
            black_box(typed_line(p, trace, code, latency));
        }
    };
    let traced = || {
        for _ in 0..BLOCK {
            six_fields!(trace_hex);
        }
    };
    let spec_sub = tracing::Dispatch::new(tracing_subscriber::registry().with(spec.layer()));
    let keep_sub = tracing::Dispatch::new(tracing_subscriber::registry().with(keep.layer()));
    let json = tracing::Dispatch::new(tracing_subscriber::fmt().json().with_writer(std::io::sink).finish());
    let names = [
        "emit_6_fields/tracing_subscriber_json",
        "emit_6_fields/typed_line",
        "emit_6_fields/server_blind_layer",
        "sampled_out_success/typed_line",
        "sampled_out_success/tracing_layer",
    ];
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for _ in 0..ROUNDS {
        for (i, v) in ns.iter_mut().enumerate() {
            let t = std::time::Instant::now();
            match i {
                0 => tracing::dispatcher::with_default(&json, traced),
                1 => typed(keep),
                2 => tracing::dispatcher::with_default(&keep_sub, traced),
                3 => typed(spec),
                _ => tracing::dispatcher::with_default(&spec_sub, traced),
            }
            v.push(t.elapsed().as_nanos() as f64 / f64::from(BLOCK));
        }
        keep.flush(Duration::from_secs(10));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (i, name) in names.iter().enumerate() {
        let speedup: Vec<f64> = ns[0].iter().zip(&ns[i]).map(|(j, x)| j / x).collect();
        eprintln!(
            "paired log_plane/{name:<38} median {:>7.1} ns/line  JSON/this x{:.2}  ({ROUNDS} rounds of {BLOCK})",
            median(ns[i].clone()),
            median(speedup)
        );
    }
}

criterion_group!(log_plane, benches);
criterion_main!(log_plane);
