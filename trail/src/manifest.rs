//! Day manifests (seals): one signed JCS document per day listing every
//! stream file with its BLAKE3, line count, first/last id, last record hash
//! and Merkle root, every quarantined torn tail, the keys used, and the hash
//! of the previous day's manifest (the model is CloudTrail's digest files).
//!
//! Manifests live at `manifests/yyyy/mm/dd.json` below the trail root and
//! are produced for every day, empty or not, so a missing day is visible.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::canonical::{self, Object, TrailConfig, Value};
use crate::chain::{self, ChainHead};
use crate::date::Date;
use crate::error::{Error, Result, io_err};
use crate::scan::LineScanner;
use crate::sign::{self, KeyRing, Signer};
use crate::{fsutil, hex, merkle};

/// The `type` of a manifest document.
pub const MANIFEST_TYPE: &str = "obspec-trail/day-manifest";

/// One stream file of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Path relative to the root, `/`-separated: `audit/yyyy/mm/dd/<tenant>.ndjson`.
    pub path: String,
    /// The tenant (the file stem).
    pub tenant: String,
    /// File size.
    pub bytes: u64,
    /// Number of records (lines).
    pub lines: u64,
    /// BLAKE3 of the whole file.
    pub blake3: [u8; 32],
    /// Merkle root over the lines (see [`crate::merkle`]).
    pub merkle_root: [u8; 32],
    /// Id of the first record.
    pub first_id: Option<String>,
    /// Id of the last record.
    pub last_id: Option<String>,
    /// Hash of the last record (the chain head).
    pub last_hash: Option<[u8; 32]>,
    /// Whether every record carries a signature (the tenant's policy).
    pub records_signed: bool,
}

/// A quarantined torn tail of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// Path relative to the root.
    pub path: String,
    /// File size.
    pub bytes: u64,
    /// BLAKE3 of the file.
    pub blake3: [u8; 32],
}

/// A signed day manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The day.
    pub date: Date,
    /// Hash of the previous day's manifest ([`Manifest::hash`]); `None` for the first day.
    pub prev_manifest: Option<[u8; 32]>,
    /// Stream files, sorted by path.
    pub files: Vec<FileEntry>,
    /// Quarantined torn tails, sorted by path.
    pub quarantine: Vec<QuarantineEntry>,
    /// Fingerprints ([`sign::fingerprint`]) of every key used, by key id.
    pub keys: BTreeMap<String, String>,
    /// Key id of the manifest signature.
    pub kid: String,
    /// Ed25519 signature over [`sign::message`]`(MANIFEST_DOMAIN, kid, hash)`.
    pub sig: [u8; 64],
}

fn opt_str(v: Option<&String>) -> Value {
    v.map_or(Value::Null, |s| Value::Str(s.clone()))
}

fn int(n: u64) -> Result<Value> {
    i64::try_from(n).map(Value::Int).map_err(|_| Error::NotCanonical(format!("{n} too large")))
}

