//! The daily roll: seal each audit day (signed, chained to the day before, empty
//! days too), upload its files, the day manifest and the public keys, prove every
//! upload by reading it back, and only then delete the day's files from the spool.
//! The server-blind logs of each day are rolled the same way with a checksum sidecar.
//!
//! The spool is a trail root (`audit/`, `manifests/`, `keys/`) that may also hold the
//! log plane's daily files (`logs/`). The store gets the same layout:
//!
//! ```text
//! audit/yyyy/mm/dd/<tenant>.ndjson      day files (and quarantined torn tails)
//! manifests/yyyy/mm/dd.json             signed, chained day manifests
//! keys/<kid>.pub                        public keys the manifests name
//! logs/yyyy/mm/dd/<component>.ndjson    log files
//! logs-manifests/yyyy/mm/dd.json        log checksum sidecars
//! ```
//!
//! Order matters for crash safety: a day's files go up before its manifest, so a
//! manifest in the store means every file it lists was uploaded and read back; local
//! files are deleted last. Local manifests and keys are kept (they are small, and the
//! next day chains to the previous manifest). Rolling again is a no-op. Last, the signed
//! checkpoint of each rolled day goes to the checkpoint store
//! (`checkpoints/yyyy/mm/dd.json`, immutable, and `checkpoints/latest.json`).

use std::collections::BTreeSet;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use obspec_trail::Date;
use obspec_trail::checkpoint::{self, Checkpoint};
use obspec_trail::manifest::{self, Manifest};
use obspec_trail::sign::{self, Signer};

use crate::error::{Error, Result, io_err, store_err};
use crate::fault;
use crate::logs::{self, LogDay, LogFile};
use crate::upload::{self, Existing, Outcome, Source, UploadOptions};

/// How a roll runs.
#[derive(Debug, Clone)]
pub struct RollOptions {
    /// Retries, backoff and multipart size of uploads.
    pub upload: UploadOptions,
    /// Roll the audit trails.
    pub trails: bool,
    /// Roll the log plane's files.
    pub logs: bool,
    /// Delete spool files once their upload is verified.
    pub delete_local: bool,
    /// The most unsealed days one roll seals to catch up (days missed since the last seal).
    pub max_catch_up_days: usize,
    /// Where checkpoints go (`checkpoints/…` below it): a second location the
    /// owner of the main store cannot rewrite alone. `None`: the main store.
    pub checkpoint_store: Option<Arc<dyn ObjectStore>>,
}

impl Default for RollOptions {
    fn default() -> Self {
        RollOptions {
            upload: UploadOptions::default(),
            trails: true,
            logs: true,
            delete_local: true,
            max_catch_up_days: 400,
            checkpoint_store: None,
        }
    }
}

/// Which plane a rolled day belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    /// Audit trails (`audit/`, `manifests/`).
    Trails,
    /// Server-blind logs (`logs/`, `logs-manifests/`).
    Logs,
}

/// What the roll did for one day of one plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRoll {
    /// The plane.
    pub plane: Plane,
    /// The day.
    pub date: Date,
    /// Whether this roll sealed the day (trails only).
    pub sealed_now: bool,
    /// Hash of the day manifest (trails only).
    pub manifest_hash: Option<[u8; 32]>,
    /// Objects the day needs in the store (files, keys, manifest or sidecar).
    pub objects: usize,
    /// Objects written (and read back intact).
    pub uploaded: usize,
    /// Objects already in the store with the right BLAKE3.
    pub already_present: usize,
    /// Attempts beyond the first, over all uploads.
    pub retries: u32,
    /// Spool files deleted.
    pub deleted_local: usize,
    /// Spool files of the day that no manifest lists (written after the seal): kept and reported.
    pub leftover: Vec<PathBuf>,
}

impl DayRoll {
    fn new(plane: Plane, date: Date) -> DayRoll {
        DayRoll {
            plane,
            date,
            sealed_now: false,
            manifest_hash: None,
            objects: 0,
            uploaded: 0,
            already_present: 0,
            retries: 0,
            deleted_local: 0,
            leftover: Vec::new(),
        }
    }

