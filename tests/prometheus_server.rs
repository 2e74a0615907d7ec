//! A real Prometheus server loads the generated config and rules, scrapes an
//! exporter of every spec metric on loopback, and evaluates every rule.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use obspec_tests::{Exporter, Prometheus, exposition, spec, urlencode};

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
