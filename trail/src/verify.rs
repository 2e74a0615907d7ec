//! The auditor's verifier: checks a bundle (`.tar.gz` or an unpacked
//! directory) and reports every failure with its file, line and kind.
//!
//! **Trust comes from outside the bundle.** With [`VerifyOptions::trusted_keys`]
//! (obtained out of band) every signature is checked with the auditor's keys,
//! never with keys the bundle brings; with [`VerifyOptions::checkpoint`] (the
//! signed head the daily roll publishes to a second location) the bundle must
//! end on the checkpoint's day with the checkpoint's manifest hash, start on
//! the first day of the chain it describes (or on the day the auditor asks),
//! and cover all tenants (or the one asked for). The bundle's own index is
//! unsigned: its range, tenant and anchor are accepted only as far as these
//! checks pin them. Without trusted keys or without a checkpoint the
//! [`Report`] says so on its first line and its [`Verdict`] is not a pass.
//!
//! **The archive is read as `tar` reads it, in bounded memory**: exactly one
//! gzip member (anything after it, such as a second member that `tar xzf`
//! would also extract, is `trailing_data`); raw ustar headers only (pax and GNU
//! long-name headers, which a tar reader applies to the next entry, are
//! `special_entry`); only zero bytes after the end-of-archive block; and hard
//! caps on each entry, on the total, on the decompressed stream and on the
//! number of entries, checked against the declared size before anything is
//! read. Buffers grow with the bytes actually read and are never allocated
//! from a declared size. With the default caps the verifier's peak memory
//! stays under [`PEAK_MEMORY_BOUND`] on any input (measured by the tests).
//! **Lines are read by the single-pass scanner** ([`crate::scan`]), and the work
//! is shared over the cores: entries hashed once in parallel, large stream
//! files split at line boundaries and scanned in parallel, signatures checked
//! in parallel. Files are checked one at a time, so the per-line state held is
//! that of one file, as on one core.
//! Archives are never extracted, so hostile paths cannot write anywhere; they
//! are still reported. Dependencies are kept to blake3, ed25519-dalek, tar and
//! flate2 so an outside auditor can build it alone.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use ed25519_dalek::{Signature, VerifyingKey};

use crate::bundle::{INDEX_PATH, INDEX_TYPE};
use crate::canonical::{self, TrailConfig, Value};
use crate::chain;
use crate::checkpoint::Checkpoint;
use crate::date::Date;
use crate::error::{Error, Result, io_err};
use crate::hex;
use crate::manifest::{self, FileEntry, Manifest};
use crate::scan::{LineScanner, ScannedLine};
use crate::sign::{self, KeyRing, Trusted, TrustedKeys};

/// Default largest archive entry: 32 MiB.
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 32 << 20;
/// Default largest total of entries: 128 MiB.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 128 << 20;
/// Default largest number of archive entries.
pub const DEFAULT_MAX_ENTRIES: usize = 65_536;
/// Zero bytes accepted after the end-of-archive block (tar pads to its record size).
pub const MAX_TRAILING_ZEROS: u64 = 1 << 20;
/// The verifier's documented peak memory with the default caps: 256 MiB.
/// The entries held (at most the total cap) plus the entry being read and the
/// per-line state of the largest file (each at most about twice the entry cap;
/// the scanner's state is about 130 bytes per record, whatever the number of cores).
pub const PEAK_MEMORY_BOUND: u64 = 256 << 20;

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
    /// A day of the bundle's range without manifest, or a day the checkpoint
    /// or the auditor expects that the bundle does not cover (dropped days).
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
    /// A key (in the bundle, or naming a signature) that is not among the auditor's trusted keys.
    UntrustedKey,
    /// An archive path that is absolute, has `..` or is otherwise unsafe.
    UnsafePath,
    /// A symbolic or hard link in the archive.
    Link,
    /// A device, FIFO, extension header or other special entry in the archive.
    SpecialEntry,
    /// The same path twice in the archive.
    DuplicateEntry,
    /// A file in the bundle that no manifest or index lists.
    UnlistedFile,
    /// The index disagrees with the bundle's content.
    IndexMismatch,
    /// The bundle has no `manifest.json` index.
    MissingIndex,
    /// An entry, the archive or its decompressed stream beyond the size limits.
    Oversized,
    /// Bytes after the first gzip member or non-zero bytes after the tar
    /// end-of-archive block: data a tar reader could extract that was never verified.
    TrailingData,
    /// The manifest of the checkpoint's day is not the checkpoint's head: a day was re-sealed.
    CheckpointMismatch,
    /// The checkpoint itself does not verify (signature, key).
    BadCheckpoint,
    /// The index's range or tenant is not what the checkpoint or the auditor asks for.
    RangeMismatch,
    /// The bundle holds no stream file at all: it proves nothing.
    Empty,
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
            Tamper::TrailingData => "trailing_data",
            Tamper::CheckpointMismatch => "checkpoint_mismatch",
            Tamper::BadCheckpoint => "bad_checkpoint",
            Tamper::RangeMismatch => "range_mismatch",
            Tamper::Empty => "empty",
        }
    }
}

/// One failure: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The file inside the bundle (`/`-separated), or `(archive)` / `(checkpoint)`.
    pub file: String,
    /// One-based line, when the failure is at a line.
    pub line: Option<u64>,
    /// The kind.
    pub kind: Tamper,
    /// A sentence for humans.
    pub detail: String,
}

/// The overall outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No failure, signatures checked with trusted keys, bundle consistent with the checkpoint.
    Verified,
    /// At least one failure.
    Tampered,
    /// No failure, but no trusted keys were given: the bundle's own keys were used.
    NotAuthenticated,
    /// No failure with trusted keys, but no checkpoint: dropped or re-sealed newest days go unseen.
    NotAnchored,
}

