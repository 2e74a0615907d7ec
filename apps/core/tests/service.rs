//! The Core API over real sockets: the binary started on 127.0.0.1:0.

mod support;

use std::time::Duration;

use obspec_generated::metric_names;
use serde_json::{Value, json};
use support::{Service, client, eventually, families, promtool_check, sample, trails_of};

const BIN: &str = env!("CARGO_BIN_EXE_core");
const APP: &str = "core";
const TENANT: &str = "x-tenant-id";

fn start(name: &str, extra: &[&str]) -> Service {
    start_env(name, extra, &[])
}

fn start_env(name: &str, extra: &[&str], envs: &[(&str, &str)]) -> Service {
    let data = support::data_dir(APP, name);
    let mut args = vec![
        "--db".to_owned(),
        data.join("core.db").display().to_string(),
        "--trail-dir".to_owned(),
        data.join("trails").display().to_string(),
        "--ops-token".to_owned(),
        "test-ops-token".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    // The data dir is made again by start(): keep the paths the same.
    let mut s = Service::start(BIN, APP, name, &args, envs);
    s.data = data;
    s
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, v)
}

async fn post(s: &Service, path: &str, tenant: &str, body: Value) -> (u16, Value) {
    json_of(client().post(s.url(path)).header(TENANT, tenant).json(&body).send().await.expect("post")).await
}

async fn get(s: &Service, path: &str, tenant: &str) -> (u16, Value) {
    json_of(client().get(s.url(path)).header(TENANT, tenant).send().await.expect("get")).await
}

