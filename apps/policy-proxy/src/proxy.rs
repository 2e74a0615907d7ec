//! Forwarding to the stage's upstream: hop-by-hop headers dropped, the trace
//! continued (a child `traceparent`, the same `x-correlation-id`), the
//! upstream's answer streamed back. An upstream ErrorToken answer is passed
//! on as is (its token, status and `retry_after_ms` kept); a refused or
//! timed-out call becomes `UPSTREAM_UNAVAILABLE` / `UPSTREAM_TIMEOUT`.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Request, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use obspec::event::LogEvent;
use obspec::http::trace::{CORRELATION_ID, TRACEPARENT};
use obspec::http::{ApiError, ErrorInfo, RequestIds};
use obspec_generated::ErrorToken;

use crate::obs::Forwarded;

/// The HTTP client to the upstreams.
pub type Upstream = Client<HttpConnector, Body>;

/// A new client (HTTP/1.1, pooled).
pub fn client() -> Upstream {
    Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Largest upstream error body read to carry its token on.
const ERROR_BODY_MAX: usize = 4096;

const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

fn target(base: &Uri, req: &Uri) -> Option<Uri> {
    let pq = req.path_and_query().map_or("/", |p| p.as_str());
    let mut parts = base.clone().into_parts();
    let prefix = parts.path_and_query.as_ref().map_or("", |p| p.path().trim_end_matches('/'));
    parts.path_and_query = Some(format!("{prefix}{pq}").parse().ok()?);
    Uri::from_parts(parts).ok()
}

/// Sends `req` to `base`; `node` and `tenant` only label the log line.
pub async fn forward(
    client: &Upstream,
    base: &Uri,
    node: &str,
    tenant: &str,
    timeout: Duration,
    req: Request<Body>,
) -> Response {
    let ids = req.extensions().get::<RequestIds>().copied();
    let (mut parts, body) = req.into_parts();
    let Some(uri) = target(base, &parts.uri) else {
        return ApiError::<ErrorToken>::new(ErrorToken::InvalidInput).into_response();
    };
    for h in &HOP_BY_HOP {
        parts.headers.remove(h);
    }
    parts.headers.remove(header::UPGRADE);
    if let Some(a) = uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
        parts.headers.insert(header::HOST, a);
    }
    if let Some(ids) = ids {
        parts.headers.insert(TRACEPARENT.clone(), ids.trace.child().traceparent());
        if !parts.headers.contains_key(&CORRELATION_ID) {
            parts.headers.insert(CORRELATION_ID.clone(), ids.correlation_id.header_value());
        }
    }
    parts.uri = uri;
    let start = Instant::now();
    let sent = tokio::time::timeout(timeout, client.request(Request::from_parts(parts, body))).await;
    let (resp, err) = match sent {
        Err(_) => (None, Some(ErrorToken::UpstreamTimeout)),
        Ok(Err(_)) => (None, Some(ErrorToken::UpstreamUnavailable)),
        Ok(Ok(r)) => (Some(r), None),
    };
    let code = resp.as_ref().map_or(0, |r| r.status().as_u16());
    let line = |code: u16, err: Option<ErrorToken>| Forwarded {
        tenant,
        node,
        code: if code == 0 { err.map_or(500, ErrorToken::http_status) } else { code },
        ok: err.is_none() && code < 500,
        err_token: err,
        latency_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let Some(resp) = resp else {
        line(0, err).emit();
        return ApiError::<ErrorToken>::new(err.unwrap_or(ErrorToken::UpstreamUnavailable)).into_response();
    };
    let (mut parts, body) = resp.into_parts();
    for h in &HOP_BY_HOP {
        parts.headers.remove(h);
    }
    if code < 400 {
        line(code, None).emit();
        return Response::from_parts(parts, Body::new(body));
    }
    // An error: a well-formed ErrorToken body of the upstream is passed on
    // as is (the runtime marks it for the layer); any other is replaced.
    let out =
        obspec::http::error::pass_through::<ErrorToken, _>(Response::from_parts(parts, body), ERROR_BODY_MAX).await;
    let token = out.extensions().get::<ErrorInfo>().and_then(|i| ErrorToken::from_wire(i.token));
    line(code, token).emit();
    out
}
