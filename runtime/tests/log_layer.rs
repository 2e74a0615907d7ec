//! The tracing layer: allowed fields pass with their shapes, everything else is
//! dropped, redacted and counted; span fields flow into event lines.

#[path = "log_fixture.rs"]
mod fixture;

use std::time::Duration;

use fixture::{Counting, KEEP_ALL, parse};
use obspec::log::{LogPlane, MemorySink, REDACTED, Reason};
use tracing_subscriber::layer::SubscriberExt;

fn plane(mem: &MemorySink) -> LogPlane {
    LogPlane::builder(&KEEP_ALL, "core").memory(mem).build().expect("plane")
}

fn run(plane: &LogPlane, f: impl FnOnce()) {
    let sub = tracing_subscriber::registry().with(plane.layer());
    tracing::subscriber::with_default(sub, f);
    assert!(plane.flush(Duration::from_secs(5)));
}

#[test]
fn allowed_fields_are_written_in_schema_order() {
    let mem = MemorySink::new();
    let p = plane(&mem);
    run(&p, || {
        tracing::info!(
            latency_ms = 12,
            route = "/v1/rooms/:room_id",
            method = "GET",
            ok = true,
            code = 200u16,
            tenant = "t_01H",
            tool = "search.v2",
            trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    });
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    let tail = r#","component":"core","tenant":"t_01H","route":"/v1/rooms/:room_id","method":"GET","tool":"search.v2","ok":true,"code":200,"latency_ms":12,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#;
    assert!(l.starts_with(r#"{"ts":""#), "{l}");
    assert!(l.ends_with(tail), "{l}");
    assert_eq!(parse(&lines)[0]["ts"].as_str().map(str::len), Some(24));
}

#[test]
fn bad_values_are_redacted_and_unknown_forbidden_message_dropped() {
    let mem = MemorySink::new();
    let p = plane(&mem);
    let rec = Counting::default();
    metrics::with_local_recorder(&rec, || {
        run(&p, || {
            tracing::info!(
                route = "/v1/rooms/42",
                tenant = "has space",
                tool = r#"{"prompt":"hi"}"#,
                code = 777u32,
                latency_ms = -5i64,
                ok = "yes",
                err_token = "NOT_A_TOKEN",
                trace_id = "00000000000000000000000000000000",
                session_id = "é",
                user_email = "a@b.c",
                Payload = "secret",
                "ｐａｙｌｏａｄ" = "secret",
                "pаylоаd" = "secret",
                "req.prompt" = "secret",
                ts = "forged",
                "free text {} here",
                "message arg"
            );
        });
    });
    let lines = mem.lines();
    assert_eq!(lines.len(), 1, "an err_token (even redacted) makes it an error, kept");
    let obj = &parse(&lines)[0];
    for k in ["route", "tenant", "tool", "code", "latency_ms", "ok", "err_token", "trace_id", "session_id"] {
        assert_eq!(obj[k].as_str(), Some(REDACTED), "{k} in {}", lines[0]);
    }
    for k in ["user_email", "Payload", "ｐａｙｌｏａｄ", "pаylоаd", "req.prompt", "message"] {
        assert!(!obj.contains_key(k), "{k} leaked");
    }
    assert!(!lines[0].contains("secret") && !lines[0].contains("free text") && !lines[0].contains("forged"));
    let s = p.stats();
    assert_eq!(s.redacted(Reason::Invalid), 9);
    assert_eq!(s.redacted(Reason::Forbidden), 4);
    assert_eq!(s.redacted(Reason::Unknown), 1);
    assert_eq!(s.redacted(Reason::Message), 1);
    assert_eq!(s.redacted(Reason::Reserved), 1);
    // The spec's `log_redacted` self-metric, labelled by reason.
    let m = &obspec_generated::SELF_METRICS.log_redacted;
    let key = |r: Reason| format!("{}{{{}={}}}", m.name, m.labels[0], r.as_str());
    assert_eq!(rec.get(&key(Reason::Forbidden)), 4, "{:?}", rec.keys());
    assert_eq!(rec.get(&key(Reason::Message)), 1);
    assert_eq!(rec.get(&key(Reason::Invalid)), 9);
}

#[test]
fn span_fields_flow_into_event_lines() {
    let mem = MemorySink::new();
    let p = plane(&mem);
    run(&p, || {
        let req = tracing::info_span!(
            "request",
            trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
            tenant = "t1",
            route = "/v1/rooms",
            payload = "never"
        );
        let _g = req.enter();
        let inner = tracing::info_span!("db", session_id = tracing::field::Empty);
        inner.record("session_id", "s-9");
        let _g2 = inner.enter();
        tracing::info!(route = "/v1/rooms/:room_id", ok = true, latency_ms = 3);
    });
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    let obj = &parse(&lines)[0];
    assert_eq!(obj["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(obj["tenant"], "t1");
    assert_eq!(obj["session_id"], "s-9");
    assert_eq!(obj["route"], "/v1/rooms/:room_id", "the event's own value wins over the span's");
    assert!(!lines[0].contains("never"));
    assert_eq!(p.stats().redacted(Reason::Forbidden), 1);
}

#[test]
fn events_without_schema_fields_write_nothing() {
    let mem = MemorySink::new();
    let p = plane(&mem);
    run(&p, || {
        tracing::info!("user said {}", "hello world");
        tracing::warn!(prompt = "x", "dropped");
    });
    assert!(mem.lines().is_empty());
    assert_eq!(p.stats().redacted(Reason::Message), 2);
    assert_eq!(p.stats().redacted(Reason::Forbidden), 1);
}

#[test]
fn display_and_debug_values_are_checked_too() {
    let mem = MemorySink::new();
    let p = plane(&mem);
    let tenant = String::from("t-7");
    run(&p, || {
        tracing::info!(tenant = %tenant, tool = ?"search", node = %"a b", ok = true);
    });
    let obj = &parse(&mem.lines())[0];
    assert_eq!(obj["tenant"], "t-7");
    assert_eq!(obj["tool"], "search");
    assert_eq!(obj["node"], REDACTED);
}

#[test]
fn the_layer_samples_as_typed_lines_do_before_reading_values() {
    use fixture::{BLUEPRINT, trace_hex};
    let (layer_mem, typed_mem) = (MemorySink::new(), MemorySink::new());
    let build = |m: &MemorySink| LogPlane::builder(&BLUEPRINT, "core").memory(m).build().expect("plane");
    let (lp, tp) = (build(&layer_mem), build(&typed_mem));
    const N: u128 = 2000;
    let traces = || (0..N).map(|i| 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_0000 + i * 7919);
    run(&lp, || {
        for (i, t) in traces().enumerate() {
            let hex = trace_hex(t);
            if i % 2 == 0 {
                // The trace-id on the request span, the outcome on the event.
                let span = tracing::info_span!("request", trace_id = hex.as_str(), tenant = "t1");
                let _g = span.enter();
                tracing::info!(route = "/v1/rooms", ok = true, latency_ms = 3, prompt = "never");
            } else {
                tracing::info!(
                    route = "/v1/rooms",
                    ok = true,
                    latency_ms = 3,
                    trace_id = hex.as_str(),
                    prompt = "never"
                );
            }
        }
        // Errors are kept whatever their trace: by outcome, or by an error token set on a span.
        tracing::info!(route = "/v1/rooms", ok = false, trace_id = trace_hex(1).as_str());
        let span = tracing::info_span!("request", err_token = "RATE_LIMIT");
        let _g = span.enter();
        tracing::info!(route = "/v1/rooms", latency_ms = 1, trace_id = trace_hex(2).as_str());
    });
    for t in traces() {
        tp.line().route("/v1/rooms").ok(true).trace(t).emit();
    }
    assert!(tp.flush(Duration::from_secs(5)));
    let kept = |lines: &[String]| -> Vec<String> {
        parse(lines)
            .iter()
            .filter(|o| o.get("ok") == Some(&serde_json::Value::Bool(true)))
            .map(|o| o.get("trace_id").and_then(|t| t.as_str()).unwrap_or("").to_owned())
            .collect()
    };
    let (by_layer, by_line) = (kept(&layer_mem.lines()), kept(&typed_mem.lines()));
    assert!(
        !by_line.is_empty() && by_line.len() < N as usize / 2,
        "the spec's success rate samples: {}",
        by_line.len()
    );
    assert_eq!(by_layer, by_line, "the same traces kept, wherever the trace-id was recorded");
    let errors = parse(&layer_mem.lines())
        .iter()
        .filter(|o| o.get("ok") == Some(&serde_json::Value::Bool(false)) || o.contains_key("err_token"))
        .count();
    assert_eq!(errors, 2, "both errors kept");
    // A sampled-out event's forbidden key is still counted, once per event.
    assert_eq!(lp.stats().redacted(Reason::Forbidden), N as u64);
}

fn pinned() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_millis(1_767_443_696_789)
}

proptest::proptest! {
    /// A kept event formatted straight from its noted values (in no span)
    /// writes, and counts, exactly what the validated-record path does (taken
    /// when a span carries fields: here only a route the event overrides).
    #[test]
    fn direct_formatting_matches_the_record_path(
        route in proptest::sample::select(vec!["/v1/rooms/:room_id", "/v1/rooms", "/nope"]),
        method in proptest::sample::select(vec!["GET", "BREW"]),
        ok in proptest::bool::ANY,
        code in proptest::sample::select(vec![0u64, 200, 599, 777]),
        latency in proptest::sample::select(vec![-5i64, 0, 12]),
        tenant in proptest::sample::select(vec!["t_01H", "has space", "", "x123456789x123456789x123456789x123456789x123456789x123456789x123456789"]),
        tool in proptest::sample::select(vec!["search.v2", "Search"]),
        trace in proptest::sample::select(vec!["4bf92f3577b34da6a3ce929d0e0e4736", "zz", "00000000000000000000000000000000"]),
        text in proptest::sample::select(vec!["200", "true", "false", "12", "abc"]),
        float in proptest::sample::select(vec![3.0f64, 2.5, -1.0, f64::NAN]),
        shape in 0u8..4,
    ) {
        let (direct, record) = (MemorySink::new(), MemorySink::new());
        let build = |m: &MemorySink| {
            LogPlane::builder(&KEEP_ALL, "core").memory(m).clock(pinned).build().expect("plane")
        };
        let (a, b) = (build(&direct), build(&record));
        let event = || match shape {
            0 => tracing::info!(
                route = route, method = method, ok = ok, code = code, latency_ms = latency,
                tenant = tenant, tool = tool, trace_id = trace
            ),
            1 => tracing::info!(route = route, code = text, ok = text, latency_ms = float, tool = text, trace_id = trace),
            2 => tracing::info!(route = route, prompt = "never", nope = 1, latency_ms = text, tenant = tenant, "free {}", "text"),
            _ => tracing::info!(route = route, latency_ms = 1u128 << 70, code = -3i128, ok = ok, ok = !ok, tool = tool, tool = "a.b"),
        };
        run(&a, event);
        run(&b, || {
            let span = tracing::info_span!("request", route = "/v1/rooms");
            let _g = span.enter();
            event();
        });
        proptest::prop_assert_eq!(direct.lines(), record.lines());
        proptest::prop_assert_eq!(a.stats().redacted, b.stats().redacted);
        proptest::prop_assert_eq!(direct.lines().len(), 1);
    }
}