    fn count(&mut self, o: Outcome) {
        self.objects += 1;
        match o {
            Outcome::Uploaded { attempts } => {
                self.uploaded += 1;
                self.retries += attempts.saturating_sub(1);
            }
            Outcome::AlreadyPresent => self.already_present += 1,
        }
    }
}

/// What a roll did, day by day (trail days first, then log days).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollReport {
    /// Every day handled.
    pub days: Vec<DayRoll>,
    /// The checkpoints of the rolled trail days, oldest first (empty without a signing key).
    pub checkpoints: Vec<Checkpoint>,
}

impl RollReport {
    /// Objects written over all days.
    pub fn uploaded(&self) -> usize {
        self.days.iter().map(|d| d.uploaded).sum()
    }

    /// Spool files left in place because no manifest lists them.
    pub fn leftovers(&self) -> impl Iterator<Item = &PathBuf> {
        self.days.iter().flat_map(|d| d.leftover.iter())
    }
}

/// An object path from a `/`-separated relative path.
pub fn object_path(rel: &str) -> Result<Path> {
    Path::parse(rel).map_err(|e| Error::Config(format!("object path {rel:?}: {e}")))
}

/// Rolls everything due up to `date` (normally yesterday, UTC): see the module documentation.
///
/// Trails: every unsealed day from the day after the last sealed one (or, on the very
/// first roll, from the oldest spool day) up to `date` is sealed in order with `signer`,
/// and every sealed day with files left in the spool or not yet in the store is
/// uploaded. Logs: every spool day up to `date` is uploaded. `signer` is needed only
/// when a day must be sealed.
pub async fn roll(
    spool: &FsPath,
    store: &dyn ObjectStore,
    date: Date,
    signer: Option<&Signer>,
    opts: &RollOptions,
) -> Result<RollReport> {
    let mut report = RollReport::default();
    if opts.trails {
        roll_trails(spool, store, date, signer, opts, &mut report).await?;
    }
    if opts.logs {
        roll_logs(spool, store, date, opts, &mut report).await?;
    }
    Ok(report)
}

/// Rolls the audit trails up to `date` (see [`roll`]), adding to `report`.
pub async fn roll_trails(
    spool: &FsPath,
    store: &dyn ObjectStore,
    date: Date,
    signer: Option<&Signer>,
    opts: &RollOptions,
    report: &mut RollReport,
) -> Result<()> {
    let in_store = store_days(store, "manifests", ".json").await?;
    let local_sealed = local_manifest_days(spool)?;
    let spool_days: BTreeSet<Date> = local_day_dirs(spool, "audit")?.into_iter().filter(|d| *d <= date).collect();
    let mut sealed: BTreeSet<Date> = in_store.union(&local_sealed).copied().collect();
    let mut todo: BTreeSet<Date> = spool_days.clone();
    todo.extend(local_sealed.iter().filter(|d| **d <= date && !in_store.contains(d)));
    todo.insert(date);
    if !sealed.contains(&date) {
        let start = match sealed.range(..date).next_back() {
            Some(last) => last.succ(),
            None => spool_days.first().copied().unwrap_or(date).min(date),
        };
        let n = Date::range(start, date).count();
        if n > opts.max_catch_up_days {
            return Err(Error::Chain(format!(
                "{n} unsealed days from {start} to {date}: more than the {} one roll catches up",
                opts.max_catch_up_days
            )));
        }
        todo.extend(Date::range(start, date));
    }
    let mut heads = Vec::new();
    for d in todo {
        let mut day = DayRoll::new(Plane::Trails, d);
        let m = ensure_sealed(spool, store, d, signer, &mut sealed, &in_store, &mut day).await?;
        fault::point("sealed");
        upload_trail_day(spool, store, &m, opts, &mut day).await?;
        heads.push((d, m.hash()?));
        report.days.push(day);
    }
    if let Some(signer) = signer {
        // Every day is sealed, empty or not, from the first one on: the chain's length is a day count.
        let first = sealed.first().copied().unwrap_or(date);
        let cp_store = opts.checkpoint_store.as_deref().unwrap_or(store);
        for (d, head) in heads {
            let size = u64::try_from(Date::range(first, d).count()).unwrap_or(u64::MAX);
            let c = Checkpoint::new(d, head, size, signer)?;
            publish_checkpoint(cp_store, &c, &opts.upload).await?;
            fault::point("checkpoint");
            report.checkpoints.push(c);
        }
    }
    Ok(())
}

