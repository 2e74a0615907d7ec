//! Trust from outside the bundle: the auditor's trusted keys and the roll's
//! signed checkpoint. A genuine bundle is VERIFIED; each attack of issue 15
//! fails with its own reason; without anchors the verdict is never a pass.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use obspec_trail::Date;
use obspec_trail::bundle::{self, INDEX_PATH};
use obspec_trail::canonical::{self, Object, TrailConfig, Value};
use obspec_trail::checkpoint::Checkpoint;
use obspec_trail::manifest;
use obspec_trail::sign::{Signer, TrustedKeys};
use obspec_trail::verify::{self, Expect, Report, Tamper, Verdict, VerifyOptions};
use obspec_trail::writer::{Writer, WriterOptions};

const D1: &str = "2026-05-01";
const D2: &str = "2026-05-02";
const D3: &str = "2026-05-03";
const T1_D2: &str = "audit/2026/05/02/t1.ndjson";
const M1: &str = "manifests/2026/05/01.json";
const M3: &str = "manifests/2026/05/03.json";

type Entries = BTreeMap<String, Vec<u8>>;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn genuine_signer() -> Signer {
    Signer::from_seed("k1", &[1; 32]).unwrap()
}

fn trusted() -> TrustedKeys {
    let mut t = TrustedKeys::new();
    t.insert_key("k1", genuine_signer().verifying_key());
    t
}

/// Writes three days (t1 unsigned, t2 signed per record) into `root` and seals
/// them, all with the key `seed` under `kid`.
fn write_days(root: &Path, kid: &str, seed: [u8; 32], tag: &str) {
    let signer = Signer::from_seed(kid, &seed).unwrap();
    let opts = WriterOptions {
        signer: Some(Arc::new(Signer::from_seed(kid, &seed).unwrap())),
        signed_tenants: ["t2".to_owned()].into(),
        ..WriterOptions::default()
    };
    let w = Writer::open(root, TrailConfig::blueprint_default(), opts).unwrap();
    for (day, n) in [(D1, 4), (D2, 3), (D3, 2)] {
        for i in 0..n {
            w.append(common::record(&format!("{tag}a-{day}-{i}"), "t1", day)).unwrap();
            w.append(common::record(&format!("{tag}s-{day}-{i}"), "t2", day)).unwrap();
        }
    }
    w.close().unwrap();
    for day in [D1, D2, D3] {
        manifest::seal_and_store(root, d(day), &signer).unwrap();
    }
}

/// The genuine root and the checkpoint the roll would publish for D3.
fn genuine() -> (tempfile::TempDir, Checkpoint) {
    let dir = tempfile::tempdir().unwrap();
    write_days(dir.path(), "k1", [1; 32], "");
    let cp = checkpoint_of(dir.path(), D3, &genuine_signer());
    (dir, cp)
}

fn checkpoint_of(root: &Path, day: &str, signer: &Signer) -> Checkpoint {
    let m = manifest::load_manifest(root, d(day)).unwrap().unwrap();
    Checkpoint::new(d(day), m.hash().unwrap(), manifest::chain_size(root, d(day)).unwrap(), signer).unwrap()
}

fn entries(root: &Path, from: &str, to: &str, tenant: Option<&str>) -> Entries {
    bundle::bundle_entries(root, d(from), d(to), tenant).unwrap()
}

fn anchored(cp: &Checkpoint) -> VerifyOptions {
    VerifyOptions { trusted_keys: Some(trusted()), checkpoint: Some(cp.clone()), ..VerifyOptions::default() }
}

fn check(e: &Entries, opts: &VerifyOptions) -> Report {
    let mut tgz = Vec::new();
    bundle::write_tar_gz(e, &mut tgz).unwrap();
    verify::verify_bytes(&tgz, opts)
}

fn assert_fails_with(r: &Report, kind: Tamper, file: &str) {
    assert_eq!(r.verdict(), Verdict::Tampered, "{r}");
    assert!(r.has(kind, file, None), "expected {kind:?} at {file}, got:\n{r}");
}

/// Rewrites the index as a competent attacker would: `edit` the object, then recompute the entry list.
fn rewrite_index(e: &mut Entries, edit: impl FnOnce(&mut Object)) {
    let mut index = match canonical::parse(e[INDEX_PATH].strip_suffix(b"\n").unwrap()).unwrap() {
        Value::Object(o) => o,
        _ => unreachable!(),
    };
    edit(&mut index);
    let listed = e
        .iter()
        .filter(|(p, _)| p.as_str() != INDEX_PATH)
        .map(|(p, b)| {
            Value::Object(
                Object::new()
                    .with("path", p.as_str())
                    .with("bytes", b.len() as i64)
                    .with("blake3", blake3::hash(b).to_hex().as_str()),
            )
        })
        .collect();
    index.insert("entries", Value::Array(listed));
    let mut bytes = canonical::to_jcs(&Value::Object(index), 8).unwrap();
    bytes.push(b'\n');
    e.insert(INDEX_PATH.to_owned(), bytes);
}

