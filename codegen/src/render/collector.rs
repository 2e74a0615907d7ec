//! The OpenTelemetry Collector config (`infra/observability/otel-collector/config.yaml`)
//! for the components that push OTLP (`exposition: otlp`, R14).
//!
//! - `otlp` receiver, HTTP only (OTLP/HTTP, what the Worker sends).
//! - `filter/spec`: keeps only the metrics of those components and obspec's
//!   self-metrics (strict names from the spec); anything else is dropped.
//! - `redaction/spec`: allow-list mode (`allow_all_keys: false`) with
//!   `allowed_keys` = the labels of those metrics and the spec's log fields,
//!   `blocked_values` for obvious secrets (JWTs, bearer tokens, e-mail
//!   addresses, cloud keys, private keys), `summary: silent` so the processor
//!   adds no attributes of its own: the collector enforces server-blind too.
//! - `prometheus` exporter on the port `prometheus.yml` scrapes for those
//!   components (their `targets`), metric names passed through unchanged
//!   (the spec's names already carry `_total` and unit suffixes).
//! - logs to a `file` exporter (OTLP/JSON lines).

use serde_json::json;

use super::{header, yaml};
use crate::model::{Exposition, Spec};
use crate::output::GeneratedFile;

/// The config's path, relative to the output root.
pub const PATH: &str = "infra/observability/otel-collector/config.yaml";

/// Where the collector's file exporter writes the logs it receives.
pub const LOG_FILE: &str = "/var/lib/otelcol/logs/otlp.ndjson";

/// Values the redaction processor masks whatever the key (re2 syntax).
pub const BLOCKED_VALUES: &[&str] = &[
    // JSON Web Tokens (three base64url parts, header starting `{"`).
    r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+",
    // Authorization header values.
    r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}",
    // E-mail addresses.
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    // AWS / R2 access key ids.
    r"(AKIA|ASIA)[0-9A-Z]{16}",
    // PEM private keys.
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    // Card numbers (13-19 digits, optionally grouped).
    r"\b(?:\d[ -]?){13,19}\b",
];

/// The metric names the filter keeps: those of the OTLP components and the self-metrics.
pub fn kept_metrics(spec: &Spec) -> Vec<String> {
    let otlp: Vec<&str> =
        spec.components.iter().filter(|c| c.exposition == Exposition::Otlp).map(|c| c.name.as_str()).collect();
    spec.metrics
        .iter()
        .filter(|m| otlp.contains(&m.component.as_str()) || m.role.is_some())
        .map(|m| m.name.clone())
        .collect()
}

/// The attribute keys the redaction processor allows: `service.name`, the labels
/// of the kept metrics, the log fields; sorted.
pub fn allowed_keys(spec: &Spec) -> Vec<String> {
    let kept = kept_metrics(spec);
    let mut keys: Vec<String> = vec!["service.name".to_owned()];
    for m in spec.metrics.iter().filter(|m| kept.contains(&m.name)) {
        keys.extend(m.labels.iter().cloned());
    }
    keys.extend(spec.logs.fields.iter().map(|f| f.name.clone()));
    keys.sort();
    keys.dedup();
    keys
}

/// The exporter's listen port: that of the first OTLP component's first target.
pub fn exporter_port(spec: &Spec) -> Option<u16> {
    spec.components
        .iter()
        .filter(|c| c.exposition == Exposition::Otlp)
        .flat_map(|c| c.targets.iter())
        .find_map(|t| t.rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
}

/// Renders the config, when the spec has a component that pushes OTLP.
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    let Some(port) = exporter_port(spec) else { return Vec::new() };
    let value = json!({
        "receivers": {
            "otlp": { "protocols": { "http": { "endpoint": "0.0.0.0:4318" } } }
        },
        "processors": {
            "filter/spec": {
                "error_mode": "ignore",
                "metrics": { "include": { "match_type": "strict", "metric_names": kept_metrics(spec) } }
            },
            "redaction/spec": {
                "allow_all_keys": false,
                "allowed_keys": allowed_keys(spec),
                "blocked_values": BLOCKED_VALUES,
                "summary": "silent"
            }
        },
        "exporters": {
            "prometheus": {
                "endpoint": format!("0.0.0.0:{port}"),
                "translation_strategy": "UnderscoreEscapingWithoutSuffixes",
                "send_timestamps": false,
                "metric_expiration": "15m"
            },
            "file/logs": {
                "path": LOG_FILE,
                "format": "json",
                "rotation": { "max_megabytes": 100, "max_days": spec.logs.retention_days, "max_backups": 100 }
            }
        },
        "service": {
            "pipelines": {
                "metrics": { "receivers": ["otlp"], "processors": ["filter/spec", "redaction/spec"], "exporters": ["prometheus"] },
                "logs": { "receivers": ["otlp"], "processors": ["redaction/spec"], "exporters": ["file/logs"] }
            }
        }
    });
    vec![GeneratedFile {
        path: PATH.to_owned(),
        contents: format!("{}{}", header::hash_comment(sources), yaml::to_string(&value)),
    }]
}
