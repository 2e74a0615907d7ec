//! The report a person reads: `target/dod/REPORT.md` and `target/dod/report.html`
//! with SVG charts (plotters) drawn from Prometheus `query_range` over the run.
//! Every number comes from this run.

use std::fmt::Write as _;
use std::time::Duration;

use plotters::prelude::*;

use super::prom::Series;
use super::{Ctx, ProofResult};

/// One chart: a title, a unit, queries with a legend and a scale factor.
struct Chart {
    file: &'static str,
    title: &'static str,
    unit: &'static str,
    lines: Vec<(&'static str, String, f64)>,
    /// Mark labels shaded on this chart.
    marks: &'static [&'static str],
}

fn charts(scrape: u64) -> Vec<Chart> {
    let w = format!("{}s", (scrape * 5).max(5));
    let w2 = format!("{}s", (scrape * 15).max(15));
    let app = "route!~\"/_.*\"";
    vec![
        Chart {
            file: "rate.svg",
            title: "Core request rate (Prometheus)",
            unit: "req/s",
            lines: vec![(
                "core_http_requests_total",
                format!("sum(rate(core_http_requests_total{{{app}}}[{w}]))"),
                1.0,
            )],
            marks: &["5k req/min", "ramp"],
        },
        Chart {
            file: "latency.svg",
            title: "Core latency p50 / p99 (histogram_quantile)",
            unit: "ms",
            lines: vec![
                (
                    "p50",
                    format!(
                        "histogram_quantile(0.5, sum by (le) (rate(core_http_request_duration_seconds_bucket{{{app}}}[{w}])))"
                    ),
                    1000.0,
                ),
                (
                    "p99",
                    format!(
                        "histogram_quantile(0.99, sum by (le) (rate(core_http_request_duration_seconds_bucket{{{app}}}[{w}])))"
                    ),
                    1000.0,
                ),
            ],
            marks: &["5k req/min", "ramp"],
        },
        Chart {
            file: "errors.svg",
            title: "Core 5xx ratio",
            unit: "%",
            lines: vec![(
                "5xx / all",
                format!(
                    "sum(rate(core_http_requests_total{{{app},code=~\"5..\"}}[{w}])) / sum(rate(core_http_requests_total{{{app}}}[{w}]))"
                ),
                100.0,
            )],
            marks: &["5k req/min", "ramp"],
        },
        Chart {
            file: "backpressure.svg",
            title: "Office BACKPRESSURE ratio, with the alert's pending and firing windows",
            unit: "%",
            lines: vec![(
                "BACKPRESSURE / all tool calls",
                format!(
                    "sum(rate(office_mcp_call_total{{err=\"BACKPRESSURE\"}}[{w2}])) / sum(rate(office_mcp_call_total[{w2}]))"
                ),
                100.0,
            )],
            marks: &["alert pending", "alert firing"],
        },
        Chart {
            file: "reconnect.svg",
            title: "Office WS reconnect time p95 since office restarted (server, office_ws_reconnect_duration_seconds)",
            unit: "ms",
            lines: vec![(
                "p95",
                // Cumulative since office's restart: a burst of reconnects between
                // two scrapes gives `rate()` nothing to see.
                "histogram_quantile(0.95, sum by (le) (office_ws_reconnect_duration_seconds_bucket))".to_owned(),
                1000.0,
            )],
            marks: &["WS kills"],
        },
    ]
}

const COLORS: [RGBColor; 4] =
    [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];
const MARK_COLORS: [RGBColor; 3] = [RGBColor(255, 191, 0), RGBColor(214, 39, 40), RGBColor(120, 120, 120)];

fn draw(
    chart: &Chart,
    data: &[(String, Vec<(f64, f64)>)],
    marks: &[(String, f64, f64)],
    span: f64,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let ymax = data.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)).fold(0.0f64, f64::max);
        let ymax = if ymax > 0.0 { ymax * 1.15 } else { 1.0 };
        let mut c = ChartBuilder::on(&root)
            .caption(chart.title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..span.max(1.0), 0f64..ymax)
            .map_err(|e| e.to_string())?;
        c.configure_mesh()
            .x_desc("seconds since the first proof")
            .y_desc(chart.unit)
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (label, from, to)) in marks.iter().enumerate() {
            let color = MARK_COLORS[i % MARK_COLORS.len()];
            c.draw_series(std::iter::once(Rectangle::new([(*from, 0.0), (*to, ymax)], color.mix(0.15).filled())))
                .map_err(|e| e.to_string())?
                .label(label.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.mix(0.4).filled()));
        }
        for (i, (name, points)) in data.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            c.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2)));
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1_048_576.0))
        .unwrap_or_default();
    format!("{cpus} cores ({model}), {mem}")
}

