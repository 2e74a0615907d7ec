//! A declared rename on a real Prometheus engine (`promtool test rules`): with
//! `renamed_from`, every generated alert expression and dashboard query that
//! reads the renamed histogram returns data when the scrape holds the old
//! name only, the new name only, and both (one target each); and the alias
//! rules count no target twice: `sum(rate(...))` under either name is the
//! traffic of every target, once.
//!
//! Skipped with a message when `promtool` is not installed (`scripts/setup.sh`
//! installs it; CI has it).

mod common;

use std::path::Path;
use std::process::Command;

use obspec_codegen::render::grafana;
use serde_json::{Value, json};

const OLD: &str = "api_http_request_duration_seconds";
const NEW: &str = "api_http_latency_seconds";

/// The small fixture with its latency histogram renamed, the rename declared,
/// and one spec alert reading the histogram directly.
fn renamed_spec() -> obspec_codegen::Loaded {
    let inputs = common::mutate_all(&[
        ("metrics.yaml", &format!("name: {OLD}"), &format!("name: {NEW}")),
        (
            "metrics.yaml",
            "help: \"Request latency.\"",
            &format!("help: \"Request latency.\"\n    renamed_from: {OLD}\n    deprecated: \"2027-01-31\""),
        ),
        ("slos.yaml", &format!("histogram: '{OLD}{{"), &format!("histogram: '{NEW}{{")),
        ("dashboards.yaml", &format!("rate({OLD}_bucket"), &format!("rate({NEW}_bucket")),
        (
            "slos.yaml",
            "alerts:\n",
            &format!(
                "alerts:\n  - name: ApiSlow\n    component: api\n    severity: ticket\n    for: 5m\n    summary: \"p99 over 0.5s.\"\n    description: \"Slow.\"\n    rule:\n      quantile_above: {{ histogram: {NEW}, quantile: 0.99, threshold: 0.5, windows: [5m, 30m] }}\n"
            ),
        ),
    ]);
    obspec_codegen::check(&inputs)
        .unwrap_or_else(|d| panic!("the renamed spec must be valid:\n{}", common::summary(&d)))
}

/// Three hours of one target's histogram at one request per second, every
/// request slower than the largest edge (so every latency alert fires).
fn target(name: &str, instance: &str) -> Vec<Value> {
    let labels = |extra: &str| format!("{{route=\"/v1/items\",job=\"api\",instance=\"{instance}\"{extra}}}");
    let mut out = Vec::new();
    for le in ["0.05", "0.1", "0.3", "1"] {
        out.push(json!({ "series": format!("{name}_bucket{}", labels(&format!(",le=\"{le}\""))), "values": "0x180" }));
    }
    out.push(json!({ "series": format!("{name}_bucket{}", labels(",le=\"+Inf\"")), "values": "0+60x180" }));
    out.push(json!({ "series": format!("{name}_count{}", labels("")), "values": "0+60x180" }));
    out.push(json!({ "series": format!("{name}_sum{}", labels("")), "values": "0+120x180" }));
    out
}

/// Whether `promtool` is installed; says the test is skipped when not.
fn have_promtool() -> bool {
    let found = Command::new("promtool").arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: promtool is not installed (run `bash scripts/setup.sh`)");
    }
    found
}

/// Runs `promtool test rules <file>` in `dir`; panics with its output when a case fails.
fn promtool_test(dir: &Path, file: &str) {
    let out = Command::new("promtool").args(["test", "rules", file]).current_dir(dir).output().expect("run promtool");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool test rules {file} failed in {}:\n{text}", dir.display());
}

fn has_data(expr: &str) -> Value {
    json!({ "expr": format!("count({expr}) > bool 0"), "eval_time": "170m", "exp_samples": [{ "labels": "{}", "value": 1 }] })
}

fn value(expr: &str, v: f64) -> Value {
    json!({ "expr": expr, "eval_time": "170m", "exp_samples": [{ "labels": "{}", "value": v }] })
}