/// Puts a checkpoint at `checkpoints/yyyy/mm/dd.json` (never replaced: one that
/// disagrees with it is a [`Error::Conflict`]) and, when it is the newest, at
/// `checkpoints/latest.json`. Both are read back.
pub async fn publish_checkpoint(store: &dyn ObjectStore, c: &Checkpoint, u: &UploadOptions) -> Result<()> {
    let bytes = c.to_bytes()?;
    let h = *blake3::hash(&bytes).as_bytes();
    let p = object_path(&checkpoint::checkpoint_rel_path(c.date))?;
    match upload::get_bytes(store, &p).await? {
        // The same head, perhaps signed by an earlier key: kept.
        Some(b) if Checkpoint::parse(&b).is_ok_and(|o| o.head == c.head && o.size == c.size) => {}
        Some(_) => {
            return Err(Error::Conflict(format!("{p} holds another head for {}: the chain was rewritten", c.date)));
        }
        None => {
            upload::put_verified(store, &p, Source::Bytes(&bytes), &h, Existing::Refuse, u).await?;
        }
    }
    let latest = object_path(checkpoint::LATEST_REL_PATH)?;
    let newer = match upload::get_bytes(store, &latest).await? {
        Some(b) => Checkpoint::parse(&b).map_or(true, |o| o.date <= c.date),
        None => true,
    };
    if newer {
        upload::put_verified(store, &latest, Source::Bytes(&bytes), &h, Existing::Replace, u).await?;
    }
    Ok(())
}

/// Reads the checkpoint of a day from a checkpoint store.
pub async fn fetch_checkpoint(store: &dyn ObjectStore, d: Date) -> Result<Option<Checkpoint>> {
    let p = object_path(&checkpoint::checkpoint_rel_path(d))?;
    match upload::get_bytes(store, &p).await? {
        None => Ok(None),
        Some(b) => Ok(Some(Checkpoint::parse(&b)?)),
    }
}

/// The manifest of `d`: from the spool, else from the store (copied to the spool so the
/// next day can chain to it), else sealed now.
async fn ensure_sealed(
    spool: &FsPath,
    store: &dyn ObjectStore,
    d: Date,
    signer: Option<&Signer>,
    sealed: &mut BTreeSet<Date>,
    in_store: &BTreeSet<Date>,
    day: &mut DayRoll,
) -> Result<Manifest> {
    if let Some(m) = manifest::load_manifest(spool, d)? {
        day.manifest_hash = Some(m.hash()?);
        return Ok(m);
    }
    if in_store.contains(&d) {
        let m = fetch_manifest(store, d).await?.ok_or_else(|| Error::Missing(format!("manifest of {d} vanished")))?;
        manifest::store_manifest(spool, &m)?;
        day.manifest_hash = Some(m.hash()?);
        return Ok(m);
    }
    if let Some(later) = sealed.range(d.succ()..).next() {
        return Err(Error::Chain(format!(
            "{d} has spool files but was never sealed, and {later} is already sealed: the chain cannot take it \
             (move audit/{} aside and investigate)",
            d.path()
        )));
    }
    let pred = d.pred();
    if manifest::load_manifest(spool, pred)?.is_none() {
        if in_store.contains(&pred) {
            let p = fetch_manifest(store, pred)
                .await?
                .ok_or_else(|| Error::Missing(format!("manifest of {pred} vanished")))?;
            manifest::store_manifest(spool, &p)?;
        } else if let Some(earlier) = sealed.range(..pred).next_back() {
            return Err(Error::Chain(format!("{pred} is not sealed but {earlier} is: seal the days in between first")));
        }
    }
    let signer = signer.ok_or_else(|| {
        Error::Config(format!("{d} must be sealed and no signing key was given (--key-seed FILE --kid KID)"))
    })?;
    let m = manifest::seal_and_store(spool, d, signer)?;
    sealed.insert(d);
    day.sealed_now = true;
    day.manifest_hash = Some(m.hash()?);
    Ok(m)
}

