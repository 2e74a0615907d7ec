//! Ops endpoints (/_health, /metrics, /_metrics, /_trace, /_reload), the ops
//! token, flags and chaos light.
#![allow(missing_docs)]

mod http_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::StatusCode;
use http_common::{Tok, body_json, body_string, get as req};
use obspec::flags::{FlagRole, FlagSource, Flags};
use obspec::http::chaos::chaos_delay;
use obspec::http::{ChaosLayer, Limits, ObservabilityLayer, Ops, Rate, ReloadEvent, TraceIndex, ops};
use obspec_generated::{FLAGS, LOG_SCHEMA, flag_names as f};
use serde_json::json;
use tower::ServiceExt;
use tracing::level_filters::LevelFilter;

const TOKEN: &str = "s3cret-ops-token";

struct Setup {
    app: Router,
    reloads: Arc<Mutex<Vec<ReloadEvent>>>,
    ready: Arc<AtomicBool>,
    flags: Arc<Flags>,
}

fn setup() -> Setup {
    let index = Arc::new(TraceIndex::default());
    let limits = Limits::builder().tenant_rate(Rate::per_second(5, 10)).max_concurrency(64).build();
    let reloads = Arc::new(Mutex::new(Vec::new()));
    let r2 = Arc::clone(&reloads);
    let ready = Arc::new(AtomicBool::new(true));
    let flags = Arc::new(Flags::defaults(&FLAGS));
    let ops = Ops::builder("core")
        .schema(&LOG_SCHEMA)
        .trace_index(Arc::clone(&index))
        .limits(limits)
        .ready(Arc::clone(&ready))
        .flags(Arc::clone(&flags))
        .token(TOKEN)
        .render(|| "# TYPE core_http_requests_total counter\ncore_http_requests_total 3\n".to_owned())
        .on_reload(move |e| r2.lock().expect("lock").push(*e))
        .build();
    let app = Router::new()
        .route("/v1/rooms/{room_id}", get(|| async { "room" }))
        .layer(ObservabilityLayer::<Tok>::builder().no_log().trace_index(index).response_ids().build())
        .merge(ops::router::<Tok>(ops));
    Setup { app, reloads, ready, flags }
}

fn with_token(method: &str, uri: &str, token: Option<&str>) -> http::Request<Body> {
    let mut b = http::Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header("x-ops-token", t);
    }
    b.body(Body::empty()).expect("request")
}

#[tokio::test]
async fn health_reports_liveness_readiness_and_buckets() {
    let s = setup();
    let resp = s.app.clone().oneshot(req("/_health")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(resp).await;
    assert_eq!(
        (body["live"].clone(), body["ready"].clone(), body["stage"].clone()),
        (json!(true), json!(true), json!("current"))
    );
    assert_eq!(body["limits"]["tenant"]["burst"], 10);
    assert_eq!(body["limits"]["concurrency"]["max"], 64);
    assert_eq!(body["chaos_light"], false);
    s.ready.store(false, Ordering::Release);
    let resp = s.app.clone().oneshot(req("/_health")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(resp).await["ready"], false);
}

#[tokio::test]
async fn metrics_and_ops_alias_render_the_exposition() {
    let s = setup();
    for path in ["/metrics", "/_metrics"] {
        let resp = s.app.clone().oneshot(req(path)).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], obspec::metrics::CONTENT_TYPE);
        assert!(body_string(resp).await.contains("core_http_requests_total 3"));
    }
}

