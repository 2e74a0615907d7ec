//! Backpressure and rate limits (blueprint 09 §4), observable: over quota, a
//! request gets `RATE_LIMIT` (a token bucket is empty) or `BACKPRESSURE` (the
//! concurrency limit is full) with the exact `retry_after_ms` until capacity
//! returns, and [`LimitMetrics`] moves the service's counters.
//!
//! Buckets are GCRA (the token bucket as one atomic "theoretical arrival
//! time"): a bucket of `burst` tokens refilled one every `interval` admits a
//! request at `now` when `tat - now <= (burst - 1) * interval`, and otherwise
//! tells exactly when the next token arrives: `tat - now - (burst - 1) * interval`.
//!
//! - one bucket per tenant; the tenant comes from an extractor the service
//!   supplies ([`LimitsBuilder::tenant_key`]: its authenticated identity, or
//!   the `x-tenant-id` header only when it opts in with [`HeaderKey`]);
//!   without one every request is tenant [`NONE`] and not tenant-limited;
//! - one bucket per (session type, tenant) with the session type's rate (from
//!   `x-session-type`); session types not configured share the `other` rate;
//! - a concurrency limit: an atomic permit count, taken without waiting; its
//!   `retry_after_ms` is a configured estimate.
//!
//! # Memory under abuse
//!
//! Each bucket set tracks at most `max_keys` tenants. A bucket is forgotten
//! once it has been full for `idle_after` (a full bucket is exactly a new one,
//! so forgetting it changes no answer); the sweep runs when a new tenant is
//! added, at most once per `max(idle_after / 8, 1 ms)`, so its cost is bounded
//! whatever the request rate. A new tenant that finds the table full (every
//! tracked tenant active within `idle_after`) is limited by one shared
//! overflow bucket of the same rate, labelled [`OTHER`] and counted (by
//! [`Limits::overflowed`], and by the spec's self-metric with
//! `role: limit_overflow`): it can never take a token from a tracked tenant,
//! whose answers stay exact.
//!
//! Why not `governor`'s keyed limiter: its store has no capacity bound (it
//! grows by one entry per distinct key until the next `retain_recent`:
//! measured, 102 000 entries for 1 000 000 requests of random tenants with a
//! sweep every 100 000), it cannot give back a token (the tenant token of a
//! request its session-type bucket rejects), and its clock is not the
//! service's injectable one; a bounded table with an overflow bucket would
//! have to be built around it anyway.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, Request};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::http::error::{ApiError, TokenInfo, TokenRole};

/// The `tenant` (and `session_type`) label when the request names none.
pub const NONE: &str = "none";
/// The key of values that fail the ID/name shape (still limited, together).
pub const INVALID: &str = "invalid";
/// The `tenant` label of a request limited by the overflow bucket (its
/// tenant found `max_keys` active tenants tracked), and the session type of
/// unconfigured session types.
pub const OTHER: &str = "other";

/// The bucket keys of absent and malformed tenants (not IDs: no tenant can
/// name itself so).
const NONE_KEY: &str = "!none";
const INVALID_KEY: &str = "!invalid";

/// A token bucket: `burst` tokens, one more every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    burst: u32,
    interval_ns: u64,
}

impl Rate {
    /// `per_second` tokens a second, up to `burst` at once (both at least 1).
    pub fn per_second(per_second: u32, burst: u32) -> Self {
        Self { burst: burst.max(1), interval_ns: 1_000_000_000 / u64::from(per_second.max(1)) }
    }

    /// One token every `interval` (at least 1 ns), up to `burst` at once.
    pub fn every(interval: Duration, burst: u32) -> Self {
        let ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX).max(1);
        Self { burst: burst.max(1), interval_ns: ns }
    }

    /// Most tokens held.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Time between two tokens.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    fn tau(&self) -> u64 {
        self.interval_ns.saturating_mul(u64::from(self.burst - 1))
    }
}

/// One bucket: its theoretical arrival time, in clock nanoseconds.
#[derive(Debug)]
struct Gcra {
    tat: AtomicU64,
}

impl Gcra {
    fn new() -> Self {
        Self { tat: AtomicU64::new(0) }
    }

