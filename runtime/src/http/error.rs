//! ErrorToken responses (blueprint 09 §0, §4): every API and MCP error is one
//! token of the spec's closed vocabulary, with the spec's HTTP status and
//! JSON-RPC code, an optional `retry_after_ms` and the request's correlation ID.
//!
//! The runtime does not know the vocabulary: it takes it through [`TokenInfo`],
//! which the generated `ErrorToken` enum implements.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::http::trace::CorrelationId;

/// A situation the runtime answers with an ErrorToken. The spec gives each
/// role to exactly one token (`role:` in `spec/errors.yaml`), so the runtime
/// never names a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenRole {
    /// No or bad credentials (ops token missing or wrong).
    Unauthenticated,
    /// Valid credentials but no permission (no ops token configured).
    AccessDenied,
    /// The request is malformed (bad trace id, bad stage).
    InvalidInput,
    /// Nothing to show (unknown trace id).
    NotFound,
    /// The service is draining, not ready, or the flags could not be re-read.
    Unavailable,
    /// A rate-limit bucket is empty.
    RateLimit,
    /// The concurrency limit is reached.
    Backpressure,
    /// The request body is over the size limit.
    PayloadTooLarge,
}

/// JSON-RPC's own "internal error" code, sent for a token without a `jsonrpc_code`.
pub const JSONRPC_INTERNAL_ERROR: i32 = -32603;

/// The ErrorToken vocabulary as the runtime sees it; the generated
/// `ErrorToken` enum implements it from `spec/errors.yaml`.
pub trait TokenInfo: Copy + Send + Sync + 'static {
    /// The token unmapped failures and panics become (`fallback: true`).
    const FALLBACK: Self;
    /// The token the spec gives `role`.
    fn for_role(role: TokenRole) -> Self;
    /// Every token, in spec order.
    const ALL: &'static [Self];
    /// The wire form, e.g. `"BACKPRESSURE"`.
    fn as_str(self) -> &'static str;
    /// The HTTP status the token is answered with.
    fn http_status(self) -> u16;
    /// The JSON-RPC (MCP) error code, if the spec gives one.
    fn jsonrpc_code(self) -> Option<i32>;
    /// True when every answer with this token carries `retry_after_ms`.
    fn retry_after_required(self) -> bool;
    /// True when an answer with this token may carry `retry_after_ms`.
    fn retry_after_allowed(self) -> bool;
    /// Parses the wire form.
    fn from_wire(s: &str) -> Option<Self>;
}

/// `retry_after_ms` used by [`ApiError::new`] for a token that requires one
/// when the caller gave none. Prefer [`ApiError::with_retry_after`].
pub const DEFAULT_RETRY_AFTER_MS: u64 = 1000;

/// What an error response carried, left in the response's extensions for the
/// middleware (logging, metrics, trace index, correlation ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The token's wire form.
    pub token: &'static str,
    /// The HTTP status sent.
    pub status: u16,
    /// `retry_after_ms` sent, if any.
    pub retry_after_ms: Option<u64>,
    /// Whether the body already names the correlation ID (or must be left as
    /// is); when false the observability layer writes the request's into it.
    pub complete: bool,
}

/// `retry_after_ms` given for a token that does not allow it, or missing for
/// one that requires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfterError {
    /// The token's wire form.
    pub token: &'static str,
    /// True when the value was required and missing, false when it was given
    /// but not allowed.
    pub missing: bool,
}

impl std::fmt::Display for RetryAfterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.missing {
            write!(f, "{} requires retry_after_ms", self.token)
        } else {
            write!(f, "{} does not allow retry_after_ms", self.token)
        }
    }
}

impl std::error::Error for RetryAfterError {}

/// An API error: a token, `retry_after_ms` where the spec allows it (always
/// where it requires it) and the correlation ID. Answer it from a handler
/// (`Result<_, ApiError<ErrorToken>>`) or turn it into a JSON-RPC error with
/// [`ApiError::to_jsonrpc`].
///
/// The HTTP body is `{"err":"BACKPRESSURE","retry_after_ms":1200,"correlation_id":"…"}`;
/// a `Retry-After` header (seconds, rounded up) accompanies `retry_after_ms`.
/// The observability layer fills in the request's correlation ID when the
/// handler did not set one.
///
/// The correlation ID (the cold, large part) is boxed, so `Result<_, ApiError<T>>`
/// stays small (clippy's `result_large_err`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError<T: TokenInfo> {
    token: T,
    retry_after_ms: Option<u64>,
    correlation_id: Option<Box<CorrelationId>>,
}

