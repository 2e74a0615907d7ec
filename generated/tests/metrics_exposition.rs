//! The generated emitters record exactly the series the spec declares, and a
//! real scrape passes `promtool check metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::{Command, Stdio};

use obspec_generated::ErrorToken;
use obspec_generated::routes::{CoreRoute, GatewayRoute, OfficeRoute, PolicyProxyRoute};
use obspec_generated::metrics::{self as m, Bucket, Code, Decision, Method, Op, Quota, Reason, SessionType, Step, Tool};

/// Touches every emitter of the spec once (and some more than once).
fn touch_all() {
    m::gateway_http_requests_total(Some(GatewayRoute::RoomsRoomId), Method::Get, Code::S200).increment(1);
    m::gateway_http_requests_total(Some(GatewayRoute::RoomsRoomId), Method::Post, Code::S503).increment(2);
    m::gateway_http_request_duration_seconds(Some(GatewayRoute::RoomsRoomId)).record(0.042);
    m::gateway_backpressure_total(SessionType::Agent).increment(1);
    m::gateway_jwks_refresh_total(false).increment(1);
    m::gateway_jwks_refresh_consecutive_failures().set(3.0);
    m::webhook_delivery_total("dest-1", true).increment(1);
    m::webhook_delivery_duration_seconds("dest-1").record(1.5);
    m::policy_eval_total(Decision::RateLimit).increment(1);
    m::core_http_requests_total(Some(CoreRoute::Rooms), Method::Delete, Code::S404).increment(1);
    m::core_http_requests_total(None, Method::Get, Code::S404).increment(1);
    m::core_http_request_duration_seconds(Some(CoreRoute::Rooms)).record(0.2);
    m::core_db_query_seconds(Op::RoomsGet).record(0.003);
    m::core_rate_limit_hits_total(Bucket::Tenant, "t-1").increment(1);
    m::core_tenant_requests_total("t-1").increment(1);
    m::core_quota_exceeded_total(SessionType::User, Quota::Backpressure).increment(1);
    m::core_degraded_responses_total(Step::Reduced).increment(1);
    m::media_presign_total(true).increment(1);
    m::office_mcp_call_total(Tool::Sum, false, Some(ErrorToken::Backpressure)).increment(1);
    m::office_mcp_call_total(Tool::Sum, true, None).increment(1);
    m::office_mcp_call_duration_seconds(Tool::Sum).record(0.01);
    m::office_http_requests_total(Some(OfficeRoute::Mcp), Method::Post, Code::S200).increment(1);
    m::office_http_request_duration_seconds(Some(OfficeRoute::Mcp)).record(0.004);
    m::policy_proxy_http_requests_total(Some(PolicyProxyRoute::Eval), Method::Get, Code::S403).increment(1);
    m::policy_proxy_http_request_duration_seconds(None).record(0.001);
    m::office_ws_reconnect_duration_seconds().record(0.7);
    // The runtime's self-metrics: what the log plane counts, by the spec's names.
    m::obspec_log_dropped_total(Reason::QueueFull).increment(1);
    m::obspec_log_redacted_total(Reason::Forbidden).increment(1);
    m::obspec_limit_overflow_total().increment(1);
}

/// `name{labels} value` lines → family → set of label-name lists.
fn series(text: &str) -> BTreeMap<String, BTreeSet<Vec<String>>> {
    let mut out: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (head, _) = line.rsplit_once(' ').expect("a sample line has a value");
        let (name, labels) = match head.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (head, ""),
        };
        let names: Vec<String> = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').expect("a label pair").0.to_owned())
            .filter(|n| n != "le")
            .collect();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| m::METRICS.iter().any(|d| d.name == *f)))
            .unwrap_or(name);
        out.entry(family.to_owned()).or_default().insert(names);
    }
    out
}

#[test]
fn emitters_record_the_spec_series_and_promtool_accepts_the_scrape() {
    let exporter = m::install().unwrap();
    // Label overflows are counted under the spec's `label_overflow` self-metric.
    obspec::metrics::set_self_metrics(&obspec_generated::SELF_METRICS);
    touch_all();
    // `dest` admits 50 values (one used above): the last 9 of `d-0`..`d-57` fold into `other`.
    for i in 0..58 {
        m::webhook_delivery_total(&format!("d-{i}"), true).increment(1);
    }
    let text = exporter.render();
    assert_eq!(text, m::render());

    let got = series(&text);
    for d in &m::METRICS {
        let want: Vec<String> = d.labels.iter().map(|l| (*l).to_owned()).collect();
        let sets = got.get(d.name).unwrap_or_else(|| panic!("{} missing from the scrape:\n{text}", d.name));
        assert_eq!(sets, &BTreeSet::from([want]), "{}", d.name);
        let kind = d.kind.as_str();
        assert!(text.contains(&format!("# HELP {} {}\n# TYPE {} {kind}\n", d.name, d.help, d.name)), "{}", d.name);
    }
    let extra: Vec<&String> = got
        .keys()
        .filter(|k| !m::METRICS.iter().any(|d| d.name == *k))
        .collect();
    assert!(extra.is_empty(), "series the spec does not declare: {extra:?}");

    assert!(text.contains(r#"webhook_delivery_total{dest="other",ok="true"} 9"#), "{text}");
    let o = &obspec_generated::SELF_METRICS.label_overflow;
    let overflow = format!("{}{{{}=\"webhook_delivery_total\",{}=\"dest\"}} 9", o.name, o.labels[0], o.labels[1]);
    assert!(text.contains(&overflow), "{overflow}");
    // Routes are the component's enum: the spec's template, or `unmatched`.
    assert!(text.contains(r#"gateway_http_requests_total{route="/v1/rooms/:room_id",method="POST",code="503"} 2"#));
    assert!(text.contains(r#"core_http_requests_total{route="unmatched",method="GET",code="404"} 1"#), "{text}");
    assert!(text.contains(r#"office_mcp_call_total{tool="sum",ok="false",err="BACKPRESSURE"} 1"#));
    assert!(text.contains(r#"office_mcp_call_total{tool="sum",ok="true",err="NONE"} 1"#));
    assert!(text.contains(r#"gateway_http_request_duration_seconds_bucket{route="/v1/rooms/:room_id",le="0.05"} 1"#));
    assert!(text.contains(r#"gateway_http_request_duration_seconds_bucket{route="/v1/rooms/:room_id",le="+Inf"} 1"#));
    assert!(text.contains("office_ws_reconnect_duration_seconds_count 1\n"));
    assert!(text.contains("gateway_jwks_refresh_consecutive_failures 3\n"));
    // Buckets come from the spec, not the recorder's defaults.
    assert!(text.contains(r#"core_db_query_seconds_bucket{op="rooms.get",le="0.0025"} 0"#));

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (scripts/setup.sh)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let problems = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && problems.trim().is_empty(), "promtool check metrics:\n{problems}\n---\n{text}");
}
