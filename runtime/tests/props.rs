//! Property tests of every parser that takes outside input: `traceparent`,
//! `x-correlation-id`, upstream ErrorToken / JSON-RPC bodies, the flags
//! file, request bodies under the body limit, and the rate limiter's
//! answers under random tenants. Each proves no panic, a bounded result and
//! the documented answer; case counts are in each block's config.
#![allow(missing_docs)]

mod http_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::HeaderMap;
use http_common::Tok;
use obspec::flags::{FlagSource, Flags};
use obspec::http::error::recognise_body;
use obspec::http::trace::parse_trace_id;
use obspec::http::{ApiError, CorrelationId, Limits, Rate, Rejection, RequestIds, TraceContext};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn hex_lower(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(b"0123456789abcdef".to_vec()), n)
        .prop_map(|v| String::from_utf8(v).expect("ascii"))
}

proptest! {
    #![proptest_config(config(1024))]

    /// Any bytes: no panic; accepted only in the W3C shape, and then the
    /// trace continues under the caller's IDs.
    #[test]
    fn traceparent_any_bytes(value in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Some((trace_id, parent_id, _flags)) = TraceContext::parse(&value) {
            prop_assert!(value.len() >= 55 && trace_id != 0 && parent_id != 0);
            prop_assert!(value[..55].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c) || *c == b'-'));
            prop_assert!(&value[..2] != b"ff");
        }
        let mut h = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(&value) {
            h.insert("traceparent", v);
        }
        let ctx = TraceContext::from_headers(&h);
        prop_assert!(ctx.trace_id != 0 && ctx.span_id != 0);
    }

    /// Well-formed values always parse to their fields; one upper-case
    /// digit makes them invalid.
    #[test]
    fn traceparent_valid_shape(trace in hex_lower(32), parent in hex_lower(16), flags in hex_lower(2), upper in 3usize..55) {
        let v = format!("00-{trace}-{parent}-{flags}");
        let parsed = TraceContext::parse(v.as_bytes());
        let zero = trace.bytes().all(|c| c == b'0') || parent.bytes().all(|c| c == b'0');
        prop_assert_eq!(parsed.is_some(), !zero);
        if let Some((t, p, f)) = parsed {
            prop_assert_eq!(t, u128::from_str_radix(&trace, 16).expect("hex"));
            prop_assert_eq!(p, u64::from_str_radix(&parent, 16).expect("hex"));
            prop_assert_eq!(f, u8::from_str_radix(&flags, 16).expect("hex"));
            prop_assert_eq!(parse_trace_id(&trace), Some(t));
        }
        let mut b = v.into_bytes();
        if b[upper].is_ascii_lowercase() {
            b[upper] = b[upper].to_ascii_uppercase();
            prop_assert_eq!(TraceContext::parse(&b), None);
        }
    }

    /// Any correlation header: echoed exactly when of the ID shape and at
    /// most the capacity, otherwise replaced by the trace-id; never longer.
    #[test]
    fn correlation_id_any_bytes(value in proptest::collection::vec(any::<u8>(), 0..200)) {
        let shape = !value.is_empty()
            && value.len() <= obspec::http::trace::CORRELATION_ID_CAPACITY
            && value.iter().all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(c));
        let parsed = CorrelationId::parse(&value);
        prop_assert_eq!(parsed.is_some(), shape);
        let mut h = HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(&value) {
            h.insert("x-correlation-id", v);
        }
        let ids = RequestIds::from_headers(&h);
        let id = ids.correlation_id.as_str();
        prop_assert!(id.len() <= obspec::http::trace::CORRELATION_ID_CAPACITY);
        if shape {
            prop_assert_eq!(id.as_bytes(), &value[..]);
        } else {
            let hex = ids.trace.trace_id_hex();
            prop_assert_eq!(id, hex.as_str());
        }
    }
}

