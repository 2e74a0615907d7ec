//! Per-environment Prometheus configs (`environments[]`), for running the
//! stack somewhere other than production, such as one machine (`cargo xtask dod`).
//!
//! For each environment `E`, under `infra/observability/E/`:
//!
//! - `prometheus.yml`: the same jobs, rules and labels as the production
//!   config, scraping `E`'s targets at `E`'s interval and alerting `E`'s
//!   Alertmanager. Rules are the generated files (`../rules/…`), unchanged.
//! - with `receiver: host:port`, also `alertmanager.yml`: the generated
//!   Alertmanager config with every webhook URL pointed at that receiver.
//! - with `time_compression: k`, also `prometheus-quick.yml` and
//!   `rules/alerts-compressed.yml`: the same alerting rules, where the
//!   spec's own alerts (plain PromQL over ranges) have every range, `offset`
//!   and `for:` divided by `k` (never below four scrape intervals) and carry a
//!   `time_compression` annotation. SLO burn-rate alerts are copied unchanged:
//!   they read recorded series whose windows are fixed. Names, labels and
//!   runbook links are those of the generated alerts, so a short run proves
//!   the same rule fires and reaches Alertmanager with the same labels.

use serde_json::{Map, Value, json};

use super::{header, yaml};
use crate::lower::{ALERTS, DIR, Lowered, RECORDING, SPEC_ALERTS_GROUP, alertmanager};
use crate::model::{Environment, Spec};
use crate::names;
use crate::output::GeneratedFile;

/// The compressed alerting rules file, relative to an environment's directory.
pub const COMPRESSED_ALERTS: &str = "rules/alerts-compressed.yml";

/// Renders the files of every environment.
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    render_lowered(spec, &crate::lower::lower(spec), sources)
}

/// [`render`] from an already lowered spec.
pub fn render_lowered(spec: &Spec, lowered: &Lowered, sources: &[String]) -> Vec<GeneratedFile> {
    let mut out = Vec::new();
    for env in &spec.environments {
        let file = |name: &str, value: &Value| GeneratedFile {
            path: format!("{DIR}/{}/{name}", env.name),
            contents: format!("{}{}", header::hash_comment(sources), yaml::to_string(value)),
        };
        let rules = vec![format!("../{RECORDING}"), format!("../{ALERTS}")];
        out.push(file("prometheus.yml", &prometheus(spec, env, &rules)));
        if let Some(receiver) = &env.receiver {
            out.push(file("alertmanager.yml", &local_alertmanager(receiver)));
        }
        if let Some(k) = env.time_compression {
            let rules = vec![format!("../{RECORDING}"), COMPRESSED_ALERTS.to_owned()];
            out.push(file("prometheus-quick.yml", &prometheus(spec, env, &rules)));
            out.push(file(COMPRESSED_ALERTS, &compressed_alerts(lowered, env, k)));
        }
    }
    out
}

/// The Prometheus config of `env`, loading `rule_files`.
fn prometheus(spec: &Spec, env: &Environment, rule_files: &[String]) -> Value {
    let scrape: Vec<Value> = spec
        .components
        .iter()
        .filter_map(|c| {
            let target = env.targets.get(&c.name)?;
            Some(super::prometheus::scrape_job(spec, c, std::slice::from_ref(target)))
        })
        .collect();
    json!({
        "global": {
            "scrape_interval": env.scrape_interval,
            "evaluation_interval": env.scrape_interval,
        },
        "rule_files": rule_files,
        "alerting": { "alertmanagers": [{ "static_configs": [{ "targets": [env.alertmanager] }] }] },
        "scrape_configs": scrape,
    })
}

/// The generated Alertmanager config with every webhook URL sent to `receiver` (same paths).
fn local_alertmanager(receiver: &str) -> Value {
    let mut am = alertmanager();
    if let Some(receivers) = am.get_mut("receivers").and_then(Value::as_array_mut) {
        for r in receivers {
            if let Some(hooks) = r.get_mut("webhook_configs").and_then(Value::as_array_mut) {
                for h in hooks {
                    if let Some(url) = h.get("url").and_then(Value::as_str) {
                        let path = url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]));
                        h["url"] = Value::String(format!("http://{receiver}{}", path.unwrap_or("/")));
                    }
                }
            }
        }
    }
    am
}

