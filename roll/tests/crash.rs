//! Crash during the roll: the real `obspec-roll` binary is SIGKILLed at 20
//! points (after a seal, inside a multipart upload, between a put and its
//! read-back, between the uploads and the spool deletion, mid-deletion, after
//! a checkpoint, ...), sometimes killed again during the rerun, then rerun to
//! completion. Each time: every day is sealed exactly once (one manifest per
//! day, chained, listing every file as it was written), the store verifies
//! against the published checkpoint with the trusted key, and no spool file is
//! lost (each is in the store byte for byte, and gone from the spool).

#![allow(clippy::unwrap_used)]

use crate::common::*;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use obspec_roll::open_store;
use obspec_trail::Date;
use obspec_trail::manifest;

const DAYS: [&str; 3] = ["2026-05-01", "2026-05-02", "2026-05-03"];

/// Runs `obspec-roll roll` with the fault hook armed at `at` (or not at all).
/// Returns the fault points passed and whether it was killed.
fn roll_once(spool: &Path, store: &Path, seed: &Path, at: Option<u64>) -> (Vec<String>, bool) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_obspec-roll"));
    cmd.arg("roll")
        .arg("--spool")
        .arg(spool)
        .arg("--store")
        .arg(store)
        .args(["--date", DAYS[2], "--kid", KID, "--multipart-chunk", "300", "--key-seed"])
        .arg(seed)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(at) = at {
        cmd.env(obspec_roll::fault::FAULT_ENV, at.to_string());
    }
    let mut child = cmd.spawn().unwrap();
    let mut points = Vec::new();
    let mut other = String::new();
    let mut killed = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        match line.strip_prefix("obspec-roll: fault point ") {
            Some(p) => {
                let (k, name) = p.split_once(' ').unwrap();
                points.push(name.to_owned());
                if Some(k.parse::<u64>().unwrap()) == at {
                    // SIGKILL: no destructor, no flush, no cleanup runs in the child.
                    child.kill().unwrap();
                    killed = true;
                    break;
                }
            }
            None => other.push_str(&line),
        }
    }
    let status = child.wait().unwrap();
    assert!(killed || status.success(), "roll failed ({status}): {other}");
    (points, killed)
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// The spool's files (relative path → bytes).
fn snapshot(spool: &Path) -> BTreeMap<String, Vec<u8>> {
    spool_files(spool)
        .into_iter()
        .map(|p| (p.strip_prefix(spool).unwrap().to_str().unwrap().to_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

#[tokio::test]
async fn sigkill_anywhere_in_the_roll_loses_nothing_and_seals_once() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let seed = write_seed(tmp.path());
    // The census: every fault point of a full roll, in order.
    let census_spool = tmp.path().join("census");
    write_spool(&census_spool, &DAYS, 4);
    let (points, _) = roll_once(&census_spool, &tmp.path().join("census-store"), &seed, Some(u64::MAX));
    let at = |name: &str, nth: usize| -> u64 {
        let ks: Vec<usize> = points.iter().enumerate().filter(|(_, p)| *p == name).map(|(k, _)| k + 1).collect();
        assert!(!ks.is_empty(), "no fault point {name:?} in {points:?}");
        ks[nth % ks.len()] as u64
    };
    let total = points.len() as u64;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut killed_at = Vec::new();
    for run in 0..20usize {
        let dir = tmp.path().join(format!("run{run}"));
        let (spool, store) = (dir.join("spool"), dir.join("store"));
        write_spool(&spool, &DAYS, 4);
        let written = snapshot(&spool);
        let pick = xorshift(&mut rng) as usize;
        let k = match run % 6 {
            0 => at("upload part", pick),
            1 => at("delete spool file", pick),
            2 => at("uploaded manifest", pick),
            3 => at("read back", pick),
            4 => at(["sealed", "checkpoint", "upload key"][run % 3], pick),
            _ => 1 + xorshift(&mut rng) % total,
        };
        let (_, killed) = roll_once(&spool, &store, &seed, Some(k));
        assert!(killed, "run {run}: point {k} was not reached");
        killed_at.push(format!("{k}:{}", points[k as usize - 1]));
        if run % 2 == 0 {
            // Killed again while recovering (or not, if the rerun has fewer steps).
            let k2 = 1 + xorshift(&mut rng) % total;
            roll_once(&spool, &store, &seed, Some(k2));
        }
        let (_, killed) = roll_once(&spool, &store, &seed, None);
        assert!(!killed);

        // No spool file lost: each is in the store byte for byte, and gone from the spool.
        let store_dyn = open_store(store.to_str().unwrap()).unwrap();
        let objs = objects(store_dyn.as_ref()).await;
        for (rel, bytes) in &written {
            assert_eq!(objs.get(rel), Some(blake3::hash(bytes).as_bytes()), "run {run}: {rel} lost (killed at {k})");
        }
        assert!(spool_files(&spool).is_empty(), "run {run}: left in the spool: {:?}", spool_files(&spool));
        // Sealed exactly once: one manifest per day, in spool and store alike, listing every
        // file as it was written, chained from the first day.
        let manifests: Vec<_> = objs.keys().filter(|p| p.starts_with("manifests/")).collect();
        assert_eq!(manifests.len(), DAYS.len(), "run {run}: {manifests:?}");
        for day in DAYS {
            let m = store_manifest(store_dyn.as_ref(), day).await;
            let local = manifest::load_manifest(&spool, Date::parse(day).unwrap()).unwrap().unwrap();
            assert_eq!(m, local, "run {run}: {day} sealed twice?");
            let listed: BTreeMap<_, _> = m.files.iter().map(|f| (f.path.clone(), f.blake3)).collect();
            let expected: BTreeMap<_, _> = written
                .iter()
                .filter(|(p, _)| p.starts_with(&format!("audit/{}/", Date::parse(day).unwrap().path())))
                .map(|(p, b)| (p.clone(), *blake3::hash(b).as_bytes()))
                .collect();
            assert_eq!(listed, expected, "run {run}: {day} sealed without all its files");
        }
        assert_chain(store_dyn.as_ref(), &DAYS).await;
        // The store verifies against the published checkpoint, with the trusted key.
        let v = verify_from_store(store_dyn.as_ref(), DAYS[0], DAYS[2]).await;
        assert_eq!(v.records, 24, "run {run}: {v}");
    }
    eprintln!("roll crash test: 20 runs, killed at {}, {:?}", killed_at.join(" "), started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}
