//! OpenSLO v1 export: every SLO as a `kind: SLO` document with a
//! `ratioMetric` over Prometheus queries, its time window, `budgetingMethod:
//! Occurrences` and objective, and one `AlertCondition` and `AlertPolicy` per
//! enabled burn-rate tier (figures from the lowered model), notifying the
//! `AlertNotificationTarget` of its severity. What OpenSLO has no field for
//! (`min_rate`, `note`) travels in `metadata.annotations`, so
//! `cargo xtask import openslo` reads an exported file back losslessly.

use serde_json::{Map, Value, json};

use super::{header, yaml};
use crate::lower::{DIR, Lowered, burn_for, severity_str};
use crate::model::{Severity, Slo, Spec};
use crate::names::fmt_float;
use crate::promql;

/// Directory of the OpenSLO documents, relative to [`DIR`].
pub const OPENSLO: &str = "openslo";
/// The annotation holding `min_rate`.
pub const ANN_MIN_RATE: &str = "obspec.dev/min-rate";
/// The annotation holding `note`.
pub const ANN_NOTE: &str = "obspec.dev/note";
/// The `apiVersion` of every document.
pub const API_VERSION: &str = "openslo/v1";
/// The time window of a `calendar_month` SLO.
pub const CALENDAR_DURATION: &str = "1M";
/// The calendar start of a `calendar_month` SLO (any first of a month, UTC).
pub const CALENDAR_START: &str = "2020-01-01 00:00:00";

/// The name of a tier's AlertCondition and AlertPolicy: `<slo>-<tier>`.
pub fn tier_object(slo: &str, tier: &str) -> String {
    format!("{slo}-{tier}")
}

/// The name of a severity's AlertNotificationTarget: `<project>-<severity>`.
pub fn target_name(spec: &Spec, s: Severity) -> String {
    format!("{}-{}", spec.project.name, severity_str(s))
}

fn doc(kind: &str, metadata: Value, spec: Value) -> Value {
    json!({ "apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec })
}

fn prometheus(query: String) -> Value {
    json!({ "metricSource": { "type": "Prometheus", "spec": { "query": query } } })
}

/// `name{m}` with `suffix` on the name and `extra` matchers: the series a query reads.
fn series(selector: &str, suffix: &str, extra: &str) -> String {
    match promql::parse_selector(selector) {
        Ok((n, m)) => {
            let mut parts = vec![promql::render_matchers(&m)];
            parts.push(extra.to_owned());
            parts.retain(|p| !p.is_empty());
            if parts.is_empty() { format!("{n}{suffix}") } else { format!("{n}{suffix}{{{}}}", parts.join(",")) }
        }
        Err(_) => selector.to_owned(),
    }
}

/// The SLI of an SLO as an OpenSLO `ratioMetric` over counters: a ratio SLI's
/// bad and total selectors; a latency SLI's good events (the threshold's
/// bucket, `le` as Prometheus 2 writes it) and total (`_count`).
pub fn ratio_metric(slo: &Slo) -> Value {
    if let Some(r) = &slo.ratio {
        json!({ "counter": true, "bad": prometheus(series(&r.errors, "", "")), "total": prometheus(series(&r.total, "", "")) })
    } else if let Some(l) = &slo.latency {
        let le = format!("le={}", promql::quote(&fmt_float(l.threshold)));
        json!({
            "counter": true,
            "good": prometheus(series(&l.histogram, "_bucket", &le)),
            "total": prometheus(series(&l.histogram, "_count", "")),
        })
    } else {
        Value::Null
    }
}

/// The `timeWindow` of an SLO: rolling, or the calendar month.
pub fn time_window(slo: &Slo) -> Value {
    if slo.is_calendar() {
        json!([{ "duration": CALENDAR_DURATION, "isRolling": false, "calendar": { "startTime": CALENDAR_START, "timeZone": "UTC" } }])
    } else {
        json!([{ "duration": slo.period, "isRolling": true }])
    }
}

/// Renders one file per SLO and the notification targets.
pub fn render(spec: &Spec, lowered: &Lowered, sources: &[String]) -> Vec<GeneratedFile> {
    let mut out = Vec::new();
    for (slo, low) in spec.slos.iter().zip(&lowered.slos) {
        let mut annotations = Map::new();
        annotations.insert(ANN_MIN_RATE.into(), Value::String(fmt_float(slo.min_rate)));
        if let Some(n) = &slo.note {
            annotations.insert(ANN_NOTE.into(), Value::String(n.clone()));
        }
        let enabled: Vec<_> = low.tiers.iter().filter(|t| t.enabled).collect();
        let mut docs = vec![doc(
            "SLO",
            json!({ "name": slo.name, "displayName": low.ident, "annotations": annotations }),
            json!({
                "description": slo.description,
                "service": slo.component,
                "indicator": {
                    "metadata": { "name": format!("{}-sli", slo.name) },
                    "spec": { "ratioMetric": ratio_metric(slo) },
                },
                "timeWindow": time_window(slo),
                "budgetingMethod": "Occurrences",
                "objectives": [{ "displayName": slo.description, "target": slo.objective }],
                "alertPolicies": enabled
                    .iter()
                    .map(|t| json!({ "alertPolicyRef": tier_object(&slo.name, t.window.tier.as_str()) }))
                    .collect::<Vec<_>>(),
            }),
        )];
        for t in &enabled {
            let w = t.window;
            let name = tier_object(&slo.name, w.tier.as_str());
            docs.push(doc(
                "AlertCondition",
                json!({ "name": name }),
                json!({
                    "description": format!(
                        "Burn rate above {} over {} and {} ({} of the budget in {}).",
                        fmt_float(t.factor), w.long, w.short, fmt_float(w.budget_share), w.long
                    ),
                    "severity": severity_str(w.severity),
                    "condition": {
                        "kind": "burnrate",
                        "op": "gt",
                        "threshold": t.factor,
                        "lookbackWindow": w.long,
                        "alertAfter": burn_for(w.severity),
                    },
                }),
            ));
            docs.push(doc(
                "AlertPolicy",
                json!({ "name": name }),
                json!({
                    "description": format!("{} of SLO {} ({}).", w.tier.as_str(), slo.name, low.ident),
                    "alertWhenNoData": false,
                    "alertWhenResolved": true,
                    "alertWhenBreaching": true,
                    "conditions": [{ "conditionRef": name }],
                    "notificationTargets": [{ "targetRef": target_name(spec, w.severity) }],
                }),
            ));
        }
        out.push(multi(format!("{DIR}/{OPENSLO}/{}.yaml", slo.name), sources, &docs));
    }
    let targets: Vec<Value> = [Severity::Page, Severity::Ticket]
        .into_iter()
        .map(|s| {
            doc(
                "AlertNotificationTarget",
                json!({ "name": target_name(spec, s) }),
                json!({
                    "description": format!("Alertmanager's `{}` receiver (alertmanager.yml).", severity_str(s)),
                    "target": format!("alertmanager:{}", severity_str(s)),
                }),
            )
        })
        .collect();
    out.push(multi(format!("{DIR}/{OPENSLO}/notification-targets.yaml"), sources, &targets));
    out
}

use crate::output::GeneratedFile;

fn multi(path: String, sources: &[String], docs: &[Value]) -> GeneratedFile {
    let body: Vec<String> = docs.iter().map(|d| format!("---\n{}", yaml::to_string(d))).collect();
    GeneratedFile { path, contents: format!("{}{}", header::hash_comment(sources), body.concat()) }
}
