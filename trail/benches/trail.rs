//! Throughput of the trail: records appended per second before fsync
//! (serialisation + hash + chain, unsigned and signed) and records verified
//! per second (unsigned, signed with `verify_strict`, signed in batches),
//! each beside a baseline of serde_json + SHA-256 in the same run; then a
//! one-shot timing of verifying a 1M-record day bundle.
//!
//! Run: `cargo bench -p obspec-trail --bench trail -- --warm-up-time 1 --measurement-time 2`.

#![allow(clippy::unwrap_used)] // A benchmark that cannot set up should stop loudly.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use obspec_trail::canonical::{Object, Record, TrailConfig, Value};
use obspec_trail::chain::{self, ChainHead};
use obspec_trail::sign::{self, Signer};
use obspec_trail::verify::{self, Report, VerifyOptions};
use obspec_trail::writer::{self, encode_next, encode_next_into};
use obspec_trail::{Date, bundle, manifest};
use sha2::{Digest, Sha256};

const N: usize = 1000;
const DAY: &str = "2026-05-01";

fn record(i: usize) -> Record {
    Record::new()
        .with("id", format!("01J{i:023}"))
        .with("ts", format!("{DAY}T12:00:00.{:03}Z", i % 1000))
        .with("kind", "office.tool_call")
        .with("scope", Object::new().with("tenant", "t1").with("room", "r-42"))
        .with("actor", Object::new().with("id", "u-7").with("type", "user"))
        .with("refs", Value::Array(vec![Value::from("doc-1"), Value::from("doc-2")]))
        .with(
            "data",
            Object::new()
                .with("tool", "search")
                .with("args_min", Object::new().with("k", 10).with("types", "pdf"))
                .with("cost", 123),
        )
}

fn json_record(i: usize) -> serde_json::Value {
    serde_json::json!({
        "id": format!("01J{i:023}"),
        "ts": format!("{DAY}T12:00:00.{:03}Z", i % 1000),
        "kind": "office.tool_call",
        "scope": {"tenant": "t1", "room": "r-42"},
        "actor": {"id": "u-7", "type": "user"},
        "refs": ["doc-1", "doc-2"],
        "data": {"tool": "search", "args_min": {"k": 10, "types": "pdf"}, "cost": 123},
    })
}

fn day() -> Date {
    Date::parse(DAY).unwrap()
}

fn signer() -> Signer {
    Signer::from_seed("k1", &[5; 32]).unwrap()
}

/// Encodes `n` records as a stream file.
fn stream(n: usize, signer: Option<&Signer>) -> Vec<u8> {
    let cfg = TrailConfig::blueprint_default();
    let mut head = ChainHead::genesis("t1", day());
    let mut out = Vec::new();
    for i in 0..n {
        encode_next_into(&cfg, &record(i), &mut head, signer, &mut out).unwrap();
    }
    out
}

fn append(c: &mut Criterion) {
    let cfg = TrailConfig::blueprint_default();
    let records: Vec<Record> = (0..N).map(record).collect();
    let jsons: Vec<serde_json::Value> = (0..N).map(json_record).collect();
    let s = signer();
    let mut g = c.benchmark_group("append_before_fsync");
    g.throughput(Throughput::Elements(N as u64));
    // What the writer thread does per record: borrowed record → batch buffer, hashed in place.
    let mut buf = Vec::with_capacity(N * 512);
    g.bench_function("obspec_unsigned", |b| {
        b.iter(|| {
            let mut head = ChainHead::genesis("t1", day());
            buf.clear();
            for r in &records {
                black_box(encode_next_into(&cfg, r, &mut head, None, &mut buf).unwrap());
            }
            black_box(&buf);
        })
    });
    g.bench_function("obspec_signed", |b| {
        b.iter(|| {
            let mut head = ChainHead::genesis("t1", day());
            buf.clear();
            for r in &records {
                black_box(encode_next_into(&cfg, r, &mut head, Some(&s), &mut buf).unwrap());
            }
            black_box(&buf);
        })
    });
    // The previous path, for comparison: clone, set `meta` as a value, serialise into a new line.
    g.bench_function("obspec_unsigned_tree_previous", |b| {
        b.iter(|| {
            let mut head = ChainHead::genesis("t1", day());
            for r in &records {
                let mut r = r.clone();
                black_box(encode_next(&cfg, &mut r, &mut head, None).unwrap());
            }
        })
    });
    g.bench_function("baseline_serde_json_sha256", |b| {
        b.iter(|| {
            let mut prev = [0u8; 32];
            for (i, j) in jsons.iter().enumerate() {
                let mut j = j.clone();
                j["meta"] = serde_json::json!({"seq": i + 1, "prev": hex(&prev)});
                let mut line = serde_json::to_vec(&j).unwrap();
                prev = Sha256::digest(&line).into();
                line.push(b'\n');
                black_box(line);
            }
        })
    });
    g.finish();
}

