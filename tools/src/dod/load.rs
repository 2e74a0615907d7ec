//! An open-loop, constant-arrival-rate load generator on hyper, corrected for
//! coordinated omission.
//!
//! Request `i` of a run at rate `r` is due at `start + i / r`, whatever
//! happened to the earlier ones: the dispatcher never waits for answers, and
//! each latency is measured from the request's *intended* send time, not from
//! when it actually left. When the server (or the generator, or the cap on
//! requests in flight) falls behind, the delay shows up in the latencies
//! instead of silently lowering the offered rate. Latencies go into an HDR
//! histogram (1 µs to 60 s, 3 significant digits).
//!
//! Why not `oha` or `goose`: building either adds minutes (and a large
//! dependency tree) to a cold CI on 2 cores, for a loop of ~100 lines on the
//! hyper client the workspace already compiles. `oha` corrects coordinated
//! omission the same way (`--latency-correction`), so its figures are
//! comparable.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use tokio::sync::Semaphore;

use super::net::Client;

/// What to offer.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Requests per second.
    pub rate: f64,
    /// How long.
    pub duration: Duration,
    /// Most requests in flight (the connection pool's size, in effect).
    pub max_in_flight: usize,
    /// A request without an answer after this long is an error.
    pub timeout: Duration,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The plan.
    pub plan: Plan,
    /// Requests due.
    pub due: u64,
    /// Requests sent.
    pub sent: u64,
    /// 2xx answers.
    pub ok: u64,
    /// Everything else: non-2xx, transport errors, timeouts, requests never sent.
    pub errors: u64,
    /// Answers by status (0: transport error or timeout).
    pub by_status: BTreeMap<u16, u64>,
    /// Latency from the intended send time, in microseconds.
    pub hist: Histogram<u64>,
    /// Wall time from the first due time to the last answer.
    pub elapsed: Duration,
    /// Requests never sent because the dispatcher fell more than the timeout behind.
    pub unsent: u64,
}

impl Outcome {
    /// A latency quantile in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    /// Errors over due requests.
    pub fn error_ratio(&self) -> f64 {
        if self.due == 0 { 0.0 } else { self.errors as f64 / self.due as f64 }
    }

    /// Answers per second actually achieved.
    pub fn achieved_rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { (self.ok + self.errors - self.unsent) as f64 / s } else { 0.0 }
    }
}

/// Completions so far (for the progress line).
pub static COMPLETED: AtomicU64 = AtomicU64::new(0);

/// Builds request `i` of a run.
pub type MakeRequest = Arc<dyn Fn(u64) -> Result<Request<Full<Bytes>>, String> + Send + Sync>;

struct Shared {
    hist: Histogram<u64>,
    by_status: BTreeMap<u16, u64>,
    ok: u64,
    errors: u64,
}

/// Runs `plan`, sending `make(i)` for each due request.
pub async fn run(client: &Client, plan: Plan, make: MakeRequest) -> Result<Outcome, String> {
    let due = (plan.rate * plan.duration.as_secs_f64()).round().max(1.0) as u64;
    let hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| format!("histogram: {e}"))?;
    let shared = Arc::new(Mutex::new(Shared { hist, by_status: BTreeMap::new(), ok: 0, errors: 0 }));
    let sem = Arc::new(Semaphore::new(plan.max_in_flight.max(1)));
    let start = Instant::now() + Duration::from_millis(20);
    let mut sent = 0u64;
    let mut unsent = 0u64;
    for i in 0..due {
        let intended = start + Duration::from_secs_f64(i as f64 / plan.rate);
        let now = Instant::now();
        if intended > now {
            tokio::time::sleep_until(intended.into()).await;
        } else if now.duration_since(intended) > plan.timeout {
            // Hopelessly behind: the rest would only measure the backlog.
            unsent = due - i;
            break;
        }
        let permit = sem.clone().acquire_owned().await.map_err(|e| format!("semaphore: {e}"))?;
        let req = make(i)?;
        let (client, shared, timeout) = (client.clone(), Arc::clone(&shared), plan.timeout);
        sent += 1;
        tokio::spawn(async move {
            let status = match tokio::time::timeout(timeout, async {
                let resp = client.request(req).await.map_err(|_| ())?;
                let status = resp.status().as_u16();
                resp.into_body().collect().await.map_err(|_| ())?;
                Ok::<u16, ()>(status)
            })
            .await
            {
                Ok(Ok(s)) => s,
                _ => 0,
            };
            let us = u64::try_from(intended.elapsed().as_micros()).unwrap_or(u64::MAX);
            let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
            s.hist.saturating_record(us.max(1));
            *s.by_status.entry(status).or_default() += 1;
            if (200..300).contains(&status) {
                s.ok += 1;
            } else {
                s.errors += 1;
            }
            COMPLETED.fetch_add(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    let all = u32::try_from(plan.max_in_flight.max(1)).unwrap_or(u32::MAX);
    let _all = sem.acquire_many(all).await.map_err(|e| format!("semaphore: {e}"))?;
    let elapsed = start.elapsed();
    let s = shared.lock().unwrap_or_else(PoisonError::into_inner);
    let mut by_status = s.by_status.clone();
    if unsent > 0 {
        *by_status.entry(0).or_default() += unsent;
    }
    Ok(Outcome {
        plan,
        due,
        sent,
        ok: s.ok,
        errors: s.errors + unsent,
        by_status,
        hist: s.hist.clone(),
        elapsed,
        unsent,
    })
}
