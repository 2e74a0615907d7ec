//! Chaos light (blueprint 09 §5.2): delays a fraction of requests (the flag
//! with role `chaos_ratio`) by a delay between the `chaos_delay_min` and
//! `chaos_delay_max` flags, to exercise backpressure in a sandbox. Off unless
//! the `chaos_light` flag is on; when off it costs one atomic load.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::flags::Flags;
use crate::http::trace::random_u64;

/// Delays some requests while chaos light is on (see the module docs).
/// Needs a Tokio runtime with the time driver when it delays.
#[derive(Debug, Clone)]
pub struct ChaosLayer {
    flags: Arc<Flags>,
}

impl ChaosLayer {
    /// Reads the chaos flags from `flags` on every request.
    pub fn new(flags: Arc<Flags>) -> Self {
        Self { flags }
    }
}

/// The delay for one request, if chaos picks it.
pub fn chaos_delay(flags: &Flags) -> Option<Duration> {
    if !flags.chaos_light() {
        return None;
    }
    let r = random_u64();
    if (r % 1_000_000) as u32 >= flags.chaos_ratio_ppm() {
        return None;
    }
    let (lo, hi) = flags.chaos_delay_ms();
    let ms = lo + (r >> 32) % (hi - lo + 1);
    Some(Duration::from_millis(ms))
}

impl<S> Layer<S> for ChaosLayer {
    type Service = ChaosService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ChaosService { inner, flags: Arc::clone(&self.flags) }
    }
}

/// The service [`ChaosLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct ChaosService<S> {
    inner: S,
    flags: Arc<Flags>,
}

type Boxed = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project! {
    /// The response future of [`ChaosService`]: direct, or boxed when delayed.
    pub struct ChaosFuture<F> {
        #[pin]
        direct: Option<F>,
        delayed: Option<Boxed>,
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for ChaosFuture<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match (this.direct.as_pin_mut(), this.delayed.as_mut()) {
            (Some(f), _) => f.poll(cx),
            (None, Some(b)) => b.as_mut().poll(cx),
            (None, None) => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                Poll::Ready(Ok(r))
            }
        }
    }
}

impl<S> Service<Request<Body>> for ChaosService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ChaosFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match chaos_delay(&self.flags) {
            None => ChaosFuture { direct: Some(self.inner.call(req)), delayed: None },
            Some(d) => {
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                ChaosFuture {
                    direct: None,
                    delayed: Some(Box::pin(async move {
                        tokio::time::sleep(d).await;
                        inner.call(req).await
                    })),
                }
            }
        }
    }
}
