//! `obspec_codegen::diff` on a set of edits of the small fixture: each edit
//! gets the right class, reason and downstream artifacts, and the report
//! fails (unrecorded breaking changes) only when the spec does not record it.

mod common;

use common::edits::{LABEL_RENAME, VALUE_RENAME, VALUE_REPLACED};
use obspec_codegen::diff::{self, Change, Class, Report};
use obspec_codegen::{Input, Loaded};

/// A day inside the small fixture's deprecation (it ends 2027-06-30).
const TODAY: &str = "2026-12-01";

fn load(inputs: &[Input]) -> Loaded {
    match obspec_codegen::check(inputs) {
        Ok(l) => l,
        Err(d) => panic!("the edited spec must be valid:\n{}", common::summary(&d)),
    }
}

fn diff_of(edits: &[(&str, &str, &str)]) -> Report {
    diff_on(edits, TODAY)
}

fn diff_on(edits: &[(&str, &str, &str)], today: &str) -> Report {
    diff::diff("small", &load(&common::small()), &load(&common::mutate_all(edits)), today)
}

fn change<'a>(r: &'a Report, path: &str) -> &'a Change {
    r.changes
        .iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("no change at {path}; got:\n{}", r.to_markdown()))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn an_unchanged_spec_has_no_change() {
    let r = diff_of(&[]);
    assert!(r.changes.is_empty(), "{}", r.to_markdown());
    assert_eq!(r.unrecorded_breaking, 0);
}

#[test]
fn label_value_removed_is_breaking_for_the_queries_matching_it() {
    let r = diff_of(&[("metrics.yaml", r#"values: ["200", "429", "500", "503"]"#, r#"values: ["200", "429", "500"]"#)]);
    let c = change(&r, "labels[code].values[503]");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("value `503` of label `code` removed"), "{}", c.reason);
    // `code=~"5.."` of the api-errors SLO matches 503, and what reads that
    // SLO's recording rules follows; nothing else names the value.
    assert_eq!(
        c.downstream,
        strings(&[
            "recording rules slo-recording-api-errors",
            "alert ApiErrorsBurnRatePage",
            "alert ApiErrorsBurnRateTicket",
            "alert ApiErrorsSliAbsent",
            "dashboard 00-overview",
            "emitter generated/src/lib.rs label enum `code`",
            "emitter generated/src/lib.rs metric `api_http_requests_total`",
        ])
    );
    assert_eq!(r.changes.len(), 1, "{}", r.to_markdown());
    assert_eq!(r.unrecorded_breaking, 1);
}

#[test]
fn bucket_moved_is_breaking_for_quantiles_not_for_the_slo_at_another_edge() {
    let r = diff_of(&[("metrics.yaml", "buckets: [0.05, 0.1, 0.3, 1]", "buckets: [0.025, 0.1, 0.3, 1]")]);
    let c = change(&r, "metrics[api_http_request_duration_seconds].buckets[0.05]");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("bucket edge 0.05 removed (edges added: 0.025)"), "{}", c.reason);
    // The p99 panel groups by `le`; the latency SLO reads the 0.3 edge only.
    assert_eq!(
        c.downstream,
        strings(&[
            "dashboard 00-overview panel \"Latency p99\"",
            "emitter generated/src/lib.rs metric `api_http_request_duration_seconds`",
        ])
    );
    let added = change(&r, "metrics[api_http_request_duration_seconds].buckets[0.025]");
    assert_eq!(added.class, Class::Compatible);
    assert_eq!(r.unrecorded_breaking, 1);
}

const RENAME: [(&str, &str, &str); 3] = [
    ("metrics.yaml", "name: api_http_request_duration_seconds", "name: api_http_latency_seconds"),
    ("slos.yaml", "histogram: 'api_http_request_duration_seconds{", "histogram: 'api_http_latency_seconds{"),
    ("dashboards.yaml", "rate(api_http_request_duration_seconds_bucket", "rate(api_http_latency_seconds_bucket"),
];

#[test]
fn metric_renamed_without_renamed_from_is_breaking_and_says_how_to_record_it() {
    let r = diff_of(&RENAME);
    let c = change(&r, "metrics[api_http_request_duration_seconds]");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("declare `renamed_from: api_http_request_duration_seconds`"), "{}", c.reason);
    assert_eq!(
        c.downstream,
        strings(&[
            "recording rules slo-recording-api-latency",
            "alert ApiLatencyBurnRatePage",
            "alert ApiLatencyBurnRateTicket",
            "alert ApiLatencySliAbsent",
            "dashboard 00-overview",
            "dashboard 00-overview panel \"Latency p99\"",
            "emitter generated/src/lib.rs metric `api_http_request_duration_seconds`",
        ])
    );
    assert_eq!(change(&r, "metrics[api_http_latency_seconds]").class, Class::Compatible);
    // Without the declared rename the latency SLO reads a metric with no history.
    assert_eq!(change(&r, "slos[api-latency].sli").class, Class::Breaking);
    assert_eq!(r.unrecorded_breaking, 2);
}

