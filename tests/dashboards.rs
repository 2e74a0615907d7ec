//! The generated Grafana dashboards against their real consumers: Grafana's
//! own TypeScript types (`tsc --strict` via `tests/grafana-schema/check.mjs`), the
//! 24-column grid, a real Prometheus answering every panel query, and a
//! headless Chromium rendering the static previews.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use obspec_codegen::render::{grafana, preview};
use obspec_tests::{Exporter, Prometheus, exposition, root, spec, urlencode};
use serde_json::Value;

/// The committed dashboard files, as (path, parsed JSON).
fn dashboards() -> Vec<(PathBuf, Value)> {
    let spec = spec();
    assert!(!spec.dashboards.is_empty(), "the spec has no dashboards");
    spec.dashboards
        .iter()
        .map(|d| {
            let path = root().join(grafana::dashboard_path(d));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask gen`)", path.display()));
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, value)
        })
        .collect()
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("obspec-{name}-{}-{}", std::process::id(), obspec_tests::free_port()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `node SCRIPT ARGS…` from the workspace root; returns success and the output.
fn node(script: &str, args: &[&Path]) -> (bool, String) {
    let out = Command::new("node")
        .arg(root().join(script))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run node (install it with scripts/setup.sh)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn grafana_types_accept_the_dashboards_and_reject_a_bogus_property() {
    let files = dashboards();
    let paths: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let (ok, out) = node("tests/grafana-schema/check.mjs", &paths);
    assert!(ok, "tsc rejects a generated dashboard:\n{out}");
    assert!(out.contains(&format!("{} ok, 0 failed", files.len())), "{out}");

    // The check is not vacuous: a panel with a misspelt property fails it.
    let tmp = TempDir::new("bogus-dashboard");
    let (_, mut value) = files.into_iter().next().expect("a dashboard");
    let panel = value["panels"]
        .as_array_mut()
        .and_then(|ps| ps.iter_mut().find(|p| p["type"] != "row"))
        .and_then(Value::as_object_mut)
        .expect("a panel");
    let grid = panel.remove("gridPos").expect("gridPos");
    panel.insert("gridPosition".to_owned(), grid);
    let bogus = tmp.0.join("bogus.json");
    std::fs::write(&bogus, serde_json::to_string_pretty(&value).expect("json")).expect("write bogus dashboard");
    let (ok, out) = node("tests/grafana-schema/check.mjs", &[&bogus]);
    assert!(!ok, "tsc accepted a panel with `gridPosition`:\n{out}");
    assert!(out.contains("gridPosition"), "{out}");
}

#[test]
fn panels_fit_the_grid_without_overlapping() {
    for (path, d) in dashboards() {
        let panels = d["panels"].as_array().expect("panels");
        let mut boxes = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for p in panels {
            let g = &p["gridPos"];
            let n = |k: &str| g[k].as_u64().unwrap_or_else(|| panic!("{}: gridPos.{k} of {p}", path.display()));
            let b = (n("x"), n("y"), n("w"), n("h"), p["title"].as_str().unwrap_or_default().to_owned());
            assert!(b.2 >= 1 && b.3 >= 1, "{}: empty panel {b:?}", path.display());
            assert!(b.0 + b.2 <= 24, "{}: {b:?} is wider than 24 columns", path.display());
            assert!(ids.insert(p["id"].as_u64().expect("id")), "{}: duplicate id {}", path.display(), p["id"]);
            boxes.push(b);
        }
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let apart = a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
                assert!(apart, "{}: {a:?} overlaps {b:?}", path.display());
            }
        }
    }
}

/// Replaces the template variables a panel query may hold by what "All" means.
fn resolve_variables(expr: &str, vars: &[String]) -> String {
    let mut out = expr.to_owned();
    for v in vars {
        out = out.replace(&format!("${{{v}}}"), ".*").replace(&format!("${v}"), ".*");
    }
    out.replace("$__rate_interval", "1m")
}

/// `label="value"` equality matchers of an expression (not `!=`, `=~`).
fn equality_matchers(expr: &str) -> Vec<String> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    for i in 1..b.len().saturating_sub(1) {
        if b[i] == b'=' && b[i + 1] == b'"' && !matches!(b[i - 1], b'!' | b'=' | b'~') {
            let start = expr[..i].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |s| s + 1);
            let rest = &expr[i + 2..];
            if let Some(end) = rest.find('"') {
                out.push(format!("{}=\"{}\"", &expr[start..i], &rest[..end]));
            }
        }
    }
    out
}

#[test]
fn prometheus_answers_every_panel_query() {
    let spec = spec();
    let started = Instant::now();
    let for_exporter = spec.clone();
    let exporter = Exporter::start(move || exposition(&for_exporter, started.elapsed().as_secs_f64() + 1.0));
    let prom = Prometheus::start(&spec, &exporter.addr);
    let emitted = exposition(&spec, 1.0);
    let spec_labels: Vec<&str> = spec.labels.iter().map(|l| l.name.as_str()).collect();

    // Every panel query, with "All" for each variable.
    let mut queries: Vec<(String, String, String)> = Vec::new();
    for (path, d) in dashboards() {
        let vars: Vec<String> = d["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect();
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        for (title, expr) in grafana::panel_exprs(&d) {
            queries.push((file.clone(), title, resolve_variables(&expr, &vars)));
        }
    }
    assert!(queries.iter().all(|(_, _, e)| !e.contains('$')), "an unresolved variable is left");

    // Enough scrapes for 5m rates, and the SLO recording rules exist.
    prom.wait_for(Duration::from_secs(60), |p| {
        let q = format!("/api/v1/query?query={}", urlencode(obspec_codegen::rules::BUDGET_REMAINING));
        let n = p.api(&q)["result"].as_array().map_or(0, Vec::len);
        if n == spec.slos.len() { Ok(()) } else { Err(format!("{n} SLOs have a budget-remaining series")) }
    });
    std::thread::sleep(Duration::from_secs(3));

    let range = |expr: &str| {
        let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
        let path =
            format!("/api/v1/query_range?query={}&start={}&end={end}&step=1", urlencode(expr), end.saturating_sub(60));
        let (status, body) = prom.get(&path).expect("query prometheus");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{expr}: {e}: {body}"));
        (status, v)
    };
    let mut failures = Vec::new();
    let mut expected_empty = Vec::new();
    for (file, title, expr) in &queries {
        let (status, v) = range(expr);
        if status != 200 || v["status"] != "success" {
            failures.push(format!("{file} / {title}: `{expr}`: HTTP {status}: {v}"));
            continue;
        }
        let series = v["data"]["result"].as_array().map_or(0, Vec::len);
        // The exporter emits two values of each closed label: a query that pins
        // another value legitimately has no data.
        let unmatched: Vec<String> = equality_matchers(expr)
            .into_iter()
            .filter(|m| spec_labels.iter().any(|l| m.starts_with(&format!("{l}=\""))) && !emitted.contains(m.as_str()))
            .collect();
        if !unmatched.is_empty() {
            expected_empty.push(format!("{file} / {title}: {unmatched:?}"));
        } else if series == 0 {
            failures.push(format!("{file} / {title}: `{expr}` returned no data"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} panel queries failed:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
    assert!(
        expected_empty.len() * 10 < queries.len(),
        "too many queries the exporter cannot feed: {expected_empty:#?}"
    );
}

#[test]
fn previews_render_in_a_headless_browser() {
    let spec = spec();
    let tmp = TempDir::new("dashboard-preview");
    let files = preview::render(&spec, &[]);
    assert_eq!(files.len(), spec.dashboards.len() + 1, "one page per dashboard and an index");
    for f in &files {
        for external in ["<script", "<link", "<img", "url(", "@import"] {
            assert!(!f.contents.contains(external), "{}: `{external}`: previews must be self-contained", f.path);
        }
        let name = Path::new(&f.path).file_name().expect("file name");
        let html = tmp.0.join(name);
        std::fs::write(&html, &f.contents).expect("write preview");
        let png = html.with_extension("png");
        let (ok, out) = node("tests/preview/screenshot.mjs", &[&html, &png]);
        assert!(ok, "{}: screenshot failed or blank:\n{out}", f.path);
    }
}
