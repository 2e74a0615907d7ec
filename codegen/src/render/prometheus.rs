//! Prometheus artifacts: scrape config, SLO recording rules, alerts, the
//! Alertmanager config and its flags. Every expression is built from the spec
//! and passes the PromQL checker before it is written.

use serde_json::{Value, json};

use super::{header, yaml};
use crate::lower::Lowered;
use crate::model::{Component, Spec};
use crate::output::GeneratedFile;

/// The lowered figures and rules these files hold, at their old paths.
pub use crate::lower::{
    ALERTS, AlertRuleOut, BURN_TIER_LABEL, BURN_WINDOWS, BurnWindow, DIR, RECORDING, SPEC_ALERTS_GROUP, absent_expr,
    absent_series, alert_expr, alertmanager, all_alerts, all_exprs, blueprint_alert, burn_factor, burn_for,
    burn_threshold, enabled_windows, guard_window, inhibit_rules, le_matcher, preinitialised, recording_group, round,
    severity_str, sli_exprs, sli_rates, slo_alerts, slo_camel,
};

fn file(path: &str, sources: &[String], value: &Value) -> GeneratedFile {
    GeneratedFile {
        path: format!("{DIR}/{path}"),
        contents: format!("{}{}", header::hash_comment(sources), yaml::to_string(value)),
    }
}

/// The scrape job of component `c` on `targets`: its metrics path, the
/// `component` label, and the relabelling of declared renames
/// ([`crate::rename::metric_relabel_configs`]) while there are any.
pub(crate) fn scrape_job(spec: &Spec, c: &Component, targets: &[String]) -> Value {
    let mut job = json!({
        "job_name": c.name,
        "metrics_path": c.metrics_path,
        "static_configs": [{ "targets": targets, "labels": { "component": c.name } }],
    });
    let relabel = crate::rename::metric_relabel_configs(spec);
    if let (false, Some(job)) = (relabel.is_empty(), job.as_object_mut()) {
        job.insert("metric_relabel_configs".to_owned(), Value::Array(relabel));
    }
    job
}

/// Renders prometheus.yml, the flags file, the rule files and alertmanager.yml.
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    render_lowered(spec, &crate::lower::lower(spec), sources)
}

/// [`render`] from an already lowered spec.
pub fn render_lowered(spec: &Spec, lowered: &Lowered, sources: &[String]) -> Vec<GeneratedFile> {
    let scrape: Vec<Value> = spec.components.iter().map(|c| scrape_job(spec, c, &c.targets)).collect();
    let prometheus = json!({
        "global": {
            "scrape_interval": spec.project.scrape_interval,
            "evaluation_interval": spec.project.scrape_interval,
        },
        "rule_files": [RECORDING, ALERTS],
        "alerting": { "alertmanagers": [{ "static_configs": [{ "targets": [spec.project.alertmanager] }] }] },
        "scrape_configs": scrape,
    });
    let flags = format!(
        "{}# Command-line flags for the Prometheus server (metrics are kept {} days in the TSDB, `project.metrics_retention_days`).\n\
         # Pass them as `prometheus $(grep -v '^#' prometheus.flags)`; retention is a flag, not part of prometheus.yml.\n\
         --config.file=prometheus.yml\n--storage.tsdb.retention.time={}d\n",
        header::hash_comment(sources),
        spec.project.metrics_retention_days,
        spec.project.metrics_retention_days
    );
    let mut out = vec![
        file("prometheus.yml", sources, &prometheus),
        GeneratedFile { path: format!("{DIR}/prometheus.flags"), contents: flags },
    ];
    out.extend(lowered.rule_files().iter().map(|f| file(f.path, sources, &json!({ "groups": f.groups }))));
    out.push(file("alertmanager.yml", sources, &alertmanager()));
    out
}
