//! The five proofs of §11, one module each, run in order on one stack.
//!
//! Order: privacy traffic is sent first and throughout (canaries in every
//! request); then load, WS kill and reconnect (which restarts office), induced
//! backpressure (whose alert needs office to stay up), then the services are
//! stopped (so logs and trails are flushed), privacy is checked over
//! everything they wrote, and the day is rolled.

pub mod backpressure;
pub mod load;
pub mod privacy;
pub mod roll;
pub mod ws;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{App, Ctx, ProofResult};

fn begin(ctx: &Ctx, id: &'static str, title: &'static str) -> (ProofResult, Instant) {
    ctx.progress.phase(&format!("proof {id}: {title}"));
    (ProofResult::new(id, title), Instant::now())
}

fn end(mut r: ProofResult, t: Instant, res: Result<(), String>) -> ProofResult {
    if let Err(e) = res {
        eprintln!("[dod]   FAIL {}: {e}", r.id);
        r.error = Some(e);
    }
    r.seconds = t.elapsed().as_secs_f64();
    r
}

/// Runs every proof; a proof that fails does not stop the next ones.
pub async fn run_all(ctx: &mut Ctx, apps: &BTreeMap<String, App>) -> Vec<ProofResult> {
    let mut out = Vec::new();
    let mut sent = privacy::send_traffic(ctx).await;

    let (mut r, t) =
        begin(ctx, "load", "Load: 5k req/min through the policy proxy into Core, then the highest rate at p99 < 10 ms");
    let res = load::run(ctx, &mut r).await;
    out.push(end(r, t, res));
    sent += privacy::send_traffic(ctx).await;

    let (mut r, t) = begin(ctx, "ws", "WS kill and reconnect: exact replay of the last 100 events");
    let res = ws::run(ctx, &mut r, apps).await;
    out.push(end(r, t, res));

    let (mut r, t) = begin(
        ctx,
        "backpressure",
        "Induced BACKPRESSURE: retry_after_ms honoured, metric rises, alert fires and is delivered",
    );
    let res = backpressure::run(ctx, &mut r).await;
    out.push(end(r, t, res));
    sent += privacy::send_traffic(ctx).await;

    let (mut r, t) = begin(ctx, "privacy", "Privacy: no canary or forbidden field anywhere; the scan reports 0");
    let res = privacy::run(ctx, &mut r, sent).await;
    out.push(end(r, t, res));

    let (mut r, t) =
        begin(ctx, "roll", "Daily roll: local store and S3 with checksums; export + verify, tampered copy fails");
    let res = roll::run(ctx, &mut r).await;
    out.push(end(r, t, res));
    out
}

/// Starts again every service a proof stopped (for `--keep`).
pub fn restart_stopped(ctx: &mut Ctx, _apps: &BTreeMap<String, App>) -> Result<(), String> {
    for p in ctx.services.values_mut() {
        if !p.running() {
            p.restart()?;
            p.wait_http("/_health", Duration::from_secs(30))?;
        }
    }
    if let Some(g) = &mut ctx.gateway {
        if !g.live_check.running() {
            g.live_check.restart()?;
            g.live_check.wait_http("/metrics", Duration::from_secs(30))?;
        }
        if !g.worker.running() {
            g.worker.restart()?;
        }
    }
    Ok(())
}
