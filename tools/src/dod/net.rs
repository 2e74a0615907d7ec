//! A small async HTTP/1.1 client on hyper (pooled keep-alive connections),
//! shared by the load generator, the Prometheus client and the proofs.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The pooled client.
pub type Client = HyperClient<HttpConnector, Full<Bytes>>;

/// A client keeping up to `idle` connections per host.
pub fn client(idle: usize) -> Client {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    c.set_connect_timeout(Some(Duration::from_secs(2)));
    HyperClient::builder(TokioExecutor::new()).pool_max_idle_per_host(idle).build(c)
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Builds a request; header names and values that do not parse are skipped.
pub fn request(
    method: Method,
    url: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
) -> Result<Request<Full<Bytes>>, String> {
    let mut b = Request::builder().method(method).uri(url);
    if let Some(h) = b.headers_mut() {
        for (k, v) in headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str())) {
                h.append(k, v);
            }
        }
        if body.is_some() && !h.contains_key(hyper::header::CONTENT_TYPE) {
            h.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
    }
    b.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(|e| format!("bad request {url}: {e}"))
}

/// Sends a request and reads the whole answer, within `timeout`.
pub async fn send(client: &Client, req: Request<Full<Bytes>>, timeout: Duration) -> Result<Resp, String> {
    let uri = req.uri().to_string();
    let fut = async {
        let resp = client.request(req).await.map_err(|e| format!("{uri}: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.map_err(|e| format!("{uri}: {e}"))?.to_bytes();
        Ok::<Resp, String>(Resp { status, headers, body })
    };
    tokio::time::timeout(timeout, fut).await.map_err(|_| format!("{uri}: no answer within {timeout:?}"))?
}

/// `GET url`.
pub async fn get(client: &Client, url: &str) -> Result<Resp, String> {
    send(client, request(Method::GET, url, &[], None)?, Duration::from_secs(10)).await
}

/// `POST url` with a JSON body and headers.
pub async fn post_json(
    client: &Client,
    url: &str,
    headers: &[(String, String)],
    body: &serde_json::Value,
) -> Result<Resp, String> {
    send(client, request(Method::POST, url, headers, Some(body.to_string().into_bytes()))?, Duration::from_secs(10))
        .await
}

/// Percent-encodes a query parameter.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
