//! Static HTML previews of the generated Grafana dashboards.
//!
//! One self-contained page per dashboard (inline CSS, no script, no external
//! resource) that draws the grid from each panel's `gridPos` with absolutely
//! positioned boxes, showing titles, types, units, thresholds and queries. It
//! is for review (and for a headless-browser test), not an artifact: its row
//! of [`crate::render::RENDERERS`] owns nothing, so it is not part of
//! [`crate::render::all`] nor of `gen --check`; `cargo xtask gen` writes it
//! under [`DIR`] (not committed) from [`crate::render::uncommitted`].

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::Spec;
use crate::output::GeneratedFile;
use crate::render::{grafana, header};

/// Where the previews are written, relative to the workspace root.
pub const DIR: &str = "target/dashboard-preview";
/// Pixels per grid row (Grafana: 30px rows plus an 8px gutter).
const ROW_PX: u64 = 38;

const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;padding:16px 20px;background:#111217;color:#ccccdc;font:13px/1.35 system-ui,sans-serif}\
h1{margin:0 0 4px;font-size:20px;color:#fff}\
.meta{margin:0 0 12px;color:#8e8e9a;font-size:12px}\
.vars span{display:inline-block;margin:0 6px 12px 0;padding:3px 8px;border:1px solid #34343b;border-radius:3px;\
background:#22252b;color:#d8d9da;font-size:12px}\
.grid{position:relative;width:100%}\
.p{position:absolute;overflow:hidden;padding:6px 8px;border:1px solid #2c3235;border-radius:4px;background:#181b1f}\
.p h2{margin:0 0 4px;font-size:13px;color:#e0e0e8;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\
.row{border:0;border-bottom:1px solid #34343b;background:transparent;padding:4px 0}\
.row h2{font-size:15px;color:#fff}\
.badge{display:inline-block;margin-right:6px;padding:0 6px;border-radius:8px;font-size:11px;color:#111217}\
.timeseries{background:#73bf69}.stat{background:#5794f2}.bargauge{background:#ff9830}.table{background:#b877d9}\
.unit{color:#8e8e9a;font-size:11px}\
.th{display:inline-block;margin-left:6px;padding:0 5px;border-radius:3px;font-size:11px;color:#111217}\
code{display:block;margin-top:3px;padding:2px 4px;border-left:3px solid #3d71d9;background:#0b0c0e;color:#9fc5ff;\
font:11px/1.3 ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}\
code i{color:#8e8e9a;font-style:normal}\
ul{margin:0;padding-left:18px}a{color:#6e9fff}\
.cards{display:flex;flex-wrap:wrap;gap:16px}\
.card{width:320px;padding:10px;border:1px solid #2c3235;border-radius:4px;background:#181b1f}\
.card h2{margin:0 0 6px;font-size:15px}\
.thumb{position:relative;margin-top:8px;background:#0b0c0e}\
.thumb div{position:absolute;border:1px solid #111217;opacity:.85}\
.thumb .rowbar{background:#34343b}";

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A colour name or hex value safe to put in a `style` attribute.
fn css_color(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '#' || c == '-') {
        s.to_owned()
    } else {
        "gray".to_owned()
    }
}

fn num(v: &Value, k: &str) -> u64 {
    v["gridPos"][k].as_u64().unwrap_or(0)
}

fn panel_box(out: &mut String, p: &Value) {
    let (x, y, w, h) = (num(p, "x"), num(p, "y"), num(p, "w"), num(p, "h"));
    let ty = p["type"].as_str().unwrap_or("unknown");
    let title = esc(p["title"].as_str().unwrap_or_default());
    let style = format!(
        "left:calc({x} / 24 * 100%);width:calc({w} / 24 * 100% - 6px);top:{}px;height:{}px",
        y * ROW_PX,
        (h * ROW_PX).saturating_sub(6)
    );
    if ty == "row" {
        let _ = write!(out, "<div class=\"p row\" style=\"{style}\"><h2>{title}</h2></div>");
        return;
    }
    let defaults = &p["fieldConfig"]["defaults"];
    let _ = write!(
        out,
        "<div class=\"p\" style=\"{style}\"><h2 title=\"{title}\">{title}</h2>\
         <span class=\"badge {}\">{}</span><span class=\"unit\">unit {}</span>",
        esc(ty),
        esc(ty),
        esc(defaults["unit"].as_str().unwrap_or("none"))
    );
    for step in defaults["thresholds"]["steps"].as_array().into_iter().flatten().skip(1) {
        let _ = write!(
            out,
            "<span class=\"th\" style=\"background:{}\">{}</span>",
            css_color(step["color"].as_str().unwrap_or_default()),
            esc(&step["value"].to_string())
        );
    }
    for t in p["targets"].as_array().into_iter().flatten() {
        let _ = write!(
            out,
            "<code><i>{} {}</i>\n{}</code>",
            esc(t["refId"].as_str().unwrap_or_default()),
            esc(t["legendFormat"].as_str().unwrap_or_default()),
            esc(t["expr"].as_str().unwrap_or_default())
        );
    }
    out.push_str("</div>");
}

/// The preview page of one rendered dashboard (the JSON `grafana::dashboard` returns).
pub fn page(dashboard: &Value) -> String {
    let title = esc(dashboard["title"].as_str().unwrap_or_default());
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{title}</h1><p class=\"meta\">uid {} · time {} to {} · refresh {} · tags {}</p><p class=\"meta\">{}</p>",
        esc(dashboard["uid"].as_str().unwrap_or_default()),
        esc(dashboard["time"]["from"].as_str().unwrap_or_default()),
        esc(dashboard["time"]["to"].as_str().unwrap_or_default()),
        esc(dashboard["refresh"].as_str().unwrap_or_default()),
        esc(&dashboard["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", ")),
        esc(dashboard["description"].as_str().unwrap_or_default()),
    );
    body.push_str("<div class=\"vars\">");
    for v in dashboard["templating"]["list"].as_array().into_iter().flatten() {
        let query = v["query"]["query"].as_str().or_else(|| v["query"].as_str()).unwrap_or_default();
        let current = if v["includeAll"] == true { "All" } else { v["current"]["text"].as_str().unwrap_or_default() };
        let _ = write!(
            body,
            "<span title=\"{}\">${} = {}</span>",
            esc(query),
            esc(v["name"].as_str().unwrap_or_default()),
            esc(current)
        );
    }
    body.push_str("</div>");
    let panels: Vec<&Value> = dashboard["panels"].as_array().into_iter().flatten().collect();
    let bottom = panels.iter().map(|p| num(p, "y") + num(p, "h")).max().unwrap_or(0);
    let _ = write!(body, "<div class=\"grid\" style=\"height:{}px\">", bottom * ROW_PX);
    for p in panels {
        panel_box(&mut body, p);
    }
    body.push_str("</div>");
    html(&format!("{title} (preview)"), &body)
}

fn html(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{CSS}</style></head><body>{body}</body></html>\n"
    )
}

/// A scaled-down map of a dashboard's grid: one box per panel, coloured by type.
fn thumbnail(dashboard: &Value) -> String {
    const PX: u64 = 6;
    let panels: Vec<&Value> = dashboard["panels"].as_array().into_iter().flatten().collect();
    let bottom = panels.iter().map(|p| num(p, "y") + num(p, "h")).max().unwrap_or(0).min(60);
    let mut out = format!("<div class=\"thumb\" style=\"height:{}px\">", bottom * PX);
    for p in panels.iter().filter(|p| num(p, "y") < bottom) {
        let ty = p["type"].as_str().unwrap_or_default();
        let class = if ty == "row" { "rowbar".to_owned() } else { esc(ty) };
        let h = (num(p, "y") + num(p, "h")).min(bottom) - num(p, "y");
        let _ = write!(
            out,
            "<div class=\"{class}\" style=\"left:calc({} / 24 * 100%);width:calc({} / 24 * 100%);top:{}px;height:{}px\"></div>",
            num(p, "x"),
            num(p, "w"),
            num(p, "y") * PX,
            h * PX
        );
    }
    out.push_str("</div>");
    out
}

/// The preview of every dashboard of the spec, plus an `index.html` linking
/// them, as files under [`DIR`].
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    let mut files = Vec::new();
    let mut index = format!(
        "<h1>Dashboard previews</h1><p class=\"meta\">{}</p><p class=\"meta\">Static previews of the Grafana \
         dashboards (layout and queries, no data).</p><div class=\"cards\">",
        esc(&header::text(sources))
    );
    for d in &spec.dashboards {
        let value = grafana::dashboard(spec, d, sources);
        let panels = grafana::panel_exprs(&value).len();
        let _ = write!(
            index,
            "<div class=\"card\"><h2><a href=\"{}.html\">{}</a></h2><span class=\"unit\">{} · {} queries</span>{}</div>",
            esc(&d.file),
            esc(&d.title),
            esc(&d.file),
            panels,
            thumbnail(&value)
        );
        files.push(GeneratedFile { path: format!("{DIR}/{}.html", d.file), contents: page(&value) });
    }
    index.push_str("</div>");
    files.push(GeneratedFile { path: format!("{DIR}/index.html"), contents: html("Dashboard previews", &index) });
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_sanitises() {
        assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
        assert_eq!(css_color("red"), "red");
        assert_eq!(css_color("#ff0000"), "#ff0000");
        assert_eq!(css_color("red;background:url(x)"), "gray");
    }

    #[test]
    fn page_positions_panels_from_grid_pos() {
        let d = serde_json::json!({
            "title": "T<1>",
            "panels": [
                {"type": "row", "title": "R", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
                {"type": "stat", "title": "S", "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
                 "targets": [{"refId": "A", "expr": "up{a=\"b\"}", "legendFormat": "x"}]},
            ]
        });
        let html = page(&d);
        assert!(html.contains("T&lt;1&gt;"));
        assert!(html.contains("left:calc(12 / 24 * 100%);width:calc(12 / 24 * 100% - 6px);top:38px;height:298px"));
        assert!(html.contains("up{a=&quot;b&quot;}"));
        assert!(html.contains("height:342px"));
        assert!(!html.contains("<script") && !html.contains("url("));
    }
}
