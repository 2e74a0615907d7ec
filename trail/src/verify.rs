//! The auditor's verifier: checks a bundle (`.tar.gz` or an unpacked
//! directory) and reports every failure with its file, line and kind.
//!
//! It reads archives into memory and never extracts them, so hostile paths
//! cannot write anywhere; they are still reported. Dependencies are kept to
//! blake3, ed25519-dalek, tar and flate2 so an outside auditor can build it alone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::Path;

use ed25519_dalek::{Signature, VerifyingKey};
use flate2::read::GzDecoder;

use crate::bundle::{INDEX_PATH, INDEX_TYPE};
use crate::canonical::{self, TrailConfig, Value};
use crate::chain::{self, LineInfo};
use crate::date::Date;
use crate::error::{Error, Result, io_err};
use crate::hex;
use crate::manifest::{self, FileEntry, Manifest};
use crate::sign::{self, KeyRing};

/// The kind of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tamper {
    /// A line, manifest, index or archive that does not parse or is not canonical.
    Malformed,
    /// A record whose content changed after it was chained.
    Modified,
    /// Records missing from the middle of a stream.
    Deleted,
    /// A line that repeats an earlier one.
    Duplicated,
    /// A record that is not part of the sealed chain.
    Inserted,
    /// Records out of `seq` order.
    Reordered,
    /// A file cut short (torn last line or missing trailing records).
    Truncated,
    /// Records of another day (for instance a day file swapped with another day's).
    WrongDay,
    /// Records of another tenant.
    WrongStream,
    /// A file whose BLAKE3 differs from its manifest entry.
    FileHashMismatch,
    /// A file listed in a manifest or the index but absent.
    MissingFile,
    /// A day of the bundle's range without manifest.
    MissingDay,
    /// A manifest standing in for another day or repeated.
    ManifestReplay,
    /// A manifest whose `prev_manifest` is not the previous day's manifest hash.
    ManifestChainBroken,
    /// A signature that does not verify.
    BadSignature,
    /// A record without the signature its tenant's policy requires.
    MissingSignature,
    /// A key id with no public key in the bundle.
    UnknownKey,
    /// A public key that does not match the fingerprint the manifest signed.
    WrongKey,
    /// A public key that differs from the auditor's trusted keys.
    UntrustedKey,
    /// An archive path that is absolute, has `..` or is otherwise unsafe.
    UnsafePath,
    /// A symbolic or hard link in the archive.
    Link,
    /// A device, FIFO or other special entry in the archive.
    SpecialEntry,
    /// The same path twice in the archive.
    DuplicateEntry,
    /// A file in the bundle that no manifest or index lists.
    UnlistedFile,
    /// The index disagrees with the bundle's content.
    IndexMismatch,
    /// The bundle has no `manifest.json` index.
    MissingIndex,
    /// An entry beyond the size limits.
    Oversized,
}

impl Tamper {
    /// The snake-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Tamper::Malformed => "malformed",
            Tamper::Modified => "modified",
            Tamper::Deleted => "deleted",
            Tamper::Duplicated => "duplicated",
            Tamper::Inserted => "inserted",
            Tamper::Reordered => "reordered",
            Tamper::Truncated => "truncated",
            Tamper::WrongDay => "wrong_day",
            Tamper::WrongStream => "wrong_stream",
            Tamper::FileHashMismatch => "file_hash_mismatch",
            Tamper::MissingFile => "missing_file",
            Tamper::MissingDay => "missing_day",
            Tamper::ManifestReplay => "manifest_replay",
            Tamper::ManifestChainBroken => "manifest_chain_broken",
            Tamper::BadSignature => "bad_signature",
            Tamper::MissingSignature => "missing_signature",
            Tamper::UnknownKey => "unknown_key",
            Tamper::WrongKey => "wrong_key",
            Tamper::UntrustedKey => "untrusted_key",
            Tamper::UnsafePath => "unsafe_path",
            Tamper::Link => "link",
            Tamper::SpecialEntry => "special_entry",
            Tamper::DuplicateEntry => "duplicate_entry",
            Tamper::UnlistedFile => "unlisted_file",
            Tamper::IndexMismatch => "index_mismatch",
            Tamper::MissingIndex => "missing_index",
            Tamper::Oversized => "oversized",
        }
    }
}

