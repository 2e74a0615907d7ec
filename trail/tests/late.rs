//! Late records: once a day is sealed, a record for it is refused
//! (`Error::DaySealed`), never acknowledged. Threads append to two days while
//! the first is sealed; every acknowledged id must then be in exactly one
//! sealed manifest's file, and every refused one in none.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use obspec_trail::canonical::TrailConfig;
use obspec_trail::manifest;
use obspec_trail::sign::Signer;
use obspec_trail::writer::{Writer, WriterOptions, stream_path};
use obspec_trail::{Date, Error};

const DAYS: [&str; 2] = ["2026-05-01", "2026-05-02"];

/// The ids in a sealed day's files, checking that each file is byte-identical to what was sealed.
fn sealed_ids(root: &std::path::Path, day: Date) -> Vec<String> {
    let m = manifest::load_manifest(root, day).unwrap().unwrap();
    let mut ids = Vec::new();
    for f in &m.files {
        let path = root.join(&f.path);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(blake3::hash(&bytes).as_bytes(), &f.blake3, "{} changed after its seal", f.path);
        ids.extend(common::chain_ids(&path, &f.tenant, day));
    }
    ids
}

#[test]
fn no_record_is_acknowledged_outside_a_sealed_day() {
    let signer = Signer::from_seed("k1", &[1; 32]).unwrap();
    let mut late = 0;
    for round in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let w = Writer::open(root, TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
        let acked = Mutex::new(Vec::<(usize, String)>::new());
        let refused = Mutex::new(Vec::<String>::new());
        let sent = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let (w, acked, refused, sent) = (&w, &acked, &refused, &sent);
                s.spawn(move || {
                    for i in 0..150 {
                        let day = (i + t) % 2;
                        let id = format!("r{round}-t{t}-{i}");
                        let tenant = if i % 3 == 0 { "t2" } else { "t1" };
                        sent.fetch_add(1, Ordering::SeqCst);
                        match w.append(common::record(&id, tenant, DAYS[day])) {
                            Ok(_) => acked.lock().unwrap().push((day, id)),
                            Err(Error::DaySealed { date, id: rid, .. }) => {
                                assert_eq!(date.to_string(), DAYS[0]);
                                assert_eq!(rid, id);
                                refused.lock().unwrap().push(id);
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                });
            }
            // Seal day 1 while the threads write (after a varying head start).
            let (sent, root) = (&sent, root);
            s.spawn(move || {
                while sent.load(Ordering::SeqCst) < 60 + round * 90 {
                    std::thread::yield_now();
                }
                manifest::seal_and_store(
                    root,
                    Date::parse(DAYS[0]).unwrap(),
                    &Signer::from_seed("k1", &[1; 32]).unwrap(),
                )
                .unwrap();
            });
        });
        w.close().unwrap();
        manifest::seal_and_store(root, Date::parse(DAYS[1]).unwrap(), &signer).unwrap();
        let acked = acked.into_inner().unwrap();
        let refused = refused.into_inner().unwrap();
        assert_eq!(acked.len() + refused.len(), 600);
        let in1: BTreeSet<String> = sealed_ids(root, Date::parse(DAYS[0]).unwrap()).into_iter().collect();
        let in2: BTreeSet<String> = sealed_ids(root, Date::parse(DAYS[1]).unwrap()).into_iter().collect();
        assert!(in1.is_disjoint(&in2));
        for (day, id) in &acked {
            let (mine, other) = if *day == 0 { (&in1, &in2) } else { (&in2, &in1) };
            assert!(mine.contains(id) && !other.contains(id), "acknowledged {id} is not in exactly one seal");
        }
        assert_eq!(in1.len() + in2.len(), acked.len(), "only acknowledged records are sealed");
        for id in &refused {
            assert!(!in1.contains(id) && !in2.contains(id), "refused {id} was written");
        }
        late += refused.len();
        // A new writer refuses too, and nothing is appended to the sealed file.
        let w = Writer::open(root, TrailConfig::blueprint_default(), WriterOptions::default()).unwrap();
        let before = std::fs::read(stream_path(root, "t1", Date::parse(DAYS[0]).unwrap())).unwrap();
        let err = w.append(common::record("late", "t1", DAYS[0])).unwrap_err();
        assert!(matches!(err, Error::DaySealed { .. }), "{err}");
        assert!(err.to_string().contains("already sealed"), "{err}");
        assert_eq!(std::fs::read(stream_path(root, "t1", Date::parse(DAYS[0]).unwrap())).unwrap(), before);
    }
    assert!(late > 0, "the seal never came while day 1 was being written");
}
