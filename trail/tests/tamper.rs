//! The tamper suite: one test per kind of tampering, each asserting the
//! reported kind and location. The attacker is assumed competent: unless a
//! test says otherwise, the (unsigned) bundle index is recomputed after the
//! edit, so detection has to come from the signed, chained manifests.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use obspec_trail::Date;
use obspec_trail::bundle::{self, INDEX_PATH};
use obspec_trail::canonical::{self, Object, TrailConfig, Value};
use obspec_trail::chain;
use obspec_trail::manifest;
use obspec_trail::sign::{self, KeyRing, Signer};
use obspec_trail::verify::{self, Report, Tamper, VerifyOptions};
use obspec_trail::writer::{Writer, WriterOptions};

const D1: &str = "2026-05-01";
const D2: &str = "2026-05-02";
const D3: &str = "2026-05-03";
const T1_D1: &str = "audit/2026/05/01/t1.ndjson";
const T1_D2: &str = "audit/2026/05/02/t1.ndjson";
const T2_D1: &str = "audit/2026/05/01/t2.ndjson";
const M1: &str = "manifests/2026/05/01.json";
const M2: &str = "manifests/2026/05/02.json";
const M3: &str = "manifests/2026/05/03.json";

type Entries = BTreeMap<String, Vec<u8>>;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn signer() -> Signer {
    Signer::from_seed("k1", &[1; 32]).unwrap()
}

/// A root with three sealed days: t1 unsigned (6 records on D1, 5 on D2),
/// t2 signed per record (4 on D1), and D3 empty.
fn fixture() -> (tempfile::TempDir, Entries) {
    let dir = tempfile::tempdir().unwrap();
    let opts = WriterOptions {
        signer: Some(Arc::new(signer())),
        signed_tenants: ["t2".to_owned()].into(),
        ..WriterOptions::default()
    };
    let w = Writer::open(dir.path(), TrailConfig::blueprint_default(), opts).unwrap();
    for i in 0..6 {
        w.append(common::record(&format!("a{i}"), "t1", D1)).unwrap();
    }
    for i in 0..4 {
        w.append(common::record(&format!("s{i}"), "t2", D1)).unwrap();
    }
    for i in 0..5 {
        w.append(common::record(&format!("b{i}"), "t1", D2)).unwrap();
    }
    w.close().unwrap();
    for day in [D1, D2, D3] {
        manifest::seal_and_store(dir.path(), d(day), &signer()).unwrap();
    }
    let entries = bundle::bundle_entries(dir.path(), d(D1), d(D3), None).unwrap();
    (dir, entries)
}

fn tar_gz(entries: &Entries) -> Vec<u8> {
    let mut out = Vec::new();
    bundle::write_tar_gz(entries, &mut out).unwrap();
    out
}

/// Recomputes the index's entry list as an attacker would.
fn fix_index(entries: &mut Entries) {
    let mut index = match canonical::parse(entries[INDEX_PATH].strip_suffix(b"\n").unwrap()).unwrap() {
        Value::Object(o) => o,
        _ => unreachable!(),
    };
    let listed = entries
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
    entries.insert(INDEX_PATH.to_owned(), bytes);
}

fn check(entries: &Entries) -> Report {
    check_with(entries, &VerifyOptions::default())
}

fn check_with(entries: &Entries, opts: &VerifyOptions) -> Report {
    verify::verify_bytes(&tar_gz(entries), opts)
}

/// Applies an edit, fixes the index and verifies.
fn tamper(edit: impl FnOnce(&mut Entries)) -> Report {
    let (_dir, mut entries) = fixture();
    edit(&mut entries);
    fix_index(&mut entries);
    let r = check(&entries);
    if std::env::var_os("TAMPER_DEBUG").is_some() {
        eprintln!("{r}");
    }
    r
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect()
}

fn edit_lines(entries: &mut Entries, path: &str, f: impl FnOnce(&mut Vec<Vec<u8>>)) {
    let mut ls = lines(&entries[path]);
    f(&mut ls);
    entries.insert(path.to_owned(), join(&ls));
}