/// JSON values, nested a little, with ErrorToken-like fields sometimes.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        // Quarters: exact in binary and in decimal, so they survive a round trip.
        any::<i32>().prop_map(|i| serde_json::Value::from(f64::from(i) / 4.0)),
        proptest::sample::select(Tok::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>())
            .prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![Just("err".to_owned()), Just("retry_after_ms".to_owned()), "[a-z]{1,6}"],
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(1024))]

    /// Any upstream body: recognised only as a well-formed ErrorToken body of
    /// the vocabulary whose `retry_after_ms` obeys the token; then the info
    /// names that token.
    #[test]
    fn error_bodies_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..256), status in 100u16..600) {
        if let Some(info) = recognise_body::<Tok>(status, &body) {
            prop_assert!(status >= 400);
            prop_assert!(Tok::from_wire(info.token).is_some());
        }
    }

    #[test]
    fn error_bodies_json(v in json_value(), status in 400u16..600) {
        let body = serde_json::to_vec(&v).expect("serialise");
        let got = recognise_body::<Tok>(status, &body);
        let token = v.get("err").and_then(|e| e.as_str()).and_then(Tok::from_wire);
        let retry = v.get("retry_after_ms");
        let expect = match (token, retry) {
            (None, _) => false,
            (Some(t), None) => !t.retry_after_required(),
            (Some(t), Some(ms)) => ms.as_u64().is_some() && t.retry_after_allowed(),
        };
        prop_assert_eq!(got.is_some(), expect, "{}", v);
        if let Some(info) = got {
            prop_assert_eq!(Some(info.token), token.map(|t| t.as_str()));
            prop_assert_eq!(info.retry_after_ms, retry.and_then(|m| m.as_u64()));
        }
    }

    /// A JSON-RPC error answer for any request id: the id is echoed as
    /// given, the code and message are the token's, and it is valid JSON.
    #[test]
    fn jsonrpc_error_for_any_id(id in json_value(), t in proptest::sample::select(Tok::ALL.to_vec())) {
        let e = if t.retry_after_required() { ApiError::with_retry_after(t, 5) } else { ApiError::new(t) };
        let out = e.to_jsonrpc(id.clone());
        prop_assert_eq!(&out["jsonrpc"], "2.0");
        prop_assert_eq!(&out["id"], &id);
        prop_assert_eq!(&out["error"]["message"], t.as_str());
        let text = serde_json::to_string(&out).expect("serialise");
        prop_assert_eq!(serde_json::from_str::<serde_json::Value>(&text).expect("parse"), out);
    }
}

/// A flags file line: a flag of the spec or a made-up name, a value that is
/// plausible for some kind or arbitrary, or a comment / blank / junk line.
fn flag_line() -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = obspec_generated::FLAGS.flags.iter().map(|f| f.name).collect();
    let name = prop_oneof![proptest::sample::select(names).prop_map(str::to_owned), "[a-z._]{1,24}"];
    let value = prop_oneof![
        proptest::sample::select(vec!["true", "off", "0.5", "50%", "250ms", "120", "info", "{\"a\":0.1}", "", "-1"])
            .prop_map(str::to_owned),
        "[ -~]{0,40}",
    ];
    prop_oneof![
        6 => (name, value).prop_map(|(n, v)| format!("{n} = {v}")),
        1 => Just("# a comment".to_owned()),
        1 => Just(String::new()),
        1 => "[^=\n\r]{1,30}",
    ]
}

static FILE_N: AtomicU64 = AtomicU64::new(0);

proptest! {
    #![proptest_config(config(256))]

    /// Any flags file: loaded or refused with one message per bad line (each
    /// naming its line), never a panic; made-up names are always refused.
    #[test]
    fn flags_file_any_lines(lines in proptest::collection::vec(flag_line(), 0..24)) {
        let path = std::env::temp_dir()
            .join(format!("obspec-props-{}-{}.conf", std::process::id(), FILE_N.fetch_add(1, Ordering::Relaxed)));
        std::fs::write(&path, lines.join("\n")).expect("write flags file");
        let got = Flags::load(&obspec_generated::FLAGS, FlagSource::none().with_file(&path));
        let _ = std::fs::remove_file(&path);
        let unknown = lines
            .iter()
            .filter(|l| {
                let l = l.trim();
                !l.is_empty() && !l.starts_with('#')
                    && l.split_once('=').is_some_and(|(k, _)| obspec_generated::FLAGS.index(k.trim()).is_none())
            })
            .count();
        match got {
            Ok(f) => {
                prop_assert_eq!(unknown, 0);
                prop_assert!(f.last_error().is_none());
            }
            Err(e) => {
                prop_assert!(!e.0.is_empty() && e.0.len() <= lines.len());
                prop_assert!(e.0.len() >= unknown);
                let shown = path.display().to_string();
                for m in &e.0 {
                    let at = m.strip_prefix(&format!("{shown}:")).and_then(|r| r.split(':').next());
                    let n: usize = at.and_then(|n| n.parse().ok()).unwrap_or(0);
                    prop_assert!((1..=lines.len()).contains(&n), "{}", m);
                }
            }
        }
    }
}

/// The exact GCRA of one bucket, written independently: `(tat, answer)`.
fn model(tat: u64, now: u64, burst: u64, interval: u64) -> (u64, Result<(), u64>) {
    let tau = interval * (burst - 1);
    let base = tat.max(now);
    if base - now > tau { (tat, Err(base - now - tau)) } else { (base + interval, Ok(())) }
}

static NOW: AtomicU64 = AtomicU64::new(0);
fn clock() -> u64 {
    NOW.load(Ordering::SeqCst)
}

