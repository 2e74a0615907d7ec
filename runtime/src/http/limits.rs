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
//! - one bucket per tenant (from `x-tenant-id` by default);
//! - one bucket per (session type, tenant) with the session type's rate (from
//!   `x-session-type`); session types not configured share the `other` rate;
//! - a concurrency limit: an atomic permit count, taken without waiting; its
//!   `retry_after_ms` is a configured estimate.

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
/// The key once `max_keys` distinct tenants are tracked, and the session type
/// of unconfigured session types.
pub const OTHER: &str = "other";

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

/// Buckets of one rate, by key, at most `max_keys` (then [`OTHER`]).
#[derive(Debug)]
struct Keyed {
    rate: Rate,
    map: RwLock<Map>,
}

impl Keyed {
    fn new(rate: Rate) -> Self {
        Self { rate, map: RwLock::new(Map::default()) }
    }

    fn with<R>(&self, key: &str, max_keys: usize, f: impl Fn(&Gcra) -> R) -> R {
        if let Some(g) = self.map.read().unwrap_or_else(PoisonError::into_inner).get(key) {
            return f(g);
        }
        let mut w = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let key = if w.len() >= max_keys && !w.contains_key(key) { OTHER } else { key };
        f(w.entry(key.into()).or_insert_with(Gcra::new))
    }

    fn snapshot(&self, now: u64) -> serde_json::Value {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let empty = map.values().filter(|g| g.available(self.rate, now) == 0).count();
        let mut m = serde_json::Map::new();
        m.insert("burst".to_owned(), self.rate.burst.into());
        m.insert("per_second".to_owned(), (1e9 / self.rate.interval_ns as f64).into());
        m.insert("tracked".to_owned(), map.len().into());
        m.insert("empty".to_owned(), empty.into());
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

/// A key read from a header.
#[derive(Debug, Clone)]
pub struct HeaderKey(pub HeaderName);

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
        self.limits.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Nanoseconds since the first call (a monotonic clock).
pub fn monotonic_nanos() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The limits of one service; share it between the [`LimitLayer`] and `/_health`.
pub struct Limits {
    tenant: Option<Keyed>,
    sessions: Vec<(Box<str>, Keyed)>,
    other_session: Option<Keyed>,
    max_keys: usize,
    max_concurrency: usize,
    in_flight: AtomicUsize,
    backpressure_retry_ms: u64,
    clock: fn() -> u64,
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
    max_concurrency: usize,
    backpressure_retry_ms: u64,
    clock: fn() -> u64,
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

    /// Most tenants tracked per bucket set (default 10 000); later ones share
    /// the [`OTHER`] bucket.
    pub fn max_keys(mut self, n: usize) -> Self {
        self.max_keys = n.max(1);
        self
    }

    /// Where the tenant comes from (default: the `x-tenant-id` header).
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
        self.clock = clock;
        self
    }

    /// The limits.
    pub fn build(self) -> Arc<Limits> {
        Arc::new(Limits {
            tenant: self.tenant.map(Keyed::new),
            sessions: self.sessions.into_iter().map(|(n, r)| (n, Keyed::new(r))).collect(),
            other_session: self.other_session.map(Keyed::new),
            max_keys: self.max_keys,
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
            max_concurrency: usize::MAX,
            backpressure_retry_ms: 1000,
            clock: monotonic_nanos,
            metrics: Box::new(NoLimitMetrics),
            tenant_key: Box::new(HeaderKey(HeaderName::from_static("x-tenant-id"))),
            session_key: Box::new(HeaderKey(HeaderName::from_static("x-session-type"))),
        }
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Admits a request of `tenant` and `session_type` (either may be absent),
    /// or says why not. Moves the [`LimitMetrics`].
    pub fn check(self: &Arc<Self>, tenant: Option<&str>, session_type: Option<&str>) -> Result<Permit, Rejection> {
        let tenant = match tenant {
            None => NONE,
            Some(t) if is_id(t) => t,
            Some(_) => INVALID,
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
        let permit = Permit { limits: Arc::clone(self) };
        if prev >= self.max_concurrency {
            drop(permit);
            self.metrics.backpressure(tenant, session_label);
            return Err(Rejection::Backpressure { retry_after_ms: self.backpressure_retry_ms });
        }
        let now = (self.clock)();
        let mut took_tenant = None;
        if let Some(k) = &self.tenant
            && tenant != NONE
        {
            if let Err(wait) = k.with(tenant, self.max_keys, |g| g.take(k.rate, now)) {
                self.metrics.rate_limited("tenant", tenant, session_label);
                return Err(Rejection::RateLimit { bucket: "tenant", retry_after_ms: ns_to_ms_ceil(wait) });
            }
            took_tenant = Some(k);
        }
        if let Some(k) = session_bucket
            && let Err(wait) = k.with(tenant, self.max_keys, |g| g.take(k.rate, now))
        {
            if let Some(t) = took_tenant {
                t.with(tenant, self.max_keys, |g| g.refund(t.rate));
            }
            self.metrics.rate_limited("session_type", tenant, session_label);
            return Err(Rejection::RateLimit { bucket: "session_type", retry_after_ms: ns_to_ms_ceil(wait) });
        }
        self.metrics.admitted(tenant, session_label);
        Ok(permit)
    }

    /// Admits `req` using the configured extractors.
    pub fn check_request(self: &Arc<Self>, req: &Request<Body>) -> Result<Permit, Rejection> {
        self.check(self.tenant_key.extract(req), self.session_key.extract(req))
    }

    /// Whole tokens left in `tenant`'s bucket now (None if tenants are not limited).
    pub fn tenant_tokens(&self, tenant: &str) -> Option<u32> {
        let k = self.tenant.as_ref()?;
        let now = (self.clock)();
        Some(k.with(tenant, self.max_keys, |g| g.available(k.rate, now)))
    }

    /// The `/_health` snapshot: rates, how many buckets are tracked and how
    /// many are empty, and the concurrency in use. No tenant is named.
    pub fn snapshot(&self) -> serde_json::Value {
        let now = (self.clock)();
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