/// Reads and parses the manifest of a day from the store.
pub async fn fetch_manifest(store: &dyn ObjectStore, d: Date) -> Result<Option<Manifest>> {
    let p = object_path(&manifest::manifest_rel_path(d))?;
    match upload::get_bytes(store, &p).await? {
        None => Ok(None),
        Some(b) => {
            let m = Manifest::parse(&b)?;
            if m.date != d {
                return Err(Error::Conflict(format!("{p} holds the manifest of {}", m.date)));
            }
            Ok(Some(m))
        }
    }
}

async fn upload_trail_day(
    spool: &FsPath,
    store: &dyn ObjectStore,
    m: &Manifest,
    opts: &RollOptions,
    day: &mut DayRoll,
) -> Result<()> {
    let u = &opts.upload;
    for (kid, fpr) in &m.keys {
        let rel = format!("keys/{kid}.pub");
        let p = object_path(&rel)?;
        let local = sign::public_key_path(spool, kid);
        let bytes = match std::fs::read(&local) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => upload::get_bytes(store, &p)
                .await?
                .ok_or_else(|| Error::Missing(format!("{rel}: in neither the spool nor the store")))?,
            Err(e) => return Err(io_err(&local)(e)),
        };
        match sign::decode_public_key(&bytes) {
            Some(k) if sign::fingerprint(&k) == *fpr => {}
            _ => return Err(Error::Conflict(format!("{rel} is not the key the manifest of {} names", m.date))),
        }
        let h = *blake3::hash(&bytes).as_bytes();
        fault::point("upload key");
        day.count(upload::put_verified(store, &p, Source::Bytes(&bytes), &h, Existing::Refuse, u).await?);
    }
    let entries: Vec<(&str, [u8; 32])> = m
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.blake3))
        .chain(m.quarantine.iter().map(|q| (q.path.as_str(), q.blake3)))
        .collect();
    let mut uploaded_local = Vec::new();
    for (rel, h) in entries {
        let p = object_path(rel)?;
        let local = spool.join(rel);
        if local.exists() && upload::file_blake3(&local)? == h {
            fault::point("upload file");
            day.count(upload::put_verified(store, &p, Source::File(&local), &h, Existing::Replace, u).await?);
            fault::point("uploaded file");
            uploaded_local.push(local);
        } else {
            // Absent from the spool (rolled before), or rewritten after the seal (records
            // written late): the sealed bytes must already be in the store, and a rewritten
            // file stays in the spool (reported as left over).
            match upload::object_blake3(store, &p).await? {
                Some(found) if found == h => day.count(Outcome::AlreadyPresent),
                _ => return Err(Error::Missing(format!("{rel}: in neither the spool nor the store"))),
            }
        }
    }
    let bytes = m.to_bytes()?;
    let p = object_path(&manifest::manifest_rel_path(m.date))?;
    let h = *blake3::hash(&bytes).as_bytes();
    fault::point("upload manifest");
    day.count(upload::put_verified(store, &p, Source::Bytes(&bytes), &h, Existing::Refuse, u).await?);
    fault::point("uploaded manifest");
    if opts.delete_local {
        for f in uploaded_local {
            fault::point("delete spool file");
            std::fs::remove_file(&f).map_err(io_err(&f))?;
            day.deleted_local += 1;
        }
    }
    let dir = spool.join("audit").join(m.date.path());
    day.leftover = remaining_files(&dir)?;
    remove_empty_dirs(&spool.join("audit"), &dir);
    Ok(())
}

