//! The rules in the formats of the Prometheus Operator and of a horizontally
//! scaled ruler: one `PrometheusRule` object (`monitoring.coreos.com/v1`) per
//! plain rules file, carrying the spec's `ruleSelector` labels, and one Mimir
//! or Thanos ruler file per component (its namespace). Every group comes from
//! [`Lowered::rule_files`] unchanged (the ruler splits a group whose rules
//! belong to several components, [`Lowered::ruler_namespaces`]), so these
//! files and the plain ones cannot disagree.

use serde_json::{Map, Value, json};

use super::{header, yaml};
use crate::lower::{DIR, Lowered};
use crate::model::Spec;
use crate::output::GeneratedFile;

/// Directory of the PrometheusRule objects, relative to [`DIR`].
pub const KUBERNETES: &str = "kubernetes";
/// Directory of the per-component Mimir ruler files (`mimirtool rules load`), relative to [`DIR`].
pub const MIMIR: &str = "ruler/mimir";
/// Directory of the per-component Thanos ruler files (`thanos rule --rule-file`), relative to [`DIR`].
pub const THANOS: &str = "ruler/thanos";

/// The PrometheusRule object's name for a rules file: `<project>-<file stem>`.
pub fn object_name(spec: &Spec, rules_path: &str) -> String {
    let stem = rules_path.rsplit('/').next().unwrap_or(rules_path).trim_end_matches(".yml");
    format!("{}-{stem}", spec.project.name)
}

/// The path of the PrometheusRule object wrapping a rules file.
pub fn object_path(rules_path: &str) -> String {
    let stem = rules_path.rsplit('/').next().unwrap_or(rules_path).trim_end_matches(".yml");
    format!("{DIR}/{KUBERNETES}/prometheusrule-{stem}.yaml")
}

/// Renders the PrometheusRule objects and the Mimir and Thanos ruler files.
pub fn render(spec: &Spec, lowered: &Lowered, sources: &[String]) -> Vec<GeneratedFile> {
    let po = &spec.project.prometheus_operator;
    let mut labels = Map::new();
    labels.insert("app.kubernetes.io/part-of".into(), Value::String(spec.project.name.clone()));
    for (k, v) in &po.rule_labels {
        labels.insert(k.clone(), Value::String(v.clone()));
    }
    let mut out = Vec::new();
    for f in lowered.rule_files() {
        let mut metadata = Map::new();
        metadata.insert("name".into(), Value::String(object_name(spec, f.path)));
        if let Some(ns) = &po.namespace {
            metadata.insert("namespace".into(), Value::String(ns.clone()));
        }
        metadata.insert("labels".into(), Value::Object(labels.clone()));
        let object = json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": metadata,
            "spec": { "groups": f.groups },
        });
        out.push(GeneratedFile {
            path: object_path(f.path),
            contents: format!(
                "{}# The groups of {}, for the Prometheus Operator (`kubectl apply -f`).\n{}",
                header::hash_comment(sources),
                f.path,
                yaml::to_string(&object)
            ),
        });
    }
    for (component, groups) in lowered.ruler_namespaces() {
        out.push(GeneratedFile {
            path: format!("{DIR}/{MIMIR}/{component}.yml"),
            contents: format!(
                "{}# Namespace {component} for the Mimir ruler: `mimirtool rules load {MIMIR}/*.yml`.\n{}",
                header::hash_comment(sources),
                yaml::to_string(&json!({ "namespace": component, "groups": groups }))
            ),
        });
        out.push(GeneratedFile {
            path: format!("{DIR}/{THANOS}/{component}.yml"),
            contents: format!(
                "{}# The {component} rules for the Thanos ruler: `thanos rule --rule-file={THANOS}/*.yml`.\n{}",
                header::hash_comment(sources),
                yaml::to_string(&json!({ "groups": groups }))
            ),
        });
    }
    out
}
