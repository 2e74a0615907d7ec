//! `spec!` expands to the same code as `generated/src/lib.rs`: the items work
//! (that its tokens equal the checked-in file is in `codegen/tests/golden.rs`).

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
