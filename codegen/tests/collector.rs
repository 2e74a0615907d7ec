//! The generated OpenTelemetry Collector config, checked structurally.
//!
//! The collector binary cannot be installed on the development machine (no
//! Debian package; its releases are downloads outside the package
//! registries), so this test checks `infra/observability/otel-collector/config.yaml`
//! against the documented keys of each component it uses
//! (`tests/fixtures/otel-collector/documented-keys.yaml`, written from the
//! components' README and `config.go`, with the URLs), and against the spec:
//! the filter keeps exactly the spec's metrics, the redaction processor
//! allows exactly the spec's labels and log fields, and the Prometheus
//! exporter listens on the port `prometheus.yml` scrapes.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (value, _, problems) = obspec_codegen::source::parse(&path.display().to_string(), &text);
    assert!(problems.is_empty(), "{}: {problems:?}", path.display());
    value.unwrap_or(Value::Null)
}

fn documented() -> Value {
    yaml(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/otel-collector/documented-keys.yaml"))
}

/// Every key of `value` under `path` that `schema` does not document, or of the wrong shape.
fn check_keys(path: &str, value: &Value, schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::String(s) if s == "any" => {}
        Value::String(s) if s == "scalar" => {
            if value.is_object() || value.is_array() {
                out.push(format!("{path}: must be a scalar"));
            }
        }
        Value::String(s) if s == "list" => match value {
            Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {}
            _ => out.push(format!("{path}: must be a list of scalars")),
        },
        Value::String(s) if s == "map" => {
            if !value.is_object() {
                out.push(format!("{path}: must be a map"));
            }
        }
        Value::Object(m) if m.contains_key("enum") => {
            let allowed = m["enum"].as_array().cloned().unwrap_or_default();
            if !allowed.contains(value) {
                out.push(format!("{path}: {value} is not one of {allowed:?}"));
            }
        }
        Value::Object(keys) => match value {
            Value::Object(v) => {
                for (k, sub) in v {
                    match keys.get(k) {
                        Some(s) => check_keys(&format!("{path}.{k}"), sub, s, out),
                        None => out.push(format!("{path}.{k}: not a documented key")),
                    }
                }
            }
            Value::Null => {}
            _ => out.push(format!("{path}: must be a map")),
        },
        other => out.push(format!("{path}: bad schema {other}")),
    }
}

