//! obspec's spec compiler: load → validate → render.
//!
//! `cargo xtask gen` and the proc-macros in `obspec-macros` both call this
//! library, so the files in the repository and the code the macros expand to
//! cannot disagree. See `ARCHITECTURE.md` for the data flow.

pub mod diag;
pub mod diff;
pub mod load;
pub mod lower;
pub mod model;
pub mod names;
pub mod openslo_import;
pub mod output;
pub mod promql;
pub mod rename;
pub mod render;
pub mod rules;
pub mod source;
pub mod validate;

use std::path::Path;

pub use diag::Diagnostic;
pub use load::{Input, Loaded};
pub use output::GeneratedFile;
/// The role and environment lookups predate `validate/`; kept at their old paths.
pub use validate::{environments, roles};

/// Loads and validates a spec. Returns the spec, or every problem found.
pub fn check(inputs: &[Input]) -> Result<Loaded, Vec<Diagnostic>> {
    let (loaded, mut diags) = load::load(inputs);
    // Without any file there is nothing to validate, nor anywhere to point at.
    // An emptied file would make validation report everything it held as
    // missing; the one error naming the file says it all.
    if loaded.sources.files.is_empty() || !loaded.sources.empty.is_empty() {
        return Err(diags);
    }
    diags.extend(validate::validate(&loaded));
    diags.sort_by(|a, b| (&a.file, a.pos.line, a.pos.col).cmp(&(&b.file, b.pos.line, b.pos.col)));
    diags.dedup();
    if diags.is_empty() { Ok(loaded) } else { Err(diags) }
}

/// Loads, validates and renders a spec into the files `cargo xtask gen` writes.
pub fn compile(inputs: &[Input]) -> Result<Vec<GeneratedFile>, Vec<Diagnostic>> {
    let loaded = check(inputs)?;
    Ok(render::all(&loaded))
}

/// Reads a spec directory and compiles it. `display_prefix` names the directory in diagnostics.
pub fn compile_dir(dir: &Path, display_prefix: &str) -> Result<Vec<GeneratedFile>, CompileError> {
    Ok(render::all(&check_dir(dir, display_prefix)?))
}

/// Reads and validates a spec directory, printing its warnings to stderr; the
/// caller renders it ([`render::all`], [`render::uncommitted`]) without loading it again.
pub fn check_dir(dir: &Path, display_prefix: &str) -> Result<Loaded, CompileError> {
    let inputs = load::read_dir(dir, display_prefix).map_err(|e| CompileError::Io(dir.display().to_string(), e))?;
    let loaded = check(&inputs).map_err(CompileError::Spec)?;
    let warnings = warnings(&loaded);
    if !warnings.is_empty() {
        eprint!("{}", diag::render_warnings(&warnings));
    }
    Ok(loaded)
}

/// Problems of a valid spec that do not stop generation (see [`validate::warnings`]).
pub fn warnings(loaded: &Loaded) -> Vec<Diagnostic> {
    validate::warnings(loaded)
}

/// Why a spec directory did not compile.
#[derive(Debug)]
pub enum CompileError {
    /// The directory could not be read.
    Io(String, std::io::Error),
    /// The spec has problems.
    Spec(Vec<Diagnostic>),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Io(path, e) => write!(f, "error: cannot read the spec at {path}: {e}"),
            CompileError::Spec(diags) => f.write_str(&diag::render_all(diags)),
        }
    }
}

impl std::error::Error for CompileError {}