/// Rolls the log plane's files of every spool day up to `date`, adding to `report`.
pub async fn roll_logs(
    spool: &FsPath,
    store: &dyn ObjectStore,
    date: Date,
    opts: &RollOptions,
    report: &mut RollReport,
) -> Result<()> {
    for d in local_day_dirs(spool, "logs")?.into_iter().filter(|d| *d <= date) {
        let mut day = DayRoll::new(Plane::Logs, d);
        roll_log_day(spool, store, d, opts, &mut day).await?;
        report.days.push(day);
    }
    Ok(())
}

async fn roll_log_day(
    spool: &FsPath,
    store: &dyn ObjectStore,
    d: Date,
    opts: &RollOptions,
    day: &mut DayRoll,
) -> Result<()> {
    let dir = spool.join("logs").join(d.path());
    let mut local = Vec::new();
    for name in sorted_names(&dir)? {
        let path = dir.join(&name);
        if name.ends_with(".ndjson") && path.is_file() {
            local.push((format!("logs/{}/{name}", d.path()), path));
        }
    }
    let sidecar = object_path(&logs::sidecar_path(d))?;
    let existing = match upload::get_bytes(store, &sidecar).await? {
        Some(b) => LogDay::parse(&b)?,
        None => LogDay::new(d),
    };
    let mut merged = existing.clone();
    let mut hashed = Vec::new();
    for (rel, path) in &local {
        let h = upload::file_blake3(path)?;
        let bytes = std::fs::metadata(path).map_err(io_err(path))?.len();
        // A file of a day already rolled that came back with other bytes (lines written
        // late) goes up beside the first one, named by its content, so nothing is lost.
        let rel = match existing.files.get(rel) {
            Some(prev) if prev.blake3 != h => {
                let stem = rel.strip_suffix(".ndjson").unwrap_or(rel);
                format!("{stem}.late-{}.ndjson", &upload::hex(&h)[..12])
            }
            _ => rel.clone(),
        };
        merged.files.insert(rel.clone(), LogFile { bytes, blake3: h });
        hashed.push((rel, path, h));
    }
    for (rel, path, h) in &hashed {
        let p = object_path(rel)?;
        day.count(upload::put_verified(store, &p, Source::File(path), h, Existing::Replace, &opts.upload).await?);
    }
    if !merged.files.is_empty() {
        let bytes = merged.to_bytes()?;
        let h = *blake3::hash(&bytes).as_bytes();
        day.count(
            upload::put_verified(store, &sidecar, Source::Bytes(&bytes), &h, Existing::Replace, &opts.upload).await?,
        );
    }
    if opts.delete_local {
        for (_, path, _) in hashed {
            std::fs::remove_file(path).map_err(io_err(path))?;
            day.deleted_local += 1;
        }
    }
    day.leftover = remaining_files(&dir)?;
    remove_empty_dirs(&spool.join("logs"), &dir);
    Ok(())
}

/// Downloads days `from..=to` of the audit trails (manifests, the files they list and the
/// keys they name) from the store into `dest`, in the trail-root layout, so that
/// `obspec_trail::bundle` and `obspec_trail::verify` can check them. Returns the files written.
pub async fn download_trails(store: &dyn ObjectStore, from: Date, to: Date, dest: &FsPath) -> Result<usize> {
    let mut written = 0;
    let mut kids = BTreeSet::new();
    for d in Date::range(from, to) {
        let m = fetch_manifest(store, d).await?.ok_or_else(|| Error::Missing(format!("no manifest for {d}")))?;
        let mut rels: Vec<String> = m.files.iter().map(|f| f.path.clone()).collect();
        rels.extend(m.quarantine.iter().map(|q| q.path.clone()));
        rels.push(manifest::manifest_rel_path(d));
        kids.extend(m.keys.keys().cloned());
        for rel in rels {
            written += download(store, &rel, dest).await?;
        }
    }
    for kid in kids {
        written += download(store, &format!("keys/{kid}.pub"), dest).await?;
    }
    Ok(written)
}

