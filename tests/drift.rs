//! The drift check as a test: plain `cargo test` fails when any generated
//! file differs from what the spec in the repository produces.

use std::path::PathBuf;

use obspec_codegen::output;

#[test]
fn generated_files_match_the_spec() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = match obspec_codegen::compile_dir(&root.join("spec"), "spec") {
        Ok(files) => files,
        Err(e) => panic!("the spec does not compile:\n{e}"),
    };
    let drift = output::diff(&root, &files).expect("read the generated files");
    assert!(drift.is_clean(), "{drift}");
}

#[test]
fn every_spec_file_has_the_schema_modeline() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for path in obspec_codegen::load::spec_files(&root.join("spec")).expect("list spec/") {
        let text = std::fs::read_to_string(&path).expect("read spec file");
        assert!(
            text.starts_with("# yaml-language-server: $schema=../generated/schema/obspec-spec.schema.json"),
            "{} lacks the yaml-language-server modeline on its first line",
            path.display()
        );
    }
}

/// Writes the repository's generated files under a fresh temporary root.
fn temp_copy(files: &[obspec_codegen::GeneratedFile], tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("obspec-drift-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    output::write(&dir, files).expect("write generated files");
    dir
}

#[test]
fn check_names_hand_edited_missing_and_extra_files() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = obspec_codegen::compile_dir(&root.join("spec"), "spec").expect("spec compiles");
    let dir = temp_copy(&files, "edit");
    assert!(output::diff(&dir, &files).unwrap().is_clean());

    let edited = dir.join("infra/observability/rules/alerts.yml");
    let mut text = std::fs::read_to_string(&edited).unwrap();
    text.push_str("# a hand edit\n");
    std::fs::write(&edited, text).unwrap();
    std::fs::remove_file(dir.join("generated/CATALOGUE.md")).unwrap();
    std::fs::write(dir.join("infra/observability/rules/stale.yml"), "groups: []\n").unwrap();

    let drift = output::diff(&dir, &files).unwrap();
    assert_eq!(drift.stale, vec!["infra/observability/rules/alerts.yml"]);
    assert_eq!(drift.missing, vec!["generated/CATALOGUE.md"]);
    assert_eq!(drift.extra, vec!["infra/observability/rules/stale.yml"]);
    let report = drift.to_string();
    assert!(report.contains("run `cargo xtask gen`"), "{report}");

    // Writing repairs all three.
    output::write(&dir, &files).unwrap();
    assert!(output::diff(&dir, &files).unwrap().is_clean());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn renaming_a_metric_in_the_spec_makes_generated_files_stale() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut inputs = obspec_codegen::load::read_dir(&root.join("spec"), "spec").unwrap();
    for input in &mut inputs {
        input.text = input.text.replace("core_tenant_requests_total", "core_tenant_calls_total");
    }
    let renamed = obspec_codegen::compile(&inputs).expect("a consistent rename still compiles");
    let drift = output::diff(&root, &renamed).unwrap();
    assert!(drift.stale.contains(&"generated/src/lib.rs".to_owned()), "{drift}");
    assert!(drift.stale.contains(&"generated/CATALOGUE.md".to_owned()), "{drift}");

    // Renaming only the metric breaks every reference, each reported where it is.
    let mut inputs = obspec_codegen::load::read_dir(&root.join("spec"), "spec").unwrap();
    for input in inputs.iter_mut().filter(|i| i.name.ends_with("metrics.yaml")) {
        input.text = input.text.replace("core_tenant_requests_total", "core_tenant_calls_total");
    }
    let diags = obspec_codegen::compile(&inputs).expect_err("dangling references fail");
    assert!(diags.iter().all(|d| d.file == "spec/dashboards.yaml"), "{diags:?}");
    assert!(diags.iter().all(|d| d.message.contains("unknown metric `core_tenant_requests_total`")), "{diags:?}");
    assert_eq!(diags.len(), 2, "{diags:?}");
}