fn assert_token(status: u16, body: &Value, token: obspec_generated::ErrorToken) {
    assert_eq!(status, token.http_status(), "{body}");
    assert_eq!(body["err"], token.as_str(), "{body}");
    assert!(body["correlation_id"].is_string(), "{body}");
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = std::process::Command::new(BIN).arg("--help").output().expect("core --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in
        ["--listen", "--db", "--log-dir", "--trail-dir", "--ops-token", "--tenant-rate", "--webhook", "--api-key"]
    {
        assert!(text.contains(flag), "{flag} missing from --help:\n{text}");
    }
    assert!(text.contains("CORE_LISTEN"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_and_links_answer_json_or_error_tokens() {
    use obspec_generated::ErrorToken as T;
    let s = start("rooms", &[]);
    let (st, room) = post(&s, "/v1/rooms", "t1", json!({"title": "Planning"})).await;
    assert_eq!(st, 201, "{room}");
    let room_id = room["room_id"].as_str().expect("room_id").to_owned();

    let (st, list) = get(&s, "/v1/rooms", "t1").await;
    assert_eq!(st, 200);
    assert_eq!(list["rooms"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["degraded"], Value::Null);
    let (st, other) = get(&s, "/v1/rooms", "t2").await;
    assert_eq!((st, other["rooms"].as_array().map(Vec::len)), (200, Some(0)), "tenants are isolated");

    let (st, got) = get(&s, &format!("/v1/rooms/{room_id}"), "t1").await;
    assert_eq!((st, got["title"].as_str()), (200, Some("Planning")));
    let (st, b) = get(&s, &format!("/v1/rooms/{room_id}"), "t2").await;
    assert_token(st, &b, T::NotFound);
    let (st, b) = get(&s, "/v1/rooms/no_such_room", "t1").await;
    assert_token(st, &b, T::NotFound);
    let (st, b) = get(&s, "/nowhere", "t1").await;
    assert_token(st, &b, T::NotFound);
    let (st, b) = get(&s, "/v1/rooms/bad%20id", "t1").await;
    assert_token(st, &b, T::InvalidInput);

    let r = client().get(s.url("/v1/rooms")).send().await.expect("get");
    let (st, b) = json_of(r).await;
    assert_token(st, &b, T::Unauthenticated);
    let (st, b) = post(&s, "/v1/rooms", "t1", json!({"name": "x"})).await;
    assert_token(st, &b, T::InvalidInput);
    let r = client().post(s.url("/v1/rooms")).header(TENANT, "t1").body("not json").send().await.expect("post");
    let (st, b) = json_of(r).await;
    assert_token(st, &b, T::InvalidInput);

    let (st, link) =
        post(&s, "/v1/links", "t1", json!({"room_id": room_id, "target_id": "doc_42", "kind": "reference"})).await;
    assert_eq!(st, 201, "{link}");
    let link_id = link["link_id"].as_str().expect("link_id").to_owned();
    let (st, b) = post(&s, "/v1/links", "t1", json!({"room_id": "r_none", "target_id": "d", "kind": "media"})).await;
    assert_token(st, &b, T::NotFound);
    let (st, b) = post(&s, "/v1/links", "t1", json!({"room_id": room_id, "target_id": "d", "kind": "nope"})).await;
    assert_token(st, &b, T::InvalidInput);
    let (st, links) = get(&s, &format!("/v1/links?room_id={room_id}"), "t1").await;
    assert_eq!(st, 200);
    assert_eq!(links["links"][0]["link_id"], link_id.as_str(), "{links}");
    let (st, b) = get(&s, "/v1/links", "t1").await;
    assert_token(st, &b, T::InvalidInput);

    let trails = trails_of(&s.data.join("trails"), "core.append_link");
    assert_eq!(trails.len(), 1, "{trails:?}");
    assert_eq!(trails[0]["scope"]["tenant"], "t1");
    assert_eq!(trails[0]["data"], json!({"link_id": link_id, "link_kind": "reference", "target_id": "doc_42"}));

    let (st, summary) = get(&s, "/v1/tenants/t1", "t1").await;
    assert_eq!((st, summary["rooms"].as_i64(), summary["links"].as_i64()), (200, Some(1), Some(1)));
    let (st, b) = get(&s, "/v1/tenants/t1", "t2").await;
    assert_token(st, &b, T::AccessDenied);
    let denied = trails_of(&s.data.join("trails"), "access.denied_min");
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["data"], json!({"err_token": T::AccessDenied.as_str(), "reason": "scope"}));
    assert_eq!(denied[0]["scope"]["tenant"], "t2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_checks_the_api_key_and_writes_auth_trails() {
    use obspec_generated::ErrorToken as T;
    let s = start("login", &["--api-key", "t1=k-123"]);
    let (st, ok) = post(&s, "/v1/auth/login", "t1", json!({"api_key": "k-123"})).await;
    assert_eq!(st, 200, "{ok}");
    assert!(ok["session_token"].as_str().is_some_and(|t| t.len() >= 32));
    let (st, b) = post(&s, "/v1/auth/login", "t1", json!({"api_key": "k-124"})).await;
    assert_token(st, &b, T::Unauthenticated);
    let (st, b) = post(&s, "/v1/auth/login", "t2", json!({"api_key": "k-123"})).await;
    assert_token(st, &b, T::Unauthenticated);
    let logins = trails_of(&s.data.join("trails"), "auth.login_min");
    let oks: Vec<&Value> = logins.iter().map(|r| &r["data"]["ok"]).collect();
    assert_eq!(oks, [&json!(true), &json!(false), &json!(false)]);
    assert!(logins.iter().all(|r| r["data"]["auth_method"] == "api_key"));
    // The key never reaches a trail or a log.
    let all = support::trail_records(&s.data.join("trails"));
    assert!(!serde_json::to_string(&all).expect("json").contains("k-12"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presign_signs_a_real_s3_url() {
    use obspec_generated::ErrorToken as T;
    let envs = [("AWS_ACCESS_KEY_ID", "AKIDTEST"), ("AWS_SECRET_ACCESS_KEY", "secret-test")];
    let s = start_env("presign", &["--s3-bucket", "media-test", "--s3-endpoint", "http://127.0.0.1:9"], &envs);
    let (st, b) = post(&s, "/v1/media/presign", "t1", json!({"op": "put", "bytes": 70_000})).await;
    assert_eq!(st, 200, "{b}");
    let url = b["url"].as_str().expect("url");
    let object_id = b["object_id"].as_str().expect("object id");
    assert!(url.starts_with(&format!("http://127.0.0.1:9/media-test/t1/{object_id}?")), "{url}");
    for part in
        ["X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=AKIDTEST", "X-Amz-Signature=", "X-Amz-Expires=300"]
    {
        assert!(url.contains(part), "{part} missing from {url}");
    }
    let (st, b) = post(&s, "/v1/media/presign", "t1", json!({"op": "get", "bytes": 10, "object_id": object_id})).await;
    assert_eq!(st, 200, "{b}");
    let (st, b) = post(&s, "/v1/media/presign", "t1", json!({"op": "get", "bytes": 10})).await;
    assert_token(st, &b, T::InvalidInput);
    let trails = trails_of(&s.data.join("trails"), "media.presign_min");
    let data: Vec<&Value> = trails.iter().map(|r| &r["data"]).collect();
    assert_eq!(data, [&json!({"bytes_class": "lt_1m", "op": "put"}), &json!({"bytes_class": "lt_64k", "op": "get"})]);
    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    assert_eq!(sample(&m, metric_names::MEDIA_PRESIGN_TOTAL, &["ok=\"true\""]), 2.0, "{m}");
    assert_eq!(sample(&m, metric_names::MEDIA_PRESIGN_TOTAL, &["ok=\"false\""]), 1.0, "{m}");

    // Without credentials: UNAVAILABLE, counted as a failure.
    let bare = start_env("presign-bare", &[], &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")]);
    let (st, b) = post(&bare, "/v1/media/presign", "t1", json!({"op": "put", "bytes": 1})).await;
    assert_token(st, &b, T::Unavailable);
}

/// A webhook destination that fails the first `fail` deliveries.
async fn hook_receiver(fail: usize) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let g = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let (g, seen) = (Arc::clone(&g), Arc::clone(&seen));
            async move {
                if seen.fetch_add(1, Ordering::SeqCst) < fail {
                    return http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                g.lock().expect("lock").push(v);
                http::StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(l, app).await });
    (format!("http://{addr}/hook"), got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_retried_counted_and_audited() {
    let (url, got) = hook_receiver(1).await;
    let hook = format!("hook_a={url}");
    let dead = "hook_dead=http://127.0.0.1:9/hook".to_owned();
    let s = start(
        "webhooks",
        &["--webhook", &hook, "--webhook", &dead, "--webhook-attempts", "3", "--webhook-backoff-ms", "20"],
    );
    let (_, room) = post(&s, "/v1/rooms", "t1", json!({"title": "r"})).await;
    let room_id = room["room_id"].as_str().expect("room").to_owned();
    let (st, link) =
        post(&s, "/v1/links", "t1", json!({"room_id": room_id, "target_id": "x1", "kind": "mention"})).await;
    assert_eq!(st, 201);
    let trails = s.data.join("trails");
    assert!(eventually(Duration::from_secs(20), || trails_of(&trails, "webhook.delivery_min").len() == 5));
    let got = got.lock().expect("lock").clone();
    assert_eq!(got, [json!({"link_id": link["link_id"], "room_id": room_id, "target_id": "x1"})]);
    let mut seen: Vec<(String, String, i64)> = trails_of(&trails, "webhook.delivery_min")
        .iter()
        .map(|r| {
            let d = &r["data"];
            (
                d["dest"].as_str().unwrap_or("").to_owned(),
                d["state"].as_str().unwrap_or("").to_owned(),
                d["attempt"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    seen.sort();
    let want: Vec<(String, String, i64)> = [
        ("hook_a", "delivered", 2),
        ("hook_a", "retrying", 1),
        ("hook_dead", "failed", 3),
        ("hook_dead", "retrying", 1),
        ("hook_dead", "retrying", 2),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), *c))
    .collect();
    assert_eq!(seen, want);
    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    let n = |dest: &str, ok: &str| {
        sample(&m, metric_names::WEBHOOK_DELIVERY_TOTAL, &[&format!("dest=\"{dest}\""), &format!("ok=\"{ok}\"")])
    };
    assert_eq!((n("hook_a", "true"), n("hook_a", "false")), (1.0, 1.0), "{m}");
    assert_eq!((n("hook_dead", "true"), n("hook_dead", "false")), (0.0, 3.0), "{m}");
    assert_eq!(
        sample(&m, &format!("{}_count", metric_names::WEBHOOK_DELIVERY_DURATION_SECONDS), &["dest=\"hook_a\""]),
        2.0,
        "{m}"
    );
}

/// One request a webhook receiver saw: its idempotency key, body, answer and arrival.
type Seen = (String, Value, u16, std::time::Instant);

/// A webhook destination that answers 500 to the requests whose index (from 0)
/// is in `fail`, 204 to the others, and records every request.
async fn hook_log(fail: &'static [usize]) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>) {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let s = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: http::HeaderMap, axum::Json(v): axum::Json<Value>| {
            let s = Arc::clone(&s);
            async move {
                let key = headers
                    .get(obspec_core_api::webhook::IDEMPOTENCY_HEADER)
                    .and_then(|k| k.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let mut s = s.lock().expect("lock");
                let status = if fail.contains(&s.len()) {
                    http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    http::StatusCode::NO_CONTENT
                };
                s.push((key, v, status.as_u16(), std::time::Instant::now()));
                status
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(l, app).await });
    (format!("http://{addr}/hook"), seen)
}

fn delivery_trails(trails: &std::path::Path) -> Vec<(String, i64)> {
    trails_of(trails, "webhook.delivery_min")
        .iter()
        .map(|r| (r["data"]["state"].as_str().unwrap_or("").to_owned(), r["data"]["attempt"].as_i64().unwrap_or(0)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_interrupted_by_kill_9_or_sigterm_resumes_at_restart_and_delivers_once() {
    // Requests 0 and 2 fail: each link's first attempt fails, its second succeeds.
    let (url, seen) = hook_log(&[0, 2]).await;
    let hook = format!("hook_r={url}");
    let backoff = Duration::from_millis(1500);
    let backoff_ms = backoff.as_millis().to_string();
    let mut s =
        start("webhook-resume", &["--webhook", &hook, "--webhook-attempts", "4", "--webhook-backoff-ms", &backoff_ms]);
    let trails = s.data.join("trails");
    let (_, room) = post(&s, "/v1/rooms", "t1", json!({"title": "r"})).await;
    let room_id = room["room_id"].as_str().expect("room").to_owned();

    // 1. kill -9 while the first link waits for its second attempt.
    let (st, link) =
        post(&s, "/v1/links", "t1", json!({"room_id": room_id, "target_id": "x1", "kind": "reference"})).await;
    assert_eq!(st, 201, "{link}");
    let link_1 = link["link_id"].as_str().expect("link").to_owned();
    // The row is updated before the trail: once the trail is there, a restart resumes from attempt 2.
    assert!(eventually(Duration::from_secs(10), || delivery_trails(&trails).len() == 1));
    s.kill9();
    s.restart(&[]);
    assert!(eventually(Duration::from_secs(15), || seen.lock().expect("lock").len() == 2), "resumed after kill -9");
    let got = seen.lock().expect("lock").clone();
    let body_1 = json!({"link_id": link_1, "room_id": room_id, "target_id": "x1"});
    let key_1 = format!("{link_1}:hook_r");
    assert_eq!((&got[0].0, &got[0].1, got[0].2), (&key_1, &body_1, 500));
    assert_eq!((&got[1].0, &got[1].1, got[1].2), (&key_1, &body_1, 204), "same key on every attempt");
    let gap = got[1].3 - got[0].3;
    assert!(gap >= backoff - Duration::from_millis(100), "the resumed attempt waits for its due time: {gap:?}");
    assert!(eventually(Duration::from_secs(5), || delivery_trails(&trails).len() == 2));
    assert_eq!(delivery_trails(&trails), [("retrying".to_owned(), 1), ("delivered".to_owned(), 2)]);
    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    let n = |ok: &str| sample(&m, metric_names::WEBHOOK_DELIVERY_TOTAL, &["dest=\"hook_r\"", &format!("ok=\"{ok}\"")]);
    assert_eq!((n("true"), n("false")), (1.0, 0.0), "the restarted process made one attempt: {m}");

    // 2. SIGTERM while the second link waits: the retry is left for the next start, not failed.
    let (st, link) = post(&s, "/v1/links", "t1", json!({"room_id": room_id, "target_id": "x2", "kind": "media"})).await;
    assert_eq!(st, 201, "{link}");
    let link_2 = link["link_id"].as_str().expect("link").to_owned();
    assert!(eventually(Duration::from_secs(10), || delivery_trails(&trails).len() == 3));
    let status = tokio::task::block_in_place(|| s.sigterm(Duration::from_secs(20)));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(seen.lock().expect("lock").len(), 3, "no attempt during the shutdown");
    s.restart(&[]);
    assert!(eventually(Duration::from_secs(15), || seen.lock().expect("lock").len() == 4), "resumed after SIGTERM");
    let got = seen.lock().expect("lock").clone();
    assert_eq!((got[3].0.as_str(), got[3].2), (format!("{link_2}:hook_r").as_str(), 204));
    assert!(eventually(Duration::from_secs(5), || delivery_trails(&trails).len() == 4));

    // 3. Another restart delivers nothing again: every row is done.
    s.kill9();
    s.restart(&[]);
    assert_eq!(get(&s, "/v1/rooms", "t1").await.0, 200, "up again");
    tokio::time::sleep(backoff).await;
    assert_eq!(seen.lock().expect("lock").len(), 4, "each delivery completed exactly once");
    let mut states = delivery_trails(&trails);
    states.sort();
    let want: Vec<(String, i64)> = [("delivered", 2), ("delivered", 2), ("retrying", 1), ("retrying", 1)]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), *b))
        .collect();
    assert_eq!(states, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_events_list_in_seq_order_with_a_cursor_and_error_tokens() {
    use obspec_generated::ErrorToken as T;
    let s = start("events", &[]);
    let (_, room) = post(&s, "/v1/rooms", "t1", json!({"title": "ev"})).await;
    let room_id = room["room_id"].as_str().expect("room").to_owned();
    let mut links = Vec::new();
    for i in 0..3 {
        let (st, l) =
            post(&s, "/v1/links", "t1", json!({"room_id": room_id, "target_id": format!("d{i}"), "kind": "reference"}))
                .await;
        assert_eq!(st, 201);
        links.push(l["link_id"].clone());
    }
    let path = format!("/v1/rooms/{room_id}/events");
    let (st, all) = get(&s, &path, "t1").await;
    assert_eq!(st, 200, "{all}");
    let events = all["events"].as_array().expect("events");
    let seqs: Vec<i64> = events.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!((events[0]["type"].as_str(), &events[0]["link_id"]), (Some("room_created"), &Value::Null));
    for (e, l) in events[1..].iter().zip(&links) {
        assert_eq!((e["type"].as_str(), &e["link_id"]), (Some("link_appended"), l), "{all}");
    }
    assert_eq!(
        (&all["truncated"], &all["degraded"], all["next_after"].as_i64()),
        (&json!(false), &Value::Null, Some(4))
    );

    // Pages by cursor: no gap, no repeat.
    let (_, p1) = get(&s, &format!("{path}?limit=3"), "t1").await;
    let s1: Vec<i64> = p1["events"].as_array().expect("page").iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!((s1, &p1["truncated"], p1["next_after"].as_i64()), (vec![1, 2, 3], &json!(true), Some(3)));
    let (_, p2) = get(&s, &format!("{path}?after=3&limit=3"), "t1").await;
    let s2: Vec<i64> = p2["events"].as_array().expect("page").iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!((s2, &p2["truncated"], p2["next_after"].as_i64()), (vec![4], &json!(false), Some(4)));
    let (_, p3) = get(&s, &format!("{path}?after=4"), "t1").await;
    assert_eq!((p3["events"].as_array().map(Vec::len), p3["next_after"].as_i64()), (Some(0), Some(4)));

    let (st, b) = get(&s, &path, "t2").await;
    assert_token(st, &b, T::NotFound);
    let (st, b) = get(&s, "/v1/rooms/r_none/events", "t1").await;
    assert_token(st, &b, T::NotFound);
    let (st, b) = get(&s, "/v1/rooms/bad%20id/events", "t1").await;
    assert_token(st, &b, T::InvalidInput);
    for q in ["?after=x", "?after=-1", "?limit=many", "?since=1"] {
        let (st, b) = get(&s, &format!("{path}{q}"), "t1").await;
        assert_token(st, &b, T::InvalidInput);
    }
    let (st, b) = json_of(client().get(s.url(&path)).send().await.expect("get")).await;
    assert_token(st, &b, T::Unauthenticated);

    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    let histogram_count = format!("{}_count", metric_names::CORE_DB_QUERY_SECONDS);
    // Four pages, the other tenant's miss and the unknown room: one query each
    // (the malformed requests fail before the database).
    assert_eq!(sample(&m, &histogram_count, &["op=\"room_events.list\""]), 6.0, "{m}");
    let route_count = sample(&m, metric_names::CORE_HTTP_REQUESTS_TOTAL, &["/events\""]);
    assert_eq!(route_count, 12.0, "every request of the route under its template: {m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_over_their_rate_get_rate_limit_with_retry_after() {
    use obspec_generated::ErrorToken as T;
    let s = start("rate", &["--tenant-rate", "2", "--tenant-burst", "3"]);
    let c = client();
    let mut codes = Vec::new();
    let mut last = None;
    for _ in 0..4 {
        let r = c
            .get(s.url("/v1/rooms"))
            .header(TENANT, "busy")
            .header("x-session-type", "user")
            .send()
            .await
            .expect("get");
        let retry_after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (st, b) = json_of(r).await;
        codes.push(st);
        last = Some((st, b, retry_after));
    }
    assert_eq!(codes, [200, 200, 200, 429]);
    let (st, b, retry_after) = last.expect("four answers");
    assert_token(st, &b, T::RateLimit);
    let ms = b["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!((1..=500).contains(&ms), "one token every 500 ms: {ms}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Another tenant is not affected.
    assert_eq!(get(&s, "/v1/rooms", "calm").await.0, 200);
    // After retry_after_ms the bucket has a token again.
    tokio::time::sleep(Duration::from_millis(ms + 20)).await;
    assert_eq!(get(&s, "/v1/rooms", "busy").await.0, 200);
    let m = c.get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    assert_eq!(
        sample(&m, metric_names::CORE_RATE_LIMIT_HITS_TOTAL, &["bucket=\"tenant\"", "tenant=\"busy\""]),
        1.0,
        "{m}"
    );
    assert_eq!(
        sample(&m, metric_names::CORE_QUOTA_EXCEEDED_TOTAL, &["session_type=\"user\"", "quota=\"rate_limit\""]),
        1.0
    );
    assert_eq!(sample(&m, metric_names::CORE_TENANT_REQUESTS_TOTAL, &["tenant=\"busy\""]), 4.0, "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_degrade_along_the_ladder_under_load() {
    // The ladder keys on the share of the concurrency limit in use, this request included.
    for (max, level, limit) in [("100", 0, 100usize), ("2", 1, 40), ("1", 2, 10)] {
        let s = start(&format!("ladder-{max}"), &["--max-concurrency", max]);
        let (_, room) = post(&s, "/v1/rooms", "t1", json!({"title": "r"})).await;
        let room_id = room["room_id"].as_str().expect("room").to_owned();
        for i in 0..limit + 1 {
            let (st, _) = post(
                &s,
                "/v1/links",
                "t1",
                json!({"room_id": room_id, "target_id": format!("d{i}"), "kind": "reference"}),
            )
            .await;
            assert_eq!(st, 201);
        }
        let (st, page) = get(&s, &format!("/v1/links?room_id={room_id}&limit=1000"), "t1").await;
        assert_eq!(st, 200);
        assert_eq!(page["links"].as_array().map(Vec::len), Some(limit), "max {max}: {page}");
        assert_eq!(page["truncated"], true);
        if level == 0 {
            assert_eq!(page["degraded"], Value::Null);
        } else {
            assert_eq!(page["degraded"], json!({"level": level, "limit": limit}));
        }
        // Each degraded answer is counted under its step (the normal one is not).
        let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
        for step in obspec_generated::metrics::Step::ALL {
            let want = f64::from(obspec_generated::ladders::LIST_REFS.steps[level].label == Some(step));
            let label = format!("step=\"{}\"", step.as_str());
            assert_eq!(sample(&m, metric_names::CORE_DEGRADED_RESPONSES_TOTAL, &[&label]), want, "max {max}: {m}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_endpoints_and_a_scrape_promtool_accepts_with_exactly_the_core_series() {
    use obspec_generated::ErrorToken as T;
    let (url, _got) = hook_receiver(0).await;
    let hook = format!("hook_a={url}");
    let envs = [("AWS_ACCESS_KEY_ID", "AKIDTEST"), ("AWS_SECRET_ACCESS_KEY", "secret-test")];
    let s = start_env("ops", &["--webhook", &hook, "--tenant-burst", "2", "--tenant-rate", "1"], &envs);
    let c = client();
    let health: Value = c.get(s.url("/_health")).send().await.expect("health").json().await.expect("json");
    assert_eq!((health["live"].as_bool(), health["ready"].as_bool()), (Some(true), Some(true)), "{health}");
    assert!(health["limits"].is_object(), "{health}");

    // Exercise every Core series.
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = c
        .post(s.url("/v1/rooms"))
        .header(TENANT, "t1")
        .header("traceparent", tp)
        .json(&json!({"title": "r"}))
        .send()
        .await
        .expect("post");
    let room: Value = r.json().await.expect("room");
    post(&s, "/v1/links", "t1", json!({"room_id": room["room_id"], "target_id": "x", "kind": "media"})).await;
    post(&s, "/v1/media/presign", "t2", json!({"op": "put", "bytes": 1})).await;
    for _ in 0..3 {
        c.get(s.url("/v1/rooms")).header(TENANT, "t3").header("x-session-type", "agent").send().await.expect("get");
    }

    let tr = c.get(s.url("/_trace/4bf92f3577b34da6a3ce929d0e0e4736")).send().await.expect("trace");
    let (st, b) = json_of(tr).await;
    // The ops router sits outside the observability layer: no correlation ID.
    assert_eq!((st, b["err"].as_str()), (T::Unauthenticated.http_status(), Some(T::Unauthenticated.as_str())), "{b}");
    let tr = c
        .get(s.url("/_trace/4bf92f3577b34da6a3ce929d0e0e4736"))
        .header("x-ops-token", "test-ops-token")
        .send()
        .await
        .expect("trace");
    let (st, b) = json_of(tr).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["requests"][0]["route"], "/v1/rooms", "{b}");
    let rl = c.post(s.url("/_reload?stage=next")).header("x-ops-token", "test-ops-token").send().await.expect("reload");
    let (st, b) = json_of(rl).await;
    assert_eq!((st, b["stage"].as_str()), (200, Some("next")), "{b}");
    let trails = s.data.join("trails");
    assert!(eventually(Duration::from_secs(5), || trails_of(&trails, "ops.reload").len() == 1));
    assert_eq!(trails_of(&trails, "ops.reload")[0]["data"], json!({"ok": true, "stage": "next"}));
    assert!(eventually(Duration::from_secs(10), || !trails_of(&trails, "webhook.delivery_min").is_empty()));

    let r = c.get(s.url("/metrics")).send().await.expect("metrics");
    assert!(r.headers()["content-type"].to_str().is_ok_and(|v| v.starts_with("text/plain; version=0.0.4")));
    let m = r.text().await.expect("body");
    promtool_check(&m);
    let alias = c.get(s.url("/_metrics")).send().await.expect("metrics").text().await.expect("body");
    assert_eq!(families(&alias), families(&m));
    // Exactly the series the spec declares for `core` (the webhook families
    // included: the gateway's, also emitted by Core, R41).
    let want = support::metric_set(obspec_generated::Component::Core.metrics());
    assert!(want.contains(metric_names::WEBHOOK_DELIVERY_TOTAL), "{want:?}");
    assert_eq!(families(&m), want, "{m}");
}

#[test]
fn sigterm_drains_flushes_and_exits_zero() {
    let mut s = start("sigterm", &[]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(async {
        // An error line is always kept by the sampler.
        let (st, _) = get(&s, "/v1/rooms/nope", "t1").await;
        assert_eq!(st, 404);
    });
    let status = s.sigterm(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{status:?}");
    let mut found = String::new();
    for e in walk(&s.logs) {
        found.push_str(&std::fs::read_to_string(e).unwrap_or_default());
    }
    assert!(found.contains("\"err_token\":\"NOT_FOUND\""), "log flushed on shutdown: {found}");
    assert!(found.contains("\"component\":\"core\""));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() { dirs.push(p) } else { out.push(p) }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_spec_bound_gets_payload_too_large_before_it_is_read() {
    let s = start("body-limit", &[]);
    let limit = usize::try_from(obspec_generated::Component::Core.max_body_bytes()).expect("limit fits usize");
    // One byte over the bound, declared in Content-Length: refused without reading the body.
    let big = vec![b'a'; limit + 1];
    let r = client()
        .post(s.url("/v1/rooms"))
        .header(TENANT, "t1")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("post");
    let (st, body) = json_of(r).await;
    assert_token(st, &body, obspec_generated::ErrorToken::PayloadTooLarge);
    // A body within the bound is read and handled as usual.
    let (st, room) = post(&s, "/v1/rooms", "t1", json!({"title": "Small"})).await;
    assert_eq!(st, 201, "{room}");
}
