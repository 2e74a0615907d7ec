//! `--expose`: the OTLP metrics received, as a Prometheus text exposition.
//!
//! A stand-in for the collector's Prometheus exporter on a developer's
//! machine only: it keeps the last cumulative value of every series it
//! received, with no filter, no redaction and no expiry.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;

use super::inputs::{Labels, labels};

#[derive(Debug, Clone)]
enum Point {
    Number(f64),
    Histogram { bounds: Vec<f64>, counts: Vec<u64>, sum: f64, count: u64 },
}

#[derive(Debug, Default)]
struct Family {
    kind: &'static str,
    help: String,
    series: BTreeMap<Labels, Point>,
}

/// The last state of every series received.
#[derive(Debug, Default)]
pub struct State {
    families: BTreeMap<String, Family>,
}

impl State {
    /// Takes in one export request (cumulative points replace the previous ones).
    pub fn absorb(&mut self, req: &ExportMetricsServiceRequest) {
        for rm in &req.resource_metrics {
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    let (kind, points): (&'static str, Vec<(Labels, Point)>) = match &m.data {
                        Some(Data::Sum(s)) => (
                            if s.is_monotonic { "counter" } else { "gauge" },
                            s.data_points
                                .iter()
                                .map(|p| (labels(&p.attributes), Point::Number(num(p.value))))
                                .collect(),
                        ),
                        Some(Data::Gauge(g)) => (
                            "gauge",
                            g.data_points
                                .iter()
                                .map(|p| (labels(&p.attributes), Point::Number(num(p.value))))
                                .collect(),
                        ),
                        Some(Data::Histogram(h)) => (
                            "histogram",
                            h.data_points
                                .iter()
                                .map(|p| {
                                    let pt = Point::Histogram {
                                        bounds: p.explicit_bounds.clone(),
                                        counts: p.bucket_counts.clone(),
                                        sum: p.sum.unwrap_or(0.0),
                                        count: p.count,
                                    };
                                    (labels(&p.attributes), pt)
                                })
                                .collect(),
                        ),
                        _ => continue,
                    };
                    let f = self.families.entry(m.name.clone()).or_default();
                    f.kind = kind;
                    f.help.clone_from(&m.description);
                    for (mut l, p) in points {
                        l.sort();
                        f.series.insert(l, p);
                    }
                }
            }
        }
    }

    /// The Prometheus text exposition of the state.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let lbl = |l: &[(String, String)], extra: Option<String>| {
            let mut parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{}\"", esc(v))).collect();
            parts.extend(extra);
            if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
        };
        for (name, f) in &self.families {
            let _ = writeln!(out, "# HELP {name} {}", f.help.replace('\n', " "));
            let _ = writeln!(out, "# TYPE {name} {}", f.kind);
            for (l, p) in &f.series {
                match p {
                    Point::Number(v) => {
                        let _ = writeln!(out, "{name}{} {v}", lbl(l, None));
                    }
                    Point::Histogram { bounds, counts, sum, count } => {
                        let mut cum = 0u64;
                        for (i, b) in bounds.iter().enumerate() {
                            cum += counts.get(i).copied().unwrap_or(0);
                            let _ = writeln!(out, "{name}_bucket{} {cum}", lbl(l, Some(format!("le=\"{b}\""))));
                        }
                        let _ = writeln!(out, "{name}_bucket{} {count}", lbl(l, Some("le=\"+Inf\"".to_owned())));
                        let _ = writeln!(out, "{name}_sum{} {sum}", lbl(l, None));
                        let _ = writeln!(out, "{name}_count{} {count}", lbl(l, None));
                    }
                }
            }
        }
        out
    }
}

fn num(v: Option<Value>) -> f64 {
    match v {
        Some(Value::AsDouble(d)) => d,
        Some(Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

/// Serves `GET /metrics` with the state.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |_req| {
                let text = state.lock().unwrap_or_else(PoisonError::into_inner).render();
                async move {
                    Ok::<_, hyper::Error>(
                        Response::builder()
                            .header(hyper::header::CONTENT_TYPE, "text/plain; version=0.0.4")
                            .body(Full::new(Bytes::from(text)))
                            .unwrap_or_default(),
                    )
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}
