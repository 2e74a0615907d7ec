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
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use tower::ServiceExt;

#[path = "common/http_apps.rs"]
mod http_apps;
use http_apps::{SAMPLED, apps, bare, full, full_ids, full_layered, request};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (apps, planes) = apps();
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
    for p in planes {
        p.flush(Duration::from_secs(5));
    }
}

/// Blocks of requests to each app in turn, so machine noise hits them alike;
/// prints the median ns/request of each and the median per-round ratio to `bare`.
fn paired() {
    const ROUNDS: usize = 40;
    const BLOCK: u32 = 2000;
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (apps, _planes) = apps();
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
    let names: Vec<&str> = apps.iter().map(|(n, _)| *n).collect();
    report("in-process", &names, ns, ROUNDS, BLOCK);
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
        // What the paired ratio adds to the median bare request.
        let added = (r - 1.0) * median(&mut ns[0].clone());
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
    let _ = obspec::metrics::install(&[]);
    benches();
    paired();
    paired_socket();
    Criterion::default().configure_from_args().final_summary();
}