/// Flips bit `bit` of the first byte at or after `needle`'s position (+ `skip`) in `path`.
fn flip(entries: &mut Entries, path: &str, needle: &[u8], skip: usize, bit: u8) {
    let b = entries.get_mut(path).unwrap();
    let at = b.windows(needle.len()).position(|w| w == needle).unwrap() + skip;
    b[at] ^= 1 << bit;
}

fn assert_has(r: &Report, kind: Tamper, file: &str, line: Option<u64>) {
    assert!(r.has(kind, file, line), "expected {kind:?} at {file}:{line:?}, got:\n{r}");
}

#[test]
fn clean_bundle_verifies() {
    let (dir, entries) = fixture();
    let r = check(&entries);
    assert!(r.is_ok(), "{r}");
    assert_eq!((r.days, r.files, r.records), (3, 3, 15));
    // The exported file is the same bundle, and the CLI path agrees.
    let out = dir.path().join("bundle.tar.gz");
    bundle::export_bundle(dir.path(), d(D1), d(D3), None, &out).unwrap();
    let r = verify::verify_path(&out, &VerifyOptions::default()).unwrap();
    assert!(r.is_ok(), "{r}");
    // Batch signature verification agrees on a clean bundle.
    let batch = VerifyOptions { batch_signatures: true, ..VerifyOptions::default() };
    assert!(verify::verify_path(&out, &batch).unwrap().is_ok());
}

#[test]
fn flipped_bit_in_a_record_is_a_modified_line() {
    // "allow" → "allov" on line 3 (0x77 ^ 0x01 = 0x76).
    let r = tamper(|e| {
        let mut ls = lines(&e[T1_D1]);
        let at = ls[2].windows(5).position(|w| w == b"allow").unwrap() + 4;
        ls[2][at] ^= 1;
        e.insert(T1_D1.into(), join(&ls));
    });
    assert_has(&r, Tamper::Modified, T1_D1, Some(3));
    assert_has(&r, Tamper::FileHashMismatch, T1_D1, None);
}

#[test]
fn flipped_bit_breaking_json_is_malformed() {
    // '{' ^ 0x80 is not UTF-8.
    let r = tamper(|e| edit_lines(e, T1_D1, |ls| ls[1][0] ^= 0x80));
    assert_has(&r, Tamper::Malformed, T1_D1, Some(2));
    // The unreadable line is not also reported as a deletion.
    assert!(r.of_kind(Tamper::Deleted).next().is_none(), "{r}");
}

#[test]
fn flipped_bit_in_a_manifest_breaks_its_signature() {
    // `"lines":6` → `"lines":7` in the first file entry of day 1.
    let r = tamper(|e| flip(e, M1, b"\"lines\":6", 8, 0));
    assert_has(&r, Tamper::BadSignature, M1, None);
}

#[test]
fn flipped_bit_in_a_manifest_signature() {
    let r = tamper(|e| {
        let b = e.get_mut(M1).unwrap();
        let start = b.windows(7).position(|w| w == b"\"sig\":\"").unwrap() + 7;
        let digit = b[start..].iter().position(u8::is_ascii_digit).unwrap() + start;
        b[digit] ^= 1; // a digit stays a digit
    });
    assert_has(&r, Tamper::BadSignature, M1, None);
}

#[test]
fn flipped_bit_in_a_manifest_key_id_is_an_unknown_key() {
    // "kid":"k1" → "kid":"k0".
    let r = tamper(|e| flip(e, M2, b"\"kid\":\"k1\"", 8, 0));
    assert_has(&r, Tamper::UnknownKey, M2, None);
}

#[test]
fn flipped_bit_in_a_record_key_id_is_an_unknown_key() {
    let r = tamper(|e| {
        edit_lines(e, T2_D1, |ls| {
            let at = ls[1].windows(10).position(|w| w == b"\"kid\":\"k1\"").unwrap() + 8;
            ls[1][at] ^= 1;
        })
    });
    assert_has(&r, Tamper::UnknownKey, T2_D1, Some(2));
}