#[test]
fn metric_renamed_with_renamed_from_is_compatible_while_the_alias_exists() {
    let mut edits = RENAME.to_vec();
    edits.push((
        "metrics.yaml",
        "help: \"Request latency.\"",
        "help: \"Request latency.\"\n    renamed_from: api_http_request_duration_seconds\n    deprecated: \"2027-01-31\"",
    ));
    let r = diff_of(&edits);
    let c = change(&r, "metrics[api_http_latency_seconds]");
    assert_eq!(c.class, Class::Compatible);
    assert!(c.reason.contains("renamed from `api_http_request_duration_seconds`"), "{}", c.reason);
    assert!(c.reason.contains("until 2027-01-31"), "{}", c.reason);
    assert_eq!(
        c.downstream,
        strings(&[
            "recording rules slo-recording-api-latency",
            "alert ApiLatencyBurnRatePage",
            "alert ApiLatencyBurnRateTicket",
            "alert ApiLatencySliAbsent",
            "dashboard 00-overview",
            "dashboard 00-overview panel \"Latency p99\"",
            "emitter generated/src/lib.rs metric `api_http_request_duration_seconds`",
            "alias rule api_http_latency_seconds_bucket",
            "alias rule api_http_latency_seconds_count",
            "alias rule api_http_latency_seconds_sum",
        ])
    );
    assert!(!r.changes.iter().any(|c| c.class == Class::Breaking), "{}", r.to_markdown());
    assert_eq!(r.unrecorded_breaking, 0);
}

const DROP_ALIAS: (&str, &str, &str) =
    ("metrics.yaml", "    renamed_from: worker_queue_length\n    deprecated: \"2027-06-30\"\n", "");

#[test]
fn dropping_an_alias_is_breaking_before_its_day_and_compatible_after() {
    let early = diff_on(&[DROP_ALIAS], TODAY);
    let c = change(&early, "metrics[worker_queue_depth].renamed_from");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("before its deprecation ends (2027-06-30)"), "{}", c.reason);
    assert_eq!(c.downstream, strings(&["alias rule worker_queue_length",]));
    let late = diff_on(&[DROP_ALIAS], "2027-07-01");
    assert_eq!(change(&late, "metrics[worker_queue_depth].renamed_from").class, Class::Compatible);
    assert_eq!(late.unrecorded_breaking, 0);
}

#[test]
fn error_token_status_changed_is_breaking_for_clients_emitters_and_queries_naming_it() {
    let r =
        diff_of(&[("errors.yaml", "token: BACKPRESSURE, http_status: 503", "token: BACKPRESSURE, http_status: 429")]);
    let c = change(&r, "error_tokens[BACKPRESSURE].http_status");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("HTTP status 503 -> 429"), "{}", c.reason);
    assert_eq!(
        c.downstream,
        strings(&[
            "alert WorkerBackpressureHigh",
            "emitter generated/src/lib.rs ErrorToken",
            "emitter apps/worker/obs/otlp_client.ts",
            "clients of the error responses",
        ])
    );
}

const TRAIL_FIELD: (&str, &str, &str) =
    ("trails.yaml", "        - { name: ok, type: bool, help: \"Whether it succeeded.\" }\n", "");

#[test]
fn trail_field_removed_is_breaking_unless_the_schema_version_is_raised() {
    let r = diff_of(&[TRAIL_FIELD]);
    let c = change(&r, "trails.kinds[api.item_write].data[ok]");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("data field `ok` removed"), "{}", c.reason);
    assert!(c.reason.contains("needs `trails.schema_version` raised"), "{}", c.reason);
    assert_eq!(c.recorded, None);
    assert_eq!(
        c.downstream,
        strings(&[
            "emitter TrailData derive for `api.item_write`",
            "generated/src/lib.rs trail kinds",
            "trail verifier (auditor bundles)",
            "live-check",
        ])
    );
    assert_eq!(r.unrecorded_breaking, 1);

    let bumped = diff_of(&[
        TRAIL_FIELD,
        ("trails.yaml", "  stream: \"tenant × day\"\n", "  stream: \"tenant × day\"\n  schema_version: 2\n"),
    ]);
    let c = change(&bumped, "trails.kinds[api.item_write].data[ok]");
    assert_eq!(c.class, Class::Breaking);
    assert_eq!(c.recorded.as_deref(), Some("trails.schema_version 1 -> 2"));
    assert_eq!(change(&bumped, "trails.schema_version").class, Class::Compatible);
    assert_eq!(bumped.unrecorded_breaking, 0);
}

