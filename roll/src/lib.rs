//! The daily roll of obspec's audit trails and server-blind logs to object storage
//! (blueprint §2.3, §3.3, §11.5: "NDJSON roll diário presente em R2 com checksum").
//!
//! [`roll::roll`] seals each audit day with `obspec_trail::manifest` (signed, chained to
//! the day before, empty days too), uploads the day files, the manifest and the public
//! keys, reads every object back and compares its BLAKE3 with the manifest's, and only
//! then deletes the spool files. Log files get the same treatment with a checksum
//! sidecar ([`logs`]). [`prune::prune`] applies retention, deleting only sealed days
//! that still verify.
//!
//! The store is anything [`object_store`] speaks: a local directory by default, or any
//! S3-compatible service (Cloudflare R2, MinIO, Amazon S3) by URL ([`store::open_store`]).
//!
//! Each roll also publishes a signed [`obspec_trail::checkpoint::Checkpoint`] of every
//! day it rolled (`checkpoints/yyyy/mm/dd.json` and `checkpoints/latest.json`) to a second
//! location, [`RollOptions::checkpoint_store`] (by default the `checkpoints/` prefix of the
//! store), so an auditor holds a head the bundle's owner cannot rewrite alone.
//!
//! The pieces: [`store`] → [`upload`] → [`roll`](mod@roll) / [`logs`] → [`prune`](mod@prune).

pub mod error;
pub mod fault;
pub mod logs;
pub mod prune;
pub mod roll;
pub mod store;
pub mod upload;

pub use error::{Error, Result};
pub use prune::{PruneOptions, PruneReport, prune};
pub use roll::{RollOptions, RollReport, roll};
pub use store::open_store;
pub use upload::UploadOptions;
