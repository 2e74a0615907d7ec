//! The Office service over real sockets: the binary started on 127.0.0.1:0.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use obspec_generated::{ErrorToken as T, metric_names};
use serde_json::{Value, json};
use support::{Service, client, eventually, families, promtool_check, sample, trails_of};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const BIN: &str = env!("CARGO_BIN_EXE_office");
const APP: &str = "office";

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn start(name: &str, extra: &[&str]) -> Service {
    let data = support::data_dir(APP, name);
    let mut args = vec![
        "--db".to_owned(),
        data.join("office.db").display().to_string(),
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

async fn connect(s: &Service, room: &str, session: &str, last_seq: Option<u64>) -> Ws {
    let mut url = format!("ws://{}/v1/rooms/{room}/ws?session_id={session}", s.addr);
    if let Some(n) = last_seq {
        url.push_str(&format!("&last_seq={n}"));
    }
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert("x-tenant-id", "t1".parse().expect("header"));
    tokio_tungstenite::connect_async(req).await.expect("connect").0
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message in time");
        match msg.expect("open").expect("ok") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json"),
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
}

async fn send_event(ws: &mut Ws, n: u64) {
    let ev = json!({"type": "brief_update", "delta_count": n, "data": {"note": format!("private words {n}")}});
    ws.send(Message::Text(ev.to_string().into())).await.expect("send");
}

/// Reads events until `seq`; returns their seqs.
async fn read_until(ws: &mut Ws, seq: u64) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        let v = next_json(ws).await;
        let n = v["seq"].as_u64().expect("an event");
        seen.push(n);
        if n >= seq {
            return seen;
        }
    }
}

async fn rpc(s: &Service, tenant: Option<&str>, body: Value) -> Value {
    let mut r = client().post(s.url("/mcp")).json(&body);
    if let Some(t) = tenant {
        r = r.header("x-tenant-id", t);
    }
    let resp = r.send().await.expect("post");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("json")
}

fn call(id: u64, name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}})
}

fn assert_rpc_err(v: &Value, token: T) {
    assert_eq!(v["error"]["code"].as_i64(), token.jsonrpc_code().map(i64::from), "{v}");
    assert_eq!(v["error"]["message"], token.as_str(), "{v}");
}

fn reconnect_count() -> String {
    format!("{}_count", metric_names::OFFICE_WS_RECONNECT_DURATION_SECONDS)
}

fn reconnect_sum() -> String {
    format!("{}_sum", metric_names::OFFICE_WS_RECONNECT_DURATION_SECONDS)
}

async fn scrape(s: &Service) -> String {
    client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body")
}