#[test]
fn slo_objective_tightened_is_breaking_for_its_rules_alerts_and_dashboards() {
    let r = diff_of(&[("slos.yaml", "objective: 0.995", "objective: 0.999")]);
    let c = change(&r, "slos[api-errors].objective");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("objective tightened 0.995 -> 0.999"), "{}", c.reason);
    assert!(c.reason.contains("from 0.005 to 0.001"), "{}", c.reason);
    assert_eq!(
        c.downstream,
        strings(&[
            "recording rules slo-recording-api-errors",
            "alert ApiErrorsBurnRatePage",
            "alert ApiErrorsBurnRateTicket",
            "alert ApiErrorsSliAbsent",
            "dashboard 00-overview",
            "promtool tests",
        ])
    );
    let loosened = diff_of(&[("slos.yaml", "objective: 0.995", "objective: 0.99")]);
    assert_eq!(change(&loosened, "slos[api-errors].objective").class, Class::Compatible);
}

#[test]
fn log_field_added_is_compatible_and_removed_or_retyped_is_breaking() {
    let add =
        ("logs.yaml", "  forbidden:", "    - { name: items, type: count, help: \"Items handled.\" }\n  forbidden:");
    let r = diff_of(&[add]);
    let c = change(&r, "logs.fields[items]");
    assert_eq!(c.class, Class::Compatible);
    assert!(c.reason.contains("log field `items` added"), "{}", c.reason);
    assert_eq!(
        c.downstream,
        strings(&["emitter LogEvent derive (generated log schema)", "privacy scan", "live-check"])
    );
    assert_eq!(r.unrecorded_breaking, 0);

    let retyped = diff_of(&[("logs.yaml", "{ name: ok, type: bool,", "{ name: ok, type: count,")]);
    assert_eq!(change(&retyped, "logs.fields[ok].type").class, Class::Breaking);
    let removed = diff_of(&[("logs.yaml", "    - { name: ok, type: bool, help: \"Success.\" }\n", "")]);
    assert_eq!(change(&removed, "logs.fields[ok]").class, Class::Breaking);
}

#[test]
fn wording_is_cosmetic() {
    let r = diff_of(&[("metrics.yaml", "help: \"Jobs run.\"", "help: \"Jobs executed.\"")]);
    let c = change(&r, "metrics[worker_jobs_total].help");
    assert_eq!(c.class, Class::Cosmetic);
    assert_eq!(r.unrecorded_breaking, 0);
}

#[test]
fn the_json_report_validates_against_the_generated_schema_shape() {
    let r = diff_of(&[TRAIL_FIELD]);
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("the JSON report parses");
    let schema = diff::schema();
    // Every required key of the schema is present, and every class is one of the schema's values.
    for key in schema["required"].as_array().expect("required keys") {
        assert!(v.get(key.as_str().unwrap_or_default()).is_some(), "missing {key}");
    }
    let classes = serde_json::to_string(&schema["$defs"]["Class"]).expect("schema of Class");
    for c in v["changes"].as_array().expect("changes") {
        let class = c["class"].as_str().expect("class is a string");
        assert!(classes.contains(&format!("\"{class}\"")), "{class} not in {classes}");
    }
}

