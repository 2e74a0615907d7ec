//! obspec runtime: the pieces the generated emitters sit on.
//!
//! [`log`] is the server-blind log plane (blueprint 09 §2).

pub mod log;

pub use log::{LogLine, LogPlane, LogSchema, ServerBlindLayer};
