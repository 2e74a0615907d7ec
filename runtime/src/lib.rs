//! obspec runtime: the pieces the generated emitters sit on.
//!
//! [`log`] is the server-blind log plane (blueprint 09 §2).
//! [`metrics`] is the metric plane's recorder and exposition (§1.2), and
//! [`event`] the traits `obspec-macros` derives, and [`flags`] the spec's
//! flags at run time, one handle shared by the log plane and the layers.

pub mod event;
pub mod flags;
mod hex;
pub mod http;
pub mod log;
pub mod metrics;
#[cfg(feature = "service")]
pub mod service;

pub use log::{LogLine, LogPlane, LogSchema, ServerBlindLayer};
