//! OpenSLO round trip: every SLO exported to OpenSLO v1 and imported back is
//! the spec's SLO (selectors compared in canonical form), for the real spec
//! and the fixtures; and an OpenSLO file obspec cannot map gets every problem
//! located, with what to do.

mod common;

use std::collections::BTreeMap;

use obspec_codegen::model::Slo;
use obspec_codegen::{Input, promql};
use serde_json::Value;

fn canonical(sel: &str) -> String {
    let (n, m) = promql::parse_selector(sel).expect("a valid spec's selector");
    let ms = promql::render_matchers(&m);
    if ms.is_empty() { n } else { format!("{n}{{{ms}}}") }
}

fn spec_value(slo: &Slo) -> Value {
    let mut s = slo.clone();
    if let Some(r) = &mut s.ratio {
        r.errors = canonical(&r.errors);
        r.total = canonical(&r.total);
    }
    if let Some(l) = &mut s.latency {
        l.histogram = canonical(&l.histogram);
    }
    serde_json::to_value(&s).expect("serialise")
}

fn round_trip(inputs: &[Input], what: &str) {
    let loaded = obspec_codegen::check(inputs).unwrap_or_else(|d| panic!("{}", obspec_codegen::diag::render_all(&d)));
    let files = obspec_codegen::render::all(&loaded);
    let exported: Vec<Input> = files
        .iter()
        .filter(|f| f.path.starts_with("infra/observability/openslo/"))
        .map(|f| Input { name: f.path.clone(), text: f.contents.clone() })
        .collect();
    assert_eq!(exported.len(), loaded.spec.slos.len() + 1, "{what}: one file per SLO and the targets");
    let imported = obspec_codegen::openslo_import::slos(&exported)
        .unwrap_or_else(|d| panic!("{what}: {}", obspec_codegen::diag::render_all(&d)));
    let got: BTreeMap<String, Value> = imported
        .into_iter()
        .map(|v| {
            // Read back through the spec's own model, as the loader would.
            let s: Slo = serde_json::from_value(v).expect("imported SLO fits the model");
            (s.name.clone(), spec_value(&s))
        })
        .collect();
    let want: BTreeMap<String, Value> = loaded.spec.slos.iter().map(|s| (s.name.clone(), spec_value(s))).collect();
    assert_eq!(got, want, "{what}: the OpenSLO round trip lost something");
}

#[test]
fn round_trip_is_lossless_for_the_real_spec() {
    round_trip(&common::real(), "spec/");
}

#[test]
fn round_trip_is_lossless_for_the_fixtures() {
    round_trip(&common::fixture("payments"), "payments"); // a disabled tier, 7d and 28d windows
    round_trip(&common::small(), "small");
}

#[test]
fn the_real_spec_exercises_both_slis_and_a_calendar_month() {
    let loaded = obspec_codegen::check(&common::real()).expect("valid");
    assert!(loaded.spec.slos.iter().any(|s| s.is_calendar()));
    assert!(loaded.spec.slos.iter().any(|s| s.latency.is_some()) && loaded.spec.slos.iter().any(|s| s.ratio.is_some()));
}

const FOREIGN: &str = r#"apiVersion: openslo/v1
kind: Service
metadata:
  name: checkout
spec:
  description: Checkout
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  indicator:
    metadata:
      name: checkout-sli
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Datadog
            spec:
              query: sum:requests.ok{*}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total[5m]))
  timeWindow:
    - duration: 1w
      isRolling: true
    - duration: 1M
      isRolling: false
  budgetingMethod: Timeslices
  objectives:
    - target: 0.99
    - target: 0.999
---
apiVersion: openslo/v2alpha
kind: SLO
metadata:
  name: other
spec: {}
"#;

#[test]
fn what_cannot_map_is_located_all_at_once() {
    let err =
        obspec_codegen::openslo_import::slos(&[Input { name: "slos/checkout.yaml".into(), text: FOREIGN.into() }])
            .expect_err("cannot map");
    let text = obspec_codegen::diag::render_all(&err);
    for needle in [
        "slos/checkout.yaml:35:20", // budgetingMethod's value
        "budgeting method is `Timeslices`",
        "exactly one time window",
        "exactly one objective",
        "spec.description is missing",
        "not a plain selector", // the total query
        "the good metric source is `Datadog`, not Prometheus",
        "apiVersion `openslo/v2alpha`",
        "slos/checkout.yaml:40:13", // the third document keeps the file's line numbers
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // The problems name the document and its YAML path.
    assert!(text.contains("document 2") && text.contains("spec.budgetingMethod"), "{text}");
}

#[test]
fn imported_yaml_is_spec_yaml() {
    let files = obspec_codegen::compile(&common::real()).expect("valid");
    let inputs: Vec<Input> = files
        .iter()
        .filter(|f| f.path.ends_with("openslo/core-errors.yaml"))
        .map(|f| Input { name: f.path.clone(), text: f.contents.clone() })
        .collect();
    let yaml = obspec_codegen::openslo_import::import(&inputs).expect("imports");
    let (v, _, problems) = obspec_codegen::source::parse("out.yaml", &yaml);
    assert!(problems.is_empty(), "{problems:?}");
    let v = v.expect("a document");
    assert_eq!(v["slos"][0]["period"], "calendar_month", "{yaml}");
    assert_eq!(v["slos"][0]["ratio"]["errors"], "core_http_requests_total{code=~\"5..\"}", "{yaml}");
}