impl<T: TokenInfo> ApiError<T> {
    /// An error with `token`. A token that requires `retry_after_ms` gets
    /// [`DEFAULT_RETRY_AFTER_MS`]; use [`ApiError::with_retry_after`] to give
    /// the exact value.
    pub fn new(token: T) -> Self {
        let retry_after_ms = token.retry_after_required().then_some(DEFAULT_RETRY_AFTER_MS);
        Self { token, retry_after_ms, correlation_id: None }
    }

    /// An error with `token` and `retry_after_ms`; the value is dropped when
    /// the token does not allow one.
    pub fn with_retry_after(token: T, retry_after_ms: u64) -> Self {
        let retry_after_ms = token.retry_after_allowed().then_some(retry_after_ms);
        Self { token, retry_after_ms, correlation_id: None }
    }

    /// An error exactly as given, or why the spec forbids it.
    pub fn try_new(token: T, retry_after_ms: Option<u64>) -> Result<Self, RetryAfterError> {
        match retry_after_ms {
            None if token.retry_after_required() => Err(RetryAfterError { token: token.as_str(), missing: true }),
            Some(_) if !token.retry_after_allowed() => Err(RetryAfterError { token: token.as_str(), missing: false }),
            _ => Ok(Self { token, retry_after_ms, correlation_id: None }),
        }
    }

    /// The fallback token: what panics and unmapped failures become.
    pub fn fallback() -> Self {
        Self::new(T::FALLBACK)
    }

    /// Sets the correlation ID written in the body.
    pub fn correlation_id(mut self, id: CorrelationId) -> Self {
        self.correlation_id = Some(Box::new(id));
        self
    }

    /// The token.
    pub fn token(&self) -> T {
        self.token
    }

    /// `retry_after_ms`, if sent.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after_ms
    }

    /// The correlation ID, if set.
    pub fn correlation(&self) -> Option<&CorrelationId> {
        self.correlation_id.as_deref()
    }

    /// The HTTP status (the fallback's if the spec's is not a valid status).
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.token.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        render_body(self.token.as_str(), self.retry_after_ms, self.correlation_id.as_deref())
    }

    /// The JSON-RPC 2.0 (MCP) error object:
    /// `{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":"BACKPRESSURE","data":{"retry_after_ms":…,"correlation_id":…}}}`.
    /// `data` holds only the fields that are set (and is left out when none is).
    pub fn to_jsonrpc(&self, id: serde_json::Value) -> serde_json::Value {
        let mut data = serde_json::Map::new();
        if let Some(ms) = self.retry_after_ms {
            data.insert("retry_after_ms".to_owned(), ms.into());
        }
        if let Some(c) = &self.correlation_id {
            data.insert("correlation_id".to_owned(), c.as_str().into());
        }
        let mut error = serde_json::Map::new();
        error.insert("code".to_owned(), self.token.jsonrpc_code().unwrap_or(JSONRPC_INTERNAL_ERROR).into());
        error.insert("message".to_owned(), self.token.as_str().into());
        if !data.is_empty() {
            error.insert("data".to_owned(), data.into());
        }
        let mut out = serde_json::Map::new();
        out.insert("jsonrpc".to_owned(), "2.0".into());
        out.insert("id".to_owned(), id);
        out.insert("error".to_owned(), error.into());
        out.into()
    }

    pub(crate) fn info(&self) -> ErrorInfo {
        ErrorInfo {
            token: self.token.as_str(),
            status: self.status().as_u16(),
            retry_after_ms: self.retry_after_ms,
            complete: self.correlation_id.is_some(),
        }
    }
}

impl<T: TokenInfo> std::fmt::Display for ApiError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.token.as_str())
    }
}

impl<T: TokenInfo + std::fmt::Debug> std::error::Error for ApiError<T> {}