impl Verdict {
    /// The word the report's last line starts with.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "VERIFIED",
            Verdict::Tampered => "TAMPERED",
            Verdict::NotAuthenticated => "NOT AUTHENTICATED",
            Verdict::NotAnchored => "NOT ANCHORED",
        }
    }

    /// The exit status of `obspec-trail verify`: 0 verified, 2 tampered,
    /// 3 not authenticated (no trusted keys), 4 not anchored (no checkpoint).
    /// (1 is an error: unreadable path, bad arguments.)
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Verified => 0,
            Verdict::Tampered => 2,
            Verdict::NotAuthenticated => 3,
            Verdict::NotAnchored => 4,
        }
    }
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
    /// Whether signatures were checked with the auditor's trusted keys.
    pub authenticated: bool,
    /// Whether the bundle was checked against a checkpoint.
    pub anchored: bool,
    /// The range the bundle's index states.
    pub range: Option<(Date, Date)>,
    /// The tenant the bundle's index states (`None`: all tenants).
    pub tenant: Option<String>,
}

impl Report {
    /// Whether nothing failed. This alone says nothing of authenticity: see [`Report::verdict`].
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The overall outcome: a pass ([`Verdict::Verified`]) needs no failure,
    /// trusted keys and a checkpoint.
    pub fn verdict(&self) -> Verdict {
        if !self.failures.is_empty() {
            Verdict::Tampered
        } else if !self.authenticated {
            Verdict::NotAuthenticated
        } else if !self.anchored {
            Verdict::NotAnchored
        } else {
            Verdict::Verified
        }
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
        if !self.authenticated {
            writeln!(
                f,
                "AUTHENTICITY NOT CHECKED: no trusted keys were given, so the bundle's own keys were used \
                 (anyone can make a bundle that passes this; use --trusted-keys)"
            )?;
        } else if !self.anchored {
            writeln!(
                f,
                "HEAD NOT CHECKED: no checkpoint was given, so dropped newest days or re-sealed days go \
                 unseen (use --checkpoint)"
            )?;
        }
        for x in &self.failures {
            match x.line {
                Some(l) => writeln!(f, "FAIL {} {}:{}: {}", x.kind.as_str(), x.file, l, x.detail)?,
                None => writeln!(f, "FAIL {} {}: {}", x.kind.as_str(), x.file, x.detail)?,
            }
        }
        let range = match self.range {
            Some((a, b)) => format!(" {a}..{b}"),
            None => String::new(),
        };
        let tenant = match &self.tenant {
            Some(t) => format!(" tenant {t}"),
            None if self.range.is_some() => " all tenants".to_owned(),
            None => String::new(),
        };
        writeln!(
            f,
            "{}:{range}{tenant}: {} days, {} files, {} records, {} failures",
            self.verdict().as_str(),
            self.days,
            self.files,
            self.records,
            self.failures.len()
        )
    }
}

/// What the auditor asks for: the range and tenant a bundle must cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// First day (default with a checkpoint: the first day of its chain).
    pub from: Option<Date>,
    /// Last day (default with a checkpoint: its day).
    pub to: Option<Date>,
    /// The tenant of a one-tenant bundle (default with a checkpoint: all tenants).
    pub tenant: Option<String>,
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The record key order.
    pub config: TrailConfig,
    /// Keys the auditor trusts (obtained out of band). When set, every key in
    /// the bundle must be one of them and verification uses only these keys.
    pub trusted_keys: Option<TrustedKeys>,
    /// The signed head the daily roll published (see [`crate::checkpoint`]).
    pub checkpoint: Option<Checkpoint>,
    /// The range and tenant asked for.
    pub expect: Expect,
    /// The hash of the last day's manifest as the auditor knows it, without a
    /// signed checkpoint (library use; the command line takes `--checkpoint`).
    pub expected_head: Option<[u8; 32]>,
    /// Verify record signatures in batches (faster; a failed batch falls back
    /// to `verify_strict` per record to find the culprit). Off: `verify_strict` for each.
    pub batch_signatures: bool,
    /// Largest archive entry accepted.
    pub max_entry_bytes: u64,
    /// Largest total of entries accepted.
    pub max_total_bytes: u64,
    /// Most archive entries accepted.
    pub max_entries: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            config: TrailConfig::blueprint_default(),
            trusted_keys: None,
            checkpoint: None,
            expect: Expect::default(),
            expected_head: None,
            batch_signatures: false,
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// Verifies a bundle: a `.tar.gz` file or a directory with the same layout.
/// Called by `obspec-trail verify` (and `cargo xtask trails verify`). `Err`
/// only for I/O problems with `path` itself; everything about the content is in the [`Report`].
pub fn verify_path(path: &Path, opts: &VerifyOptions) -> Result<Report> {
    let mut report = Report::default();
    let entries = if path.is_dir() {
        Some(read_dir_entries(path, opts, &mut report)?)
    } else {
        let f = std::fs::File::open(path).map_err(io_err(path))?;
        read_tar_gz(f, opts, &mut report)
    };
    match entries {
        Some(e) => verify_entries(&e, opts, &mut report),
        None => note_anchors(opts, &mut report),
    }
    Ok(report)
}

/// Verifies a bundle given as bytes of a `.tar.gz`.
pub fn verify_bytes(tar_gz: &[u8], opts: &VerifyOptions) -> Report {
    let mut report = Report::default();
    match read_tar_gz(tar_gz, opts, &mut report) {
        Some(e) => verify_entries(&e, opts, &mut report),
        None => note_anchors(opts, &mut report),
    }
    report
}