    /// Takes a token, or returns the nanoseconds until one is available.
    fn take(&self, rate: Rate, now: u64) -> Result<(), u64> {
        let tau = rate.tau();
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let base = tat.max(now);
            let debt = base - now;
            if debt > tau {
                return Err(debt - tau);
            }
            match self.tat.compare_exchange_weak(
                tat,
                base.saturating_add(rate.interval_ns),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(cur) => tat = cur,
            }
        }
    }

    /// Gives back a token taken by [`Gcra::take`].
    fn refund(&self, rate: Rate) {
        let _ =
            self.tat.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |t| Some(t.saturating_sub(rate.interval_ns)));
    }

    /// Whole tokens available at `now`.
    fn available(&self, rate: Rate, now: u64) -> u32 {
        let debt = self.tat.load(Ordering::Relaxed).saturating_sub(now);
        let room = (rate.tau() + rate.interval_ns).saturating_sub(debt);
        u32::try_from(room / rate.interval_ns).unwrap_or(u32::MAX).min(rate.burst)
    }
}

type Map = HashMap<Box<str>, Gcra, foldhash::fast::RandomState>;

/// Where a request's token was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The key's own bucket.
    Own,
    /// The shared overflow bucket (the table was full).
    Overflow,
}

/// How many keys a bucket set tracks and when an idle one is forgotten.
#[derive(Debug, Clone, Copy)]
struct Bound {
    max_keys: usize,
    idle_ns: u64,
    sweep_gap_ns: u64,
}

impl Bound {
    fn new(max_keys: usize, idle: Duration) -> Self {
        let idle_ns = u64::try_from(idle.as_nanos()).unwrap_or(u64::MAX);
        Self { max_keys, idle_ns, sweep_gap_ns: (idle_ns / 8).max(1_000_000) }
    }
}

/// Buckets of one rate, by key: at most `max_keys`, then one shared overflow bucket.
#[derive(Debug)]
struct Keyed {
    rate: Rate,
    map: RwLock<Map>,
    overflow: Gcra,
    /// No sweep before this clock time (amortises the O(max_keys) sweep).
    next_sweep: AtomicU64,
}

impl Keyed {
    fn new(rate: Rate) -> Self {
        Self { rate, map: RwLock::new(Map::default()), overflow: Gcra::new(), next_sweep: AtomicU64::new(0) }
    }

