//! The scanner finds planted forbidden keys and free text with the right file
//! and line, and stays quiet on clean logs, trails and expositions.

#[path = "log_fixture.rs"]
mod fixture;

use std::path::Path;

use fixture::{BLUEPRINT, TempDir};
use obspec::log::scan::{Finding, FindingKind, Format, Scanner, scan_paths};

fn at(findings: &[Finding], file: &str) -> Vec<(usize, FindingKind)> {
    findings.iter().filter(|f| f.path.ends_with(file)).map(|f| (f.line, f.kind)).collect()
}

#[test]
fn finds_planted_content_with_file_and_line() {
    let dir = TempDir::new("scan");
    let logs = dir.0.join("logs/2026/01/03");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let clean = r#"{"ts":"2026-01-03T12:34:56.789Z","component":"core","route":"/v1/rooms/:room_id","ok":true,"latency_ms":12,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","tenant":"[redacted]"}"#;
    let log = [
        clean,
        r#"{"ts":"2026-01-03T12:34:57.000Z","Payload":"x"}"#,
        clean,
        r#"{"ts":"2026-01-03T12:34:57.000Z","meta":{"ｐｒｏｍｐｔ":"x"}}"#,
        r#"{"ts":"2026-01-03T12:34:57.000Z","tool":"hello world"}"#,
        "plain text line",
        r#"{"node":"{\"body\":\"hi\"}"}"#,
        r#"{"list":[{"mеssage":"x"}]}"#,
        r#"{"pay\u200bload":1}"#,
        "",
        r#"{"tenant":"olá"}"#,
    ]
    .join("\n");
    std::fs::write(logs.join("core.ndjson"), log).expect("write");

    let trail = [
        r#"{"id":"t1","ts":"2026-01-03T12:00:00Z","kind":"office.tool_call","scope":"room:r1","actor":"u:1","refs":[],"data":{"tool":"search","args_min":{"ids":["a1"],"n":3}},"meta":{},"sig":"ed25519:AbC+/="}"#,
        r#"{"id":"t2","kind":"office.event","data":{"args":{"q":"x"}}}"#,
    ]
    .join("\n");
    std::fs::write(dir.0.join("audit.ndjson"), trail).expect("write");

    let prom = "\
# HELP office_mcp_call_total Calls by tool and outcome, free text is fine here.
# TYPE office_mcp_call_total counter
office_mcp_call_total{tool=\"search\",ok=\"true\"} 12
gateway_http_request_duration_seconds_bucket{route=\"/v1/rooms/:room_id\",le=\"+Inf\"} 3 1700000000000
office_mcp_call_total{tool=\"search\",prompt=\"x\"} 1
office_mcp_call_total{tool=\"tell me \\\"everything\\\"\"} 1
this is not a sample
";
    std::fs::write(dir.0.join("metrics.prom"), prom).expect("write");

    let findings = scan_paths(&[&dir.0], &BLUEPRINT);
    for f in &findings {
        assert!(!f.to_string().contains("everything") && !f.to_string().contains("hello"), "{f}");
    }
    use FindingKind::*;
    assert_eq!(
        at(&findings, "core.ndjson"),
        vec![
            (2, ForbiddenKey),
            (4, ForbiddenKey),
            (5, FreeText),
            (6, NotJson),
            (7, FreeText),
            (7, ForbiddenKey),
            (8, ForbiddenKey),
            (9, ForbiddenKey),
            (11, FreeText)
        ],
        "{findings:#?}"
    );
    assert_eq!(at(&findings, "audit.ndjson"), vec![(2, ForbiddenKey)], "args_min is allowed, args is not");
    assert_eq!(at(&findings, "metrics.prom"), vec![(5, ForbiddenKey), (6, FreeText), (7, NotExposition)]);
    assert_eq!(findings.len(), 13);
    let first = findings
        .iter()
        .find(|f| f.line == 2 && f.path.ends_with("core.ndjson"))
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(first.ends_with("core.ndjson:2: forbidden-key: key $.Payload folds to forbidden \"payload\""), "{first}");
}

#[test]
fn free_text_heuristics() {
    let s = Scanner::new(&["payload"]);
    for bad in ["a b", "{\"a\":1}", "[1,2]", "olá", "semi;colon", "q?", &"x".repeat(129), "tab\there"] {
        assert!(s.free_text(bad).is_some(), "{bad:?}");
    }
    for good in
        ["[redacted]", "/v1/rooms/:room_id", "2026-01-03T12:34:56.789Z", "ses_01H:x-y.z", "+Inf", "ed25519:AbC+/="]
    {
        assert_eq!(s.free_text(good), None, "{good:?}");
    }
    let f = s.scan_text(Path::new("x"), "{\"a\":1}\n[1]\n", Format::Ndjson);
    assert_eq!(f.iter().map(|f| (f.line, f.kind)).collect::<Vec<_>>(), vec![(2, FindingKind::NotJson)]);
    let missing = s.scan_paths(&[Path::new("/nonexistent/obspec")]);
    assert_eq!(missing.first().map(|f| f.kind), Some(FindingKind::Unreadable));
}
