//! The generated vocabulary drives the runtime: the log plane runs on the
//! spec's `LOG_SCHEMA`, and `obspec::http` answers with the spec's ErrorTokens.

use std::time::Duration;

use axum::response::IntoResponse;
use obspec::http::ApiError;
use obspec::log::{LogPlane, MemorySink};
use obspec_generated::{ErrorToken, LOG_SCHEMA};

#[test]
fn the_generated_log_schema_is_valid_and_matches_the_spec() {
    LOG_SCHEMA.validate().expect("generated schema is valid");
    let spec = obspec_tests::spec();
    let names: Vec<&str> = LOG_SCHEMA.fields.iter().map(|f| f.name).collect();
    let expected: Vec<&str> = spec.logs.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, expected);
    assert_eq!(LOG_SCHEMA.forbidden.len(), spec.logs.forbidden.len());
    assert_eq!(LOG_SCHEMA.sampling.success, spec.logs.sampling.success);
}

#[test]
fn a_plane_on_the_generated_schema_keeps_allowed_fields_and_drops_content() {
    let sink = MemorySink::new();
    let plane = LogPlane::builder(&LOG_SCHEMA, "core").memory(&sink).build().expect("plane");
    let subscriber = tracing_subscriber::layer::SubscriberExt::with(tracing_subscriber::registry(), plane.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(
            route = "/v1/rooms",
            ok = false,
            err_token = "BACKPRESSURE",
            code = 503u64,
            payload = "secret text"
        );
    });
    assert!(plane.flush(Duration::from_secs(5)));
    let lines = sink.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line: serde_json::Value = serde_json::from_str(&lines[0]).expect("json line");
    assert_eq!(line["route"], "/v1/rooms");
    assert_eq!(line["err_token"], "BACKPRESSURE");
    assert!(line.get("payload").is_none(), "{line}");
    assert!(!lines[0].contains("secret"), "{}", lines[0]);
}

#[test]
fn error_tokens_answer_with_the_spec_status_and_retry_after() {
    let spec = obspec_tests::spec();
    for def in &spec.error_tokens {
        let token = ErrorToken::from_wire(&def.token).expect("token in the generated enum");
        let response = ApiError::new(token).into_response();
        assert_eq!(response.status().as_u16(), def.http_status, "{}", def.token);
        let has_retry = response.headers().contains_key("retry-after");
        assert_eq!(has_retry, token.retry_after_required(), "{}", def.token);
    }
}

/// Where tests leave logs for `cargo xtask ci` to privacy-scan (§11.4).
fn test_log_root() -> std::path::PathBuf {
    obspec_tests::root().join("target/test-logs")
}

#[test]
fn request_logs_written_to_disk_hold_no_forbidden_content() {
    let plane = LogPlane::builder(&LOG_SCHEMA, "office").file(test_log_root()).build().expect("plane");
    let subscriber = tracing_subscriber::layer::SubscriberExt::with(tracing_subscriber::registry(), plane.layer());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..200u64 {
            // Callers try every way to smuggle content; the plane keeps only typed fields.
            tracing::info!(
                route = "/mcp",
                tool = "search",
                ok = i % 10 != 0,
                err_token = if i % 10 == 0 { "UPSTREAM_TIMEOUT" } else { "" },
                latency_ms = 12 + i,
                Payload = "{\"text\": \"hello there\"}",
                message_body = "private words",
                session_id = "not an id with spaces",
                trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
            );
        }
    });
    assert!(plane.flush(Duration::from_secs(5)));
    let mut files = Vec::new();
    let mut stack = vec![test_log_root()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("log dir").flatten() {
            if e.path().is_dir() { stack.push(e.path()) } else { files.push(e.path()) }
        }
    }
    assert!(!files.is_empty(), "the plane wrote no file");
    let findings = obspec::log::scan::scan_paths(&files, &LOG_SCHEMA);
    assert!(findings.is_empty(), "{findings:?}");
}
