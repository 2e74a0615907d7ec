//! Grafana artifacts: one dashboard JSON per `dashboards:` entry, the
//! provisioning files that load them, and a manifest saying they are generated.
//!
//! Dashboards follow Grafana's conventions for provisioned dashboards: a stable
//! `uid` derived from the spec, `schemaVersion` 42, a `datasource` template
//! variable every panel and query points at, one multi-value `query` variable
//! per open label the spec lists, and panels laid out on the 24-column grid
//! left to right, wrapping, never overlapping. With `slo_rows`, every SLO gets a
//! row of objective, error budget remaining and burn rate, read from the
//! recording rules named in [`crate::rules`].
//!
//! JSON cannot hold a comment, so each dashboard's `description` names the
//! generator and the spec files, and `grafana/MANIFEST.generated.md` lists every
//! dashboard file as generated.

use serde_json::{Map, Value, json};

use super::{header, yaml};
use crate::lower::{BURN_WINDOWS, burn_factor, round};
use crate::model::{Dashboard, MetricKind, Panel, PanelThreshold, PanelType, Slo, Spec};
use crate::names::fmt_float;
use crate::output::GeneratedFile;
use crate::promql::quote;
use crate::rules;

/// Output directory of every Grafana artifact.
pub const DIR: &str = "infra/observability/grafana";
/// Directory of the dashboard JSON files (what the file provider reads).
pub const DASHBOARDS_DIR: &str = "infra/observability/grafana/dashboards";
/// The manifest listing the generated dashboards.
pub const MANIFEST: &str = "infra/observability/grafana/MANIFEST.generated.md";
/// The `schemaVersion` of Grafana 13 (what `@grafana/schema` 13.2 expects).
pub const SCHEMA_VERSION: u32 = 42;
/// Columns of Grafana's grid.
pub const GRID_COLUMNS: u32 = 24;
/// The uid of the provisioned Prometheus datasource, also the default of the
/// `datasource` variable.
pub const DATASOURCE_UID: &str = "prometheus";
/// Where the provisioned datasource finds Prometheus (the compose service name,
/// like `alertmanager:9093` in `prometheus.yml`).
pub const PROMETHEUS_URL: &str = "http://prometheus:9090";
/// Where Grafana's container mounts [`DASHBOARDS_DIR`]: this directory, then the project's name.
pub const DASHBOARDS_MOUNT: &str = "/etc/grafana/dashboards";
/// Maximum length of a Grafana dashboard uid.
pub const UID_MAX_LEN: usize = 40;
/// The datasource reference every panel and query uses.
const DS_VAR: &str = "${datasource}";

/// The dashboard's uid: the project's name, `-` and the file stem without its
/// leading order number (`obspec`, `00-executive` → `obspec-executive`), at most
/// [`UID_MAX_LEN`] characters of `[A-Za-z0-9_-]`.
pub fn uid(project: &str, file: &str) -> String {
    let stem = file.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_');
    let stem = if stem.is_empty() { file } else { stem };
    let clean: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let project: String =
        project.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let mut uid = format!("{project}-{clean}");
    uid.truncate(UID_MAX_LEN);
    uid
}

/// Path of a dashboard's JSON file, relative to the output root.
pub fn dashboard_path(d: &Dashboard) -> String {
    format!("{DASHBOARDS_DIR}/{}.json", d.file)
}

/// The threshold value of a panel threshold: its own `value`, the SLO's latency
/// threshold for a latency SLO, or its error budget (`1 - objective`) for a ratio SLO.
pub fn threshold_value(spec: &Spec, t: &PanelThreshold) -> Option<f64> {
    if let Some(v) = t.value {
        return Some(v);
    }
    let slo = spec.slos.iter().find(|s| Some(&s.name) == t.slo.as_ref())?;
    match &slo.latency {
        Some(l) => Some(l.threshold),
        None => Some(round(1.0 - slo.objective)),
    }
}