async fn download(store: &dyn ObjectStore, rel: &str, dest: &FsPath) -> Result<usize> {
    let p = object_path(rel)?;
    let bytes =
        upload::get_bytes(store, &p).await?.ok_or_else(|| Error::Missing(format!("{rel} is not in the store")))?;
    let out = dest.join(rel);
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    std::fs::write(&out, bytes).map_err(io_err(&out))?;
    Ok(1)
}

/// Days that have an object `<prefix>/yyyy/mm/dd<suffix>` in the store.
pub async fn store_days(store: &dyn ObjectStore, prefix: &str, suffix: &str) -> Result<BTreeSet<Date>> {
    let p = object_path(prefix)?;
    let metas: Vec<_> = store.list(Some(&p)).try_collect().await.map_err(store_err(&p))?;
    let mut days = BTreeSet::new();
    for meta in metas {
        let loc = meta.location.to_string();
        if let Some(d) =
            loc.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')).and_then(|r| r.strip_suffix(suffix)).and_then(
                |r| {
                    let mut it = r.split('/');
                    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
                    if it.next().is_some() {
                        return None;
                    }
                    Date::parse(&format!("{y}-{m}-{d}"))
                },
            )
        {
            days.insert(d);
        }
    }
    Ok(days)
}

/// Days with a manifest in the spool (`manifests/yyyy/mm/dd.json`).
fn local_manifest_days(spool: &FsPath) -> Result<BTreeSet<Date>> {
    let mut out = BTreeSet::new();
    let root = spool.join("manifests");
    for y in sorted_names(&root)? {
        for m in sorted_names(&root.join(&y))? {
            for f in sorted_names(&root.join(&y).join(&m))? {
                if let Some(d) = f.strip_suffix(".json").and_then(|d| Date::parse(&format!("{y}-{m}-{d}"))) {
                    out.insert(d);
                }
            }
        }
    }
    Ok(out)
}

/// Days with a directory `<plane>/yyyy/mm/dd` in the spool.
fn local_day_dirs(spool: &FsPath, plane: &str) -> Result<BTreeSet<Date>> {
    let mut out = BTreeSet::new();
    let root = spool.join(plane);
    for y in sorted_names(&root)? {
        for m in sorted_names(&root.join(&y))? {
            for d in sorted_names(&root.join(&y).join(&m))? {
                if root.join(&y).join(&m).join(&d).is_dir()
                    && let Some(date) = Date::parse(&format!("{y}-{m}-{d}"))
                {
                    out.insert(date);
                }
            }
        }
    }
    Ok(out)
}

/// Entry names of a directory, sorted; empty when it does not exist.
fn sorted_names(dir: &FsPath) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.kind() == std::io::ErrorKind::NotADirectory => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut names = Vec::new();
    for e in entries {
        let e = e.map_err(io_err(dir))?;
        if let Ok(n) = e.file_name().into_string() {
            names.push(n);
        }
    }
    names.sort();
    Ok(names)
}

/// Files still in a day directory (temporary `.tmp-write` files excluded).
fn remaining_files(dir: &FsPath) -> Result<Vec<PathBuf>> {
    Ok(sorted_names(dir)?.into_iter().filter(|n| !n.ends_with(".tmp-write")).map(|n| dir.join(n)).collect())
}

/// Removes `dir` and its parents up to (not including) `stop` while they are empty.
fn remove_empty_dirs(stop: &FsPath, dir: &FsPath) {
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d == stop || !d.starts_with(stop) || std::fs::remove_dir(d).is_err() {
            break;
        }
        cur = d.parent();
    }
}
