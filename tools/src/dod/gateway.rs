//! The OTLP components in the DoD run: the gateway Worker, in workerd through
//! miniflare (`apps/<component>/scripts/serve.mjs`), sends its OTLP/HTTP to
//! `obspec-tools live-check --otlp <env.otlp> --expose <target>` (this same
//! binary), which checks every request against the spec and re-exposes the
//! metrics where the local Prometheus scrapes the component, as the collector
//! would in production. The load proof sends a little traffic through it and
//! asserts the series in Prometheus and live-check's 0 errors ([`check`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::Method;
use obspec_codegen::model::{Environment, Exposition, MetricKind, Spec};

use super::load::{self, MakeRequest, Plan};
use super::stack::{Launch, Proc};
use super::{Ctx, ProofResult, net, stack};

/// Requests sent through the Worker (a few hundred: not the main load).
pub const REQUESTS: u64 = 300;
/// Their rate, per second.
pub const RATE: f64 = 100.0;

/// A running OTLP component and its stand-in collector.
#[derive(Debug)]
pub struct Gateway {
    /// The component (`gateway`).
    pub component: String,
    /// Where the Worker serves (a free loopback port).
    pub addr: String,
    /// The Worker (node + miniflare + workerd).
    pub worker: Proc,
    /// `obspec-tools live-check --otlp … --expose …`.
    pub live_check: Proc,
}

/// The OTLP component the environment scrapes (through its receiver), if any.
pub fn component(spec: &Spec, env: &Environment) -> Option<String> {
    env.otlp.as_ref()?;
    spec.components
        .iter()
        .find(|c| c.exposition == Exposition::Otlp && env.targets.contains_key(&c.name))
        .map(|c| c.name.clone())
}

/// Fails clearly when node or the Worker's npm dependencies are missing.
fn check_node(app: &Path) -> Result<(), String> {
    let setup = "install them with `bash scripts/setup.sh` (node 20 and `npm ci` in apps/gateway)";
    let ok = std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        return Err(format!("dod: `node` is not installed: the gateway Worker runs under node + miniflare; {setup}\n"));
    }
    if !app.join("node_modules/miniflare").is_dir() {
        return Err(format!("dod: {}/node_modules/miniflare is missing; {setup}\n", app.display()));
    }
    Ok(())
}

/// Starts live-check and the Worker; `None` when the environment runs no OTLP component.
pub fn start(root: &Path, run: &Path, spec: &Spec, env: &Environment) -> Result<Option<Gateway>, String> {
    let Some(component) = component(spec, env) else { return Ok(None) };
    let (Some(otlp), Some(target)) = (env.otlp.clone(), env.targets.get(&component).cloned()) else {
        return Ok(None);
    };
    let app = root.join("apps").join(component.replace('_', "-"));
    check_node(&app)?;
    let dir = run.join(&component);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let exe: PathBuf = std::env::current_exe().map_err(|e| format!("dod: cannot find its own binary: {e}"))?;
    let args = ["live-check", "--otlp", &otlp, "--expose", &target, "--fail-on", "error", "--spec"]
        .map(str::to_owned)
        .into_iter()
        .chain([root.join("spec").display().to_string()])
        .collect();
    let launch = Launch { program: exe, args, cwd: dir.clone(), env: Vec::new(), announces: false };
    let mut live_check = Proc::start("live-check", Some(&target), &dir, launch)?;
    live_check.wait_http("/metrics", Duration::from_secs(30))?;

    let upstream = ["policy_proxy", "core"]
        .iter()
        .find_map(|c| env.targets.get(*c))
        .map(|a| format!("http://{a}"))
        .ok_or("dod: the environment has neither a policy_proxy nor a core target for the Worker's upstream")?;
    let addr = format!("127.0.0.1:{}", stack::free_port()?);
    let script = app.join("scripts/serve.mjs");
    let args = vec![
        script.display().to_string(),
        "--listen".into(),
        addr.clone(),
        "--upstream".into(),
        upstream,
        "--otlp".into(),
        format!("http://{otlp}"),
    ];
    let launch = Launch { program: "node".into(), args, cwd: app, env: Vec::new(), announces: true };
    let worker = Proc::start("worker", Some(&addr), &dir, launch)?;
    Ok(Some(Gateway { component, addr, worker, live_check }))
}

/// Requests through the Worker: its routes (proxied to the policy proxy and
/// Core) and an unmatched path, as the user and agent sessions the proxy knows.
fn make(base: &str, routes: &[String]) -> MakeRequest {
    let base = base.to_owned();
    // A concrete path per route template (`:room_id` → `room_id1`); the unmatched one last.
    let mut paths: Vec<(Method, String)> = routes
        .iter()
        .filter(|r| !r.contains("webhooks") && *r != "/mcp")
        .map(|r| {
            let p: Vec<String> = r
                .split('/')
                .map(|s| if let Some(name) = s.strip_prefix(':') { format!("{name}1") } else { s.to_owned() })
                .collect();
            let method = if r.ends_with("presign") { Method::POST } else { Method::GET };
            (method, p.join("/"))
        })
        .collect();
    paths.push((Method::GET, "/dod-unmatched".to_owned()));
    let paths = Arc::new(paths);
    Arc::new(move |i: u64| {
        let (method, path) = &paths[(i as usize) % paths.len()];
        let headers = vec![
            ("x-tenant-id".to_owned(), format!("t_gw{}", i % 4)),
            ("x-session-type".to_owned(), if i.is_multiple_of(2) { "user" } else { "agent" }.to_owned()),
            ("x-scopes".to_owned(), "read,write".to_owned()),
        ];
        let body = (*method == Method::POST).then(|| b"{}".to_vec());
        net::request(method.clone(), &format!("{base}{path}"), &headers, body)
    })
}

