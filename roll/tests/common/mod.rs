//! Helpers shared by the integration tests (included with `mod common;`): spools
//! written by the real `obspec_trail::writer::Writer`, and store inspection.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::ObjectStore;
use obspec_trail::canonical::{Object, Record, TrailConfig};
use obspec_trail::manifest::Manifest;
use obspec_trail::sign::Signer;
use obspec_trail::writer::{Writer, WriterOptions};
use obspec_trail::{Date, bundle, verify};

/// The signing key id of the tests.
pub const KID: &str = "roll-test-1";

/// The tests' signer (a fixed seed).
pub fn signer() -> Signer {
    Signer::from_seed(KID, &[42u8; 32]).unwrap()
}

/// Writes the seed file `obspec-roll --key-seed` reads.
pub fn write_seed(dir: &Path) -> PathBuf {
    let p = dir.join("seed.hex");
    std::fs::write(&p, format!("{}\n", obspec_trail::hex::encode(&[42u8; 32]))).unwrap();
    p
}

/// A valid record for `tenant` at `ts` (RFC 3339), without `meta` or `sig`.
pub fn record(id: &str, tenant: &str, day: &str, hour: u32) -> Record {
    Record::new()
        .with("id", id)
        .with("ts", format!("{day}T{hour:02}:00:00.000Z"))
        .with("kind", "policy.eval_min")
        .with("scope", Object::new().with("tenant", tenant))
        .with("actor", Object::new().with("id", "u-7").with("type", "user"))
        .with("data", Object::new().with("decision", "allow").with("bits", 5))
}

/// Writes a spool through the real writer: for each day, `per_tenant` records for
/// tenants `t-alpha` (records signed) and `t-beta` (unsigned), plus a log file per day.
pub fn write_spool(root: &Path, days: &[&str], per_tenant: u32) {
    let opts = WriterOptions {
        signer: Some(Arc::new(signer())),
        signed_tenants: BTreeSet::from(["t-alpha".to_owned()]),
        ..WriterOptions::default()
    };
    let w = Writer::open(root, TrailConfig::blueprint_default(), opts).unwrap();
    for day in days {
        for i in 0..per_tenant {
            for t in ["t-alpha", "t-beta"] {
                w.append(record(&format!("{t}-{day}-{i}"), t, day, i % 24)).unwrap();
            }
        }
        write_log(root, day, "core", per_tenant);
    }
    w.close().unwrap();
}

/// Writes a server-blind log file `logs/yyyy/mm/dd/<component>.ndjson`.
pub fn write_log(root: &Path, day: &str, component: &str, lines: u32) -> PathBuf {
    let d = Date::parse(day).unwrap();
    let dir = root.join("logs").join(d.path());
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{component}.ndjson"));
    let mut s = String::new();
    for i in 0..lines {
        s.push_str(&format!(
            "{{\"ts\":\"{day}T10:00:0{}.000Z\",\"component\":\"{component}\",\"ok\":true,\"code\":200}}\n",
            i % 10
        ));
    }
    std::fs::write(&p, s).unwrap();
    p
}

/// Every object in the store with its BLAKE3.
pub async fn objects(store: &dyn ObjectStore) -> BTreeMap<String, [u8; 32]> {
    let metas: Vec<_> = store.list(None).try_collect().await.unwrap();
    let mut out = BTreeMap::new();
    for m in metas {
        let h = obspec_roll::upload::object_blake3(store, &m.location).await.unwrap().unwrap();
        out.insert(m.location.to_string(), h);
    }
    out
}

/// The manifest of a day, read from the store.
pub async fn store_manifest(store: &dyn ObjectStore, day: &str) -> Manifest {
    obspec_roll::roll::fetch_manifest(store, Date::parse(day).unwrap()).await.unwrap().unwrap()
}

/// Stream files left in a spool (`audit/**` and `logs/**` regular files).
pub fn spool_files(root: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        for e in rd {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join("audit"), &mut out);
    walk(&root.join("logs"), &mut out);
    out.sort();
    out
}

/// Asserts that every day manifest in `days` chains to the previous one's hash
/// and that the first one is a genesis (no `prev_manifest`).
pub async fn assert_chain(store: &dyn ObjectStore, days: &[&str]) {
    let mut prev: Option<[u8; 32]> = None;
    for (i, day) in days.iter().enumerate() {
        let m = store_manifest(store, day).await;
        assert!(m.verify_signature(&signer().verifying_key()).unwrap(), "{day}: signature");
        if i == 0 {
            assert_eq!(m.prev_manifest, None, "{day}: the first day is the genesis");
        } else {
            assert_eq!(m.prev_manifest, prev, "{day}: prev_manifest must be the previous day's hash");
        }
        prev = Some(m.hash().unwrap());
    }
}

/// Downloads days `from..=to` from the store and runs the auditor's verifier on them
/// (bundle built from the downloaded copy), with the tests' key as the trusted key and
/// the checkpoint the roll published for `to` (in the store's `checkpoints/`).
pub async fn verify_from_store(store: &dyn ObjectStore, from: &str, to: &str) -> verify::Report {
    let (from, to) = (Date::parse(from).unwrap(), Date::parse(to).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let n = obspec_roll::roll::download_trails(store, from, to, dir.path()).await.unwrap();
    assert!(n > 0);
    let entries = bundle::bundle_entries(dir.path(), from, to, None).unwrap();
    let checkpoint = obspec_roll::roll::fetch_checkpoint(store, to).await.unwrap().expect("a published checkpoint");
    let mut trusted = obspec_trail::sign::TrustedKeys::new();
    trusted.insert_key(KID, signer().verifying_key());
    let opts = verify::VerifyOptions {
        trusted_keys: Some(trusted),
        checkpoint: Some(checkpoint),
        expect: verify::Expect { from: Some(from), ..verify::Expect::default() },
        ..verify::VerifyOptions::default()
    };
    let mut report = verify::Report::default();
    verify::verify_entries(&entries, &opts, &mut report);
    assert_eq!(report.verdict(), verify::Verdict::Verified, "{report}");
    report
}

/// Fast retries for tests.
pub fn fast_opts() -> obspec_roll::RollOptions {
    obspec_roll::RollOptions {
        upload: obspec_roll::UploadOptions {
            attempts: 3,
            initial_backoff: std::time::Duration::from_millis(5),
            max_backoff: std::time::Duration::from_millis(20),
            ..obspec_roll::UploadOptions::default()
        },
        ..obspec_roll::RollOptions::default()
    }
}

/// The retention figures `cargo xtask gen` writes for the job
/// (`infra/observability/retention.env`, from the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// `TRAIL_MIN_DAYS`.
    pub trail_min: u32,
    /// `TRAIL_MAX_DAYS`.
    pub trail_max: u32,
    /// `TRAIL_DAYS`.
    pub trail_days: u32,
    /// `LOG_DAYS`.
    pub log_days: u32,
}

/// The workspace's generated `infra/observability/retention.env`.
pub fn retention_env_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/observability/retention.env")
}

/// Reads `retention.env` (`KEY=value` lines, `#` comments).
pub fn retention() -> Retention {
    let text = std::fs::read_to_string(retention_env_path()).unwrap();
    let vars: BTreeMap<&str, u32> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    Retention {
        trail_min: vars["TRAIL_MIN_DAYS"],
        trail_max: vars["TRAIL_MAX_DAYS"],
        trail_days: vars["TRAIL_DAYS"],
        log_days: vars["LOG_DAYS"],
    }
}
