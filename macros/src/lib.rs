//! Procedural macros of obspec. They read the spec at compile time through
//! `obspec-codegen`, the same library `cargo xtask gen` uses, and never write files.
//!
//! - `#[derive(LogEvent)]`: a struct whose fields are all in the log allow-list
//!   (§2.1), with compatible types; implements `obspec::event::LogEvent`.
//! - `#[derive(TrailData)]` with `#[trail(kind = "…")]`: a struct matching one
//!   trail kind's `data` schema exactly (§3.2); implements `obspec::event::TrailData`.
//! - `#[derive(ErrorToken)]`: maps a service error enum onto the ErrorToken
//!   vocabulary, one `#[token(NAME)]` per variant.
//! - `spec!("dir")`: expands to the same code as `generated/src/lib.rs` for a
//!   service that keeps its own spec.
//!
//! # Spec discovery
//!
//! Each expansion finds the spec directory at compile time, in this order:
//!
//! 1. **Explicit**: the literal of `spec!("dir")`, or `#[obspec(spec = "dir")]`
//!    on a derived type. A relative path is joined to the using crate's
//!    `CARGO_MANIFEST_DIR`; an absolute one is taken as written. A path that is
//!    not a directory is a compile error (`no spec directory at …`).
//! 2. **Nearest ancestor `spec/`**: `CARGO_MANIFEST_DIR`, then each of its
//!    parents in turn; the first holding a `spec/` directory gives `<that>/spec`
//!    (a workspace member reads the workspace's `spec/`, a crate with its own
//!    `spec/` beside its `Cargo.toml` reads that one).
//! 3. **Fallback**: the nearest `spec/` above this macro crate's own directory,
//!    for crates compiled outside the workspace (trybuild tests).
//! 4. Otherwise a compile error, with the help to add `#[obspec(spec = "…")]`.
//!
//! Every `*.yaml` and `*.yml` file directly in the directory is read, in name
//! order, and checked by `obspec_codegen::check` (the checks of `cargo xtask
//! gen`); an invalid spec is one compile error listing every located
//! diagnostic. Each expansion includes the files it read with
//! `include_bytes!`, so editing the spec rebuilds the code that uses it.

use proc_macro::TokenStream;
use syn::{DeriveInput, LitStr, parse_macro_input};

mod error_token;
mod log_event;
mod spec;
mod trail_data;
mod ty;

/// Implements `obspec::event::LogEvent` for a struct whose field names are in
/// the spec's log allow-list, each with a type compatible with the field's.
///
/// Not a doc test (a proc-macro crate's doc tests cannot link the runtime
/// the expansion calls); `tests/macros` compiles such uses:
///
/// ```ignore
/// #[derive(obspec_macros::LogEvent)]
/// struct Served<'a> { route: &'static str, tenant: &'a str, ok: bool, code: u16, latency_ms: u64 }
/// ```
#[proc_macro_derive(LogEvent, attributes(obspec))]
pub fn derive_log_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    log_event::expand(&input).into()
}

/// Implements `obspec::event::TrailData` for a struct matching the `data`
/// schema of the trail kind named by `#[trail(kind = "…")]`.
///
/// Not a doc test (a proc-macro crate's doc tests cannot link the runtime
/// the expansion calls); `tests/macros` compiles such uses:
///
/// ```ignore
/// #[derive(obspec_macros::TrailData)]
/// #[trail(kind = "office.tool_call")]
/// struct ToolCall<'a> { tool: &'a str, arg_count: u64, arg_ids: Vec<String>, cost_calls: u64, ok: bool }
/// ```
#[proc_macro_derive(TrailData, attributes(trail, obspec))]
pub fn derive_trail_data(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    trail_data::expand(&input).into()
}

/// Adds `fn error_token(&self) -> ErrorToken` (and `From<&E> for ErrorToken`)
/// to an error enum, one `#[token(NAME)]` per variant. The ErrorToken type is
/// `::obspec_generated::ErrorToken` unless `#[obspec(vocab = "path")]` names the
/// module that holds it (for example one expanded by `spec!`).
///
/// Not a doc test (a proc-macro crate's doc tests cannot link the runtime
/// the expansion calls); `tests/macros` compiles such uses:
///
/// ```ignore
/// #[derive(obspec_macros::ErrorToken)]
/// enum MyErr { #[token(NOT_FOUND)] Missing, #[token(BACKPRESSURE)] Busy }
/// ```
#[proc_macro_derive(ErrorToken, attributes(token, obspec))]
pub fn derive_error_token(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    error_token::expand(&input).into()
}

/// Expands to the typed vocabulary and emitters of the spec in a directory
/// (relative to `CARGO_MANIFEST_DIR`): the same items as `obspec-generated`.
///
/// Not a doc test (a proc-macro crate's doc tests cannot link the runtime
/// the expansion calls); `tests/macros` compiles such uses:
///
/// ```ignore
/// mod obs { obspec_macros::spec!("spec"); }
/// ```
#[proc_macro]
pub fn spec(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    spec::expand_spec_macro(&lit).into()
}
