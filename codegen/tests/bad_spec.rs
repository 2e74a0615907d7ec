//! One bad spec per validation rule: each test takes the small fixture spec
//! (`tests/fixtures/small/spec/`), makes one mistake in memory (a replaced
//! line or an extra tiny file), and asserts the exact diagnostic: its
//! `file:line:col`, its YAML path and its message. Most also assert that the
//! mistake yields exactly one diagnostic; where one mistake rightly causes
//! several (a renamed metric that queries still name), the test says so.
//!
//! The last tests make a dozen mistakes at once and check that one run
//! reports all of them, located, distinct and sorted.

mod common;

use common::{diags, expect_among, expect_only, mutate, mutate_all, summary, with_file};

// ---------------------------------------------------------------- loading

#[test]
fn unknown_key() {
    let inputs = mutate("metrics.yaml", "    help: \"Jobs waiting.\"", "    help: \"Jobs waiting.\"\n    colour: blue");
    let d = expect_only(&inputs, "spec/metrics.yaml:49:5", "metrics[3].colour", "unknown key `colour`");
    assert_eq!(d.line_text, "    colour: blue");
    assert_eq!(d.pos.len, "colour".len());
}

#[test]
fn several_unknown_keys_are_all_reported() {
    let inputs = mutate_all(&[
        ("metrics.yaml", "    help: \"Jobs waiting.\"", "    help: \"Jobs waiting.\"\n    colour: blue"),
        ("logs.yaml", "    max_override: 0.1", "    max_override: 0.1\n    rate: 1"),
        ("flags.yaml", "default: info, help:", "default: info, colour: red, help:"),
        ("project.yaml", "resolutions:", "owner: me\nresolutions:"),
        ("trails.yaml", "hash: blake3,", "hash: blake3, hashes: 2,"),
    ]);
    let d = diags(&inputs);
    let got: Vec<(String, &str, &str)> =
        d.iter().map(|x| (x.location(), x.path.as_str(), x.message.as_str())).collect();
    assert_eq!(
        got,
        vec![
            ("spec/flags.yaml:4:81".to_owned(), "flags[2].colour", "unknown key `colour`"),
            ("spec/logs.yaml:16:5".to_owned(), "logs.sampling.rate", "unknown key `rate`"),
            ("spec/metrics.yaml:49:5".to_owned(), "metrics[3].colour", "unknown key `colour`"),
            ("spec/project.yaml:12:1".to_owned(), "owner", "unknown key `owner`"),
            ("spec/trails.yaml:5:48".to_owned(), "trails.signing.hashes", "unknown key `hashes`"),
        ],
        "{}",
        summary(&d)
    );
}

#[test]
fn yaml_syntax_error() {
    let inputs = with_file("spec/extra.yaml", "metrics:\n  - name: [oops\nlabels: []\n");
    let d = expect_only(
        &inputs,
        "spec/extra.yaml:3:7",
        "metrics[0].name[0]",
        "YAML syntax error: illegal placement of ':' indicator",
    );
    assert!(d.help.contains("the rest of this file was not read"), "{d}");
}

#[test]
fn duplicate_yaml_key() {
    let inputs =
        mutate("metrics.yaml", "    help: \"Jobs waiting.\"", "    help: \"Jobs waiting.\"\n    help: \"Again.\"");
    expect_only(&inputs, "spec/metrics.yaml:49:5", "metrics[3].help", "duplicate key `help`");
}

#[test]
fn wrong_value_type() {
    let inputs = with_file("spec/extra.yaml", "flags:\n  - { name: extra.on, type: bool, default: true, help: 3 }\n");
    expect_only(
        &inputs,
        "spec/extra.yaml:2:56",
        "flags[0].help",
        "invalid value: invalid type: integer `3`, expected a string",
    );
}

#[test]
fn unknown_enum_variant() {
    // The whole file is unreadable then, so what names its metrics fails too.
    let inputs = mutate("metrics.yaml", "kind: gauge", "kind: gage");
    expect_among(
        &inputs,
        "spec/metrics.yaml:46:11",
        "metrics[3].kind",
        "invalid value: unknown variant `gage`, expected one of `counter`, `gauge`, `histogram`",
    );
}

#[test]
fn a_section_defined_twice() {
    // Files merge in name order, so the second definition is the later name.
    let inputs = with_file(
        "spec/zz-extra.yaml",
        "logs:\n  fields: []\n  forbidden: []\n  sampling: { success: 0, error: 0, spike: 0, spike_flag: x, max_override: 0 }\n  destinations: []\n  retention_days: 1\n",
    );
    expect_only(&inputs, "spec/zz-extra.yaml:1:1", "logs", "`logs` is defined in more than one file");
}

#[test]
fn a_missing_section() {
    let inputs: Vec<_> = common::small().into_iter().filter(|i| i.name != "spec/project.yaml").collect();
    // The document's position is where yaml-rust2 marks the start of its block
    // mapping: the first key's `:`, hence column 11 of `components:`.
    expect_among(&inputs, "spec/components.yaml:1:11", "(document)", "no file defines the `project` section");
}

#[test]
fn no_files_at_all() {
    // An empty spec directory: one diagnostic, and validation must not index the missing files.
    let d = diags(&[]);
    assert_eq!(d.len(), 1, "{}", summary(&d));
    assert_eq!(d[0].message, "the spec directory has no .yaml files");
}

// ---------------------------------------------------------------- duplicate names

#[test]
fn duplicate_metric() {
    let inputs = with_file(
        "spec/more.yaml",
        "metrics:\n  - { name: worker_queue_depth, component: worker, kind: gauge, unit: count, help: x }\n",
    );
    let d = expect_only(&inputs, "spec/more.yaml:2:13", "metrics[0].name", "duplicate metric `worker_queue_depth`");
    assert!(d.help.contains("already defined at spec/metrics.yaml:44:11"), "{d}");
}

