//! Request bodies under a size and a time bound, before they are read whole.
//!
//! [`BodyLimitLayer`] answers the `payload_too_large` role token:
//!
//! - at once, without reading a byte of the body, when `Content-Length`
//!   declares more than the limit;
//! - when a body without a length (chunked) or one longer than it declared
//!   goes past the limit: the body given to the handler fails at the first
//!   frame past the limit (so at most `max_bytes` plus one frame is ever
//!   buffered), and whatever the handler answered is replaced.
//!
//! With [`BodyLimitLayer::read_timeout`], a body not received in full within
//! the timeout (counted from the request's arrival: a client trickling bytes
//! is cut too) fails the same way and the answer is the `invalid_input` role
//! token with `connection: close`. The header phase is bounded by the
//! server: `obspec::service::ServeOptions::header_read_timeout` (hyper's
//! `header_read_timeout`).

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request, header};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::http::error::{ApiError, TokenInfo, TokenRole};

const OK: u8 = 0;
const TOO_LARGE: u8 = 1;
const TIMED_OUT: u8 = 2;

/// Why a request body was cut (the error the handler's body read gets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCut {
    /// Past the size limit.
    TooLarge,
    /// Not received within the read timeout.
    TimedOut,
}

impl std::fmt::Display for BodyCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyCut::TooLarge => "request body over the size limit",
            BodyCut::TimedOut => "request body not received in time",
        })
    }
}

impl std::error::Error for BodyCut {}

/// Bounds every request body: see the [module docs](self).
pub struct BodyLimitLayer<T> {
    max_bytes: u64,
    read_timeout: Option<Duration>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for BodyLimitLayer<T> {
    fn clone(&self) -> Self {
        Self { max_bytes: self.max_bytes, read_timeout: self.read_timeout, _t: PhantomData }
    }
}

impl<T> std::fmt::Debug for BodyLimitLayer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyLimitLayer")
            .field("max_bytes", &self.max_bytes)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

impl<T: TokenInfo> BodyLimitLayer<T> {
    /// Bodies of at most `max_bytes`, no read timeout.
    pub fn new(max_bytes: u64) -> Self {
        Self { max_bytes, read_timeout: None, _t: PhantomData }
    }

    /// The whole body must arrive within `d` of the request.
    pub fn read_timeout(mut self, d: Duration) -> Self {
        self.read_timeout = Some(d);
        self
    }
}

impl<S, T: TokenInfo> Layer<S> for BodyLimitLayer<T> {
    type Service = BodyLimitService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimitService { inner, layer: self.clone() }
    }
}

/// The service [`BodyLimitLayer`] wraps.
pub struct BodyLimitService<S, T> {
    inner: S,
    layer: BodyLimitLayer<T>,
}

impl<S: Clone, T> Clone for BodyLimitService<S, T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), layer: self.layer.clone() }
    }
}

impl<S, T> std::fmt::Debug for BodyLimitService<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyLimitService").field("layer", &self.layer).finish_non_exhaustive()
    }
}

fn answer<T: TokenInfo>(cut: BodyCut) -> Response {
    match cut {
        BodyCut::TooLarge => ApiError::new(T::for_role(TokenRole::PayloadTooLarge)).into_response(),
        BodyCut::TimedOut => {
            let mut r = ApiError::new(T::for_role(TokenRole::InvalidInput)).into_response();
            r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

impl<S, T> Service<Request<Body>> for BodyLimitService<S, T>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    T: TokenInfo,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BodyLimitFuture<S::Future, T>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.layer.max_bytes) {
            return BodyLimitFuture { inner: None, state: None, _t: PhantomData };
        }
        let state = Arc::new(AtomicU8::new(OK));
        let sleep = self.layer.read_timeout.map(|d| Box::pin(tokio::time::sleep(d)));
        let req =
            req.map(|b| Body::new(Guarded { inner: b, left: self.layer.max_bytes, state: Arc::clone(&state), sleep }));
        BodyLimitFuture { inner: Some(self.inner.call(req)), state: Some(state), _t: PhantomData }
    }
}

pin_project! {
    /// The response future of [`BodyLimitService`].
    pub struct BodyLimitFuture<F, T> {
        #[pin]
        inner: Option<F>,
        state: Option<Arc<AtomicU8>>,
        _t: PhantomData<fn() -> T>,
    }
}

impl<F, T> Future for BodyLimitFuture<F, T>
where
    F: Future<Output = Result<Response, Infallible>>,
    T: TokenInfo,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(f) = this.inner.as_pin_mut() else {
            return Poll::Ready(Ok(answer::<T>(BodyCut::TooLarge)));
        };
        let resp = std::task::ready!(f.poll(cx))?;
        let cut = match this.state.as_ref().map(|s| s.load(Ordering::Acquire)) {
            Some(TOO_LARGE) => Some(BodyCut::TooLarge),
            Some(TIMED_OUT) => Some(BodyCut::TimedOut),
            _ => None,
        };
        Poll::Ready(Ok(cut.map_or(resp, answer::<T>)))
    }
}

pin_project! {
    /// A request body that fails past `left` bytes or after its deadline.
    struct Guarded {
        #[pin]
        inner: Body,
        left: u64,
        state: Arc<AtomicU8>,
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        let cut = |state: &AtomicU8, c: BodyCut| {
            state.store(if c == BodyCut::TooLarge { TOO_LARGE } else { TIMED_OUT }, Ordering::Release);
            Poll::Ready(Some(Err(axum::Error::new(c))))
        };
        match this.state.load(Ordering::Acquire) {
            TOO_LARGE => return Poll::Ready(Some(Err(axum::Error::new(BodyCut::TooLarge)))),
            TIMED_OUT => return Poll::Ready(Some(Err(axum::Error::new(BodyCut::TimedOut)))),
            _ => {}
        }
        // Checked on every poll: a client trickling one byte at a time is
        // cut as surely as a silent one.
        if this.sleep.as_ref().is_some_and(|s| s.is_elapsed()) {
            return cut(this.state, BodyCut::TimedOut);
        }
        let frame = match this.inner.poll_frame(cx) {
            Poll::Pending => {
                if let Some(s) = this.sleep
                    && s.as_mut().poll(cx).is_ready()
                {
                    return cut(this.state, BodyCut::TimedOut);
                }
                return Poll::Pending;
            }
            Poll::Ready(f) => f,
        };
        if let Some(Ok(f)) = &frame
            && let Some(data) = f.data_ref()
        {
            let n = data.len() as u64;
            if n > *this.left {
                return cut(this.state, BodyCut::TooLarge);
            }
            *this.left -= n;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
