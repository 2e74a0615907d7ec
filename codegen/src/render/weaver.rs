//! The spec's metrics as an OpenTelemetry semantic-convention registry
//! (Weaver's definition syntax v2, `file_format: definition/2`): every label
//! an attribute (a closed or ErrorToken label an enum with its members), every
//! metric a signal with its instrument, UCUM unit and required attributes.
//! What semconv has no field for travels under `annotations.obspec`: a label's
//! kind and `max_values`, a metric's component and worst-case series, and on
//! the `obspec.registry` group the cardinality budget and the forbidden names.

use serde_json::{Map, Value, json};

use super::{header, yaml};
use crate::lower::DIR;
use crate::model::{LabelDef, LabelKind, Metric, MetricKind, Spec, Unit};
use crate::names;
use crate::output::GeneratedFile;

/// The registry file, relative to [`DIR`].
pub const PATH: &str = "weaver/registry/obspec.yaml";
/// Stability of every definition: the spec is the project's own, not an OpenTelemetry convention.
pub const STABILITY: &str = "development";

/// A UCUM unit, as semantic conventions write them.
pub fn ucum(u: Unit) -> &'static str {
    match u {
        Unit::Seconds => "s",
        Unit::Milliseconds => "ms",
        Unit::Bytes => "By",
        Unit::Count | Unit::Ratio => "1",
    }
}

fn instrument(k: MetricKind) -> &'static str {
    match k {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
    }
}

/// An enum member id: the value in lower snake case (ids are identifiers, values stay as spelled).
fn member_id(v: &str) -> String {
    let mut id: String =
        v.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    id = id.trim_matches('_').to_owned();
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) { format!("v_{id}") } else { id }
}

fn attribute(spec: &Spec, l: &LabelDef) -> Value {
    let (kind, values): (&str, Vec<String>) = match l.kind {
        LabelKind::Closed => ("closed", l.values.clone()),
        LabelKind::ErrorToken => {
            let mut v: Vec<String> = spec.error_tokens.iter().map(|t| t.token.clone()).collect();
            v.extend(l.none.clone());
            ("error_token", v)
        }
        LabelKind::Open => ("open", Vec::new()),
    };
    let ty = if values.is_empty() {
        json!("string")
    } else {
        json!({ "members": values.iter().map(|v| json!({ "id": member_id(v), "value": v })).collect::<Vec<_>>() })
    };
    let mut obspec = Map::new();
    obspec.insert("kind".into(), json!(kind));
    if let Some(m) = l.max_values {
        obspec.insert("max_values".into(), json!(m));
    }
    if let Some(n) = &l.note {
        obspec.insert("note".into(), json!(n));
    }
    json!({ "key": l.name, "type": ty, "brief": l.help, "stability": STABILITY, "annotations": { "obspec": obspec } })
}

fn metric(spec: &Spec, m: &Metric) -> Value {
    let mut obspec = Map::new();
    obspec.insert("component".into(), json!(m.component));
    if !m.also_in.is_empty() {
        obspec.insert("also_in".into(), json!(m.also_in));
    }
    if let Some(w) = names::worst_case_series(spec, m) {
        obspec.insert("worst_case_series".into(), json!(w));
    }
    if !m.buckets.is_empty() {
        obspec.insert("buckets".into(), json!(m.buckets));
    }
    if let Some(b) = &m.blueprint_name {
        obspec.insert("blueprint_name".into(), json!(b));
    }
    json!({
        "name": m.name,
        "instrument": instrument(m.kind),
        "unit": ucum(m.unit),
        "brief": m.help,
        "stability": STABILITY,
        "attributes": m.labels.iter().map(|l| json!({ "ref": l, "requirement_level": "required" })).collect::<Vec<_>>(),
        "annotations": { "obspec": obspec },
    })
}

/// Renders the registry.
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    let registry = json!({
        "file_format": "definition/2",
        "attributes": spec.labels.iter().map(|l| attribute(spec, l)).collect::<Vec<_>>(),
        "attribute_groups": [{
            "id": format!("{}.registry", spec.project.name),
            "visibility": "public",
            "brief": format!("Every label of the {} spec; the annotations carry its budgets.", spec.project.name),
            "stability": STABILITY,
            "attributes": spec.labels.iter().map(|l| json!({ "ref": l.name })).collect::<Vec<_>>(),
            "annotations": { "obspec": {
                "cardinality_budget": spec.project.cardinality_budget,
                "forbidden_names": spec.logs.forbidden,
            } },
        }],
        "metrics": spec.metrics.iter().map(|m| metric(spec, m)).collect::<Vec<_>>(),
    });
    vec![GeneratedFile {
        path: format!("{DIR}/{PATH}"),
        contents: format!(
            "{}# A Weaver semantic-convention registry (definition syntax v2): `weaver registry check -r {}`.\n{}",
            header::hash_comment(sources),
            PATH.trim_end_matches("/obspec.yaml"),
            yaml::to_string(&registry)
        ),
    }]
}
