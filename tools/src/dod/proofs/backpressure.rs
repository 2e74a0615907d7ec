//! §11.3 Induced BACKPRESSURE: tool calls above office's per-room cap get
//! `BACKPRESSURE` with `retry_after_ms`; a client waiting that long then
//! succeeds; `office_mcp_call_total{err="BACKPRESSURE"}` rises in Prometheus;
//! the generated backpressure alert (found in the rules file Prometheus
//! loaded, not named here) goes pending then firing in `ALERTS`, and the
//! webhook receiver gets it from Alertmanager with its labels and runbook link.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::dod::net::{self, Client};
use crate::dod::{Ctx, ProofResult, receiver, unix_now};

/// An alerting rule as the rules file states it.
#[derive(Debug, Clone, Default)]
pub struct AlertDef {
    /// `alert:`.
    pub name: String,
    /// `expr:`.
    pub expr: String,
    /// `for:` in seconds.
    pub for_secs: u64,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

fn map(y: &yaml_rust2::Yaml) -> BTreeMap<String, String> {
    y.as_hash()
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str().map(str::to_owned).unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default()
}

/// The longest range (`[30s]`) in an expression, in seconds.
fn longest_range(expr: &str) -> u64 {
    expr.split('[')
        .skip(1)
        .filter_map(|s| s.split(']').next())
        .filter_map(obspec_codegen::names::duration_seconds)
        .max()
        .unwrap_or(0)
}

/// The alert on the BACKPRESSURE counter that fires soonest, from a rules file.
pub fn pick_alert(rules_yml: &str) -> Option<AlertDef> {
    let token = obspec_generated::ErrorToken::Backpressure.as_str();
    let needle = format!("err=\"{token}\"");
    let docs = yaml_rust2::YamlLoader::load_from_str(rules_yml).ok()?;
    let mut found: Vec<AlertDef> = Vec::new();
    for g in docs.first()?["groups"].as_vec()? {
        for rule in g["rules"].as_vec().cloned().unwrap_or_default() {
            let (Some(name), Some(expr)) = (rule["alert"].as_str(), rule["expr"].as_str()) else { continue };
            if !expr.contains(&needle) || !expr.contains("office_mcp_call_total") {
                continue;
            }
            let for_secs = rule["for"].as_str().and_then(obspec_codegen::names::duration_seconds).unwrap_or(0);
            found.push(AlertDef {
                name: name.to_owned(),
                expr: expr.to_owned(),
                for_secs,
                labels: map(&rule["labels"]),
                annotations: map(&rule["annotations"]),
            });
        }
    }
    found.into_iter().min_by_key(|a| a.for_secs + longest_range(&a.expr))
}

/// `OBSPEC_DOD_FAULT=never-fire`: the chosen rule's expression is replaced
/// (same name, labels and `for`) by one that never holds, and Prometheus
/// reloads its rules (SIGHUP).
pub async fn inject_never_fire(ctx: &Ctx) -> Result<(), String> {
    let text = std::fs::read_to_string(&ctx.rules_file).map_err(|e| format!("{}: {e}", ctx.rules_file.display()))?;
    let alert = pick_alert(&text).ok_or("no backpressure alert to break")?;
    let mut out = String::new();
    let mut in_rule = false;
    for line in text.lines() {
        if line.trim_start().starts_with("- alert:") {
            in_rule = line.trim_start() == format!("- alert: {}", alert.name);
        }
        if in_rule && line.trim_start().starts_with("expr:") {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!("{indent}expr: 'vector(0) > 1'\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(&ctx.rules_file, out).map_err(|e| format!("{}: {e}", ctx.rules_file.display()))?;
    let prom = ctx.infra.iter().find(|p| p.name == "prometheus").and_then(|p| p.pid()).ok_or("no prometheus")?;
    let _ = std::process::Command::new("kill").args(["-HUP", &prom.to_string()]).status();
    tokio::time::sleep(Duration::from_secs(2)).await;
    eprintln!("[dod] fault never-fire: rule {} now never fires", alert.name);
    Ok(())
}

struct Mcp {
    client: Client,
    url: String,
    canary: crate::dod::proofs::privacy::Canary,
    id: AtomicU64,
}

impl Mcp {
    async fn call(&self, tool: &str, args: Value) -> Result<Value, String> {
        let id = self.id.fetch_add(1, Ordering::Relaxed);
        let body =
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}});
        let headers =
            vec![("x-tenant-id".to_owned(), "t_bp".to_owned()), ("x-dod-canary".to_owned(), self.canary.next())];
        let r = net::post_json(&self.client, &self.url, &headers, &body).await?;
        Ok(r.json())
    }
}

fn is_backpressure(v: &Value) -> bool {
    v["error"]["message"] == obspec_generated::ErrorToken::Backpressure.as_str()
}

/// Fires `n` concurrent `wait` calls of `ms` in `room`; returns the answers.
async fn burst(mcp: &Arc<Mcp>, room: &str, n: usize, ms: u64) -> Vec<Result<Value, String>> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (mcp, room) = (Arc::clone(mcp), room.to_owned());
        tasks.push(tokio::spawn(async move { mcp.call("wait", json!({"room_id": room, "ms": ms})).await }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap_or_else(|e| Err(e.to_string())));
    }
    out
}

