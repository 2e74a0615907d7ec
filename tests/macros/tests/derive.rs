//! What the derives generate, run against the runtime.

use obspec::event::{LogEvent, TrailData, TrailEnum, TrailError, TrailValue};
use obspec::log::{LogPlane, LogSchema, MemorySink};
use obspec_generated::{ErrorToken, LOG_SCHEMA};

/// The spec's log schema (generated: the order `LogEvent` slots assume),
/// keeping every line.
static SCHEMA: LogSchema = LOG_SCHEMA.keep_all();

#[derive(obspec_macros::LogEvent)]
struct Served<'a> {
    route: &'static str,
    method: &'static str,
    tenant: &'a str,
    session_id: String,
    ok: bool,
    code: u16,
    latency_ms: u32,
    bytes_out: usize,
    err_token: Option<ErrorToken>,
    trace_id: Option<u128>,
}

#[test]
fn log_event_fills_a_typed_line() {
    let mem = MemorySink::new();
    let plane = LogPlane::builder(&SCHEMA, "core").memory(&mem).build().unwrap();
    let ev = Served {
        route: "/v1/rooms/:room_id",
        method: "GET",
        tenant: "t-1",
        session_id: "s-9".to_owned(),
        ok: false,
        code: 404,
        latency_ms: 12,
        bytes_out: 300,
        err_token: Some(ErrorToken::NotFound),
        trace_id: None,
    };
    let mut line = plane.line();
    ev.fill(&mut line);
    line.emit();
    plane.flush(std::time::Duration::from_secs(5));
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].ends_with(
            r#""component":"core","tenant":"t-1","route":"/v1/rooms/:room_id","method":"GET","session_id":"s-9","ok":false,"err_token":"NOT_FOUND","code":404,"latency_ms":12,"bytes_out":300}"#
        ),
        "{}",
        lines[0]
    );
}

#[derive(obspec_macros::TrailData)]
#[trail(kind = "office.tool_call")]
struct ToolCall<'a> {
    tool: &'a str,
    ok: bool,
    arg_ids: Vec<String>,
    arg_count: u32,
    cost_calls: u64,
}

#[derive(Clone, Copy)]
enum Stage {
    Current,
    Next,
}

impl TrailEnum for Stage {
    fn as_trail_str(&self) -> &'static str {
        match self {
            Stage::Current => "current",
            Stage::Next => "next",
        }
    }
}

#[derive(obspec_macros::TrailData)]
#[trail(kind = "ops.reload")]
struct Reload {
    stage: Stage,
    ok: bool,
}

#[derive(obspec_macros::TrailData)]
#[trail(kind = "webhook.delivery_min")]
struct Delivery<'a> {
    dest: &'a str,
    state: &'a str,
    attempt: u64,
}

#[test]
fn trail_data_is_sorted_and_checked() {
    let call =
        ToolCall { tool: "search", ok: true, arg_ids: vec!["a1".into(), "b2".into()], arg_count: 2, cost_calls: 1 };
    assert_eq!(ToolCall::KIND, "office.tool_call");
    let data = call.trail_data().unwrap();
    let keys: Vec<&str> = data.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["arg_count", "arg_ids", "cost_calls", "ok", "tool"]);
    assert_eq!(data[1].1, TrailValue::List(vec!["a1", "b2"]));
    assert_eq!(
        call.trail_json().unwrap().to_string(),
        r#"{"arg_count":2,"arg_ids":["a1","b2"],"cost_calls":1,"ok":true,"tool":"search"}"#
    );
    assert_eq!(
        Reload { stage: Stage::Next, ok: true }.trail_json().unwrap().to_string(),
        r#"{"ok":true,"stage":"next"}"#
    );
    let _ = Stage::Current;

    let bad = Delivery { dest: "d1", state: "lost", attempt: 1 };
    assert!(matches!(bad.trail_data(), Err(TrailError::NotInEnum { field: "state", .. })));
    let huge = Delivery { dest: "d1", state: "failed", attempt: 1 << 60 };
    assert_eq!(huge.trail_data().unwrap_err(), TrailError::TooLarge { field: "attempt" });
}

#[derive(Debug, obspec_macros::ErrorToken)]
enum MyErr {
    #[token(NOT_FOUND)]
    Missing,
    #[token("BACKPRESSURE")]
    Busy { retry_ms: u64 },
    #[token(INTERNAL)]
    Io(std::io::ErrorKind),
}

#[test]
fn error_token_maps_every_variant() {
    assert_eq!(MyErr::Missing.error_token(), ErrorToken::NotFound);
    assert_eq!(MyErr::Busy { retry_ms: 5 }.error_token(), ErrorToken::Backpressure);
    assert_eq!(ErrorToken::from(&MyErr::Io(std::io::ErrorKind::Other)), ErrorToken::Internal);
    if let MyErr::Busy { retry_ms } = (MyErr::Busy { retry_ms: 1 }) {
        assert_eq!(retry_ms, 1);
    }
    if let MyErr::Io(kind) = MyErr::Io(std::io::ErrorKind::Other) {
        assert_eq!(kind, std::io::ErrorKind::Other);
    }
}