#[tokio::test]
async fn trace_lookup_needs_the_token_and_shows_only_allowed_fields() {
    let s = setup();
    let tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let r = http::Request::builder()
        .uri("/v1/rooms/secret-room?q=private")
        .header("traceparent", tp)
        .header("x-correlation-id", "corr-x")
        .header("authorization", "Bearer do-not-show")
        .body(Body::empty())
        .expect("request");
    s.app.clone().oneshot(r).await.expect("infallible");
    let uri = "/_trace/0af7651916cd43dd8448eb211c80319c";

    for (token, status, err) in [(None, 401, "UNAUTHENTICATED"), (Some("wrong-token-same-len"), 401, "UNAUTHENTICATED")]
    {
        let resp = s.app.clone().oneshot(with_token("GET", uri, token)).await.expect("infallible");
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(body_json(resp).await["err"], err);
    }
    let resp = s.app.clone().oneshot(with_token("GET", uri, Some(TOKEN))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    let text = body_string(resp).await;
    let body: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    let reqs = body["requests"].as_array().expect("array");
    assert_eq!(reqs.len(), 1);
    let mut keys: Vec<&str> = reqs[0].as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["bytes_in", "bytes_out", "code", "err_token", "latency_ms", "method", "ok", "route"]);
    assert_eq!(reqs[0]["route"], "/v1/rooms/:room_id");
    for leak in ["secret-room", "private", "corr-x", "Bearer", "do-not-show"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }

    let resp = s.app.clone().oneshot(with_token("GET", "/_trace/ffffffffffffffffffffffffffffffff", Some(TOKEN))).await;
    assert_eq!(body_json(resp.expect("infallible")).await["err"], "NOT_FOUND");
    let resp = s.app.clone().oneshot(with_token("GET", "/_trace/not-hex", Some(TOKEN))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn no_configured_token_denies_everyone() {
    let app = ops::router::<Tok>(Ops::builder("core").build());
    let resp = app.oneshot(with_token("POST", "/_reload?stage=next", Some(""))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(body_json(resp).await["err"], "ACCESS_DENIED");
}

#[tokio::test]
async fn ops_errors_carry_the_correlation_id() {
    let s = setup();
    let mut req = with_token("GET", "/_trace/0af7651916cd43dd8448eb211c80319c", Some("wrong"));
    req.headers_mut().insert("x-correlation-id", http::HeaderValue::from_static("ops-cid.7"));
    let resp = s.app.clone().oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["x-correlation-id"], "ops-cid.7");
    assert_eq!(body_json(resp).await, json!({"err": "UNAUTHENTICATED", "correlation_id": "ops-cid.7"}));
    // Without one, the answer names the ID it sends in the header.
    let resp = s.app.oneshot(with_token("POST", "/_reload?stage=nowhere", Some(TOKEN))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let cid = resp.headers()["x-correlation-id"].to_str().expect("ascii").to_owned();
    assert!(resp.headers().contains_key("traceparent"));
    assert_eq!(body_json(resp).await, json!({"err": "INVALID_INPUT", "correlation_id": cid}));
}

#[tokio::test]
async fn reload_switches_the_stage_and_is_audited() {
    let s = setup();
    let resp = s.app.clone().oneshot(with_token("POST", "/_reload?stage=next", None)).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(s.reloads.lock().expect("lock").is_empty(), "unauthenticated attempts change nothing");
    assert_eq!(s.flags.stage(), Some("current"));

    let resp = s.app.clone().oneshot(with_token("POST", "/_reload?stage=next", Some(TOKEN))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_json(resp).await, json!({"ok": true, "stage": "next", "previous": "current"}));
    assert_eq!(s.flags.stage(), Some("next"));
    assert_eq!(*s.reloads.lock().expect("lock"), vec![ReloadEvent { stage: "next", previous: "current", ok: true }]);
    let resp = s.app.clone().oneshot(with_token("POST", "/_reload?stage=blue", Some(TOKEN))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = s.app.clone().oneshot(with_token("GET", "/_reload?stage=next", Some(TOKEN))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let health = body_json(s.app.clone().oneshot(req("/_health")).await.expect("infallible")).await;
    assert_eq!(health["stage"], "next");
}

#[tokio::test]
async fn reload_rereads_flags_and_a_bad_file_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("obspec-http-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("flags.conf");
    std::fs::write(&path, "").expect("write");
    let flags = Arc::new(Flags::load(&FLAGS, FlagSource::none().with_file(&path)).expect("flags"));
    // One file holds the log plane's flags and the HTTP stack's alike.
    let text = format!(
        "{} = on\n{} = on\n{} = 2%\n{} = debug\n",
        f::SAMPLING_SPIKE,
        f::CHAOS_LIGHT,
        f::CHAOS_RATIO,
        f::LOG_LEVEL
    );
    std::fs::write(&path, text).expect("write");
    let events = Arc::new(Mutex::new(Vec::new()));
    let e2 = Arc::clone(&events);
    let app = ops::router::<Tok>(
        Ops::builder("core")
            .schema(&LOG_SCHEMA)
            .flags(Arc::clone(&flags))
            .token(TOKEN)
            .on_reload(move |e| e2.lock().expect("lock").push(*e))
            .build(),
    );
    assert!(!flags.chaos_light());
    let resp = app.clone().oneshot(with_token("POST", "/_reload?stage=next", Some(TOKEN))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(flags.chaos_light());
    assert!(flags.bool_role(FlagRole::SamplingSpike));
    assert_eq!(flags.chaos_ratio_ppm(), 20_000);
    assert_eq!(flags.log_level(), LevelFilter::DEBUG);

    std::fs::write(&path, format!("{} = 0.5\n", f::CHAOS_RATIO)).expect("write");
    let resp =
        app.clone().oneshot(with_token("POST", "/_reload?stage=current", Some(TOKEN))).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(resp).await["err"], Tok::Unavailable.as_str());
    assert_eq!(flags.stage(), Some("next"), "stage unchanged");
    assert_eq!(flags.chaos_ratio_ppm(), 20_000);
    let err = flags.last_error().expect("kept").to_string();
    assert_eq!(err, format!("{}:1: flag {}: value 0.5 is outside [0, 0.05]", path.display(), f::CHAOS_RATIO));
    assert_eq!(
        *events.lock().expect("lock"),
        vec![
            ReloadEvent { stage: "next", previous: "current", ok: true },
            ReloadEvent { stage: "current", previous: "next", ok: false },
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn flag_values_parse_and_validate() {
    let dir = std::env::temp_dir().join(format!("obspec-http-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("flags.conf");
    let text = format!(
        "# ops\n{} = on\n{} = 10\n{} = 20\n{} = next\n",
        f::CHAOS_LIGHT,
        f::CHAOS_DELAY_MIN_MS,
        f::CHAOS_DELAY_MAX_MS,
        f::DEPLOY_STAGE
    );
    std::fs::write(&path, text).expect("write");
    let flags = Flags::load(&FLAGS, FlagSource::none().with_file(&path)).expect("flags");
    assert!(flags.chaos_light());
    assert_eq!((flags.stage(), flags.chaos_delay_ms()), (Some("next"), (10, 20)));
    for bad in [
        format!("{} = 0.2", f::CHAOS_RATIO),
        format!("{} = 9000", f::CHAOS_DELAY_MAX_MS),
        format!("{} = blue", f::DEPLOY_STAGE),
        format!("{} = maybe", f::CHAOS_LIGHT),
        "chaos.lite = on".to_owned(),
    ] {
        std::fs::write(&path, &bad).expect("write");
        let err = Flags::load(&FLAGS, FlagSource::none().with_file(&path)).expect_err(&bad).to_string();
        assert!(err.starts_with(&format!("{}:1: ", path.display())), "{err}");
    }
    std::fs::write(&path, "chaos.lite = on\n").expect("write");
    let err = Flags::load(&FLAGS, FlagSource::none().with_file(&path)).expect_err("unknown").to_string();
    assert!(err.ends_with(&format!("unknown flag `chaos.lite`; did you mean `{}`?", f::CHAOS_LIGHT)), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn chaos_is_off_by_default() {
    let flags = Flags::defaults(&FLAGS);
    assert!(!flags.chaos_light());
    let ratio = FLAGS.by_role(FlagRole::ChaosRatio).map(|d| d.kind);
    assert!(
        matches!(ratio, Some(obspec::flags::FlagKind::Ratio { default, .. }) if (f64::from(flags.chaos_ratio_ppm()) / 1e6 - default).abs() < 1e-9)
    );
    assert!((0..100_000).all(|_| chaos_delay(&flags).is_none()));
}

#[test]
fn chaos_light_delays_about_the_ratio_within_the_range() {
    let flags = Flags::defaults(&FLAGS);
    flags.set_role(FlagRole::ChaosLight, "on").expect("on");
    flags.set_role(FlagRole::ChaosRatio, "0.01").expect("ratio");
    flags.set_role(FlagRole::ChaosDelayMin, "120").expect("min");
    flags.set_role(FlagRole::ChaosDelayMax, "300").expect("max");
    let n = 200_000;
    let delays: Vec<Duration> = (0..n).filter_map(|_| chaos_delay(&flags)).collect();
    // 1% of 200 000 = 2000 (σ ≈ 44).
    assert!((1700..2300).contains(&delays.len()), "{}", delays.len());
    assert!(delays.iter().all(|d| (120..=300).contains(&d.as_millis())));
    assert!(delays.iter().any(|d| d.as_millis() < 150) && delays.iter().any(|d| d.as_millis() > 270));
}

#[tokio::test(start_paused = true)]
async fn chaos_layer_passes_requests_through_when_off_and_delays_when_on() {
    let flags = Arc::new(Flags::defaults(&FLAGS));
    let app = Router::new().route("/v1/rooms", get(|| async { "ok" })).layer(ChaosLayer::new(Arc::clone(&flags)));
    chaos_off_then_on(app, &flags).await;
}

#[tokio::test(start_paused = true)]
async fn chaos_in_the_observability_layer_delays_the_same_way() {
    let flags = Arc::new(Flags::defaults(&FLAGS));
    let obs = ObservabilityLayer::<Tok>::builder().no_log().chaos(Arc::clone(&flags)).build();
    let app = Router::new().route("/v1/rooms", get(|| async { "ok" })).layer(obs);
    chaos_off_then_on(app, &flags).await;
}

async fn chaos_off_then_on(app: Router, flags: &Flags) {
    let t0 = tokio::time::Instant::now();
    for _ in 0..50 {
        assert_eq!(app.clone().oneshot(req("/v1/rooms")).await.expect("infallible").status(), StatusCode::OK);
    }
    assert_eq!(t0.elapsed(), Duration::ZERO, "no delay while chaos.light is off");
    flags.set_role(FlagRole::ChaosLight, "on").expect("on");
    flags.set_role(FlagRole::ChaosRatio, "0.05").expect("ratio");
    let t0 = tokio::time::Instant::now();
    for _ in 0..400 {
        assert_eq!(app.clone().oneshot(req("/v1/rooms")).await.expect("infallible").status(), StatusCode::OK);
    }
    assert!(t0.elapsed() >= Duration::from_millis(120), "some requests delayed: {:?}", t0.elapsed());
}