#[test]
fn duplicate_label() {
    let inputs = with_file(
        "spec/more.yaml",
        "labels:\n  - { name: ok, help: x, kind: closed, values: [\"true\", \"false\"] }\n",
    );
    let d = expect_only(&inputs, "spec/more.yaml:2:13", "labels[0].name", "duplicate label `ok`");
    assert!(d.help.contains("already defined at spec/metrics.yaml:14:11"), "{d}");
}

#[test]
fn duplicate_error_token() {
    let inputs = mutate("errors.yaml", "token: INVALID_INPUT", "token: INTERNAL");
    expect_only(&inputs, "spec/errors.yaml:5:14", "error_tokens[3].token", "duplicate ErrorToken `INTERNAL`");
}

#[test]
fn duplicate_jsonrpc_code() {
    let inputs = mutate("errors.yaml", "-32030", "-32029");
    expect_only(
        &inputs,
        "spec/errors.yaml:4:60",
        "error_tokens[2].jsonrpc_code",
        "duplicate JSON-RPC error code `-32029`",
    );
}

#[test]
fn duplicate_slo() {
    let inputs = mutate("slos.yaml", "name: api-errors", "name: api-latency");
    expect_only(&inputs, "spec/slos.yaml:10:11", "slos[1].name", "duplicate SLO `api-latency`");
}

#[test]
fn duplicate_alert() {
    let inputs = mutate("slos.yaml", "name: WorkerQueueBacklog", "name: WorkerBackpressureHigh");
    expect_only(&inputs, "spec/slos.yaml:31:11", "alerts[1].name", "duplicate alert `WorkerBackpressureHigh`");
}

#[test]
fn duplicate_flag() {
    let inputs = mutate("flags.yaml", "name: log.level", "name: sampling.spike");
    expect_only(&inputs, "spec/flags.yaml:4:13", "flags[2].name", "duplicate flag `sampling.spike`");
}

#[test]
fn duplicate_log_field() {
    let inputs = mutate("logs.yaml", "{ name: ok, type: bool", "{ name: ts, type: bool");
    expect_only(&inputs, "spec/logs.yaml:6:15", "logs.fields[3].name", "duplicate log field `ts`");
}

#[test]
fn duplicate_trail_data_field() {
    let inputs = mutate("trails.yaml", "{ name: op, type: enum", "{ name: item_id, type: enum");
    expect_only(&inputs, "spec/trails.yaml:12:19", "trails.kinds[0].data[1].name", "duplicate data field `item_id`");
}

// ---------------------------------------------------------------- metric and label names

#[test]
fn invalid_metric_name() {
    let inputs = with_file(
        "spec/more.yaml",
        "metrics:\n  - { name: worker_2xx-rate, component: worker, kind: gauge, unit: count, help: x }\n",
    );
    expect_only(
        &inputs,
        "spec/more.yaml:2:13",
        "metrics[0].name",
        "`worker_2xx-rate` is not a valid Prometheus metric name",
    );
}

#[test]
fn metric_outside_its_component_domain() {
    let inputs = with_file(
        "spec/more.yaml",
        "metrics:\n  - { name: api_queue_depth, component: worker, kind: gauge, unit: count, help: x }\n",
    );
    expect_only(
        &inputs,
        "spec/more.yaml:2:13",
        "metrics[0].name",
        "metric `api_queue_depth` does not start with a domain prefix of `worker`",
    );
}

#[test]
fn invalid_label_name() {
    let inputs = with_file("spec/more.yaml", "labels:\n  - { name: 1st, help: x, kind: open, max_values: 3 }\n");
    expect_only(&inputs, "spec/more.yaml:2:13", "labels[0].name", "`1st` is not a valid Prometheus label name");
    let inputs = with_file("spec/more.yaml", "labels:\n  - { name: __meta, help: x, kind: open, max_values: 3 }\n");
    expect_only(&inputs, "spec/more.yaml:2:13", "labels[0].name", "`__meta` is not a valid Prometheus label name");
}

#[test]
fn reserved_label_name() {
    for name in ["le", "job", "instance", "quantile"] {
        let text = format!("labels:\n  - {{ name: {name}, help: x, kind: open, max_values: 3 }}\n");
        let inputs = with_file("spec/more.yaml", &text);
        expect_only(&inputs, "spec/more.yaml:2:13", "labels[0].name", &format!("`{name}` is reserved by Prometheus"));
    }
}

#[test]
fn closed_label_without_values_and_open_label_without_bound() {
    let inputs = with_file("spec/more.yaml", "labels:\n  - { name: shade, help: x, kind: closed }\n");
    expect_only(&inputs, "spec/more.yaml:2:29", "labels[0].kind", "closed label `shade` lists no values");
    let inputs = mutate("metrics.yaml", "    max_values: 8\n", "");
    expect_only(&inputs, "spec/metrics.yaml:4:5", "labels[0].kind", "open label `route` has no cardinality bound");
}

#[test]
fn counter_without_total() {
    // The README's example: the rename is reported, then every query that still names the old metric.
    let inputs = mutate("metrics.yaml", "name: worker_jobs_total", "name: worker_jobs");
    let d = expect_among(
        &inputs,
        "spec/metrics.yaml:38:11",
        "metrics[2].name",
        "counter `worker_jobs` does not end in `_total`",
    );
    let named = d.iter().find(|x| x.message == "counter `worker_jobs` does not end in `_total`").expect("found");
    assert!(named.help.starts_with("rename it to `worker_jobs_total`"), "{named}");
    let unknown: Vec<String> =
        d.iter().filter(|x| x.message == "unknown metric `worker_jobs_total`").map(|x| x.location()).collect();
    assert_eq!(
        unknown,
        ["spec/dashboards.yaml:27:44", "spec/slos.yaml:27:17", "spec/slos.yaml:28:16"],
        "{}",
        summary(&d)
    );
}