/// The generated alerting rules with the blueprint alerts time-compressed by `k`.
fn compressed_alerts(lowered: &Lowered, env: &Environment, k: u32) -> Value {
    let floor = names::duration_seconds(&env.scrape_interval).unwrap_or(1).saturating_mul(4);
    let groups: Vec<Value> = lowered
        .alert_groups()
        .into_iter()
        .map(|(name, rules)| {
            let compress = name == SPEC_ALERTS_GROUP;
            let rules: Vec<Value> = rules
                .iter()
                .map(|r| {
                    let (expr, for_) = if compress {
                        (compress_expr(&r.expr, k, floor), compress_duration(&r.for_, k, floor))
                    } else {
                        (r.expr.clone(), r.for_.clone())
                    };
                    let mut annotations: Map<String, Value> = r.annotations.clone();
                    if compress {
                        annotations.insert("time_compression".into(), Value::String(k.to_string()));
                    }
                    json!({
                        "alert": r.name,
                        "expr": expr,
                        "for": for_,
                        "labels": Value::Object(r.labels.clone()),
                        "annotations": Value::Object(annotations),
                    })
                })
                .collect();
            json!({ "name": name, "rules": rules })
        })
        .collect();
    json!({ "groups": groups })
}

/// `d / k` in seconds (at least `floor`), or `d` unchanged when it is not a duration.
pub fn compress_duration(d: &str, k: u32, floor: u64) -> String {
    match names::duration_seconds(d) {
        Some(s) => format!("{}s", (s / u64::from(k.max(1))).max(floor)),
        None => d.to_owned(),
    }
}

/// Divides every range (`[5m]`) and `offset` duration of a PromQL expression by `k`.
///
/// Strings in the expression (label matchers) are left alone.
pub fn compress_expr(expr: &str, k: u32, floor: u64) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    let mut in_string: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        if let Some(q) = in_string {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            if c == '\\' {
                if let Some(n) = rest.chars().next() {
                    out.push(n);
                    rest = &rest[n.len_utf8()..];
                }
            } else if c == q {
                in_string = None;
            }
            continue;
        }
        if c == '"' || c == '\'' || c == '`' {
            in_string = Some(c);
            out.push(c);
            rest = &rest[1..];
            continue;
        }
        if c == '['
            && let Some(end) = rest.find(']')
            && names::duration_seconds(&rest[1..end]).is_some()
        {
            out.push('[');
            out.push_str(&compress_duration(&rest[1..end], k, floor));
            out.push(']');
            rest = &rest[end + 1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("offset ") {
            let at_word_start = !out.chars().last().is_some_and(|p| p.is_ascii_alphanumeric() || p == '_');
            let len = after.find(|ch: char| !ch.is_ascii_alphanumeric()).unwrap_or(after.len());
            if at_word_start && names::duration_seconds(&after[..len]).is_some() {
                out.push_str("offset ");
                out.push_str(&compress_duration(&after[..len], k, floor));
                rest = &after[len..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{compress_duration, compress_expr};

    #[test]
    fn ranges_offsets_and_for_are_divided() {
        assert_eq!(compress_duration("2m", 10, 4), "12s");
        assert_eq!(compress_duration("10s", 10, 4), "4s");
        assert_eq!(compress_duration("soon", 10, 4), "soon");
        let e = r#"sum(rate(x_total{err="BACKPRESSURE",r=~"[5m]"}[5m])) > 5 * sum(rate(x_total[1d])) and on (t) sum(x_total offset 1d)"#;
        assert_eq!(
            compress_expr(e, 10, 4),
            r#"sum(rate(x_total{err="BACKPRESSURE",r=~"[5m]"}[30s])) > 5 * sum(rate(x_total[8640s])) and on (t) sum(x_total offset 8640s)"#
        );
        assert_eq!(compress_expr("my_offset 5 + x[ab]", 10, 4), "my_offset 5 + x[ab]");
    }
}
