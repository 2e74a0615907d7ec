//! Audit trails (JSON✯Atomic) for obspec: canonical records, a BLAKE3 hash
//! chain per stream (tenant × day), optional Ed25519 signatures, a durable
//! NDJSON writer, signed day manifests, auditor bundles and their verifier.
//!
//! The pieces, in the order data flows through them:
//! [`canonical`] → [`chain`] (lines read back by [`scan`]) → [`sign`] → [`writer`] → [`manifest`] → [`checkpoint`] → [`bundle`] → [`verify`].

pub mod bundle;
pub mod canonical;
pub mod chain;
pub mod checkpoint;
pub mod date;
pub mod error;
mod fsutil;
pub mod hex;
pub mod manifest;
pub mod merkle;
pub mod scan;
pub mod sign;
pub mod verify;
pub mod writer;

pub use canonical::{Object, Record, TrailConfig, Value};
pub use date::Date;
pub use error::{Error, ParseError, Result};
