//! `live-check`: checks what a running system emits against the spec
//! (OpenTelemetry Weaver's `live-check`, for obspec's closed vocabularies and bounds).
//!
//! ```text
//! obspec-tools live-check [--otlp 127.0.0.1:4318] [--metrics URL]... [--logs PATH]... [--trails DIR]...
//!                         [--expose 127.0.0.1:PORT] [--duration SECS] [--spec DIR]
//!                         [--format human|json] [--fail-on error|warning]
//! ```
//!
//! - `--otlp ADDR`: an OTLP/HTTP listener (`/v1/metrics`, `/v1/logs`; JSON or
//!   protobuf, decoded with `opentelemetry-proto`), until `--duration` seconds
//!   have passed or SIGINT/SIGTERM. The first line on stderr names the bound
//!   address (`--otlp 127.0.0.1:0` picks a port).
//! - `--metrics URL`: a Prometheus text scrape, repeatable (after the listener
//!   stops, so a service's final counts are seen).
//! - `--logs PATH`: NDJSON log files or directories of them.
//! - `--trails DIR`: trail directories (`…/yyyy/mm/dd/<tenant>.ndjson`).
//! - `--expose ADDR`: re-exposes the OTLP metrics received on `ADDR/metrics`
//!   in the Prometheus text format — a stand-in for the collector's Prometheus
//!   exporter on a developer's machine only (no filter, no redaction, no
//!   expiry: production goes through `infra/observability/otel-collector/`).
//!
//! The vocabulary is the spec, loaded with `obspec-codegen`, and the log
//! schema of `obspec-generated`: nothing is typed here by hand. Exit 1 when a
//! finding at or above `--fail-on` (default `error`) was reported.

pub mod check;
mod expose;
mod inputs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use check::{Checker, Finding, Severity};

const USAGE: &str = "usage: obspec-tools live-check [--otlp ADDR] [--metrics URL]... [--logs PATH]... [--trails DIR]... [--expose ADDR] [--duration SECS] [--spec DIR] [--format human|json] [--fail-on error|warning]\n";

/// Parsed command line.
#[derive(Debug, Default)]
struct Options {
    otlp: Option<SocketAddr>,
    metrics: Vec<String>,
    logs: Vec<PathBuf>,
    trails: Vec<PathBuf>,
    expose: Option<SocketAddr>,
    duration: Option<Duration>,
    spec: Option<PathBuf>,
    json: bool,
    fail_on_warning: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |what: &str| it.next().cloned().ok_or(format!("{a} needs {what}\n{USAGE}"));
        match a.as_str() {
            "--otlp" => o.otlp = Some(val("ADDR")?.parse().map_err(|e| format!("--otlp: {e}\n"))?),
            "--expose" => o.expose = Some(val("ADDR")?.parse().map_err(|e| format!("--expose: {e}\n"))?),
            "--metrics" => o.metrics.push(val("URL")?),
            "--logs" => o.logs.push(val("PATH")?.into()),
            "--trails" => o.trails.push(val("DIR")?.into()),
            "--spec" => o.spec = Some(val("DIR")?.into()),
            "--duration" => {
                let s: f64 = val("SECS")?.parse().map_err(|e| format!("--duration: {e}\n"))?;
                o.duration = Some(Duration::from_secs_f64(s.max(0.0)));
            }
            "--format" => match val("human|json")?.as_str() {
                "human" => o.json = false,
                "json" => o.json = true,
                other => return Err(format!("--format {other}: human or json\n")),
            },
            "--fail-on" => match val("error|warning")?.as_str() {
                "error" => o.fail_on_warning = false,
                "warning" => o.fail_on_warning = true,
                other => return Err(format!("--fail-on {other}: error or warning\n")),
            },
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if o.otlp.is_none() && o.metrics.is_empty() && o.logs.is_empty() && o.trails.is_empty() {
        return Err(format!("live-check needs at least one input\n{USAGE}"));
    }
    if o.expose.is_some() && o.otlp.is_none() {
        return Err("--expose re-exposes what --otlp receives: give --otlp too\n".to_owned());
    }
    Ok(o)
}

fn spec_dir(o: &Options) -> PathBuf {
    o.spec.clone().unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec"))
}

/// What the inputs contributed (for the report's first line).
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// OTLP requests received.
    pub otlp_requests: u64,
    /// Scrapes made.
    pub scrapes: u64,
    /// Log lines or records read.
    pub log_lines: u64,
    /// Trail lines read.
    pub trail_lines: u64,
}

/// `obspec-tools live-check …`.
pub fn main(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let dir = spec_dir(&o);
    let inputs =
        obspec_codegen::load::read_dir(&dir, "spec").map_err(|e| format!("error: {}: {e}\n", dir.display()))?;
    let loaded = obspec_codegen::check(&inputs).map_err(|d| obspec_codegen::diag::render_all(&d))?;
    let spec = loaded.spec;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("error: tokio: {e}\n"))?;
    let (findings, counts) = rt.block_on(run(&o, &spec))?;
    let errors = findings.iter().filter(|f| f.rule.severity() == Severity::Error).count();
    let warnings = findings.len() - errors;
    if o.json {
        println!("{}", report_json(&findings, &counts));
    } else {
        print!("{}", report_human(&findings, &counts));
    }
    let failed = errors > 0 || (o.fail_on_warning && warnings > 0);
    if failed { Err(format!("live-check: {errors} errors, {warnings} warnings\n")) } else { Ok(()) }
}