    /// Takes a token from `key`'s bucket, adding it (and forgetting idle ones)
    /// if there is room, or from the overflow bucket.
    fn take(&self, key: &str, bound: Bound, now: u64) -> (Slot, Result<(), u64>) {
        {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(g) = map.get(key) {
                return (Slot::Own, g.take(self.rate, now));
            }
            if map.len() >= bound.max_keys && now < self.next_sweep.load(Ordering::Relaxed) {
                return (Slot::Overflow, self.overflow.take(self.rate, now));
            }
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(g) = map.get(key) {
            return (Slot::Own, g.take(self.rate, now));
        }
        if now >= self.next_sweep.load(Ordering::Relaxed) {
            // Full for `idle_ns`: exactly a new bucket, nothing is lost.
            map.retain(|_, g| g.tat.load(Ordering::Relaxed).saturating_add(bound.idle_ns) > now);
            self.next_sweep.store(now.saturating_add(bound.sweep_gap_ns), Ordering::Relaxed);
        }
        if map.len() >= bound.max_keys {
            return (Slot::Overflow, self.overflow.take(self.rate, now));
        }
        let g = Gcra::new();
        let r = g.take(self.rate, now);
        map.insert(key.into(), g);
        (Slot::Own, r)
    }

    /// Gives back a token [`Keyed::take`] took.
    fn refund(&self, key: &str, slot: Slot) {
        match slot {
            Slot::Own => {
                if let Some(g) = self.map.read().unwrap_or_else(PoisonError::into_inner).get(key) {
                    g.refund(self.rate);
                }
            }
            Slot::Overflow => self.overflow.refund(self.rate),
        }
    }

    /// Whole tokens the next request of `key` would find, without adding it.
    fn available(&self, key: &str, bound: Bound, now: u64) -> u32 {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        match map.get(key) {
            Some(g) => g.available(self.rate, now),
            None if map.len() >= bound.max_keys => self.overflow.available(self.rate, now),
            None => self.rate.burst,
        }
    }

    fn tracked(&self) -> usize {
        self.map.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn snapshot(&self, now: u64) -> serde_json::Value {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let empty = map.values().filter(|g| g.available(self.rate, now) == 0).count();
        let mut m = serde_json::Map::new();
        m.insert("burst".to_owned(), self.rate.burst.into());
        m.insert("per_second".to_owned(), (1e9 / self.rate.interval_ns as f64).into());
        m.insert("tracked".to_owned(), map.len().into());
        m.insert("empty".to_owned(), empty.into());
        m.insert("overflow_empty".to_owned(), (self.overflow.available(self.rate, now) == 0).into());
        m.into()
    }
}

/// Hooks the service implements with its generated emitters, e.g.
/// `core_rate_limit_hits_total{bucket,tenant}`,
/// `core_quota_exceeded_total{session_type,quota}` and `policy_eval_total{decision}`.
pub trait LimitMetrics: Send + Sync + 'static {
    /// A bucket (`"tenant"` or `"session_type"`) was empty.
    fn rate_limited(&self, bucket: &str, tenant: &str, session_type: &str);
    /// The concurrency limit was full for a request of `tenant` (the
    /// `tenant` key: an ID, or [`NONE`] / [`INVALID`]).
    fn backpressure(&self, tenant: &str, session_type: &str);
    /// A request was admitted (default: nothing).
    fn admitted(&self, _tenant: &str, _session_type: &str) {}
}

/// Records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLimitMetrics;

impl LimitMetrics for NoLimitMetrics {
    fn rate_limited(&self, _: &str, _: &str, _: &str) {}
    fn backpressure(&self, _: &str, _: &str) {}
}

/// Takes the tenant or session type from a request.
pub trait KeyExtractor: Send + Sync + 'static {
    /// The key, if the request names one.
    fn extract<'r>(&self, req: &'r Request<Body>) -> Option<&'r str>;
}

/// No key: every request is [`NONE`] (the default tenant extractor).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKey;

impl KeyExtractor for NoKey {
    fn extract<'r>(&self, _: &'r Request<Body>) -> Option<&'r str> {
        None
    }
}

/// A key read from a header. As the tenant key it trusts the client (or the
/// proxy in front) to name its own tenant: an explicit opt-in, for services
/// behind an authenticating proxy; otherwise extract the authenticated
/// identity (e.g. a request extension the auth layer set).
#[derive(Debug, Clone)]
pub struct HeaderKey(pub HeaderName);

impl HeaderKey {
    /// The header `name` (lowercase; a static name that is not a valid
    /// header name is a programming error and panics).
    pub fn new(name: &'static str) -> Self {
        Self(HeaderName::from_static(name))
    }
}

impl KeyExtractor for HeaderKey {
    fn extract<'r>(&self, req: &'r Request<Body>) -> Option<&'r str> {
        req.headers().get(&self.0)?.to_str().ok()
    }
}

impl<F> KeyExtractor for F
where
    F: for<'r> Fn(&'r Request<Body>) -> Option<&'r str> + Send + Sync + 'static,
{
    fn extract<'r>(&self, req: &'r Request<Body>) -> Option<&'r str> {
        self(req)
    }
}

/// Why a request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// A bucket was empty (`RATE_LIMIT`).
    RateLimit {
        /// `"tenant"` or `"session_type"`.
        bucket: &'static str,
        /// Until the bucket has a token again, rounded up.
        retry_after_ms: u64,
    },
    /// The concurrency limit was full (`BACKPRESSURE`).
    Backpressure {
        /// The configured estimate.
        retry_after_ms: u64,
    },
}

impl Rejection {
    /// `retry_after_ms` of the answer.
    pub fn retry_after_ms(&self) -> u64 {
        match *self {
            Rejection::RateLimit { retry_after_ms, .. } | Rejection::Backpressure { retry_after_ms } => retry_after_ms,
        }
    }
}

/// A concurrency permit; released when dropped.
#[derive(Debug)]
pub struct Permit {
    limits: Arc<Limits>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limits.release();
    }
}