/// Writes the report; returns the paths written.
pub async fn write(
    ctx: &Ctx,
    results: &[ProofResult],
    start: f64,
    end: f64,
    total: Duration,
) -> Result<Vec<String>, String> {
    let scrape = obspec_codegen::names::duration_seconds(&ctx.env.scrape_interval).unwrap_or(1);
    let span = end - start;
    let step = (span / 300.0).max(scrape as f64).ceil();
    let dir = ctx.out.join("charts");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut svgs: Vec<(&'static str, &'static str, String)> = Vec::new();
    for chart in charts(scrape) {
        let mut data = Vec::new();
        for (name, q, scale) in &chart.lines {
            let series: Vec<Series> = ctx.prom.query_range(q, start, end, step).await.unwrap_or_default();
            let points: Vec<(f64, f64)> = series
                .first()
                .map(|s| s.points.iter().filter(|p| p.1.is_finite()).map(|(t, v)| (t - start, v * scale)).collect())
                .unwrap_or_default();
            data.push(((*name).to_owned(), points));
        }
        let marks: Vec<(String, f64, f64)> = ctx
            .marks
            .iter()
            .filter(|m| chart.marks.contains(&m.label.as_str()))
            .map(|m| (m.label.clone(), m.from - start, m.to - start))
            .collect();
        let svg = draw(&chart, &data, &marks, span)?;
        std::fs::write(dir.join(chart.file), &svg).map_err(|e| format!("{}: {e}", chart.file))?;
        svgs.push((chart.file, chart.title, svg));
    }

    let passed = results.iter().filter(|r| r.passed()).count();
    let mode = if ctx.opts.quick {
        "`cargo xtask dod --quick` (reduced durations, dev build)"
    } else {
        "`cargo xtask dod` (full run, release build)"
    };
    let mut md = String::new();
    let _ = writeln!(md, "# Proof of Done (blueprint §11)\n");
    let _ = writeln!(md, "- command: {mode}");
    let _ = writeln!(md, "- machine: {}", machine());
    let _ = writeln!(md, "- result: **{passed} of {} proofs passed**, in {:.0} s", results.len(), total.as_secs_f64());
    if !ctx.opts.faults.is_empty() {
        let _ = writeln!(md, "- injected faults: {}", ctx.opts.faults.join(", "));
    }
    let _ = writeln!(
        md,
        "- stack: Prometheus `{}` (config `infra/observability/{}/{}`), Alertmanager `{}` (`infra/observability/alertmanager.yml`), webhook receiver `{}`, S3 (moto) `127.0.0.1:{}`",
        ctx.env.prometheus,
        ctx.env.name,
        if ctx.opts.quick && ctx.env.time_compression.is_some() { "prometheus-quick.yml" } else { "prometheus.yml" },
        ctx.env.alertmanager,
        ctx.receiver.addr,
        ctx.s3_port
    );
    let services: Vec<String> =
        ctx.services.keys().map(|c| format!("{c} `{}`", ctx.addr(c).unwrap_or_default())).collect();
    let _ = writeln!(md, "- services: {}\n", services.join(", "));
    for r in results {
        let _ = writeln!(md, "## {} — {}\n", if r.passed() { "PASS" } else { "FAIL" }, r.title);
        if let Some(e) = &r.error {
            let _ = writeln!(md, "**Stopped early:** {}\n", md_escape(e));
        }
        let _ = writeln!(md, "| | assertion | measured |\n|---|---|---|");
        for c in &r.checks {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                if c.ok { "ok" } else { "**FAIL**" },
                md_escape(&c.what),
                md_escape(&c.detail)
            );
        }
        if !r.figures.is_empty() {
            let _ = writeln!(md, "\n| figure | value |\n|---|---|");
            for (k, v) in &r.figures {
                let _ = writeln!(md, "| {} | {} |", md_escape(k), md_escape(v));
            }
        }
        let _ = writeln!(md, "\n{:.0} s.\n", r.seconds);
    }
    let _ = writeln!(md, "## Charts (Prometheus `query_range`, step {step} s)\n");
    for (file, title, _) in &svgs {
        let _ = writeln!(md, "![{title}](charts/{file})\n");
    }
    let md_path = ctx.out.join("REPORT.md");
    std::fs::write(&md_path, &md).map_err(|e| format!("{}: {e}", md_path.display()))?;

    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>obspec Proof of Done</title><style>\
         body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0}\
         td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;vertical-align:top}.ok{color:#1a7f37}.fail{color:#c00;font-weight:bold}\
         h2{margin-top:1.6em}</style></head><body>",
    );
    let _ = write!(
        html,
        "<h1>Proof of Done (blueprint §11)</h1><p>{} — {}. <b>{passed} of {} proofs passed</b> in {:.0} s.</p>",
        html_escape(&mode.replace('`', "")),
        html_escape(&machine()),
        results.len(),
        total.as_secs_f64()
    );
    for r in results {
        let cls = if r.passed() { "ok" } else { "fail" };
        let _ = write!(
            html,
            "<h2 class=\"{cls}\">{} — {}</h2>",
            if r.passed() { "PASS" } else { "FAIL" },
            html_escape(r.title)
        );
        if let Some(e) = &r.error {
            let _ = write!(html, "<p class=\"fail\">Stopped early: {}</p>", html_escape(e));
        }
        html.push_str("<table><tr><th></th><th>assertion</th><th>measured</th></tr>");
        for c in &r.checks {
            let (cls, t) = if c.ok { ("ok", "ok") } else { ("fail", "FAIL") };
            let _ = write!(
                html,
                "<tr><td class=\"{cls}\">{t}</td><td>{}</td><td>{}</td></tr>",
                html_escape(&c.what),
                html_escape(&c.detail)
            );
        }
        html.push_str("</table><table>");
        for (k, v) in &r.figures {
            let _ = write!(html, "<tr><td>{}</td><td>{}</td></tr>", html_escape(k), html_escape(v));
        }
        html.push_str("</table>");
    }
    let _ = write!(html, "<h2>Charts</h2><p>Prometheus <code>query_range</code> over the run, step {step} s.</p>");
    for (_, _, svg) in &svgs {
        let _ = write!(html, "<div>{svg}</div>");
    }
    html.push_str("</body></html>\n");
    let html_path = ctx.out.join("report.html");
    std::fs::write(&html_path, html).map_err(|e| format!("{}: {e}", html_path.display()))?;
    Ok(vec![md_path.display().to_string(), html_path.display().to_string()])
}