impl Manifest {
    /// The manifest as a JSON value, with or without `sig`.
    pub fn to_value(&self, include_sig: bool) -> Result<Value> {
        let mut files = Vec::new();
        for f in &self.files {
            files.push(Value::Object(
                Object::new()
                    .with("path", f.path.as_str())
                    .with("tenant", f.tenant.as_str())
                    .with("bytes", int(f.bytes)?)
                    .with("lines", int(f.lines)?)
                    .with("blake3", hex::encode(&f.blake3))
                    .with("merkle_root", hex::encode(&f.merkle_root))
                    .with("first_id", opt_str(f.first_id.as_ref()))
                    .with("last_id", opt_str(f.last_id.as_ref()))
                    .with("last_hash", f.last_hash.map_or(Value::Null, |h| Value::Str(hex::encode(&h))))
                    .with("records_signed", f.records_signed),
            ));
        }
        let mut quarantine = Vec::new();
        for q in &self.quarantine {
            quarantine.push(Value::Object(
                Object::new()
                    .with("path", q.path.as_str())
                    .with("bytes", int(q.bytes)?)
                    .with("blake3", hex::encode(&q.blake3)),
            ));
        }
        let mut keys = Object::new();
        for (k, fpr) in &self.keys {
            keys.insert(k.as_str(), fpr.as_str());
        }
        let mut o = Object::new()
            .with("type", MANIFEST_TYPE)
            .with("v", 1)
            .with("date", self.date.to_string())
            .with("prev_manifest", self.prev_manifest.map_or(Value::Null, |h| Value::Str(hex::encode(&h))))
            .with("files", Value::Array(files))
            .with("quarantine", Value::Array(quarantine))
            .with("keys", keys)
            .with("kid", self.kid.as_str());
        if include_sig {
            o.insert("sig", hex::encode(&self.sig));
        }
        Ok(Value::Object(o))
    }

    /// The manifest hash: BLAKE3 of its JCS bytes without `sig`. The next day chains to it.
    pub fn hash(&self) -> Result<[u8; 32]> {
        Ok(*blake3::hash(&canonical::to_jcs(&self.to_value(false)?, 8)?).as_bytes())
    }

    /// The stored bytes: JCS with `sig`, and a newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut b = canonical::to_jcs(&self.to_value(true)?, 8)?;
        b.push(b'\n');
        Ok(b)
    }

    /// Whether the signature verifies (strictly) with `key`.
    pub fn verify_signature(&self, key: &VerifyingKey) -> Result<bool> {
        Ok(sign::verify(key, sign::MANIFEST_DOMAIN, &self.kid, &self.hash()?, &self.sig))
    }

    /// Parses stored bytes, which must be exactly what [`Manifest::to_bytes`] writes.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let bad = |m: &str| Error::Manifest(m.to_owned());
        let body = bytes.strip_suffix(b"\n").ok_or_else(|| bad("manifest must end with a newline"))?;
        let v = canonical::parse_with_depth(body, 8)?;
        let o = v.as_object().ok_or_else(|| bad("manifest must be an object"))?;
        let s = |o: &Object, k: &str| -> Result<String> {
            o.get(k).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| bad(&format!("`{k}` must be a string")))
        };
        let h32 = |o: &Object, k: &str| -> Result<[u8; 32]> {
            hex::decode::<32>(&s(o, k)?).ok_or_else(|| bad(&format!("`{k}` must be a hex hash")))
        };
        let u = |o: &Object, k: &str| -> Result<u64> {
            o.get(k)
                .and_then(Value::as_int)
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| bad(&format!("`{k}` must be a non-negative integer")))
        };
        let opt = |o: &Object, k: &str| -> Result<Option<String>> {
            match o.get(k) {
                Some(Value::Null) => Ok(None),
                Some(Value::Str(x)) => Ok(Some(x.clone())),
                _ => Err(bad(&format!("`{k}` must be a string or null"))),
            }
        };
        if s(o, "type")? != MANIFEST_TYPE || o.get("v") != Some(&Value::Int(1)) {
            return Err(bad("not a version 1 day manifest"));
        }
        let date = Date::parse(&s(o, "date")?).ok_or_else(|| bad("`date` must be YYYY-MM-DD"))?;
        let prev_manifest = match opt(o, "prev_manifest")? {
            None => None,
            Some(x) => Some(hex::decode::<32>(&x).ok_or_else(|| bad("bad `prev_manifest`"))?),
        };
        let arr = |k: &str| -> Result<Vec<Value>> {
            match o.get(k) {
                Some(Value::Array(a)) => Ok(a.clone()),
                _ => Err(bad(&format!("`{k}` must be an array"))),
            }
        };
        let mut files = Vec::new();
        for f in arr("files")? {
            let f = f.as_object().ok_or_else(|| bad("file entry must be an object"))?;
            let last_hash = match opt(f, "last_hash")? {
                None => None,
                Some(x) => Some(hex::decode::<32>(&x).ok_or_else(|| bad("bad `last_hash`"))?),
            };
            files.push(FileEntry {
                path: s(f, "path")?,
                tenant: s(f, "tenant")?,
                bytes: u(f, "bytes")?,
                lines: u(f, "lines")?,
                blake3: h32(f, "blake3")?,
                merkle_root: h32(f, "merkle_root")?,
                first_id: opt(f, "first_id")?,
                last_id: opt(f, "last_id")?,
                last_hash,
                records_signed: match f.get("records_signed") {
                    Some(Value::Bool(b)) => *b,
                    _ => return Err(bad("`records_signed` must be a boolean")),
                },
            });
        }
        let mut quarantine = Vec::new();
        for q in arr("quarantine")? {
            let q = q.as_object().ok_or_else(|| bad("quarantine entry must be an object"))?;
            quarantine.push(QuarantineEntry { path: s(q, "path")?, bytes: u(q, "bytes")?, blake3: h32(q, "blake3")? });
        }
        let mut keys = BTreeMap::new();
        for (k, fpr) in o.get("keys").and_then(Value::as_object).ok_or_else(|| bad("`keys` must be an object"))?.iter()
        {
            let fpr = fpr.as_str().ok_or_else(|| bad("key fingerprint must be a string"))?;
            keys.insert(k.to_owned(), fpr.to_owned());
        }
        let sig = hex::decode::<64>(&s(o, "sig")?).ok_or_else(|| bad("`sig` must be 128 hex digits"))?;
        let m = Manifest { date, prev_manifest, files, quarantine, keys, kid: s(o, "kid")?, sig };
        // Unknown fields or any other deviation make the bytes differ.
        if m.to_bytes()? != bytes {
            return Err(bad("manifest is not in canonical form or has unknown fields"));
        }
        Ok(m)
    }
}

