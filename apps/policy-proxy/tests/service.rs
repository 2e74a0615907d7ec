//! The Policy-Proxy over real sockets: the binary started on 127.0.0.1:0 in
//! front of two stub upstreams (blue and green) served by the test.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Path;
use axum::response::IntoResponse;
use axum::routing::get;
use http::HeaderMap;
use obspec_generated::{ErrorToken as T, metric_names};
use serde_json::{Value, json};
use support::{Service, client, eventually, families, promtool_check, sample, trails_of};

const BIN: &str = env!("CARGO_BIN_EXE_policy-proxy");
const APP: &str = "policy-proxy";

/// A stub upstream naming itself in every answer; counts its hits.
async fn upstream(name: &'static str) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = Arc::clone(&hits);
    let echo = move |headers: HeaderMap| {
        let h = Arc::clone(&h);
        async move {
            h.fetch_add(1, Ordering::SeqCst);
            let hv = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            axum::Json(json!({"backend": name, "tenant": hv("x-tenant-id"), "traceparent": hv("traceparent")}))
        }
    };
    let app = axum::Router::new()
        .route("/v1/rooms", get(echo.clone()).post(echo.clone()))
        .route(
            "/v1/rooms/{room_id}",
            get(|Path(id): Path<String>| async move {
                if id == "slow" {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                }
                axum::Json(json!({"room_id": id}))
            }),
        )
        .route(
            "/v1/links",
            get(|| async {
                let body =
                    json!({"err": T::RateLimit.as_str(), "retry_after_ms": 700, "correlation_id": "upstream-cid"});
                (http::StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], axum::Json(body)).into_response()
            }),
        )
        .route("/v1/tenants/{tenant_id}", get(echo));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(l, app).await });
    (format!("http://{addr}"), hits)
}