/// `{"mode": "absolute", "steps": [base, …]}` with steps sorted by value.
fn thresholds(base: &str, steps: Vec<(f64, String)>) -> Value {
    let mut steps = steps;
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = vec![json!({ "color": base, "value": Value::Null })];
    out.extend(steps.into_iter().map(|(v, c)| json!({ "color": c, "value": v })));
    json!({ "mode": "absolute", "steps": out })
}

/// A panel's content, before it is placed on the grid.
#[derive(Debug, Clone)]
struct PanelSpec {
    title: String,
    ty: PanelType,
    unit: String,
    width: u32,
    height: u32,
    /// (expr, legend)
    queries: Vec<(String, String)>,
    /// Threshold steps above the base colour.
    steps: Vec<(f64, String)>,
    /// Colour below the first step.
    base: &'static str,
    description: Option<String>,
}

impl PanelSpec {
    fn from_spec(spec: &Spec, p: &Panel) -> PanelSpec {
        PanelSpec {
            title: p.title.clone(),
            ty: p.ty,
            unit: p.unit.clone(),
            width: p.width.clamp(1, GRID_COLUMNS),
            height: p.height.max(1),
            queries: p.queries.iter().map(|q| (crate::rename::widen(spec, &q.expr), q.legend.clone())).collect(),
            steps: p.thresholds.iter().filter_map(|t| Some((threshold_value(spec, t)?, t.color.clone()))).collect(),
            base: "green",
            description: p.description.clone(),
        }
    }

    fn instant(&self) -> bool {
        matches!(self.ty, PanelType::Bargauge | PanelType::Table)
    }

    fn to_json(&self, id: u32, x: u32, y: u32) -> Value {
        let ds = json!({ "type": "prometheus", "uid": DS_VAR });
        let instant = self.instant();
        let targets: Vec<Value> = self
            .queries
            .iter()
            .enumerate()
            .map(|(i, (expr, legend))| {
                let mut t = json!({
                    "refId": ref_id(i),
                    "datasource": ds,
                    "expr": expr,
                    "legendFormat": legend,
                    "editorMode": "code",
                    "range": !instant,
                    "instant": instant,
                });
                if self.ty == PanelType::Table
                    && let Some(m) = t.as_object_mut()
                {
                    m.insert("format".into(), json!("table"));
                }
                t
            })
            .collect();
        let mut defaults = Map::new();
        defaults.insert("unit".into(), json!(self.unit));
        let (ty, options) = match self.ty {
            PanelType::Timeseries => {
                defaults.insert("color".into(), json!({ "mode": "palette-classic" }));
                let style = if self.steps.is_empty() { "off" } else { "dashed" };
                defaults.insert(
                    "custom".into(),
                    json!({
                        "drawStyle": "line",
                        "lineWidth": 1,
                        "fillOpacity": 10,
                        "showPoints": "never",
                        "spanNulls": false,
                        "thresholdsStyle": { "mode": style },
                    }),
                );
                (
                    "timeseries",
                    json!({
                        "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": [] },
                        "tooltip": { "mode": "multi", "sort": "desc" },
                    }),
                )
            }
            PanelType::Stat => {
                defaults.insert("color".into(), json!({ "mode": "thresholds" }));
                (
                    "stat",
                    json!({
                        "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                        "colorMode": "value",
                        "graphMode": "area",
                        "textMode": "auto",
                        "justifyMode": "auto",
                        "orientation": "auto",
                    }),
                )
            }
            PanelType::Bargauge => {
                defaults.insert("color".into(), json!({ "mode": "thresholds" }));
                defaults.insert("min".into(), json!(0));
                (
                    "bargauge",
                    json!({
                        "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                        "displayMode": "gradient",
                        "orientation": "horizontal",
                        "showUnfilled": true,
                    }),
                )
            }
            PanelType::Table => ("table", json!({ "showHeader": true })),
        };
        defaults.insert("thresholds".into(), thresholds(self.base, self.steps.clone()));
        let mut panel = Map::new();
        panel.insert("id".into(), json!(id));
        panel.insert("type".into(), json!(ty));
        panel.insert("title".into(), json!(self.title));
        if let Some(d) = &self.description {
            panel.insert("description".into(), json!(d));
        }
        panel.insert("datasource".into(), ds);
        panel.insert("gridPos".into(), json!({ "h": self.height, "w": self.width, "x": x, "y": y }));
        panel.insert("targets".into(), Value::Array(targets));
        panel.insert("fieldConfig".into(), json!({ "defaults": Value::Object(defaults), "overrides": [] }));
        panel.insert("options".into(), options);
        Value::Object(panel)
    }
}