#[test]
fn gauge_ending_in_total() {
    let inputs = with_file(
        "spec/more.yaml",
        "metrics:\n  - { name: worker_slots_total, component: worker, kind: gauge, unit: count, help: x }\n",
    );
    expect_only(
        &inputs,
        "spec/more.yaml:2:13",
        "metrics[0].name",
        "`worker_slots_total` ends in `_total` but is a Gauge",
    );
}

fn extra_metric(name: &str, unit: &str) -> Vec<obspec_codegen::Input> {
    let text = format!("metrics:\n  - {{ name: {name}, component: worker, kind: gauge, unit: {unit}, help: x }}\n");
    with_file("spec/more.yaml", &text)
}

#[test]
fn unit_suffix_contradicts_unit() {
    expect_only(
        &extra_metric("worker_wait_ms", "seconds"),
        "spec/more.yaml:2:13",
        "metrics[0].name",
        "`worker_wait_ms` says `ms` but its unit is Seconds",
    );
    expect_only(
        &extra_metric("worker_wait_seconds", "bytes"),
        "spec/more.yaml:2:13",
        "metrics[0].name",
        "`worker_wait_seconds` says `seconds` but its unit is Bytes",
    );
}

#[test]
fn milliseconds_are_not_a_base_unit() {
    expect_only(
        &extra_metric("worker_wait_ms", "milliseconds"),
        "spec/more.yaml:2:13",
        "metrics[0].name",
        "`worker_wait_ms` is in milliseconds, not the base unit (seconds)",
    );
}

#[test]
fn unit_without_its_suffix() {
    expect_only(
        &extra_metric("worker_wait", "seconds"),
        "spec/more.yaml:2:13",
        "metrics[0].name",
        "`worker_wait` has unit Seconds but does not end in `_seconds`",
    );
}

#[test]
fn naming_exceptions_waive_the_rules() {
    let text = "metrics:\n  - { name: worker_wait_ms, component: worker, kind: gauge, unit: milliseconds, help: x, exceptions: [{ rule: unit_suffix, reason: legacy }] }\n";
    obspec_codegen::check(&with_file("spec/more.yaml", text)).expect("an exception waives the unit rule");
}

// ---------------------------------------------------------------- buckets and cardinality

#[test]
fn histogram_without_buckets() {
    let inputs = with_file(
        "spec/more.yaml",
        "metrics:\n  - { name: worker_job_duration_seconds, component: worker, kind: histogram, unit: seconds, help: x }\n",
    );
    expect_only(
        &inputs,
        "spec/more.yaml:2:61",
        "metrics[0].kind",
        "histogram `worker_job_duration_seconds` has no buckets",
    );
}

#[test]
fn non_increasing_buckets() {
    let inputs = mutate("metrics.yaml", "[0.05, 0.1, 0.3, 1]", "[0.05, 0.3, 0.1, 1]");
    expect_only(
        &inputs,
        "spec/metrics.yaml:36:14",
        "metrics[1].buckets",
        "buckets must be positive, finite and strictly increasing",
    );
    let inputs = mutate("metrics.yaml", "[0.05, 0.1, 0.3, 1]", "[0.05, 0.1, 0.3, 0.3, 1]");
    expect_only(
        &inputs,
        "spec/metrics.yaml:36:14",
        "metrics[1].buckets",
        "buckets must be positive, finite and strictly increasing",
    );
    let inputs = mutate("metrics.yaml", "[0.05, 0.1, 0.3, 1]", "[-1, 0.1, 0.3, 1]");
    expect_only(
        &inputs,
        "spec/metrics.yaml:36:14",
        "metrics[1].buckets",
        "buckets must be positive, finite and strictly increasing",
    );
}

#[test]
fn buckets_on_a_counter() {
    let inputs = mutate("metrics.yaml", "    labels: [ok, err]", "    labels: [ok, err]\n    buckets: [1, 2]");
    expect_only(
        &inputs,
        "spec/metrics.yaml:44:5",
        "metrics[2].buckets",
        "`worker_jobs_total` is not a histogram but has buckets",
    );
}

#[test]
fn metric_over_the_cardinality_budget() {
    // route (8 + other) × method (2) × code (4) = 72 series.
    let inputs = mutate("project.yaml", "cardinality_budget: 500", "cardinality_budget: 70");
    expect_only(
        &inputs,
        "spec/metrics.yaml:24:11",
        "metrics[0].name",
        "`api_http_requests_total` may have 72 series, over the budget of 70",
    );
}

#[test]
fn metric_labels_must_be_defined_and_listed_once() {
    let inputs = mutate("metrics.yaml", "labels: [ok, err]", "labels: [ok, err, ok]");
    expect_only(&inputs, "spec/metrics.yaml:43:23", "metrics[2].labels[2]", "label `ok` is listed twice");
    // Queries that filter on the label it lost are reported too.
    let inputs = mutate("metrics.yaml", "labels: [route]", "labels: [path]");
    expect_among(&inputs, "spec/metrics.yaml:35:14", "metrics[1].labels[0]", "unknown label `path`");
}

// ---------------------------------------------------------------- SLOs, alerts, dashboards: PromQL

#[test]
fn slo_latency_threshold_not_a_bucket_edge() {
    let inputs = mutate("slos.yaml", "threshold: 0.3 }", "threshold: 0.25 }");
    let d = expect_only(
        &inputs,
        "spec/slos.yaml:7:90",
        "slos[0].latency.threshold",
        "threshold 0.25 is not a bucket edge of `api_http_request_duration_seconds`",
    );
    assert_eq!(d.help, "use one of its buckets (0.05, 0.1, 0.3, 1) or add 0.25 to them");
}

