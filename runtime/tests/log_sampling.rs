//! Sampling: the spec's 1% for successes, 100% of errors, one decision per
//! trace-id, spike mode and per-route/per-tool overrides switched at run time.

#[path = "log_fixture.rs"]
mod fixture;

use std::sync::Arc;
use std::time::Duration;

use fixture::{BLUEPRINT, TempDir, latency, parse, tool};
use obspec::flags::{FlagRole, FlagSource, Flags};
use obspec::log::{Emitted, LogPlane, MemorySink};
use obspec_generated::{ErrorToken, FLAGS, flag_names};

const N: u32 = 100_000;

fn plane() -> (LogPlane, MemorySink) {
    let mem = MemorySink::new();
    let p = LogPlane::builder(&BLUEPRINT, "core").memory(&mem).queue_bytes(64 << 20).build().expect("plane");
    (p, mem)
}

fn plane_with(flags: &Arc<Flags>) -> LogPlane {
    let mem = MemorySink::new();
    LogPlane::builder(&BLUEPRINT, "core")
        .memory(&mem)
        .queue_bytes(64 << 20)
        .flags(flags.clone())
        .build()
        .expect("plane")
}

/// Emits `n` success lines on `route` (trace-ids from `trace`) and counts kept.
fn kept_successes(p: &LogPlane, n: u32, route: &'static str, trace: impl Fn(u32) -> Option<u128>) -> u32 {
    let mut kept = 0;
    for i in 0..n {
        let mut l = p.line();
        l.route(route).ok(true).u64(latency(), 5);
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
            l.err_token(ErrorToken::Backpressure.as_str());
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
        let kept: Vec<bool> = (0..8)
            .map(|_| p.line().route("/v1/rooms/:room_id").ok(true).trace(trace).emit() == Emitted::Queued)
            .collect();
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
    let flags = Arc::new(Flags::defaults(&FLAGS));
    let p = plane_with(&flags);
    assert_rate(kept_successes(&p, N, "/v1/rooms", |i| Some(rand_trace(i))), N, 0.01);
    flags.set_role(FlagRole::SamplingSpike, "on").expect("spike on");
    assert_rate(kept_successes(&p, N, "/v1/rooms", |i| Some(rand_trace(i))), N, BLUEPRINT.sampling.spike);
    flags.set_role(FlagRole::SamplingSpike, "off").expect("spike off");

    // Above the flag's bound: refused, the overrides in force stay.
    assert!(flags.set_role(FlagRole::SamplingOverrides, r#"{"search": 0.9}"#).is_err());
    flags
        .set_role(FlagRole::SamplingOverrides, r#"{"/v1/rooms/:room_id": 0.05, "search": 0.1, "/nope": 0.1}"#)
        .expect("overrides");
    let warnings = p.flag_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_rate(kept_successes(&p, 40_000, "/v1/rooms/:room_id", |_| None), 40_000, 0.05);
    assert_rate(kept_successes(&p, 40_000, "/v1/rooms", |_| None), 40_000, 0.01);
    let tool_kept = (0..40_000)
        .filter(|_| p.line().route("/v1/rooms").str(tool(), "search").ok(true).emit() == Emitted::Queued)
        .count() as u32;
    assert_rate(tool_kept, 40_000, 0.1);

    // Back to the spec.
    flags.set_role(FlagRole::SamplingOverrides, "{}").expect("no overrides");
    assert_rate(kept_successes(&p, N, "/v1/rooms/:room_id", |_| None), N, 0.01);
}

#[test]
fn flag_file_reload_and_poll() {
    let dir = TempDir::new("flags");
    let path = dir.0.join("flags.conf");
    std::fs::write(&path, format!("{} = on\n", flag_names::SAMPLING_SPIKE)).expect("write");
    let flags = Arc::new(Flags::load(&FLAGS, FlagSource::none().with_file(&path)).expect("flags"));
    let p = plane_with(&flags);
    assert!(p.rates().spike_on);
    assert!((p.rates().spike - BLUEPRINT.sampling.spike).abs() < 1e-9);

    std::fs::write(
        &path,
        format!("{} = off\n{} = {{\"/v1/rooms\": 0.03}}\n", flag_names::SAMPLING_SPIKE, flag_names::SAMPLING_OVERRIDES),
    )
    .expect("write");
    assert!(p.rates().spike_on, "nothing changes before reload");
    flags.reload().expect("reload");
    assert!(!p.rates().spike_on);
    let ov = p.rates().overrides;
    assert_eq!(ov.len(), 1);
    assert_eq!(ov[0].1.as_str(), "/v1/rooms");
    assert!((ov[0].2 - 0.03).abs() < 1e-9);

    // A malformed file keeps the flags in force, and says where.
    std::fs::write(&path, format!("{} = maybe\n", flag_names::SAMPLING_SPIKE)).expect("write");
    let err = flags.reload().expect_err("malformed");
    assert!(
        err.to_string().starts_with(&format!("{}:1: flag {}", path.display(), flag_names::SAMPLING_SPIKE)),
        "{err}"
    );
    assert_eq!(p.rates().overrides.len(), 1);

    // The poller picks up a change by itself.
    let _poller = flags.spawn_poller(Duration::from_millis(10)).expect("poller");
    std::fs::write(&path, format!("{} = 0.02\n", flag_names::SAMPLING_SUCCESS_RATE)).expect("write");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while (p.rates().success - 0.02).abs() > 1e-9 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!((p.rates().success - 0.02).abs() < 1e-9, "{:?}", p.rates());
    assert!(p.rates().overrides.is_empty());
}

#[test]
fn sampled_lines_are_complete() {
    let (p, mem) = plane();
    p.line().route("/v1/rooms").ok(false).err_token(ErrorToken::RateLimit.as_str()).u64(latency(), 9).emit();
    assert!(p.flush(Duration::from_secs(5)));
    let obj = &parse(&mem.lines())[0];
    assert_eq!(obj["err_token"], ErrorToken::RateLimit.as_str());
    assert_eq!(obj["ok"], false);
    assert_eq!(obj["latency_ms"], 9);
    assert_eq!(obj["component"], "core");
}
