//! Declared renames: what validation rejects, the past-deadline warning, and
//! that generation never depends on the clock.

mod common;

use common::{expect_only, mutate};

#[test]
fn renamed_from_needs_a_deprecated_day() {
    expect_only(
        &mutate("metrics.yaml", "    deprecated: \"2027-06-30\"\n", ""),
        "spec/metrics.yaml:49:5",
        "metrics[3].renamed_from",
        "metric `worker_queue_depth` has `renamed_from` but no `deprecated` day",
    );
}

#[test]
fn deprecated_must_be_a_calendar_date() {
    expect_only(
        &mutate("metrics.yaml", "deprecated: \"2027-06-30\"", "deprecated: \"2027-02-30\""),
        "spec/metrics.yaml:50:17",
        "metrics[3].deprecated",
        "`2027-02-30` is not a date",
    );
}

#[test]
fn renamed_from_must_not_name_a_metric_or_series_of_the_spec() {
    expect_only(
        &mutate(
            "metrics.yaml",
            "renamed_from: worker_queue_length",
            "renamed_from: api_http_request_duration_seconds_count",
        ),
        "spec/metrics.yaml:49:19",
        "metrics[3].renamed_from",
        "`renamed_from: api_http_request_duration_seconds_count` of metric `worker_queue_depth` names a metric or series the spec already has",
    );
}

#[test]
fn deprecated_without_renamed_from_is_an_error() {
    expect_only(
        &mutate("metrics.yaml", "    renamed_from: worker_queue_length\n", ""),
        "spec/metrics.yaml:49:5",
        "metrics[3].deprecated",
        "metric `worker_queue_depth` has `deprecated` but no `renamed_from`",
    );
}

#[test]
fn a_deprecation_past_its_day_warns_and_the_output_does_not_change() {
    let loaded = obspec_codegen::check(&common::small()).expect("the small fixture is valid");
    assert!(obspec_codegen::rename::warnings_on(&loaded, "2027-06-30").is_empty(), "the last day is still inside");
    let w = obspec_codegen::rename::warnings_on(&loaded, "2027-07-01");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].location(), "spec/metrics.yaml:50:17");
    assert_eq!(
        w[0].message,
        "the deprecation of `worker_queue_length` (renamed to `worker_queue_depth`) ended on 2027-06-30"
    );
    assert!(w[0].help.contains("delete `renamed_from`"), "{}", w[0].help);
    // The alias is in the output for as long as the spec says `renamed_from`.
    let files = obspec_codegen::render::all(&loaded);
    let rules = files.iter().find(|f| f.path.ends_with("rules/slo-recording.yml")).expect("rules file");
    assert!(rules.contents.contains("record: worker_queue_length\n"), "{}", rules.contents);
    let dropped = obspec_codegen::compile(&mutate(
        "metrics.yaml",
        "    renamed_from: worker_queue_length\n    deprecated: \"2027-06-30\"\n",
        "",
    ))
    .expect("valid without the rename");
    let rules = dropped.iter().find(|f| f.path.ends_with("rules/slo-recording.yml")).expect("rules file");
    assert!(!rules.contents.contains("obspec-aliases"), "no alias group without a rename");
}