async fn run(o: &Options, spec: &obspec_codegen::model::Spec) -> Result<(Vec<Finding>, Counts), String> {
    let checker = Arc::new(Mutex::new(Checker::new(spec, &obspec_generated::LOG_SCHEMA)));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let state = Arc::new(Mutex::new(expose::State::default()));
    if let Some(addr) = o.otlp {
        // The checker borrows the spec; the listener hands decoded requests back over a channel.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<inputs::Otlp>(64);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("error: --otlp {addr}: {e}\n"))?;
        let bound = listener.local_addr().map_err(|e| format!("error: {e}\n"))?;
        let mut exposed = None;
        if let Some(ea) = o.expose {
            let l = tokio::net::TcpListener::bind(ea).await.map_err(|e| format!("error: --expose {ea}: {e}\n"))?;
            exposed = Some(l.local_addr().map_err(|e| format!("error: {e}\n"))?);
            tokio::spawn(expose::serve(l, state.clone()));
        }
        match exposed {
            Some(e) => eprintln!("live-check: listening on {bound} (OTLP/HTTP), exposing on http://{e}/metrics"),
            None => eprintln!("live-check: listening on {bound} (OTLP/HTTP)"),
        }
        let server = tokio::spawn(inputs::serve_otlp(listener, tx));
        let stop = stop_signal(o.duration);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    counts.lock().unwrap_or_else(PoisonError::into_inner).otlp_requests += 1;
                    let mut c = checker.lock().unwrap_or_else(PoisonError::into_inner);
                    if o.expose.is_some() && let inputs::Otlp::Metrics(req) = &msg {
                        state.lock().unwrap_or_else(PoisonError::into_inner).absorb(req);
                    }
                    inputs::check_otlp(&mut c, &msg);
                }
            }
        }
        server.abort();
    }
    for url in &o.metrics {
        counts.lock().unwrap_or_else(PoisonError::into_inner).scrapes += 1;
        let text = inputs::scrape(url).await;
        let mut c = checker.lock().unwrap_or_else(PoisonError::into_inner);
        match text {
            Ok(t) => inputs::check_exposition(&mut c, &t, url),
            Err(e) => c.report(check::Rule::InputUnreadable, format!("{url}: {e}"), url),
        }
    }
    {
        let mut c = checker.lock().unwrap_or_else(PoisonError::into_inner);
        let mut n = counts.lock().unwrap_or_else(PoisonError::into_inner);
        for p in &o.logs {
            n.log_lines += inputs::check_log_path(&mut c, p);
        }
        for p in &o.trails {
            n.trail_lines += inputs::check_trails(&mut c, p);
        }
    }
    let checker = Arc::try_unwrap(checker)
        .map_err(|_| "error: live-check state still shared\n".to_owned())?
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let counts = counts.lock().unwrap_or_else(PoisonError::into_inner).clone();
    Ok((checker.finish(), counts))
}

/// Resolves after `duration` (if any), or on SIGINT / SIGTERM.
async fn stop_signal(duration: Option<Duration>) {
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    let term = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = timer => {}
        () = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn report_human(findings: &[Finding], counts: &Counts) -> String {
    let errors = findings.iter().filter(|f| f.rule.severity() == Severity::Error).count();
    let mut out = format!(
        "live-check: {errors} errors, {} warnings (otlp requests {}, scrapes {}, log lines {}, trail lines {})\n",
        findings.len() - errors,
        counts.otlp_requests,
        counts.scrapes,
        counts.log_lines,
        counts.trail_lines
    );
    for rule in check::Rule::ALL {
        let of: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule).collect();
        if of.is_empty() {
            continue;
        }
        let total: u64 = of.iter().map(|f| f.count).sum();
        out.push_str(&format!(
            "\n{}[{}] {} subjects, {total} occurrences\n",
            rule.severity().as_str(),
            rule.id(),
            of.len()
        ));
        for f in of {
            out.push_str(&format!("  {} ×{} ({})\n", f.subject, f.count, f.source));
        }
    }
    out
}

fn report_json(findings: &[Finding], counts: &Counts) -> String {
    let errors = findings.iter().filter(|f| f.rule.severity() == Severity::Error).count();
    let list: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "rule": f.rule.id(), "severity": f.rule.severity().as_str(),
                "subject": f.subject, "source": f.source, "count": f.count,
            })
        })
        .collect();
    serde_json::json!({
        "errors": errors,
        "warnings": findings.len() - errors,
        "inputs": { "otlp_requests": counts.otlp_requests, "scrapes": counts.scrapes, "log_lines": counts.log_lines, "trail_lines": counts.trail_lines },
        "findings": list,
    })
    .to_string()
}