fn hex(b: &[u8]) -> String {
    obspec_trail::hex::encode(b)
}

fn verify_stream(cfg: &TrailConfig, bytes: &[u8], keys: Option<(&ed25519_dalek::VerifyingKey, bool)>) {
    verify_stream_with(cfg, bytes, keys, chain::inspect_line)
}

fn verify_stream_with(
    cfg: &TrailConfig,
    bytes: &[u8],
    keys: Option<(&ed25519_dalek::VerifyingKey, bool)>,
    inspect: fn(&TrailConfig, &[u8]) -> obspec_trail::Result<chain::LineInfo>,
) {
    let mut head = ChainHead::genesis("t1", day());
    let mut batch: Vec<(Vec<u8>, ed25519_dalek::Signature)> = Vec::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let info = inspect(cfg, line).unwrap();
        head.advance("t1", day(), &info).unwrap();
        if let (Some((key, batched)), Some(s)) = (keys, &info.sig) {
            if batched {
                batch.push((
                    sign::message(sign::RECORD_DOMAIN, &s.kid, &info.hash),
                    ed25519_dalek::Signature::from_bytes(&s.sig),
                ));
            } else {
                assert!(sign::verify(key, sign::RECORD_DOMAIN, &s.kid, &info.hash, &s.sig));
            }
        }
    }
    if let Some((key, true)) = keys {
        for chunk in batch.chunks(256) {
            let msgs: Vec<&[u8]> = chunk.iter().map(|(m, _)| m.as_slice()).collect();
            let sigs: Vec<_> = chunk.iter().map(|(_, s)| *s).collect();
            let ks = vec![*key; chunk.len()];
            ed25519_dalek::verify_batch(&msgs, &sigs, &ks).unwrap();
        }
    }
}

fn verify(c: &mut Criterion) {
    let cfg = TrailConfig::blueprint_default();
    let unsigned = stream(N, None);
    let s = signer();
    let signed = stream(N, Some(&s));
    let key = s.verifying_key();
    let jsonl: Vec<Vec<u8>> = (0..N).map(|i| serde_json::to_vec(&json_record(i)).unwrap()).collect();
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("obspec_unsigned_chain", |b| b.iter(|| verify_stream(&cfg, &unsigned, None)));
    g.bench_function("obspec_unsigned_chain_tree_previous", |b| {
        b.iter(|| verify_stream_with(&cfg, &unsigned, None, chain::inspect_line_reference))
    });
    g.bench_function("obspec_signed_verify_strict", |b| b.iter(|| verify_stream(&cfg, &signed, Some((&key, false)))));
    g.bench_function("obspec_signed_verify_batch", |b| b.iter(|| verify_stream(&cfg, &signed, Some((&key, true)))));
    g.bench_function("baseline_serde_json_sha256", |b| {
        b.iter(|| {
            for l in &jsonl {
                let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                black_box(v);
                black_box(Sha256::digest(l));
            }
        })
    });
    g.finish();
}

/// Paired rounds: each round times one 1,000-record batch of obspec and one
/// of its baseline back to back (order alternating), so a change of load on a
/// shared machine hits both; prints the median rates and the median and
/// quartiles of the per-round ratios.
fn paired() {
    let rounds = 300;
    let cfg = TrailConfig::blueprint_default();
    let records: Vec<Record> = (0..N).map(record).collect();
    let jsons: Vec<serde_json::Value> = (0..N).map(json_record).collect();
    let mut buf = Vec::with_capacity(N * 512);
    let mut append_obspec = || {
        let mut head = ChainHead::genesis("t1", day());
        buf.clear();
        for r in &records {
            black_box(encode_next_into(&cfg, r, &mut head, None, &mut buf).unwrap());
        }
    };
    let mut append_baseline = || {
        let mut prev = [0u8; 32];
        for (i, j) in jsons.iter().enumerate() {
            let mut j = j.clone();
            j["meta"] = serde_json::json!({"seq": i + 1, "prev": hex(&prev)});
            let mut line = serde_json::to_vec(&j).unwrap();
            prev = Sha256::digest(&line).into();
            line.push(b'\n');
            black_box(line);
        }
    };
    report_paired("append_before_fsync unsigned", rounds, &mut append_obspec, &mut append_baseline);
    let unsigned = stream(N, None);
    let jsonl: Vec<Vec<u8>> = (0..N).map(|i| serde_json::to_vec(&json_record(i)).unwrap()).collect();
    let mut verify_obspec = || verify_stream(&cfg, &unsigned, None);
    let mut verify_baseline = || {
        for l in &jsonl {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            black_box(v);
            black_box(Sha256::digest(l));
        }
    };
    report_paired("verify unsigned chain", rounds, &mut verify_obspec, &mut verify_baseline);
}

