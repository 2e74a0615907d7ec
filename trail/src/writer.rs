//! The append-only NDJSON spool: `audit/yyyy/mm/dd/<tenant>.ndjson` below a root.
//!
//! One writer thread owns the files. [`Writer::append`] sends the record to
//! it and blocks until the record is on disk: the thread takes every request
//! waiting in its queue as one batch, chains, hashes (and, when the tenant's
//! policy asks, signs) each record, writes each touched file once and calls
//! `fdatasync` once per file per batch (group commit), then acknowledges.
//!
//! A record whose day is already sealed (its manifest exists) is refused with
//! [`Error::DaySealed`], never acknowledged: each batch is checked and
//! committed under the root's seal lock held shared, and
//! [`crate::manifest::seal_and_store`] takes it exclusively, so every
//! acknowledged record is in its day's file when that day is sealed.
//!
//! On open, every stream file whose last line lacks its newline (a torn
//! write) has that tail moved to `<tenant>.ndjson.torn-<n>` and reported in
//! [`Writer::recovered`]; a stream's chain resumes from its last complete
//! record the first time it is appended to.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use crate::canonical::{self, Record, TrailConfig};
use crate::chain::{self, ChainHead};
use crate::date::Date;
use crate::error::{Error, Result, io_err};
use crate::sign::{self, Signer};
use crate::{fsutil, hex, manifest};

/// The file of a stream below a trail root: `audit/yyyy/mm/dd/<tenant>.ndjson`.
pub fn stream_path(root: &Path, tenant: &str, date: Date) -> PathBuf {
    root.join("audit").join(date.path()).join(format!("{tenant}.ndjson"))
}

/// How the writer signs and batches.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// The key for per-record signatures (and published to `keys/<kid>.pub` on open).
    pub signer: Option<Arc<Signer>>,
    /// Tenants whose policy asks for a signature on every record; others rely on signed manifests.
    pub signed_tenants: BTreeSet<String>,
    /// The most records committed with one fsync.
    pub max_batch: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions { signer: None, signed_tenants: BTreeSet::new(), max_batch: 4096 }
    }
}

/// What [`Writer::append`] returns once the record is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The record id.
    pub id: String,
    /// Its `meta.seq` (its line number in the stream file).
    pub seq: u64,
    /// Its hash (BLAKE3 of the canonical bytes without `sig`).
    pub hash: [u8; 32],
    /// The stream file.
    pub path: PathBuf,
}

/// A torn tail found on open and moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The stream file it was cut from.
    pub stream_file: PathBuf,
    /// Where the torn bytes now are.
    pub quarantine_file: PathBuf,
    /// How many bytes were moved.
    pub bytes: u64,
}

struct Request {
    record: Record,
    reply: Sender<Result<Appended>>,
}

/// The durable, group-committing appender. Share it by reference across threads.
pub struct Writer {
    tx: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    recovered: Vec<Quarantined>,
    _lock: File,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("recovered", &self.recovered).finish_non_exhaustive()
    }
}

impl Writer {
    /// Opens the trail root: takes its lock, quarantines torn tails, publishes
    /// the signer's public key and starts the writer thread.
    pub fn open(root: &Path, cfg: TrailConfig, opts: WriterOptions) -> Result<Writer> {
        cfg.validate()?;
        if !opts.signed_tenants.is_empty() && opts.signer.is_none() {
            return Err(Error::Config("signed_tenants is set but no signer was given".into()));
        }
        fsutil::create_dir_durable(root)?;
        let lock_path = root.join(".writer.lock");
        let lock =
            OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked(root.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        let seal_lock = manifest::open_seal_lock(root)?;
        let recovered = recover_all(root)?;
        if let Some(s) = &opts.signer {
            sign::store_public_key(root, s.kid(), &s.verifying_key())?;
        }
        let (tx, rx) = mpsc::channel::<Request>();
        let mut state =
            State { root: root.to_owned(), cfg, opts, streams: HashMap::new(), seal_lock, sealed: HashSet::new() };
        let thread = std::thread::Builder::new()
            .name("obspec-trail-writer".into())
            .spawn(move || state.run(rx))
            .map_err(io_err(root))?;
        Ok(Writer { tx: Some(tx), thread: Some(thread), recovered, _lock: lock })
    }

    /// Appends a record and returns once it is durable. The record must have
    /// `id`, `ts`, `kind` and `scope.tenant`, and no `meta` or `sig` (the
    /// writer sets them).
    pub fn append(&self, record: Record) -> Result<Appended> {
        let (reply, rx) = mpsc::channel();
        self.tx
            .as_ref()
            .ok_or(Error::WriterStopped)?
            .send(Request { record, reply })
            .map_err(|_| Error::WriterStopped)?;
        rx.recv().map_err(|_| Error::WriterStopped)?
    }

    /// Torn tails quarantined when this writer opened the root.
    pub fn recovered(&self) -> &[Quarantined] {
        &self.recovered
    }

    /// Stops the writer thread after it has committed everything queued.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        drop(self.tx.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(_)) => Err(Error::WriterStopped),
            _ => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Errors here only mean the thread had already stopped.
        let _ = self.shutdown();
    }
}