/// `A`, `B`, … `Z`, `AA`, `AB`…
fn ref_id(i: usize) -> String {
    let letter = |n: usize| char::from(b'A' + (n % 26) as u8);
    if i < 26 { letter(i).to_string() } else { format!("{}{}", letter(i / 26 - 1), letter(i)) }
}

/// The row of panels of one SLO: objective, error budget remaining, burn rate.
fn slo_row(slo: &Slo) -> (String, Vec<PanelSpec>) {
    let sel = |name: &str| format!("{name}{{slo={}}}", quote(&slo.name));
    let period = slo.period_secs().unwrap_or(30 * 86_400);
    // The fastest page threshold (14.4 for a 30-day period) and burn rate 1 (on budget).
    let page = BURN_WINDOWS.first().map(|w| burn_factor(w, period)).unwrap_or(14.4);
    let panels = vec![
        PanelSpec {
            title: format!("{} objective", slo.name),
            ty: PanelType::Stat,
            unit: "percentunit".to_owned(),
            width: 4,
            height: 5,
            queries: vec![(sel(rules::OBJECTIVE), "objective".to_owned())],
            steps: Vec::new(),
            base: "blue",
            description: Some(format!("{} Objective over {}.", slo.description, slo.period_text())),
        },
        PanelSpec {
            title: format!("{} error budget remaining", slo.name),
            ty: PanelType::Stat,
            unit: "percentunit".to_owned(),
            width: 5,
            height: 5,
            queries: vec![(sel(rules::BUDGET_REMAINING), "budget remaining".to_owned())],
            steps: vec![(0.0, "orange".to_owned()), (0.25, "green".to_owned())],
            base: "red",
            description: Some(format!(
                "Fraction of the {} error budget ({}) left; below 0 the SLO is missed.",
                slo.period_text(),
                fmt_float(round(1.0 - slo.objective))
            )),
        },
        PanelSpec {
            title: format!("{} burn rate", slo.name),
            ty: PanelType::Timeseries,
            unit: "short".to_owned(),
            width: 15,
            height: 5,
            queries: vec![(sel(rules::CURRENT_BURN_RATE), "burn rate".to_owned())],
            steps: vec![(1.0, "orange".to_owned()), (page, "red".to_owned())],
            base: "green",
            description: Some(format!(
                "Error budget burn rate over {}: 1 spends the budget exactly over {}; {} pages.",
                rules::WINDOWS[0],
                slo.period_text(),
                fmt_float(page)
            )),
        },
    ];
    (format!("SLO {}", slo.name), panels)
}

/// The row of a `calendar_month` SLO's month so far: budget spent against the
/// share of the month elapsed, and the month's event counts.
fn calendar_row(slo: &Slo) -> Option<(String, Vec<PanelSpec>)> {
    if !slo.is_calendar() {
        return None;
    }
    let sel = |name: &str| format!("{name}{{slo={}}}", quote(&slo.name));
    let panels = vec![
        PanelSpec {
            title: format!("{} budget spent this month", slo.name),
            ty: PanelType::Timeseries,
            unit: "percentunit".to_owned(),
            width: 12,
            height: 6,
            queries: vec![
                (sel(rules::PERIOD_BURN_RATE), "budget spent".to_owned()),
                (sel(rules::PERIOD_ELAPSED), "month elapsed".to_owned()),
            ],
            steps: vec![(1.0, "red".to_owned())],
            base: "green",
            description: Some(format!(
                "Share of this calendar month's error budget ({}) spent so far (UTC; the hour under way at the current 5m rate), against the share of the month elapsed: spending ahead of the month misses the SLO at this rate; above 100% it is missed.",
                fmt_float(round(1.0 - slo.objective))
            )),
        },
        PanelSpec {
            title: format!("{} events this month", slo.name),
            ty: PanelType::Timeseries,
            unit: "short".to_owned(),
            width: 12,
            height: 6,
            queries: vec![
                (sel(rules::EVENTS_MONTH), "events".to_owned()),
                (sel(rules::BAD_EVENTS_MONTH), "bad events".to_owned()),
            ],
            steps: Vec::new(),
            base: "blue",
            description: Some("Events and bad events counted since the calendar month began (UTC).".to_owned()),
        },
    ];
    Some((format!("SLO {}: this calendar month", slo.name), panels))
}