/// Where a day's manifest lives below a root: `manifests/yyyy/mm/dd.json`.
pub fn manifest_path(root: &Path, date: Date) -> PathBuf {
    root.join(manifest_rel_path(date))
}

/// The `/`-separated relative path of a day's manifest.
pub fn manifest_rel_path(date: Date) -> String {
    format!("manifests/{}.json", date.path())
}

/// What a full check of one stream file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// The manifest entry for the file.
    pub entry: FileEntry,
    /// Key ids of the record signatures met.
    pub kids: Vec<String>,
}

/// Checks a stream file completely (canonical lines, chain from genesis,
/// record signatures against `keys`) and summarises it for a manifest.
pub fn check_stream_file(
    cfg: &TrailConfig,
    bytes: &[u8],
    rel_path: &str,
    tenant: &str,
    date: Date,
    keys: &KeyRing,
) -> Result<StreamSummary> {
    let corrupt = |line: u64, reason: String| Error::Corrupt { path: PathBuf::from(rel_path), line, reason };
    let body = if bytes.is_empty() {
        bytes
    } else {
        bytes
            .strip_suffix(b"\n")
            .ok_or_else(|| corrupt(0, "torn last line: open the trail with a Writer to quarantine it first".into()))?
    };
    let mut head = ChainHead::genesis(tenant, date);
    let mut leaves = Vec::new();
    let mut first_id = None;
    let mut last_id = None;
    let mut all_signed = true;
    let mut kids: Vec<String> = Vec::new();
    let scanner = LineScanner::new(cfg);
    if !body.is_empty() {
        for (n, line) in body.split(|&b| b == b'\n').enumerate() {
            let lineno = u64::try_from(n).unwrap_or(u64::MAX).saturating_add(1);
            let info = chain::scan_line(&scanner, line).map_err(|e| corrupt(lineno, e.to_string()))?;
            head.advance_scanned(tenant, date, &info).map_err(|e| corrupt(lineno, e))?;
            match &info.sig {
                Some((kid, sig)) => {
                    let key = keys.get(kid).ok_or_else(|| corrupt(lineno, format!("unknown key id {kid:?}")))?;
                    if !sign::verify(key, sign::RECORD_DOMAIN, kid, &info.hash, sig) {
                        return Err(corrupt(lineno, "record signature does not verify".into()));
                    }
                    if !kids.iter().any(|k| k == kid) {
                        kids.push(kid.clone().into_owned());
                    }
                }
                None => all_signed = false,
            }
            if first_id.is_none() {
                first_id = Some(info.id.clone().into_owned());
            }
            last_id = Some(info.id);
            leaves.push(merkle::leaf(line));
        }
    }
    let last_id = last_id.map(std::borrow::Cow::into_owned);
    let lines = u64::try_from(leaves.len()).unwrap_or(u64::MAX);
    Ok(StreamSummary {
        entry: FileEntry {
            path: rel_path.to_owned(),
            tenant: tenant.to_owned(),
            bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            lines,
            blake3: *blake3::hash(bytes).as_bytes(),
            merkle_root: merkle::root_of_leaves(&leaves),
            first_id,
            last_id,
            last_hash: (lines > 0).then_some(head.prev),
            records_signed: lines > 0 && all_signed,
        },
        kids,
    })
}

