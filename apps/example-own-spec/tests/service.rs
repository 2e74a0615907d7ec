//! The example service with its own spec, over a real socket: the binary
//! started on 127.0.0.1:0, its answers, metrics and logs checked against
//! *its* spec (`apps/example-own-spec/spec`), not the repository's.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use obspec_example_own_spec::obs::{ErrorToken as T, metric_names};
use serde_json::{Value, json};
use support::{Service, client, families, promtool_check, sample};

const BIN: &str = env!("CARGO_BIN_EXE_oven");
const APP: &str = "example-own-spec";

fn own_spec() -> obspec_codegen::model::Spec {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("spec");
    let inputs = obspec_codegen::load::read_dir(&dir, "spec").expect("read the example's spec/");
    match obspec_codegen::check(&inputs) {
        Ok(l) => l.spec,
        Err(d) => panic!("{}", obspec_codegen::diag::render_all(&d)),
    }
}

async fn get(s: &Service, path: &str, baker: Option<&str>) -> (u16, Value) {
    let mut r = client().get(s.url(path));
    if let Some(b) = baker {
        r = r.header(obspec_example_own_spec::BAKER_HEADER, b);
    }
    let r = r.send().await.expect("get");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn assert_token(status: u16, body: &Value, token: T) {
    assert_eq!(status, token.http_status(), "{body}");
    assert_eq!(body["err"], token.as_str(), "{body}");
}

#[test]
fn help_lists_the_flags() {
    let out = std::process::Command::new(BIN).arg("--help").output().expect("oven --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--listen", "--log-dir", "--loaf", "--rate", "OVEN_LISTEN"] {
        assert!(text.contains(flag), "{flag} missing:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_answers_in_its_own_vocabulary_with_its_own_metrics_and_log_fields() {
    let mut s = Service::start(
        BIN,
        APP,
        "service",
        &["--rate".to_owned(), "1".to_owned(), "--burst".to_owned(), "3".to_owned()],
        &[],
    );
    let (st, b) = get(&s, "/v1/loaves/rye", Some("b1")).await;
    assert_eq!((st, b), (200, json!({"loaf_id": "rye", "racks": 2})));
    let (st, b) = get(&s, "/v1/loaves/brioche", Some("b1")).await;
    assert_token(st, &b, T::NoSuchLoaf);
    assert!(b["correlation_id"].is_string(), "{b}");
    let (st, b) = get(&s, "/v1/loaves/Not%20an%20id", Some("b1")).await;
    assert_token(st, &b, T::BadRequest);
    let (st, b) = get(&s, "/v1/loaves/rye", None).await;
    assert_token(st, &b, T::NoCredentials);
    let (st, b) = get(&s, "/elsewhere", Some("b2")).await;
    assert_token(st, &b, T::NoSuchLoaf);

    // The runtime's rate limit answers with this spec's rate_limit token.
    let mut last = (0, Value::Null);
    for _ in 0..4 {
        last = get(&s, "/v1/loaves/spelt", Some("b3")).await;
    }
    assert_token(last.0, &last.1, T::SlowDown);
    let ms = last.1["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!((1..=1000).contains(&ms), "one token a second: {ms}");

    let m = client().get(s.url("/metrics")).send().await.expect("metrics").text().await.expect("body");
    promtool_check(&m);
    let spec = own_spec();
    let oven: BTreeSet<String> = spec
        .metrics
        .iter()
        .filter(|x| x.component == obspec_example_own_spec::COMPONENT)
        .map(|x| x.name.clone())
        .collect();
    assert_eq!(oven.len(), 2);
    assert_eq!(families(&m), oven, "exactly the example's own series: {m}");
    // The runtime labels the spec's form of the route template.
    let route = "path=\"/v1/loaves/:loaf_id\"";
    let n = |status: u16| {
        sample(&m, metric_names::OVEN_REQUESTS_TOTAL, &[route, "method=\"GET\"", &format!("status=\"{status}\"")])
    };
    assert_eq!((n(200), n(404), n(400), n(401), n(429)), (4.0, 1.0, 1.0, 1.0, 1.0), "{m}");
    let count = format!("{}_count", metric_names::OVEN_REQUEST_SECONDS);
    assert_eq!(sample(&m, &count, &[route]), 8.0, "{m}");

    let status = s.sigterm(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{status:?}");
    // Every key of every log line is one of this spec's log fields.
    let fields: BTreeSet<String> = spec.logs.fields.iter().map(|f| f.name.clone()).collect();
    let mut lines = Vec::new();
    let mut dirs = vec![s.logs.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let text = std::fs::read_to_string(&p).expect("log file");
                lines.extend(text.lines().map(|l| serde_json::from_str::<Value>(l).expect("a JSON line")));
            }
        }
    }
    assert!(!lines.is_empty(), "the log plane wrote under {}", s.logs.display());
    for l in &lines {
        let keys: BTreeSet<String> = l.as_object().expect("object").keys().cloned().collect();
        assert!(keys.is_subset(&fields), "{l} has keys outside {fields:?}");
    }
    let values: Vec<&Value> = lines.iter().flat_map(|l| l.as_object().into_iter().flat_map(|o| o.values())).collect();
    assert!(values.contains(&&json!("rye")), "the lookup's line names the loaf: {lines:?}");
    assert!(values.contains(&&json!(T::NoSuchLoaf.as_str())), "the miss is logged with its token: {lines:?}");
    assert!(values.contains(&&json!(obspec_example_own_spec::COMPONENT)), "{lines:?}");
    // The request lines carry the method under this spec's field for the role, unredacted.
    let method = spec
        .logs
        .fields
        .iter()
        .find(|f| f.role == Some(obspec_codegen::model::LogRole::Method))
        .map(|f| f.name.clone())
        .expect("a method field");
    let methods: Vec<&Value> = lines.iter().filter_map(|l| l.get(&method)).collect();
    assert!(methods.len() >= 8 && methods.iter().all(|m| **m == json!("GET")), "{methods:?}");
}
