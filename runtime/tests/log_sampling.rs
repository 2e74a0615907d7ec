//! Sampling: the spec's 1% for successes, 100% of errors, one decision per
//! trace-id, spike mode and per-route/per-tool overrides switched at run time.

#[path = "log_fixture.rs"]
mod fixture;

use std::time::Duration;

use fixture::{BLUEPRINT, LATENCY, TOOL, TempDir, parse};
use obspec::log::{Emitted, FlagOverride, FlagSource, LogPlane, MemorySink, SamplingFlags};

const N: u32 = 100_000;

fn plane() -> (LogPlane, MemorySink) {
    let mem = MemorySink::new();
    let p = LogPlane::builder(&BLUEPRINT, "core").memory(&mem).queue_bytes(64 << 20).build().expect("plane");
    (p, mem)
}

/// Emits `n` success lines on `route` (trace-ids from `trace`) and counts kept.
fn kept_successes(p: &LogPlane, n: u32, route: &'static str, trace: impl Fn(u32) -> Option<u128>) -> u32 {
    let mut kept = 0;
    for i in 0..n {
        let mut l = p.line();
        l.route(route).ok(true).u64(LATENCY, 5);
        if let Some(t) = trace(i) {
            l.trace(t);
        }
        if l.emit() == Emitted::Queued {
            kept += 1;
        }
    }
    kept
}

/// Random 128-bit trace-ids (splitmix over the index).
fn rand_trace(i: u32) -> u128 {
    let mut z = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (u128::from(z) << 64) | u128::from(z ^ (z >> 31)) | 1
}

/// Binomial tolerance: expected ± 5 standard deviations.
fn assert_rate(kept: u32, n: u32, rate: f64) {
    let mean = f64::from(n) * rate;
    let sd = (mean * (1.0 - rate)).sqrt();
    let (lo, hi) = (mean - 5.0 * sd, mean + 5.0 * sd);
    assert!(
        (lo..=hi).contains(&f64::from(kept)),
        "kept {kept} of {n}, expected {mean:.0} ± {:.0} (rate {rate})",
        5.0 * sd
    );
}