fn start(name: &str, blue: &str, green: &str, extra: &[&str]) -> Service {
    let data = support::data_dir(APP, name);
    let mut args = vec![
        "--upstream".to_owned(),
        blue.to_owned(),
        "--upstream-next".to_owned(),
        green.to_owned(),
        "--trail-dir".to_owned(),
        data.join("trails").display().to_string(),
        "--ops-token".to_owned(),
        "test-ops-token".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let mut s = Service::start(BIN, APP, name, &args, &[]);
    s.data = data;
    s
}

async fn req(s: &Service, method: http::Method, path: &str, headers: &[(&str, &str)]) -> (u16, Value, HeaderMap) {
    let mut r = client().request(method, s.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let resp = r.send().await.expect("send");
    let (st, h) = (resp.status().as_u16(), resp.headers().clone());
    (st, resp.json().await.unwrap_or(Value::Null), h)
}

const READER: [(&str, &str); 2] = [("x-tenant-id", "t1"), ("x-scopes", "read")];

fn assert_token(st: u16, b: &Value, t: T) {
    assert_eq!((st, b["err"].as_str()), (t.http_status(), Some(t.as_str())), "{b}");
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = std::process::Command::new(BIN).arg("--help").output().expect("--help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in
        ["--listen", "--upstream", "--upstream-next", "--tenant-rate", "--max-concurrency", "POLICY_PROXY_UPSTREAM"]
    {
        assert!(text.contains(flag), "{flag}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_requests_are_forwarded_with_the_trace_and_denied_ones_audited() {
    let (blue, hits) = upstream("blue").await;
    let s = start("policy", &blue, &blue, &[]);
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (st, b, _) = req(&s, http::Method::GET, "/v1/rooms", &[READER[0], READER[1], ("traceparent", tp)]).await;
    assert_eq!((st, b["backend"].as_str(), b["tenant"].as_str()), (200, Some("blue"), Some("t1")), "{b}");
    let fwd = b["traceparent"].as_str().expect("traceparent forwarded");
    assert!(
        fwd.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && !fwd.contains("00f067aa0ba902b7"),
        "a child span: {fwd}"
    );

    let (st, b, _) = req(&s, http::Method::GET, "/v1/rooms", &[]).await;
    assert_token(st, &b, T::Unauthenticated);
    let (st, b, _) = req(&s, http::Method::POST, "/v1/rooms", &READER).await;
    assert_token(st, &b, T::AccessDenied);
    let (st, b, _) = req(&s, http::Method::GET, "/v1/tenants/t2", &READER).await;
    assert_token(st, &b, T::AccessDenied);
    let (st, b, _) = req(&s, http::Method::GET, "/v1/tenants/t1", &READER).await;
    assert_eq!((st, b["backend"].as_str()), (200, Some("blue")));
    let (st, b, _) = req(&s, http::Method::GET, "/nowhere", &READER).await;
    assert_token(st, &b, T::NotFound);
    assert_eq!(hits.load(Ordering::SeqCst), 2, "denied requests never reach the upstream");

    // /v1/eval decides without forwarding.
    let (st, b, _) = req(&s, http::Method::GET, "/v1/eval", &READER).await;
    assert_eq!((st, b["decision"].as_str()), (200, Some("allow")), "{b}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    let trails = s.data.join("trails");
    assert!(eventually(Duration::from_secs(5), || trails_of(&trails, "policy.eval_min").len() == 6));
    let denied = trails_of(&trails, "access.denied_min");
    let mut reasons: Vec<(String, String)> = denied
        .iter()
        .map(|r| {
            (
                r["data"]["reason"].as_str().unwrap_or("").to_owned(),
                r["data"]["err_token"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [("no_session", T::Unauthenticated), ("policy", T::AccessDenied), ("scope", T::AccessDenied)]
            .map(|(a, b)| (a.to_owned(), b.as_str().to_owned()))
    );
    let no_tenant = denied.iter().find(|r| r["data"]["reason"] == "no_session").expect("no_session");
    assert_eq!(no_tenant["scope"]["tenant"], "ops", "requests without a tenant go to the ops stream");
    let evals = trails_of(&trails, "policy.eval_min");
    assert!(evals.iter().all(|r| r["data"]["bits"].is_u64() && r["data"].as_object().map(|o| o.len()) == Some(2)));

    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    let d = |x: &str| sample(&m, metric_names::POLICY_EVAL_TOTAL, &[&format!("decision=\"{x}\"")]);
    assert_eq!((d("allow"), d("deny")), (3.0, 3.0), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_buckets_and_the_concurrency_limit_answer_with_retry_after() {
    let (blue, _) = upstream("blue").await;
    let s = start(
        "limits",
        &blue,
        &blue,
        &["--tenant-rate", "2", "--tenant-burst", "2", "--max-concurrency", "1", "--backpressure-retry-ms", "300"],
    );
    let mut codes = Vec::new();
    let mut last = Value::Null;
    for _ in 0..3 {
        let (st, b, _) =
            req(&s, http::Method::GET, "/v1/rooms", &[("x-tenant-id", "burst"), ("x-scopes", "read")]).await;
        codes.push(st);
        last = b;
    }
    assert_eq!(codes, [200, 200, 429]);
    assert_eq!(last["err"], T::RateLimit.as_str());
    assert!(last["retry_after_ms"].as_u64().is_some_and(|ms| (1..=500).contains(&ms)), "{last}");

    let slow = {
        let url = s.url("/v1/rooms/slow");
        tokio::spawn(
            async move { client().get(url).header("x-tenant-id", "a").header("x-scopes", "read").send().await },
        )
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (st, b, h) = req(&s, http::Method::GET, "/v1/rooms/r1", &[("x-tenant-id", "b"), ("x-scopes", "read")]).await;
    assert_token(st, &b, T::Backpressure);
    assert_eq!(b["retry_after_ms"], 300);
    assert_eq!(h.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(slow.await.expect("join").expect("slow").status().as_u16(), 200);

    let health: Value = client().get(s.url("/_health")).send().await.expect("health").json().await.expect("json");
    assert!(health["limits"].to_string().contains("tracked"), "bucket snapshot: {health}");
    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    let d = |x: &str| sample(&m, metric_names::POLICY_EVAL_TOTAL, &[&format!("decision=\"{x}\"")]);
    assert_eq!((d("allow"), d("rate_limit"), d("backpressure")), (3.0, 1.0, 1.0), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_pass_through_and_a_dead_upstream_is_upstream_unavailable() {
    let (blue, _) = upstream("blue").await;
    let s = start("upstream", &blue, "http://127.0.0.1:9", &[]);
    let (st, b, h) = req(&s, http::Method::GET, "/v1/links", &READER).await;
    assert_eq!(
        (st, b["err"].as_str(), b["retry_after_ms"].as_u64()),
        (429, Some(T::RateLimit.as_str()), Some(700)),
        "{b}"
    );
    assert_eq!(b["correlation_id"], "upstream-cid", "the upstream's answer is kept");
    assert!(h.contains_key("retry-after"));
    let ok = client()
        .post(s.url("/_reload?stage=next"))
        .header("x-ops-token", "test-ops-token")
        .send()
        .await
        .expect("reload");
    assert_eq!(ok.status().as_u16(), 200);
    let (st, b, _) = req(&s, http::Method::GET, "/v1/rooms", &READER).await;
    assert_token(st, &b, T::UpstreamUnavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_switches_blue_to_green_audited_and_the_scrape_is_exact() {
    let (blue, _) = upstream("blue").await;
    let (green, _) = upstream("green").await;
    let s = start("reload", &blue, &green, &[]);
    assert_eq!(req(&s, http::Method::GET, "/v1/rooms", &READER).await.1["backend"], "blue");
    let denied = client().post(s.url("/_reload?stage=next")).send().await.expect("reload");
    assert_eq!(denied.status().as_u16(), T::Unauthenticated.http_status());
    assert_eq!(req(&s, http::Method::GET, "/v1/rooms", &READER).await.1["backend"], "blue");
    let ok = client()
        .post(s.url("/_reload?stage=next"))
        .header("x-ops-token", "test-ops-token")
        .send()
        .await
        .expect("reload");
    let body: Value = ok.json().await.expect("json");
    assert_eq!(body["stage"], "next", "{body}");
    assert_eq!(req(&s, http::Method::GET, "/v1/rooms", &READER).await.1["backend"], "green");
    let health: Value = client().get(s.url("/_health")).send().await.expect("health").json().await.expect("json");
    assert_eq!(health["stage"], "next", "{health}");
    let trails = s.data.join("trails");
    assert!(eventually(Duration::from_secs(5), || trails_of(&trails, "ops.reload").len() == 1));
    assert_eq!(trails_of(&trails, "ops.reload")[0]["data"], json!({"ok": true, "stage": "next"}));

    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    promtool_check(&m);
    assert_eq!(families(&m), support::metric_set(obspec_generated::Component::PolicyProxy.metrics()), "{m}");
}

#[test]
fn sigterm_exits_zero() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    let (blue, _) = rt.block_on(upstream("blue"));
    let mut s = start("sigterm", &blue, &blue, &[]);
    rt.block_on(async {
        assert_eq!(req(&s, http::Method::GET, "/v1/rooms", &READER).await.0, 200);
    });
    assert_eq!(s.sigterm(Duration::from_secs(20)).code(), Some(0));
}