fn note_anchors(opts: &VerifyOptions, report: &mut Report) {
    report.authenticated = opts.trusted_keys.is_some();
    report.anchored = opts.checkpoint.is_some();
}

/// Checks an archive path: relative, `/`-separated, no `.`, `..` or empty components.
fn safe_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && !p.contains('\0')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// A reader that fails once more than `left` bytes come through it, and says so in `hit`.
struct Capped<R> {
    inner: R,
    left: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let max = buf.len().min(room);
        let n = self.inner.read(&mut buf[..max])?;
        let n64 = u64::try_from(n).unwrap_or(u64::MAX);
        if n64 > self.left {
            self.hit.set(true);
            return Err(std::io::Error::other("decompressed archive exceeds the size cap"));
        }
        self.left -= n64;
        Ok(n)
    }
}

/// Reads a `.tar.gz` into memory as `tar` would read it, reporting hostile
/// entries instead of extracting them (see the module documentation).
/// Returns `None` when the archive could not be read within the limits; the
/// reason is in `report`.
pub fn read_tar_gz(reader: impl Read, opts: &VerifyOptions, report: &mut Report) -> Option<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let hit = Rc::new(Cell::new(false));
    // Header blocks and padding on top of the entries' data.
    let overhead = u64::try_from(opts.max_entries).unwrap_or(u64::MAX).saturating_mul(1024);
    let stream_cap = opts.max_total_bytes.saturating_add(overhead).saturating_add(MAX_TRAILING_ZEROS);
    let gz = flate2::bufread::GzDecoder::new(BufReader::new(reader));
    let capped = Capped { inner: gz, left: stream_cap, hit: Rc::clone(&hit) };
    let mut ar = tar::Archive::new(capped);
    let unreadable = |report: &mut Report, e: std::io::Error| {
        if hit.get() {
            report.push(
                "(archive)",
                None,
                Tamper::Oversized,
                format!("decompressed archive exceeds {stream_cap} bytes"),
            );
        } else {
            report.push("(archive)", None, Tamper::Malformed, format!("unreadable archive: {e}"));
        }
    };
    // Raw entries: a pax or GNU long-name header is returned as itself (and
    // rejected below) instead of being read whole and applied to the next entry.
    let entries = match ar.entries() {
        Ok(e) => e.raw(true),
        Err(e) => {
            unreadable(report, e);
            return None;
        }
    };
    let mut count = 0usize;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                unreadable(report, e);
                return None;
            }
        };
        count += 1;
        if count > opts.max_entries {
            report.push("(archive)", None, Tamper::Oversized, format!("more than {} entries", opts.max_entries));
            return None;
        }
        let raw = entry.path_bytes().into_owned();
        let name = match String::from_utf8(raw) {
            Ok(n) => n,
            Err(_) => {
                report.push("(archive)", None, Tamper::UnsafePath, "entry name is not UTF-8");
                "(non-UTF-8 name)".to_owned()
            }
        };
        let size = entry.size();
        if size > opts.max_entry_bytes {
            report.push(
                &name,
                None,
                Tamper::Oversized,
                format!("declares {size} bytes, more than the {} an entry may hold", opts.max_entry_bytes),
            );
            return None;
        }
        if total.saturating_add(size) > opts.max_total_bytes {
            report.push(
                &name,
                None,
                Tamper::Oversized,
                format!("entries exceed {} bytes in total", opts.max_total_bytes),
            );
            return None;
        }
        let ty = entry.header().entry_type();
        if matches!(
            ty,
            tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
                | tar::EntryType::XHeader
                | tar::EntryType::XGlobalHeader
        ) {
            report.push(
                &name,
                None,
                Tamper::SpecialEntry,
                format!("extension header {ty:?}: a tar reader would apply it to the next entry"),
            );
            continue;
        }
        let trimmed = if ty.is_dir() { name.trim_end_matches('/') } else { name.as_str() };
        if !safe_path(trimmed) {
            report.push(&name, None, Tamper::UnsafePath, "absolute, `..` or otherwise unsafe path");
            continue;
        }
        match ty {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            // A directory's data is skipped by some readers and not others, so
            // declared bytes could hide the entries that follow: only empty ones pass.
            tar::EntryType::Directory if size == 0 => continue,
            tar::EntryType::Directory => {
                report.push(
                    &name,
                    None,
                    Tamper::SpecialEntry,
                    format!("directory entry declares {size} bytes of data"),
                );
                return None;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                report.push(&name, None, Tamper::Link, "links are not allowed in a bundle");
                continue;
            }
            other => {
                report.push(&name, None, Tamper::SpecialEntry, format!("entry type {other:?}"));
                continue;
            }
        }
        total += size;
        // Grows with the bytes read, never from the declared size.
        let mut bytes = Vec::new();
        match (&mut entry).take(size).read_to_end(&mut bytes) {
            Ok(_) if u64::try_from(bytes.len()).ok() == Some(size) => {}
            Ok(_) => {
                report.push(&name, None, Tamper::Malformed, "entry data ends before its declared size");
                return None;
            }
            Err(e) => {
                unreadable(report, e);
                return None;
            }
        }
        bytes.shrink_to_fit();
        if out.contains_key(&name) {
            report.push(&name, None, Tamper::DuplicateEntry, "path appears twice in the archive");
            continue;
        }
        out.insert(name, bytes);
    }
    // After the end-of-archive block: tar stops reading (GNU tar reads on with
    // -i), so only zero padding may follow, up to a bound. Reading to the end
    // of the gzip member also checks its CRC and length.
    let mut capped = ar.into_inner();
    let mut buf = vec![0u8; 64 << 10];
    let mut trailing = 0u64;
    loop {
        match capped.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if buf[..n].iter().any(|&b| b != 0) {
                    report.push(
                        "(archive)",
                        None,
                        Tamper::TrailingData,
                        "non-zero data after the tar end-of-archive block",
                    );
                    return None;
                }
                trailing += u64::try_from(n).unwrap_or(u64::MAX);
                if trailing > MAX_TRAILING_ZEROS {
                    report.push(
                        "(archive)",
                        None,
                        Tamper::Oversized,
                        format!("more than {MAX_TRAILING_ZEROS} bytes of padding after the end-of-archive block"),
                    );
                    return None;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                unreadable(report, e);
                return None;
            }
        }
    }
    // Anything after the first gzip member: `tar xzf` (gzip -d) would decompress
    // a second member and extract its entries over the verified ones.
    let mut rest = capped.inner.into_inner();
    match rest.fill_buf() {
        Ok([]) => {}
        Ok(b) => {
            let what = if b.starts_with(&[0x1f, 0x8b]) { "a second gzip member" } else { "bytes" };
            report.push(
                "(archive)",
                None,
                Tamper::TrailingData,
                format!("{what} after the first gzip member: `tar xzf` would read it, the verifier does not"),
            );
            return None;
        }
        Err(e) => {
            report.push("(archive)", None, Tamper::Malformed, format!("unreadable archive: {e}"));
            return None;
        }
    }
    Some(out)
}