impl<T: TokenInfo> IntoResponse for ApiError<T> {
    fn into_response(self) -> Response {
        render_response(self.info(), self.correlation_id.as_deref())
    }
}

/// The token `status` maps to when a response has no token: the first token
/// with that status that needs no `retry_after_ms`; else, for a client error
/// (4xx: axum's JSON, query and path rejections answer 400, 415 or 422), the
/// `invalid_input` role's token; else [`TokenInfo::FALLBACK`].
pub fn token_for_status<T: TokenInfo>(status: u16) -> T {
    match T::ALL.iter().copied().find(|t| t.http_status() == status && !t.retry_after_required()) {
        Some(t) => t,
        None if (400..500).contains(&status) => T::for_role(TokenRole::InvalidInput),
        None => T::FALLBACK,
    }
}

/// The [`ErrorInfo`] of an ErrorToken body made elsewhere (an upstream's
/// answer a proxy passes on): `{"err":TOKEN,…}` whose token is one of `T`,
/// answered with `status` (an error status), and whose `retry_after_ms`, if
/// any, the token allows (and present when it requires one). `None` for any
/// other body. The returned info is `complete`: the layer keeps the body.
pub fn recognise_body<T: TokenInfo>(status: u16, body: &[u8]) -> Option<ErrorInfo> {
    if status < 400 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let token = T::from_wire(v.get("err")?.as_str()?)?;
    let retry_after_ms = match v.get("retry_after_ms") {
        None => None,
        Some(ms) => Some(ms.as_u64()?),
    };
    match retry_after_ms {
        None if token.retry_after_required() => return None,
        Some(_) if !token.retry_after_allowed() => return None,
        _ => {}
    }
    Some(ErrorInfo { token: token.as_str(), status, retry_after_ms, complete: true })
}

/// Reads an error response made elsewhere (an upstream's) up to `max_bytes`
/// and, when its body is a well-formed ErrorToken body of `T`
/// ([`recognise_body`]), marks it so the observability layer passes it on
/// unchanged; any other error body is left unmarked (the layer replaces it).
/// A success, or a body over `max_bytes` or failing to read, is answered by
/// usual rules: a success is returned as is (its body streamed), an
/// unreadable error body becomes the token for its status.
pub async fn pass_through<T, B>(resp: http::Response<B>, max_bytes: usize) -> Response
where
    T: TokenInfo,
    B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = resp.status().as_u16();
    let (mut parts, body) = resp.into_parts();
    if status < 400 {
        return Response::from_parts(parts, Body::new(body));
    }
    let Ok(bytes) = axum::body::to_bytes(Body::new(body), max_bytes).await else {
        let t: T = token_for_status(status);
        return ApiError::new(t).into_response();
    };
    if let Some(info) = recognise_body::<T>(status, &bytes) {
        parts.extensions.insert(info);
    }
    Response::from_parts(parts, Body::from(bytes))
}

pub(crate) fn render_body(token: &str, retry_after_ms: Option<u64>, correlation_id: Option<&CorrelationId>) -> String {
    let mut out = String::with_capacity(96);
    out.push_str("{\"err\":");
    push_json_str(&mut out, token);
    if let Some(ms) = retry_after_ms {
        out.push_str(",\"retry_after_ms\":");
        out.push_str(itoa::Buffer::new().format(ms));
    }
    if let Some(c) = correlation_id {
        out.push_str(",\"correlation_id\":");
        push_json_str(&mut out, c.as_str());
    }
    out.push('}');
    out
}

/// Builds the HTTP response for `info` (status, JSON body, `Retry-After`),
/// with `info` in its extensions.
pub(crate) fn render_response(mut info: ErrorInfo, correlation_id: Option<&CorrelationId>) -> Response {
    info.complete |= correlation_id.is_some();
    let body = render_body(info.token, info.retry_after_ms, correlation_id);
    let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(ms) = info.retry_after_ms {
        h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs(ms)));
    }
    resp.extensions_mut().insert(info);
    resp
}

/// `Retry-After` seconds for `ms`, rounded up.
pub fn retry_after_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                let b = c as u8;
                out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
                out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