/// Structural problems of a collector config against the documented keys.
fn problems(config: &Value, doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(top) = config.as_object() else { return vec!["config is not a map".to_owned()] };
    let top_level: Vec<&str> = doc["top_level"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for k in top.keys() {
        if !top_level.contains(&k.as_str()) {
            out.push(format!("{k}: not a top-level section"));
        }
    }
    // Component definitions: `type[/name]` of a documented type, with documented keys.
    let mut defined: Vec<(String, String)> = Vec::new();
    for section in ["receivers", "processors", "exporters"] {
        for (id, body) in config[section].as_object().into_iter().flatten() {
            let ty = id.split('/').next().unwrap_or(id);
            match doc[section].get(ty) {
                Some(d) => check_keys(&format!("{section}.{id}"), body, &d["keys"], &mut out),
                None => out.push(format!("{section}.{id}: `{ty}` is not a documented component")),
            }
            defined.push((section.to_owned(), id.clone()));
        }
    }
    // Service: documented keys; pipelines reference defined components of a supported type.
    let service = &config["service"];
    for (k, v) in service.as_object().into_iter().flatten() {
        match doc["service"].get(k) {
            Some(Value::String(s)) if s == "pipelines" => {}
            Some(s) => check_keys(&format!("service.{k}"), v, s, &mut out),
            None => out.push(format!("service.{k}: not a documented key")),
        }
    }
    let mut used: Vec<(String, String)> = Vec::new();
    for (pid, p) in service["pipelines"].as_object().into_iter().flatten() {
        let signal = pid.split('/').next().unwrap_or(pid);
        if !["traces", "metrics", "logs"].contains(&signal) {
            out.push(format!("service.pipelines.{pid}: unknown signal"));
        }
        let keys: Vec<&str> = doc["pipeline_keys"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for (k, list) in p.as_object().into_iter().flatten() {
            if !keys.contains(&k.as_str()) {
                out.push(format!("service.pipelines.{pid}.{k}: not a documented key"));
                continue;
            }
            for id in list.as_array().into_iter().flatten().filter_map(Value::as_str) {
                let ty = id.split('/').next().unwrap_or(id);
                if !defined.contains(&(k.clone(), id.to_owned())) {
                    out.push(format!("service.pipelines.{pid}.{k}: `{id}` is not defined"));
                }
                let supported =
                    doc[k.as_str()][ty]["pipelines"].as_array().is_some_and(|a| a.iter().any(|s| s == signal));
                if !supported {
                    out.push(format!("service.pipelines.{pid}: `{id}` does not support {signal}"));
                }
                used.push((k.clone(), id.to_owned()));
            }
        }
        for k in ["receivers", "exporters"] {
            if p[k].as_array().is_none_or(|a| a.is_empty()) {
                out.push(format!("service.pipelines.{pid}: needs {k}"));
            }
        }
    }
    for d in &defined {
        if !used.contains(d) {
            out.push(format!("{}.{}: defined but in no pipeline", d.0, d.1));
        }
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

#[test]
fn generated_config_uses_only_documented_keys_and_the_spec_vocabulary() {
    let config = yaml(&root().join("infra/observability/otel-collector/config.yaml"));
    let doc = documented();
    let found = problems(&config, &doc);
    assert!(found.is_empty(), "collector config problems:\n{}", found.join("\n"));

    let inputs = obspec_codegen::load::read_dir(&root().join("spec"), "spec").expect("read spec");
    let loaded = obspec_codegen::check(&inputs).unwrap_or_else(|d| panic!("{}", obspec_codegen::diag::render_all(&d)));
    let spec = &loaded.spec;

    // The filter keeps exactly the metrics of the OTLP components and the self-metrics.
    let kept = strings(&config["processors"]["filter/spec"]["metrics"]["include"]["metric_names"]);
    let mut expected: Vec<String> = spec
        .metrics
        .iter()
        .filter(|m| {
            m.role.is_some()
                || spec
                    .components
                    .iter()
                    .any(|c| c.name == m.component && c.exposition == obspec_codegen::model::Exposition::Otlp)
        })
        .map(|m| m.name.clone())
        .collect();
    let mut kept_sorted = kept.clone();
    kept_sorted.sort();
    expected.sort();
    assert_eq!(kept_sorted, expected);
    assert!(kept.iter().any(|m| m == "gateway_http_requests_total"), "{kept:?}");

    // Redaction: allow-list mode; every key is a label or log field of the spec (or service.name), and
    // every label of a kept metric and every log field is allowed.
    let red = &config["processors"]["redaction/spec"];
    assert_eq!(red["allow_all_keys"], Value::Bool(false));
    let allowed = strings(&red["allowed_keys"]);
    for k in &allowed {
        let known = k == "service.name"
            || spec.labels.iter().any(|l| &l.name == k)
            || spec.logs.fields.iter().any(|f| &f.name == k);
        assert!(known, "allowed key `{k}` is not in the spec");
        assert!(!spec.logs.forbidden.contains(k), "forbidden name `{k}` is allowed");
    }
    for m in spec.metrics.iter().filter(|m| kept.contains(&m.name)) {
        for l in &m.labels {
            assert!(allowed.contains(l), "label `{l}` of `{}` is not allowed", m.name);
        }
    }
    for f in &spec.logs.fields {
        assert!(allowed.contains(&f.name), "log field `{}` is not allowed", f.name);
    }
    assert!(!strings(&red["blocked_values"]).is_empty());

    // The Prometheus exporter listens on the port prometheus.yml scrapes for the gateway.
    let prom = yaml(&root().join("infra/observability/prometheus.yml"));
    let gateway_job = prom["scrape_configs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|j| j["job_name"] == "gateway")
        .expect("a gateway job");
    let target = gateway_job["static_configs"][0]["targets"][0].as_str().expect("a target");
    let port = target.rsplit_once(':').map(|(_, p)| p).expect("host:port");
    let endpoint = config["exporters"]["prometheus"]["endpoint"].as_str().expect("endpoint");
    assert_eq!(endpoint.rsplit_once(':').map(|(_, p)| p), Some(port), "{endpoint} vs {target}");
    // Logs go to a file.
    assert_eq!(strings(&config["service"]["pipelines"]["logs"]["exporters"]), ["file/logs"]);
}

#[test]
fn the_structural_check_fails_on_undocumented_keys_types_and_pipelines() {
    let doc = documented();
    let good = yaml(&root().join("infra/observability/otel-collector/config.yaml"));
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        f(&mut c);
        problems(&c, &doc)
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            mutate(&|c| c["processors"]["redaction/spec"]["allowed_key"] = Value::Bool(true)),
            "redaction/spec.allowed_key: not a documented key",
        ),
        (
            mutate(&|c| c["exporters"]["prometheus"]["translation_strategy"] = "Sometimes".into()),
            "translation_strategy",
        ),
        (mutate(&|c| c["exporters"]["prometheus"]["const_labels"] = "x".into()), "const_labels: must be a map"),
        (mutate(&|c| c["processors"]["nosuch/x"] = serde_json::json!({})), "`nosuch` is not a documented component"),
        (
            mutate(&|c| c["service"]["pipelines"]["logs"]["exporters"] = serde_json::json!(["prometheus"])),
            "does not support logs",
        ),
        (
            mutate(&|c| c["service"]["pipelines"]["metrics"]["processors"] = serde_json::json!(["filter/other"])),
            "`filter/other` is not defined",
        ),
        (
            mutate(&|c| c["service"]["pipelines"]["metrics"]["processors"] = serde_json::json!(["redaction/spec"])),
            "filter/spec: defined but in no pipeline",
        ),
    ];
    for (found, needle) in cases {
        assert!(found.iter().any(|p| p.contains(needle)), "expected a problem with {needle:?}, got {found:?}");
    }
}