/// One failure: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The file inside the bundle (`/`-separated).
    pub file: String,
    /// One-based line, when the failure is at a line.
    pub line: Option<u64>,
    /// The kind.
    pub kind: Tamper,
    /// A sentence for humans.
    pub detail: String,
}

/// The verifier's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every failure found, in the order found.
    pub failures: Vec<Failure>,
    /// Days checked.
    pub days: usize,
    /// Stream files checked.
    pub files: usize,
    /// Records checked.
    pub records: u64,
}

impl Report {
    /// Whether nothing failed.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// Failures of one kind.
    pub fn of_kind(&self, kind: Tamper) -> impl Iterator<Item = &Failure> {
        self.failures.iter().filter(move |f| f.kind == kind)
    }

    /// Whether a failure of `kind` was reported for `file` at `line`.
    pub fn has(&self, kind: Tamper, file: &str, line: Option<u64>) -> bool {
        self.failures.iter().any(|f| f.kind == kind && f.file == file && f.line == line)
    }

    fn push(&mut self, file: &str, line: Option<u64>, kind: Tamper, detail: impl Into<String>) {
        self.failures.push(Failure { file: file.to_owned(), line, kind, detail: detail.into() });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for x in &self.failures {
            match x.line {
                Some(l) => writeln!(f, "FAIL {} {}:{}: {}", x.kind.as_str(), x.file, l, x.detail)?,
                None => writeln!(f, "FAIL {} {}: {}", x.kind.as_str(), x.file, x.detail)?,
            }
        }
        writeln!(
            f,
            "{}: {} days, {} files, {} records, {} failures",
            if self.is_ok() { "OK" } else { "TAMPERED" },
            self.days,
            self.files,
            self.records,
            self.failures.len()
        )
    }
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The record key order.
    pub config: TrailConfig,
    /// Keys the auditor trusts (obtained out of band). When set, every key in
    /// the bundle must be one of them and verification uses these keys.
    pub trusted_keys: Option<KeyRing>,
    /// The hash of the last day's manifest as the auditor knows it
    /// (for instance from object-store metadata or a published head);
    /// without it, a rolled-back last day cannot be told apart.
    pub expected_head: Option<[u8; 32]>,
    /// Verify record signatures in batches (faster; a failed batch falls back
    /// to `verify_strict` per record to find the culprit). Off: `verify_strict` for each.
    pub batch_signatures: bool,
    /// Largest archive entry accepted.
    pub max_entry_bytes: u64,
    /// Largest total of entries accepted.
    pub max_total_bytes: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            config: TrailConfig::blueprint_default(),
            trusted_keys: None,
            expected_head: None,
            batch_signatures: false,
            max_entry_bytes: 4 << 30,
            max_total_bytes: 16 << 30,
        }
    }
}

/// Verifies a bundle: a `.tar.gz` file or a directory with the same layout.
/// Called by `cargo xtask trails verify`. `Err` only for I/O problems with
/// `path` itself; everything about the content is in the [`Report`].
pub fn verify_path(path: &Path, opts: &VerifyOptions) -> Result<Report> {
    let mut report = Report::default();
    let entries = if path.is_dir() {
        read_dir_entries(path, opts, &mut report)?
    } else {
        let f = std::fs::File::open(path).map_err(io_err(path))?;
        read_tar_gz(std::io::BufReader::new(f), opts, &mut report)
    };
    verify_entries(&entries, opts, &mut report);
    Ok(report)
}

/// Verifies a bundle given as bytes of a `.tar.gz`.
pub fn verify_bytes(tar_gz: &[u8], opts: &VerifyOptions) -> Report {
    let mut report = Report::default();
    let entries = read_tar_gz(tar_gz, opts, &mut report);
    verify_entries(&entries, opts, &mut report);
    report
}

