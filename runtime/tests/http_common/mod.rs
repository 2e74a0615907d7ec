//! Shared by the `http_*` tests: a token enum mirroring `spec/errors.yaml`,
//! recording metric hooks and body helpers.
#![allow(dead_code, missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::Method;
use obspec::http::{LimitMetrics, RequestMetrics, TokenInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    InvalidInput,
    Unauthenticated,
    AccessDenied,
    NotFound,
    Unsupported,
    Conflict,
    PayloadTooLarge,
    RateLimit,
    Backpressure,
    UpstreamTimeout,
    UpstreamUnavailable,
    Unavailable,
    Internal,
}

/// (token, wire, http, jsonrpc, retry_after: 0 none, 1 optional, 2 required) — spec/errors.yaml.
pub const TABLE: [(Tok, &str, u16, i32, u8); 13] = [
    (Tok::InvalidInput, "INVALID_INPUT", 400, -32602, 0),
    (Tok::Unauthenticated, "UNAUTHENTICATED", 401, -32001, 0),
    (Tok::AccessDenied, "ACCESS_DENIED", 403, -32003, 0),
    (Tok::NotFound, "NOT_FOUND", 404, -32004, 0),
    (Tok::Unsupported, "UNSUPPORTED", 405, -32601, 0),
    (Tok::Conflict, "CONFLICT", 409, -32009, 0),
    (Tok::PayloadTooLarge, "PAYLOAD_TOO_LARGE", 413, -32013, 0),
    (Tok::RateLimit, "RATE_LIMIT", 429, -32029, 2),
    (Tok::Backpressure, "BACKPRESSURE", 503, -32030, 2),
    (Tok::UpstreamTimeout, "UPSTREAM_TIMEOUT", 504, -32040, 1),
    (Tok::UpstreamUnavailable, "UPSTREAM_UNAVAILABLE", 502, -32041, 1),
    (Tok::Unavailable, "UNAVAILABLE", 503, -32042, 1),
    (Tok::Internal, "INTERNAL", 500, -32603, 0),
];

fn row(t: Tok) -> (Tok, &'static str, u16, i32, u8) {
    TABLE[TABLE.iter().position(|r| r.0 == t).expect("every token is in TABLE")]
}

impl TokenInfo for Tok {
    const FALLBACK: Self = Tok::Internal;
    const ALL: &'static [Self] = &[
        Tok::InvalidInput,
        Tok::Unauthenticated,
        Tok::AccessDenied,
        Tok::NotFound,
        Tok::Unsupported,
        Tok::Conflict,
        Tok::PayloadTooLarge,
        Tok::RateLimit,
        Tok::Backpressure,
        Tok::UpstreamTimeout,
        Tok::UpstreamUnavailable,
        Tok::Unavailable,
        Tok::Internal,
    ];
    fn as_str(self) -> &'static str {
        row(self).1
    }
    fn http_status(self) -> u16 {
        row(self).2
    }
    fn jsonrpc_code(self) -> i32 {
        row(self).3
    }
    fn retry_after_required(self) -> bool {
        row(self).4 == 2
    }
    fn retry_after_allowed(self) -> bool {
        row(self).4 >= 1
    }
    fn from_wire(s: &str) -> Option<Self> {
        TABLE.iter().find(|r| r.1 == s).map(|r| r.0)
    }
}

/// Every `record` call: (route, method, status).
#[derive(Debug, Clone, Default)]
pub struct Recorded(pub Arc<Mutex<Vec<(String, String, u16)>>>);

impl RequestMetrics for Recorded {
    fn record(&self, route: &str, method: &Method, status: u16, _latency: Duration) {
        self.0.lock().expect("lock").push((route.to_owned(), method.as_str().to_owned(), status));
    }
}

impl Recorded {
    pub fn take(&self) -> Vec<(String, String, u16)> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

/// Every limit hook call, as a string.
#[derive(Debug, Clone, Default)]
pub struct LimitEvents(pub Arc<Mutex<Vec<String>>>);

impl LimitMetrics for LimitEvents {
    fn rate_limited(&self, bucket: &str, tenant: &str, session_type: &str) {
        self.0.lock().expect("lock").push(format!("rate_limited {bucket} {tenant} {session_type}"));
    }
    fn backpressure(&self, session_type: &str) {
        self.0.lock().expect("lock").push(format!("backpressure {session_type}"));
    }
    fn admitted(&self, tenant: &str, session_type: &str) {
        self.0.lock().expect("lock").push(format!("admitted {tenant} {session_type}"));
    }
}

impl LimitEvents {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

pub async fn body_string(resp: Response) -> String {
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

pub async fn body_json(resp: Response) -> serde_json::Value {
    serde_json::from_str(&body_string(resp).await).expect("JSON body")
}

pub fn get(uri: &str) -> http::Request<Body> {
    http::Request::builder().uri(uri).body(Body::empty()).expect("request")
}