#[test]
fn flipped_bit_in_a_record_signature() {
    let r = tamper(|e| {
        edit_lines(e, T2_D1, |ls| {
            let at = ls[1].windows(11).position(|w| w == b"\"ed25519\":\"").unwrap() + 11;
            let digit = ls[1][at..].iter().position(u8::is_ascii_digit).unwrap() + at;
            ls[1][digit] ^= 1;
        })
    });
    assert_has(&r, Tamper::BadSignature, T2_D1, Some(2));
}

#[test]
fn stripped_record_signature_is_reported() {
    let r = tamper(|e| {
        edit_lines(e, T2_D1, |ls| {
            let cfg = TrailConfig::blueprint_default();
            let mut rec = cfg.parse_record(&ls[2]).unwrap();
            rec.remove("sig");
            ls[2] = cfg.canonical_bytes(&rec).unwrap();
        })
    });
    assert_has(&r, Tamper::MissingSignature, T2_D1, Some(3));
}

fn rewrite_decision(line: &mut Vec<u8>) {
    let cfg = TrailConfig::blueprint_default();
    let mut rec = cfg.parse_record(line).unwrap();
    rec.set("data", Object::new().with("decision", "deny").with("bits", 5));
    *line = cfg.canonical_bytes(&rec).unwrap();
}

#[test]
fn modified_line_is_located() {
    let r = tamper(|e| edit_lines(e, T1_D1, |ls| rewrite_decision(&mut ls[3])));
    assert_has(&r, Tamper::Modified, T1_D1, Some(4));
}

#[test]
fn modified_last_line_is_caught_by_the_sealed_head() {
    let r = tamper(|e| edit_lines(e, T1_D1, |ls| rewrite_decision(&mut ls[5])));
    assert_has(&r, Tamper::Modified, T1_D1, Some(6));
}

#[test]
fn deleted_line_is_located() {
    let r = tamper(|e| {
        edit_lines(e, T1_D1, |ls| {
            ls.remove(2);
        })
    });
    // The record that was line 4 is now line 3, right after the gap.
    assert_has(&r, Tamper::Deleted, T1_D1, Some(3));
}

#[test]
fn duplicated_line_is_located() {
    let r = tamper(|e| edit_lines(e, T1_D1, |ls| ls.insert(4, ls[1].clone())));
    assert_has(&r, Tamper::Duplicated, T1_D1, Some(5));
}

#[test]
fn inserted_line_is_located_even_with_a_recomputed_link() {
    let r = tamper(|e| {
        edit_lines(e, T1_D1, |ls| {
            let cfg = TrailConfig::blueprint_default();
            let prev = chain::inspect_line(&cfg, &ls[1]).unwrap().hash;
            let mut forged = common::record("forged", "t1", D1);
            chain::set_link(&mut forged, 3, &prev).unwrap();
            ls.insert(2, cfg.canonical_bytes(&forged).unwrap());
        })
    });
    assert_has(&r, Tamper::Inserted, T1_D1, Some(3));
    assert!(!r.has(Tamper::Inserted, T1_D1, Some(4)), "{r}");
}

#[test]
fn reordered_lines_are_located() {
    let r = tamper(|e| edit_lines(e, T1_D1, |ls| ls.swap(2, 3)));
    assert_has(&r, Tamper::Reordered, T1_D1, Some(4));
    assert!(r.of_kind(Tamper::Deleted).next().is_none(), "{r}");
}

#[test]
fn file_cut_mid_line_is_truncated() {
    let r = tamper(|e| {
        let b = e.get_mut(T1_D1).unwrap();
        let n = b.len();
        b.truncate(n - 20);
    });
    assert_has(&r, Tamper::Truncated, T1_D1, Some(6));
}

#[test]
fn file_missing_trailing_lines_is_truncated() {
    let r = tamper(|e| edit_lines(e, T1_D1, |ls| ls.truncate(4)));
    assert_has(&r, Tamper::Truncated, T1_D1, Some(5));
}

#[test]
fn day_file_swapped_with_another_days() {
    let r = tamper(|e| {
        let a = e.remove(T1_D1).unwrap();
        let b = e.remove(T1_D2).unwrap();
        e.insert(T1_D1.into(), b);
        e.insert(T1_D2.into(), a);
    });
    assert_has(&r, Tamper::WrongDay, T1_D1, Some(1));
    assert_has(&r, Tamper::WrongDay, T1_D2, Some(1));
}

