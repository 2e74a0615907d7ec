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
use http_common::{LimitEvents, Tok, body_json, body_string};
use obspec::http::{HeaderKey, LimitLayer, Limits, ObservabilityLayer, Rate, Rejection};
use serde_json::json;
use tower::ServiceExt;

const MS: u64 = 1_000_000;

/// The limits in the observability layer (one service), or, for every other
/// call, as their own `LimitLayer` inside it: both answer alike.
fn app(limits: Arc<Limits>) -> Router {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let routes = Router::new().route("/v1/rooms", get(|| async { "ok" }));
    let obs = ObservabilityLayer::<Tok>::builder().no_log();
    if CALLS.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
        routes.layer(obs.limits(limits).expect("vocabulary has RATE_LIMIT and BACKPRESSURE").build())
    } else {
        routes
            .layer(LimitLayer::<Tok>::new(limits).expect("vocabulary has RATE_LIMIT and BACKPRESSURE"))
            .layer(obs.build())
    }
}

/// The tests' services trust the header (an explicit opt-in).
fn tenant_header() -> HeaderKey {
    HeaderKey::new("x-tenant-id")
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
    let limits =
        Limits::builder().tenant_rate(Rate::per_second(10, 2)).tenant_key(tenant_header()).clock(clock).build();
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
        .tenant_key(tenant_header())
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
        .tenant_key(tenant_header())
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

/// The identity an authentication layer put on the request.
#[derive(Debug, Clone)]
struct Authed(String);

fn authed(r: &http::Request<Body>) -> Option<&str> {
    r.extensions().get::<Authed>().map(|a| a.0.as_str())
}

#[tokio::test]
async fn the_tenant_comes_from_the_services_extractor_not_the_header() {
    let with_auth = |tenant: &str, who: &str| {
        let mut r = req(tenant, None);
        r.extensions_mut().insert(Authed(who.to_owned()));
        r
    };
    let limits = Limits::builder().tenant_rate(Rate::per_second(1, 1)).tenant_key(authed).build();
    let svc = app(Arc::clone(&limits));
    assert_eq!(svc.clone().oneshot(with_auth("t1", "a1")).await.expect("infallible").status(), StatusCode::OK);
    // A new header value does not give the same identity a new bucket.
    let resp = svc.clone().oneshot(with_auth("t2", "a1")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(svc.clone().oneshot(with_auth("t1", "a2")).await.expect("infallible").status(), StatusCode::OK);
    assert_eq!(limits.tracked(), vec![2], "one bucket per identity, none per header value");

    // Without an extractor the header is not trusted: no request is a tenant.
    let limits = Limits::builder().tenant_rate(Rate::per_second(1, 1)).build();
    let svc = app(Arc::clone(&limits));
    for _ in 0..3 {
        assert_eq!(svc.clone().oneshot(req("t1", None)).await.expect("infallible").status(), StatusCode::OK);
    }
    assert_eq!(limits.tracked(), vec![0]);
    // A tenant that calls itself "none" or "invalid" is still limited on its own.
    let limits = Limits::builder().tenant_rate(Rate::per_second(1, 1)).tenant_key(tenant_header()).build();
    let svc = app(Arc::clone(&limits));
    for name in ["none", "invalid", "other"] {
        assert_eq!(svc.clone().oneshot(req(name, None)).await.expect("infallible").status(), StatusCode::OK);
        let again = svc.clone().oneshot(req(name, None)).await.expect("infallible");
        assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
    }
    assert_eq!(svc.clone().oneshot(req("bad tenant!", None)).await.expect("infallible").status(), StatusCode::OK);
}

/// Counts hook calls without keeping them (a flood makes a million).
#[derive(Debug, Clone, Default)]
struct Counts(Arc<[AtomicU64; 4]>);

impl Counts {
    const GOOD_LIMITED: usize = 0;
    const OTHER_ADMITTED: usize = 1;
    const OTHER_LIMITED: usize = 2;
    const OWN_LIMITED: usize = 3;

    fn get(&self, i: usize) -> u64 {
        self.0[i].load(Ordering::Relaxed)
    }
}

impl obspec::http::LimitMetrics for Counts {
    fn rate_limited(&self, _: &str, tenant: &str, _: &str) {
        let i = match tenant {
            "good" => Self::GOOD_LIMITED,
            t if t == obspec::http::limits::OTHER => Self::OTHER_LIMITED,
            _ => Self::OWN_LIMITED,
        };
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }
    fn backpressure(&self, _: &str, _: &str) {}
    fn admitted(&self, tenant: &str, _: &str) {
        if tenant == obspec::http::limits::OTHER {
            self.0[Self::OTHER_ADMITTED].fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn a_flood_of_random_tenants_never_throttles_a_known_tenant() {
    static NOW: AtomicU64 = AtomicU64::new(0);
    fn clock() -> u64 {
        NOW.load(Ordering::SeqCst)
    }
    const FLOOD: u64 = 1_000_000;
    const STEP: u64 = 10_000; // 10 µs between flood requests: 100 000 a second, 10 s.
    const MAX_KEYS: usize = 10_000;
    let counts = Counts::default();
    // The good tenant's rate: 100 a second (one every 10 ms), burst 10.
    let limits = Limits::builder()
        .tenant_rate(Rate::per_second(100, 10))
        .tenant_key(tenant_header())
        .max_keys(MAX_KEYS)
        .idle_after(Duration::from_secs(1))
        .metrics(counts.clone())
        .clock(clock)
        .build();
    // The overflow is counted under the spec's `limit_overflow` self-metric.
    obspec::metrics::set_self_metrics(&obspec_generated::SELF_METRICS);
    let rec = obspec::metrics::ObspecRecorder::new(&obspec_generated::metrics::METRICS);
    let _recorder = metrics::set_default_local_recorder(&rec);
    let started = std::time::Instant::now();
    assert!(limits.check(Some("good"), None).is_ok(), "the good tenant is known before the flood");
    let (mut x, mut id, mut max_tracked, mut good_sent) = (0x9E37_79B9_7F4A_7C15_u64, String::new(), 0, 1_u64);
    for i in 1..=FLOOD {
        NOW.store(i * STEP, Ordering::SeqCst);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        id.clear();
        std::fmt::Write::write_fmt(&mut id, format_args!("r{x:016x}")).expect("write to a string");
        drop(limits.check(Some(&id), None));
        // The good tenant sends at exactly its rate, the whole time.
        if i % 1000 == 0 {
            good_sent += 1;
            assert!(limits.check(Some("good"), None).is_ok(), "the good tenant was throttled at request {i}");
        }
        // Half-way, it spends its whole burst at once, and is limited exactly.
        if i == FLOOD / 2 {
            for _ in 0..9 {
                good_sent += 1;
                assert!(limits.check(Some("good"), None).is_ok(), "the good tenant's burst was cut");
            }
            assert_eq!(
                limits.check(Some("good"), None).err(),
                Some(Rejection::RateLimit { bucket: "tenant", retry_after_ms: 10 }),
                "its own bucket, exact: the next token in 10 ms"
            );
        }
        if i % 1000 == 0 {
            max_tracked = max_tracked.max(limits.tracked()[0]);
        }
    }
    let elapsed = started.elapsed();
    let overflowed = limits.overflowed();
    let own_admitted = FLOOD - overflowed - counts.get(Counts::OWN_LIMITED);
    eprintln!(
        "flood: {FLOOD} random-tenant requests + {good_sent} of the good tenant in {elapsed:?}; \
         max buckets {max_tracked}; overflowed {overflowed} (admitted {}, limited {}); \
         flood requests with their own bucket {own_admitted}",
        counts.get(Counts::OTHER_ADMITTED),
        counts.get(Counts::OTHER_LIMITED),
    );
    assert_eq!(counts.get(Counts::GOOD_LIMITED), 1, "only the 11th request of its burst");
    assert!(max_tracked <= MAX_KEYS, "bounded: {max_tracked} buckets");
    assert!(overflowed > FLOOD / 2, "most of the flood found the table full");
    assert_eq!(overflowed, counts.get(Counts::OTHER_ADMITTED) + counts.get(Counts::OTHER_LIMITED));
    let scrape = rec.exporter().render();
    let counted = scrape
        .lines()
        .find_map(|l| l.strip_prefix(obspec_generated::SELF_METRICS.limit_overflow.name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no limit_overflow sample in\n{scrape}"));
    assert_eq!(counted.parse::<u64>().unwrap(), overflowed, "the self-metric counts every overflow");
    // The overflow bucket has the tenant rate: ~100 a second over 10 s, plus its burst.
    assert!(counts.get(Counts::OTHER_ADMITTED) <= 1000 + 10, "{}", counts.get(Counts::OTHER_ADMITTED));
    // Idle buckets were forgotten during the flood: far more than MAX_KEYS
    // random tenants got a bucket of their own.
    assert!(own_admitted > 5 * MAX_KEYS as u64, "{own_admitted} flood requests had their own bucket");
    // After the flood every idle bucket is forgotten at the next new tenant.
    NOW.store(FLOOD * STEP + 2_000_000_000, Ordering::SeqCst);
    assert!(limits.check(Some("late"), None).is_ok());
    assert_eq!(limits.tracked(), vec![1], "only the newcomer is left");
    assert_eq!(limits.snapshot()["overflowed"], overflowed);
}

// Request bodies: size and time bounds (obspec::http::BodyLimitLayer).

const LIMIT: u64 = 64 * 1024;

fn body_app(read_timeout: Option<Duration>) -> Router {
    let mut limit = obspec::http::BodyLimitLayer::<Tok>::new(LIMIT);
    if let Some(d) = read_timeout {
        limit = limit.read_timeout(d);
    }
    Router::new()
        // The handler reads the body whole (axum's own limit lifted: ours applies).
        .route("/v1/rooms", axum::routing::post(|b: axum::body::Bytes| async move { b.len().to_string() }))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(limit)
        .layer(ObservabilityLayer::<Tok>::builder().no_log().build())
}

/// A request body of `chunks` chunks of 16 KiB (no length: chunked; or
/// `size` bytes, one every `every`), then,
/// if `stall`, pending forever; counts the chunks taken.
struct Chunks {
    left: usize,
    taken: Arc<AtomicU64>,
    every: Option<std::pin::Pin<Box<tokio::time::Interval>>>,
    stall: bool,
    size: usize,
}

impl Chunks {
    fn new(chunks: usize, taken: &Arc<AtomicU64>) -> Self {
        Self { left: chunks, taken: Arc::clone(taken), every: None, stall: false, size: 16 * 1024 }
    }
}

impl http_body::Body for Chunks {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        if let Some(i) = self.every.as_mut()
            && i.as_mut().poll_tick(cx).is_pending()
        {
            return Poll::Pending;
        }
        if self.left == 0 {
            return if self.stall { Poll::Pending } else { Poll::Ready(None) };
        }
        self.left -= 1;
        self.taken.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(http_body::Frame::data(axum::body::Bytes::from(vec![b'x'; self.size])))))
    }
}

fn post(body: Body, content_length: Option<u64>) -> http::Request<Body> {
    let mut b = http::Request::builder().method("POST").uri("/v1/rooms");
    if let Some(n) = content_length {
        b = b.header("content-length", n);
    }
    b.body(body).expect("request")
}

#[tokio::test]
async fn bodies_over_the_limit_get_payload_too_large_before_they_are_read() {
    let app = body_app(None);
    // A declared length over the limit: answered without taking a byte.
    let taken = Arc::new(AtomicU64::new(0));
    let resp = app
        .clone()
        .oneshot(post(Body::new(Chunks::new(1 << 20, &taken)), Some(10_000_000_000)))
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body_json(resp).await["err"], Tok::PayloadTooLarge.as_str());
    assert_eq!(taken.load(Ordering::SeqCst), 0, "the body was not read");
    // A chunked body of 8 MiB: cut at the first chunk past 64 KiB.
    let taken = Arc::new(AtomicU64::new(0));
    let resp = app.clone().oneshot(post(Body::new(Chunks::new(512, &taken)), None)).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body_json(resp).await["err"], Tok::PayloadTooLarge.as_str());
    assert_eq!(taken.load(Ordering::SeqCst), LIMIT / (16 * 1024) + 1, "read up to the limit and one chunk");
    // A body that lies about its length (declares 1 KiB, sends 8 MiB) is cut too.
    let taken = Arc::new(AtomicU64::new(0));
    let resp = app.clone().oneshot(post(Body::new(Chunks::new(512, &taken)), Some(1024))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(taken.load(Ordering::SeqCst) <= LIMIT / (16 * 1024) + 1);
    // At the limit exactly: read whole, answered by the handler.
    let taken = Arc::new(AtomicU64::new(0));
    let resp = app.oneshot(post(Body::new(Chunks::new(4, &taken)), Some(LIMIT))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_string(resp).await, LIMIT.to_string());
}

#[tokio::test]
async fn slow_bodies_are_cut_by_the_read_timeout() {
    let app = body_app(Some(Duration::from_millis(300)));
    for trickle in [false, true] {
        let taken = Arc::new(AtomicU64::new(0));
        let mut body = Chunks::new(if trickle { usize::MAX } else { 1 }, &taken);
        body.stall = true;
        if trickle {
            // One byte every 10 ms, forever: never near the size limit.
            body.every = Some(Box::pin(tokio::time::interval(Duration::from_millis(10))));
            body.size = 1;
        }
        let started = std::time::Instant::now();
        let resp =
            tokio::time::timeout(Duration::from_secs(5), app.clone().oneshot(post(Body::new(body), Some(LIMIT))))
                .await
                .expect("answered within the bound")
                .expect("infallible");
        let took = started.elapsed();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "trickle {trickle}");
        assert_eq!(resp.headers()["connection"], "close");
        assert_eq!(body_json(resp).await["err"], Tok::InvalidInput.as_str());
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
    }
}

/// Over a real socket (127.0.0.1): a client slow to send its headers is
/// disconnected by `serve`'s header read timeout, one slow to send its body
/// by the body read timeout, and a declared length over the limit is
/// answered before the body is sent.
#[cfg(feature = "service")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_large_clients_over_a_real_socket() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = obspec::service::Shutdown::new();
    let opts = obspec::service::ServeOptions::new(shutdown.clone())
        .signals(false)
        .header_read_timeout(Duration::from_millis(300))
        .drain_timeout(Duration::from_secs(1));
    let server = tokio::spawn(obspec::service::serve(listener, body_app(Some(Duration::from_millis(300))), opts));

    /// Sends `head`, then reads until the server closes; the answer and how long it took.
    async fn exchange(addr: std::net::SocketAddr, head: &[u8]) -> (String, Duration) {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(head).await.expect("write");
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the server closed the connection within the bound");
        (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
    }
    // Nothing at all, then half a request head: disconnected without an answer.
    for head in [&b""[..], b"POST /v1/rooms HTTP/1.1\r\nhost: x\r\n"] {
        let (answer, took) = exchange(addr, head).await;
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer:?}");
        assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(3), "{took:?}");
    }
    // 10 GB declared: PAYLOAD_TOO_LARGE at once, though no body byte was sent.
    let (answer, took) =
        exchange(addr, b"POST /v1/rooms HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000000\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(answer.contains(Tok::PayloadTooLarge.as_str()), "{answer:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // A body that stops half-way: INVALID_INPUT after the body timeout, and the connection closes.
    let (answer, took) =
        exchange(addr, b"POST /v1/rooms HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789").await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    assert!(answer.contains(Tok::InvalidInput.as_str()), "{answer:?}");
    assert!(took >= Duration::from_millis(250) && took < Duration::from_secs(3), "{took:?}");
    // A prompt client is served as usual.
    let (answer, _) =
        exchange(addr, b"POST /v1/rooms HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 3\r\n\r\nabc")
            .await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("\r\n\r\n3"), "{answer:?}");
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(3), server).await.expect("drained").expect("task").expect("served");
}
