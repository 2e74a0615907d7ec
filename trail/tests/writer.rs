//! Writer behaviour: durability receipts, chain resumption, torn-tail quarantine,
//! concurrent appenders, per-tenant signing, locking.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::common;

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;

use obspec_trail::canonical::{Object, TrailConfig};
use obspec_trail::chain;
use obspec_trail::sign::Signer;
use obspec_trail::writer::{Writer, WriterOptions, stream_path};
use obspec_trail::{Date, Error};

const DAY: &str = "2026-05-01";

fn day() -> Date {
    Date::parse(DAY).unwrap()
}

#[test]
fn appends_chain_and_resume_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
    let a = w.append(common::record("a", "t1", DAY)).unwrap();
    let b = w.append(common::record("b", "t1", DAY)).unwrap();
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_eq!(a.path, stream_path(dir.path(), "t1", day()));
    assert!(a.path.ends_with("audit/2026/05/01/t1.ndjson"));
    w.close().unwrap();
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
    assert!(w.recovered().is_empty());
    let c = w.append(common::record("c", "t1", DAY)).unwrap();
    assert_eq!(c.seq, 3);
    w.close().unwrap();
    assert_eq!(common::chain_ids(&a.path, "t1", day()), ["a", "b", "c"]);
}

#[test]
fn torn_tail_is_quarantined_reported_and_chain_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = stream_path(dir.path(), "t1", day());
    {
        let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
        w.append(common::record("a", "t1", DAY)).unwrap();
        w.append(common::record("b", "t1", DAY)).unwrap();
    }
    // Simulate a crash mid-write: half a record without its newline.
    let torn = br#"{"id":"c","ts":"2026-05-01T08:00:00.000Z","kind":"pol"#;
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(torn).unwrap();
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
    assert_eq!(w.recovered().len(), 1);
    let q = w.recovered()[0].clone();
    assert_eq!(q.stream_file, path);
    assert!(q.quarantine_file.to_string_lossy().ends_with("t1.ndjson.torn-1"));
    assert_eq!(std::fs::read(&q.quarantine_file).unwrap(), torn);
    assert_eq!(q.bytes, torn.len() as u64);
    let c = w.append(common::record("c", "t1", DAY)).unwrap();
    assert_eq!(c.seq, 3);
    w.close().unwrap();
    assert_eq!(common::chain_ids(&path, "t1", day()), ["a", "b", "c"]);
    // A second torn tail goes to a new quarantine file, never over the first.
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"id\"").unwrap();
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
    assert!(w.recovered()[0].quarantine_file.to_string_lossy().ends_with(".torn-2"));
    assert_eq!(std::fs::read(&q.quarantine_file).unwrap(), torn);
}

#[test]
fn a_file_with_only_a_torn_line_restarts_at_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let path = stream_path(dir.path(), "t1", day());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"{\"id\":").unwrap();
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
    assert_eq!(w.recovered().len(), 1);
    assert_eq!(w.append(common::record("a", "t1", DAY)).unwrap().seq, 1);
    w.close().unwrap();
    assert_eq!(common::chain_ids(&path, "t1", day()), ["a"]);
}

#[test]
fn concurrent_appenders_get_one_gapless_chain_per_stream() {
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let w = &w;
            s.spawn(move || {
                for i in 0..50 {
                    let tenant = if i % 2 == 0 { "t1" } else { "t2" };
                    w.append(common::record(&format!("{t}-{i}"), tenant, DAY)).unwrap();
                }
            });
        }
    });
    w.close().unwrap();
    let t1 = common::chain_ids(&stream_path(dir.path(), "t1", day()), "t1", day());
    let t2 = common::chain_ids(&stream_path(dir.path(), "t2", day()), "t2", day());
    assert_eq!((t1.len(), t2.len()), (100, 100));
    let all: BTreeSet<_> = t1.iter().chain(&t2).collect();
    assert_eq!(all.len(), 200);
}

#[test]
fn signs_only_the_tenants_whose_policy_asks() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Arc::new(Signer::from_seed("k1", &[9; 32]).unwrap());
    let opts = WriterOptions {
        signer: Some(signer.clone()),
        signed_tenants: ["t1".to_owned()].into(),
        ..WriterOptions::default()
    };
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), opts).unwrap();
    w.append(common::record("a", "t1", DAY)).unwrap();
    w.append(common::record("b", "t2", DAY)).unwrap();
    w.close().unwrap();
    let cfg = TrailConfig::blueprint_default();
    let l1 = std::fs::read(stream_path(dir.path(), "t1", day())).unwrap();
    let l2 = std::fs::read(stream_path(dir.path(), "t2", day())).unwrap();
    let i1 = chain::inspect_line(&cfg, l1.strip_suffix(b"\n").unwrap()).unwrap();
    let i2 = chain::inspect_line(&cfg, l2.strip_suffix(b"\n").unwrap()).unwrap();
    let s = i1.sig.unwrap();
    assert_eq!(s.kid, "k1");
    assert!(obspec_trail::sign::verify(
        &signer.verifying_key(),
        obspec_trail::sign::RECORD_DOMAIN,
        "k1",
        &i1.hash,
        &s.sig
    ));
    assert!(i2.sig.is_none());
    assert!(dir.path().join("keys/k1.pub").exists());
}

#[test]
fn rejects_bad_records_and_a_second_writer() {
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
    let with_meta = common::record("a", "t1", DAY).with("meta", Object::new());
    assert!(matches!(w.append(with_meta), Err(Error::InvalidRecord(_))));
    let float_like = common::record("a", "t1", DAY).with("data", Object::new().with("n", i64::MAX));
    assert!(matches!(w.append(float_like), Err(Error::NotCanonical(_))));
    let no_tenant = common::record("a", "t1", DAY).with("scope", Object::new());
    assert!(matches!(w.append(no_tenant), Err(Error::InvalidRecord(_))));
    // A rejected record does not consume a seq.
    assert_eq!(w.append(common::record("ok", "t1", DAY)).unwrap().seq, 1);
    assert!(matches!(
        Writer::open(dir.path(), TrailConfig::blueprint_default(), WriterOptions::default()),
        Err(Error::Locked(_))
    ));
}

#[test]
fn a_stream_starts_at_the_configured_schema_versions_genesis_and_resumes_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || TrailConfig { schema_version: 2, ..TrailConfig::blueprint_default() };
    let w = Writer::open(dir.path(), cfg(), WriterOptions::default()).unwrap();
    let a = w.append(common::record("a", "t1", DAY)).unwrap();
    w.close().unwrap();
    let w = Writer::open(dir.path(), cfg(), WriterOptions::default()).unwrap();
    w.append(common::record("b", "t1", DAY)).unwrap();
    w.close().unwrap();
    let bytes = std::fs::read(&a.path).unwrap();
    let first = bytes.split(|&b| b == b'\n').next().unwrap();
    let info = chain::inspect_line(&TrailConfig::blueprint_default(), first).unwrap();
    assert_eq!(chain::genesis_version(&info.prev, "t1", day()), Some(2));
    assert_ne!(info.prev, chain::genesis("t1", day()), "not the v1 genesis");
    // The chain reads through from either genesis, and the day seals.
    assert_eq!(common::chain_ids(&a.path, "t1", day()), ["a", "b"]);
    let signer = Signer::from_seed("k1", &[7; 32]).unwrap();
    obspec_trail::manifest::seal_day(dir.path(), day(), None, &signer).unwrap();
    assert!(TrailConfig { schema_version: 0, ..TrailConfig::blueprint_default() }.validate().is_err());
}
