//! Rate limits and backpressure: exact retry_after_ms from the bucket math,
//! concurrency, session types, metric hooks.
#![allow(missing_docs)]

mod http_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::StatusCode;
use http_common::{LimitEvents, Tok, body_json};
use obspec::http::{LimitLayer, Limits, ObservabilityLayer, Rate, Rejection};
use serde_json::json;
use tower::ServiceExt;

const MS: u64 = 1_000_000;

fn app(limits: Arc<Limits>) -> Router {
    Router::new()
        .route("/v1/rooms", get(|| async { "ok" }))
        .layer(LimitLayer::<Tok>::new(limits).expect("vocabulary has RATE_LIMIT and BACKPRESSURE"))
        .layer(ObservabilityLayer::<Tok>::builder().no_log().build())
}

fn req(tenant: &str, session: Option<&str>) -> http::Request<Body> {
    let mut b = http::Request::builder().uri("/v1/rooms").header("x-tenant-id", tenant);
    if let Some(s) = session {
        b = b.header("x-session-type", s);
    }
    b.body(Body::empty()).expect("request")
}

#[tokio::test]
async fn rate_limit_retry_after_is_the_time_to_the_next_token() {
    static NOW: AtomicU64 = AtomicU64::new(0);
    fn clock() -> u64 {
        NOW.load(Ordering::SeqCst)
    }
    // 10 tokens a second (one every 100 ms), burst 2.
    let limits = Limits::builder().tenant_rate(Rate::per_second(10, 2)).clock(clock).build();
    let app = app(Arc::clone(&limits));
    for _ in 0..2 {
        assert_eq!(app.clone().oneshot(req("t1", None)).await.expect("infallible").status(), StatusCode::OK);
    }
    let resp = app.clone().oneshot(req("t1", None)).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body = body_json(resp).await;
    assert_eq!(body["err"], "RATE_LIMIT");
    assert_eq!(body["retry_after_ms"], 100);
    assert!(body["correlation_id"].is_string());
    // Another tenant has its own bucket.
    assert_eq!(app.clone().oneshot(req("t2", None)).await.expect("infallible").status(), StatusCode::OK);

    NOW.store(30 * MS, Ordering::SeqCst);
    assert_eq!(
        limits.check(Some("t1"), None).err(),
        Some(Rejection::RateLimit { bucket: "tenant", retry_after_ms: 70 })
    );
    NOW.store(30 * MS + 500_000, Ordering::SeqCst);
    // 69.5 ms left: rounded up.
    assert_eq!(
        limits.check(Some("t1"), None).err(),
        Some(Rejection::RateLimit { bucket: "tenant", retry_after_ms: 70 })
    );
    NOW.store(100 * MS, Ordering::SeqCst);
    assert_eq!(app.clone().oneshot(req("t1", None)).await.expect("infallible").status(), StatusCode::OK);
    assert_eq!(limits.check(Some("t1"), None).err().map(|r| r.retry_after_ms()), Some(100));
    // After a long pause the bucket is full again, never fuller than the burst.
    NOW.store(10_000 * MS, Ordering::SeqCst);
    assert_eq!(limits.tenant_tokens("t1"), Some(2));
}

#[test]
fn fractional_intervals_round_up() {
    static NOW: AtomicU64 = AtomicU64::new(0);
    fn clock() -> u64 {
        NOW.load(Ordering::SeqCst)
    }
    let limits = Limits::builder().tenant_rate(Rate::every(Duration::from_micros(333_300), 1)).clock(clock).build();
    assert!(limits.check(Some("t"), None).is_ok());
    NOW.store(MS / 2, Ordering::SeqCst);
    // 333.3 ms - 0.5 ms = 332.8 ms → 333.
    assert_eq!(limits.check(Some("t"), None).err().map(|r| r.retry_after_ms()), Some(333));
}