#[test]
fn with_renamed_from_every_alert_and_dashboard_query_has_data_on_old_new_and_both() {
    if !have_promtool() {
        return;
    }
    let loaded = renamed_spec();
    let spec = &loaded.spec;
    let lowered = obspec_codegen::lower::lower(spec);
    let files = obspec_codegen::render::all(&loaded);

    // What reads the renamed metric: alert expressions (through the latency
    // SLO's recording rules, or directly) and dashboard queries, plus a query
    // of a dashboard outside the repository that still names the old name.
    let mut exprs: Vec<String> = Vec::new();
    let mut absent: Vec<String> = Vec::new();
    for (_, rules) in lowered.alert_groups() {
        for a in rules {
            let reads = a.expr.contains("slo=\"api-latency\"") || a.expr.contains(NEW);
            if !reads {
                continue;
            }
            if a.expr.starts_with("absent(") {
                absent.push(a.expr.clone());
            } else {
                exprs.push(a.expr.clone());
            }
        }
    }
    for d in &spec.dashboards {
        for (_, e) in grafana::panel_exprs(&grafana::dashboard(spec, d, &loaded.sources.file_names())) {
            if e.contains(NEW) || e.contains("slo=\"api-latency\"") {
                exprs.push(e.replace("$route", ".*"));
            }
        }
    }
    assert!(exprs.iter().any(|e| e.contains("BurnRate") || e.contains("slo:sli_error")), "no SLO alert collected");
    assert!(exprs.iter().any(|e| e.contains(&format!("{NEW}_bucket"))), "no query naming the new name collected");
    exprs.push(format!("histogram_quantile(0.99, sum by (le) (rate({OLD}_bucket[5m])))"));
    let ticket = lowered.slos.iter().find(|s| s.name == "api-latency").expect("api-latency SLO");
    assert!(ticket.alerts.len() >= 4, "every burn tier is generated");

    let scenarios: [(&str, Vec<Value>, f64); 3] = [
        ("old name only", target(OLD, "a"), 1.0),
        ("new name only", target(NEW, "b"), 1.0),
        ("both names, one target each", [target(OLD, "a"), target(NEW, "b")].concat(), 2.0),
    ];
    let mut tests = Vec::new();
    for (what, series, rate) in scenarios {
        let mut cases: Vec<Value> = exprs.iter().map(|e| has_data(e)).collect();
        cases.extend(absent.iter().map(|e| json!({ "expr": e, "eval_time": "170m", "exp_samples": [] })));
        // No target is counted twice under either name.
        for name in [OLD, NEW] {
            cases.push(value(&format!("sum(rate({name}_count[5m]))"), rate));
            cases.push(value(&format!("sum(rate({name}_bucket{{le=\"+Inf\"}}[5m]))"), rate));
        }
        tests.push(json!({ "name": what, "interval": "1m", "input_series": series, "promql_expr_test": cases }));
    }

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rename-promtool");
    std::fs::create_dir_all(dir.join("rules")).expect("create the test directory");
    let recording = files
        .iter()
        .find(|f| f.path.ends_with(obspec_codegen::lower::RECORDING))
        .expect("the recording rules file is rendered");
    assert!(recording.contents.contains(obspec_codegen::rename::GROUP), "the alias group is rendered");
    std::fs::write(dir.join("rules/slo-recording.yml"), &recording.contents).expect("write the rules");
    let mut order = vec![obspec_codegen::rename::GROUP.to_owned()];
    order.extend(spec.slos.iter().map(|s| format!("slo-recording-{}", s.name)));
    let test = json!({
        "rule_files": ["rules/slo-recording.yml"],
        "evaluation_interval": "1m",
        "group_eval_order": order,
        "tests": tests,
    });
    // JSON is YAML: promtool reads it as is.
    std::fs::write(dir.join("alias.test.yml"), serde_json::to_string_pretty(&test).expect("serialise the test"))
        .expect("write the test");
    promtool_test(&dir, "alias.test.yml");
    eprintln!("promtool: {} queries x 3 scenarios passed", exprs.len() + absent.len() + 4);
}