/// Places rows of panels on the grid: a row header spans the width, then the
/// row's panels go left to right, wrapping at [`GRID_COLUMNS`].
fn layout(rows: &[(String, Vec<PanelSpec>)]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut id = 0u32;
    let mut y = 0u32;
    for (title, panels) in rows {
        id += 1;
        out.push(json!({
            "id": id,
            "type": "row",
            "title": title,
            "collapsed": false,
            "gridPos": { "h": 1, "w": GRID_COLUMNS, "x": 0, "y": y },
            "panels": [],
        }));
        y += 1;
        let (mut x, mut line_h) = (0u32, 0u32);
        for p in panels {
            if x + p.width > GRID_COLUMNS {
                y += line_h;
                x = 0;
                line_h = 0;
            }
            id += 1;
            out.push(p.to_json(id, x, y));
            x += p.width;
            line_h = line_h.max(p.height);
        }
        y += line_h;
    }
    out
}

/// The series `label_values()` reads a variable's values from: the first
/// counter or gauge with the label that the dashboard queries (then any
/// metric it queries, then any metric of the spec), histograms by `_count`.
pub fn variable_series(spec: &Spec, d: &Dashboard, label: &str) -> Option<String> {
    let exprs: Vec<&str> = d.rows.iter().flat_map(|r| &r.panels).flat_map(|p| &p.queries).map(|q| &*q.expr).collect();
    let used = |name: &str| exprs.iter().any(|e| e.contains(name));
    let mut candidates: Vec<(bool, bool, usize, String)> = spec
        .metrics
        .iter()
        .enumerate()
        .filter(|(_, m)| m.labels.iter().any(|l| l == label))
        .map(|(i, m)| {
            let series = if m.kind == MetricKind::Histogram { format!("{}_count", m.name) } else { m.name.clone() };
            (!used(&m.name), m.kind == MetricKind::Histogram, i, series)
        })
        .collect();
    candidates.sort();
    candidates.into_iter().next().map(|c| c.3)
}

fn templating(spec: &Spec, d: &Dashboard) -> Value {
    let mut list = vec![json!({
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": { "text": "Prometheus", "value": DATASOURCE_UID },
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": false,
    })];
    for var in &d.variables {
        let series = variable_series(spec, d, var).unwrap_or_else(|| "up".to_owned());
        list.push(json!({
            "name": var,
            "label": var,
            "type": "query",
            "datasource": { "type": "prometheus", "uid": DS_VAR },
            "query": {
                "query": format!("label_values({series}, {var})"),
                "refId": "PrometheusVariableQueryEditor-VariableQuery",
                "qryType": 1,
            },
            "current": { "text": ["All"], "value": ["$__all"] },
            "includeAll": true,
            "allValue": ".*",
            "multi": true,
            "hide": 0,
            "options": [],
            "refresh": 2,
            "regex": "",
            "sort": 1,
            "skipUrlSync": false,
        }));
    }
    json!({ "list": list })
}

