//! Procedural macros of obspec. They read the spec at compile time through
//! `obspec-codegen`, the same library `cargo xtask gen` uses, and never write files.
