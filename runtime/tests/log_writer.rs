//! The writer: never blocks the request path (drops and counts instead), rotates
//! daily into `<root>/logs/yyyy/mm/dd/<component>.ndjson`, and writes stdout JSONL.

#[path = "log_fixture.rs"]
mod fixture;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fixture::{Counting, KEEP_ALL, TempDir, latency, parse};
use obspec::log::{Emitted, FileSink, LineSink, LogPlane, UtcDay};

/// A sink stuck until the gate opens, as a slow disk would be.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>, Arc<AtomicU64>);

impl Gate {
    fn open(&self) {
        *self.0.0.lock().expect("lock") = true;
        self.0.1.notify_all();
    }
}

impl LineSink for Gate {
    fn write_line(&mut self, _: UtcDay, _: &[u8]) -> std::io::Result<()> {
        let mut open = self.0.0.lock().expect("lock");
        while !*open {
            open = self.0.1.wait(open).expect("wait");
        }
        self.1.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn overload_drops_and_counts_without_blocking() {
    let gate = Gate::default();
    let p = LogPlane::builder(&KEEP_ALL, "office")
        .sink(gate.clone())
        .queue_bytes(16 * 1024)
        .flush_interval(Duration::from_millis(1))
        .build()
        .expect("plane");
    let rec = Counting::default();
    let total = 50_000u64;
    let start = Instant::now();
    let mut dropped = 0u64;
    metrics::with_local_recorder(&rec, || {
        for i in 0..total {
            // Errors are always sampled, so every line reaches the queue.
            let r = p.line().route("/v1/rooms/:room_id").ok(false).u64(latency(), i).emit();
            if r == Emitted::Dropped {
                dropped += 1;
            }
        }
    });
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(5), "emit blocked: {elapsed:?}");
    let s = p.stats();
    assert!(dropped > total / 2, "dropped only {dropped}");
    assert_eq!(s.dropped, dropped);
    assert_eq!(s.queued + s.dropped, total);
    let m = &obspec_generated::SELF_METRICS.log_dropped;
    assert_eq!(rec.get(&format!("{}{{{}={}}}", m.name, m.labels[0], obspec::log::QUEUE_FULL)), dropped);

    gate.open();
    assert!(p.flush(Duration::from_secs(10)));
    assert_eq!(p.stats().written, s.queued);
    assert_eq!(gate.1.load(Ordering::Relaxed), s.queued);
}

static NOW_MS: AtomicU64 = AtomicU64::new(0);

fn pinned() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(NOW_MS.load(Ordering::Relaxed))
}

fn ms(y: u32, m: u32, d: u32, h: u64, min: u64, s: u64, milli: u64) -> u64 {
    u64::from(UtcDay::from_ymd(y, m, d).0) * 86_400_000 + ((h * 60 + min) * 60 + s) * 1000 + milli
}

#[test]
fn daily_rotation_by_utc_date_of_each_line() {
    let dir = TempDir::new("rotate");
    let build = || LogPlane::builder(&KEEP_ALL, "core").file(&dir.0).clock(pinned).build().expect("plane");
    let p = build();
    for (t, lat) in [
        (ms(2025, 12, 31, 23, 59, 59, 999), 1),
        (ms(2026, 1, 3, 23, 59, 59, 900), 2),
        (ms(2026, 1, 4, 0, 0, 0, 100), 3),
        (ms(2026, 1, 4, 12, 0, 0, 0), 4),
    ] {
        NOW_MS.store(t, Ordering::Relaxed);
        assert_eq!(p.line().route("/v1/rooms/:room_id/events").ok(false).u64(latency(), lat).emit(), Emitted::Queued);
    }
    assert!(p.flush(Duration::from_secs(5)));
    drop(p);
    // A restart the same day appends.
    let p = build();
    p.line().route("/v1/rooms/:room_id/events").ok(false).u64(latency(), 5).emit();
    p.shutdown();

    let read = |rel: &str| -> Vec<String> {
        let text = std::fs::read_to_string(dir.0.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        text.lines().map(str::to_owned).collect()
    };
    let d1 = read("logs/2025/12/31/core.ndjson");
    let d3 = read("logs/2026/01/03/core.ndjson");
    let d4 = read("logs/2026/01/04/core.ndjson");
    assert_eq!((d1.len(), d3.len(), d4.len()), (1, 1, 3));
    assert_eq!(parse(&d1)[0]["ts"], "2025-12-31T23:59:59.999Z");
    assert_eq!(parse(&d3)[0]["ts"], "2026-01-03T23:59:59.900Z");
    let lat: Vec<_> = parse(&d4).iter().map(|o| o["latency_ms"].as_u64()).collect();
    assert_eq!(lat, vec![Some(3), Some(4), Some(5)]);
    assert_eq!(
        FileSink::new("/r", "gateway").path_for(UtcDay::from_ymd(2026, 2, 9)),
        std::path::Path::new("/r/logs/2026/02/09/gateway.ndjson")
    );
}

#[test]
fn stdout_mode_writes_json_lines() {
    if std::env::var("OBSPEC_LOG_STDOUT_CHILD").is_ok() {
        let p = LogPlane::builder(&KEEP_ALL, "policy_proxy").stdout().build().expect("plane");
        p.line().route("/v1/rooms").ok(true).u64(latency(), 77).emit();
        p.shutdown();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "stdout_mode_writes_json_lines", "--nocapture", "--test-threads=1"])
        .env("OBSPEC_LOG_STDOUT_CHILD", "1")
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.find(r#"{"ts":"#).map(|i| l[i..].to_owned()))
        .unwrap_or_else(|| panic!("no JSON line in {stdout}"));
    let obj = &parse(&[line])[0];
    assert_eq!(obj["component"], "policy_proxy");
    assert_eq!(obj["latency_ms"], 77);
}