/// A concurrency slot taken but not (yet) admitted: given back when dropped.
struct Unadmitted<'a>(&'a Limits);

impl Drop for Unadmitted<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Nanoseconds since the first call (a monotonic clock).
pub fn monotonic_nanos() -> u64 {
    nanos_at(Instant::now())
}

/// [`monotonic_nanos`] at `t` (an instant already read; 0 before the first call).
fn nanos_at(t: Instant) -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(t.saturating_duration_since(*START.get_or_init(|| t)).as_nanos()).unwrap_or(u64::MAX)
}

/// The limits of one service; share it between the [`LimitLayer`] and `/_health`.
pub struct Limits {
    tenant: Option<Keyed>,
    sessions: Vec<(Box<str>, Keyed)>,
    other_session: Option<Keyed>,
    bound: Bound,
    overflowed: AtomicU64,
    /// The `limit_overflow` self-metric, registered at the first overflow.
    overflow_counter: OnceLock<::metrics::Counter>,
    max_concurrency: usize,
    in_flight: AtomicUsize,
    backpressure_retry_ms: u64,
    /// The clock a test pinned; `None`: [`monotonic_nanos`].
    clock: Option<fn() -> u64>,
    metrics: Box<dyn LimitMetrics>,
    tenant_key: Box<dyn KeyExtractor>,
    session_key: Box<dyn KeyExtractor>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("tenant", &self.tenant.as_ref().map(|k| k.rate))
            .field("sessions", &self.sessions.iter().map(|(n, k)| (n, k.rate)).collect::<Vec<_>>())
            .field("max_concurrency", &self.max_concurrency)
            .finish_non_exhaustive()
    }
}

/// Configures [`Limits`].
pub struct LimitsBuilder {
    tenant: Option<Rate>,
    sessions: Vec<(Box<str>, Rate)>,
    other_session: Option<Rate>,
    max_keys: usize,
    idle_after: Duration,
    max_concurrency: usize,
    backpressure_retry_ms: u64,
    clock: Option<fn() -> u64>,
    metrics: Box<dyn LimitMetrics>,
    tenant_key: Box<dyn KeyExtractor>,
    session_key: Box<dyn KeyExtractor>,
}

impl std::fmt::Debug for LimitsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitsBuilder").finish_non_exhaustive()
    }
}

impl LimitsBuilder {
    /// Each tenant gets a bucket of `rate`.
    pub fn tenant_rate(mut self, rate: Rate) -> Self {
        self.tenant = Some(rate);
        self
    }

    /// Each tenant's requests of session type `name` get a bucket of `rate`.
    pub fn session_rate(mut self, name: &str, rate: Rate) -> Self {
        self.sessions.retain(|(n, _)| &**n != name);
        self.sessions.push((name.into(), rate));
        self
    }

    /// Session types not configured (labelled [`OTHER`]) get `rate` per tenant
    /// (default: not limited).
    pub fn other_session_rate(mut self, rate: Rate) -> Self {
        self.other_session = Some(rate);
        self
    }

    /// At most `n` requests in flight; more get `BACKPRESSURE`.
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.max(1);
        self
    }

    /// `retry_after_ms` of a `BACKPRESSURE` answer (default 1000 ms).
    pub fn backpressure_retry_after(mut self, d: Duration) -> Self {
        self.backpressure_retry_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Most tenants tracked per bucket set (default 10 000); a new tenant
    /// that finds the table full of active ones shares the overflow bucket
    /// ([`OTHER`]) until an idle one is forgotten.
    pub fn max_keys(mut self, n: usize) -> Self {
        self.max_keys = n.max(1);
        self
    }

    /// A tenant's bucket is forgotten once it has been full for `d` (default
    /// 60 s); a tenant with a request at least this often keeps its bucket.
    pub fn idle_after(mut self, d: Duration) -> Self {
        self.idle_after = d;
        self
    }

    /// Where the tenant comes from: the service's authenticated identity, or
    /// [`HeaderKey`] as an explicit opt-in (default [`NoKey`]: every request
    /// is [`NONE`], and tenant buckets never apply).
    pub fn tenant_key(mut self, k: impl KeyExtractor) -> Self {
        self.tenant_key = Box::new(k);
        self
    }

    /// Where the session type comes from (default: the `x-session-type` header).
    pub fn session_type_key(mut self, k: impl KeyExtractor) -> Self {
        self.session_key = Box::new(k);
        self
    }

    /// The service's counters.
    pub fn metrics(mut self, m: impl LimitMetrics) -> Self {
        self.metrics = Box::new(m);
        self
    }

    /// The clock, in nanoseconds (tests pin it; default [`monotonic_nanos`]).
    pub fn clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The limits.
    pub fn build(self) -> Arc<Limits> {
        Arc::new(Limits {
            tenant: self.tenant.map(Keyed::new),
            sessions: self.sessions.into_iter().map(|(n, r)| (n, Keyed::new(r))).collect(),
            other_session: self.other_session.map(Keyed::new),
            bound: Bound::new(self.max_keys, self.idle_after),
            overflowed: AtomicU64::new(0),
            overflow_counter: OnceLock::new(),
            max_concurrency: self.max_concurrency,
            in_flight: AtomicUsize::new(0),
            backpressure_retry_ms: self.backpressure_retry_ms,
            clock: self.clock,
            metrics: self.metrics,
            tenant_key: self.tenant_key,
            session_key: self.session_key,
        })
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
}

fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'.' | b'-'))
}

