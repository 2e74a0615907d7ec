//! The crate's error type: every fallible operation returns [`Result`].

use std::path::PathBuf;

/// Errors from building, writing, sealing or exporting audit trails.
///
/// Tampering found by the verifier is not an error: it is reported as a
/// [`crate::verify::Failure`] inside a [`crate::verify::Report`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input JSON is not acceptable canonical input.
    #[error("invalid JSON at byte {offset}: {reason}")]
    Parse {
        /// Byte offset of the problem in the input.
        offset: usize,
        /// What was wrong.
        reason: ParseError,
    },
    /// A value cannot be put in canonical form (integer out of range, nesting too deep).
    #[error("value not representable in canonical form: {0}")]
    NotCanonical(String),
    /// A record is missing a field, has an unknown field or a field of the wrong type.
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// The trail configuration (key order) is inconsistent.
    #[error("invalid trail configuration: {0}")]
    Config(String),
    /// A stored file fails validation (broken chain, malformed line, bad signature).
    #[error("{path}:{line}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// One-based line number (0 when the whole file is concerned).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A key is missing, malformed or does not match.
    #[error("key error: {0}")]
    Key(String),
    /// A day cannot be sealed or exported as asked.
    #[error("manifest error: {0}")]
    Manifest(String),
    /// Another writer holds the lock on this trail root.
    #[error("trail root {0} is locked by another writer")]
    Locked(PathBuf),
    /// A record for a day that is already sealed: it could never be part of a
    /// sealed, verifiable day, so it is refused rather than acknowledged.
    #[error("day {date} is already sealed: record {id:?} (ts {ts}) is refused; write it with a current timestamp")]
    DaySealed {
        /// The sealed day.
        date: crate::date::Date,
        /// The record id.
        id: String,
        /// The record's `ts`.
        ts: String,
    },
    /// The writer thread is gone (it panicked or was closed).
    #[error("the trail writer has stopped")]
    WriterStopped,
    /// An I/O operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a JSON input was rejected by [`crate::canonical::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input is not UTF-8.
    #[error("input is not valid UTF-8")]
    InvalidUtf8,
    /// The input ended early.
    #[error("unexpected end of input")]
    UnexpectedEnd,
    /// A character that cannot start or continue a value here.
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// A number with a fraction or exponent.
    #[error("floating-point numbers are not allowed")]
    Float,
    /// An integer outside ±(2^53−1).
    #[error("integer outside ±(2^53-1)")]
    IntOutOfRange,
    /// `-0`, which has no canonical integer form distinct from `0`.
    #[error("negative zero is not allowed")]
    NegativeZero,
    /// A number with a leading zero such as `01`.
    #[error("leading zeros are not allowed")]
    LeadingZero,
    /// An object has the same key twice.
    #[error("duplicate key {0:?}")]
    DuplicateKey(String),
    /// A `\uD800`–`\uDFFF` escape that is not part of a valid pair.
    #[error("lone surrogate escape")]
    LoneSurrogate,
    /// A raw control character inside a string.
    #[error("unescaped control character in string")]
    ControlChar,
    /// An unknown escape such as `\x`.
    #[error("invalid escape sequence")]
    InvalidEscape,
    /// Nesting deeper than the configured limit.
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// Non-whitespace after the value.
    #[error("trailing data after value")]
    TrailingData,
    /// Valid JSON but not byte-identical to its canonical form.
    #[error("not in canonical form")]
    NotCanonical,
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
