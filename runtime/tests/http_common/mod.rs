//! Shared by the `http_*` tests: the generated token enum, recording metric
//! hooks and body helpers.
#![allow(dead_code, missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::Method;
use obspec::http::{LimitMetrics, RequestMetrics};

/// The spec's ErrorToken vocabulary (generated), under the tests' short name.
pub use obspec_generated::ErrorToken as Tok;

/// (token, wire, http, jsonrpc, retry_after: 0 none, 1 optional, 2 required), from the generated table.
pub fn table() -> Vec<(Tok, &'static str, u16, Option<i32>, u8)> {
    Tok::ALL
        .iter()
        .map(|t| {
            let retry = if t.retry_after_required() { 2 } else { u8::from(t.retry_after_allowed()) };
            (*t, t.as_str(), t.http_status(), t.jsonrpc_code(), retry)
        })
        .collect()
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
    fn backpressure(&self, tenant: &str, session_type: &str) {
        self.0.lock().expect("lock").push(format!("backpressure {tenant} {session_type}"));
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