/// Bytes to write to one stream in a batch, and the receipts to send once they are durable.
type Pending = (Vec<u8>, Vec<(Sender<Result<Appended>>, Appended)>);

struct Stream {
    file: File,
    head: ChainHead,
    path: PathBuf,
}

struct State {
    root: PathBuf,
    cfg: TrailConfig,
    opts: WriterOptions,
    streams: HashMap<(String, Date), Stream>,
    seal_lock: File,
    sealed: HashSet<Date>,
}

impl State {
    fn run(&mut self, rx: Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < self.opts.max_batch.max(1) {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
    }

    /// Whether `date` has a manifest (once sealed, always sealed).
    fn day_sealed(&mut self, date: Date) -> bool {
        if self.sealed.contains(&date) {
            return true;
        }
        let sealed = manifest::manifest_path(&self.root, date).exists();
        if sealed {
            self.sealed.insert(date);
            // Its stream files are closed for good.
            self.streams.retain(|(_, d), _| *d != date);
        }
        sealed
    }

    fn commit(&mut self, batch: Vec<Request>) {
        // The seal lock, shared, from the sealed-day check until the records are durable.
        if let Err(e) = self.seal_lock.lock_shared() {
            let path = self.root.join(manifest::SEAL_LOCK_FILE);
            for req in batch {
                let err = std::io::Error::new(e.kind(), e.to_string());
                drop(req.reply.send(Err(Error::Io { path: path.clone(), source: err })));
            }
            return;
        }
        self.commit_locked(batch);
        // Unlocking only fails if the descriptor is bad; closing it at exit unlocks anyway.
        let _ = self.seal_lock.unlock();
    }

    fn commit_locked(&mut self, batch: Vec<Request>) {
        // Per stream: the bytes to write and who to tell, in arrival order.
        let mut order: Vec<(String, Date)> = Vec::new();
        let mut pending: HashMap<(String, Date), Pending> = HashMap::new();
        let mut checked: HashMap<Date, bool> = HashMap::new();
        for req in batch {
            let header = match chain::header(&req.record) {
                Ok(h) => h,
                Err(e) => {
                    drop(req.reply.send(Err(e)));
                    continue;
                }
            };
            let sealed = match checked.get(&header.date) {
                Some(s) => *s,
                None => {
                    let s = self.day_sealed(header.date);
                    checked.insert(header.date, s);
                    s
                }
            };
            if sealed {
                let ts = req.record.get("ts").and_then(crate::canonical::Value::as_str).unwrap_or_default().to_owned();
                drop(req.reply.send(Err(Error::DaySealed { date: header.date, id: header.id, ts })));
                continue;
            }
            let key = (header.tenant.clone(), header.date);
            let slot = match pending.entry(key) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    order.push(v.key().clone());
                    v.insert((Vec::with_capacity(4096), Vec::new()))
                }
            };
            match self.prepare(&req.record, header, &mut slot.0) {
                Ok(appended) => slot.1.push((req.reply, appended)),
                // The caller may have gone away; nothing to do then.
                Err(e) => drop(req.reply.send(Err(e))),
            }
        }
        for key in order {
            let Some((bytes, acks)) = pending.remove(&key) else {
                continue;
            };
            if acks.is_empty() {
                continue;
            }
            let result = match self.streams.get_mut(&key) {
                Some(s) => s.file.write_all(&bytes).and_then(|()| s.file.sync_data()).map_err(|e| (s.path.clone(), e)),
                None => Err((PathBuf::new(), std::io::Error::other("stream closed"))),
            };
            match result {
                Ok(()) => {
                    for (reply, appended) in acks {
                        drop(reply.send(Ok(appended)));
                    }
                }
                Err((path, e)) => {
                    // Forget the stream: the next append resumes from what is
                    // really on disk (quarantining a torn tail on reopen).
                    self.streams.remove(&key);
                    for (reply, _) in acks {
                        let err = std::io::Error::new(e.kind(), e.to_string());
                        drop(reply.send(Err(Error::Io { path: path.clone(), source: err })));
                    }
                }
            }
        }
    }

    /// Chains (and maybe signs) one record straight into its stream's batch buffer; returns its receipt.
    fn prepare(&mut self, rec: &Record, header: chain::Header, out: &mut Vec<u8>) -> Result<Appended> {
        if rec.get("meta").is_some() || rec.get("sig").is_some() {
            return Err(Error::InvalidRecord("`meta` and `sig` are set by the writer".into()));
        }
        let key = (header.tenant, header.date);
        if !self.streams.contains_key(&key) {
            let stream = self.open_stream(&key.0, key.1)?;
            if self.streams.len() >= 1024 {
                self.streams.clear();
            }
            self.streams.insert(key.clone(), stream);
        }
        let stream = self.streams.get_mut(&key).ok_or(Error::WriterStopped)?;
        let signer = if self.opts.signed_tenants.contains(&key.0) {
            Some(self.opts.signer.as_deref().ok_or(Error::WriterStopped)?)
        } else {
            None
        };
        let seq = stream.head.next_seq;
        let hash = encode_next_into(&self.cfg, rec, &mut stream.head, signer, out)?;
        Ok(Appended { id: header.id, seq, hash, path: stream.path.clone() })
    }

    fn open_stream(&self, tenant: &str, date: Date) -> Result<Stream> {
        let path = stream_path(&self.root, tenant, date);
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        fsutil::create_dir_durable(&dir)?;
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).read(true).open(&path).map_err(io_err(&path))?;
        if !existed {
            fsutil::sync_dir(&dir)?;
        }
        // A torn tail can only appear if a write failed since open; move it aside first.
        recover_torn_tail(&path)?;
        let head = resume(&self.cfg, &path, tenant, date)?;
        Ok(Stream { file, head, path })
    }
}