#[test]
fn without_the_alias_rules_the_old_name_only_scrape_leaves_the_queries_empty() {
    // The control: the same queries on the old name only, with the alias
    // group removed from the rules file, return nothing (so the test above
    // can fail).
    if !have_promtool() {
        return;
    }
    let loaded = renamed_spec();
    let mut lowered = obspec_codegen::lower::lower(&loaded.spec);
    lowered.aliases = None;
    let rules = json!({ "groups": lowered.recording_groups() });
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rename-promtool-control");
    std::fs::create_dir_all(&dir).expect("create the test directory");
    std::fs::write(dir.join("rules.yml"), serde_json::to_string(&rules).expect("rules")).expect("write the rules");
    let test = json!({
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": target(OLD, "a"),
            "promql_expr_test": [
                { "expr": format!("sum(rate({NEW}_count[5m]))"), "eval_time": "170m", "exp_samples": [] },
                { "expr": "slo:sli_events:rate5m{slo=\"api-latency\"}", "eval_time": "170m", "exp_samples": [] },
            ],
        }],
    });
    std::fs::write(dir.join("control.test.yml"), serde_json::to_string(&test).expect("test")).expect("write the test");
    promtool_test(&dir, "control.test.yml");
}

/// The small fixture with value `false` of label `ok` renamed to `failed`.
fn value_renamed_spec() -> obspec_codegen::Loaded {
    let inputs = common::mutate_all(&common::edits::VALUE_RENAME);
    obspec_codegen::check(&inputs)
        .unwrap_or_else(|d| panic!("the value-renamed spec must be valid:\n{}", common::summary(&d)))
}

/// Three hours of one worker failing one job per second with `ok=<ok>`.
fn failing_worker(ok: &str, instance: &str) -> Value {
    json!({
        "series": format!("worker_jobs_total{{ok=\"{ok}\",err=\"BACKPRESSURE\",job=\"worker\",instance=\"{instance}\"}}"),
        "values": "0+60x180",
    })
}

#[test]
fn with_renamed_values_every_alert_and_dashboard_query_has_data_on_old_new_and_both() {
    if !have_promtool() {
        return;
    }
    let loaded = value_renamed_spec();
    let spec = &loaded.spec;
    let lowered = obspec_codegen::lower::lower(spec);
    let mut exprs: Vec<String> = Vec::new();
    for (_, rules) in lowered.alert_groups() {
        exprs.extend(rules.iter().filter(|a| a.expr.contains("ok=~")).map(|a| a.expr.clone()));
    }
    for d in &spec.dashboards {
        for (_, e) in grafana::panel_exprs(&grafana::dashboard(spec, d, &loaded.sources.file_names())) {
            if e.contains("ok=~") {
                exprs.push(e);
            }
        }
    }
    assert!(exprs.len() >= 2, "an alert and a dashboard query select the renamed value: {exprs:?}");
    let scenarios: [(&str, Vec<Value>, f64); 3] = [
        ("old value only", vec![failing_worker("false", "a")], 1.0),
        ("new value only", vec![failing_worker("failed", "b")], 1.0),
        ("both values, one worker each", vec![failing_worker("false", "a"), failing_worker("failed", "b")], 2.0),
    ];
    let mut tests = Vec::new();
    for (what, series, rate) in scenarios {
        let mut cases: Vec<Value> = exprs.iter().map(|e| has_data(e)).collect();
        // The widened matcher counts each worker once.
        cases.push(value("sum(rate(worker_jobs_total{ok=~\"failed|false\"}[5m]))", rate));
        tests.push(json!({ "name": what, "interval": "1m", "input_series": series, "promql_expr_test": cases }));
    }
    // The control: the matchers as written (new value only) miss the old value.
    let written = exprs.iter().map(|e| e.replace("ok=~\"failed|false\"", "ok=\"failed\""));
    tests.push(json!({
        "name": "control: unwidened queries on the old value only",
        "interval": "1m",
        "input_series": [failing_worker("false", "a")],
        "promql_expr_test": written.map(|e| json!({ "expr": e, "eval_time": "170m", "exp_samples": [] })).collect::<Vec<_>>(),
    }));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("value-rename-promtool");
    std::fs::create_dir_all(&dir).expect("create the test directory");
    let test = json!({ "evaluation_interval": "1m", "tests": tests });
    std::fs::write(dir.join("values.test.yml"), serde_json::to_string_pretty(&test).expect("serialise the test"))
        .expect("write the test");
    promtool_test(&dir, "values.test.yml");
}