#[test]
fn successes_at_one_percent_errors_always() {
    let (p, mem) = plane();
    // Without trace-id: per-thread PRNG.
    assert_rate(kept_successes(&p, N, "/v1/rooms", |_| None), N, 0.01);
    // With random trace-ids: hash of the trace-id.
    assert_rate(kept_successes(&p, N, "/v1/rooms", |i| Some(rand_trace(i))), N, 0.01);
    // Every error is kept, whether signalled by ok=false or by an error token.
    for i in 0..N {
        let mut l = p.line();
        l.route("/v1/rooms").trace(rand_trace(i));
        if i % 2 == 0 {
            l.ok(false);
        } else {
            l.err_token("BACKPRESSURE");
        }
        assert_eq!(l.emit(), Emitted::Queued);
    }
    assert!(p.flush(Duration::from_secs(10)));
    let errors = mem.lines().iter().filter(|l| !l.contains(r#""ok":true"#)).count();
    assert_eq!(errors, N as usize);
    assert_eq!(p.stats().dropped, 0);
}

#[test]
fn decision_is_consistent_per_trace_id() {
    let (p, _mem) = plane();
    let traces = 5_000;
    let mut sampled_traces = 0;
    for t in 0..traces {
        let trace = rand_trace(t + 1_000_000);
        let kept: Vec<bool> =
            (0..8).map(|_| p.line().route("/v1/rooms/:id").ok(true).trace(trace).emit() == Emitted::Queued).collect();
        assert!(kept.iter().all(|k| *k == kept[0]), "trace {trace:x}: {kept:?}");
        if kept[0] {
            sampled_traces += 1;
        }
        // An error line of an unsampled trace is still kept.
        assert_eq!(p.line().ok(false).trace(trace).emit(), Emitted::Queued);
    }
    assert_rate(sampled_traces, traces, 0.01);
    assert_eq!(obspec::log::trace_coin(7), obspec::log::trace_coin(7));
}

#[test]
fn spike_mode_and_overrides_switch_at_run_time() {
    let (p, _mem) = plane();
    p.set_flags(SamplingFlags { spike: true, ..Default::default() });
    assert_rate(kept_successes(&p, N, "/v1/rooms", |i| Some(rand_trace(i))), N, 0.10);

    let warnings = p.set_flags(SamplingFlags {
        overrides: vec![
            FlagOverride { field: "route".into(), value: "/v1/rooms/:id".into(), rate: 0.25 },
            // Capped at max_override (0.5).
            FlagOverride { field: "tool".into(), value: "search".into(), rate: 0.9 },
            FlagOverride { field: "route".into(), value: "/nope".into(), rate: 0.9 },
        ],
        ..Default::default()
    });
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_rate(kept_successes(&p, 20_000, "/v1/rooms/:id", |_| None), 20_000, 0.25);
    assert_rate(kept_successes(&p, 20_000, "/v1/rooms", |_| None), 20_000, 0.01);
    let tool_kept = (0..20_000)
        .filter(|_| p.line().route("/v1/rooms").str(TOOL, "search").ok(true).emit() == Emitted::Queued)
        .count() as u32;
    assert_rate(tool_kept, 20_000, 0.5);

    // Back to the spec.
    p.set_flags(SamplingFlags::default());
    assert_rate(kept_successes(&p, N, "/v1/rooms/:id", |_| None), N, 0.01);
}

#[test]
fn flag_file_reload_and_poll() {
    let dir = TempDir::new("flags");
    let path = dir.0.join("log-flags.conf");
    std::fs::write(&path, "spike = on\n").expect("write");
    let mem = MemorySink::new();
    let p = LogPlane::builder(&BLUEPRINT, "core")
        .memory(&mem)
        .flags(FlagSource::none().with_file(&path))
        .build()
        .expect("plane");
    assert!(p.rates().spike_on);
    assert!((p.rates().spike - 0.10).abs() < 1e-9);

    std::fs::write(&path, "spike = off\noverride = route /v1/rooms 0.3\n").expect("write");
    assert!(p.rates().spike_on, "nothing changes before reload");
    assert_eq!(p.reload_flags().map(|w| w.len()), Ok(0));
    assert!(!p.rates().spike_on);
    let ov = p.rates().overrides;
    assert_eq!(ov.len(), 1);
    assert_eq!((ov[0].0.as_str(), ov[0].1.as_str()), ("route", "/v1/rooms"));
    assert!((ov[0].2 - 0.3).abs() < 1e-9);

    // A malformed file keeps the flags in force.
    std::fs::write(&path, "spike = maybe\n").expect("write");
    assert!(p.reload_flags().is_err());
    assert_eq!(p.rates().overrides.len(), 1);

    // The poller picks up a change by itself.
    let _poller = p.spawn_flag_poller(Duration::from_millis(10)).expect("poller");
    std::fs::write(&path, "success = 0.2\n").expect("write");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while (p.rates().success - 0.2).abs() > 1e-9 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!((p.rates().success - 0.2).abs() < 1e-9, "{:?}", p.rates());
    assert!(p.rates().overrides.is_empty());
}

#[test]
fn env_flags_in_a_child_process() {
    // Edition 2024 makes `set_var` unsafe (and unsafe code is forbidden here), so
    // the environment case runs this test binary again with the variables set.
    if std::env::var("OBSPEC_LOG_TEST_CHILD").is_ok() {
        let p = LogPlane::builder(&BLUEPRINT, "core")
            .memory(&MemorySink::new())
            .flags(FlagSource::env())
            .build()
            .expect("plane");
        let r = p.rates();
        assert!(r.spike_on);
        assert!((r.success - 0.05).abs() < 1e-9);
        assert_eq!(r.overrides.len(), 1);
        assert_eq!(r.overrides[0].1, "search");
        assert!((r.overrides[0].2 - 0.5).abs() < 1e-9, "capped at max_override");
        return;
    }
    let exe = std::env::current_exe().expect("exe");
    let out = std::process::Command::new(exe)
        .args(["--exact", "env_flags_in_a_child_process", "--nocapture"])
        .env("OBSPEC_LOG_TEST_CHILD", "1")
        .env("OBSPEC_LOG_SPIKE", "on")
        .env("OBSPEC_LOG_SUCCESS", "5%")
        .env("OBSPEC_LOG_OVERRIDE", "tool search 0.7")
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("1 passed"), "{stdout}");
}

#[test]
fn sampled_lines_are_complete() {
    let (p, mem) = plane();
    p.line().route("/v1/rooms").ok(false).err_token("RATE_LIMIT").u64(LATENCY, 9).emit();
    assert!(p.flush(Duration::from_secs(5)));
    let obj = &parse(&mem.lines())[0];
    assert_eq!(obj["err_token"], "RATE_LIMIT");
    assert_eq!(obj["ok"], false);
    assert_eq!(obj["latency_ms"], 9);
    assert_eq!(obj["component"], "core");
}