#[test]
fn missing_day_is_reported() {
    let r = tamper(|e| {
        e.remove(M2);
        e.remove(T1_D2);
    });
    assert_has(&r, Tamper::MissingDay, M2, None);
    // Day 3 no longer chains to a known predecessor, but is not blamed either.
    assert!(!r.has(Tamper::ManifestChainBroken, M3, None), "{r}");
}

#[test]
fn replayed_old_manifest_is_reported() {
    let r = tamper(|e| {
        let old = e[M1].clone();
        e.insert(M2.into(), old);
    });
    assert_has(&r, Tamper::ManifestReplay, M2, None);
}

#[test]
fn rolled_back_head_is_reported_against_the_expected_head() {
    let (_dir, entries) = fixture();
    let m3 = manifest::Manifest::parse(&entries[M3]).unwrap();
    let good = VerifyOptions { expected_head: Some(m3.hash().unwrap()), ..VerifyOptions::default() };
    assert!(check_with(&entries, &good).is_ok());
    let wrong = VerifyOptions { expected_head: Some([7; 32]), ..VerifyOptions::default() };
    assert_has(&check_with(&entries, &wrong), Tamper::ManifestReplay, M3, None);
}

#[test]
fn resealed_manifest_with_a_broken_chain_is_reported() {
    // An insider with the key re-seals day 2 without its predecessor.
    let (dir, mut entries) = fixture();
    let forged = manifest::seal_day(dir.path(), d(D2), None, &signer()).unwrap();
    entries.insert(M2.into(), forged.to_bytes().unwrap());
    fix_index(&mut entries);
    let r = check(&entries);
    assert_has(&r, Tamper::ManifestChainBroken, M2, None);
    // Day 3 chains to the genuine day 2, not to the forgery.
    assert_has(&r, Tamper::ManifestChainBroken, M3, None);
}

#[test]
fn unknown_key_is_reported() {
    let r = tamper(|e| {
        e.remove("keys/k1.pub");
    });
    assert_has(&r, Tamper::UnknownKey, M1, None);
    assert_has(&r, Tamper::UnknownKey, T2_D1, Some(1));
}

#[test]
fn wrong_key_is_reported() {
    let other = Signer::from_seed("k1", &[2; 32]).unwrap();
    let r = tamper(|e| {
        e.insert("keys/k1.pub".into(), sign::encode_public_key(&other.verifying_key()).into_bytes());
    });
    assert_has(&r, Tamper::WrongKey, M1, None);
    assert_has(&r, Tamper::WrongKey, T2_D1, Some(1));
}

#[test]
fn key_not_trusted_by_the_auditor_is_reported() {
    let (_dir, entries) = fixture();
    let mut trusted = KeyRing::new();
    trusted.insert("k1", Signer::from_seed("k1", &[3; 32]).unwrap().verifying_key());
    let r = check_with(
        &entries,
        &VerifyOptions { trusted_keys: Some(sign::TrustedKeys::from(&trusted)), ..VerifyOptions::default() },
    );
    assert_has(&r, Tamper::UntrustedKey, "keys/k1.pub", None);
    assert_has(&r, Tamper::WrongKey, M1, None);
}

#[test]
fn unfixed_index_reports_index_mismatch() {
    let (_dir, mut entries) = fixture();
    edit_lines(&mut entries, T1_D1, |ls| rewrite_decision(&mut ls[0]));
    let r = check(&entries);
    assert_has(&r, Tamper::IndexMismatch, T1_D1, None);
    assert_has(&r, Tamper::Modified, T1_D1, Some(1));
}

#[test]
fn file_not_in_any_manifest_is_reported() {
    let r = tamper(|e| {
        e.insert("audit/2026/05/01/t9.ndjson".into(), b"{}\n".to_vec());
    });
    assert_has(&r, Tamper::UnlistedFile, "audit/2026/05/01/t9.ndjson", None);
}