/// Checks an archive path: relative, `/`-separated, no `.`, `..` or empty components.
fn safe_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && !p.contains('\0')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Reads a `.tar.gz` into memory, reporting hostile entries instead of extracting them.
pub fn read_tar_gz(reader: impl Read, opts: &VerifyOptions, report: &mut Report) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let mut ar = tar::Archive::new(GzDecoder::new(reader));
    let entries = match ar.entries() {
        Ok(e) => e,
        Err(e) => {
            report.push("(archive)", None, Tamper::Malformed, format!("unreadable archive: {e}"));
            return out;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                report.push("(archive)", None, Tamper::Malformed, format!("unreadable archive: {e}"));
                break;
            }
        };
        let raw = entry.path_bytes().into_owned();
        let Ok(name) = String::from_utf8(raw) else {
            report.push("(archive)", None, Tamper::UnsafePath, "entry name is not UTF-8");
            continue;
        };
        let ty = entry.header().entry_type();
        let trimmed = if ty.is_dir() { name.trim_end_matches('/') } else { name.as_str() };
        if !safe_path(trimmed) {
            report.push(&name, None, Tamper::UnsafePath, "absolute, `..` or otherwise unsafe path");
            continue;
        }
        match ty {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Directory => continue,
            tar::EntryType::Symlink | tar::EntryType::Link => {
                report.push(&name, None, Tamper::Link, "links are not allowed in a bundle");
                continue;
            }
            other => {
                report.push(&name, None, Tamper::SpecialEntry, format!("entry type {other:?}"));
                continue;
            }
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > opts.max_entry_bytes || total.saturating_add(size) > opts.max_total_bytes {
            report.push(&name, None, Tamper::Oversized, format!("{size} bytes"));
            continue;
        }
        total += size;
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        if let Err(e) = entry.read_to_end(&mut bytes) {
            report.push(&name, None, Tamper::Malformed, format!("unreadable entry: {e}"));
            break;
        }
        if out.contains_key(&name) {
            report.push(&name, None, Tamper::DuplicateEntry, "path appears twice in the archive");
            continue;
        }
        out.insert(name, bytes);
    }
    out
}

/// Reads an unpacked bundle directory, reporting links and special files.
fn read_dir_entries(dir: &Path, opts: &VerifyOptions, report: &mut Report) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(dir.to_owned(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        for e in std::fs::read_dir(&path).map_err(io_err(&path))? {
            let e = e.map_err(io_err(&path))?;
            let Ok(name) = e.file_name().into_string() else {
                report.push(&rel, None, Tamper::UnsafePath, "file name is not UTF-8");
                continue;
            };
            let child_rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let meta = std::fs::symlink_metadata(e.path()).map_err(io_err(e.path()))?;
            if meta.file_type().is_symlink() {
                report.push(&child_rel, None, Tamper::Link, "links are not allowed in a bundle");
            } else if meta.is_dir() {
                stack.push((e.path(), child_rel));
            } else if !meta.is_file() {
                report.push(&child_rel, None, Tamper::SpecialEntry, "not a regular file");
            } else if meta.len() > opts.max_entry_bytes {
                report.push(&child_rel, None, Tamper::Oversized, format!("{} bytes", meta.len()));
            } else {
                out.insert(child_rel, std::fs::read(e.path()).map_err(io_err(e.path()))?);
            }
        }
    }
    Ok(out)
}

struct Index {
    from: Date,
    to: Date,
    tenant: Option<String>,
    anchor: Option<[u8; 32]>,
    days: BTreeMap<String, [u8; 32]>,
    entries: BTreeMap<String, (u64, [u8; 32])>,
}

