//! A real Prometheus server loads the generated config and rules, scrapes an
//! exporter of every spec metric on loopback, and evaluates every rule.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[path = "../codegen/tests/common/edits.rs"]
mod edits;

use obspec_tests::{Exporter, Prometheus, exposition, root, spec, urlencode};

#[test]
fn prometheus_loads_every_rule_group_and_records_slo_series() {
    let spec = spec();
    let started = Instant::now();
    let for_exporter = spec.clone();
    let exporter = Exporter::start(move || exposition(&for_exporter, started.elapsed().as_secs_f64() + 1.0));
    let prom = Prometheus::start(&spec, &exporter.addr);

    // Every target (all pointed at the exporter) is scraped successfully.
    prom.wait_for(Duration::from_secs(30), |p| {
        let targets = p.api("/api/v1/targets");
        let active = targets["activeTargets"].as_array().cloned().unwrap_or_default();
        let bad: Vec<String> = active
            .iter()
            .filter(|t| t["health"] != "up")
            .map(|t| format!("{} {}: {}", t["scrapePool"], t["health"], t["lastError"]))
            .collect();
        if active.len() == spec.components.len() && bad.is_empty() {
            Ok(())
        } else {
            Err(format!("targets not up: {bad:?}"))
        }
    });

    // Every group of both rule files is loaded.
    let mut expected: BTreeSet<String> = spec.slos.iter().map(|s| format!("slo-recording-{}", s.name)).collect();
    expected.extend(spec.slos.iter().map(|s| format!("slo-alerts-{}", s.name)));
    expected.insert(obspec_codegen::render::prometheus::SPEC_ALERTS_GROUP.to_owned());
    let groups = prom.api("/api/v1/rules");
    let loaded: BTreeSet<String> =
        groups["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(loaded, expected);

    // Once evaluated, every rule is healthy.
    prom.wait_until(Duration::from_secs(60), |p| {
        let data = p.api("/api/v1/rules");
        data["groups"].as_array().unwrap().iter().all(|g| {
            g["rules"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["health"] == "ok" && r["lastEvaluation"] != "0001-01-01T00:00:00Z")
        })
    });
    let data = prom.api("/api/v1/rules");
    for g in data["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            assert_eq!(r["health"], "ok", "rule {} in {}: {}", r["name"], g["name"], r["lastError"]);
        }
    }

    // Recording rules produce a series for every SLO and every window.
    let all: BTreeSet<String> = spec.slos.iter().map(|s| s.name.clone()).collect();
    let calendar: BTreeSet<String> = spec.slos.iter().filter(|s| s.is_calendar()).map(|s| s.name.clone()).collect();
    for name in obspec_codegen::rules::all_names() {
        if name.contains("period") {
            continue; // needs a history longer than the test
        }
        // The month's counts are recorded for calendar-month SLOs only.
        let slos = if obspec_codegen::rules::calendar_names().contains(&name) { &calendar } else { &all };
        let q = format!("/api/v1/query?query={}", urlencode(&format!("count by (slo) ({name})")));
        prom.wait_for(Duration::from_secs(30), |p| {
            let got: BTreeSet<String> = p.api(&q)["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["metric"]["slo"].as_str().unwrap_or_default().to_owned())
                .collect();
            if &got == slos { Ok(()) } else { Err(format!("`{name}` has series for {got:?}, expected {slos:?}")) }
        });
    }
    // The gateway SLI sees the exporter's traffic.
    let q = format!("/api/v1/query?query={}", urlencode("slo:sli_events:rate5m{slo=\"gateway-errors\"} > 0"));
    assert_eq!(prom.api(&q)["result"].as_array().unwrap().len(), 1);
}

/// A renamed label value (`labels[].renamed_values`) on a real scrape: the
/// binaries write the new value, Prometheus stores it under the old one
/// (the generated `metric_relabel_configs`), so a query outside the
/// repository naming the old value keeps its data, no series is added, and
/// the generated queries (which match both) read it.
#[test]
fn a_renamed_value_is_stored_under_its_old_name() {
    let loaded = edited_small(&edits::VALUE_RENAME);
    let files = obspec_codegen::render::all(&loaded);
    let text = |suffix: &str| files.iter().find(|f| f.path.ends_with(suffix)).expect(suffix).contents.clone();
    let rules: Vec<(String, String)> = ["slo-recording.yml", "alerts.yml"]
        .iter()
        .map(|n| ((*n).to_owned(), text(&format!("infra/observability/rules/{n}"))))
        .collect();
    // What a binary built after the rename writes.
    let exporter = Exporter::start(|| {
        "# TYPE worker_jobs_total counter\n\
         worker_jobs_total{ok=\"failed\",err=\"BACKPRESSURE\"} 5\n\
         worker_jobs_total{ok=\"true\",err=\"NONE\"} 3\n"
            .to_owned()
    });
    let prom =
        Prometheus::start_with(&loaded.spec, &text("infra/observability/prometheus.yml"), &rules, &exporter.addr);
    let query = |q: &str| prom.api(&format!("/api/v1/query?query={}", urlencode(q)))["result"].clone();
    prom.wait_for(Duration::from_secs(30), |_| {
        let r = query("worker_jobs_total{ok=\"false\"}");
        let n = r.as_array().map_or(0, Vec::len);
        if n == loaded.spec.components.len() {
            Ok(())
        } else {
            Err(format!("not every job's old-value series yet: {r}"))
        }
    });
    let every = query("worker_jobs_total{ok=\"false\"}");
    let jobs: BTreeSet<String> =
        every.as_array().unwrap().iter().map(|s| s["metric"]["job"].as_str().unwrap().to_owned()).collect();
    assert_eq!(jobs.len(), loaded.spec.components.len(), "every scrape job relabels: {every}");
    assert!(every.as_array().unwrap().iter().all(|s| s["value"][1] == "5"), "{every}");
    // Nothing is stored under the new value, and no series is added.
    assert_eq!(query("worker_jobs_total{ok=\"failed\"}"), serde_json::json!([]));
    assert_eq!(query("count(worker_jobs_total)")[0]["value"][1], (2 * jobs.len()).to_string());
    // The generated dashboard query (widened to both values) reads it.
    let dashboards: String = files.iter().filter(|f| f.path.ends_with(".json")).map(|f| f.contents.as_str()).collect();
    let widened = "sum by (err) (rate(worker_jobs_total{ok=~\\\"failed|false\\\"}[5m]))";
    assert!(dashboards.contains(widened), "the dashboard query is widened");
    assert_eq!(query("sum(worker_jobs_total{ok=~\"failed|false\"})")[0]["value"][1], (5 * jobs.len()).to_string());
}

/// A renamed label (`labels[].renamed_from`) on a real scrape: a binary built
/// before the rename writes only the old name, one built after writes both;
/// the generated `metric_relabel_configs` copy the old name to the new one,
/// so grouping by either name sees every series, once.
#[test]
fn a_renamed_label_reads_binaries_built_before_the_rename() {
    let loaded = edited_small(&edits::LABEL_RENAME);
    let files = obspec_codegen::render::all(&loaded);
    let config = files.iter().find(|f| f.path == "infra/observability/prometheus.yml").expect("prometheus.yml");
    let exporter = Exporter::start(|| {
        "# TYPE api_http_requests_total counter\n\
         api_http_requests_total{route=\"/old\",method=\"GET\",code=\"200\"} 4\n\
         api_http_requests_total{route=\"/new\",http_method=\"POST\",method=\"POST\",code=\"200\"} 6\n"
            .to_owned()
    });
    let prom = Prometheus::start_with(&loaded.spec, &config.contents, &[], &exporter.addr);
    let query = |q: &str| prom.api(&format!("/api/v1/query?query={}", urlencode(q)))["result"].clone();
    let jobs = loaded.spec.components.len();
    prom.wait_for(Duration::from_secs(30), |_| {
        let r = query("count(api_http_requests_total)");
        if r[0]["value"][1].as_str() == Some((2 * jobs).to_string().as_str()) {
            Ok(())
        } else {
            Err(format!("not every job scraped: {r}"))
        }
    });
    for label in ["http_method", "method"] {
        let r = query(&format!("sum by ({label}) (api_http_requests_total)"));
        let mut got: Vec<(String, String)> = r
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["metric"][label].as_str().unwrap_or("").to_owned(), s["value"][1].as_str().unwrap().to_owned()))
            .collect();
        got.sort();
        let want = vec![("GET".to_owned(), (4 * jobs).to_string()), ("POST".to_owned(), (6 * jobs).to_string())];
        assert_eq!(got, want, "sum by ({label})");
    }
}

/// The small fixture spec with `edits` (`(file under spec/, from, to)`), validated.
fn edited_small(edits: &[(&str, &str, &str)]) -> obspec_codegen::Loaded {
    let dir = root().join("codegen/tests/fixtures/small/spec");
    let mut inputs = obspec_codegen::load::read_dir(&dir, "spec").expect("read the small fixture");
    for (file, from, to) in edits {
        let input = inputs.iter_mut().find(|i| i.name == format!("spec/{file}")).expect("a fixture file");
        assert_eq!(input.text.matches(from).count(), 1, "{from} in {file}");
        input.text = input.text.replacen(from, to, 1);
    }
    obspec_codegen::check(&inputs).unwrap_or_else(|d| panic!("{}", obspec_codegen::diag::render_all(&d)))
}