fn ns_to_ms_ceil(ns: u64) -> u64 {
    ns.div_ceil(1_000_000)
}

impl Limits {
    /// Starts configuring limits: nothing is limited until configured.
    pub fn builder() -> LimitsBuilder {
        LimitsBuilder {
            tenant: None,
            sessions: Vec::new(),
            other_session: None,
            max_keys: 10_000,
            idle_after: Duration::from_secs(60),
            max_concurrency: usize::MAX,
            backpressure_retry_ms: 1000,
            clock: None,
            metrics: Box::new(NoLimitMetrics),
            tenant_key: Box::new(NoKey),
            session_key: Box::new(HeaderKey(HeaderName::from_static("x-session-type"))),
        }
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Admits a request of `tenant` and `session_type` (either may be absent),
    /// or says why not. Moves the [`LimitMetrics`]; a request whose tenant
    /// found a full table is labelled [`OTHER`] and counted in
    /// [`Limits::overflowed`].
    pub fn check(self: &Arc<Self>, tenant: Option<&str>, session_type: Option<&str>) -> Result<Permit, Rejection> {
        self.admit(tenant, session_type, None)?;
        Ok(Permit { limits: Arc::clone(self) })
    }

    /// The clock now, or at `at` (an instant the caller read already) when
    /// the clock is the default one.
    fn now(&self, at: Option<Instant>) -> u64 {
        match (self.clock, at) {
            (Some(clock), _) => clock(),
            (None, Some(t)) => nanos_at(t),
            (None, None) => monotonic_nanos(),
        }
    }

    /// [`Limits::check`] without the [`Permit`]: on `Ok` the request holds
    /// one concurrency slot, given back by [`Limits::release`].
    fn admit(&self, tenant: Option<&str>, session_type: Option<&str>, at: Option<Instant>) -> Result<(), Rejection> {
        // (bucket key, label): the keys of absent and malformed tenants are
        // not IDs, so no tenant can share their bucket by naming itself so.
        let (key, tenant) = match tenant {
            None => (None, NONE),
            Some(t) if is_id(t) => (Some(t), t),
            Some(_) => (Some(INVALID_KEY), INVALID),
        };
        let session = match session_type {
            None => None,
            Some(s) if is_name(s) => {
                Some(self.sessions.iter().find(|(n, _)| &**n == s).map_or((OTHER, None), |(n, k)| (&**n, Some(k))))
            }
            Some(_) => Some((INVALID, None)),
        };
        let (session_label, session_bucket) = match session {
            None => (NONE, None),
            Some((label, Some(k))) => (label, Some(k)),
            Some((label, None)) => (label, self.other_session.as_ref()),
        };
        let prev = self.in_flight.fetch_add(1, Ordering::AcqRel);
        // Gives the slot back on every way out but admission (a panicking hook included).
        let slot = Unadmitted(self);
        if prev >= self.max_concurrency {
            drop(slot);
            self.metrics.backpressure(tenant, session_label);
            return Err(Rejection::Backpressure { retry_after_ms: self.backpressure_retry_ms });
        }
        let now = self.now(at);
        let mut label = tenant;
        let mut over = false;
        let mut took_tenant = None;
        if let (Some(k), Some(key)) = (&self.tenant, key) {
            let (slot, r) = k.take(key, self.bound, now);
            if slot == Slot::Overflow {
                (over, label) = (true, self.overflow());
            }
            if let Err(wait) = r {
                self.metrics.rate_limited("tenant", label, session_label);
                return Err(Rejection::RateLimit { bucket: "tenant", retry_after_ms: ns_to_ms_ceil(wait) });
            }
            took_tenant = Some((k, key, slot));
        }
        if let Some(k) = session_bucket {
            let (slot, r) = k.take(key.unwrap_or(NONE_KEY), self.bound, now);
            if slot == Slot::Overflow && !over {
                label = self.overflow();
            }
            if let Err(wait) = r {
                if let Some((t, key, slot)) = took_tenant {
                    t.refund(key, slot);
                }
                self.metrics.rate_limited("session_type", label, session_label);
                return Err(Rejection::RateLimit { bucket: "session_type", retry_after_ms: ns_to_ms_ceil(wait) });
            }
        }
        self.metrics.admitted(label, session_label);
        std::mem::forget(slot);
        Ok(())
    }

    /// Gives back the concurrency slot of a request [`Limits::admit`] admitted.
    pub(crate) fn release(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Counts a request limited by an overflow bucket; its tenant label.
    fn overflow(&self) -> &'static str {
        self.overflowed.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = crate::metrics::self_metrics() {
            self.overflow_counter.get_or_init(|| m.limit_overflow.counter(&[])).increment(1);
        }
        OTHER
    }

    /// Admits `req` using the configured extractors.
    pub fn check_request(self: &Arc<Self>, req: &Request<Body>) -> Result<Permit, Rejection> {
        self.check(self.tenant_key.extract(req), self.session_key.extract(req))
    }

    /// [`Limits::check_request`] for a request that arrived at `at` (the
    /// default clock reads no time again), without a [`Permit`]: on `Ok` the
    /// caller gives the slot back with [`Limits::release`].
    pub(crate) fn admit_request(&self, req: &Request<Body>, at: Instant) -> Result<(), Rejection> {
        self.admit(self.tenant_key.extract(req), self.session_key.extract(req), Some(at))
    }

    /// Whole tokens the next request of `tenant` would find now (None if
    /// tenants are not limited); asking adds no bucket.
    pub fn tenant_tokens(&self, tenant: &str) -> Option<u32> {
        let k = self.tenant.as_ref()?;
        let key = if is_id(tenant) { tenant } else { INVALID_KEY };
        Some(k.available(key, self.bound, self.now(None)))
    }

    /// Tenants tracked now, per bucket set (tenant buckets first, then each
    /// session type's): each is at most `max_keys`.
    pub fn tracked(&self) -> Vec<usize> {
        let sets = self.tenant.iter().chain(self.sessions.iter().map(|(_, k)| k)).chain(&self.other_session);
        sets.map(Keyed::tracked).collect()
    }

    /// Requests limited by an overflow bucket since the start (their tenant
    /// found a table of `max_keys` active tenants).
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// The `/_health` snapshot: rates, how many buckets are tracked and how
    /// many are empty, and the concurrency in use. No tenant is named.
    pub fn snapshot(&self) -> serde_json::Value {
        let now = self.now(None);
        let mut m = serde_json::Map::new();
        let mut c = serde_json::Map::new();
        c.insert("in_flight".to_owned(), self.in_flight().into());
        c.insert(
            "max".to_owned(),
            if self.max_concurrency == usize::MAX { serde_json::Value::Null } else { self.max_concurrency.into() },
        );
        m.insert("concurrency".to_owned(), c.into());
        m.insert("tenant".to_owned(), self.tenant.as_ref().map_or(serde_json::Value::Null, |k| k.snapshot(now)));
        let mut s = serde_json::Map::new();
        for (name, k) in &self.sessions {
            s.insert(name.to_string(), k.snapshot(now));
        }
        if let Some(k) = &self.other_session {
            s.insert(OTHER.to_owned(), k.snapshot(now));
        }
        m.insert("session_type".to_owned(), s.into());
        m.insert("overflowed".to_owned(), self.overflowed().into());
        m.into()
    }
}

/// The token of a role does not allow `retry_after_ms` (a hand-written
/// [`TokenInfo`]; the spec compiler rejects such a spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingToken(pub TokenRole);

impl std::fmt::Display for MissingToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the ErrorToken with role {:?} does not allow retry_after_ms", self.0)
    }
}