/// Seals a day with the blueprint's configuration: see [`seal_day_with`].
pub fn seal_day(root: &Path, date: Date, prev: Option<&Manifest>, signer: &Signer) -> Result<Manifest> {
    seal_day_with(&TrailConfig::blueprint_default(), root, date, prev, signer)
}

/// Builds and signs the manifest of `date` from the files under
/// `root/audit/yyyy/mm/dd/`, checking each file completely first (a broken
/// chain is an error, never sealed). `prev` must be the manifest of the day
/// before, or `None` for the very first day. Writes nothing.
pub fn seal_day_with(
    cfg: &TrailConfig,
    root: &Path,
    date: Date,
    prev: Option<&Manifest>,
    signer: &Signer,
) -> Result<Manifest> {
    if let Some(p) = prev
        && p.date != date.pred()
    {
        return Err(Error::Manifest(format!("the previous manifest is for {}, not {}", p.date, date.pred())));
    }
    let keys = KeyRing::load_dir(root)?;
    let day_dir = root.join("audit").join(date.path());
    let mut names = Vec::new();
    match std::fs::read_dir(&day_dir) {
        Ok(entries) => {
            for e in entries {
                let e = e.map_err(io_err(&day_dir))?;
                let name =
                    e.file_name().into_string().map_err(|n| Error::Manifest(format!("non-UTF-8 file name {n:?}")))?;
                names.push(name);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&day_dir)(e)),
    }
    names.sort();
    let mut files = Vec::new();
    let mut quarantine = Vec::new();
    let mut manifest_keys = BTreeMap::new();
    manifest_keys.insert(signer.kid().to_owned(), sign::fingerprint(&signer.verifying_key()));
    for name in names {
        let rel = format!("audit/{}/{name}", date.path());
        let path = day_dir.join(&name);
        if name.ends_with(".tmp-write") {
            continue;
        }
        if let Some(tenant) = name.strip_suffix(".ndjson") {
            if !chain::valid_tenant(tenant) {
                return Err(Error::Manifest(format!("{rel}: not a tenant stream name")));
            }
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            let summary = check_stream_file(cfg, &bytes, &rel, tenant, date, &keys)?;
            for kid in summary.kids {
                let key = keys.get(&kid).ok_or_else(|| Error::Key(format!("unknown key {kid}")))?;
                manifest_keys.insert(kid, sign::fingerprint(key));
            }
            files.push(summary.entry);
        } else if name.contains(".ndjson.torn-") {
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            quarantine.push(QuarantineEntry {
                path: rel,
                bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
                blake3: *blake3::hash(&bytes).as_bytes(),
            });
        } else {
            return Err(Error::Manifest(format!("{rel}: unexpected file in a day directory")));
        }
    }
    let mut m = Manifest {
        date,
        prev_manifest: prev.map(Manifest::hash).transpose()?,
        files,
        quarantine,
        keys: manifest_keys,
        kid: signer.kid().to_owned(),
        sig: [0; 64],
    };
    m.sig = signer.sign(sign::MANIFEST_DOMAIN, &m.hash()?);
    Ok(m)
}