fn parse_index(bytes: &[u8]) -> std::result::Result<Index, String> {
    let body = bytes.strip_suffix(b"\n").ok_or("index must end with a newline")?;
    let v = canonical::parse_with_depth(body, 8).map_err(|e| e.to_string())?;
    if canonical::to_jcs(&v, 8).map_err(|e| e.to_string())? != body {
        return Err("index is not canonical JCS".into());
    }
    let o = v.as_object().ok_or("index must be an object")?;
    let s = |o: &canonical::Object, k: &str| -> std::result::Result<String, String> {
        o.get(k).and_then(Value::as_str).map(str::to_owned).ok_or(format!("`{k}` must be a string"))
    };
    if s(o, "type")? != INDEX_TYPE || o.get("v") != Some(&Value::Int(1)) {
        return Err("not a version 1 bundle index".into());
    }
    let date = |k: &str| -> std::result::Result<Date, String> {
        Date::parse(&s(o, k)?).ok_or(format!("`{k}` must be YYYY-MM-DD"))
    };
    let (from, to) = (date("from")?, date("to")?);
    if from > to || Date::range(from, to).count() > 3660 {
        return Err("bad date range".into());
    }
    let tenant = match o.get("tenant") {
        Some(Value::Null) => None,
        Some(Value::Str(t)) => Some(t.clone()),
        _ => return Err("`tenant` must be a string or null".into()),
    };
    let anchor = match o.get("anchor") {
        Some(Value::Null) => None,
        Some(Value::Str(h)) => Some(hex::decode::<32>(h).ok_or("bad `anchor`")?),
        _ => return Err("`anchor` must be a hash or null".into()),
    };
    let list = |k: &str| -> std::result::Result<Vec<canonical::Object>, String> {
        match o.get(k) {
            Some(Value::Array(a)) => {
                a.iter().map(|x| x.as_object().cloned().ok_or(format!("`{k}` items must be objects"))).collect()
            }
            _ => Err(format!("`{k}` must be an array")),
        }
    };
    let mut days = BTreeMap::new();
    for d in list("days")? {
        let h = hex::decode::<32>(&s(&d, "hash")?).ok_or("bad day hash")?;
        days.insert(s(&d, "manifest")?, h);
    }
    let mut entries = BTreeMap::new();
    for e in list("entries")? {
        let b = e.get("bytes").and_then(Value::as_int).and_then(|i| u64::try_from(i).ok()).ok_or("bad `bytes`")?;
        let h = hex::decode::<32>(&s(&e, "blake3")?).ok_or("bad `blake3`")?;
        entries.insert(s(&e, "path")?, (b, h));
    }
    Ok(Index { from, to, tenant, anchor, days, entries })
}

