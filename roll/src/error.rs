//! The crate's error type: every fallible operation returns [`Result`].

use std::path::PathBuf;

/// Errors from opening a store, rolling a day or pruning.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Sealing or reading a trail failed (broken chain, bad key, unreadable manifest).
    #[error(transparent)]
    Trail(#[from] obspec_trail::Error),
    /// An object-store operation failed (after the retries it was given).
    #[error("object store: {path}: {source}")]
    Store {
        /// The object path.
        path: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// An object read back from the store does not have the BLAKE3 it must have.
    #[error("{path}: BLAKE3 read back from the store is {found}, expected {expected}")]
    Checksum {
        /// The object path.
        path: String,
        /// The expected BLAKE3 (hex).
        expected: String,
        /// The BLAKE3 read back (hex).
        found: String,
    },
    /// A local spool file no longer matches the checksum it was sealed with.
    #[error("{path}: local file changed after it was sealed (BLAKE3 {found}, sealed {expected}); it was not uploaded")]
    LocalChanged {
        /// The local file.
        path: PathBuf,
        /// The BLAKE3 recorded in the manifest (hex).
        expected: String,
        /// The BLAKE3 of the file now (hex).
        found: String,
    },
    /// The store holds a different object where an immutable one (manifest, key) goes.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Something the roll needs is in neither the spool nor the store.
    #[error("missing: {0}")]
    Missing(String),
    /// The chain of day manifests cannot be continued as asked.
    #[error("chain: {0}")]
    Chain(String),
    /// A bad store URL, option or retention setting.
    #[error("configuration: {0}")]
    Config(String),
    /// A local I/O operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

/// Wraps an object-store error with the object path it concerns.
pub(crate) fn store_err(path: &object_store::path::Path) -> impl FnOnce(object_store::Error) -> Error {
    let path = path.to_string();
    move |source| Error::Store { path, source }
}