/// Reads until the server's close frame; returns its code.
async fn until_close(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next()).await.expect("close in time") {
            Some(Ok(Message::Close(f))) => return f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = std::process::Command::new(BIN).arg("--help").output().expect("office --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--listen", "--db", "--log-dir", "--trail-dir", "--history", "--room-concurrency", "OFFICE_LISTEN"] {
        assert!(text.contains(flag), "{flag} missing:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_session_gets_exactly_the_missed_events_then_live_ones() {
    let s = start("replay", &[]);
    let mut a = connect(&s, "r1", "sess_a", None).await;
    assert_eq!(next_json(&mut a).await, json!({"type": "hello", "room_seq": 0, "replayed": 0, "truncated": false}));
    for n in 1..=3 {
        send_event(&mut a, n).await;
    }
    assert_eq!(read_until(&mut a, 3).await, [1, 2, 3]);
    drop(a); // dropped without a close frame

    let mut b = connect(&s, "r1", "sess_b", Some(3)).await;
    assert_eq!(next_json(&mut b).await["replayed"], 0);
    send_event(&mut b, 4).await;
    send_event(&mut b, 5).await;
    assert_eq!(read_until(&mut b, 5).await, [4, 5]);

    let mut a = connect(&s, "r1", "sess_a", Some(3)).await;
    assert_eq!(next_json(&mut a).await, json!({"type": "hello", "room_seq": 5, "replayed": 2, "truncated": false}));
    let four = next_json(&mut a).await;
    assert_eq!(
        (four["seq"].as_u64(), four["type"].as_str(), four["session_id"].as_str()),
        (Some(4), Some("brief_update"), Some("sess_b"))
    );
    assert_eq!(next_json(&mut a).await["seq"], 5);
    send_event(&mut b, 6).await;
    assert_eq!(next_json(&mut a).await["seq"], 6, "then live, no duplicate");
    assert_eq!(read_until(&mut b, 6).await, [6]);

    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    assert_eq!(sample(&m, &reconnect_count(), &[]), 1.0, "one resume of a dropped session: {m}");
    let events = trails_of(&s.data.join("trails"), "office.event");
    let updates: Vec<u64> = events
        .iter()
        .filter(|e| e["data"]["event_type"] == "brief_update")
        .map(|e| e["data"]["brief_version"].as_u64().unwrap_or(0))
        .collect();
    assert!(
        eventually(Duration::from_secs(5), || trails_of(&s.data.join("trails"), "office.event")
            .iter()
            .filter(|e| e["data"]["event_type"] == "brief_update")
            .count()
            == 6),
        "{updates:?}"
    );
    let text = serde_json::to_string(&support::trail_records(&s.data.join("trails"))).expect("json");
    assert!(!text.contains("private words"), "no content in trails");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_100_events_survive_kill_9_and_replay_in_order() {
    let mut s = start("kill9", &[]);
    let mut a = connect(&s, "r9", "sess_k", None).await;
    next_json(&mut a).await;
    for n in 1..=120 {
        send_event(&mut a, n).await;
    }
    assert_eq!(read_until(&mut a, 120).await, (1..=120).collect::<Vec<_>>());
    s.kill9();
    s.restart(&[]);

    let mut a = connect(&s, "r9", "sess_k", Some(0)).await;
    assert_eq!(next_json(&mut a).await, json!({"type": "hello", "room_seq": 120, "replayed": 100, "truncated": true}));
    assert_eq!(read_until(&mut a, 120).await, (21..=120).collect::<Vec<_>>());
    let mut b = connect(&s, "r9", "sess_l", Some(115)).await;
    assert_eq!(next_json(&mut b).await["replayed"], 5);
    assert_eq!(read_until(&mut b, 120).await, [116, 117, 118, 119, 120]);
    send_event(&mut b, 121).await;
    assert_eq!(read_until(&mut a, 121).await, [121], "the sequence continues after the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_across_a_graceful_restart_is_timed_from_the_shutdown_close() {
    use std::time::Instant;
    let mut s = start("reconnect-sigterm", &[]);
    let mut a = connect(&s, "rg", "sess_g", None).await;
    next_json(&mut a).await;
    send_event(&mut a, 1).await;
    assert_eq!(read_until(&mut a, 1).await, [1]);
    let before_term = Instant::now();
    let stop = tokio::task::spawn_blocking(move || {
        let st = s.sigterm(Duration::from_secs(20));
        (st, s)
    });
    let code = until_close(&mut a).await;
    assert_eq!(code, Some(1012), "service restart");
    let (st, mut s) = stop.await.expect("join");
    assert_eq!(st.code(), Some(0), "{st:?}");
    let down = Duration::from_millis(600);
    tokio::time::sleep(down).await;
    tokio::task::block_in_place(|| s.restart(&[]));
    // A session the server never saw drop is no resume, even with last_seq.
    let mut fresh = connect(&s, "rg", "sess_new", Some(1)).await;
    next_json(&mut fresh).await;
    let mut a = connect(&s, "rg", "sess_g", Some(1)).await;
    assert_eq!(next_json(&mut a).await, json!({"type": "hello", "room_seq": 1, "replayed": 0, "truncated": false}));
    // The hello follows the observation.
    let resumed_at = Instant::now();
    let m = scrape(&s).await;
    assert_eq!(sample(&m, &reconnect_count(), &[]), 1.0, "one resume, timed across the restart: {m}");
    let took = sample(&m, &reconnect_sum(), &[]);
    assert!(took >= down.as_secs_f64(), "the downtime after the shutdown's close is in it: {took}");
    assert!(took <= (resumed_at - before_term).as_secs_f64(), "not before the SIGTERM: {took}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_a_reconnect_is_timed_from_the_new_servers_start() {
    use std::time::Instant;
    let mut s = start("reconnect-kill9", &[]);
    let mut a = connect(&s, "rc", "sess_c", None).await;
    next_json(&mut a).await;
    send_event(&mut a, 1).await;
    assert_eq!(read_until(&mut a, 1).await, [1]);
    s.kill9();
    drop(a);
    // The crash is recorded nowhere: this downtime cannot be in the metric.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let restarting = Instant::now();
    tokio::task::block_in_place(|| s.restart(&[]));
    let up = Duration::from_millis(300);
    tokio::time::sleep(up).await;
    let mut a = connect(&s, "rc", "sess_c", Some(1)).await;
    assert_eq!(next_json(&mut a).await["room_seq"], 1);
    let resumed_at = Instant::now();
    let m = scrape(&s).await;
    assert_eq!(sample(&m, &reconnect_count(), &[]), 1.0, "the session open at the crash resumed: {m}");
    let took = sample(&m, &reconnect_sum(), &[]);
    assert!(took >= up.as_secs_f64(), "from the server's start, which was before the pause: {took}");
    assert!(took <= (resumed_at - restarting).as_secs_f64(), "not from the crash: {took}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_lists_and_calls_tools_and_answers_error_tokens() {
    let s = start("mcp", &[]);
    let init = rpc(&s, Some("t1"), json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})).await;
    assert_eq!(init["result"]["serverInfo"]["name"], "office", "{init}");
    let list = rpc(&s, Some("t1"), json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
    let names: Vec<&str> =
        list["result"]["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["room_stats", "sum", "wait", "handover"]);

    let sum = rpc(&s, Some("t1"), call(3, "sum", json!({"room_id": "r1", "values": [1, 2, 39]}))).await;
    assert_eq!(sum["result"]["structuredContent"], json!({"total": 42}), "{sum}");
    assert_eq!(sum["id"], 3);
    let stats = rpc(&s, Some("t1"), call(4, "room_stats", json!({"room_id": "r1"}))).await;
    assert_eq!(stats["result"]["structuredContent"], json!({"room_seq": 0, "kept": 0}));

    assert_rpc_err(
        &rpc(&s, Some("t1"), json!({"jsonrpc": "2.0", "id": 5, "method": "resources/list"})).await,
        T::Unsupported,
    );
    assert_rpc_err(&rpc(&s, Some("t1"), call(6, "rm_rf", json!({"room_id": "r1"}))).await, T::Unsupported);
    assert_rpc_err(
        &rpc(&s, Some("t1"), call(7, "sum", json!({"room_id": "r1", "values": ["x"]}))).await,
        T::InvalidInput,
    );
    assert_rpc_err(&rpc(&s, Some("t1"), call(8, "sum", json!({"values": [1]}))).await, T::InvalidInput);
    let no_tenant = rpc(&s, None, call(9, "sum", json!({"room_id": "r1", "values": [1]}))).await;
    assert_rpc_err(&no_tenant, T::Unauthenticated);
    assert!(no_tenant["error"]["data"]["correlation_id"].is_string(), "{no_tenant}");
    let r = client().post(s.url("/mcp")).header("x-tenant-id", "t1").body("{nope").send().await.expect("post");
    assert_rpc_err(&r.json::<Value>().await.expect("json"), T::InvalidInput);
    let missing = client().get(s.url("/nowhere")).send().await.expect("get");
    assert_eq!(missing.status().as_u16(), T::NotFound.http_status());
    assert_eq!(missing.json::<Value>().await.expect("json")["err"], T::NotFound.as_str());
    let note = client()
        .post(s.url("/mcp"))
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .expect("post");
    assert_eq!(note.status().as_u16(), 202);

    // Handover: an event in the room and an office.handover trail.
    let mut ws = connect(&s, "r1", "sess_h", None).await;
    next_json(&mut ws).await;
    let h = rpc(
        &s,
        Some("t1"),
        call(10, "handover", json!({"room_id": "r1", "summary_id": "sum_7", "refs": ["d1", "d2"]})),
    )
    .await;
    assert_eq!(h["result"]["structuredContent"], json!({"handover_seq": 1, "events_count": 0}), "{h}");
    let ev = next_json(&mut ws).await;
    assert_eq!((ev["seq"].as_u64(), ev["type"].as_str()), (Some(1), Some("handover")));
    let trails = s.data.join("trails");
    assert_eq!(
        trails_of(&trails, "office.handover")[0]["data"],
        json!({"events_count": 0, "refs_count": 2, "summary_id": "sum_7"})
    );
    assert!(eventually(Duration::from_secs(5), || trails_of(&trails, "office.tool_call").len() == 5));
    let calls = trails_of(&trails, "office.tool_call");
    let sum_call = calls.iter().find(|c| c["data"]["tool"] == "sum").expect("sum trail");
    assert_eq!(
        sum_call["data"],
        json!({"arg_count": 2, "arg_ids": ["r1"], "cost_calls": 0, "ok": true, "tool": "sum"})
    );
    let handover = calls.iter().find(|c| c["data"]["tool"] == "handover").expect("handover trail");
    assert_eq!(handover["data"]["arg_ids"], json!(["r1", "sum_7", "d1", "d2"]));

    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    let n = |tool: &str, ok: &str, err: &str| {
        sample(
            &m,
            metric_names::OFFICE_MCP_CALL_TOTAL,
            &[&format!("tool=\"{tool}\""), &format!("ok=\"{ok}\""), &format!("err=\"{err}\"")],
        )
    };
    assert_eq!(n("sum", "true", "NONE"), 1.0, "{m}");
    assert_eq!(n("sum", "false", T::InvalidInput.as_str()), 2.0, "{m}");
    assert_eq!(n("sum", "false", T::Unauthenticated.as_str()), 1.0, "{m}");
    assert_eq!(n("other", "false", T::Unsupported.as_str()), 1.0, "an unknown tool name never becomes a label: {m}");
    assert!(!m.contains("rm_rf"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_room_cap_gets_backpressure_with_a_correct_retry_after() {
    let s = start("burst", &["--room-concurrency", "2"]);
    let started = std::time::Instant::now();
    let calls = (0..6).map(|i| {
        let body = call(i, "wait", json!({"room_id": "busy", "ms": 400}));
        let s = &s;
        async move { rpc(s, Some("t1"), body).await }
    });
    let out = futures_util::future::join_all(calls).await;
    let ok = out.iter().filter(|v| v.get("result").is_some()).count();
    let busy: Vec<u64> = out
        .iter()
        .filter(|v| v["error"]["message"] == T::Backpressure.as_str())
        .map(|v| {
            assert_eq!(v["error"]["code"].as_i64(), T::Backpressure.jsonrpc_code().map(i64::from));
            v["error"]["data"]["retry_after_ms"].as_u64().expect("retry_after_ms")
        })
        .collect();
    assert_eq!((ok, busy.len()), (2, 4), "{out:?}");
    let elapsed = started.elapsed().as_millis() as u64;
    for ms in &busy {
        // Until the first running call ends: at most its 400 ms.
        assert!((1..=400).contains(ms), "{ms}");
        assert!(*ms + elapsed >= 300, "retry_after_ms points near the end of the running calls: {ms} after {elapsed}");
    }
    // Another room is not affected.
    let other = rpc(&s, Some("t1"), call(9, "sum", json!({"room_id": "calm", "values": [1]}))).await;
    assert!(other.get("result").is_some(), "{other}");
    // Retrying after retry_after_ms succeeds.
    let again = rpc(&s, Some("t1"), call(10, "wait", json!({"room_id": "busy", "ms": 1}))).await;
    assert!(again.get("result").is_some(), "the calls are over: {again}");
    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    let bp = sample(&m, metric_names::OFFICE_MCP_CALL_TOTAL, &["tool=\"wait\"", "err=\"BACKPRESSURE\""]);
    assert_eq!(bp, 4.0, "{m}");
    let durations = format!("{}_count", metric_names::OFFICE_MCP_CALL_DURATION_SECONDS);
    assert_eq!(sample(&m, &durations, &["tool=\"wait\""]), 7.0, "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_endpoints_and_a_scrape_with_exactly_the_office_series() {
    let s = start("ops", &[]);
    let c = client();
    let h: Value = c.get(s.url("/_health")).send().await.expect("health").json().await.expect("json");
    assert_eq!(h["ready"], true, "{h}");
    let mut a = connect(&s, "ro", "sess_o", None).await;
    next_json(&mut a).await;
    send_event(&mut a, 1).await;
    read_until(&mut a, 1).await;
    drop(a);
    let mut a = connect(&s, "ro", "sess_o", Some(1)).await;
    next_json(&mut a).await;
    rpc(&s, Some("t1"), call(1, "room_stats", json!({"room_id": "ro"}))).await;
    let bad = c.post(s.url("/_reload?stage=next")).send().await.expect("reload");
    assert_eq!(bad.status().as_u16(), T::Unauthenticated.http_status());
    let ok = c.post(s.url("/_reload?stage=next")).header("x-ops-token", "test-ops-token").send().await.expect("reload");
    assert_eq!(ok.status().as_u16(), 200);
    let trails = s.data.join("trails");
    assert!(eventually(Duration::from_secs(5), || trails_of(&trails, "ops.reload").len() == 1));

    let m = c.get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    promtool_check(&m);
    assert_eq!(families(&m), support::metric_set(obspec_generated::Component::Office.metrics()), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sessions_and_exits_zero() {
    let mut s = start("sigterm", &[]);
    let mut a = connect(&s, "rs", "sess_s", None).await;
    next_json(&mut a).await;
    let status = tokio::task::spawn_blocking(move || {
        let st = s.sigterm(Duration::from_secs(20));
        (st, s)
    });
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(20), a.next()).await.expect("close in time") {
            Some(Ok(Message::Close(f))) => break f,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1012), "service restart");
    let (st, _s) = status.await.expect("join");
    assert_eq!(st.code(), Some(0), "{st:?}");
}

/// JSON-RPC bodies a client controls: any bytes, any JSON, and requests of the
/// right shape with any method, id, tool name and arguments.
fn hostile_bodies(cases: u32) -> Vec<Vec<u8>> {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[a-z_/.]{0,12}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    let json = leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let method = prop_oneof![
        Just("tools/call".to_owned()),
        Just("tools/list".to_owned()),
        Just("initialize".to_owned()),
        any::<String>()
    ];
    let tool = prop_oneof![
        Just("sum".to_owned()),
        Just("room_stats".to_owned()),
        Just("wait".to_owned()),
        Just("handover".to_owned()),
        any::<String>()
    ];
    let shaped =
        (json.clone(), method, tool, json.clone(), any::<bool>()).prop_map(|(id, method, name, args, with_id)| {
            let mut req = json!({"jsonrpc": "2.0", "method": method, "params": {"name": name, "arguments": args}});
            if with_id {
                req["id"] = id;
            }
            serde_json::to_vec(&req).expect("json")
        });
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        json.prop_map(|v| serde_json::to_vec(&v).expect("json")),
        shaped.clone(),
        shaped,
    ];
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    (0..cases).map(|_| body.new_tree(&mut runner).expect("a case").current()).collect()
}

#[tokio::test]
async fn hostile_json_rpc_bodies_get_a_json_rpc_answer_or_an_error_token() {
    const CASES: u32 = 400;
    let s = start("mcp-fuzz", &[]);
    let (mut answered, mut errors, mut notifications) = (0, 0, 0);
    for body in hostile_bodies(CASES) {
        let resp = client()
            .post(s.url("/mcp"))
            .header("x-tenant-id", "t1")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("the service answers every body");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let shown = String::from_utf8_lossy(&body).chars().take(200).collect::<String>();
        if status == 202 {
            // A notification (no id): no answer body.
            assert!(text.is_empty(), "{shown} -> {text}");
            notifications += 1;
            continue;
        }
        if status == 413 || status == 429 || status == 503 {
            // The body limit, the rate limit or backpressure: an ErrorToken answer.
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{shown} -> {status} {text}"));
            assert!(T::ALL.iter().any(|t| v["err"] == t.as_str()), "{shown} -> {text}");
            errors += 1;
            continue;
        }
        assert_eq!(status, 200, "{shown} -> {status} {text}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{shown} -> {text}"));
        assert_eq!(v["jsonrpc"], "2.0", "{shown} -> {text}");
        if let Some(e) = v.get("error") {
            let token = T::ALL.iter().find(|t| e["message"] == t.as_str());
            let token = token.unwrap_or_else(|| panic!("not an ErrorToken: {shown} -> {text}"));
            assert_eq!(e["code"].as_i64(), token.jsonrpc_code().map(i64::from), "{text}");
            errors += 1;
        } else {
            assert!(v.get("result").is_some(), "{shown} -> {text}");
            answered += 1;
        }
    }
    eprintln!("mcp fuzz: {CASES} bodies: {answered} results, {errors} error tokens, {notifications} notifications");
    assert!(errors > 0 && answered > 0, "the cases reach both answers");
    // Still serving, and no 5xx was counted.
    let scrape = scrape(&s).await;
    assert!(!scrape.lines().any(|l| l.contains("code=\"5") && !l.ends_with(" 0")), "a 5xx was counted");
}