#[test]
fn slo_names_an_unknown_metric() {
    let inputs = mutate("slos.yaml", "total: api_http_requests_total }", "total: api_http_request_total }");
    let d =
        expect_only(&inputs, "spec/slos.yaml:15:69", "slos[1].ratio.total", "unknown metric `api_http_request_total`");
    assert!(d.help.starts_with("did you mean `api_http_requests_total`"), "{d}");
}

#[test]
fn alert_names_an_unknown_metric() {
    let inputs = mutate("slos.yaml", "gauge: worker_queue_depth", "gauge: worker_queue_dept");
    expect_only(
        &inputs,
        "spec/slos.yaml:38:32",
        "alerts[1].rule.gauge_at_least.gauge",
        "unknown metric `worker_queue_dept`",
    );
}

#[test]
fn dashboard_names_an_unknown_metric() {
    let inputs = mutate("dashboards.yaml", "rate(worker_jobs_total{", "rate(worker_job_total{");
    expect_among(
        &inputs,
        "spec/dashboards.yaml:27:44",
        "dashboards[0].rows[0].panels[1].queries[0].expr",
        "unknown metric `worker_job_total`",
    );
}

#[test]
fn selector_with_an_unknown_label() {
    let inputs = mutate("slos.yaml", "code=~\"5..\"", "status=~\"5..\"");
    expect_only(
        &inputs,
        "spec/slos.yaml:15:22",
        "slos[1].ratio.errors",
        "metric `api_http_requests_total` has no label `status`",
    );
}

#[test]
fn grouping_by_an_unknown_label() {
    let inputs = mutate("dashboards.yaml", "sum by (err)", "sum by (tenant)");
    expect_only(
        &inputs,
        "spec/dashboards.yaml:27:44",
        "dashboards[0].rows[0].panels[1].queries[0].expr",
        "grouping by label `tenant`, which no series under this aggregation has",
    );
}

#[test]
fn closed_values_must_become_rust_variants() {
    // The fuzz test's panic: a value the renderer cannot turn into an enum variant.
    for (value, message) in [
        ("G T", "closed label `method`: value `G T` cannot become a Rust enum variant"),
        ("G#T", "closed label `method`: value `G#T` cannot become a Rust enum variant"),
        ("\"🦀\"", "closed label `method`: value `🦀` cannot become a Rust enum variant"),
        ("\"_\"", "closed label `method`: value `_` has no letter or digit to name a Rust enum variant"),
        ("self", "closed label `method`: value `self` would be the variant `Self`, a word Rust reserves"),
    ] {
        let inputs = mutate("metrics.yaml", "[GET, POST]", &format!("[{value}, POST]"));
        expect_only(&inputs, "spec/metrics.yaml:9:14", "labels[1].values[0]", message);
    }
    let inputs = mutate("metrics.yaml", "[GET, POST]", "[GET, get]");
    expect_only(
        &inputs,
        "spec/metrics.yaml:9:19",
        "labels[1].values[1]",
        "closed label `method`: values `get` and `GET` both become the Rust name `Get`",
    );
    let inputs = mutate("trails.yaml", "[create, update]", "[create, up date]");
    expect_only(
        &inputs,
        "spec/trails.yaml:12:52",
        "trails.kinds[0].data[1].values[1]",
        "trail data field `op`: value `up date` cannot become a Rust enum variant",
    );
}

#[test]
fn names_must_become_rust_identifiers() {
    let inputs = with_file("spec/more.yaml", "labels:\n  - { name: self, help: x, kind: open, max_values: 3 }\n");
    expect_only(
        &inputs,
        "spec/more.yaml:2:13",
        "labels[0].name",
        "label `self` names a parameter of the generated emitters: `self` is a word Rust reserves",
    );
    let inputs = mutate("components.yaml", "\"/v1/items/:id\"", "\"/v1/items+:id\"");
    expect_only(
        &inputs,
        "spec/components.yaml:8:27",
        "components[0].routes[1]",
        "route `/v1/items+:id`: segment `items+:id` cannot become part of a Rust enum variant",
    );
    let extra = "  - { token: TOO__LARGE, http_status: 413, jsonrpc_code: -32099, retryable: false, retry_after: none, help: \"x\" }\n";
    let inputs = mutate("errors.yaml", "  - { token: NOT_FOUND,", &format!("{extra}  - {{ token: NOT_FOUND,"));
    expect_only(
        &inputs,
        "spec/errors.yaml:10:14",
        "error_tokens[8].token",
        "ErrorTokens `TOO_LARGE` and `TOO__LARGE` both become the Rust name `TooLarge`",
    );
}

#[test]
fn label_value_outside_its_closed_set() {
    let inputs = mutate("slos.yaml", "ok=\"false\",err", "ok=\"no\",err");
    let d = expect_only(
        &inputs,
        "spec/slos.yaml:27:17",
        "alerts[0].rule.ratio_above.errors",
        "label `ok` of `worker_jobs_total` has no value `no`",
    );
    assert_eq!(d.help, "`ok` is a closed set: false, true");
}

#[test]
fn regex_matching_no_closed_value() {
    let inputs = mutate("slos.yaml", "code=~\"5..\"", "code=~\"6..\"");
    expect_only(
        &inputs,
        "spec/slos.yaml:15:22",
        "slos[1].ratio.errors",
        "the regex `6..` on label `code` of `api_http_requests_total` matches none of its values",
    );
}

#[test]
fn unknown_error_token_in_a_selector() {
    let inputs = mutate("slos.yaml", "err=\"BACKPRESSURE\"", "err=\"BACK_PRESSURE\"");
    let d = expect_only(
        &inputs,
        "spec/slos.yaml:27:17",
        "alerts[0].rule.ratio_above.errors",
        "label `err` of `worker_jobs_total` has no value `BACK_PRESSURE`",
    );
    assert_eq!(
        d.help,
        "`err` is a closed set: ACCESS_DENIED, BACKPRESSURE, INTERNAL, INVALID_INPUT, NONE, NOT_FOUND, RATE_LIMIT, TOO_LARGE, UNAUTHENTICATED, UNAVAILABLE"
    );
}

