//! [`ObservabilityLayer`]: the per-request middleware of blueprint 09 §6.3 in
//! one tower layer (one future, no boxing): trace context and correlation ID,
//! ErrorToken on fail (panics included), per-route metrics, one log line,
//! and the `/_trace` index; with [`ObservabilityBuilder::limits`] and
//! [`ObservabilityBuilder::chaos`], also rate limits, the concurrency limit
//! and chaos light, in the same service (each separate layer axum wraps
//! around a route is one more boxed service per request).
//!
//! A request costs no allocation of the layer's own unless asked: the
//! [`RequestIds`] extension ([`ObservabilityBuilder::request_ids`]) and the
//! `traceparent` / `x-correlation-id` response headers
//! ([`ObservabilityBuilder::response_ids`]) are opt-in; error bodies carry
//! the correlation ID either way.

use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, Request, header};
use http_body::Body as _;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::flags::Flags;
use crate::http::chaos::chaos_delay;
use crate::http::error::TokenInfo;
use crate::http::error_token::{CatchPanic, panic_response, tokenize};
use crate::http::index::{TraceEntry, TraceIndex};
use crate::http::limits::{LimitLayer, Limits, MissingToken};
use crate::http::logging::{RequestLogSlots, log_request};
use crate::http::metrics::{NoMetrics, RequestMetrics};
use crate::http::route::{method_label, route_label};
use crate::http::trace::{
    CORRELATION_ID, CORRELATION_ID_CAPACITY, CorrelationId, RequestIds, TRACEPARENT, TraceContext, TraceIdHex,
    given_correlation_id,
};
use crate::log::LogPlane;

struct Shared<T> {
    /// Longest correlation ID accepted: the log schema's `id_max_len`.
    id_max_len: usize,
    metrics: Arc<dyn RequestMetrics>,
    log: Option<(LogPlane, RequestLogSlots)>,
    index: Option<Arc<TraceIndex>>,
    limits: Option<LimitLayer<T>>,
    chaos: Option<Arc<Flags>>,
    request_ids: bool,
    response_ids: bool,
}

/// Observability for every route of a `Router` (`router.layer(...)`, so the
/// matched route template is known): see the [module docs](self).
///
/// Order with the other layers: apply it last (outermost), so rate-limit
/// rejections and chaos delays are measured and logged too.
pub struct ObservabilityLayer<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for ObservabilityLayer<T> {
    fn clone(&self) -> Self {
        Self { shared: Arc::clone(&self.shared) }
    }
}

impl<T> std::fmt::Debug for ObservabilityLayer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservabilityLayer")
            .field("log", &self.shared.log.as_ref().map(|(p, _)| p.component()))
            .field("index", &self.shared.index.as_ref().map(|i| i.capacity()))
            .field("limits", &self.shared.limits.is_some())
            .field("chaos", &self.shared.chaos.is_some())
            .field("request_ids", &self.shared.request_ids)
            .field("response_ids", &self.shared.response_ids)
            .finish_non_exhaustive()
    }
}

impl<T: TokenInfo> Default for ObservabilityLayer<T> {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl<T: TokenInfo> ObservabilityLayer<T> {
    /// Starts configuring the layer. By default it records no metrics, logs
    /// on the global plane if one is installed, and keeps no trace index.
    pub fn builder() -> ObservabilityBuilder<T> {
        ObservabilityBuilder {
            metrics: Arc::new(NoMetrics),
            plane: crate::log::global().cloned(),
            index: None,
            limits: None,
            chaos: None,
            request_ids: false,
            response_ids: false,
        }
    }
}

/// Configures an [`ObservabilityLayer`].
pub struct ObservabilityBuilder<T> {
    metrics: Arc<dyn RequestMetrics>,
    plane: Option<LogPlane>,
    index: Option<Arc<TraceIndex>>,
    limits: Option<LimitLayer<T>>,
    chaos: Option<Arc<Flags>>,
    request_ids: bool,
    response_ids: bool,
}

impl<T> std::fmt::Debug for ObservabilityBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservabilityBuilder").finish_non_exhaustive()
    }
}

impl<T: TokenInfo> ObservabilityBuilder<T> {
    /// Records per-request metrics through the service's generated emitters.
    pub fn metrics(mut self, m: impl RequestMetrics) -> Self {
        self.metrics = Arc::new(m);
        self
    }

    /// Logs on `plane` (default: the global plane, if installed when the
    /// builder was made).
    pub fn log_plane(mut self, plane: LogPlane) -> Self {
        self.plane = Some(plane);
        self
    }

    /// Logs nothing.
    pub fn no_log(mut self) -> Self {
        self.plane = None;
        self
    }

    /// Keeps recent requests in `index` for `/_trace/:id`.
    pub fn trace_index(mut self, index: Arc<TraceIndex>) -> Self {
        self.index = Some(index);
        self
    }

