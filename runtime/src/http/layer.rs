//! [`ObservabilityLayer`]: the per-request middleware of blueprint 09 §6.3 in
//! one tower layer (one future, no boxing): trace context and correlation ID,
//! ErrorToken on fail (panics included), per-route metrics, one log line,
//! and the `/_trace` index.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, Request, header};
use http_body::Body as _;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::http::error::TokenInfo;
use crate::http::error_token::{CatchPanic, panic_response, tokenize};
use crate::http::index::{TraceEntry, TraceIndex};
use crate::http::logging::{RequestLogSlots, log_request};
use crate::http::metrics::{NoMetrics, RequestMetrics};
use crate::http::route::{method_label, route_label};
use crate::http::trace::{CORRELATION_ID, CORRELATION_ID_CAPACITY, RequestIds, TRACEPARENT};
use crate::log::LogPlane;

struct Shared {
    /// Longest correlation ID accepted: the log schema's `id_max_len`.
    id_max_len: usize,
    metrics: Arc<dyn RequestMetrics>,
    log: Option<(LogPlane, RequestLogSlots)>,
    index: Option<Arc<TraceIndex>>,
}

/// Observability for every route of a `Router` (`router.layer(...)`, so the
/// matched route template is known): see the [module docs](self).
///
/// Order with the other layers: apply it last (outermost), so rate-limit
/// rejections and chaos delays are measured and logged too.
pub struct ObservabilityLayer<T> {
    shared: Arc<Shared>,
    _token: PhantomData<fn() -> T>,
}

impl<T> Clone for ObservabilityLayer<T> {
    fn clone(&self) -> Self {
        Self { shared: Arc::clone(&self.shared), _token: PhantomData }
    }
}

impl<T> std::fmt::Debug for ObservabilityLayer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservabilityLayer")
            .field("log", &self.shared.log.as_ref().map(|(p, _)| p.component()))
            .field("index", &self.shared.index.as_ref().map(|i| i.capacity()))
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
            _token: PhantomData,
        }
    }
}

/// Configures an [`ObservabilityLayer`].
pub struct ObservabilityBuilder<T> {
    metrics: Arc<dyn RequestMetrics>,
    plane: Option<LogPlane>,
    index: Option<Arc<TraceIndex>>,
    _token: PhantomData<fn() -> T>,
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

    /// The layer.
    pub fn build(self) -> ObservabilityLayer<T> {
        let id_max_len = self.plane.as_ref().map_or(CORRELATION_ID_CAPACITY, |p| p.schema().id_max_len);
        let log = self.plane.map(|p| {
            let slots = RequestLogSlots::resolve(p.schema());
            (p, slots)
        });
        ObservabilityLayer {
            shared: Arc::new(Shared { id_max_len, metrics: self.metrics, log, index: self.index }),
            _token: PhantomData,
        }
    }
}

impl<S, T> Layer<S> for ObservabilityLayer<T> {
    type Service = ObservabilityService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        ObservabilityService { inner, shared: Arc::clone(&self.shared), _token: PhantomData }
    }
}

/// The service [`ObservabilityLayer`] wraps around each route.
pub struct ObservabilityService<S, T> {
    inner: S,
    shared: Arc<Shared>,
    _token: PhantomData<fn() -> T>,
}

impl<S: Clone, T> Clone for ObservabilityService<S, T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), shared: Arc::clone(&self.shared), _token: PhantomData }
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

struct Pending {
    start: Instant,
    ids: RequestIds,
    cid_header: Option<HeaderValue>,
    route: &'static str,
    method: Method,
    bytes_in: Option<u64>,
    shared: Arc<Shared>,
}

pin_project! {
    /// The response future of [`ObservabilityService`].
    pub struct ObservabilityFuture<F, T> {
        #[pin]
        inner: CatchPanic<F>,
        pending: Option<Pending>,
        _token: PhantomData<fn() -> T>,
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

impl<S, T> Service<Request<Body>> for ObservabilityService<S, T>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
    T: TokenInfo,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ObservabilityFuture<OptionFuture<S::Future>, T>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let start = Instant::now();
        let (ids, cid_header) = RequestIds::read(req.headers(), self.shared.id_max_len);
        let route = route_label(req.extensions().get::<MatchedPath>());
        let method = req.method().clone();
        let bytes_in = content_length(req.headers()).or_else(|| req.body().size_hint().exact());
        req.extensions_mut().insert(ids);
        let inner = &mut self.inner;
        let fut = catch_unwind(AssertUnwindSafe(move || inner.call(req))).ok();
        ObservabilityFuture {
            inner: CatchPanic::new(OptionFuture { inner: fut }),
            pending: Some(Pending {
                start,
                ids,
                cid_header,
                route,
                method,
                bytes_in,
                shared: Arc::clone(&self.shared),
            }),
            _token: PhantomData,
        }
    }
}

impl<F, T> Future for ObservabilityFuture<OptionFuture<F>, T>
where
    F: Future<Output = Result<Response, Infallible>>,
    T: TokenInfo,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = match this.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(out) => out,
        };
        let Some(p) = this.pending.take() else {
            // Polled after completion: answer the fallback rather than panic.
            return Poll::Ready(Ok(panic_response::<T>(Box::new(()), None)));
        };
        let resp = match out {
            Ok(Some(Ok(resp))) => resp,
            Ok(Some(Err(never))) => match never {},
            Ok(None) => panic_response::<T>(Box::new(()), Some(&p.ids.correlation_id)),
            Err(panic) => panic_response::<T>(panic, Some(&p.ids.correlation_id)),
        };
        Poll::Ready(Ok(finish::<T>(resp, p)))
    }
}

fn finish<T: TokenInfo>(resp: Response, p: Pending) -> Response {
    let (mut resp, info) = tokenize::<T>(resp, &p.ids.correlation_id);
    let h = resp.headers_mut();
    h.insert(TRACEPARENT.clone(), p.ids.trace.traceparent());
    h.insert(CORRELATION_ID.clone(), p.cid_header.unwrap_or_else(|| p.ids.correlation_id.header_value()));
    let latency = p.start.elapsed();
    let code = resp.status().as_u16();
    let entry = TraceEntry {
        trace_id: p.ids.trace.trace_id,
        route: p.route,
        method: method_label(&p.method),
        code,
        ok: code < 400,
        err_token: info.map(|i| i.token),
        latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        bytes_in: p.bytes_in,
        bytes_out: content_length(resp.headers()).or_else(|| resp.body().size_hint().exact()),
    };
    let s = &p.shared;
    s.metrics.record(p.route, &p.method, code, latency);
    if let Some((plane, slots)) = &s.log {
        log_request(plane, slots, &entry, &p.ids);
    }
    if let Some(index) = &s.index {
        index.record(entry);
    }
    resp
}