#[test]
fn genuine_bundle_is_verified_and_unanchored_checks_are_not_a_pass() {
    let (dir, cp) = genuine();
    let e = entries(dir.path(), D1, D3, None);
    let r = check(&e, &anchored(&cp));
    assert_eq!(r.verdict(), Verdict::Verified, "{r}");
    assert_eq!((r.days, r.files, r.records), (3, 6, 18));
    assert!(r.to_string().starts_with("VERIFIED: 2026-05-01..2026-05-03 all tenants:"), "{r}");

    let r = check(&e, &VerifyOptions::default());
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.verdict(), Verdict::NotAuthenticated);
    assert_eq!(r.verdict().exit_code(), 3);
    assert!(r.to_string().starts_with("AUTHENTICITY NOT CHECKED"), "{r}");

    let r = check(&e, &VerifyOptions { trusted_keys: Some(trusted()), ..VerifyOptions::default() });
    assert_eq!(r.verdict(), Verdict::NotAnchored, "{r}");
    assert_eq!(r.verdict().exit_code(), 4);
    assert!(r.to_string().starts_with("HEAD NOT CHECKED"), "{r}");

    // A fingerprint is as good as the key.
    let mut by_fpr = TrustedKeys::new();
    by_fpr.insert_fingerprint("k1", &obspec_trail::sign::fingerprint(&genuine_signer().verifying_key()));
    let r = check(&e, &VerifyOptions { trusted_keys: Some(by_fpr), ..anchored(&cp) });
    assert_eq!(r.verdict(), Verdict::Verified, "{r}");

    // A one-tenant bundle passes when that tenant is asked for.
    let t2 = entries(dir.path(), D1, D3, Some("t2"));
    let opts = VerifyOptions { expect: Expect { tenant: Some("t2".into()), ..Expect::default() }, ..anchored(&cp) };
    assert_eq!(check(&t2, &opts).verdict(), Verdict::Verified);
    // A sub-range passes when asked for, against the checkpoint of its last day.
    let sub = entries(dir.path(), D2, D2, None);
    let cp2 = checkpoint_of(dir.path(), D2, &genuine_signer());
    let opts = VerifyOptions { expect: Expect { from: Some(d(D2)), ..Expect::default() }, ..anchored(&cp2) };
    let r = check(&sub, &opts);
    assert_eq!(r.verdict(), Verdict::Verified, "{r}");
}

#[test]
fn forged_bundle_signed_with_an_untrusted_key() {
    let (_genuine_dir, cp) = genuine();
    let forged = tempfile::tempdir().unwrap();
    write_days(forged.path(), "k2", [7; 32], "x");
    let r = check(&entries(forged.path(), D1, D3, None), &anchored(&cp));
    assert_fails_with(&r, Tamper::UntrustedKey, "keys/k2.pub");
    assert_fails_with(&r, Tamper::UntrustedKey, M1);
    assert_fails_with(&r, Tamper::CheckpointMismatch, M3);
}

#[test]
fn forged_bundle_reusing_the_genuine_key_id() {
    let (_genuine_dir, cp) = genuine();
    let forged = tempfile::tempdir().unwrap();
    write_days(forged.path(), "k1", [9; 32], "x");
    let e = entries(forged.path(), D1, D3, None);
    let r = check(&e, &anchored(&cp));
    assert_fails_with(&r, Tamper::UntrustedKey, "keys/k1.pub");
    assert_fails_with(&r, Tamper::WrongKey, M1);
    // The forger also signs a checkpoint of his own: his key is still not trusted.
    let own = checkpoint_of(forged.path(), D3, &Signer::from_seed("k1", &[9; 32]).unwrap());
    let r = check(&e, &anchored(&own));
    assert_fails_with(&r, Tamper::BadCheckpoint, "(checkpoint)");
    assert_fails_with(&r, Tamper::UntrustedKey, "keys/k1.pub");
}

#[test]
fn bundle_missing_its_newest_day() {
    let (dir, cp) = genuine();
    let r = check(&entries(dir.path(), D1, D2, None), &anchored(&cp));
    assert_fails_with(&r, Tamper::MissingDay, M3);
    assert!(r.failures.iter().any(|f| f.detail.contains("newest days were dropped")), "{r}");
}

#[test]
fn bundle_missing_its_oldest_day() {
    let (dir, cp) = genuine();
    // The export of D2..D3 is consistent in itself (its index anchors D2 to D1's hash).
    let e = entries(dir.path(), D2, D3, None);
    let r = check(&e, &anchored(&cp));
    assert_fails_with(&r, Tamper::MissingDay, M1);
    assert!(r.failures.iter().any(|f| f.detail.contains("oldest days were dropped")), "{r}");
    // Claiming D2 is the chain's first day (no anchor) breaks the chain.
    let mut e = e;
    rewrite_index(&mut e, |o| {
        o.insert("anchor", Value::Null);
    });
    let opts = VerifyOptions { expect: Expect { from: Some(d(D2)), ..Expect::default() }, ..anchored(&cp) };
    let r = check(&e, &opts);
    assert_fails_with(&r, Tamper::ManifestChainBroken, INDEX_PATH);
}