#[test]
fn file_not_in_the_index_is_reported() {
    let (_dir, mut entries) = fixture();
    entries.insert("notes.txt".into(), b"hi".to_vec());
    let r = check(&entries);
    assert_has(&r, Tamper::UnlistedFile, "notes.txt", None);
}

// Hostile archives are built by hand: the `tar` crate's builder refuses such paths.

enum Raw<'a> {
    File(&'a [u8], &'a [u8]),
    Link(&'a [u8], tar::EntryType, &'a [u8]),
}

fn raw_tar_gz(base: &Entries, extra: &[Raw<'_>]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut t = tar::Builder::new(gz);
    let mut put = |name: &[u8], ty: tar::EntryType, link: Option<&[u8]>, data: &[u8]| {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        if let Some(l) = link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l);
        }
        h.set_entry_type(ty);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        t.append(&h, data).unwrap();
    };
    for (p, b) in base {
        put(p.as_bytes(), tar::EntryType::Regular, None, b);
    }
    for x in extra {
        match x {
            Raw::File(n, data) => put(n, tar::EntryType::Regular, None, data),
            Raw::Link(n, ty, target) => put(n, *ty, Some(target), b""),
        }
    }
    t.into_inner().unwrap().finish().unwrap()
}

fn hostile(extra: &[Raw<'_>]) -> Report {
    let (_dir, entries) = fixture();
    verify::verify_bytes(&raw_tar_gz(&entries, extra), &VerifyOptions::default())
}

#[test]
fn archive_with_parent_path_is_rejected() {
    let r = hostile(&[Raw::File(b"../evil.ndjson", b"x")]);
    assert_has(&r, Tamper::UnsafePath, "../evil.ndjson", None);
    let r = hostile(&[Raw::File(b"audit/../../evil", b"x")]);
    assert_has(&r, Tamper::UnsafePath, "audit/../../evil", None);
}

#[test]
fn archive_with_absolute_path_is_rejected() {
    let r = hostile(&[Raw::File(b"/etc/evil", b"x")]);
    assert_has(&r, Tamper::UnsafePath, "/etc/evil", None);
}

#[test]
fn archive_with_symlink_is_rejected() {
    let r = hostile(&[Raw::Link(b"keys/k2.pub", tar::EntryType::Symlink, b"/etc/passwd")]);
    assert_has(&r, Tamper::Link, "keys/k2.pub", None);
}

#[test]
fn archive_with_hardlink_is_rejected() {
    let r = hostile(&[Raw::Link(b"audit/x", tar::EntryType::Link, b"manifest.json")]);
    assert_has(&r, Tamper::Link, "audit/x", None);
}

#[test]
fn archive_with_duplicate_entry_is_rejected() {
    let r = hostile(&[Raw::File(T1_D1.as_bytes(), b"{}\n")]);
    assert_has(&r, Tamper::DuplicateEntry, T1_D1, None);
}

#[test]
fn garbage_instead_of_an_archive_is_malformed() {
    let r = verify::verify_bytes(b"not a tarball", &VerifyOptions::default());
    assert!(r.of_kind(Tamper::Malformed).next().is_some(), "{r}");
    assert!(!r.is_ok());
}

#[test]
fn tenant_bundle_holds_only_that_tenant_and_verifies() {
    let (dir, _) = fixture();
    let entries = bundle::bundle_entries(dir.path(), d(D1), d(D3), Some("t2")).unwrap();
    assert!(entries.contains_key(T2_D1));
    assert!(!entries.contains_key(T1_D1));
    let r = check(&entries);
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.files, 1);
}

#[test]
fn directory_bundle_with_a_symlink_is_rejected() {
    let (dir, entries) = fixture();
    let out = dir.path().join("unpacked");
    for (p, b) in &entries {
        let path = out.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b).unwrap();
    }
    assert!(verify::verify_path(&out, &VerifyOptions::default()).unwrap().is_ok());
    std::os::unix::fs::symlink("/etc/passwd", out.join("keys/evil.pub")).unwrap();
    let r = verify::verify_path(&out, &VerifyOptions::default()).unwrap();
    assert_has(&r, Tamper::Link, "keys/evil.pub", None);
}