    /// Admits each request through `limits` first (as a [`LimitLayer`]
    /// inside this one would): over quota it is answered `RATE_LIMIT` or
    /// `BACKPRESSURE` (the tokens of those roles) with `retry_after_ms`, and
    /// measured and logged like any answer; the concurrency permit is held
    /// until the response is ready.
    pub fn limits(mut self, limits: Arc<Limits>) -> Result<Self, MissingToken> {
        self.limits = Some(LimitLayer::new(limits)?);
        Ok(self)
    }

    /// Chaos light from `flags` (as a [`ChaosLayer`](crate::http::ChaosLayer)
    /// inside this one would): a chosen request waits its delay, after the
    /// limits admitted it. Needs a Tokio runtime with the time driver.
    pub fn chaos(mut self, flags: Arc<Flags>) -> Self {
        self.chaos = Some(flags);
        self
    }

    /// Puts each request's [`RequestIds`] in its extensions, for handlers
    /// (`Extension<RequestIds>`) and for outgoing calls that continue the
    /// trace ([`TraceContext::child`]). Off by default: it costs an
    /// allocation per request.
    pub fn request_ids(mut self) -> Self {
        self.request_ids = true;
        self
    }

    /// Answers every request with `traceparent` (this hop's span) and
    /// `x-correlation-id` (the caller's valid one, else the trace-id). Off
    /// by default: two more header values per response (error bodies carry
    /// the correlation ID either way).
    pub fn response_ids(mut self) -> Self {
        self.response_ids = true;
        self
    }

    /// The layer.
    pub fn build(self) -> ObservabilityLayer<T> {
        let id_max_len = self.plane.as_ref().map_or(CORRELATION_ID_CAPACITY, |p| p.schema().id_max_len);
        let log = self.plane.map(|p| {
            let slots = RequestLogSlots::resolve(p.schema());
            (p, slots)
        });
        let shared = Shared {
            id_max_len,
            metrics: self.metrics,
            log,
            index: self.index,
            limits: self.limits,
            chaos: self.chaos,
            request_ids: self.request_ids,
            response_ids: self.response_ids,
        };
        ObservabilityLayer { shared: Arc::new(shared) }
    }
}

impl<S, T> Layer<S> for ObservabilityLayer<T> {
    type Service = ObservabilityService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        ObservabilityService { inner, shared: Arc::clone(&self.shared) }
    }
}

/// The service [`ObservabilityLayer`] wraps around each route.
pub struct ObservabilityService<S, T> {
    inner: S,
    shared: Arc<Shared<T>>,
}

impl<S: Clone, T> Clone for ObservabilityService<S, T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl<S, T> std::fmt::Debug for ObservabilityService<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservabilityService").finish_non_exhaustive()
    }
}

/// `Content-Length` of a message, if present and valid.
pub fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

struct Pending<T> {
    start: Instant,
    trace: TraceContext,
    /// The caller's correlation ID, if valid (else the trace-id stands for it).
    cid_header: Option<HeaderValue>,
    route: &'static str,
    method: Method,
    bytes_in: Option<u64>,
    held: Held<T>,
}

/// The layer's state, and whether the request holds a concurrency slot of
/// the limits: given back when the response is ready, or when the request
/// is dropped before.
struct Held<T> {
    shared: Arc<Shared<T>>,
    slot: bool,
}

impl<T> Pending<T> {
    /// The request's correlation ID (made only for an error body).
    fn correlation_id(&self) -> CorrelationId {
        RequestIds::of(self.trace, self.cid_header.as_ref(), self.held.shared.id_max_len).correlation_id
    }

    /// The same ID as text, without building it: the caller's as sent
    /// (already checked), else the trace-id's hex, held in `hex`.
    fn correlation_str<'a>(&'a self, hex: &'a TraceIdHex) -> &'a str {
        self.cid_header.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(hex.as_str())
    }
}

impl<T> Held<T> {
    fn release(&mut self) {
        if std::mem::take(&mut self.slot)
            && let Some(l) = &self.shared.limits
        {
            l.limits().release();
        }
    }
}

impl<T> Drop for Held<T> {
    fn drop(&mut self) {
        self.release();
    }
}

pin_project! {
    /// Where a request is: waiting its chaos delay (rare, so boxed: the
    /// common future stays small), in the handler, or answered by the limits.
    #[project = StageProj]
    enum Stage<S, F> {
        Delayed { sleep: Pin<Box<tokio::time::Sleep>>, call: Option<Box<(S, Request<Body>)>> },
        Called { #[pin] fut: CatchPanic<OptionFuture<F>> },
        Answered { resp: Option<Response> },
    }
}

pin_project! {
    /// The response future of [`ObservabilityService`].
    pub struct ObservabilityFuture<S, F, T> {
        #[pin]
        stage: Stage<S, F>,
        pending: Option<Pending<T>>,
    }
}

impl<F: Future> Future for OptionFuture<F> {
    type Output = Option<F::Output>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.as_pin_mut() {
            Some(f) => f.poll(cx).map(Some),
            None => Poll::Ready(None),
        }
    }
}

