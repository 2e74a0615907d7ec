//! `obspec-tools live-check` end to end, on loopback only:
//!
//! - the gateway Worker in workerd (miniflare, `apps/gateway/test/drive.mjs`)
//!   sends its OTLP to live-check: 0 findings; the build with four injected
//!   mistakes gets exactly those four;
//! - a reference service (`core`) scraped, with its log files: no error;
//! - a bad exposition, bad log lines and broken trails: each rule reports.
//!
//! Needs `node` and `apps/gateway/node_modules` (`bash scripts/setup.sh`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tmp(name: &str) -> PathBuf {
    let d = root().join("target/tmp/live-check").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// Kills the child on drop (also when a test fails).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs live-check to completion with `args`; returns (exit success, parsed JSON report).
fn live_check(args: &[&str]) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_obspec-tools"))
        .arg("live-check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run live-check");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), v)
}

/// `(rule, subject)` of every finding.
fn findings(v: &Value) -> Vec<(String, String)> {
    v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (f["rule"].as_str().unwrap_or("").to_owned(), f["subject"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// Starts an OTLP live-check, runs the Worker driver against it, stops it; returns the report.
/// With `expose`, also returns what live-check re-exposed on its Prometheus endpoint after the run.
fn worker_run(mistakes: bool, expose: bool) -> (Value, String) {
    let gateway = root().join("apps/gateway");
    assert!(
        gateway.join("node_modules/miniflare").is_dir(),
        "apps/gateway/node_modules is missing: run `bash scripts/setup.sh`"
    );
    let mut lc = Command::new(env!("CARGO_BIN_EXE_obspec-tools"))
        .args(["live-check", "--otlp", "127.0.0.1:0", "--duration", "60", "--format", "json"])
        .args(if expose { &["--expose", "127.0.0.1:0"][..] } else { &[][..] })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn live-check");
    let mut stderr = BufReader::new(lc.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("live-check's first line");
    let addr = first.split_whitespace().nth(3).expect("listening on ADDR").to_owned();
    let mut stdout = lc.stdout.take().expect("stdout");
    let lc = Guard(lc);
    let mut drive = Command::new("node");
    drive.arg("test/drive.mjs").arg(format!("http://{addr}")).current_dir(&gateway);
    if mistakes {
        drive.arg("--mistakes");
    }
    let out = drive.output().expect("run node test/drive.mjs");
    assert!(
        out.status.success(),
        "drive.mjs failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let exposed = match first.split("exposing on http://").nth(1) {
        Some(rest) => {
            let host = rest.trim().trim_end_matches("/metrics");
            let mut s = std::net::TcpStream::connect(host).expect("connect --expose");
            let _ = write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            text
        }
        None => String::new(),
    };
    // SIGTERM: live-check stops listening and reports.
    let pid = lc.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(status.success());
    let mut text = String::new();
    stdout.read_to_string(&mut text).expect("report");
    drop(lc);
    (serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}")), exposed)
}

#[test]
fn the_gateway_worker_is_clean_and_each_injected_mistake_is_found() {
    let (clean, exposed) = worker_run(false, true);
    assert!(clean["inputs"]["otlp_requests"].as_u64().unwrap_or(0) >= 4, "{clean}");
    assert_eq!(findings(&clean), Vec::<(String, String)>::new(), "{clean}");

    // --expose: the gateway's series, as the collector's Prometheus exporter would show them.
    assert!(exposed.contains("# TYPE gateway_http_requests_total counter"), "{exposed}");
    assert!(exposed.contains("gateway_http_request_duration_seconds_bucket{"), "{exposed}");
    assert!(exposed.contains("gateway_jwks_refresh_total{ok=\"true\"} 1"), "{exposed}");

    let (bad, _) = worker_run(true, false);
    let mut got = findings(&bad);
    got.sort();
    let mut want: Vec<(String, String)> = vec![
        ("metric.undeclared".into(), "gateway_cache_hits_total".into()),
        ("label.value_not_in_set".into(), "gateway_http_requests_total{method=\"BREW\"}".into()),
        ("log.field_not_allowed".into(), "log field `prompt`".into()),
    ];
    want.sort();
    let over: Vec<&(String, String)> = got.iter().filter(|(r, _)| r == "label.over_bound").collect();
    assert_eq!(over.len(), 1, "{bad}");
    assert!(over[0].1.starts_with("gateway_http_requests_total{route}: "), "{bad}");
    got.retain(|(r, _)| r != "label.over_bound");
    assert_eq!(got, want, "{bad}");
    assert_eq!(bad["errors"], 4);
}

/// Serves `body` on `GET /metrics` at 127.0.0.1 for `n` requests.
fn serve_text(body: String, n: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in l.incoming().take(n).flatten() {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/metrics")
}

fn core_binary() -> PathBuf {
    let bin = root().join("target/debug/core");
    if !bin.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-q", "-p", "obspec-core-api", "--bin", "core"])
            .current_dir(root())
            .status();
        assert!(st.is_ok_and(|s| s.success()), "cannot build the core binary");
    }
    bin
}

#[test]
fn a_reference_service_passes_and_bad_scrapes_logs_and_trails_are_found() {
    // A real reference service: scrape and log files pass with no error.
    let dir = tmp("core");
    let mut core = Command::new(core_binary())
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(dir.join("core.db"))
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .arg("--trail-dir")
        .arg(dir.join("trails"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn core");
    let mut line = String::new();
    BufReader::new(core.stdout.take().expect("stdout")).read_line(&mut line).expect("bound address");
    let core = Guard(core);
    let addr = line.trim().to_owned();
    for (method, path) in [("GET", "/v1/rooms"), ("POST", "/v1/rooms"), ("GET", "/_health")] {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect core");
        let _ = write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}");
        let _ = s.read_to_end(&mut Vec::new());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dir.join("logs").is_dir() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("http://{addr}/metrics");
    let logs = dir.join("logs").display().to_string();
    let (ok, v) = live_check(&["--metrics", &url, "--logs", &logs]);
    drop(core);
    assert!(ok, "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert!(v["inputs"]["log_lines"].as_u64().unwrap_or(0) >= 1, "{v}");
    for (rule, _) in findings(&v) {
        assert_eq!(rule, "metric.never_seen", "{v}");
    }

    // A bad exposition: wrong type, undeclared label, closed value outside its set, other buckets.
    let text = "# TYPE core_http_requests_total gauge\n\
core_http_requests_total{route=\"/v1/rooms\",method=\"GET\",code=\"200\",host=\"a\"} 1\n\
# TYPE policy_eval_total counter\npolicy_eval_total{decision=\"maybe\"} 1\n\
# TYPE core_db_query_seconds histogram\n\
core_db_query_seconds_bucket{op=\"q\",le=\"0.5\"} 1\ncore_db_query_seconds_bucket{op=\"q\",le=\"+Inf\"} 1\n\
core_db_query_seconds_sum{op=\"q\"} 0.1\ncore_db_query_seconds_count{op=\"q\"} 1\n"
        .to_owned();
    let url = serve_text(text, 1);
    // Bad log lines: a forbidden field, a wrong shape.
    let bad = tmp("bad");
    std::fs::write(
        bad.join("x.ndjson"),
        "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"component\":\"core\",\"password\":\"x\"}\n{\"ts\":\"2026-01-01T00:00:00.000Z\",\"code\":\"two hundred\"}\n",
    )
    .expect("write logs");
    // Trails: one valid stream, a copy with a changed byte (chain broken), a line with reordered keys.
    let trails = bad.join("trails");
    let spec = {
        let inputs = obspec_codegen::load::read_dir(&root().join("spec"), "spec").expect("spec");
        obspec_codegen::check(&inputs).map(|l| l.spec).unwrap_or_else(|d| panic!("{d:?}"))
    };
    let kind = spec.trails.kinds.first().map(|k| k.kind.clone()).expect("a trail kind");
    let today = obspec_trail::date::Date::today_utc();
    let w = obspec_trail::writer::Writer::open(
        &trails,
        obspec_trail::canonical::TrailConfig::blueprint_default(),
        Default::default(),
    )
    .expect("writer");
    for i in 0..3 {
        let rec = obspec_trail::canonical::Record::new()
            .with("id", format!("r{i}"))
            .with("ts", format!("{today}T00:00:0{i}.000Z"))
            .with("kind", kind.as_str())
            .with("scope", obspec_trail::canonical::Object::new().with("tenant", "t1"));
        w.append(rec).expect("append");
    }
    w.close().expect("close");
    let good = obspec_trail::writer::stream_path(&trails, "t1", today);
    let lines = std::fs::read_to_string(&good).expect("trail");
    let copy_to = |dir: &str, text: String| {
        let p = bad.join(dir).join(good.strip_prefix(&trails).expect("under trails"));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write trail");
    };
    copy_to("tampered", lines.replace("\"r1\"", "\"r9\""));
    let first = lines.lines().next().expect("a line");
    let v: Value = serde_json::from_str(first).expect("json");
    let mut reordered = String::from("{");
    let obj = v.as_object().expect("object");
    let keys: Vec<&String> = obj.keys().rev().collect();
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            reordered.push(',');
        }
        reordered.push_str(&format!("{}:{}", serde_json::to_string(k).unwrap_or_default(), obj[*k]));
    }
    reordered.push('}');
    copy_to("reordered", format!("{reordered}\n"));

    let trails_arg = trails.display().to_string();
    let logs_arg = bad.join("x.ndjson").display().to_string();
    let tampered = bad.join("tampered").display().to_string();
    let reordered = bad.join("reordered").display().to_string();
    let (ok, v) = live_check(&[
        "--metrics",
        &url,
        "--logs",
        &logs_arg,
        "--trails",
        &trails_arg,
        "--trails",
        &tampered,
        "--trails",
        &reordered,
    ]);
    assert!(!ok, "{v}");
    let got = findings(&v);
    let has = |rule: &str, needle: &str| got.iter().any(|(r, s)| r == rule && s.contains(needle));
    assert!(has("metric.wrong_type", "core_http_requests_total"), "{v}");
    assert!(has("label.undeclared", "core_http_requests_total{host}"), "{v}");
    assert!(has("label.value_not_in_set", "policy_eval_total{decision=\"maybe\"}"), "{v}");
    assert!(has("histogram.buckets", "core_db_query_seconds"), "{v}");
    assert!(has("log.field_not_allowed", "password"), "{v}");
    assert!(has("log.field_shape", "code"), "{v}");
    assert!(has("trail.chain_broken", "tampered/audit/"), "{v}");
    assert!(has("trail.chain_broken", "t1.ndjson:3"), "{v}");
    assert!(has("trail.not_canonical", "reordered/audit/"), "{v}");
    assert!(!got.iter().any(|(_, s)| s.contains("/bad/trails/")), "the valid stream has no finding: {v}");
    assert!(!got.iter().any(|(_, s)| s.contains("two hundred")), "no value is echoed: {v}");
}