impl std::error::Error for MissingToken {}

/// Applies [`Limits`] to every request; rejections are `RATE_LIMIT` and
/// `BACKPRESSURE` [`ApiError`]s.
pub struct LimitLayer<T> {
    limits: Arc<Limits>,
    rate_limit: T,
    backpressure: T,
}

impl<T: Clone> Clone for LimitLayer<T> {
    fn clone(&self) -> Self {
        Self {
            limits: Arc::clone(&self.limits),
            rate_limit: self.rate_limit.clone(),
            backpressure: self.backpressure.clone(),
        }
    }
}

impl<T> std::fmt::Debug for LimitLayer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitLayer").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl<T> LimitLayer<T> {
    /// The limits it checks.
    pub fn limits(&self) -> &Arc<Limits> {
        &self.limits
    }
}

impl<T: TokenInfo> LimitLayer<T> {
    /// Answers with the tokens of the roles `rate_limit` and `backpressure`.
    pub fn new(limits: Arc<Limits>) -> Result<Self, MissingToken> {
        let find = |r: TokenRole| Some(T::for_role(r)).filter(|t| t.retry_after_allowed()).ok_or(MissingToken(r));
        Ok(Self::with_tokens(limits, find(TokenRole::RateLimit)?, find(TokenRole::Backpressure)?))
    }

