//! §11.4 Privacy: every request of the run carries canaries (unique strings
//! sharing one run prefix) — in headers always, and in bodies, query strings,
//! paths, tool arguments, tool names and WebSocket messages where the request
//! has them — plus the spec's forbidden field names. Afterwards no canary may
//! appear in any log line, trail, metrics scrape, Prometheus label value (read
//! through its HTTP API), alert or notification, and the privacy scanner
//! (`cargo xtask scan`) must report 0 findings over the logs, trails and scrapes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::Method;
use serde_json::{Value, json};

use crate::dod::{Ctx, ProofResult, net};

/// The run's canaries: `zqcanary.<random>.<n>`. The dots keep them from ever
/// being a valid ID (`[A-Za-z0-9_-]`), which services may legitimately log.
#[derive(Debug, Clone)]
pub struct Canary {
    /// What every canary of the run starts with.
    pub prefix: String,
    n: Arc<AtomicU64>,
}

impl Default for Canary {
    fn default() -> Self {
        Self::new()
    }
}

impl Canary {
    /// A new run prefix.
    pub fn new() -> Canary {
        Canary { prefix: format!("zqcanary.{:016x}", obspec::http::trace::random_u64()), n: Arc::default() }
    }

    /// The next unique canary.
    pub fn next(&self) -> String {
        format!("{}.{}", self.prefix, self.n.fetch_add(1, Ordering::Relaxed))
    }

    /// Canaries handed out.
    pub fn count(&self) -> u64 {
        self.n.load(Ordering::Relaxed)
    }
}

fn headers(ctx: &Ctx, tenant: &str) -> Vec<(String, String)> {
    let c = &ctx.canary;
    vec![
        ("x-tenant-id".to_owned(), tenant.to_owned()),
        ("x-session-type".to_owned(), "user".to_owned()),
        ("x-scopes".to_owned(), "read,write".to_owned()),
        ("x-dod-canary".to_owned(), c.next()),
        ("user-agent".to_owned(), format!("dod {}", c.next())),
        ("authorization".to_owned(), format!("Bearer {}", c.next())),
        ("cookie".to_owned(), format!("session={}", c.next())),
        ("referer".to_owned(), format!("http://example.invalid/{}", c.next())),
        ("x-forwarded-for".to_owned(), c.next()),
    ]
}

/// One object with every forbidden field name of the spec, each holding a canary.
fn forbidden_fields(ctx: &Ctx) -> serde_json::Map<String, Value> {
    obspec_generated::LOG_SCHEMA.forbidden.iter().map(|f| ((*f).to_owned(), Value::String(ctx.canary.next()))).collect()
}

async fn hit(client: &net::Client, method: Method, url: String, h: Vec<(String, String)>, body: Option<Value>) -> u64 {
    let body = body.map(|b| b.to_string().into_bytes());
    match net::request(method, &url, &h, body) {
        Ok(req) => {
            let _ = net::send(client, req, Duration::from_secs(5)).await;
            1
        }
        Err(_) => 0,
    }
}

