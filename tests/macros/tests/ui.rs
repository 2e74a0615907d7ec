//! Compile-fail tests: every derive error points at the offending token and
//! says what is allowed. Regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p obspec-macros-tests --test ui` and review them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