/// Reads an unpacked bundle directory, reporting links and special files, with the archive's caps.
fn read_dir_entries(dir: &Path, opts: &VerifyOptions, report: &mut Report) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let mut count = 0usize;
    let mut stack = vec![(dir.to_owned(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        for e in std::fs::read_dir(&path).map_err(io_err(&path))? {
            let e = e.map_err(io_err(&path))?;
            count += 1;
            if count > opts.max_entries {
                report.push(&rel, None, Tamper::Oversized, format!("more than {} entries", opts.max_entries));
                return Ok(out);
            }
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
            } else if total.saturating_add(meta.len()) > opts.max_total_bytes {
                report.push(
                    &child_rel,
                    None,
                    Tamper::Oversized,
                    format!("files exceed {} bytes in total", opts.max_total_bytes),
                );
                return Ok(out);
            } else {
                let f = std::fs::File::open(e.path()).map_err(io_err(e.path()))?;
                let mut bytes = Vec::new();
                // A file growing while it is read is cut at the cap.
                f.take(opts.max_entry_bytes).read_to_end(&mut bytes).map_err(io_err(e.path()))?;
                total += u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                out.insert(child_rel, bytes);
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

/// Where the auditor's expectations and the checkpoint put the bundle's
/// range, and whether the index matches them.
fn check_range(index: &Index, opts: &VerifyOptions, report: &mut Report) {
    let cp = opts.checkpoint.as_ref();
    let first = cp.and_then(Checkpoint::first_day);
    if let Some(c) = cp
        && first.is_none()
    {
        report.push("(checkpoint)", None, Tamper::BadCheckpoint, format!("size {} reaches before year 1", c.size));
    }
    let from = opts.expect.from.or(first);
    let to = opts.expect.to.or(cp.map(|c| c.date));
    if let Some(to) = to {
        if index.to < to {
            report.push(
                &manifest::manifest_rel_path(index.to.succ()),
                None,
                Tamper::MissingDay,
                format!(
                    "days {}..{to} are expected ({}) but the bundle ends on {}: the newest days were dropped",
                    index.to.succ(),
                    if opts.expect.to.is_some() { "asked for" } else { "the checkpoint's head" },
                    index.to
                ),
            );
        } else if index.to > to {
            report.push(
                INDEX_PATH,
                None,
                Tamper::RangeMismatch,
                format!("the bundle ends on {}, after the expected last day {to}", index.to),
            );
        }
    }
    if let Some(from) = from {
        if index.from > from {
            report.push(
                &manifest::manifest_rel_path(from),
                None,
                Tamper::MissingDay,
                format!(
                    "days {from}..{} are expected ({}) but the bundle starts on {}: the oldest days were dropped",
                    index.from.pred(),
                    if opts.expect.from.is_some() { "asked for" } else { "the first day of the checkpoint's chain" },
                    index.from
                ),
            );
        } else if index.from < from {
            report.push(
                INDEX_PATH,
                None,
                Tamper::RangeMismatch,
                format!("the bundle starts on {}, before the expected first day {from}", index.from),
            );
        }
    }
    // The first day of the chain has no predecessor; any later day has one.
    if let Some(first) = first {
        if index.from == first && index.anchor.is_some() {
            report.push(
                INDEX_PATH,
                None,
                Tamper::ManifestChainBroken,
                format!(
                    "{first} is the first day of the checkpoint's chain but the bundle anchors it to a predecessor"
                ),
            );
        } else if index.from > first && index.anchor.is_none() {
            report.push(
                INDEX_PATH,
                None,
                Tamper::ManifestChainBroken,
                format!(
                    "the checkpoint's chain starts on {first}, yet the bundle's first day {} has no predecessor",
                    index.from
                ),
            );
        } else if index.from < first {
            report.push(
                INDEX_PATH,
                None,
                Tamper::RangeMismatch,
                format!("the bundle starts on {}, before the first day {first} of the checkpoint's chain", index.from),
            );
        }
    }
    match (&opts.expect.tenant, &index.tenant) {
        (Some(want), Some(got)) if want == got => {}
        (Some(want), got) => report.push(
            INDEX_PATH,
            None,
            Tamper::RangeMismatch,
            format!("the bundle is for {}, but tenant {want} was asked for", got.as_deref().unwrap_or("all tenants")),
        ),
        (None, Some(got)) if cp.is_some() => report.push(
            INDEX_PATH,
            None,
            Tamper::RangeMismatch,
            format!(
                "the bundle holds tenant {got} only; the checkpoint covers all tenants (ask for one with --tenant)"
            ),
        ),
        (None, _) => {}
    }
}

/// The keys signatures are checked with: the auditor's trusted keys (a
/// fingerprint-only entry takes the bundle's key file when it matches), else
/// the bundle's own. Reports bundle keys the auditor does not trust.
fn key_ring(entries: &BTreeMap<String, Vec<u8>>, opts: &VerifyOptions, report: &mut Report) -> KeyRing {
    let mut bundle_ring = KeyRing::new();
    for (path, bytes) in entries.range("keys/".to_owned()..) {
        let Some(kid) = path.strip_prefix("keys/").and_then(|p| p.strip_suffix(".pub")) else {
            break;
        };
        match sign::decode_public_key(bytes) {
            Some(k) => {
                if let Some(trusted) = &opts.trusted_keys
                    && !trusted.trusts(kid, &k)
                {
                    let why = if trusted.get(kid).is_some() {
                        "differs from the trusted key of this key id"
                    } else {
                        "key id not among the trusted keys"
                    };
                    report.push(path, None, Tamper::UntrustedKey, why);
                }
                bundle_ring.insert(kid, k);
            }
            None => report.push(path, None, Tamper::WrongKey, "not a valid Ed25519 public key file"),
        }
    }
    let Some(trusted) = &opts.trusted_keys else {
        return bundle_ring;
    };
    let mut ring = KeyRing::new();
    for (kid, key) in bundle_ring.iter() {
        if let Some(Trusted::Fingerprint(_)) = trusted.get(kid)
            && trusted.trusts(kid, key)
        {
            ring.insert(kid, *key);
        }
    }
    for kid in entries.keys().filter_map(|p| p.strip_prefix("keys/").and_then(|p| p.strip_suffix(".pub"))) {
        if let Some(Trusted::Key(k)) = trusted.get(kid) {
            ring.insert(kid, *k);
        }
    }
    ring
}

/// Adds the trusted keys (by key) not in the bundle to `ring`, for manifests naming them.
fn add_trusted_keys(ring: &mut KeyRing, trusted: &TrustedKeys, kids: impl Iterator<Item = String>) {
    for kid in kids {
        if ring.get(&kid).is_none()
            && let Some(Trusted::Key(k)) = trusted.get(&kid)
        {
            ring.insert(&kid, *k);
        }
    }
}

/// Checks the checkpoint's own signature.
fn check_checkpoint(c: &Checkpoint, ring: &KeyRing, opts: &VerifyOptions, report: &mut Report) {
    let key = match &opts.trusted_keys {
        Some(t) => match t.get(&c.kid) {
            Some(Trusted::Key(k)) => Some(*k),
            Some(Trusted::Fingerprint(_)) => ring.get(&c.kid).copied().filter(|k| t.trusts(&c.kid, k)),
            None => None,
        },
        None => ring.get(&c.kid).copied(),
    };
    match key {
        None => report.push(
            "(checkpoint)",
            None,
            if opts.trusted_keys.is_some() { Tamper::UntrustedKey } else { Tamper::BadCheckpoint },
            format!("no trusted key for the checkpoint's key id {:?}", c.kid),
        ),
        Some(k) if !c.verify_signature(&k).unwrap_or(false) => {
            report.push("(checkpoint)", None, Tamper::BadCheckpoint, "the checkpoint's signature does not verify")
        }
        Some(_) => {}
    }
}

/// Verifies bundle entries already read into memory, adding to `report`.
pub fn verify_entries(entries: &BTreeMap<String, Vec<u8>>, opts: &VerifyOptions, report: &mut Report) {
    note_anchors(opts, report);
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
    report.range = Some((index.from, index.to));
    report.tenant = index.tenant.clone();
    check_range(&index, opts, report);
    // Every entry is hashed once (on all cores); the index and the manifests compare against these.
    let hashes = entry_hashes(entries);
    // Index against content.
    for (path, bytes) in entries {
        if path == INDEX_PATH {
            continue;
        }
        match index.entries.get(path) {
            None => report.push(path, None, Tamper::UnlistedFile, "not listed in the bundle index"),
            Some((n, h)) => {
                if u64::try_from(bytes.len()).ok() != Some(*n) || hashes.get(path.as_str()) != Some(h) {
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
    let mut ring = key_ring(entries, opts, report);
    if let Some(c) = &opts.checkpoint {
        if let Some(t) = &opts.trusted_keys {
            add_trusted_keys(&mut ring, t, std::iter::once(c.kid.clone()));
        }
        check_checkpoint(c, &ring, opts, report);
    }
    let trusted = opts.trusted_keys.is_some();
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
        if let Some(c) = &opts.checkpoint
            && c.date == date
            && c.head != hash
        {
            report.push(
                &rel,
                None,
                Tamper::CheckpointMismatch,
                format!("the manifest of {date} is not the checkpoint's head: the day was re-sealed or replaced"),
            );
        }
        if let Some(t) = &opts.trusted_keys {
            add_trusted_keys(&mut ring, t, std::iter::once(m.kid.clone()));
        }
        check_manifest_signature(&m, &rel, &ring, trusted, report);
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
            let file_hash = hashes.get(f.path.as_str()).copied().unwrap_or_else(|| *blake3::hash(bytes).as_bytes());
            let stream = StreamCtx { entry: f, file_hash, date, manifest: &m, ring: &ring, trusted };
            verify_stream(&opts.config, bytes, &stream, opts.batch_signatures, report);
        }
        for q in &m.quarantine {
            let tenant = q.path.rsplit('/').next().and_then(|n| n.split_once(".ndjson.torn-")).map(|(t, _)| t);
            if index.tenant.as_ref().is_some_and(|t| Some(t.as_str()) != tenant) {
                continue;
            }
            referenced.insert(q.path.clone());
            match entries.get(&q.path) {
                None => report.push(&q.path, None, Tamper::MissingFile, "quarantine file listed but absent"),
                Some(b)
                    if hashes.get(q.path.as_str()).copied().unwrap_or_else(|| *blake3::hash(b).as_bytes())
                        != q.blake3 =>
                {
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
    if report.files == 0 {
        report.push(
            INDEX_PATH,
            None,
            Tamper::Empty,
            format!(
                "no stream file for {} in {}..{}: an empty bundle proves nothing",
                index.tenant.as_deref().map_or("any tenant".to_owned(), |t| format!("tenant {t}")),
                index.from,
                index.to
            ),
        );
    }
}

fn check_manifest_signature(m: &Manifest, rel: &str, ring: &KeyRing, trusted: bool, report: &mut Report) {
    let Some(key) = ring.get(&m.kid) else {
        if trusted {
            report.push(
                rel,
                None,
                Tamper::UntrustedKey,
                format!("signed with key id {:?}, which is not trusted", m.kid),
            );
        } else {
            report.push(rel, None, Tamper::UnknownKey, format!("no public key for key id {:?}", m.kid));
        }
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

/// Files at least this large are scanned on all cores, split at line boundaries.
const PARALLEL_MIN_BYTES: usize = 256 << 10;

/// How many threads the verifier uses: the cores available, at most 8.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// A bundle entry: path and bytes.
type Entry<'a> = (&'a String, &'a Vec<u8>);

/// BLAKE3 of every entry, computed once, the entries shared out over the cores by size.
fn entry_hashes(entries: &BTreeMap<String, Vec<u8>>) -> HashMap<&str, [u8; 32]> {
    let n = workers();
    let total: usize = entries.values().map(Vec::len).sum();
    if n < 2 || total < PARALLEL_MIN_BYTES {
        return entries.iter().map(|(p, b)| (p.as_str(), *blake3::hash(b).as_bytes())).collect();
    }
    // Largest first, each to the least loaded worker.
    let mut by_size: Vec<Entry<'_>> = entries.iter().collect();
    by_size.sort_by_key(|(_, b)| std::cmp::Reverse(b.len()));
    let mut shares: Vec<(usize, Vec<Entry<'_>>)> = (0..n).map(|_| (0, Vec::new())).collect();
    for e in by_size {
        if let Some(s) = shares.iter_mut().min_by_key(|s| s.0) {
            s.0 += e.1.len();
            s.1.push(e);
        }
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|(_, share)| {
                scope.spawn(move || {
                    share.into_iter().map(|(p, b)| (p.as_str(), *blake3::hash(b).as_bytes())).collect::<Vec<_>>()
                })
            })
            .collect();
        // A worker only panics if hashing does; report that as a panic here too.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// What a stream file is checked against.
struct StreamCtx<'m> {
    entry: &'m FileEntry,
    file_hash: [u8; 32],
    date: Date,
    manifest: &'m Manifest,
    ring: &'m KeyRing,
    trusted: bool,
}

/// The per-line state kept while a file is checked: what the chain analysis needs.
struct Line<'a> {
    lineno: u64,
    seq: u64,
    prev: [u8; 32],
    hash: [u8; 32],
    date: Date,
    tenant: Cow<'a, str>,
    sig: Option<Box<(Cow<'a, str>, [u8; 64])>>,
}

impl<'a> Line<'a> {
    fn new(lineno: u64, s: ScannedLine<'a>) -> Line<'a> {
        Line {
            lineno,
            seq: s.seq,
            prev: s.prev,
            hash: s.hash,
            date: s.date,
            tenant: s.tenant,
            sig: s.sig.map(Box::new),
        }
    }
}

/// Lines of one part of a file: the records read and the malformed lines (local index from 0, reason).
type Part<'a> = (Vec<Line<'a>>, Vec<(u64, String)>, u64);

/// The first `\n` in `b`, eight bytes at a time.
fn find_newline(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut words = b.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let x = u64::from_le_bytes(a) ^ NL;
        // The lowest byte of x that is zero sets the lowest flagged bit (borrows only run upwards).
        let hit = x.wrapping_sub(LO) & !x & HI;
        if hit != 0 {
            return Some(at + (hit.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&c| c == b'\n').map(|p| at + p)
}

/// Scans the complete lines of `region` (which ends with a newline or is empty), numbering from `first`.
fn scan_part<'a>(scanner: &LineScanner<'_>, region: &'a [u8], first: u64) -> Part<'a> {
    let count = region.iter().filter(|&&b| b == b'\n').count();
    let mut lines = Vec::with_capacity(count);
    let mut malformed = Vec::new();
    let mut lineno = first;
    let mut rest = region;
    while let Some(p) = find_newline(rest) {
        let (line, tail) = (&rest[..p], &rest[p + 1..]);
        rest = tail;
        match chain::scan_line(scanner, line) {
            Ok(s) => lines.push(Line::new(lineno, s)),
            Err(e) => malformed.push((lineno, e.to_string())),
        }
        lineno += 1;
    }
    (lines, malformed, lineno - first)
}

/// Scans every complete line of a file, on all cores when it is large; parts are returned in line order.
fn scan_file<'a>(scanner: &LineScanner<'_>, complete: &'a [u8]) -> Vec<Part<'a>> {
    let n = workers();
    if n < 2 || complete.len() < PARALLEL_MIN_BYTES {
        return vec![scan_part(scanner, complete, 1)];
    }
    // Cut after the first newline at or past each n-th of the bytes.
    let mut cuts = vec![0];
    for k in 1..n {
        let from = (complete.len() * k / n).max(*cuts.last().unwrap_or(&0));
        if let Some(p) = complete[from..].iter().position(|&b| b == b'\n') {
            cuts.push(from + p + 1);
        }
    }
    cuts.push(complete.len());
    cuts.dedup();
    let regions: Vec<&[u8]> = cuts.windows(2).map(|w| &complete[w[0]..w[1]]).collect();
    let mut parts: Vec<Part<'a>> = std::thread::scope(|scope| {
        let handles: Vec<_> = regions.iter().map(|r| scope.spawn(move || scan_part(scanner, r, 1))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    // Renumber: each part counted from 1.
    let mut offset = 0;
    for (lines, malformed, count) in &mut parts {
        for l in lines.iter_mut() {
            l.lineno += offset;
        }
        for m in malformed.iter_mut() {
            m.0 += offset;
        }
        offset += *count;
    }
    parts
}

/// Where `seq` is among the genuine records: dense (record `seq` at `seq − 1`) or by lookup.
enum SeqIndex {
    Dense(u64),
    Map(HashMap<u64, usize>),
}

impl SeqIndex {
    fn get(&self, seq: u64) -> Option<usize> {
        match self {
            SeqIndex::Dense(n) => (seq >= 1 && seq <= *n).then(|| usize::try_from(seq - 1).unwrap_or(usize::MAX)),
            SeqIndex::Map(m) => m.get(&seq).copied(),
        }
    }

    fn contains(&self, seq: u64) -> bool {
        self.get(seq).is_some()
    }
}

/// Checks one stream file against its manifest entry, locating each problem.
fn verify_stream(cfg: &TrailConfig, bytes: &[u8], ctx: &StreamCtx<'_>, batch: bool, report: &mut Report) {
    let StreamCtx { entry, file_hash, date, manifest: m, ring, trusted } = *ctx;
    let file = entry.path.as_str();
    if file_hash != entry.blake3 {
        report.push(file, None, Tamper::FileHashMismatch, "file differs from its day manifest");
    }
    // Complete lines end with a newline; bytes after the last one are a torn line.
    let split = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let (complete, tail) = bytes.split_at(split);
    let torn = (!tail.is_empty()).then_some(tail);
    let scanner = LineScanner::new(cfg);
    let parts = scan_file(&scanner, complete);
    let line_count: u64 = parts.iter().map(|p| p.2).sum();
    let mut malformed: Vec<u64> = Vec::new();
    for (lineno, reason) in parts.iter().flat_map(|p| &p.1) {
        malformed.push(*lineno);
        report.push(file, Some(*lineno), Tamper::Malformed, reason.clone());
    }
    let infos: Vec<&Line<'_>> = parts.iter().flat_map(|p| &p.0).collect();
    report.records += infos.len() as u64;
    if torn.is_some() {
        let lineno = line_count + 1;
        report.push(file, Some(lineno), Tamper::Truncated, "last line has no newline: the file was cut");
    }
    // Records of another day or tenant.
    let mut wrong_place = false;
    if let Some(i) = infos.iter().find(|i| i.date != date) {
        let n = infos.iter().filter(|i| i.date != date).count();
        report.push(file, Some(i.lineno), Tamper::WrongDay, format!("{n} records of {} in the file of {date}", i.date));
        wrong_place = true;
    }
    if let Some(i) = infos.iter().find(|i| i.tenant != entry.tenant) {
        report.push(
            file,
            Some(i.lineno),
            Tamper::WrongStream,
            format!("record of tenant {:?} in the file of {:?}", i.tenant, entry.tenant),
        );
        wrong_place = true;
    }
    // Sequence analysis. The common case, records seq 1, 2, 3, … in order, has
    // no repeat, gap or reordering (equal hashes need equal seqs), so it needs no maps.
    let dense = infos.iter().zip(1u64..).all(|(i, k)| i.seq == k);
    let (genuine, by_seq, max_seq): (Vec<&Line<'_>>, SeqIndex, u64) = if dense {
        let n = infos.len() as u64;
        (infos.clone(), SeqIndex::Dense(n), n)
    } else {
        let prev_refs: HashSet<[u8; 32]> = infos.iter().map(|i| i.prev).collect();
        let mut by_hash: HashMap<[u8; 32], u64> = HashMap::with_capacity(infos.len());
        let mut by_seq: HashMap<u64, usize> = HashMap::with_capacity(infos.len());
        let mut genuine: Vec<&Line<'_>> = Vec::with_capacity(infos.len());
        let mut max_seq = 0u64;
        for &info in &infos {
            let lineno = info.lineno;
            if let Some(first) = by_hash.insert(info.hash, lineno) {
                by_hash.insert(info.hash, first);
                report.push(file, Some(lineno), Tamper::Duplicated, format!("repeats line {first}"));
                continue;
            }
            if let Some(&g) = by_seq.get(&info.seq) {
                let later_genuine = prev_refs.contains(&info.hash) || entry.last_hash == Some(info.hash);
                if later_genuine {
                    report.push(
                        file,
                        Some(genuine[g].lineno),
                        Tamper::Inserted,
                        format!("seq {} is claimed twice; this one is not in the chain", info.seq),
                    );
                    genuine[g] = info;
                } else {
                    report.push(
                        file,
                        Some(lineno),
                        Tamper::Inserted,
                        format!("seq {} is claimed twice; this one is not in the chain", info.seq),
                    );
                }
                continue;
            }
            if info.seq < max_seq {
                report.push(
                    file,
                    Some(lineno),
                    Tamper::Reordered,
                    format!("seq {} comes after seq {max_seq}", info.seq),
                );
            }
            max_seq = max_seq.max(info.seq);
            by_seq.insert(info.seq, genuine.len());
            genuine.push(info);
        }
        (genuine, SeqIndex::Map(by_seq), max_seq)
    };
    let sealed = entry.lines;
    let upto = max_seq.min(sealed.max(1));
    let mut s = 1;
    while s <= upto {
        if by_seq.contains(s) {
            s += 1;
            continue;
        }
        let start = s;
        while s <= upto && !by_seq.contains(s) {
            s += 1;
        }
        // A gap no wider than the malformed lines just before this line is
        // those lines themselves, already reported.
        let here = by_seq.get(s).map(|g| genuine[g].lineno);
        let before = by_seq.get(start - 1).map_or(0, |g| genuine[g].lineno);
        let hidden = here.map_or(0, |h| malformed.iter().filter(|&&m| m > before && m < h).count());
        if (s - start) as usize <= hidden {
            continue;
        }
        if let Some(g) = by_seq.get(s) {
            report.push(
                file,
                Some(genuine[g].lineno),
                Tamper::Deleted,
                format!("records seq {start}..{} are missing before this line", s - 1),
            );
        }
    }
    for &info in &genuine {
        if info.seq == 1 && !wrong_place && chain::genesis_version(&info.prev, &entry.tenant, date).is_none() {
            report.push(
                file,
                Some(info.lineno),
                Tamper::Modified,
                "prev of the first record is not the stream's genesis",
            );
        }
        if let Some(g) = by_seq.get(info.seq + 1)
            && genuine[g].prev != info.hash
        {
            report.push(file, Some(info.lineno), Tamper::Modified, "record no longer matches the next record's prev");
        }
    }
    if max_seq > sealed {
        let line = by_seq.get(sealed + 1).map(|g| genuine[g].lineno);
        report.push(file, line, Tamper::Inserted, format!("records beyond the {sealed} sealed in the manifest"));
    } else if max_seq < sealed && torn.is_none() {
        report.push(
            file,
            Some(line_count + 1),
            Tamper::Truncated,
            format!("the manifest sealed {sealed} records, the file ends at seq {max_seq}"),
        );
    } else if max_seq == sealed
        && sealed > 0
        && let Some(g) = by_seq.get(sealed)
        && Some(genuine[g].hash) != entry.last_hash
    {
        report.push(file, Some(genuine[g].lineno), Tamper::Modified, "last record differs from the sealed chain head");
    }
    // Signatures.
    let mut to_verify: Vec<(u64, &Line<'_>, &VerifyingKey)> = Vec::new();
    for &info in &infos {
        let lineno = info.lineno;
        let Some(sig) = info.sig.as_deref() else {
            if entry.records_signed {
                report.push(
                    file,
                    Some(lineno),
                    Tamper::MissingSignature,
                    "the tenant's records are signed; this one is not",
                );
            }
            continue;
        };
        let kid = sig.0.as_ref();
        let Some(key) = ring.get(kid) else {
            if trusted {
                report.push(file, Some(lineno), Tamper::UntrustedKey, format!("key id {kid:?} is not trusted"));
            } else {
                report.push(file, Some(lineno), Tamper::UnknownKey, format!("no public key for key id {kid:?}"));
            }
            continue;
        };
        if m.keys.get(kid) != Some(&sign::fingerprint(key)) {
            report.push(
                file,
                Some(lineno),
                Tamper::WrongKey,
                format!("key {kid:?} is not the one the manifest signed"),
            );
            continue;
        }
        to_verify.push((lineno, info, key));
    }
    for lineno in failing_signatures_parallel(&to_verify, batch) {
        report.push(file, Some(lineno), Tamper::BadSignature, "record signature does not verify");
    }
}

/// [`failing_signatures`] with the records shared out over the cores, in line order.
fn failing_signatures_parallel(items: &[(u64, &Line<'_>, &VerifyingKey)], batch: bool) -> Vec<u64> {
    let n = workers();
    if n < 2 || items.len() < 512 {
        return failing_signatures(items, batch);
    }
    let per = items.len().div_ceil(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items.chunks(per).map(|c| scope.spawn(move || failing_signatures(c, batch))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Line numbers whose record signature fails.
fn failing_signatures(items: &[(u64, &Line<'_>, &VerifyingKey)], batch: bool) -> Vec<u64> {
    let strict = |(l, info, key): &(u64, &Line<'_>, &VerifyingKey)| -> Option<u64> {
        let s = info.sig.as_deref()?;
        (!sign::verify(key, sign::RECORD_DOMAIN, &s.0, &info.hash, &s.1)).then_some(*l)
    };
    if !batch {
        return items.iter().filter_map(strict).collect();
    }
    let mut failing = Vec::new();
    for chunk in items.chunks(256) {
        let msgs: Vec<Vec<u8>> = chunk
            .iter()
            .filter_map(|(_, i, _)| i.sig.as_deref().map(|s| sign::message(sign::RECORD_DOMAIN, &s.0, &i.hash)))
            .collect();
        let sigs: Vec<Signature> =
            chunk.iter().filter_map(|(_, i, _)| i.sig.as_deref().map(|s| Signature::from_bytes(&s.1))).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_newline_finds_the_first_one_anywhere() {
        for len in 0..40 {
            for at in 0..=len {
                let mut b: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                // Bytes that trip naive word tricks next to the newline: 0x0b, 0x8a, 0x09.
                if at > 0 {
                    b[at - 1] = 0x8a;
                }
                if at < len {
                    b[at] = b'\n';
                    if at + 1 < len {
                        b[at + 1] = b'\n';
                    }
                    if at + 2 < len {
                        b[at + 2] = 0x0b;
                    }
                }
                assert_eq!(find_newline(&b), b.iter().position(|&c| c == b'\n'), "len {len} at {at}");
            }
        }
    }
}
