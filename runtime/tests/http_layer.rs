//! The observability layer: matched-route labels, trace context and
//! correlation ID propagation, one log line per request, the trace index.
#![allow(missing_docs)]

mod http_common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::StatusCode;
use http_common::{Recorded, Tok, body_json, get as req};
use obspec::http::trace::{TRACEPARENT, parse_trace_id};
use obspec::http::{ApiError, ObservabilityLayer, RequestIds, TraceContext, TraceIndex};
use obspec::log::{LogPlane, LogSchema, MemorySink};
use obspec_generated::LOG_SCHEMA;
use tower::ServiceExt;

/// The spec's log schema, keeping every line.
static SCHEMA: LogSchema = LOG_SCHEMA.keep_all();

struct Setup {
    app: Router,
    metrics: Recorded,
    index: Arc<TraceIndex>,
    mem: MemorySink,
    plane: LogPlane,
}

fn setup() -> Setup {
    let metrics = Recorded::default();
    let index = Arc::new(TraceIndex::new(8));
    let mem = MemorySink::new();
    let plane = LogPlane::builder(&SCHEMA, "core").memory(&mem).build().expect("plane");
    let layer = ObservabilityLayer::<Tok>::builder()
        .metrics(metrics.clone())
        .log_plane(plane.clone())
        .trace_index(Arc::clone(&index))
        .request_ids()
        .response_ids()
        .build();
    let app = Router::new()
        .route("/v1/rooms/{room_id}", get(|| async { "room" }))
        .route(
            "/v1/rooms/{room_id}/events",
            post(|Extension(ids): Extension<RequestIds>, body: String| async move {
                // Handlers see the ids; an outgoing call would use ids.trace.child().
                if body.is_empty() { Err(ApiError::new(Tok::InvalidInput)) } else { Ok(ids.correlation_id.to_string()) }
            }),
        )
        .layer(layer);
    Setup { app, metrics, index, mem, plane }
}