#[test]
fn promql_that_does_not_parse() {
    let inputs = mutate("dashboards.yaml", "[5m]))' }", "[5m])' }");
    let d = diags(&inputs);
    assert_eq!(d.len(), 1, "{}", summary(&d));
    assert_eq!(d[0].location(), "spec/dashboards.yaml:27:44");
    assert!(d[0].message.starts_with("PromQL does not parse: "), "{}", d[0]);
}

#[test]
fn dashboard_variable_on_a_closed_label() {
    let inputs = mutate("dashboards.yaml", "variables: [route]", "variables: [method]");
    expect_only(&inputs, "spec/dashboards.yaml:5:17", "dashboards[0].variables[0]", "`method` is a closed label");
    let inputs = mutate("dashboards.yaml", "variables: [route]", "variables: [tenant]");
    expect_only(&inputs, "spec/dashboards.yaml:5:17", "dashboards[0].variables[0]", "unknown label `tenant`");
}

#[test]
fn dashboard_threshold_naming_an_unknown_slo() {
    let inputs = mutate("dashboards.yaml", "slo: api-latency", "slo: api-latancy");
    expect_only(
        &inputs,
        "spec/dashboards.yaml:17:33",
        "dashboards[0].rows[0].panels[0].thresholds[0].slo",
        "unknown SLO `api-latancy`",
    );
}

// ---------------------------------------------------------------- server-blind planes

#[test]
fn forbidden_name_in_the_log_allow_list() {
    let inputs = mutate("logs.yaml", "{ name: latency_ms,", "{ name: body_len,");
    expect_only(
        &inputs,
        "spec/logs.yaml:8:15",
        "logs.fields[5].name",
        "log field `body_len` is a forbidden name (`body`)",
    );
    // In any case.
    let inputs = mutate("logs.yaml", "{ name: latency_ms,", "{ name: Payload,");
    expect_only(
        &inputs,
        "spec/logs.yaml:8:15",
        "logs.fields[5].name",
        "log field `Payload` is a forbidden name (`payload`)",
    );
}

#[test]
fn log_field_typed_as_free_text() {
    let inputs = mutate("logs.yaml", "{ name: ok, type: bool", "{ name: ok, type: text");
    expect_only(&inputs, "spec/logs.yaml:6:25", "logs.fields[3].type", "log field `ok` is typed as free text");
}

#[test]
fn forbidden_name_in_trail_data() {
    let inputs = mutate("trails.yaml", "{ name: item_id, type: id", "{ name: message_id, type: id");
    expect_only(
        &inputs,
        "spec/trails.yaml:11:19",
        "trails.kinds[0].data[0].name",
        "trail data field `message_id` is a forbidden name (`message`)",
    );
}

#[test]
fn trail_data_field_typed_as_free_text() {
    let inputs = mutate("trails.yaml", "{ name: ok, type: bool", "{ name: ok, type: text");
    let d = expect_only(
        &inputs,
        "spec/trails.yaml:13:29",
        "trails.kinds[0].data[2].type",
        "trail data field `ok` is typed as free text",
    );
    assert!(d.help.contains("never free text"), "{d}");
}

#[test]
fn trail_key_order_without_scope() {
    // The trail runtime requires `scope` (it keys each stream on `scope.tenant`).
    let inputs = mutate("trails.yaml", "[id, ts, kind, scope, actor,", "[id, ts, kind, actor,");
    let d = expect_only(&inputs, "spec/trails.yaml:2:14", "trails.key_order", "the key order lacks `scope`");
    assert!(d.help.contains("id, ts, kind, scope, actor, refs, data, meta, sig"), "{d}");
}

#[test]
fn trail_key_order_the_runtime_does_not_write() {
    let inputs =
        mutate("trails.yaml", "[id, ts, kind, scope, actor, refs, data,", "[id, kind, ts, scope, actor, refs, data,");
    expect_only(
        &inputs,
        "spec/trails.yaml:2:25",
        "trails.key_order[2]",
        "`ts` comes after `kind`, but the trail runtime writes it before",
    );
    let inputs = mutate("trails.yaml", "refs, data, meta, sig]", "refs, data, meta, sig, extra]");
    expect_only(
        &inputs,
        "spec/trails.yaml:2:66",
        "trails.key_order[9]",
        "the trail runtime writes no top-level key `extra`",
    );
}

#[test]
fn trail_key_order_may_leave_out_keys_no_record_carries() {
    let inputs = mutate("trails.yaml", "[id, ts, kind, scope, actor, refs, data,", "[id, ts, kind, scope, data,");
    obspec_codegen::compile(&inputs).expect("a key order without actor and refs is what the runtime writes");
}

#[test]
fn trail_stream_key_must_be_what_the_runtime_keys_on() {
    let inputs =
        mutate("trails.yaml", "  stream: \"tenant × day\"", "  stream: \"tenant × day\"\n  stream_key: account");
    expect_only(
        &inputs,
        "spec/trails.yaml:5:15",
        "trails.stream_key",
        "the trail runtime keys streams on `scope.tenant`, not `scope.account`",
    );
    let inputs =
        mutate("trails.yaml", "  stream: \"tenant × day\"", "  stream: \"tenant × day\"\n  stream_key: tenant");
    obspec_codegen::compile(&inputs).expect("`stream_key: tenant` is the runtime's");
}