/// Stores a manifest at [`manifest_path`] durably; refuses to replace a different one.
pub fn store_manifest(root: &Path, m: &Manifest) -> Result<PathBuf> {
    let path = manifest_path(root, m.date);
    let bytes = m.to_bytes()?;
    match std::fs::read(&path) {
        Ok(existing) if existing == bytes => return Ok(path),
        Ok(_) => {
            return Err(Error::Manifest(format!(
                "{} already exists with other content: a sealed day is never re-sealed",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&path)(e)),
    }
    fsutil::write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Loads the manifest of a day, if it was sealed.
pub fn load_manifest(root: &Path, date: Date) -> Result<Option<Manifest>> {
    let path = manifest_path(root, date);
    match std::fs::read(&path) {
        Ok(b) => Manifest::parse(&b).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

/// The lock file below a trail root on which sealing and writing coordinate:
/// [`seal_and_store`] holds it exclusively while it reads a day and stores
/// its manifest; the [`crate::writer::Writer`] holds it shared while it checks
/// that a day is not sealed and commits records to it. So a record is either
/// durable before the day's files are read, or refused as late.
pub const SEAL_LOCK_FILE: &str = ".seal.lock";

/// Opens (creating) the seal lock file of a root.
pub(crate) fn open_seal_lock(root: &Path) -> Result<std::fs::File> {
    fsutil::create_dir_durable(root)?;
    let path = root.join(SEAL_LOCK_FILE);
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io_err(&path))
}

/// The daily roll in one call: seals `date` chained to the stored manifest
/// of the day before (if any), stores the manifest and the signer's public
/// key (`keys/<kid>.pub`), holding the seal lock exclusively (see
/// [`SEAL_LOCK_FILE`]) so no record is acknowledged for the day once it is read.
pub fn seal_and_store(root: &Path, date: Date, signer: &Signer) -> Result<Manifest> {
    let lock = open_seal_lock(root)?;
    lock.lock().map_err(io_err(root.join(SEAL_LOCK_FILE)))?;
    let prev = load_manifest(root, date.pred())?;
    // The key first: the manifest names it, and sealing verifies record signatures with the stored keys.
    sign::store_public_key(root, signer.kid(), &signer.verifying_key())?;
    let m = seal_day(root, date, prev.as_ref(), signer)?;
    store_manifest(root, &m)?;
    drop(lock);
    Ok(m)
}

/// How many days the manifest chain holds from its first day (the one without
/// `prev_manifest`) up to `date`: the `size` of a [`crate::checkpoint::Checkpoint`].
/// Walks the stored manifests back, checking each link.
pub fn chain_size(root: &Path, date: Date) -> Result<u64> {
    let mut d = date;
    let mut m = load_manifest(root, d)?.ok_or_else(|| Error::Manifest(format!("{d} is not sealed")))?;
    let mut n = 1u64;
    while let Some(prev) = m.prev_manifest {
        d = d.pred();
        let p = load_manifest(root, d)?
            .ok_or_else(|| Error::Manifest(format!("{d} is not sealed but {} chains to it", d.succ())))?;
        if p.hash()? != prev {
            return Err(Error::Manifest(format!("the manifest of {} does not chain to the one of {d}", d.succ())));
        }
        m = p;
        n += 1;
    }
    Ok(n)
}
