//! The inputs of `live-check`: an OTLP/HTTP listener, Prometheus scrapes, NDJSON
//! log files and trail directories, each turned into [`Checker`] observations.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;

use super::check::{Checker, Kind, Rule, Sample};

/// Label pairs of one series, in input order.
pub type Labels = Vec<(String, String)>;

/// A decoded OTLP export request.
pub enum Otlp {
    /// `/v1/metrics`.
    Metrics(ExportMetricsServiceRequest),
    /// `/v1/logs`.
    Logs(ExportLogsServiceRequest),
    /// A body that did not decode, with the path.
    Undecodable(String),
}

fn decode<T: Message + Default + serde::de::DeserializeOwned>(json: bool, body: &[u8]) -> Option<T> {
    if json { serde_json::from_slice(body).ok() } else { T::decode(body).ok() }
}

/// Serves OTLP/HTTP on `listener`, sending each decoded request to `tx`.
pub async fn serve_otlp(listener: tokio::net::TcpListener, tx: tokio::sync::mpsc::Sender<Otlp>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let tx = tx.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let tx = tx.clone();
                async move {
                    let path = req.uri().path().to_owned();
                    let json = req
                        .headers()
                        .get(hyper::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with("application/json"));
                    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let msg = match path.as_str() {
                        "/v1/metrics" => decode(json, &body).map(Otlp::Metrics),
                        "/v1/logs" => decode(json, &body).map(Otlp::Logs),
                        "/v1/traces" => None,
                        _ => {
                            return Ok::<_, hyper::Error>(
                                Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap_or_default(),
                            );
                        }
                    };
                    let status = match msg {
                        Some(m) => {
                            let _ = tx.send(m).await;
                            StatusCode::OK
                        }
                        None if path == "/v1/traces" => StatusCode::OK,
                        None => {
                            let _ = tx.send(Otlp::Undecodable(path)).await;
                            StatusCode::BAD_REQUEST
                        }
                    };
                    let (ct, body) = if json {
                        ("application/json", Bytes::from_static(b"{}"))
                    } else {
                        ("application/x-protobuf", Bytes::new())
                    };
                    Ok(Response::builder()
                        .status(status)
                        .header(hyper::header::CONTENT_TYPE, ct)
                        .body(Full::new(body))
                        .unwrap_or_default())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

/// An attribute value as a label string (`true`, `42`, the string).
pub fn any_str(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

fn any_json(v: Option<&AnyValue>) -> serde_json::Value {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => serde_json::Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => serde_json::Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => serde_json::Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => serde_json::json!(d),
        _ => serde_json::Value::Null,
    }
}

/// Label pairs of OTLP attributes.
pub fn labels(attrs: &[KeyValue]) -> Labels {
    attrs.iter().map(|kv| (kv.key.clone(), any_str(kv.value.as_ref()))).collect()
}

fn service(attrs: Option<&[KeyValue]>) -> Option<String> {
    attrs?.iter().find(|kv| kv.key == "service.name").map(|kv| any_str(kv.value.as_ref()))
}

/// Checks one OTLP request.
pub fn check_otlp(c: &mut Checker<'_>, msg: &Otlp) {
    match msg {
        Otlp::Undecodable(path) => {
            c.report(Rule::InputUnreadable, format!("otlp {path}: body does not decode"), "otlp")
        }
        Otlp::Metrics(req) => {
            for rm in &req.resource_metrics {
                if let Some(s) = service(rm.resource.as_ref().map(|r| r.attributes.as_slice())) {
                    c.component_seen(&s);
                }
                for sm in &rm.scope_metrics {
                    for m in &sm.metrics {
                        let unit = Some(m.unit.as_str());
                        let mut emit = |kind: Kind, attrs: &[KeyValue], buckets: Option<Vec<f64>>| {
                            c.sample(&Sample { name: &m.name, kind, unit, labels: labels(attrs), buckets }, "otlp");
                        };
                        match &m.data {
                            Some(Data::Sum(s)) => {
                                let kind = if s.is_monotonic { Kind::Counter } else { Kind::Gauge };
                                for p in &s.data_points {
                                    emit(kind, &p.attributes, None);
                                }
                            }
                            Some(Data::Gauge(g)) => {
                                for p in &g.data_points {
                                    emit(Kind::Gauge, &p.attributes, None);
                                }
                            }
                            Some(Data::Histogram(h)) => {
                                for p in &h.data_points {
                                    emit(Kind::Histogram, &p.attributes, Some(p.explicit_bounds.clone()));
                                }
                            }
                            _ => emit(Kind::Other, &[], None),
                        }
                    }
                }
            }
        }
        Otlp::Logs(req) => {
            for rl in &req.resource_logs {
                if let Some(s) = service(rl.resource.as_ref().map(|r| r.attributes.as_slice())) {
                    c.component_seen(&s);
                }
                for sl in &rl.scope_logs {
                    for r in &sl.log_records {
                        let mut fields: Vec<(String, serde_json::Value)> =
                            r.attributes.iter().map(|kv| (kv.key.clone(), any_json(kv.value.as_ref()))).collect();
                        if r.body.as_ref().is_some_and(|b| b.value.is_some()) {
                            // A record body is free text by construction: never allowed.
                            fields.push(("body".to_owned(), serde_json::Value::Null));
                        }
                        c.log_fields(&fields, "otlp");
                    }
                }
            }
        }
    }
}

/// GETs a Prometheus text exposition (plain HTTP on loopback).
pub async fn scrape(url: &str) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    let res = tokio::time::timeout(std::time::Duration::from_secs(10), client.get(uri))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("HTTP {}", res.status()));
    }
    let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    String::from_utf8(body.to_vec()).map_err(|e| e.to_string())
}