/// Verifies bundle entries already read into memory, adding to `report`.
pub fn verify_entries(entries: &BTreeMap<String, Vec<u8>>, opts: &VerifyOptions, report: &mut Report) {
    let Some(index_bytes) = entries.get(INDEX_PATH) else {
        report.push(INDEX_PATH, None, Tamper::MissingIndex, "the bundle has no index");
        return;
    };
    let index = match parse_index(index_bytes) {
        Ok(i) => i,
        Err(e) => {
            report.push(INDEX_PATH, None, Tamper::Malformed, e);
            return;
        }
    };
    // Index against content.
    for (path, bytes) in entries {
        if path == INDEX_PATH {
            continue;
        }
        match index.entries.get(path) {
            None => report.push(path, None, Tamper::UnlistedFile, "not listed in the bundle index"),
            Some((n, h)) => {
                if u64::try_from(bytes.len()).ok() != Some(*n) || blake3::hash(bytes).as_bytes() != h {
                    report.push(path, None, Tamper::IndexMismatch, "size or BLAKE3 differs from the index");
                }
            }
        }
    }
    for path in index.entries.keys() {
        if !entries.contains_key(path) {
            report.push(path, None, Tamper::MissingFile, "listed in the index but absent");
        }
    }
    // Keys.
    let mut ring = KeyRing::new();
    for (path, bytes) in entries.range("keys/".to_owned()..) {
        let Some(kid) = path.strip_prefix("keys/").and_then(|p| p.strip_suffix(".pub")) else {
            break;
        };
        match sign::decode_public_key(bytes) {
            Some(k) => {
                if let Some(trusted) = &opts.trusted_keys {
                    match trusted.get(kid) {
                        Some(t) if *t == k => {}
                        Some(_) => {
                            report.push(path, None, Tamper::UntrustedKey, "differs from the trusted key of this key id")
                        }
                        None => report.push(path, None, Tamper::UntrustedKey, "key id not among the trusted keys"),
                    }
                }
                ring.insert(kid, k);
            }
            None => report.push(path, None, Tamper::WrongKey, "not a valid Ed25519 public key file"),
        }
    }
    if let Some(trusted) = &opts.trusted_keys {
        ring = trusted.clone();
    }
    // Days.
    let mut referenced: HashSet<String> = HashSet::new();
    referenced.insert(INDEX_PATH.to_owned());
    let mut seen_hashes: HashMap<[u8; 32], Date> = HashMap::new();
    let mut prev_hash: Option<Option<[u8; 32]>> = Some(index.anchor);
    let mut last_hash = None;
    for date in Date::range(index.from, index.to) {
        report.days += 1;
        let rel = manifest::manifest_rel_path(date);
        referenced.insert(rel.clone());
        let Some(bytes) = entries.get(&rel) else {
            report.push(&rel, None, Tamper::MissingDay, format!("no manifest for {date}"));
            prev_hash = None;
            last_hash = None;
            continue;
        };
        let m = match Manifest::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                report.push(&rel, None, Tamper::Malformed, e.to_string());
                prev_hash = None;
                last_hash = None;
                continue;
            }
        };
        let Ok(hash) = m.hash() else {
            report.push(&rel, None, Tamper::Malformed, "manifest cannot be hashed");
            continue;
        };
        if m.date != date {
            report.push(&rel, None, Tamper::ManifestReplay, format!("the manifest of {} stands in for {date}", m.date));
        }
        if let Some(other) = seen_hashes.insert(hash, date) {
            report.push(&rel, None, Tamper::ManifestReplay, format!("same manifest as {other}"));
        }
        if index.days.get(&rel) != Some(&hash) {
            report.push(INDEX_PATH, None, Tamper::IndexMismatch, format!("day hash of {date} differs"));
        }
        check_manifest_signature(&m, &rel, &ring, report);
        match prev_hash {
            Some(expected) if m.prev_manifest != expected => report.push(
                &rel,
                None,
                Tamper::ManifestChainBroken,
                "prev_manifest is not the hash of the previous day's manifest",
            ),
            _ => {}
        }
        prev_hash = Some(Some(hash));
        last_hash = Some(hash);
        let day_prefix = format!("audit/{}/", date.path());
        for f in &m.files {
            if index.tenant.as_ref().is_some_and(|t| *t != f.tenant) {
                continue;
            }
            referenced.insert(f.path.clone());
            if f.path != format!("{day_prefix}{}.ndjson", f.tenant) {
                report.push(&rel, None, Tamper::Malformed, format!("file entry {} is outside its day", f.path));
                continue;
            }
            let Some(bytes) = entries.get(&f.path) else {
                report.push(&f.path, None, Tamper::MissingFile, "listed in the day manifest but absent");
                continue;
            };
            report.files += 1;
            verify_stream(&opts.config, bytes, f, date, &m, &ring, opts.batch_signatures, report);
        }
        for q in &m.quarantine {
            let tenant = q.path.rsplit('/').next().and_then(|n| n.split_once(".ndjson.torn-")).map(|(t, _)| t);
            if index.tenant.as_ref().is_some_and(|t| Some(t.as_str()) != tenant) {
                continue;
            }
            referenced.insert(q.path.clone());
            match entries.get(&q.path) {
                None => report.push(&q.path, None, Tamper::MissingFile, "quarantine file listed but absent"),
                Some(b) if blake3::hash(b).as_bytes() != &q.blake3 => {
                    report.push(&q.path, None, Tamper::FileHashMismatch, "quarantine file differs from the manifest")
                }
                Some(_) => {}
            }
        }
        for kid in m.keys.keys() {
            referenced.insert(format!("keys/{kid}.pub"));
        }
    }
    if let (Some(expected), Some(last)) = (opts.expected_head, last_hash)
        && expected != last
    {
        report.push(
            &manifest::manifest_rel_path(index.to),
            None,
            Tamper::ManifestReplay,
            "the last manifest is not the head the auditor expects",
        );
    }
    for path in entries.keys() {
        if !referenced.contains(path) {
            report.push(path, None, Tamper::UnlistedFile, "not listed in any day manifest of the bundle");
        }
    }
}

fn check_manifest_signature(m: &Manifest, rel: &str, ring: &KeyRing, report: &mut Report) {
    let Some(key) = ring.get(&m.kid) else {
        report.push(rel, None, Tamper::UnknownKey, format!("no public key for key id {:?}", m.kid));
        return;
    };
    if m.keys.get(&m.kid) != Some(&sign::fingerprint(key)) {
        report.push(
            rel,
            None,
            Tamper::WrongKey,
            format!("the key of {:?} does not match the signed fingerprint", m.kid),
        );
        return;
    }
    if !m.verify_signature(key).unwrap_or(false) {
        report.push(rel, None, Tamper::BadSignature, "manifest signature does not verify");
    }
}

