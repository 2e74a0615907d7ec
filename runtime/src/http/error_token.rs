//! "ErrorToken on fail" (blueprint 09 §6.3): every error response leaves the
//! service as an ErrorToken body. A handler's [`ApiError`] is kept (the
//! request's correlation ID is filled in); any other response with a status of
//! 400 or more has its body replaced by the token for that status (or the
//! fallback); a panic becomes the fallback token. Nothing of the original
//! body or panic message is sent.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header;
use pin_project_lite::pin_project;

use crate::http::error::{ApiError, ErrorInfo, TokenInfo, render_body, render_response, token_for_status};
use crate::http::trace::CorrelationId;

pin_project! {
    /// A future whose panics are caught (the payload is dropped unread).
    #[derive(Debug)]
    pub struct CatchPanic<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchPanic<F> {
    /// Wraps `inner`.
    pub fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The response for a panic: the fallback token, nothing of the message.
pub fn panic_response<T: TokenInfo>(panic: Box<dyn Any + Send>, correlation_id: Option<&CorrelationId>) -> Response {
    // Dropping the payload here, unread: panic messages may carry content.
    drop(panic);
    let mut e = ApiError::<T>::fallback();
    if let Some(c) = correlation_id {
        e = e.correlation_id(*c);
    }
    e.into_response()
}

/// Makes `resp` an ErrorToken response if it is an error: fills in the
/// correlation ID of a token body, replaces any other error body. Returns the
/// response and its [`ErrorInfo`] (None for a success). `correlation_id` is
/// called only for an error body.
pub fn tokenize<T: TokenInfo>(
    resp: Response,
    correlation_id: impl FnOnce() -> CorrelationId,
) -> (Response, Option<ErrorInfo>) {
    let status = resp.status().as_u16();
    match resp.extensions().get::<ErrorInfo>().copied() {
        Some(info) if info.complete => (resp, Some(info)),
        Some(mut info) => {
            let (mut parts, _) = resp.into_parts();
            info.complete = true;
            let body = render_body(info.token, info.retry_after_ms, Some(&correlation_id()));
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.extensions.insert(info);
            (Response::from_parts(parts, Body::from(body)), Some(info))
        }
        None if status >= 400 => {
            let t: T = token_for_status(status);
            let info = ErrorInfo { token: t.as_str(), status: t.http_status(), retry_after_ms: None, complete: true };
            let resp = render_response(info, Some(&correlation_id()));
            (resp, Some(info))
        }
        None => (resp, None),
    }
}