#[test]
fn an_emptied_file_is_one_error_naming_it() {
    for text in ["", "# nothing left\n"] {
        let inputs = mutate(
            "metrics.yaml",
            &common::small().iter().find(|i| i.name == "spec/metrics.yaml").expect("metrics").text.clone(),
            text,
        );
        let d = diags(&inputs);
        assert_eq!(d.len(), 1, "{}", summary(&d));
        assert_eq!(d[0].location(), "spec/metrics.yaml:1:1");
        assert_eq!(d[0].message, "`spec/metrics.yaml` is empty");
    }
}

#[test]
fn unknown_trail_kind_in_a_component() {
    let inputs =
        mutate("components.yaml", "trails: [api.item_write, ops.reload]", "trails: [api.item_write, ops.restart]");
    expect_only(&inputs, "spec/components.yaml:12:30", "components[0].trails[1]", "unknown trail kind `ops.restart`");
}

#[test]
fn sampling_spike_flag_must_exist() {
    let inputs = mutate("logs.yaml", "spike_flag: sampling.spike", "spike_flag: sampling.spiky");
    expect_only(&inputs, "spec/logs.yaml:14:17", "logs.sampling.spike_flag", "unknown flag `sampling.spiky`");
}

// ---------------------------------------------------------------- components

#[test]
fn unknown_component() {
    let inputs =
        mutate("metrics.yaml", "    component: worker\n    kind: gauge", "    component: workers\n    kind: gauge");
    let d = expect_only(&inputs, "spec/metrics.yaml:45:16", "metrics[3].component", "unknown component `workers`");
    assert_eq!(d.help, "use one of: api, worker");
    let inputs =
        mutate("slos.yaml", "    component: worker\n    severity: page", "    component: ops\n    severity: page");
    expect_only(&inputs, "spec/slos.yaml:32:16", "alerts[1].component", "unknown component `ops`");
}

// ---------------------------------------------------------------- ErrorTokens

#[test]
fn backpressure_and_rate_limit_require_retry_after() {
    let inputs = mutate(
        "errors.yaml",
        "retry_after: required, help: \"At capacity.\"",
        "retry_after: optional, help: \"At capacity.\"",
    );
    expect_only(
        &inputs,
        "spec/errors.yaml:4:98",
        "error_tokens[2].retry_after",
        "`BACKPRESSURE` has `role: backpressure` but does not carry `retry_after_ms`",
    );
    let inputs = mutate(
        "errors.yaml",
        "retryable: true, retry_after: required, help: \"Slow down.\"",
        "retryable: true, retry_after: none, help: \"Slow down.\"",
    );
    expect_only(
        &inputs,
        "spec/errors.yaml:3:96",
        "error_tokens[1].retry_after",
        "`RATE_LIMIT` has `role: rate_limit` but does not carry `retry_after_ms`",
    );
}

#[test]
fn rate_limit_token_missing() {
    // The runtime answers by role: the token's name does not matter, its role does.
    let line = "  - { token: RATE_LIMIT, http_status: 429, jsonrpc_code: -32029, retryable: true, retry_after: required, help: \"Slow down.\", role: rate_limit }\n";
    let inputs = mutate("errors.yaml", line, "");
    expect_only(&inputs, "spec/errors.yaml:2:5", "error_tokens[0]", "no ErrorToken has `role: rate_limit`");
    let inputs = mutate("errors.yaml", "token: RATE_LIMIT,", "token: SLOW_DOWN,");
    assert!(obspec_codegen::compile(&inputs).is_ok(), "a renamed token keeps its role");
}

#[test]
fn retry_after_required_but_not_retryable() {
    let inputs = mutate(
        "errors.yaml",
        "retryable: true, retry_after: required, help: \"At capacity.\"",
        "retryable: false, retry_after: required, help: \"At capacity.\"",
    );
    expect_only(
        &inputs,
        "spec/errors.yaml:4:99",
        "error_tokens[2].retry_after",
        "`BACKPRESSURE` requires `retry_after_ms` but is not retryable",
    );
}

#[test]
fn exactly_one_fallback_token() {
    let inputs = mutate("errors.yaml", "retry_after: none, fallback: true, ", "retry_after: none, ");
    let d =
        expect_only(&inputs, "spec/errors.yaml:2:5", "error_tokens[0]", "0 ErrorTokens are marked `fallback: true`");
    assert!(d.help.contains("mark exactly one"), "{d}");
    let inputs = mutate(
        "errors.yaml",
        "retry_after: none, help: \"Bad request.\"",
        "retry_after: none, fallback: true, help: \"Bad request.\"",
    );
    expect_only(&inputs, "spec/errors.yaml:2:5", "error_tokens[0]", "2 ErrorTokens are marked `fallback: true`");
}

#[test]
fn error_token_naming_and_status() {
    let inputs =
        mutate("errors.yaml", "token: INVALID_INPUT, http_status: 400", "token: InvalidInput, http_status: 200");
    let d = diags(&inputs);
    let got: Vec<(String, &str)> = d.iter().map(|x| (x.location(), x.message.as_str())).collect();
    assert_eq!(
        got,
        [
            ("spec/errors.yaml:2:14".to_owned(), "ErrorToken `InvalidInput` is not SCREAMING_SNAKE_CASE"),
            ("spec/errors.yaml:2:41".to_owned(), "HTTP status 200 is not an error status"),
        ],
        "{}",
        summary(&d)
    );
}

// ---------------------------------------------------------------- notes, flags

#[test]
fn note_citing_a_missing_resolution() {
    let inputs = mutate("metrics.yaml", "    note: \"R02\"", "    note: \"R03\"");
    expect_only(
        &inputs,
        "spec/metrics.yaml:37:11",
        "metrics[1].note",
        "the note cites resolution `R03`, which does not exist",
    );
}

