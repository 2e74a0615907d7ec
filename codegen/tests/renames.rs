//! Declared renames: what validation rejects, the past-deadline warning, and
//! that generation never depends on the clock.

mod common;

use common::edits::{LABEL_RENAME, VALUE_RENAME, VALUE_REPLACED};
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

fn with(extra: &[(&'static str, &'static str, &'static str)]) -> Vec<obspec_codegen::Input> {
    let mut edits = LABEL_RENAME.to_vec();
    edits.extend_from_slice(extra);
    common::mutate_all(&edits)
}

#[test]
fn a_renamed_label_is_written_under_both_names_by_every_emitter() {
    // The worker (exposition: otlp) gets a TypeScript client: give one of its metrics the label.
    let files =
        obspec_codegen::compile(&with(&[("metrics.yaml", "labels: [ok, err]", "labels: [ok, err, http_method]")]))
            .expect("the rename is valid");
    let file = |suffix: &str| {
        files.iter().find(|f| f.path.ends_with(suffix)).unwrap_or_else(|| panic!("no {suffix}")).contents.clone()
    };
    // Rust: the label vector of every series holds both names with one value.
    let rust = file("generated/src/lib.rs");
    let compact: String = rust.split_whitespace().collect();
    assert!(
        compact.contains(r#"from_static_parts("http_method",http_method.as_str()),::obspec::metrics::Label::from_static_parts("method",http_method.as_str())"#),
        "the Rust emitter does not write both names"
    );
    // TypeScript: the descriptor names the alias; the encoder copies the folded value.
    let ts = files
        .iter()
        .filter(|f| f.path.ends_with(".ts"))
        .map(|f| f.contents.as_str())
        .find(|c| c.contains("worker_jobs_total"))
        .expect("a TypeScript client with the metric");
    assert!(ts.contains(r#"aliases: [["http_method", "method"]]"#), "no alias in the TypeScript descriptor");
    assert!(ts.contains("f.desc.aliases?.find"), "the TypeScript encoder ignores aliases");
    // The catalogue lists the deprecation with its last day and metrics.
    let cat = file("CATALOGUE.md");
    assert!(
        cat.contains("| `method` | `http_method` | 2027-01-31 | `api_http_requests_total`, `worker_jobs_total` |"),
        "{cat}"
    );
    // Without `renamed_from`, the old name is gone from the emitters.
    let plain = obspec_codegen::compile(&common::mutate_all(&[
        ("metrics.yaml", "  - name: method\n", "  - name: http_method\n"),
        LABEL_RENAME[1],
    ]))
    .expect("valid");
    let rust = plain.iter().find(|f| f.path.ends_with("generated/src/lib.rs")).expect("lib.rs").contents.clone();
    assert!(!rust.contains(r#"from_static_parts("method""#));
}

#[test]
fn a_label_rename_needs_a_free_old_name_and_a_day() {
    expect_only(
        &with(&[("metrics.yaml", "    deprecated: \"2027-01-31\"\n", "")]),
        "spec/metrics.yaml:8:5",
        "labels[1].renamed_from",
        "label `http_method` has `renamed_from` but no `deprecated` day",
    );
    expect_only(
        &with(&[("metrics.yaml", "renamed_from: method", "renamed_from: code")]),
        "spec/metrics.yaml:8:19",
        "labels[1].renamed_from",
        "`renamed_from: code` of label `http_method` names a label the spec already has",
    );
    let loaded = obspec_codegen::check(&with(&[])).expect("valid");
    let w = obspec_codegen::rename::warnings_on(&loaded, "2027-02-01");
    assert!(
        w.iter()
            .any(|d| d.message == "the deprecation of label `method` (renamed to `http_method`) ended on 2027-01-31"),
        "{w:?}"
    );
}

/// An alert with a negative matcher on the renamed value, so `!=` is widened too.
const NEGATIVE_ALERT: (&str, &str, &str) = (
    "slos.yaml",
    "alerts:\n",
    "alerts:\n  - name: WorkerSucceeds\n    component: worker\n    severity: ticket\n    for: 5m\n    summary: \"Jobs succeed.\"\n    description: \"Only for the test.\"\n    rule:\n      expr: { expr: 'sum(rate(worker_jobs_total{ok!=\"failed\"}[5m])) > 0' }\n",
);

fn value_renamed(extra: &[(&'static str, &'static str, &'static str)]) -> Vec<obspec_codegen::Input> {
    let mut edits = VALUE_RENAME.to_vec();
    edits.push(NEGATIVE_ALERT);
    edits.extend_from_slice(extra);
    common::mutate_all(&edits)
}

#[test]
fn a_renamed_value_is_stored_under_its_old_name_and_every_query_matches_both() {
    let files = obspec_codegen::compile(&value_renamed(&[])).unwrap_or_else(|d| panic!("valid: {d:?}"));
    let file = |suffix: &str| {
        files.iter().find(|f| f.path.ends_with(suffix)).unwrap_or_else(|| panic!("no {suffix}")).contents.clone()
    };
    // Every scrape job relabels the new value to the old one.
    let prom: serde_json::Value = yaml(&file("infra/observability/prometheus.yml"));
    let jobs = prom["scrape_configs"].as_array().expect("scrape jobs");
    assert!(!jobs.is_empty());
    for job in jobs {
        assert_eq!(
            job["metric_relabel_configs"],
            serde_json::json!([{ "source_labels": ["ok"], "regex": "failed", "target_label": "ok", "replacement": "false" }]),
            "job {}",
            job["job_name"]
        );
    }
    // The alerts and the dashboard match both values.
    let alerts = file("infra/observability/rules/alerts.yml");
    assert!(alerts.contains(r#"worker_jobs_total{ok=~"failed|false",err="BACKPRESSURE"}"#), "{alerts}");
    assert!(alerts.contains(r#"worker_jobs_total{ok!~"failed|false"}"#), "{alerts}");
    assert!(!alerts.contains(r#"ok="failed""#), "a matcher was not widened:\n{alerts}");
    let dashboards: String = files.iter().filter(|f| f.path.ends_with(".json")).map(|f| f.contents.as_str()).collect();
    assert!(dashboards.contains(r#"ok=~\"failed|false\""#), "no widened dashboard query");
    // Emitters write the new value; the catalogue lists the rename.
    assert!(file("generated/src/lib.rs").contains("\"failed\""));
    let cat = file("CATALOGUE.md");
    assert!(cat.contains("| `ok` | `false` | `failed` | 2027-03-31 | `worker_jobs_total` |"), "{cat}");
    // Without the entry, nothing is relabelled or widened.
    let plain = obspec_codegen::compile(&common::mutate_all(&VALUE_REPLACED)).expect("valid");
    let all: String = plain.iter().map(|f| f.contents.as_str()).collect();
    assert!(!all.contains("metric_relabel_configs") && !all.contains("failed|false"));
}

fn yaml(text: &str) -> serde_json::Value {
    let (value, _, problems) = obspec_codegen::source::parse("prometheus.yml", text);
    assert!(problems.is_empty(), "{problems:?}");
    value.unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_value_rename_is_checked_all_at_once() {
    let d = common::diags(&value_renamed(&[(
        "metrics.yaml",
        "{ value: failed, renamed_from: \"false\", deprecated: \"2027-03-31\" }",
        "{ value: broken, renamed_from: \"true\" }",
    )]));
    let got: Vec<(String, &str)> = d.iter().map(|d| (d.path.clone(), d.message.as_str())).collect();
    for (path, message) in [
        ("labels[3].renamed_values[0].value", "`broken` is not a value of label `ok`"),
        ("labels[3].renamed_values[0].renamed_from", "`renamed_from: true` is still a value of label `ok`"),
        (
            "labels[3].renamed_values[0].renamed_from",
            "value `broken` of label `ok` has `renamed_from` but no `deprecated` day",
        ),
    ] {
        assert!(got.iter().any(|(p, m)| p == path && *m == message), "missing {path}: {message}; got {got:?}");
    }
    // Only a closed label's values can be renamed.
    common::expect_among(
        &common::mutate(
            "metrics.yaml",
            "    max_values: 8\n",
            "    max_values: 8\n    renamed_values: [{ value: a, renamed_from: b, deprecated: \"2027-01-01\" }]\n",
        ),
        "spec/metrics.yaml:6:5",
        "labels[0].renamed_values",
        "label `route` is not `closed`: only a closed label's values can be renamed",
    );
    // Past its day, a warning; the output does not change.
    let loaded = obspec_codegen::check(&value_renamed(&[])).expect("valid");
    let w = obspec_codegen::rename::warnings_on(&loaded, "2027-04-01");
    assert!(
        w.iter().any(|d| d.message
            == "the deprecation of value `false` of label `ok` (renamed to `failed`) ended on 2027-03-31"
            && d.path == "labels[3].renamed_values[0].deprecated"),
        "{w:?}"
    );
}