fn report_paired(what: &str, rounds: usize, obspec: &mut dyn FnMut(), baseline: &mut dyn FnMut()) {
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    for _ in 0..10 {
        obspec();
        baseline();
    }
    let (mut a, mut b, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let (ta, tb) = if r % 2 == 0 {
            let ta = time(obspec);
            (ta, time(baseline))
        } else {
            let tb = time(baseline);
            (time(obspec), tb)
        };
        a.push(N as f64 / ta);
        b.push(N as f64 / tb);
        ratio.push(tb / ta);
    }
    let median = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q) as usize]
    };
    eprintln!(
        "paired {what} ({rounds} rounds of {N}): obspec {:.0} k/s, baseline {:.0} k/s, ratio median {:.2}x [p25 {:.2}, p75 {:.2}]",
        median(&mut a, 0.5) / 1e3,
        median(&mut b, 0.5) / 1e3,
        median(&mut ratio, 0.5),
        median(&mut ratio, 0.25),
        median(&mut ratio, 0.75),
    );
}

/// User + system CPU time of this process so far (Linux `/proc/self/stat`, in
/// clock ticks of 1/100 s; 0 elsewhere). Shows how many cores the verifier kept
/// busy, which wall time alone cannot on a machine shared by other jobs.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name `(…)`: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// One-shot: a 1M-record day, sealed, bundled and verified.
fn million_record_day() {
    let n: usize = std::env::var("TRAIL_BENCH_DAY_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("obspec-trail-bench-{}", std::process::id()));
    let path = writer::stream_path(&dir, "t1", day());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let t = Instant::now();
    std::fs::write(&path, stream(n, None)).unwrap();
    let encode = t.elapsed();
    let t = Instant::now();
    let m = manifest::seal_day(&dir, day(), None, &signer()).unwrap();
    let seal = t.elapsed();
    sign::store_public_key(&dir, "k1", &signer().verifying_key()).unwrap();
    manifest::store_manifest(&dir, &m).unwrap();
    let entries = bundle::bundle_entries(&dir, day(), day(), None).unwrap();
    let t = Instant::now();
    let cpu = cpu_seconds();
    let mut report = Report::default();
    verify::verify_entries(&entries, &VerifyOptions::default(), &mut report);
    let verify_time = t.elapsed();
    let verify_cpu = cpu_seconds() - cpu;
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, n as u64);
    // Optionally the whole path of `obspec-trail verify` on the `.tar.gz`
    // (gunzip + tar reading + verify), with the caps raised to fit the day.
    if std::env::var_os("TRAIL_BENCH_TAR").is_some() {
        let t = Instant::now();
        let mut tgz = Vec::new();
        bundle::write_tar_gz(&entries, &mut tgz).unwrap();
        let pack = t.elapsed();
        drop(entries);
        let opts = VerifyOptions { max_entry_bytes: 1 << 30, max_total_bytes: 1 << 30, ..VerifyOptions::default() };
        let t = Instant::now();
        let r = verify::verify_bytes(&tgz, &opts);
        let tar_time = t.elapsed();
        assert!(r.is_ok(), "{r}");
        eprintln!(
            "one-shot day as .tar.gz ({} MB compressed): write {:.2}s, verify_bytes {:.2}s",
            tgz.len() >> 20,
            pack.as_secs_f64(),
            tar_time.as_secs_f64()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "one-shot day of {n} records ({threads} cores): encode (build + write records) {:.2}s, seal_day {:.2}s, verify bundle {:.2}s ({:.0} records/s; {:.2} CPU-s, {:.2} cores busy)",
        encode.as_secs_f64(),
        seal.as_secs_f64(),
        verify_time.as_secs_f64(),
        n as f64 / verify_time.as_secs_f64(),
        verify_cpu,
        verify_cpu / verify_time.as_secs_f64(),
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    append(&mut c);
    verify(&mut c);
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        paired();
        million_record_day();
    }
}