#[test]
fn flag_default_of_the_wrong_type() {
    let inputs = mutate("flags.yaml", "default: false", "default: \"no\"");
    expect_only(&inputs, "spec/flags.yaml:2:50", "flags[0].default", "a bool flag's default must be true or false");
    let inputs = mutate("flags.yaml", "default: 0.01, min", "default: 0.5, min");
    expect_only(
        &inputs,
        "spec/flags.yaml:3:58",
        "flags[1].default",
        "a ratio flag's default must be a number within min..=max",
    );
    let inputs = mutate("flags.yaml", "default: info", "default: verbose");
    let d = expect_only(
        &inputs,
        "spec/flags.yaml:4:75",
        "flags[2].default",
        "an enum flag's default must be one of its values",
    );
    assert_eq!(d.help, "use one of: error, info, debug");
}

#[test]
fn flag_name_not_dotted_snake_case() {
    let inputs = mutate("flags.yaml", "name: log.level", "name: Log-Level");
    expect_only(&inputs, "spec/flags.yaml:4:13", "flags[2].name", "flag name `Log-Level` is not dotted snake case");
}

#[test]
fn durations_must_be_prometheus_durations() {
    let inputs = mutate("slos.yaml", "for: 10m", "for: 10 minutes");
    expect_only(&inputs, "spec/slos.yaml:34:10", "alerts[1].for", "`10 minutes` is not a Prometheus duration");
}

#[test]
fn durations_too_long_to_count_in_seconds() {
    // 10^15 years do not fit in u64 seconds: a diagnostic, never an overflow panic.
    let inputs = mutate("slos.yaml", "for: 10m", "for: 999999999999999y");
    expect_only(&inputs, "spec/slos.yaml:34:10", "alerts[1].for", "`999999999999999y` is not a Prometheus duration");
}

// ---------------------------------------------------------------- many mistakes at once

/// Sixteen independent mistakes across eight files, each its own diagnostic.
fn a_dozen_mistakes() -> Vec<obspec_codegen::Input> {
    mutate_all(&[
        ("components.yaml", "ops.reload]", "ops.restart]"),
        ("dashboards.yaml", "variables: [route]", "variables: [method]"),
        (
            "errors.yaml",
            "retry_after: required, help: \"At capacity.\"",
            "retry_after: optional, help: \"At capacity.\"",
        ),
        ("errors.yaml", "token: INVALID_INPUT", "token: INTERNAL"),
        ("flags.yaml", "default: false", "default: \"no\""),
        ("logs.yaml", "{ name: latency_ms,", "{ name: body_len,"),
        ("logs.yaml", "    max_override: 0.1", "    max_override: 0.1\n    rate: 1"),
        ("metrics.yaml", "[0.05, 0.1, 0.3, 1]", "[0.05, 0.3, 0.1, 1]"),
        ("metrics.yaml", "    labels: [ok, err]", "    labels: [ok, err]\n    buckets: [1, 2]"),
        ("metrics.yaml", "    note: \"R02\"", "    note: \"R03\""),
        ("metrics.yaml", "    help: \"Jobs waiting.\"", "    help: \"Jobs waiting.\"\n    help: \"Again.\""),
        ("project.yaml", "cardinality_budget: 500", "cardinality_budget: 70"),
        ("slos.yaml", "threshold: 0.3 }", "threshold: 0.25 }"),
        ("slos.yaml", "ok=\"false\",err", "ok=\"no\",err"),
        ("trails.yaml", "{ name: item_id, type: id", "{ name: message_id, type: id"),
        ("trails.yaml", "{ name: ok, type: bool", "{ name: ok, type: text"),
    ])
}

#[test]
fn a_dozen_mistakes_give_a_dozen_located_diagnostics() {
    let inputs = a_dozen_mistakes();
    let result = std::panic::catch_unwind(|| obspec_codegen::compile(&inputs));
    let d = match result {
        Ok(Err(d)) => d,
        Ok(Ok(_)) => panic!("a spec with sixteen mistakes compiled"),
        Err(_) => panic!("compile panicked on a spec with mistakes"),
    };
    let mut expected = vec![
        ("spec/components.yaml:12:30", "unknown trail kind `ops.restart`"),
        ("spec/dashboards.yaml:5:17", "`method` is a closed label"),
        ("spec/errors.yaml:4:98", "`BACKPRESSURE` has `role: backpressure` but does not carry `retry_after_ms`"),
        ("spec/errors.yaml:5:14", "duplicate ErrorToken `INTERNAL`"),
        ("spec/flags.yaml:2:50", "a bool flag's default must be true or false"),
        ("spec/logs.yaml:8:15", "log field `body_len` is a forbidden name (`body`)"),
        ("spec/logs.yaml:16:5", "unknown key `rate`"),
        ("spec/metrics.yaml:24:11", "`api_http_requests_total` may have 72 series, over the budget of 70"),
        ("spec/metrics.yaml:36:14", "buckets must be positive, finite and strictly increasing"),
        ("spec/metrics.yaml:37:11", "the note cites resolution `R03`, which does not exist"),
        ("spec/metrics.yaml:44:5", "`worker_jobs_total` is not a histogram but has buckets"),
        ("spec/metrics.yaml:50:5", "duplicate key `help`"),
        ("spec/slos.yaml:7:90", "threshold 0.25 is not a bucket edge of `api_http_request_duration_seconds`"),
        ("spec/slos.yaml:27:17", "label `ok` of `worker_jobs_total` has no value `no`"),
        ("spec/trails.yaml:11:19", "trail data field `message_id` is a forbidden name (`message`)"),
        ("spec/trails.yaml:13:29", "trail data field `ok` is typed as free text"),
    ];
    let mut got: Vec<(String, &str)> = d.iter().map(|x| (x.location(), x.message.as_str())).collect();
    // Compared as sets first, so a failure shows every missing or extra diagnostic.
    got.sort();
    expected.sort();
    let expected: Vec<(String, &str)> = expected.into_iter().map(|(l, m)| (l.to_owned(), m)).collect();
    assert_eq!(got, expected, "\n{}", summary(&d));
    assert!(d.len() >= 12);
    for x in &d {
        assert!(x.pos.line > 0 && x.pos.col > 0, "unlocated: {x}");
        assert!(!x.path.is_empty() && !x.help.is_empty() && !x.line_text.is_empty(), "incomplete: {x}");
    }
}

