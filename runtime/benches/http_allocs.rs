//! Heap allocations per request of each app `http_stack` times (the request
//! and the response included), through a counting global allocator; a bench
//! of its own so that the counting never slows the timed runs.
//!
//! Run: `cargo bench -p obspec --bench http_allocs`
#![allow(missing_docs, clippy::print_stdout)]

use std::convert::Infallible;
use std::hint::black_box;

use tower::ServiceExt;

#[path = "common/http_apps.rs"]
mod http_apps;
use http_apps::{apps, request};

#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn allocations() -> usize {
    let s = GLOBAL.stats();
    s.allocations + s.reallocations
}

fn main() {
    const WARM: u32 = 200;
    const COUNTED: u32 = 2000;
    let _ = obspec::metrics::install(&[]);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (apps, _planes) = apps();
    let mut base = None;
    for (name, app) in &apps {
        let run = |n: u32| {
            for _ in 0..n {
                let resp: Result<_, Infallible> = rt.block_on(app.clone().oneshot(request()));
                black_box(resp.ok());
            }
        };
        // Caches (route labels, metric rows, thread-local buffers) fill first.
        run(WARM);
        let before = allocations();
        run(COUNTED);
        let per = (allocations() - before) as f64 / f64::from(COUNTED);
        let base = *base.get_or_insert(per);
        println!("allocations http/{name:<13} {per:>6.2} per request  (+{:.2} over bare)", per - base);
    }
}
