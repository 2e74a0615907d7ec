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