/// Checks one stream file against its manifest entry, locating each problem.
#[allow(clippy::too_many_arguments)]
fn verify_stream(
    cfg: &TrailConfig,
    bytes: &[u8],
    entry: &FileEntry,
    date: Date,
    m: &Manifest,
    ring: &KeyRing,
    batch: bool,
    report: &mut Report,
) {
    let file = entry.path.as_str();
    if blake3::hash(bytes).as_bytes() != &entry.blake3 {
        report.push(file, None, Tamper::FileHashMismatch, "file differs from its day manifest");
    }
    let mut segments: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // `split` yields an empty last segment when the file ends with a newline.
    let torn = segments.pop().filter(|s| !s.is_empty());
    let mut infos: Vec<(u64, LineInfo)> = Vec::with_capacity(segments.len());
    let mut malformed: Vec<u64> = Vec::new();
    for (n, line) in segments.iter().enumerate() {
        let lineno = n as u64 + 1;
        match chain::inspect_line(cfg, line) {
            Ok(info) => infos.push((lineno, info)),
            Err(e) => {
                malformed.push(lineno);
                report.push(file, Some(lineno), Tamper::Malformed, e.to_string());
            }
        }
    }
    report.records += infos.len() as u64;
    if torn.is_some() {
        let lineno = segments.len() as u64 + 1;
        report.push(file, Some(lineno), Tamper::Truncated, "last line has no newline: the file was cut");
    }
    // Records of another day or tenant.
    let mut wrong_place = false;
    if let Some((l, i)) = infos.iter().find(|(_, i)| i.header.date != date) {
        let n = infos.iter().filter(|(_, i)| i.header.date != date).count();
        report.push(
            file,
            Some(*l),
            Tamper::WrongDay,
            format!("{n} records of {} in the file of {date}", i.header.date),
        );
        wrong_place = true;
    }
    if let Some((l, i)) = infos.iter().find(|(_, i)| i.header.tenant != entry.tenant) {
        report.push(
            file,
            Some(*l),
            Tamper::WrongStream,
            format!("record of tenant {:?} in the file of {:?}", i.header.tenant, entry.tenant),
        );
        wrong_place = true;
    }
    // Sequence analysis.
    let prev_refs: HashSet<[u8; 32]> = infos.iter().map(|(_, i)| i.prev).collect();
    let mut by_hash: HashMap<[u8; 32], u64> = HashMap::with_capacity(infos.len());
    let mut by_seq: HashMap<u64, usize> = HashMap::with_capacity(infos.len());
    let mut genuine: Vec<(u64, &LineInfo)> = Vec::with_capacity(infos.len());
    let mut max_seq = 0u64;
    for (lineno, info) in &infos {
        if let Some(first) = by_hash.insert(info.hash, *lineno) {
            by_hash.insert(info.hash, first);
            report.push(file, Some(*lineno), Tamper::Duplicated, format!("repeats line {first}"));
            continue;
        }
        if let Some(&g) = by_seq.get(&info.seq) {
            let later_genuine = prev_refs.contains(&info.hash) || entry.last_hash == Some(info.hash);
            if later_genuine {
                report.push(
                    file,
                    Some(genuine[g].0),
                    Tamper::Inserted,
                    format!("seq {} is claimed twice; this one is not in the chain", info.seq),
                );
                genuine[g] = (*lineno, info);
            } else {
                report.push(
                    file,
                    Some(*lineno),
                    Tamper::Inserted,
                    format!("seq {} is claimed twice; this one is not in the chain", info.seq),
                );
            }
            continue;
        }
        if info.seq < max_seq {
            report.push(file, Some(*lineno), Tamper::Reordered, format!("seq {} comes after seq {max_seq}", info.seq));
        }
        max_seq = max_seq.max(info.seq);
        by_seq.insert(info.seq, genuine.len());
        genuine.push((*lineno, info));
    }
    let sealed = entry.lines;
    let upto = max_seq.min(sealed.max(1));
    let mut s = 1;
    while s <= upto {
        if by_seq.contains_key(&s) {
            s += 1;
            continue;
        }
        let start = s;
        while s <= upto && !by_seq.contains_key(&s) {
            s += 1;
        }
        // A gap no wider than the malformed lines just before this line is
        // those lines themselves, already reported.
        let here = by_seq.get(&s).map(|&g| genuine[g].0);
        let before = by_seq.get(&(start - 1)).map_or(0, |&g| genuine[g].0);
        let hidden = here.map_or(0, |h| malformed.iter().filter(|&&m| m > before && m < h).count());
        if (s - start) as usize <= hidden {
            continue;
        }
        if let Some(&g) = by_seq.get(&s) {
            report.push(
                file,
                Some(genuine[g].0),
                Tamper::Deleted,
                format!("records seq {start}..{} are missing before this line", s - 1),
            );
        }
    }
    for &(lineno, info) in &genuine {
        if info.seq == 1 && !wrong_place && info.prev != chain::genesis(&entry.tenant, date) {
            report.push(file, Some(lineno), Tamper::Modified, "prev of the first record is not the stream's genesis");
        }
        if let Some(&g) = by_seq.get(&(info.seq + 1))
            && genuine[g].1.prev != info.hash
        {
            report.push(file, Some(lineno), Tamper::Modified, "record no longer matches the next record's prev");
        }
    }
    if max_seq > sealed {
        let g = by_seq.get(&(sealed + 1)).copied();
        let line = g.map(|g| genuine[g].0);
        report.push(file, line, Tamper::Inserted, format!("records beyond the {sealed} sealed in the manifest"));
    } else if max_seq < sealed && torn.is_none() {
        report.push(
            file,
            Some(segments.len() as u64 + 1),
            Tamper::Truncated,
            format!("the manifest sealed {sealed} records, the file ends at seq {max_seq}"),
        );
    } else if max_seq == sealed
        && sealed > 0
        && let Some(&g) = by_seq.get(&sealed)
        && Some(genuine[g].1.hash) != entry.last_hash
    {
        report.push(file, Some(genuine[g].0), Tamper::Modified, "last record differs from the sealed chain head");
    }
    // Signatures.
    let mut to_verify: Vec<(u64, &LineInfo, &VerifyingKey)> = Vec::new();
    for (lineno, info) in &infos {
        let Some(sig) = &info.sig else {
            if entry.records_signed {
                report.push(
                    file,
                    Some(*lineno),
                    Tamper::MissingSignature,
                    "the tenant's records are signed; this one is not",
                );
            }
            continue;
        };
        let Some(key) = ring.get(&sig.kid) else {
            report.push(file, Some(*lineno), Tamper::UnknownKey, format!("no public key for key id {:?}", sig.kid));
            continue;
        };
        if m.keys.get(&sig.kid) != Some(&sign::fingerprint(key)) {
            report.push(
                file,
                Some(*lineno),
                Tamper::WrongKey,
                format!("key {:?} is not the one the manifest signed", sig.kid),
            );
            continue;
        }
        to_verify.push((*lineno, info, key));
    }
    for lineno in failing_signatures(&to_verify, batch) {
        report.push(file, Some(lineno), Tamper::BadSignature, "record signature does not verify");
    }
}

