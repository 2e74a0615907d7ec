//! Auditor bundles (blueprint §10): a `.tar.gz` with the day files, their
//! manifests, the public keys (`keys/<kid>.pub`) and an index `manifest.json`
//! listing every entry with its size and BLAKE3.
//!
//! The index is not signed: it only helps. Trust comes from the signed,
//! chained day manifests, which the verifier checks independently, and from
//! outside the bundle: the auditor's trusted keys and the checkpoint the daily
//! roll published, which pin the range (its last day and hash, its first day)
//! and the tenant the index may claim (see [`crate::verify`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::canonical::{self, Object, Value};
use crate::date::Date;
use crate::error::{Error, Result, io_err};
use crate::manifest::{self, Manifest};
use crate::{fsutil, hex, sign};

/// The `type` of a bundle index.
pub const INDEX_TYPE: &str = "obspec-trail/bundle";
/// The index's path inside a bundle.
pub const INDEX_PATH: &str = "manifest.json";

/// What [`export_bundle`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Days covered.
    pub days: usize,
    /// Entries in the archive, index included.
    pub files: usize,
    /// Uncompressed bytes of all entries.
    pub bytes: u64,
}

/// Whether a quarantine file name belongs to `tenant` (`<tenant>.ndjson.torn-<n>`).
fn quarantine_tenant(path: &str) -> Option<&str> {
    path.rsplit('/').next()?.split_once(".ndjson.torn-").map(|(t, _)| t)
}

/// Collects a bundle's entries (path → bytes), index included.
pub fn bundle_entries(root: &Path, from: Date, to: Date, tenant: Option<&str>) -> Result<BTreeMap<String, Vec<u8>>> {
    if from > to {
        return Err(Error::Manifest(format!("from {from} is after to {to}")));
    }
    let mut entries = BTreeMap::new();
    let mut days = Vec::new();
    let mut anchor = None;
    let mut kids = Vec::new();
    for date in Date::range(from, to) {
        let m: Manifest = manifest::load_manifest(root, date)?
            .ok_or_else(|| Error::Manifest(format!("{date} is not sealed: seal it before exporting")))?;
        if date == from {
            anchor = m.prev_manifest;
        }
        let rel = manifest::manifest_rel_path(date);
        days.push(Value::Object(
            Object::new()
                .with("date", date.to_string())
                .with("manifest", rel.as_str())
                .with("hash", hex::encode(&m.hash()?)),
        ));
        entries.insert(rel, m.to_bytes()?);
        for f in &m.files {
            if tenant.is_some_and(|t| t != f.tenant) {
                continue;
            }
            let path = root.join(&f.path);
            entries.insert(f.path.clone(), std::fs::read(&path).map_err(io_err(&path))?);
        }
        for q in &m.quarantine {
            if tenant.is_some_and(|t| Some(t) != quarantine_tenant(&q.path)) {
                continue;
            }
            let path = root.join(&q.path);
            entries.insert(q.path.clone(), std::fs::read(&path).map_err(io_err(&path))?);
        }
        for kid in m.keys.keys() {
            if !kids.contains(kid) {
                kids.push(kid.clone());
            }
        }
    }
    for kid in kids {
        let path = sign::public_key_path(root, &kid);
        entries.insert(format!("keys/{kid}.pub"), std::fs::read(&path).map_err(io_err(&path))?);
    }
    let mut listed = Vec::new();
    for (path, bytes) in &entries {
        listed.push(Value::Object(
            Object::new()
                .with("path", path.as_str())
                .with("bytes", i64::try_from(bytes.len()).unwrap_or(i64::MAX))
                .with("blake3", blake3::hash(bytes).to_hex().as_str()),
        ));
    }
    let index = Object::new()
        .with("type", INDEX_TYPE)
        .with("v", 1)
        .with("from", from.to_string())
        .with("to", to.to_string())
        .with("tenant", tenant.map_or(Value::Null, Value::from))
        .with("anchor", anchor.map_or(Value::Null, |h| Value::Str(hex::encode(&h))))
        .with("days", Value::Array(days))
        .with("entries", Value::Array(listed));
    let mut index_bytes = canonical::to_jcs(&Value::Object(index), 8)?;
    index_bytes.push(b'\n');
    entries.insert(INDEX_PATH.to_owned(), index_bytes);
    Ok(entries)
}

/// Writes entries as a deterministic `.tar.gz` (sorted, mode 0644, mtime 0, uid/gid 0).
pub fn write_tar_gz(entries: &BTreeMap<String, Vec<u8>>, out: &mut impl Write) -> std::io::Result<()> {
    let gz = GzEncoder::new(out, Compression::default());
    let mut tar = tar::Builder::new(gz);
    // The index first, so a streaming reader meets it before the data.
    let ordered =
        entries.get_key_value(INDEX_PATH).into_iter().chain(entries.iter().filter(|(k, _)| k.as_str() != INDEX_PATH));
    for (path, bytes) in ordered {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        tar.append_data(&mut h, path, bytes.as_slice())?;
    }
    tar.into_inner()?.finish()?.flush()
}

/// Exports days `from..=to` (optionally one tenant's files only) as a bundle at `out`.
/// Every day must be sealed. Called by `cargo xtask trails export`.
pub fn export_bundle(root: &Path, from: Date, to: Date, tenant: Option<&str>, out: &Path) -> Result<ExportSummary> {
    let entries = bundle_entries(root, from, to, tenant)?;
    let mut buf = Vec::new();
    write_tar_gz(&entries, &mut buf).map_err(io_err(out))?;
    fsutil::write_atomic(out, &buf)?;
    Ok(ExportSummary {
        days: Date::range(from, to).count(),
        files: entries.len(),
        bytes: entries.values().map(|b| u64::try_from(b.len()).unwrap_or(0)).sum(),
    })
}
