//! Golden tests: the exact output of `obspec_codegen::compile` on each fixture
//! spec (`tests/fixtures/<name>/spec/`) is checked in under
//! `tests/fixtures/<name>/expected/`, one file per `GeneratedFile`, at its path.
//! `small` is compact; `payments` is a made-up system unrelated to the
//! blueprint obspec was written for, and its output must name nothing of it.
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
use std::path::Path;

use obspec_codegen::{GeneratedFile, Input};

/// The fixtures compiled by the golden tests.
const FIXTURES: [&str; 2] = ["small", "payments"];

fn compile_fixture(name: &str) -> Vec<GeneratedFile> {
    match obspec_codegen::compile(&common::fixture(name)) {
        Ok(files) => files,
        Err(d) => panic!("the {name} fixture spec must be valid:\n{}", obspec_codegen::diag::render_all(&d)),
    }
}

fn compile_small() -> Vec<GeneratedFile> {
    compile_fixture("small")
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

fn bless(dir: &Path, files: &[GeneratedFile]) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("clear the expected dir");
    }
    for f in files {
        let path = dir.join(&f.path);
        std::fs::create_dir_all(path.parent().expect("a parent dir")).expect("create expected subdir");
        std::fs::write(&path, &f.contents).expect("write expected file");
    }
}

/// Compares (or with `OBSPEC_BLESS=1`, rewrites) one fixture's expected output.
fn golden(name: &str) {
    let files = compile_fixture(name);
    let dir = common::fixture_dir(name).join("expected");
    if std::env::var_os("OBSPEC_BLESS").is_some_and(|v| v == "1") {
        bless(&dir, &files);
        return;
    }
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
        "golden output of the {name} fixture differs (re-bless with `OBSPEC_BLESS=1 cargo test -p obspec-codegen --test golden` if intended):\n\n{}",
        problems.join("\n")
    );
}

#[test]
fn small_spec_matches_the_expected_output() {
    golden("small");
}

#[test]
fn payments_spec_matches_the_expected_output() {
    golden("payments");
}

/// Blueprint wording still rendered by code outside this change: the doc
/// comments of `render/rust/*` (`§0, §4`, `§1.2`, `§2`, `§5.2` and the
/// `gateway_http_requests_total` example) and model docs that reach the schema.
/// Remove an entry once its renderer derives the text from the spec.
const KNOWN: [(&str, &str); 3] = [
    ("generated/src/lib.rs", "§"),
    ("generated/src/lib.rs", "gateway"),
    ("generated/schema/obspec-spec.schema.json", "§"),
];

#[test]
fn payments_output_names_nothing_of_the_blueprint() {
    // Words of the blueprint's spec (components, sections, group names, the
    // tool's own uids and env prefix) that another team's output must not carry.
    let words = [
        "gateway",
        "office",
        "policy_proxy",
        "core_",
        "mcp",
        "§",
        "blueprint-alerts",
        "OBSPEC_",
        "obspec-overview",
        "\"obspec-",
        "dashboards/obspec",
        "../trail/",
    ];
    let mut found = Vec::new();
    for f in compile_fixture("payments") {
        for w in words {
            if KNOWN.contains(&(f.path.as_str(), w)) {
                continue;
            }
            if let Some(i) = f.contents.find(w) {
                let line = f.contents[..i].matches('\n').count() + 1;
                found.push(format!("{}:{line}: `{w}`", f.path));
            }
        }
        // Binary approximations of decimals (`0.0004999999999999449`). promtool
        // test inputs are exempt: a flat counter repeats the exact sum promtool's
        // repeated addition reaches, which is what keeps it from reading as a reset.
        let test_input = f.path.starts_with("infra/observability/tests/");
        for (i, _) in f.contents.match_indices('.').filter(|_| !test_input) {
            let digits: String = f.contents[i + 1..].chars().take_while(char::is_ascii_digit).collect();
            if digits.contains("0000000") || digits.contains("9999999") {
                found.push(format!("{}: float `0.{digits}`", f.path));
            }
        }
        // The payments spec has no resolutions: no (empty) table for them.
        assert!(!f.contents.contains("Resolutions"), "{}: mentions Resolutions", f.path);
    }
    assert!(found.is_empty(), "the payments output carries the blueprint's wording:\n{}", found.join("\n"));
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
fn every_fixture_file_says_it_is_generated_on_its_first_line() {
    for name in FIXTURES {
        let inputs = common::fixture(name);
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        let names = names.join(", ");
        for f in compile_fixture(name) {
            let first = f.contents.lines().find(|l| !l.trim().is_empty() && l.trim() != "{").unwrap_or_default();
            assert!(first.contains("Generated by `cargo xtask gen`"), "{name}/{}: first line is {first:?}", f.path);
            assert!(first.contains(&names), "{name}/{}: first line does not name the spec files: {first:?}", f.path);
        }
    }
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
    for spec in [common::small(), common::fixture("payments"), common::real()] {
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

/// Each committed renderer's files lie in what its row of `render::RENDERERS`
/// owns, so `gen` also catches extra files there; the previews are not committed.
#[test]
fn every_renderer_writes_only_where_it_owns() {
    use obspec_codegen::render::RENDERERS;
    for (what, inputs) in
        [("real", common::real()), ("small", common::small()), ("payments", common::fixture("payments"))]
    {
        let loaded = obspec_codegen::check(&inputs).unwrap_or_else(|d| panic!("{what}: {d:?}"));
        let sources = loaded.sources.file_names();
        for r in &RENDERERS {
            let lowered = obspec_codegen::lower::lower(&loaded.spec);
            let cx = obspec_codegen::render::RenderCx { spec: &loaded.spec, lowered: &lowered, sources: &sources };
            let files = (r.render)(&cx);
            for f in &files {
                let inside = r.owns.iter().any(|o| o.covers(&f.path));
                assert_eq!(inside, r.committed(), "{what}: {} writes {} outside {:?}", r.name, f.path, r.owns);
            }
        }
        let all: BTreeSet<String> = obspec_codegen::render::all(&loaded).into_iter().map(|f| f.path).collect();
        let previews = obspec_codegen::render::uncommitted(&loaded);
        assert!(!previews.is_empty() && previews.iter().all(|p| !all.contains(&p.path)), "{what}: previews apart");
    }
}

/// The tokens `obspec_macros::spec!` expands to are `render::rust::tokens` of
/// the spec; the checked-in `generated/src/lib.rs` is the same tokens after
/// `prettyplease`, so `spec!` and the generated crate are one code.
#[test]
fn renderer_tokens_equal_generated_lib_rs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let inputs = obspec_codegen::load::read_dir(&root.join("spec"), "spec").unwrap();
    let loaded = obspec_codegen::check(&inputs).unwrap();
    let mut on_disk: syn::File =
        syn::parse_str(&std::fs::read_to_string(root.join("generated/src/lib.rs")).unwrap()).unwrap();
    on_disk.attrs.clear(); // The crate-level doc `render_file` adds.
    // Both through the same formatter: doc strings lose their raw/cooked spelling.
    let a = obspec_codegen::render::rust::format(obspec_codegen::render::rust::tokens(&loaded.spec));
    let b = obspec_codegen::render::rust::format(quote::quote!(#on_disk));
    let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let ctx = |s: &str| s.get(at.saturating_sub(80)..(at + 80).min(s.len())).unwrap_or_default().to_owned();
    assert!(a == b, "spec! and generated/src/lib.rs differ: run `cargo xtask gen`\n{}\n---\n{}", ctx(&a), ctx(&b));
}