#[tokio::test]
async fn backpressure_when_concurrency_is_full() {
    let events = LimitEvents::default();
    let limits = Limits::builder()
        .max_concurrency(1)
        .backpressure_retry_after(Duration::from_millis(1200))
        .metrics(events.clone())
        .build();
    let app = app(Arc::clone(&limits));
    let held = limits.check(None, Some("agent")).expect("first permit");
    assert_eq!(limits.in_flight(), 1);
    let resp = app.clone().oneshot(req("t1", Some("user"))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "2");
    let body = body_json(resp).await;
    assert_eq!((body["err"].clone(), body["retry_after_ms"].clone()), (json!("BACKPRESSURE"), json!(1200)));
    drop(held);
    assert_eq!(limits.in_flight(), 0);
    assert_eq!(app.clone().oneshot(req("t1", Some("user"))).await.expect("infallible").status(), StatusCode::OK);
    assert_eq!(limits.in_flight(), 0, "the permit is released when the response is ready");
    assert_eq!(
        events.take(),
        vec!["admitted none other", "backpressure t1 other", "admitted t1 other"],
        "session types not configured are labelled other; backpressure names the tenant"
    );
}

#[tokio::test]
async fn session_type_buckets_per_tenant_and_metric_hooks() {
    static NOW: AtomicU64 = AtomicU64::new(0);
    fn clock() -> u64 {
        NOW.load(Ordering::SeqCst)
    }
    let events = LimitEvents::default();
    let limits = Limits::builder()
        .tenant_rate(Rate::per_second(100, 10))
        .session_rate("agent", Rate::per_second(2, 1))
        .metrics(events.clone())
        .clock(clock)
        .build();
    let app = app(Arc::clone(&limits));
    assert_eq!(app.clone().oneshot(req("t1", Some("agent"))).await.expect("infallible").status(), StatusCode::OK);
    let resp = app.clone().oneshot(req("t1", Some("agent"))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body_json(resp).await["retry_after_ms"], 500);
    // The tenant token of the rejected request was given back.
    assert_eq!(limits.tenant_tokens("t1"), Some(9));
    // Another tenant's agents have their own bucket; users are not limited by type.
    assert_eq!(app.clone().oneshot(req("t2", Some("agent"))).await.expect("infallible").status(), StatusCode::OK);
    assert_eq!(app.clone().oneshot(req("t1", Some("user"))).await.expect("infallible").status(), StatusCode::OK);
    // Malformed tenants share one limited bucket.
    assert_eq!(app.clone().oneshot(req("bad tenant!", None)).await.expect("infallible").status(), StatusCode::OK);
    assert_eq!(
        events.take(),
        vec![
            "admitted t1 agent",
            "rate_limited session_type t1 agent",
            "admitted t2 agent",
            "admitted t1 other",
            "admitted invalid none",
        ]
    );
    let snap = limits.snapshot();
    assert_eq!(snap["tenant"]["tracked"], 3);
    assert_eq!(snap["session_type"]["agent"]["burst"], 1);
    assert_eq!(snap["session_type"]["agent"]["empty"], 2);
    assert_eq!(snap["concurrency"], json!({"in_flight": 0, "max": null}));
    assert!(!snap.to_string().contains("t1"), "the snapshot names no tenant");
}

#[test]
fn missing_tokens_are_reported() {
    use obspec::http::TokenInfo;
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Tiny;
    impl TokenInfo for Tiny {
        const FALLBACK: Self = Tiny;
        const ALL: &'static [Self] = &[Tiny];
        fn for_role(_: obspec::http::TokenRole) -> Self {
            Tiny
        }
        fn as_str(self) -> &'static str {
            "INTERNAL"
        }
        fn http_status(self) -> u16 {
            500
        }
        fn jsonrpc_code(self) -> Option<i32> {
            None
        }
        fn retry_after_required(self) -> bool {
            false
        }
        fn retry_after_allowed(self) -> bool {
            false
        }
        fn from_wire(s: &str) -> Option<Self> {
            (s == "INTERNAL").then_some(Tiny)
        }
    }
    let err = LimitLayer::<Tiny>::new(Limits::builder().build()).err().map(|e| e.0);
    assert_eq!(err, Some(obspec::http::TokenRole::RateLimit));
}