    /// Answers with these tokens.
    pub fn with_tokens(limits: Arc<Limits>, rate_limit: T, backpressure: T) -> Self {
        Self { limits, rate_limit, backpressure }
    }

    /// The error for `r`.
    pub fn error(&self, r: Rejection) -> ApiError<T> {
        match r {
            Rejection::RateLimit { retry_after_ms, .. } => ApiError::with_retry_after(self.rate_limit, retry_after_ms),
            Rejection::Backpressure { retry_after_ms } => ApiError::with_retry_after(self.backpressure, retry_after_ms),
        }
    }
}

impl<S, T: TokenInfo> Layer<S> for LimitLayer<T> {
    type Service = LimitService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitService { inner, layer: self.clone(), _t: PhantomData }
    }
}

/// The service [`LimitLayer`] wraps around each route.
pub struct LimitService<S, T> {
    inner: S,
    layer: LimitLayer<T>,
    _t: PhantomData<fn() -> T>,
}

impl<S: Clone, T: Clone> Clone for LimitService<S, T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), layer: self.layer.clone(), _t: PhantomData }
    }
}

impl<S, T> std::fmt::Debug for LimitService<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitService").finish_non_exhaustive()
    }
}

pin_project! {
    /// The response future of [`LimitService`]: holds the permit until the
    /// response is ready.
    pub struct LimitFuture<F> {
        #[pin]
        inner: Option<F>,
        rejected: Option<Response>,
        permit: Option<Permit>,
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for LimitFuture<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.as_pin_mut() {
            Some(f) => {
                let out = std::task::ready!(f.poll(cx));
                this.permit.take();
                Poll::Ready(out)
            }
            // A second poll after the rejection: a bare 500, which the
            // observability layer turns into the fallback token.
            None => Poll::Ready(Ok(this.rejected.take().unwrap_or_else(|| {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                r
            }))),
        }
    }
}

impl<S, T> Service<Request<Body>> for LimitService<S, T>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    T: TokenInfo,
{
    type Response = Response;
    type Error = Infallible;
    type Future = LimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match self.layer.limits.check_request(&req) {
            Ok(permit) => LimitFuture { inner: Some(self.inner.call(req)), rejected: None, permit: Some(permit) },
            Err(r) => LimitFuture { inner: None, rejected: Some(self.layer.error(r).into_response()), permit: None },
        }
    }
}