#[test]
fn route_removed_is_breaking_for_the_queries_naming_it() {
    let r = diff_of(&[("components.yaml", r#"routes: ["/v1/items", "/v1/items/:id"]"#, r#"routes: ["/v1/items"]"#)]);
    let c = change(&r, "components[api].routes[/v1/items/:id]");
    assert_eq!(c.class, Class::Breaking);
    // The latency SLO's `route!~"/_.*"` is a negative matcher: it names no route.
    assert_eq!(c.downstream, strings(&["generated/src/lib.rs routes"]));
}

#[test]
fn label_renamed_is_compatible_with_renamed_from_and_breaking_without() {
    let r = diff_of(&LABEL_RENAME);
    let c = change(&r, "labels[method]");
    assert_eq!(c.class, Class::Compatible);
    assert!(c.reason.contains("renamed to `http_method`") && c.reason.contains("until 2027-01-31"), "{}", c.reason);
    assert_eq!(
        c.downstream,
        strings(&[
            "emitter generated/src/lib.rs label enum `http_method`",
            "emitter generated/src/lib.rs metric `api_http_requests_total`",
        ])
    );
    assert_eq!(r.changes.len(), 1, "{}", r.to_markdown());
    assert_eq!(r.unrecorded_breaking, 0);
    // The same edit without `renamed_from`: the label and the metric's label are gone.
    let plain = diff_of(&[("metrics.yaml", "  - name: method\n", "  - name: http_method\n"), LABEL_RENAME[1]]);
    assert_eq!(change(&plain, "labels[method]").class, Class::Breaking);
    assert_eq!(change(&plain, "metrics[api_http_requests_total].labels[method]").class, Class::Breaking);
    assert!(plain.unrecorded_breaking >= 2, "{}", plain.to_markdown());
}

/// The repository spec with single-occurrence replacements (for the sections
/// the small fixture does not have: environments, ladders).
fn real_with(edits: &[(&str, &str, &str)]) -> Loaded {
    let mut inputs = common::real();
    for (file, from, to) in edits {
        let name = format!("spec/{file}");
        let input = inputs.iter_mut().find(|i| i.name == name).unwrap_or_else(|| panic!("no spec file {name}"));
        assert_eq!(input.text.matches(from).count(), 1, "`{from}` must occur once in {name}");
        input.text = input.text.replacen(from, to, 1);
    }
    load(&inputs)
}

fn real_diff(edits: &[(&str, &str, &str)]) -> Report {
    diff::diff("main", &real_with(&[]), &real_with(edits), TODAY)
}

#[test]
fn project_environment_and_ladder_changes_are_classified() {
    // (A project rename also renames its self-metrics, so it is not valid alone.)
    let r = diff_of(&[("project.yaml", "id_max_len: 64", "id_max_len: 32")]);
    let c = change(&r, "project.id_max_len");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("longer IDs"), "{}", c.reason);
    // Retention may not go under the SLO periods (30d): shorten it from 60 to 40 days.
    let days = |d: &str| load(&common::mutate("project.yaml", "metrics_retention_days: 30", d));
    let r = diff::diff("small", &days("metrics_retention_days: 60"), &days("metrics_retention_days: 40"), TODAY);
    assert_eq!(change(&r, "project.metrics_retention_days").class, Class::Breaking);
    let r = diff_of(&[("project.yaml", "metrics_retention_days: 30", "metrics_retention_days: 60")]);
    assert_eq!(change(&r, "project.metrics_retention_days").class, Class::Compatible);

    let r = real_diff(&[("environments.yaml", "scrape_interval: 1s", "scrape_interval: 2s")]);
    let c = change(&r, "environments[local].scrape_interval");
    assert_eq!(c.class, Class::Compatible);
    assert_eq!(c.downstream, strings(&["infra/observability/local/"]));
    assert_eq!(r.unrecorded_breaking, 0, "{}", r.to_markdown());

    let r = real_diff(&[
        ("components.yaml", "      - { name: reduced, limit: 40, from_load: 0.5 }\n", ""),
        ("metrics.yaml", "values: [reduced, minimal]", "values: [minimal]"),
    ]);
    let c = change(&r, "ladders[list_refs].steps[reduced]");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("no longer emitted"), "{}", c.reason);
    let r = real_diff(&[("components.yaml", "from_load: 0.9 }", "from_load: 0.8 }")]);
    assert_eq!(change(&r, "ladders[list_refs].steps").class, Class::Compatible);
    assert_eq!(r.changes.len(), 1, "{}", r.to_markdown());
}

#[test]
fn label_value_renamed_is_compatible_with_renamed_values_and_breaking_without() {
    let r = diff_of(&VALUE_RENAME);
    let c = change(&r, "labels[ok].values[false]");
    assert_eq!(c.class, Class::Compatible);
    assert!(
        c.reason.contains("renamed to `failed` with `renamed_values`") && c.reason.contains("until 2027-03-31"),
        "{}",
        c.reason
    );
    assert!(c.downstream.iter().any(|d| d.starts_with("alert ")), "what matched `false` is listed: {:?}", c.downstream);
    assert!(r.changes.iter().all(|c| c.path != "labels[ok].values[failed]"), "the rename is reported once");
    assert_eq!(r.unrecorded_breaking, 0, "{}", r.to_markdown());
    // Without `renamed_values`: the old value is removed (breaking), the new one added.
    let plain = diff_of(&VALUE_REPLACED);
    assert_eq!(change(&plain, "labels[ok].values[false]").class, Class::Breaking);
    assert_eq!(change(&plain, "labels[ok].values[failed]").class, Class::Compatible);
    assert!(plain.unrecorded_breaking >= 1);
    // Dropping the entry: breaking before its day, compatible after.
    let with = load(&common::mutate_all(&VALUE_RENAME));
    let dropped = load(&common::mutate_all(&VALUE_REPLACED));
    let early = diff::diff("small", &with, &dropped, TODAY);
    let c = change(&early, "labels[ok].renamed_values[false]");
    assert_eq!(c.class, Class::Breaking);
    assert!(c.reason.contains("before its deprecation ends (2027-03-31)"), "{}", c.reason);
    let late = diff::diff("small", &with, &dropped, "2027-04-01");
    assert_eq!(change(&late, "labels[ok].renamed_values[false]").class, Class::Compatible);
    assert_eq!(late.unrecorded_breaking, 0, "{}", late.to_markdown());
}