/// Sends the traffic, then asserts in `r`: the component's series are in
/// Prometheus (read through its API) and live-check reported 0 errors.
/// Stops the Worker and live-check (live-check reports when it stops).
pub async fn check(ctx: &mut Ctx, r: &mut ProofResult) -> Result<(), String> {
    let Some(mut gw) = ctx.gateway.take() else {
        let expected = ctx.spec.components.iter().any(|c| c.exposition == Exposition::Otlp);
        r.check(
            "the gateway's series are in Prometheus (OTLP via live-check --expose)",
            !expected,
            "the environment names no OTLP receiver (`otlp`) or no target for an OTLP component",
        );
        return Ok(());
    };
    let res = traffic_and_series(ctx, r, &gw).await;
    // live-check prints its report when it stops (SIGTERM).
    let worker_clean = gw.worker.stop(Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.live_check.stop(Duration::from_secs(10));
    let log = std::fs::read_to_string(&gw.live_check.log).unwrap_or_default();
    let summary = log.lines().find(|l| l.starts_with("live-check: ") && l.contains(" errors, ")).map(str::to_owned);
    let errors = summary
        .as_deref()
        .and_then(|l| l.strip_prefix("live-check: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok());
    r.figure("live-check (OTLP of the gateway Worker)", summary.clone().unwrap_or_else(|| "no report".into()));
    let shown: Vec<&str> = log.lines().filter(|l| l.contains("error")).take(6).collect();
    r.check(
        "live-check reports 0 errors on what the gateway Worker sent (OTLP metrics and logs against the spec)",
        errors == Some(0),
        match errors {
            Some(0) => summary.unwrap_or_default(),
            _ => format!("{}; see {}", shown.join(" | "), gw.live_check.log.display()),
        },
    );
    if !worker_clean {
        eprintln!("[dod]   the Worker did not stop on SIGTERM within 10 s (killed)");
    }
    ctx.gateway = Some(gw);
    res
}

async fn traffic_and_series(ctx: &mut Ctx, r: &mut ProofResult, gw: &Gateway) -> Result<(), String> {
    let comp = ctx.spec.components.iter().find(|c| c.name == gw.component).cloned();
    let routes = comp.map(|c| c.routes).unwrap_or_default();
    ctx.progress.phase(&format!("proof load: {REQUESTS} requests through the {} Worker", gw.component));
    let plan = Plan {
        rate: RATE,
        duration: Duration::from_secs_f64(REQUESTS as f64 / RATE),
        max_in_flight: 64,
        timeout: Duration::from_secs(5),
    };
    let o = load::run(&ctx.client, plan, make(&format!("http://{}", gw.addr), &routes)).await?;
    r.figure(
        format!("{} Worker traffic", gw.component),
        format!(
            "{} requests at {RATE:.0}/s via workerd (miniflare) into the policy proxy, p50 {:.1} ms, p99 {:.1} ms, by status {:?}",
            o.sent,
            o.ms(0.5),
            o.ms(0.99),
            o.by_status
        ),
    );
    // waitUntil'd flushes land after the answers; then two scrapes.
    let scrape = obspec_codegen::names::duration_seconds(&ctx.env.scrape_interval).unwrap_or(1);
    tokio::time::sleep(Duration::from_secs(1 + scrape * 3)).await;

    let declared: Vec<&obspec_codegen::model::Metric> =
        ctx.spec.metrics.iter().filter(|m| m.component == gw.component).collect();
    let present = ctx.prom.query(&format!("count by (__name__) ({{job=\"{}\"}})", gw.component)).await?;
    let names: Vec<String> = present.iter().filter_map(|s| s.labels.get("__name__").cloned()).collect();
    let seen: Vec<&str> = declared
        .iter()
        .filter(|m| names.iter().any(|n| n == &m.name || n.starts_with(&format!("{}_", m.name))))
        .map(|m| m.name.as_str())
        .collect();
    // The request counter: the component's counter labelled by route, method and code.
    let counter = declared
        .iter()
        .find(|m| m.kind == MetricKind::Counter && ["route", "code"].iter().all(|l| m.labels.iter().any(|x| x == l)))
        .map(|m| m.name.clone());
    let counted = match &counter {
        Some(c) => ctx.prom.scalar(&format!("sum({c}{{job=\"{}\"}})", gw.component)).await?.unwrap_or(0.0),
        None => 0.0,
    };
    r.figure(
        format!("{} series in Prometheus", gw.component),
        format!(
            "{} series names under job {}; declared metrics present: {}",
            names.len(),
            gw.component,
            if seen.is_empty() { "none".to_owned() } else { seen.join(", ") }
        ),
    );
    r.check(
        format!(
            "the {} series are in Prometheus ({} counts the Worker's requests, scraped from live-check --expose)",
            gw.component,
            counter.as_deref().unwrap_or("its request counter")
        ),
        counter.is_some() && counted >= 0.9 * o.sent as f64 && o.sent > 0,
        format!("{counted:.0} counted for {} sent; {} declared metrics present", o.sent, seen.len()),
    );
    Ok(())
}
