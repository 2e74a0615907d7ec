//! Nothing here: the tests are in `tests/` (derives run against the runtime,
//! `spec!` against the generated crate, and the trybuild compile-fail cases).