/// The writer's per-record work before the fsync: links the record to `head`
/// (`meta`), serialises it, hashes it, signs it when `signer` is given, and
/// advances `head`. Returns the NDJSON line (with newline) and the record hash.
pub fn encode_next(
    cfg: &TrailConfig,
    rec: &mut Record,
    head: &mut ChainHead,
    signer: Option<&Signer>,
) -> Result<(Vec<u8>, [u8; 32])> {
    chain::set_link(rec, head.next_seq, &head.prev)?;
    let mut line = Vec::with_capacity(512);
    cfg.write_record(rec, false, &mut line)?;
    let hash = chain::record_hash(&line);
    if let Some(signer) = signer {
        let sig = signer.sign(sign::RECORD_DOMAIN, &hash);
        chain::set_sig(rec, signer.kid(), &sig);
        line.clear();
        cfg.write_record(rec, true, &mut line)?;
    }
    line.push(b'\n');
    head.next_seq += 1;
    head.prev = hash;
    Ok((line, hash))
}

/// The writer's per-record work before the fsync, straight from a borrowed
/// record into `out`: writes the record with `meta: {prev, seq}` from `head`
/// in the key order (no value tree, no per-key `String`, no clone), hashes
/// the bytes where they were written, signs the hash when `signer` is given
/// (splicing `sig` in at its place), appends the newline and advances `head`.
/// Returns the record hash. Produces exactly the bytes of [`encode_next`].
/// The record must not hold `meta` or `sig`, and `cfg` must be valid
/// ([`TrailConfig::validate`]); on error `out` and `head` are left as they were.
pub fn encode_next_into(
    cfg: &TrailConfig,
    rec: &Record,
    head: &mut ChainHead,
    signer: Option<&Signer>,
    out: &mut Vec<u8>,
) -> Result<[u8; 32]> {
    let start = out.len();
    let r = encode_linked(cfg, rec, head, signer, out);
    match r {
        Ok(hash) => {
            head.next_seq += 1;
            head.prev = hash;
            Ok(hash)
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

fn encode_linked(
    cfg: &TrailConfig,
    rec: &Record,
    head: &ChainHead,
    signer: Option<&Signer>,
    out: &mut Vec<u8>,
) -> Result<[u8; 32]> {
    // `write_linked` refuses a record holding `meta` or `sig`.
    let seq = i64::try_from(head.next_seq).map_err(|_| Error::InvalidRecord("seq overflow".into()))?;
    let start = out.len();
    let sig_at = cfg.write_linked(rec, seq, &head.prev, out)?;
    check_size(cfg, out.len() - start)?;
    let hash = chain::record_hash(&out[start..]);
    if let Some(signer) = signer {
        let at = sig_at.ok_or_else(|| Error::InvalidRecord("unknown top-level key \"sig\"".into()))?;
        let sig = signer.sign(sign::RECORD_DOMAIN, &hash);
        let mut member = Vec::with_capacity(160 + signer.kid().len());
        if at > start + 1 {
            member.push(b',');
        }
        member.extend_from_slice(b"\"sig\":{\"ed25519\":\"");
        hex::encode_into(&sig, &mut member);
        member.extend_from_slice(b"\",\"kid\":");
        canonical::write_string(signer.kid(), &mut member);
        member.push(b'}');
        if at == start + 1 && out.get(at) != Some(&b'}') {
            member.push(b',');
        }
        out.splice(at..at, member);
        check_size(cfg, out.len() - start)?;
    }
    out.push(b'\n');
    Ok(hash)
}

fn check_size(cfg: &TrailConfig, len: usize) -> Result<()> {
    if len > cfg.max_record_bytes {
        return Err(Error::NotCanonical(format!("record is {len} bytes, more than {}", cfg.max_record_bytes)));
    }
    Ok(())
}

/// Reads the last complete record of a stream file and returns where the chain continues.
pub fn resume(cfg: &TrailConfig, path: &Path, tenant: &str, date: Date) -> Result<ChainHead> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let len = f.metadata().map_err(io_err(path))?.len();
    if len == 0 {
        return Ok(ChainHead::genesis_versioned(cfg.schema_version, tenant, date));
    }
    let window = u64::try_from(cfg.max_record_bytes).unwrap_or(u64::MAX).saturating_add(2).min(len);
    f.seek(SeekFrom::Start(len - window)).map_err(io_err(path))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).map_err(io_err(path))?;
    let corrupt = |reason: String| Error::Corrupt { path: path.to_owned(), line: 0, reason };
    let body = tail.strip_suffix(b"\n").ok_or_else(|| corrupt("last line has no newline".into()))?;
    let line = match body.iter().rposition(|&b| b == b'\n') {
        Some(p) => &body[p + 1..],
        None if window == len => body,
        None => return Err(corrupt("last line is longer than max_record_bytes".into())),
    };
    let info = chain::inspect_line(cfg, line).map_err(|e| corrupt(format!("last record is invalid: {e}")))?;
    if info.header.tenant != tenant || info.header.date != date {
        return Err(corrupt("last record belongs to another stream".into()));
    }
    Ok(ChainHead { next_seq: info.seq + 1, prev: info.hash })
}

/// Moves a stream file's torn tail (bytes after its last newline) to
/// `<file>.torn-<n>` (first free `n` from 1), durably, then truncates the file.
pub fn recover_torn_tail(path: &Path) -> Result<Option<Quarantined>> {
    // Cheap check first: most files end with a newline.
    let mut f = File::open(path).map_err(io_err(path))?;
    let len = f.metadata().map_err(io_err(path))?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    f.seek(SeekFrom::Start(len - 1)).and_then(|_| f.read_exact(&mut last)).map_err(io_err(path))?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    drop(f);
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    if bytes.is_empty() || bytes.last() == Some(&b'\n') {
        return Ok(None);
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let torn = &bytes[keep..];
    let mut n = 1u32;
    let quarantine_file = loop {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".torn-{n}"));
        let candidate = PathBuf::from(name);
        if !candidate.exists() {
            break candidate;
        }
        n += 1;
    };
    // Copy first, truncate second: a crash in between leaves the bytes in
    // both places, never in neither.
    fsutil::write_atomic(&quarantine_file, torn)?;
    let f = OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
    f.set_len(u64::try_from(keep).unwrap_or(0)).and_then(|()| f.sync_all()).map_err(io_err(path))?;
    Ok(Some(Quarantined {
        stream_file: path.to_owned(),
        quarantine_file,
        bytes: u64::try_from(torn.len()).unwrap_or(u64::MAX),
    }))
}

/// Every stream file below `root/audit/yyyy/mm/dd/`, sorted.
pub fn stream_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![(root.join("audit"), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err(&dir))?;
            let ty = entry.file_type().map_err(io_err(entry.path()))?;
            let path = entry.path();
            if depth < 3 && ty.is_dir() {
                dirs.push((path, depth + 1));
            } else if depth == 3 && ty.is_file() && path.extension().is_some_and(|e| e == "ndjson") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Quarantines the torn tail of every stream file below `root`.
pub fn recover_all(root: &Path) -> Result<Vec<Quarantined>> {
    let mut out = Vec::new();
    for path in stream_files(root)? {
        if let Some(q) = recover_torn_tail(&path)? {
            out.push(q);
        }
    }
    Ok(out)
}