proptest! {
    #![proptest_config(config(512))]

    /// Random tenants around one known tenant (active within `idle_after`),
    /// with the table much smaller than the number of tenants: the known tenant's every answer (and
    /// `retry_after_ms`) equals the model's, and the table never exceeds its bound.
    #[test]
    fn known_tenant_is_exact_under_random_tenants(
        steps in proptest::collection::vec((0u64..40_000_000, any::<bool>(), 0u32..64), 1..200),
        burst in 1u32..5,
        max_keys in 2usize..16,
    ) {
        NOW.store(0, Ordering::SeqCst);
        let interval = 10_000_000u64; // 100 a second
        let limits = Limits::builder()
            .tenant_rate(Rate::per_second(100, burst))
            .tenant_key(obspec::http::HeaderKey::new("x-tenant-id"))
            .max_keys(max_keys)
            // Known = a request at least every second: forced every 16th step
            // below (16 x 40 ms); the random tenants' buckets are forgotten.
            .idle_after(std::time::Duration::from_secs(1))
            .clock(clock)
            .build();
        let (mut now, mut tat) = (0u64, 0u64);
        let (t, r) = model(tat, now, u64::from(burst), interval);
        tat = t;
        prop_assert_eq!(limits.check(Some("known"), None).map(drop).map_err(|_| ()), r.map_err(|_| ()));
        for (i, (advance, known, other)) in steps.into_iter().enumerate() {
            let known = known || i % 16 == 15;
            now += advance;
            NOW.store(now, Ordering::SeqCst);
            if known {
                let (t, r) = model(tat, now, u64::from(burst), interval);
                tat = t;
                let got = limits.check(Some("known"), None).map(drop);
                let want = r.map_err(|ns| Rejection::RateLimit { bucket: "tenant", retry_after_ms: ns.div_ceil(1_000_000) });
                prop_assert_eq!(got, want);
            } else {
                drop(limits.check(Some(&format!("r{other}")), None));
            }
            prop_assert!(limits.tracked()[0] <= max_keys);
        }
    }
}

/// Counts the bytes a handler got.
#[derive(Clone, Default)]
struct Got(Arc<AtomicU64>);

proptest! {
    #![proptest_config(config(256))]

    /// Any chunking of any body against any limit: the handler sees the
    /// whole body exactly when it fits, otherwise PAYLOAD_TOO_LARGE; at most
    /// one chunk past the limit is ever taken from the client.
    #[test]
    fn body_limit_any_chunks(chunks in proptest::collection::vec(0usize..4096, 0..24), limit in 0u64..40_000, declare in any::<bool>()) {
        use tower::ServiceExt;
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        let total: u64 = chunks.iter().map(|c| *c as u64).sum();
        let got = Got::default();
        let seen = Arc::clone(&got.0);
        let app = axum::Router::new()
            .route("/", axum::routing::post(move |b: axum::body::Bytes| {
                let seen = Arc::clone(&seen);
                async move { seen.store(b.len() as u64, Ordering::SeqCst); "ok" }
            }))
            .layer(axum::extract::DefaultBodyLimit::disable())
            .layer(obspec::http::BodyLimitLayer::<Tok>::new(limit));
        let taken = Arc::new(AtomicU64::new(0));
        let body = Frames { chunks: chunks.clone().into(), taken: Arc::clone(&taken) };
        let mut req = http::Request::builder().method("POST").uri("/");
        if declare {
            req = req.header("content-length", total);
        }
        let resp = rt.block_on(app.oneshot(req.body(axum::body::Body::new(body)).expect("request"))).expect("infallible");
        if total <= limit {
            prop_assert_eq!(resp.status(), http::StatusCode::OK);
            prop_assert_eq!(got.0.load(Ordering::SeqCst), total);
        } else {
            prop_assert_eq!(resp.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
            prop_assert_eq!(got.0.load(Ordering::SeqCst), 0);
            let max_chunk = chunks.iter().copied().max().unwrap_or(0) as u64;
            prop_assert!(taken.load(Ordering::SeqCst) <= limit + max_chunk);
            if declare {
                prop_assert_eq!(taken.load(Ordering::SeqCst), 0, "a declared length over the limit reads nothing");
            }
        }
    }
}

/// A body of the given frames, counting the bytes taken.
struct Frames {
    chunks: std::collections::VecDeque<usize>,
    taken: Arc<AtomicU64>,
}

impl http_body::Body for Frames {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let Some(n) = self.chunks.pop_front() else { return std::task::Poll::Ready(None) };
        self.taken.fetch_add(n as u64, Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(axum::body::Bytes::from(vec![b'x'; n])))))
    }
}