/// The receiver path the generated Alertmanager config routes `severity` to.
fn route_path(am_yml: &str, severity: &str) -> Option<String> {
    let docs = yaml_rust2::YamlLoader::load_from_str(am_yml).ok()?;
    let d = docs.first()?;
    let want = format!("severity=\"{severity}\"");
    let receiver = d["route"]["routes"]
        .as_vec()?
        .iter()
        .find(|r| r["matchers"].as_vec().is_some_and(|m| m.iter().any(|x| x.as_str() == Some(want.as_str()))))
        .and_then(|r| r["receiver"].as_str().map(str::to_owned))
        .or_else(|| d["route"]["receiver"].as_str().map(str::to_owned))?;
    let url =
        d["receivers"].as_vec()?.iter().find(|r| r["name"].as_str() == Some(receiver.as_str()))?["webhook_configs"][0]
            ["url"]
            .as_str()?
            .to_owned();
    let hp = receiver::host_port(&url)?;
    url.strip_prefix(&format!("http://{hp}")).map(str::to_owned)
}

/// Runs the proof.
pub async fn run(ctx: &mut Ctx, r: &mut ProofResult) -> Result<(), String> {
    let url = format!("{}/mcp", ctx.url("office").ok_or("no office target")?);
    // The alert is chosen from the rules file as `gen` wrote it; Prometheus loads a copy.
    let rel = ctx.rules_file.strip_prefix(ctx.run.join("prometheus")).map_err(|_| "rules file outside the run")?;
    let source = ctx.root.join(obspec_codegen::render::prometheus::DIR).join(rel);
    let rules = std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let alert = pick_alert(&rules).ok_or(format!(
        "{} has no alert on office_mcp_call_total with the BACKPRESSURE token",
        ctx.rules_file.display()
    ))?;
    let window = longest_range(&alert.expr);
    r.figure(
        "alert under test",
        format!(
            "{} (for {} s, window {} s, from {}{})",
            alert.name,
            alert.for_secs,
            window,
            ctx.rules_file.strip_prefix(&ctx.run).unwrap_or(&ctx.rules_file).display(),
            alert.annotations.get("time_compression").map(|k| format!(", time-compressed {k}x")).unwrap_or_default()
        ),
    );
    let health = ctx.prom.rule_health(&alert.name).await?;
    r.check("Prometheus loaded the alert", health.is_some(), format!("rule {} health {health:?}", alert.name));
    let mcp = Arc::new(Mcp { client: ctx.client.clone(), url, canary: ctx.canary.clone(), id: AtomicU64::new(1) });
    let before = ctx.prom.scalar("sum(office_mcp_call_total{err=\"BACKPRESSURE\"})").await?.unwrap_or(0.0);
    let from = unix_now();

    // 1. Above the cap: BACKPRESSURE with retry_after_ms; waiting that long then succeeds.
    let room = "r_bp_retry";
    let answers = burst(&mcp, room, 10, 400).await;
    let ok = answers.iter().filter(|a| a.as_ref().is_ok_and(|v| v.get("result").is_some())).count();
    let rejected: Vec<&Value> = answers.iter().filter_map(|a| a.as_ref().ok()).filter(|v| is_backpressure(v)).collect();
    let retry: Vec<u64> = rejected.iter().filter_map(|v| v["error"]["data"]["retry_after_ms"].as_u64()).collect();
    r.check(
        "calls above the room's cap get BACKPRESSURE with retry_after_ms",
        !rejected.is_empty() && retry.len() == rejected.len() && retry.iter().all(|ms| (1..=1000).contains(ms)),
        format!("10 concurrent 400 ms calls: {ok} ran, {} BACKPRESSURE, retry_after_ms {retry:?}", rejected.len()),
    );
    let cap = ok.max(1);
    r.figure("room concurrency cap (observed)", cap.to_string());
    // One client alone: fill the room, get rejected, wait retry_after_ms, retry.
    let fill = {
        let mcp = Arc::clone(&mcp);
        tokio::spawn(async move { burst(&mcp, "r_bp_alone", cap, 300).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let first = mcp.call("sum", json!({"room_id": "r_bp_alone", "values": [1, 2]})).await?;
    let waited = first["error"]["data"]["retry_after_ms"].as_u64();
    let retried = match waited {
        Some(ms) if is_backpressure(&first) => {
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let again = mcp.call("sum", json!({"room_id": "r_bp_alone", "values": [1, 2]})).await?;
            Some((ms, t.elapsed(), again))
        }
        _ => None,
    };
    let _ = fill.await;
    r.check(
        "a client that waits retry_after_ms and retries succeeds",
        retried.as_ref().is_some_and(|(_, _, v)| v["result"]["structuredContent"]["total"] == 3),
        match &retried {
            Some((ms, t, v)) => format!("retry_after_ms {ms}, retried after {:.0} ms: {}", t.as_secs_f64() * 1000.0, v),
            None => format!("the call over the cap was not rejected with retry_after_ms: {first}"),
        },
    );

    // 2. Sustained: every 250 ms the room gets cap + 2 calls, a third of them rejected.
    let stop = Arc::new(AtomicBool::new(false));
    let pump = {
        let (mcp, stop) = (Arc::clone(&mcp), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (mcp, room) = (Arc::clone(&mcp), format!("r_bp{}", k % 4));
                tokio::spawn(async move { burst(&mcp, &room, cap + 2, 200).await });
                k += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    // Slack for the first evaluations, Alertmanager's group_wait and delivery.
    let slack = if ctx.opts.quick { 45 } else { 90 };
    let timeout = Duration::from_secs(alert.for_secs + window + slack);
    ctx.progress.phase(&format!(
        "proof backpressure: sustained BACKPRESSURE until {} fires and is delivered (at most {} s)",
        alert.name,
        timeout.as_secs()
    ));
    let am_yml = std::fs::read_to_string(&ctx.am_config).map_err(|e| format!("{}: {e}", ctx.am_config.display()))?;
    let severity = alert.labels.get("severity").cloned().unwrap_or_default();
    let path = route_path(&am_yml, &severity);
    let q = format!("ALERTS{{alertname=\"{}\"}}", alert.name);
    let (mut pending_at, mut firing_at, mut delivered) = (None, None, None);
    let start = Instant::now();
    let mut rose = None;
    while start.elapsed() < timeout {
        if rose.is_none() {
            let now = ctx.prom.scalar("sum(office_mcp_call_total{err=\"BACKPRESSURE\"})").await?.unwrap_or(0.0);
            if now > before {
                rose = Some(now);
            }
        }
        for s in ctx.prom.query(&q).await? {
            match s.labels.get("alertstate").map(String::as_str) {
                Some("pending") if pending_at.is_none() => pending_at = Some(unix_now()),
                Some("firing") if firing_at.is_none() => firing_at = Some(unix_now()),
                _ => {}
            }
        }
        if firing_at.is_some() && delivered.is_none() {
            delivered = ctx.receiver.notifications().into_iter().find(|n| {
                n.body["status"] == "firing"
                    && n.body["alerts"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|a| a["labels"]["alertname"] == alert.name.as_str()))
            });
        }
        if delivered.is_some() && rose.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = pump.await;
    let to = unix_now();
    let ratio = ctx
        .prom
        .scalar("sum(rate(office_mcp_call_total{err=\"BACKPRESSURE\"}[1m])) / sum(rate(office_mcp_call_total[1m]))")
        .await?;
    r.figure("BACKPRESSURE ratio (last minute)", ratio.map_or("n/a".into(), |v| format!("{:.1}%", v * 100.0)));
    r.check(
        "office_mcp_call_total{err=\"BACKPRESSURE\"} rises in Prometheus",
        rose.is_some(),
        format!("{before:.0} → {}", rose.map_or("unchanged".into(), |v| format!("{v:.0}"))),
    );
    r.check(
        format!("{} goes pending in ALERTS", alert.name),
        pending_at.is_some(),
        pending_at.map_or("never pending".into(), |t| format!("{:.1} s after the first rejection", t - from)),
    );
    r.check(
        format!("{} goes firing in ALERTS", alert.name),
        firing_at.is_some() && pending_at.is_some_and(|p| firing_at.is_some_and(|f| f >= p)),
        match (pending_at, firing_at) {
            (Some(p), Some(f)) => format!("firing {:.1} s after pending (for: {} s)", f - p, alert.for_secs),
            _ => format!("never firing within {} s", timeout.as_secs()),
        },
    );
    if let (Some(p), Some(f)) = (pending_at, firing_at) {
        ctx.mark("alert pending", p, f);
        ctx.mark("alert firing", f, to);
    }
    match &delivered {
        Some(n) => {
            let a = n.body["alerts"]
                .as_array()
                .and_then(|a| a.iter().find(|a| a["labels"]["alertname"] == alert.name.as_str()))
                .cloned()
                .unwrap_or(Value::Null);
            let labels_ok = alert.labels.iter().all(|(k, v)| a["labels"][k] == v.as_str());
            let runbook = alert.annotations.get("runbook_url").cloned().unwrap_or_default();
            let runbook_ok = !runbook.is_empty() && a["annotations"]["runbook_url"] == runbook.as_str();
            let path_ok = path.as_deref().is_none_or(|p| p == n.path);
            r.check(
                "the webhook receiver gets it from Alertmanager with the rule's labels and runbook link",
                labels_ok && runbook_ok && path_ok,
                format!(
                    "{} at {} ({:.1} s after firing): labels {}, runbook_url {}",
                    alert.name,
                    n.path,
                    n.at - firing_at.unwrap_or(n.at),
                    a["labels"],
                    a["annotations"]["runbook_url"]
                ),
            );
        }
        None => r.check(
            "the webhook receiver gets it from Alertmanager with the rule's labels and runbook link",
            false,
            format!("no firing notification for {} at {}", alert.name, ctx.receiver.addr),
        ),
    }
    ctx.mark("BACKPRESSURE", from, to);
    Ok(())
}
