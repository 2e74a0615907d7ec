//! Golden tests: the exact output of `obspec_codegen::compile` on the small
//! fixture spec (`tests/fixtures/small/spec/`) is checked in under
//! `tests/fixtures/small/expected/`, one file per `GeneratedFile`, at its path.
//!
//! When a renderer changes on purpose (or a new one is added), re-bless with
//! one command, then review the diff with `git diff codegen/tests/fixtures`:
//!
//! ```sh
//! OBSPEC_BLESS=1 cargo test -p obspec-codegen --test golden
//! ```
//!
//! Without `OBSPEC_BLESS`, a difference fails naming the file and showing the
//! first differing lines; a file missing from, or left over in, the expected
//! directory fails too.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use obspec_codegen::{GeneratedFile, Input};

fn expected_dir() -> PathBuf {
    common::small_dir().join("expected")
}

fn compile_small() -> Vec<GeneratedFile> {
    match obspec_codegen::compile(&common::small()) {
        Ok(files) => files,
        Err(d) => panic!("the small fixture spec must be valid:\n{}", obspec_codegen::diag::render_all(&d)),
    }
}

/// Every file under `dir`, as `/`-separated paths relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry.expect("read expected dir").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

/// The first differing line of two texts, with a little context from each side.
fn first_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let first = e.iter().zip(&a).position(|(x, y)| x != y).unwrap_or(e.len().min(a.len()));
    let from = first.saturating_sub(2);
    let mut out = format!("first difference at line {}:\n", first + 1);
    for (i, line) in e.iter().enumerate().skip(from).take(first - from) {
        out.push_str(&format!("  {:>5}   {line}\n", i + 1));
    }
    for (i, line) in e.iter().enumerate().skip(first).take(6) {
        out.push_str(&format!("- {:>5}   {line}\n", i + 1));
    }
    for (i, line) in a.iter().enumerate().skip(first).take(6) {
        out.push_str(&format!("+ {:>5}   {line}\n", i + 1));
    }
    if e.len() == a.len() && expected != actual {
        out.push_str("  (same lines; the texts differ in line endings or a trailing newline)\n");
    }
    out
}

fn bless(files: &[GeneratedFile]) {
    let dir = expected_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear the expected dir");
    }
    for f in files {
        let path = dir.join(&f.path);
        std::fs::create_dir_all(path.parent().expect("a parent dir")).expect("create expected subdir");
        std::fs::write(&path, &f.contents).expect("write expected file");
    }
}

#[test]
fn small_spec_matches_the_expected_output() {
    let files = compile_small();
    if std::env::var_os("OBSPEC_BLESS").is_some_and(|v| v == "1") {
        bless(&files);
        return;
    }
    let dir = expected_dir();
    let mut problems = Vec::new();
    let produced: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();
    for f in &files {
        match std::fs::read_to_string(dir.join(&f.path)) {
            Ok(expected) if expected == f.contents => {}
            Ok(expected) => problems.push(format!("{} differs: {}", f.path, first_difference(&expected, &f.contents))),
            Err(e) => problems.push(format!("{} is missing from the expected dir ({e})", f.path)),
        }
    }
    for extra in files_under(&dir).difference(&produced) {
        problems.push(format!("{extra} is in the expected dir but compile no longer produces it"));
    }
    assert!(
        problems.is_empty(),
        "golden output of the small fixture differs (re-bless with `OBSPEC_BLESS=1 cargo test -p obspec-codegen --test golden` if intended):\n\n{}",
        problems.join("\n")
    );
}

#[test]
fn golden_output_covers_every_renderer() {
    // Today: schema, catalogue, Rust. A new renderer adds a path; re-blessing picks it up.
    let paths: Vec<String> = compile_small().into_iter().map(|f| f.path).collect();
    for p in ["generated/schema/obspec-spec.schema.json", "generated/CATALOGUE.md", "generated/src/lib.rs"] {
        assert!(paths.iter().any(|x| x == p), "compile no longer produces {p}: {paths:?}");
    }
    let mut sorted = paths.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paths, sorted, "compile's files are sorted by path and unique");
}

#[test]
fn every_generated_file_says_it_is_generated_on_its_first_line() {
    let names = "spec/components.yaml, spec/dashboards.yaml, spec/errors.yaml, spec/flags.yaml, spec/logs.yaml, spec/metrics.yaml, spec/project.yaml, spec/self.yaml, spec/slos.yaml, spec/trails.yaml";
    for f in compile_small() {
        let first = f.contents.lines().find(|l| !l.trim().is_empty() && l.trim() != "{").unwrap_or_default();
        assert!(first.contains("Generated by `cargo xtask gen`"), "{}: first line is {first:?}", f.path);
        assert!(first.contains(names), "{}: first line does not name the spec files: {first:?}", f.path);
        assert!(f.contents.ends_with('\n'), "{} does not end with a newline", f.path);
        assert!(!f.contents.contains('\r'), "{} has a carriage return", f.path);
    }
}

#[test]
fn output_is_byte_identical_across_runs() {
    let a = compile_small();
    let b = compile_small();
    assert_eq!(a, b);
    // The real spec too: it exercises far more of every renderer.
    let real = common::real();
    let a = obspec_codegen::compile(&real).expect("the real spec compiles");
    let b = obspec_codegen::compile(&real).expect("the real spec compiles");
    assert_eq!(a, b);
}

/// Compiles `inputs`, checking every file names its sources in name order
/// (the loader merges files sorted by name, whatever order they are given in).
fn compile_normalised(inputs: &[Input]) -> Vec<GeneratedFile> {
    let mut sorted: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    sorted.sort();
    let sorted = sorted.join(", ");
    let files = obspec_codegen::compile(inputs).expect("compiles");
    for f in &files {
        assert!(f.contents.contains(&sorted), "{} does not name its sources in name order: {sorted}", f.path);
    }
    files
}

#[test]
fn output_does_not_depend_on_file_read_order() {
    // Each section lives in one file, so reading the files in another order
    // may change only the list of sources in the header.
    for spec in [common::small(), common::real()] {
        let baseline = compile_normalised(&spec);
        let mut reversed = spec.clone();
        reversed.reverse();
        let mut rotated = spec.clone();
        rotated.rotate_left(3);
        for permuted in [reversed, rotated] {
            let out = compile_normalised(&permuted);
            assert_eq!(out.len(), baseline.len());
            for (x, y) in baseline.iter().zip(&out) {
                assert_eq!(x.path, y.path);
                assert!(
                    x.contents == y.contents,
                    "{} depends on file order: {}",
                    x.path,
                    first_difference(&x.contents, &y.contents)
                );
            }
        }
    }
}

#[test]
fn reading_a_directory_sorts_its_files() {
    // compile_dir reads files in name order whatever order the directory lists them in.
    let tmp = std::env::temp_dir().join(format!("obspec-golden-order-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    let mut inputs = common::small();
    inputs.reverse();
    for i in &inputs {
        let file = i.name.trim_start_matches("spec/");
        std::fs::write(tmp.join(file), &i.text).expect("write");
    }
    std::fs::write(tmp.join("README.md"), "not yaml, ignored").expect("write");
    let read = obspec_codegen::load::read_dir(&tmp, "spec").expect("read");
    let from_dir = obspec_codegen::compile_dir(&tmp, "spec").expect("compiles");
    std::fs::remove_dir_all(&tmp).expect("clean up");
    let names: Vec<&str> = read.iter().map(|i| i.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert_eq!(from_dir, compile_small());
}