/// Parses `name{a="b",c="d"} value` into name and labels.
fn parse_sample(line: &str) -> Option<(&str, Vec<(String, String)>)> {
    let line = line.trim();
    let (name, rest) = match line.find('{') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line.split_whitespace().next()?, ""),
    };
    let mut labels = Vec::new();
    let mut s = rest;
    while let Some(eq) = s.find("=\"") {
        let key = s[..eq].trim_start_matches(',').trim().to_owned();
        let mut val = String::new();
        let mut chars = s[eq + 2..].char_indices();
        let mut end = None;
        while let Some((i, ch)) = chars.next() {
            match ch {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        val.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = Some(eq + 2 + i + 1);
                    break;
                }
                other => val.push(other),
            }
        }
        labels.push((key, val));
        s = &s[end?..];
        if s.trim_start().starts_with('}') {
            break;
        }
    }
    Some((name, labels))
}

/// Checks a Prometheus text exposition.
pub fn check_exposition(c: &mut Checker<'_>, text: &str, source: &str) {
    use std::collections::BTreeMap;
    let mut types: BTreeMap<String, Kind> = BTreeMap::new();
    let mut units: BTreeMap<String, String> = BTreeMap::new();
    // family -> series (labels without le) -> bucket bounds.
    let mut hist: BTreeMap<String, BTreeMap<Labels, Vec<f64>>> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut p = rest.split_whitespace();
            if let (Some(n), Some(t)) = (p.next(), p.next()) {
                let k = match t {
                    "counter" => Kind::Counter,
                    "gauge" => Kind::Gauge,
                    "histogram" => Kind::Histogram,
                    _ => Kind::Other,
                };
                types.insert(n.to_owned(), k);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# UNIT ") {
            let mut p = rest.split_whitespace();
            if let (Some(n), Some(u)) = (p.next(), p.next()) {
                units.insert(n.to_owned(), u.to_owned());
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((name, labels)) = parse_sample(line) else { continue };
        // The family a sample belongs to: its own name, or a histogram's base.
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suf| name.strip_suffix(suf).filter(|b| types.get(*b) == Some(&Kind::Histogram)))
            .unwrap_or(name);
        let kind = types.get(family).copied().unwrap_or(Kind::Other);
        if kind == Kind::Histogram {
            let (le, rest): (Vec<_>, Vec<_>) = labels.into_iter().partition(|(k, _)| k == "le");
            let entry = hist.entry(family.to_owned()).or_default().entry(rest).or_default();
            if let Some((_, v)) = le.first()
                && let Ok(b) = v.parse::<f64>()
                && b.is_finite()
            {
                entry.push(b);
            }
            continue;
        }
        let unit = units.get(family).map(String::as_str);
        c.sample(&Sample { name: family, kind, unit, labels, buckets: None }, source);
    }
    for (family, series) in hist {
        for (labels, buckets) in series {
            let unit = units.get(&family).map(String::as_str);
            c.sample(&Sample { name: &family, kind: Kind::Histogram, unit, labels, buckets: Some(buckets) }, source);
        }
    }
}