/// The dashboard JSON of one spec dashboard.
pub fn dashboard(spec: &Spec, d: &Dashboard, sources: &[String]) -> Value {
    let mut rows: Vec<(String, Vec<PanelSpec>)> = d
        .rows
        .iter()
        .map(|r| (r.title.clone(), r.panels.iter().map(|p| PanelSpec::from_spec(spec, p)).collect()))
        .collect();
    if d.slo_rows {
        for slo in &spec.slos {
            rows.push(slo_row(slo));
            rows.extend(calendar_row(slo));
        }
    }
    json!({
        "description": format!("{} Dashboard `{}`.", header::text(sources), d.file),
        "uid": uid(&spec.project.name, &d.file),
        "title": d.title,
        "tags": d.tags,
        "id": Value::Null,
        "editable": false,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "timezone": "browser",
        "refresh": d.refresh,
        "time": { "from": d.time_from, "to": "now" },
        "links": [],
        "annotations": {
            "list": [{
                "builtIn": 1,
                "datasource": { "type": "grafana", "uid": "-- Grafana --" },
                "enable": true,
                "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            }],
        },
        "templating": templating(spec, d),
        "panels": layout(&rows),
    })
}

/// Every PromQL expression of a rendered dashboard, with the panel title,
/// including panels nested in collapsed rows.
pub fn panel_exprs(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(e) = t["expr"].as_str() {
                    out.push((p["title"].as_str().unwrap_or_default().to_owned(), e.to_owned()));
                }
            }
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

fn yaml_file(path: &str, sources: &[String], comment: &str, value: &Value) -> GeneratedFile {
    GeneratedFile {
        path: format!("{DIR}/{path}"),
        contents: format!("{}{comment}{}", header::hash_comment(sources), yaml::to_string(value)),
    }
}

/// Renders every dashboard, the two provisioning files and the manifest.
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    let mut files = Vec::new();
    let mut manifest = format!(
        "{}# Grafana dashboards\n\nJSON cannot carry a comment, so this file marks them: every file below is \
         generated by `cargo xtask gen` from the spec's `dashboards` (with its `slos` and `metrics`). \
         Do not edit: change the spec and run `cargo xtask gen`.\n\n| file | title | uid |\n|---|---|---|\n",
        header::html_comment(sources)
    );
    for d in &spec.dashboards {
        let value = dashboard(spec, d, sources);
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        let path = dashboard_path(d);
        manifest.push_str(&format!(
            "| `{}` | {} | `{}` |\n",
            path.trim_start_matches("infra/observability/"),
            d.title.replace('|', "\\|"),
            uid(&spec.project.name, &d.file)
        ));
        files.push(GeneratedFile { path, contents: format!("{text}\n") });
    }
    let mount = format!("{DASHBOARDS_MOUNT}/{}", spec.project.name);
    manifest.push_str(&format!(
        "\nGrafana loads them through `provisioning/dashboards.yaml` (mount `grafana/dashboards/` at \
         `{mount}`) with the Prometheus datasource of `provisioning/datasources.yaml` (uid `{DATASOURCE_UID}`).\n"
    ));
    files.push(GeneratedFile { path: MANIFEST.to_owned(), contents: manifest });
    let providers = json!({
        "apiVersion": 1,
        "providers": [{
            "name": spec.project.name,
            "orgId": 1,
            "folder": spec.project.name,
            "type": "file",
            "disableDeletion": true,
            "allowUiUpdates": false,
            "updateIntervalSeconds": 30,
            "options": { "path": mount, "foldersFromFilesStructure": false },
        }],
    });
    files.push(yaml_file(
        "provisioning/dashboards.yaml",
        sources,
        &format!("# Mount infra/observability/grafana/dashboards at {mount}.\n"),
        &providers,
    ));
    let datasources = json!({
        "apiVersion": 1,
        "datasources": [{
            "name": "Prometheus",
            "type": "prometheus",
            "uid": DATASOURCE_UID,
            "access": "proxy",
            "url": PROMETHEUS_URL,
            "isDefault": true,
            "editable": false,
            "jsonData": { "timeInterval": spec.project.scrape_interval },
        }],
    });
    files.push(yaml_file("provisioning/datasources.yaml", sources, "", &datasources));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_spec() -> Spec {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
        let inputs = crate::load::read_dir(&dir, "spec").expect("read spec/");
        match crate::check(&inputs) {
            Ok(l) => l.spec,
            Err(d) => panic!("{}", crate::diag::render_all(&d)),
        }
    }

    #[test]
    fn every_panel_query_passes_the_promql_checker() {
        let spec = repo_spec();
        let cat = rules::catalog(&spec);
        let mut n = 0;
        for d in &spec.dashboards {
            let v = dashboard(&spec, d, &[]);
            for (title, expr) in panel_exprs(&v) {
                let problems = crate::promql::check(&expr, &cat);
                assert!(problems.is_empty(), "{}: panel `{title}`: `{expr}`: {problems:?}", d.file);
                n += 1;
            }
            for var in v["templating"]["list"].as_array().expect("list").iter().skip(1) {
                let q = var["query"]["query"].as_str().expect("query");
                let inner = q.trim_start_matches("label_values(").split(',').next().expect("series");
                assert!(crate::promql::check(inner, &cat).is_empty(), "{q}");
            }
        }
        assert!(n > 30, "only {n} queries");
    }

    #[test]
    fn slo_rows_use_the_recording_rules() {
        let spec = repo_spec();
        let d = spec.dashboards.iter().find(|d| d.slo_rows).expect("a dashboard with slo_rows");
        let exprs: Vec<String> = panel_exprs(&dashboard(&spec, d, &[])).into_iter().map(|(_, e)| e).collect();
        for slo in &spec.slos {
            for name in [rules::OBJECTIVE, rules::BUDGET_REMAINING, rules::CURRENT_BURN_RATE] {
                let want = format!("{name}{{slo=\"{}\"}}", slo.name);
                assert!(exprs.contains(&want), "missing {want}");
            }
        }
    }

    #[test]
    fn panels_do_not_overlap_and_ids_are_unique() {
        let spec = repo_spec();
        for d in &spec.dashboards {
            let v = dashboard(&spec, d, &[]);
            let panels = v["panels"].as_array().expect("panels");
            let boxes: Vec<(u64, u64, u64, u64)> = panels
                .iter()
                .map(|p| {
                    let g = &p["gridPos"];
                    let n = |k: &str| g[k].as_u64().expect("number");
                    (n("x"), n("y"), n("w"), n("h"))
                })
                .collect();
            for (i, a) in boxes.iter().enumerate() {
                assert!(a.0 + a.2 <= 24, "{}: panel {i} exceeds 24 columns", d.file);
                for b in &boxes[i + 1..] {
                    let apart = a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
                    assert!(apart, "{}: {a:?} overlaps {b:?}", d.file);
                }
            }
            let mut ids: Vec<u64> = panels.iter().map(|p| p["id"].as_u64().expect("id")).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), panels.len());
        }
    }

    #[test]
    fn thresholds_come_from_slos() {
        let spec = repo_spec();
        let t = |slo: &str| {
            threshold_value(&spec, &PanelThreshold { value: None, slo: Some(slo.into()), color: "red".into() })
        };
        assert_eq!(t("gateway-latency"), Some(0.3));
        assert_eq!(t("gateway-errors"), Some(0.003));
        assert_eq!(t("nope"), None);
    }

    #[test]
    fn uids_are_stable_and_short() {
        assert_eq!(uid("obspec", "00-executive"), "obspec-executive");
        assert_eq!(uid("obspec", "10-office-mcp"), "obspec-office-mcp");
        assert_eq!(uid("payments", "42"), "payments-42");
        assert_eq!(uid("my app", "01-x"), "my-app-x");
        assert!(uid("obspec", &"x".repeat(80)).len() <= UID_MAX_LEN);
        assert_eq!(ref_id(0), "A");
        assert_eq!(ref_id(27), "AB");
    }

    #[test]
    fn rendering_is_deterministic() {
        let spec = repo_spec();
        assert_eq!(render(&spec, &["spec/a.yaml".into()]), render(&spec, &["spec/a.yaml".into()]));
    }
}