/// Sends requests with canaries everywhere to every HTTP service; returns how many.
pub async fn send_traffic(ctx: &Ctx) -> u64 {
    let mut sent = 0u64;
    let c = &ctx.canary;
    let mut bases: Vec<String> = Vec::new();
    for comp in ["policy_proxy", "core"] {
        if ctx.services.contains_key(comp)
            && let Some(u) = ctx.url(comp)
        {
            bases.push(u);
        }
    }
    for base in &bases {
        let t = "t_privacy";
        sent += hit(
            &ctx.client,
            Method::POST,
            format!("{base}/v1/rooms"),
            headers(ctx, t),
            Some(json!({"title": c.next()})),
        )
        .await;
        let mut with_forbidden = forbidden_fields(ctx);
        with_forbidden.insert("title".into(), Value::String(c.next()));
        sent += hit(
            &ctx.client,
            Method::POST,
            format!("{base}/v1/rooms"),
            headers(ctx, t),
            Some(Value::Object(with_forbidden)),
        )
        .await;
        let q = net::urlencode(&c.next());
        sent +=
            hit(&ctx.client, Method::GET, format!("{base}/v1/rooms?limit=5&q={q}&email={q}"), headers(ctx, t), None)
                .await;
        sent += hit(
            &ctx.client,
            Method::GET,
            format!("{base}/v1/rooms/{}", net::urlencode(&c.next())),
            headers(ctx, t),
            None,
        )
        .await;
        sent += hit(
            &ctx.client,
            Method::GET,
            format!("{base}/v1/{}?prompt={q}", net::urlencode(&c.next())),
            headers(ctx, t),
            None,
        )
        .await;
        sent += hit(
            &ctx.client,
            Method::POST,
            format!("{base}/v1/auth/login"),
            headers(ctx, t),
            Some(json!({"tenant": t, "api_key": c.next(), "password": c.next()})),
        )
        .await;
        sent += hit(
            &ctx.client,
            Method::POST,
            format!("{base}/v1/links"),
            headers(ctx, t),
            Some(json!({"room_id": "r_none", "target_id": "x1", "kind": c.next(), "content": c.next()})),
        )
        .await;
        sent += hit(
            &ctx.client,
            Method::POST,
            format!("{base}/v1/media/presign"),
            headers(ctx, t),
            Some(json!({"filename": c.next()})),
        )
        .await;
        // Not JSON at all.
        if let Ok(req) =
            net::request(Method::POST, &format!("{base}/v1/rooms"), &headers(ctx, t), Some(c.next().into_bytes()))
        {
            let _ = net::send(&ctx.client, req, Duration::from_secs(5)).await;
            sent += 1;
        }
    }
    if ctx.services.contains_key("office")
        && let Some(base) = ctx.url("office")
    {
        let mcp = format!("{base}/mcp");
        let t = "t_privacy";
        let call = |name: String, args: Value| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": args}});
        let mut args = forbidden_fields(ctx);
        args.insert("room_id".into(), Value::String("r_privacy".into()));
        args.insert("values".into(), json!([1, 2, 3]));
        args.insert("note".into(), Value::String(c.next()));
        sent +=
            hit(&ctx.client, Method::POST, mcp.clone(), headers(ctx, t), Some(call("sum".into(), Value::Object(args))))
                .await;
        sent += hit(
            &ctx.client,
            Method::POST,
            mcp.clone(),
            headers(ctx, t),
            Some(call(c.next(), json!({"room_id": "r_privacy"}))),
        )
        .await;
        sent += hit(
            &ctx.client,
            Method::POST,
            mcp.clone(),
            headers(ctx, t),
            Some(call("handover".into(), json!({"room_id": "r_privacy", "summary_id": c.next(), "refs": [c.next()]}))),
        )
        .await;
        sent += hit(
            &ctx.client,
            Method::POST,
            mcp.clone(),
            headers(ctx, t),
            Some(json!({"jsonrpc": "2.0", "id": 2, "method": c.next()})),
        )
        .await;
        sent += hit(
            &ctx.client,
            Method::POST,
            format!("{mcp}?{}", net::urlencode(&c.next())),
            headers(ctx, t),
            Some(json!({"prompt": c.next()})),
        )
        .await;
        // WebSocket: canaries in the query, the messages and a malformed message.
        if let Some(addr) = ctx.addr("office") {
            let url =
                format!("ws://{addr}/v1/rooms/r_privacy/ws?session_id=s_privacy&note={}", net::urlencode(&c.next()));
            let _ = ws_send(&url, &[]).await;
            let url = format!("ws://{addr}/v1/rooms/r_privacy/ws?session_id=s_privacy");
            let msgs = vec![
                json!({"type": "brief_update", "delta_count": 1, "data": {"text": c.next(), "email": c.next()}})
                    .to_string(),
                json!({"type": c.next(), "content": c.next()}).to_string(),
                c.next(),
            ];
            if ws_send(&url, &msgs).await {
                sent += 1;
            }
        }
    }
    sent
}

async fn ws_send(url: &str, msgs: &[String]) -> bool {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let Ok(mut req) = url.into_client_request() else { return false };
    if let Ok(v) = "t_privacy".parse() {
        req.headers_mut().insert("x-tenant-id", v);
    }
    let Ok(Ok((mut ws, _))) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(req)).await
    else {
        return false;
    };
    for m in msgs {
        let _ = ws.send(Message::Text(m.clone().into())).await;
    }
    // Read what comes back for a moment (hello, echoes, errors), then close.
    let _ = tokio::time::timeout(Duration::from_millis(300), async { while ws.next().await.is_some() {} }).await;
    let _ = ws.close(None).await;
    true
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Files of the run where no canary may be: everything but the services'
/// databases (which hold content by design) and Prometheus's TSDB (read through its API instead).
fn searchable(run: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    files_under(run, &mut all);
    all.into_iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            !(s.contains(".db") || s.contains("/prometheus/data/") || s.contains("/alertmanager/data/"))
        })
        .collect()
}

/// Saves the `/metrics` exposition of every running service under `dir`.
pub async fn save_scrapes(ctx: &Ctx, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for (name, comp) in
        ctx.services.keys().filter_map(|n| Some((n, ctx.spec.components.iter().find(|c| &c.name == n)?)))
    {
        let Some(base) = ctx.url(name) else { continue };
        let r = net::get(&ctx.client, &format!("{base}{}", comp.metrics_path)).await?;
        let p = dir.join(format!("{name}.prom"));
        std::fs::write(&p, &r.body).map_err(|e| format!("{}: {e}", p.display()))?;
        out.push(p);
    }
    Ok(out)
}