fn files_under(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(p).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            files_under(&e, out);
        }
    } else if p.extension().is_some_and(|e| e == "ndjson" || e == "jsonl" || e == "log") {
        out.push(p.to_path_buf());
    }
}

/// Checks every NDJSON log file under `path`; returns the number of lines read.
pub fn check_log_path(c: &mut Checker<'_>, path: &Path) -> u64 {
    let mut files = Vec::new();
    files_under(path, &mut files);
    if files.is_empty() && !path.exists() {
        c.report(Rule::InputUnreadable, format!("{}: no such file", path.display()), "logs");
    }
    let mut n = 0;
    for f in files {
        let source = f.display().to_string();
        let Ok(text) = std::fs::read_to_string(&f) else {
            c.report(Rule::InputUnreadable, format!("{source}: unreadable"), &source);
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            n += 1;
            let where_ = format!("{source}:{}", i + 1);
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(serde_json::Value::Object(m)) => {
                    let fields: Vec<(String, serde_json::Value)> = m.into_iter().collect();
                    c.log_fields(&fields, &where_);
                }
                _ => c.report(Rule::LogFieldShape, "log line is not a JSON object".to_owned(), &where_),
            }
        }
    }
    n
}

/// The day and tenant of a trail file `…/yyyy/mm/dd/<tenant>.ndjson`.
fn trail_stream(p: &Path) -> Option<(obspec_trail::date::Date, String)> {
    let tenant = p.file_stem()?.to_str()?.to_owned();
    let mut parts = p.parent()?.iter().rev().filter_map(|s| s.to_str());
    let d: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let y: i32 = parts.next()?.parse().ok()?;
    Some((obspec_trail::date::Date::new(y, m, d)?, tenant))
}

/// Checks every trail file under `dir`: canonical lines, one unbroken chain per
/// (tenant, day) from its genesis. Returns the number of lines read.
pub fn check_trails(c: &mut Checker<'_>, dir: &Path) -> u64 {
    let cfg = obspec_trail::canonical::TrailConfig::blueprint_default();
    let mut files = Vec::new();
    files_under(dir, &mut files);
    if files.is_empty() && !dir.exists() {
        c.report(Rule::InputUnreadable, format!("{}: no such directory", dir.display()), "trails");
    }
    let mut n = 0;
    for f in files {
        let source = f.display().to_string();
        let Some((date, tenant)) = trail_stream(&f) else { continue };
        let Ok(bytes) = std::fs::read(&f) else {
            c.report(Rule::InputUnreadable, format!("{source}: unreadable"), &source);
            continue;
        };
        let mut head = obspec_trail::chain::ChainHead::genesis(&tenant, date);
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            n += 1;
            let where_ = format!("{source}:{}", i + 1);
            match obspec_trail::chain::inspect_line(&cfg, line) {
                Err(e) => {
                    c.report(Rule::TrailNotCanonical, format!("{where_}: {e}"), &source);
                    break;
                }
                Ok(info) => {
                    if let Err(e) = head.advance(&tenant, date, &info) {
                        c.report(Rule::TrailChainBroken, format!("{where_}: {e}"), &source);
                        break;
                    }
                }
            }
        }
    }
    n
}