pin_project! {
    /// An optional future; `None` (the service panicked in `call`) is
    /// answered like a panic by [`ObservabilityFuture`].
    pub struct OptionFuture<F> {
        #[pin]
        inner: Option<F>,
    }
}

/// Calls `inner`, catching a panic in `call` itself.
fn call_caught<S>(inner: &mut S, req: Request<Body>) -> CatchPanic<OptionFuture<S::Future>>
where
    S: Service<Request<Body>>,
{
    let fut = catch_unwind(AssertUnwindSafe(move || inner.call(req))).ok();
    CatchPanic::new(OptionFuture { inner: fut })
}

impl<S, T> Service<Request<Body>> for ObservabilityService<S, T>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
    T: TokenInfo,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ObservabilityFuture<S, S::Future, T>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let start = Instant::now();
        let s = &self.shared;
        let trace = TraceContext::from_headers(req.headers());
        let cid_header = given_correlation_id(req.headers(), s.id_max_len);
        let route = route_label(req.extensions().get::<MatchedPath>());
        let method = req.method().clone();
        let bytes_in = content_length(req.headers()).or_else(|| req.body().size_hint().exact());
        if s.request_ids {
            req.extensions_mut().insert(RequestIds::of(trace, cid_header.as_ref(), s.id_max_len));
        }
        let mut slot = false;
        // The limits read the clock as of the request's start (no second read).
        let stage = match s.limits.as_ref().map(|l| (l, l.limits().admit_request(&req, start))) {
            Some((l, Err(rejected))) => Stage::Answered { resp: Some(l.error(rejected).into_response()) },
            admitted => {
                slot = admitted.is_some();
                match s.chaos.as_deref().and_then(chaos_delay) {
                    None => Stage::Called { fut: call_caught(&mut self.inner, req) },
                    Some(d) => {
                        // The ready service waits with the request; a clone takes its place.
                        let clone = self.inner.clone();
                        let ready = std::mem::replace(&mut self.inner, clone);
                        Stage::Delayed { sleep: Box::pin(tokio::time::sleep(d)), call: Some(Box::new((ready, req))) }
                    }
                }
            }
        };
        let held = Held { shared: Arc::clone(s), slot };
        let pending = Pending { start, trace, cid_header, route, method, bytes_in, held };
        ObservabilityFuture { stage, pending: Some(pending) }
    }
}

impl<S, F, T> Future for ObservabilityFuture<S, F, T>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible, Future = F>,
    F: Future<Output = Result<Response, Infallible>>,
    T: TokenInfo,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let out = loop {
            match this.stage.as_mut().project() {
                StageProj::Delayed { sleep, call } => {
                    std::task::ready!(sleep.as_mut().poll(cx));
                    let Some((mut svc, req)) = call.take().map(|c| *c) else { break Ok(None) };
                    let fut = call_caught(&mut svc, req);
                    this.stage.set(Stage::Called { fut });
                }
                StageProj::Called { fut } => break std::task::ready!(fut.poll(cx)),
                StageProj::Answered { resp } => break Ok(resp.take().map(Ok)),
            }
        };
        let Some(p) = this.pending.take() else {
            // Polled after completion: answer the fallback rather than panic.
            return Poll::Ready(Ok(panic_response::<T>(Box::new(()), None)));
        };
        let resp = match out {
            Ok(Some(Ok(resp))) => resp,
            Ok(Some(Err(never))) => match never {},
            Ok(None) => panic_response::<T>(Box::new(()), Some(&p.correlation_id())),
            Err(panic) => panic_response::<T>(panic, Some(&p.correlation_id())),
        };
        Poll::Ready(Ok(finish::<T>(resp, p)))
    }
}

fn finish<T: TokenInfo>(resp: Response, mut p: Pending<T>) -> Response {
    p.held.release();
    let (mut resp, info) = tokenize::<T>(resp, || p.correlation_id());
    let s = &*p.held.shared;
    let hex = p.trace.trace_id_hex();
    if s.response_ids {
        let cid = p.cid_header.clone().unwrap_or_else(|| {
            // Hex digits are always a valid header value.
            HeaderValue::from_str(hex.as_str()).unwrap_or_else(|_| HeaderValue::from_static(""))
        });
        let h = resp.headers_mut();
        h.insert(TRACEPARENT.clone(), p.trace.traceparent());
        h.insert(CORRELATION_ID.clone(), cid);
    }
    let latency = p.start.elapsed();
    let code = resp.status().as_u16();
    let entry = TraceEntry {
        trace_id: p.trace.trace_id,
        route: p.route,
        method: method_label(&p.method),
        code,
        ok: code < 400,
        err_token: info.map(|i| i.token),
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        bytes_in: p.bytes_in,
        bytes_out: content_length(resp.headers()).or_else(|| resp.body().size_hint().exact()),
    };
    s.metrics.record(p.route, &p.method, code, latency);
    if let Some((plane, slots)) = &s.log {
        log_request(plane, slots, &entry, p.correlation_str(&hex));
    }
    if let Some(index) = &s.index {
        index.record(entry);
    }
    resp
}