/// Saves what Prometheus and Alertmanager hold: every label value, alerts, ALERTS.
async fn save_api(ctx: &Ctx, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let labels = ctx.prom.label_values().await?;
    let n: usize = labels.iter().map(|(_, v)| v.len()).sum();
    let text = json!(labels.iter().map(|(k, v)| json!({"label": k, "values": v})).collect::<Vec<_>>());
    std::fs::write(dir.join("prometheus-label-values.json"), text.to_string()).map_err(|e| e.to_string())?;
    let alerts = ctx.prom.api("/api/v1/alerts").await?;
    std::fs::write(dir.join("prometheus-alerts.json"), alerts.to_string()).map_err(|e| e.to_string())?;
    let series = ctx.prom.query("ALERTS").await?;
    let series: Vec<Value> = series.iter().map(|s| json!(s.labels)).collect();
    std::fs::write(dir.join("prometheus-ALERTS.json"), Value::Array(series).to_string()).map_err(|e| e.to_string())?;
    let am = net::get(&ctx.client, &format!("http://{}/api/v2/alerts", ctx.env.alertmanager)).await?;
    std::fs::write(dir.join("alertmanager-alerts.json"), &am.body).map_err(|e| e.to_string())?;
    eprintln!("[dod]   read back {} label names, {n} label values from Prometheus", labels.len());
    Ok(())
}

/// `OBSPEC_DOD_FAULT=canary-log`: a line with a canary appended to a service's
/// log file, as a service that logs what it was sent would write it.
fn inject_canary_log(ctx: &Ctx) -> Result<(), String> {
    let mut logs = Vec::new();
    for c in ctx.services.keys() {
        files_under(&ctx.run.join(c).join("spool").join("logs"), &mut logs);
    }
    let p = logs.first().ok_or("no log file to inject into")?;
    let line = json!({"component": "core", "route": "/v1/rooms", "msg": ctx.canary.next()});
    let mut text = std::fs::read_to_string(p).unwrap_or_default();
    text.push_str(&format!("{line}\n"));
    std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    eprintln!("[dod] fault canary-log: wrote a canary into {}", p.display());
    Ok(())
}

/// Runs the proof: stops the services (flushing logs and trails), then searches.
pub async fn run(ctx: &mut Ctx, r: &mut ProofResult, requests: u64) -> Result<(), String> {
    let scrapes = ctx.run.join("scrapes");
    save_scrapes(ctx, &scrapes).await?;
    // Services stop with SIGTERM: they drain, flush the log plane and close trails.
    let mut unclean = Vec::new();
    for p in ctx.services.values_mut() {
        if !p.stop(Duration::from_secs(15)) {
            unclean.push(p.name.clone());
        }
    }
    r.check(
        "services stop cleanly on SIGTERM (logs and trails flushed)",
        unclean.is_empty(),
        format!("not stopped in 15 s: {unclean:?}"),
    );
    if ctx.opts.fault("canary-log") {
        inject_canary_log(ctx)?;
    }
    // Alertmanager has had time to deliver; read back everything the servers hold.
    save_api(ctx, &ctx.run.join("api")).await?;
    r.figure(
        "canaries sent",
        format!(
            "{} unique canaries (prefix {}) in {} crafted requests, plus every load request",
            ctx.canary.count(),
            ctx.canary.prefix,
            requests
        ),
    );

    let files = searchable(&ctx.run);
    let mut hits: Vec<String> = Vec::new();
    let mut bytes = 0usize;
    for f in &files {
        let Ok(data) = std::fs::read(f) else { continue };
        bytes += data.len();
        let text = String::from_utf8_lossy(&data);
        if let Some(i) = text.find(&ctx.canary.prefix) {
            let line = text[..i].lines().count().max(1);
            hits.push(format!("{}:{line}", f.strip_prefix(&ctx.run).unwrap_or(f).display()));
        }
    }
    let kinds = |needle: &str| files.iter().filter(|f| f.to_string_lossy().contains(needle)).count();
    r.figure(
        "searched",
        format!(
            "{} files, {} KiB: {} log files, {} trail files, {} scrapes, Prometheus label values + ALERTS, Alertmanager alerts, {} notifications, process logs",
            files.len(),
            bytes / 1024,
            kinds("/logs/"),
            kinds("/audit/"),
            kinds("/scrapes/"),
            ctx.receiver.notifications().len()
        ),
    );
    r.check(
        "no canary in any log, trail, scrape, label value, alert or notification",
        hits.is_empty(),
        if hits.is_empty() { "0 occurrences".to_owned() } else { format!("found in {}", hits.join(", ")) },
    );

    // The privacy scanner over logs, trails and scrapes.
    let scanner = obspec::log::scan::Scanner::from_schema(&obspec_generated::LOG_SCHEMA);
    let mut scan_paths: Vec<PathBuf> = vec![scrapes];
    for c in ctx.services.keys() {
        scan_paths.push(ctx.run.join(c).join("spool"));
    }
    let findings = scanner.scan_paths(&scan_paths);
    let mut scanned = Vec::new();
    for p in &scan_paths {
        files_under(p, &mut scanned);
    }
    let shown: Vec<String> = findings.iter().take(5).map(|f| f.to_string()).collect();
    r.check(
        "the privacy scan (cargo xtask scan) reports 0 findings over logs, trails and scrapes",
        findings.is_empty(),
        format!(
            "{} files scanned, {} findings{}",
            scanned.len(),
            findings.len(),
            if shown.is_empty() { String::new() } else { format!(": {}", shown.join("; ")) }
        ),
    );
    Ok(())
}
