//! Helpers shared by the integration tests: the small fixture spec, in-memory
//! mutations of it, and assertions on located diagnostics.

#![allow(dead_code)] // Each test crate uses a different subset.

use std::path::PathBuf;

use obspec_codegen::{Diagnostic, Input};

pub mod edits;

/// `codegen/tests/fixtures/small`.
pub fn small_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small")
}

/// `codegen/tests/fixtures/<name>`.
pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A fixture spec by name (`small`, `payments`), its files named `spec/<file>.yaml`.
pub fn fixture(name: &str) -> Vec<Input> {
    obspec_codegen::load::read_dir(&fixture_dir(name).join("spec"), "spec")
        .unwrap_or_else(|e| panic!("read the {name} fixture spec: {e}"))
}

/// The real spec, `spec/` at the workspace root.
pub fn real_spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec")
}

/// The small fixture spec, named `spec/<file>.yaml` as `cargo xtask gen` names files.
pub fn small() -> Vec<Input> {
    obspec_codegen::load::read_dir(&small_dir().join("spec"), "spec").expect("read the small fixture spec")
}

/// The real spec, named `spec/<file>.yaml`.
pub fn real() -> Vec<Input> {
    obspec_codegen::load::read_dir(&real_spec_dir(), "spec").expect("read the real spec")
}

/// The small fixture with the single occurrence of `from` in `spec/<file>` replaced by `to`.
pub fn mutate(file: &str, from: &str, to: &str) -> Vec<Input> {
    mutate_all(&[(file, from, to)])
}

/// The small fixture with several single-occurrence replacements, applied in order.
pub fn mutate_all(edits: &[(&str, &str, &str)]) -> Vec<Input> {
    let mut inputs = small();
    for (file, from, to) in edits {
        let name = format!("spec/{file}");
        let input = inputs.iter_mut().find(|i| i.name == name).unwrap_or_else(|| panic!("no fixture file {name}"));
        let n = input.text.matches(from).count();
        assert_eq!(n, 1, "`{from}` occurs {n} times in {name}; a mutation must name exactly one place");
        input.text = input.text.replacen(from, to, 1);
    }
    inputs
}

/// The small fixture plus one extra file.
pub fn with_file(name: &str, text: &str) -> Vec<Input> {
    let mut inputs = small();
    inputs.push(Input { name: name.to_owned(), text: text.to_owned() });
    inputs
}

/// The diagnostics of a spec that must not compile.
pub fn diags(inputs: &[Input]) -> Vec<Diagnostic> {
    match obspec_codegen::compile(inputs) {
        Ok(files) => panic!("the spec compiled ({} files) but should have failed", files.len()),
        Err(d) => d,
    }
}

/// One line per diagnostic, for failure messages.
pub fn summary(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| format!("  {} [{}] {}\n", d.location(), d.path, d.message)).collect()
}

/// Asserts that `inputs` fail with exactly one diagnostic, at `location` (`file:line:col`)
/// and YAML `path`, saying `message`. Returns it for further checks.
pub fn expect_only(inputs: &[Input], location: &str, path: &str, message: &str) -> Diagnostic {
    let d = diags(inputs);
    assert_eq!(d.len(), 1, "expected exactly one diagnostic, got {}:\n{}", d.len(), summary(&d));
    check(&d[0], location, path, message);
    d.into_iter().next().expect("one diagnostic")
}

/// Asserts that `inputs` fail and that one of the diagnostics says `message`, at
/// `location` and `path`. Other diagnostics may follow from the same mistake.
pub fn expect_among(inputs: &[Input], location: &str, path: &str, message: &str) -> Vec<Diagnostic> {
    let d = diags(inputs);
    let Some(found) = d.iter().find(|x| x.message == message) else {
        panic!("no diagnostic says {message:?}; got:\n{}", summary(&d));
    };
    check(found, location, path, message);
    d
}

fn check(d: &Diagnostic, location: &str, path: &str, message: &str) {
    let got = (d.location(), d.path.as_str(), d.message.as_str());
    assert_eq!(got, (location.to_owned(), path, message), "diagnostic differs; full text:\n{d}");
    assert!(!d.help.is_empty(), "diagnostic without help: {d}");
    assert!(!d.line_text.is_empty(), "diagnostic without a source line: {d}");
}
