//! `spec!` expands to the same code as `generated/src/lib.rs`: the items work,
//! and the renderer's tokens for the repository spec equal the checked-in file.

mod local {
    obspec_macros::spec!("../../spec");
}

#[test]
fn spec_macro_items_match_the_generated_crate() {
    assert_eq!(local::ErrorToken::ALL.len(), obspec_generated::ErrorToken::ALL.len());
    for (a, b) in local::ErrorToken::ALL.iter().zip(obspec_generated::ErrorToken::ALL.iter()) {
        assert_eq!(a.as_str(), b.as_str());
        assert_eq!(a.http_status(), b.http_status());
    }
    assert_eq!(local::metric_names::ALL, obspec_generated::metric_names::ALL);
    assert_eq!(local::metrics::METRICS, obspec_generated::metrics::METRICS);
    assert_eq!(local::metrics::Method::Post.as_str(), "POST");
    let _handle: &'static obspec::metrics::Counter =
        local::metrics::office_mcp_call_total(local::metrics::Tool::Sum, false, Some(local::ErrorToken::Backpressure));
}

/// The tokens `spec!` expands to are `render::rust::tokens` of the spec; the
/// checked-in crate is the same tokens after `prettyplease`.
#[test]
fn renderer_tokens_equal_generated_lib_rs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
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