#[test]
fn a_dozen_mistakes_are_distinct_and_sorted_by_file_and_line() {
    let d = diags(&a_dozen_mistakes());
    let keys: Vec<(&str, usize, usize)> = d.iter().map(|x| (x.file.as_str(), x.pos.line, x.pos.col)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    // `check` appends validation's (sorted) diagnostics to loading's; the whole list must be sorted.
    assert_eq!(keys, sorted, "diagnostics are not sorted by file, line and column:\n{}", summary(&d));
    let mut unique = d.clone();
    unique.dedup();
    assert_eq!(unique.len(), d.len(), "duplicate diagnostics:\n{}", summary(&d));
    // The rendered report ends with the count.
    let report = obspec_codegen::diag::render_all(&d);
    assert!(
        report.ends_with(&format!(
            "error: the spec has {} problems; fix them and run `cargo xtask gen` again\n",
            d.len()
        ))
    );
}

// ---------------------------------------------------------------- SLO periods, tiers and windows

#[test]
fn slo_period_longer_than_the_metrics_retention() {
    let inputs = mutate("slos.yaml", "objective: 0.995\n    period: 30d", "objective: 0.995\n    period: 45d");
    let d = expect_only(
        &inputs,
        "spec/slos.yaml:14:13",
        "slos[1].period",
        "SLO `api-errors` has a period of 45d but metrics are kept 30 days (`project.metrics_retention_days`)",
    );
    assert!(d.help.contains("raise the retention to at least 45 days"), "{d}");
}

#[test]
fn burn_rate_tier_that_can_never_fire() {
    // Budget 0.1: the 5m/1h page needs an error ratio of 14.4 × 0.1 = 1.44.
    let inputs = mutate("slos.yaml", "objective: 0.995", "objective: 0.9");
    let d = expect_only(
        &inputs,
        "spec/slos.yaml:13:16",
        "slos[1].objective",
        "burn-rate tier `page-fast` of SLO `api-errors` can never fire: factor 14.4 × error budget 0.1 = 1.44 > 1 over 5m/1h",
    );
    assert!(d.help.contains("`tiers: { page-fast: false }`"), "{d}");
    // Switching the tier off is the fix: the spec then compiles, without the tier's alert.
    let off = mutate("slos.yaml", "objective: 0.995", "objective: 0.9\n    tiers: { page-fast: false }");
    let files = obspec_codegen::compile(&off).unwrap_or_else(|d| panic!("{}", summary(&d)));
    let alerts = files.iter().find(|f| f.path.ends_with("rules/alerts.yml")).expect("alerts.yml");
    assert!(alerts.contents.contains("burn_tier: page-slow"));
    assert_eq!(alerts.contents.matches("burn_tier: page-fast").count(), 1, "only api-latency keeps page-fast");
}

#[test]
fn unknown_burn_rate_tier() {
    let inputs = mutate("slos.yaml", "objective: 0.995", "objective: 0.995\n    tiers: { ticket-slower: false }");
    expect_only(&inputs, "spec/slos.yaml:14:14", "slos[1].tiers.ticket-slower", "unknown key `ticket-slower`");
}

#[test]
fn burn_rate_window_longer_than_the_period_is_a_warning() {
    let inputs = mutate("slos.yaml", "objective: 0.995\n    period: 30d", "objective: 0.995\n    period: 2d");
    let loaded = obspec_codegen::check(&inputs).unwrap_or_else(|d| panic!("a warning must not fail:\n{}", summary(&d)));
    let w = obspec_codegen::warnings(&loaded);
    let got: Vec<(String, &str, &str)> =
        w.iter().map(|x| (x.location(), x.path.as_str(), x.message.as_str())).collect();
    assert_eq!(
        got,
        vec![(
            "spec/slos.yaml:14:13".to_owned(),
            "slos[1].period",
            "burn-rate tier `ticket-slow` of SLO `api-errors` looks back 3d, longer than its period of 2d"
        )],
        "{}",
        summary(&w)
    );
    assert!(w[0].help.contains("`tiers: { ticket-slow: false }`"));
    assert!(obspec_codegen::diag::render_warnings(&w).starts_with("warning: burn-rate tier `ticket-slow`"));
    // Switched off, the tier is not generated and not warned about.
    let off = mutate(
        "slos.yaml",
        "objective: 0.995\n    period: 30d",
        "objective: 0.995\n    period: 2d\n    tiers: { ticket-slow: false }",
    );
    let loaded = obspec_codegen::check(&off).unwrap_or_else(|d| panic!("{}", summary(&d)));
    assert!(obspec_codegen::warnings(&loaded).is_empty());
    // The real spec has no warning.
    let real = obspec_codegen::check(&common::real()).unwrap_or_else(|d| panic!("{}", summary(&d)));
    assert!(obspec_codegen::warnings(&real).is_empty(), "{}", summary(&obspec_codegen::warnings(&real)));
}

#[test]
fn a_body_limit_of_zero_or_over_a_gibibyte_is_refused() {
    let inputs =
        mutate("components.yaml", "    targets: [\"api:9100\"]", "    targets: [\"api:9100\"]\n    max_body_bytes: 0");
    let d = diags(&inputs);
    let d: Vec<_> = d.iter().filter(|d| d.message.contains("max_body_bytes")).collect();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].message, "max_body_bytes 0 is outside [1, 1073741824]");
    assert_eq!(d[0].location(), "spec/components.yaml:7:21");
}