#[tokio::test]
async fn ids_in_extensions_and_response_headers_are_opt_in() {
    // By default: no RequestIds extension, no response headers, but the
    // log line and an error body still carry the caller's correlation ID.
    let mem = MemorySink::new();
    let plane = LogPlane::builder(&SCHEMA, "core").memory(&mem).build().expect("plane");
    let app = Router::new()
        .route(
            "/v1/rooms/{room_id}",
            get(|ids: Option<Extension<RequestIds>>| async move {
                let token = if ids.is_some() { Tok::Conflict } else { Tok::InvalidInput };
                Err::<(), _>(ApiError::new(token))
            }),
        )
        .layer(ObservabilityLayer::<Tok>::builder().log_plane(plane.clone()).build());
    let resp = app
        .oneshot(
            http::Request::builder()
                .uri("/v1/rooms/1")
                .header("x-correlation-id", "corr-opt")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert!(resp.headers().get(&TRACEPARENT).is_none());
    assert!(resp.headers().get("x-correlation-id").is_none());
    let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.expect("body");
    let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["err"], Tok::InvalidInput.as_str(), "no RequestIds extension by default: {body}");
    assert_eq!(body["correlation_id"], "corr-opt");
    plane.flush(std::time::Duration::from_secs(5));
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains(r#""corr-opt""#), "{}", lines[0]);
}

#[tokio::test]
async fn metrics_use_the_matched_template_never_the_raw_path() {
    let s = setup();
    let resp = s.app.clone().oneshot(req("/v1/rooms/123")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = s.app.clone().oneshot(req("/v1/rooms/456")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = s.app.clone().oneshot(req("/v1/secret-user-path/789")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        s.metrics.take(),
        vec![
            ("/v1/rooms/:room_id".to_owned(), "GET".to_owned(), 200),
            ("/v1/rooms/:room_id".to_owned(), "GET".to_owned(), 200),
            ("unmatched".to_owned(), "GET".to_owned(), 404),
        ]
    );
}

#[tokio::test]
async fn traceparent_is_continued_and_put_on_the_response() {
    let s = setup();
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = http::Request::builder()
        .uri("/v1/rooms/1")
        .header("traceparent", incoming)
        .header("x-correlation-id", "corr-7")
        .body(Body::empty())
        .expect("request");
    let resp = s.app.clone().oneshot(r).await.expect("infallible");
    let out = resp.headers()[&TRACEPARENT].to_str().expect("ascii").to_owned();
    let (trace, span, flags) = TraceContext::parse(out.as_bytes()).expect("valid traceparent");
    assert_eq!(trace, 0x4bf92f3577b34da6a3ce929d0e0e4736);
    assert_ne!(span, 0x00f067aa0ba902b7, "a new span for this hop");
    assert_eq!(flags, 1);
    assert_eq!(resp.headers()["x-correlation-id"], "corr-7");

    // Absent or malformed: a new trace, and the correlation ID defaults to it.
    for bad in [None, Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), Some("garbage")] {
        let mut b = http::Request::builder().uri("/v1/rooms/1");
        if let Some(v) = bad {
            b = b.header("traceparent", v);
        }
        let resp = s.app.clone().oneshot(b.body(Body::empty()).expect("request")).await.expect("infallible");
        let out = resp.headers()[&TRACEPARENT].to_str().expect("ascii").to_owned();
        let (trace, _, _) = TraceContext::parse(out.as_bytes()).expect("generated traceparent is valid");
        assert_eq!(resp.headers()["x-correlation-id"].to_str().expect("ascii"), format!("{trace:032x}"));
    }
    // A correlation ID of the wrong shape is not echoed.
    let r = http::Request::builder()
        .uri("/v1/rooms/1")
        .header("x-correlation-id", "has spaces and \"quotes\"")
        .body(Body::empty())
        .expect("request");
    let resp = s.app.clone().oneshot(r).await.expect("infallible");
    assert_eq!(resp.headers()["x-correlation-id"].len(), 32);
}

#[test]
fn traceparent_parsing_follows_w3c() {
    let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert!(TraceContext::parse(ok.as_bytes()).is_some());
    for bad in [
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
    ] {
        assert!(TraceContext::parse(bad.as_bytes()).is_none(), "{bad}");
    }
    // A later version may append fields.
    assert!(TraceContext::parse(b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future").is_some());
    let t = TraceContext::new_root();
    let child = t.child();
    assert_eq!((child.trace_id, child.parent_id), (t.trace_id, t.span_id));
    assert_eq!(parse_trace_id(t.trace_id_hex().as_str()), Some(t.trace_id));
}

#[tokio::test]
async fn one_server_blind_line_per_request() {
    let s = setup();
    let r = http::Request::builder()
        .method("POST")
        .uri("/v1/rooms/r1/events")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .header("x-correlation-id", "corr-1")
        .header("content-length", "11")
        .body(Body::from("hello world"))
        .expect("request");
    let resp = s.app.clone().oneshot(r).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let r = http::Request::builder()
        .method("POST")
        .uri("/v1/rooms/r1/events")
        .header("x-correlation-id", "corr-2")
        .body(Body::empty())
        .expect("request");
    let resp = s.app.clone().oneshot(r).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(s.plane.flush(Duration::from_secs(5)));
    let lines = s.mem.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let a: serde_json::Value = serde_json::from_str(&lines[0]).expect("json line");
    assert_eq!(a["component"], "core");
    assert_eq!(a["route"], "/v1/rooms/:room_id/events");
    assert_eq!(a["method"], "POST");
    assert_eq!(a["correlation_id"], "corr-1");
    assert_eq!(a["ok"], true);
    assert_eq!(a["code"], 200);
    assert_eq!(a["bytes_in"], 11);
    assert_eq!(a["bytes_out"], 6, "the body \"corr-1\"");
    assert_eq!(a["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(a["latency_ms"].is_u64());
    assert!(a.get("err_token").is_none());
    let b: serde_json::Value = serde_json::from_str(&lines[1]).expect("json line");
    assert_eq!(b["ok"], false);
    assert_eq!(b["err_token"], "INVALID_INPUT");
    assert_eq!(b["code"], 400);
    assert_eq!(b["correlation_id"], "corr-2");
    assert!(!lines.iter().any(|l| l.contains("hello") || l.contains("/v1/rooms/r1")), "no body, no raw path");
    let keys: Vec<String> = a.as_object().expect("object").keys().cloned().collect();
    assert!(keys.iter().all(|k| SCHEMA.fields.iter().any(|f| f.name == k)), "{keys:?}");
    assert_eq!(s.plane.stats().redacted, [0; 5], "nothing redacted");
}

#[tokio::test]
async fn the_index_keeps_the_last_requests_by_trace_id() {
    let s = setup();
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let r = http::Request::builder().uri("/v1/rooms/9").header("traceparent", tp).body(Body::empty()).expect("req");
    s.app.clone().oneshot(r).await.expect("infallible");
    let found = s.index.lookup(0x0af7651916cd43dd8448eb211c80319c);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].route, found[0].method, found[0].code, found[0].ok), ("/v1/rooms/:room_id", "GET", 200, true));
    // Capacity 8: nine more requests push it out.
    for _ in 0..9 {
        s.app.clone().oneshot(req("/v1/rooms/1")).await.expect("infallible");
    }
    assert!(s.index.lookup(0x0af7651916cd43dd8448eb211c80319c).is_empty());
    let resp = s.app.clone().oneshot(req("/nope")).await.expect("infallible");
    assert_eq!(body_json(resp).await["err"], "NOT_FOUND");
}