#[test]
fn resealed_altered_day_is_caught_by_the_checkpoint() {
    let (dir, cp) = genuine();
    let root = dir.path();
    // An insider with the genuine key drops D2's last t1 record and re-seals D2 and D3.
    let path = root.join(T1_D2);
    let text = std::fs::read(&path).unwrap();
    let cut = text[..text.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    std::fs::write(&path, &text[..cut]).unwrap();
    for day in [D2, D3] {
        std::fs::remove_file(manifest::manifest_path(root, d(day))).unwrap();
    }
    for day in [D2, D3] {
        manifest::seal_and_store(root, d(day), &genuine_signer()).unwrap();
    }
    let e = entries(root, D1, D3, None);
    // Consistent in itself: only the checkpoint tells.
    assert!(check(&e, &VerifyOptions { trusted_keys: Some(trusted()), ..VerifyOptions::default() }).is_ok());
    let r = check(&e, &anchored(&cp));
    assert_fails_with(&r, Tamper::CheckpointMismatch, M3);
    assert_eq!(r.failures.len(), 1, "{r}");

    // Re-sealed with a new key id, as if rotated: not trusted either.
    for day in [D2, D3] {
        std::fs::remove_file(manifest::manifest_path(root, d(day))).unwrap();
        manifest::seal_and_store(root, d(day), &Signer::from_seed("k1-rotated", &[7; 32]).unwrap()).unwrap();
    }
    let r = check(&entries(root, D1, D3, None), &anchored(&cp));
    assert_fails_with(&r, Tamper::UntrustedKey, "manifests/2026/05/02.json");
    assert_fails_with(&r, Tamper::CheckpointMismatch, M3);
}

#[test]
fn rewritten_index_is_reported() {
    let (dir, cp) = genuine();
    let genuine_entries = entries(dir.path(), D1, D3, None);
    // The tenant rewritten: t1's files are hidden from the checks.
    let mut e = genuine_entries.clone();
    rewrite_index(&mut e, |o| {
        o.insert("tenant", "t2");
    });
    let r = check(&e, &anchored(&cp));
    assert_fails_with(&r, Tamper::RangeMismatch, INDEX_PATH);
    assert_fails_with(&r, Tamper::UnlistedFile, T1_D2);
    // A day hash rewritten.
    let mut e = genuine_entries;
    rewrite_index(&mut e, |o| {
        let Some(Value::Array(days)) = o.get("days").cloned() else { unreachable!() };
        let days = days
            .into_iter()
            .map(|v| match v {
                Value::Object(mut day) => {
                    day.insert("hash", "00".repeat(32));
                    Value::Object(day)
                }
                other => other,
            })
            .collect();
        o.insert("days", Value::Array(days));
    });
    let r = check(&e, &anchored(&cp));
    assert_fails_with(&r, Tamper::IndexMismatch, INDEX_PATH);
}

#[test]
fn tenant_with_no_files_is_empty() {
    let (dir, cp) = genuine();
    let mut e = entries(dir.path(), D1, D3, None);
    e.retain(|p, _| !p.starts_with("audit/"));
    rewrite_index(&mut e, |o| {
        o.insert("tenant", "ghost");
    });
    let opts = VerifyOptions { expect: Expect { tenant: Some("ghost".into()), ..Expect::default() }, ..anchored(&cp) };
    let r = check(&e, &opts);
    assert_fails_with(&r, Tamper::Empty, INDEX_PATH);
    assert_eq!((r.files, r.records), (0, 0));
    // Not asking for a tenant: the index's claim is a mismatch, and still empty.
    let r = check(&e, &anchored(&cp));
    assert_fails_with(&r, Tamper::RangeMismatch, INDEX_PATH);
    assert_fails_with(&r, Tamper::Empty, INDEX_PATH);
    // Even without any anchor, an empty bundle is not a pass.
    assert_eq!(check(&e, &VerifyOptions::default()).verdict(), Verdict::Tampered);
}

#[test]
fn checkpoint_round_trips_and_rejects_tampering() {
    let (_dir, cp) = genuine();
    let bytes = cp.to_bytes().unwrap();
    assert_eq!(Checkpoint::parse(&bytes).unwrap(), cp);
    assert_eq!(Checkpoint::from_arg(&cp.to_hex().unwrap()).unwrap(), cp);
    assert!(Checkpoint::parse(&bytes[..bytes.len() - 1]).is_err(), "no newline");
    let spaced = String::from_utf8(bytes.clone()).unwrap().replacen(':', ": ", 1);
    assert!(Checkpoint::parse(spaced.as_bytes()).is_err(), "not canonical");
    assert_eq!(cp.first_day(), Some(d(D1)));
    assert_eq!(cp.size, 3);
    // A flipped bit in the signed content.
    let mut bad = cp.clone();
    bad.size = 2;
    let (dir, _) = genuine();
    let r = check(&entries(dir.path(), D1, D3, None), &anchored(&bad));
    assert_fails_with(&r, Tamper::BadCheckpoint, "(checkpoint)");
}
