//! The trail crate's integration tests, in one binary: one link instead of
//! five, and the helpers in `common` compiled once.

mod common;

mod anchors;
mod archive;
mod canonical_props;
mod canonical_vectors;
mod cli;
mod crash;
mod late;
mod scanner_props;
mod tamper;
mod writer;