/// Line numbers whose record signature fails.
fn failing_signatures(items: &[(u64, &LineInfo, &VerifyingKey)], batch: bool) -> Vec<u64> {
    let strict = |(l, info, key): &(u64, &LineInfo, &VerifyingKey)| -> Option<u64> {
        let s = info.sig.as_ref()?;
        (!sign::verify(key, sign::RECORD_DOMAIN, &s.kid, &info.hash, &s.sig)).then_some(*l)
    };
    if !batch {
        return items.iter().filter_map(strict).collect();
    }
    let mut failing = Vec::new();
    for chunk in items.chunks(256) {
        let msgs: Vec<Vec<u8>> = chunk
            .iter()
            .filter_map(|(_, i, _)| i.sig.as_ref().map(|s| sign::message(sign::RECORD_DOMAIN, &s.kid, &i.hash)))
            .collect();
        let sigs: Vec<Signature> =
            chunk.iter().filter_map(|(_, i, _)| i.sig.as_ref().map(|s| Signature::from_bytes(&s.sig))).collect();
        let keys: Vec<VerifyingKey> = chunk.iter().map(|(_, _, k)| **k).collect();
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        if msgs.len() != chunk.len() || ed25519_dalek::verify_batch(&refs, &sigs, &keys).is_err() {
            failing.extend(chunk.iter().filter_map(strict));
        }
    }
    failing
}

/// Reads and verifies; convenience for callers holding an [`Error`]-returning context.
pub fn verify_or_error(path: &Path, opts: &VerifyOptions) -> Result<Report> {
    let report = verify_path(path, opts)?;
    if report.is_ok() {
        Ok(report)
    } else {
        Err(Error::Corrupt { path: path.to_owned(), line: 0, reason: format!("{} failures", report.failures.len()) })
    }
}
