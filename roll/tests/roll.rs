//! The roll crate's integration tests, in one binary: one link instead of
//! three, and the helpers in `common` compiled once.

mod common;

mod crash;
mod local;
mod s3;
