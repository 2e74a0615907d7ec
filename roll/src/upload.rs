//! Verified uploads: idempotent, retried with backoff, and checked by reading
//! the object back and comparing its BLAKE3 with the one it must have.

use std::io::Read;
use std::path::Path as FsPath;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::error::{Error, Result, io_err, store_err};

/// How uploads are retried and split.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Attempts per object (put + read-back), at least 1.
    pub attempts: u32,
    /// Wait before the second attempt; doubled after each failed attempt.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
    /// Files larger than this are sent as multipart uploads of this many bytes a part
    /// (S3 needs at least 5 MiB a part).
    pub multipart_chunk: usize,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            multipart_chunk: 16 << 20,
        }
    }
}

/// What to do when the store already holds a different object at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it: the local bytes are the authority (their BLAKE3 is sealed in a manifest).
    Replace,
    /// Refuse with [`Error::Conflict`]: the object is immutable (a manifest, a public key).
    Refuse,
}

/// What a verified upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The object was written and read back intact, after this many attempts.
    Uploaded {
        /// Attempts used (1 when the first one succeeded).
        attempts: u32,
    },
    /// The store already held the object with the expected BLAKE3: nothing was written.
    AlreadyPresent,
}

/// Where the bytes of an upload come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// A local file, streamed (its BLAKE3 is checked while it is read).
    File(&'a FsPath),
}

/// Lowercase hex of a hash.
pub fn hex(h: &[u8; 32]) -> String {
    obspec_trail::hex::encode(h)
}

/// BLAKE3 of a local file, streamed.
pub fn file_blake3(path: &FsPath) -> Result<[u8; 32]> {
    let f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h = blake3::Hasher::new();
    h.update_reader(f).map_err(io_err(path))?;
    Ok(*h.finalize().as_bytes())
}

/// Reads an object and returns its BLAKE3 (streamed, never held whole in memory),
/// or `None` when there is no such object.
pub async fn object_blake3(store: &dyn ObjectStore, path: &Path) -> Result<Option<[u8; 32]>> {
    let got = match store.get(path).await {
        Ok(g) => g,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(store_err(path)(e)),
    };
    let mut stream = got.into_stream();
    let mut h = blake3::Hasher::new();
    while let Some(chunk) = stream.next().await {
        h.update(&chunk.map_err(store_err(path))?);
    }
    Ok(Some(*h.finalize().as_bytes()))
}

/// Reads a whole (small) object, or `None` when there is no such object.
pub async fn get_bytes(store: &dyn ObjectStore, path: &Path) -> Result<Option<Vec<u8>>> {
    match store.get(path).await {
        Ok(g) => Ok(Some(g.bytes().await.map_err(store_err(path))?.to_vec())),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_err(path)(e)),
    }
}

/// Retries `op` up to `opts.attempts` times with exponential backoff.
pub async fn with_retry<T, F, Fut>(opts: &UploadOptions, mut op: F) -> Result<(T, u32)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let attempts = opts.attempts.max(1);
    let mut wait = opts.initial_backoff;
    let mut n = 1;
    loop {
        match op().await {
            Ok(v) => return Ok((v, n)),
            Err(e) if n >= attempts || !retryable(&e) => return Err(e),
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(opts.max_backoff);
                n += 1;
            }
        }
    }
}

/// Whether an error may go away on another attempt (store errors and read-back mismatches).
fn retryable(e: &Error) -> bool {
    matches!(e, Error::Store { .. } | Error::Checksum { .. })
}

/// Uploads `source` to `path` so that the store ends up holding bytes whose BLAKE3 is
/// `expected`, and proves it by reading the object back.
///
/// - When the object is already there with `expected`, nothing is written ([`Outcome::AlreadyPresent`]).
/// - When a different object is there: [`Existing::Replace`] overwrites it, [`Existing::Refuse`]
///   fails with [`Error::Conflict`].
/// - A local file whose BLAKE3 is not `expected` is never uploaded ([`Error::LocalChanged`]).
/// - Each attempt is a put followed by a full read-back; a failed put or a read-back whose
///   BLAKE3 differs is retried with backoff, and the last failure is returned
///   ([`Error::Checksum`] for a mismatch).
pub async fn put_verified(
    store: &dyn ObjectStore,
    path: &Path,
    source: Source<'_>,
    expected: &[u8; 32],
    existing: Existing,
    opts: &UploadOptions,
) -> Result<Outcome> {
    if let Source::File(f) = source {
        let found = file_blake3(f)?;
        if found != *expected {
            return Err(Error::LocalChanged { path: f.to_owned(), expected: hex(expected), found: hex(&found) });
        }
    }
    let (present, _) = with_retry(opts, || object_blake3(store, path)).await?;
    match present {
        Some(h) if h == *expected => return Ok(Outcome::AlreadyPresent),
        Some(h) if existing == Existing::Refuse => {
            return Err(Error::Conflict(format!(
                "{path} already exists with BLAKE3 {} (expected {}); it is never replaced",
                hex(&h),
                hex(expected)
            )));
        }
        _ => {}
    }
    let ((), attempts) = with_retry(opts, || async {
        put_once(store, path, source, expected, opts).await?;
        crate::fault::point("read back");
        match object_blake3(store, path).await? {
            Some(h) if h == *expected => Ok(()),
            Some(h) => Err(Error::Checksum { path: path.to_string(), expected: hex(expected), found: hex(&h) }),
            None => Err(Error::Checksum { path: path.to_string(), expected: hex(expected), found: "(absent)".into() }),
        }
    })
    .await?;
    Ok(Outcome::Uploaded { attempts })
}

async fn put_once(
    store: &dyn ObjectStore,
    path: &Path,
    source: Source<'_>,
    expected: &[u8; 32],
    opts: &UploadOptions,
) -> Result<()> {
    let file = match source {
        Source::Bytes(b) => {
            store.put(path, PutPayload::from(b.to_vec())).await.map_err(store_err(path))?;
            return Ok(());
        }
        Source::File(f) => f,
    };
    let len = std::fs::metadata(file).map_err(io_err(file))?.len();
    let chunk = opts.multipart_chunk.max(1);
    if len <= u64::try_from(chunk).unwrap_or(u64::MAX) {
        let bytes = std::fs::read(file).map_err(io_err(file))?;
        let found = *blake3::hash(&bytes).as_bytes();
        if found != *expected {
            return Err(Error::LocalChanged { path: file.to_owned(), expected: hex(expected), found: hex(&found) });
        }
        store.put(path, PutPayload::from(bytes)).await.map_err(store_err(path))?;
        return Ok(());
    }
    let mut reader = std::fs::File::open(file).map_err(io_err(file))?;
    let upload = store.put_multipart(path).await.map_err(store_err(path))?;
    let mut w = WriteMultipart::new_with_chunk_size(upload, chunk);
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = w.abort().await;
                return Err(io_err(file)(e));
            }
        };
        h.update(&buf[..n]);
        w.wait_for_capacity(2).await.map_err(store_err(path))?;
        w.write(&buf[..n]);
        crate::fault::point("upload part");
    }
    let found = *h.finalize().as_bytes();
    if found != *expected {
        // Never complete an upload of bytes that are not the sealed ones.
        let _ = w.abort().await;
        return Err(Error::LocalChanged { path: file.to_owned(), expected: hex(expected), found: hex(&found) });
    }
    w.finish().await.map_err(store_err(path))?;
    Ok(())
}
