//! The PrometheusRule objects and the Mimir/Thanos ruler files hold the same
//! groups as the plain rules files: unwrapped and parsed back, their groups
//! are equal, as YAML values, to the plain files' groups (the ruler's split
//! groups, put back together, hold every rule of the plain group once).

mod common;

use std::collections::BTreeMap;

use obspec_codegen::{GeneratedFile, Input};
use serde_json::Value;

fn compile(inputs: &[Input]) -> Vec<GeneratedFile> {
    obspec_codegen::compile(inputs).unwrap_or_else(|d| panic!("{}", obspec_codegen::diag::render_all(&d)))
}

fn parsed(files: &[GeneratedFile], path: &str) -> Value {
    let f = files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("{path} is not generated"));
    let (v, _, problems) = obspec_codegen::source::parse(path, &f.contents);
    assert!(problems.is_empty(), "{path}: {problems:?}");
    v.unwrap_or_else(|| panic!("{path} is empty"))
}

fn groups(v: &Value) -> Vec<Value> {
    v["groups"].as_array().cloned().unwrap_or_default()
}

fn check(inputs: &[Input], what: &str) {
    let files = compile(inputs);
    let plain: Vec<(&str, Vec<Value>)> = ["rules/slo-recording.yml", "rules/alerts.yml"]
        .into_iter()
        .map(|p| (p, groups(&parsed(&files, &format!("infra/observability/{p}")))))
        .collect();
    // PrometheusRule: the very same groups, in the same order.
    for (p, plain_groups) in &plain {
        assert!(!plain_groups.is_empty(), "{what}: {p} has no group");
        let stem = p.trim_start_matches("rules/").trim_end_matches(".yml");
        let crd = parsed(&files, &format!("infra/observability/kubernetes/prometheusrule-{stem}.yaml"));
        assert_eq!(crd["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(crd["kind"], "PrometheusRule");
        assert_eq!(&groups(&crd["spec"]), plain_groups, "{what}: the PrometheusRule of {p} differs from it");
    }
    // Ruler: per group name, the rules gathered from every namespace, in file order of the plain group.
    for dir in ["mimir", "thanos"] {
        let mut gathered: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut namespaces = 0;
        for f in files.iter().filter(|f| f.path.starts_with(&format!("infra/observability/ruler/{dir}/"))) {
            namespaces += 1;
            let v = parsed(&files, &f.path);
            let component = f.path.rsplit('/').next().unwrap_or_default().trim_end_matches(".yml");
            if dir == "mimir" {
                assert_eq!(v["namespace"], component, "{}: namespace is its component", f.path);
            } else {
                assert!(v.get("namespace").is_none(), "{}: Thanos reads plain rule files", f.path);
            }
            let mut names: Vec<String> = Vec::new();
            for g in groups(&v) {
                let name = g["name"].as_str().unwrap_or_default().to_owned();
                assert!(!names.contains(&name), "{}: group {name} twice in one namespace", f.path);
                names.push(name.clone());
                for r in g["rules"].as_array().into_iter().flatten() {
                    assert_eq!(r["labels"]["component"], component, "{}: a rule of another component", f.path);
                    gathered.entry(name.clone()).or_default().push(r.clone());
                }
            }
        }
        assert!(namespaces > 1, "{what}: one ruler file per component");
        let mut expected: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (_, gs) in &plain {
            for g in gs {
                expected.insert(
                    g["name"].as_str().unwrap_or_default().to_owned(),
                    g["rules"].as_array().cloned().unwrap_or_default(),
                );
            }
        }
        let key = |r: &Value| r.to_string();
        for (name, rules) in expected.iter_mut() {
            let got = gathered.get_mut(name).unwrap_or_else(|| panic!("{what}: {dir} lacks group {name}"));
            rules.sort_by_key(key);
            got.sort_by_key(key);
            assert_eq!(got, rules, "{what}: {dir} group {name} holds other rules than the plain file's");
        }
        assert_eq!(gathered.len(), expected.len(), "{what}: {dir} has groups the plain files do not");
    }
}

#[test]
fn crd_and_ruler_groups_equal_the_plain_files_real_spec() {
    check(&common::real(), "spec/");
}

#[test]
fn crd_and_ruler_groups_equal_the_plain_files_fixtures() {
    check(&common::fixture("payments"), "payments");
}

#[test]
fn rule_labels_and_namespace_come_from_the_spec() {
    let files = compile(&common::real());
    let crd = parsed(&files, "infra/observability/kubernetes/prometheusrule-alerts.yaml");
    assert_eq!(crd["metadata"]["namespace"], "monitoring");
    assert_eq!(crd["metadata"]["labels"]["release"], "kube-prometheus-stack");
}

#[test]
fn bad_namespace_and_labels_are_located() {
    let mut inputs = common::real();
    let p = inputs.iter_mut().find(|i| i.name.ends_with("project.yaml")).expect("project.yaml");
    p.text = p
        .text
        .replace("namespace: monitoring", "namespace: Monitoring_NS")
        .replace("{ release: kube-prometheus-stack }", "{ release: -bad, 'a b': ok }");
    let diags = obspec_codegen::check(&inputs).expect_err("invalid");
    let text = obspec_codegen::diag::render_all(&diags);
    for needle in [
        "`Monitoring_NS` is not a Kubernetes namespace name",
        "`-bad` is not a Kubernetes label value",
        "`a b` is not a Kubernetes label key",
        "project.prometheus_operator.rule_labels",
        "spec/project.yaml:",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}
