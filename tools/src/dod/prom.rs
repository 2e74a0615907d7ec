//! A client of the Prometheus HTTP API (`/api/v1/…`): instant and range
//! queries, targets, rules, label values and alerts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::net::{self, Client, urlencode};

/// One series of a query: its labels and samples `(unix seconds, value)`.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Samples, oldest first.
    pub points: Vec<(f64, f64)>,
}

/// A Prometheus server.
#[derive(Debug, Clone)]
pub struct Prom {
    /// `http://host:port`.
    pub base: String,
    client: Client,
}

fn labels_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default()
}

fn sample(v: &Value) -> Option<(f64, f64)> {
    let t = v.get(0)?.as_f64()?;
    let x: f64 = v.get(1)?.as_str()?.parse().ok()?;
    Some((t, x))
}

impl Prom {
    /// A client of the server at `addr` (`host:port`).
    pub fn new(addr: &str, client: Client) -> Prom {
        Prom { base: format!("http://{addr}"), client }
    }

    /// The `data` of a successful API call.
    pub async fn api(&self, path: &str) -> Result<Value, String> {
        let r = net::get(&self.client, &format!("{}{path}", self.base)).await?;
        let v = r.json();
        if r.status != 200 || v["status"] != "success" {
            return Err(format!("prometheus {path}: {} {}", r.status, String::from_utf8_lossy(&r.body)));
        }
        Ok(v["data"].clone())
    }

    /// An instant query.
    pub async fn query(&self, q: &str) -> Result<Vec<Series>, String> {
        let data = self.api(&format!("/api/v1/query?query={}", urlencode(q))).await?;
        Ok(data["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| Series {
                        labels: labels_of(&s["metric"]),
                        points: sample(&s["value"]).into_iter().collect(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The value of a query returning one series (`None` when it returns none or NaN).
    pub async fn scalar(&self, q: &str) -> Result<Option<f64>, String> {
        let s = self.query(q).await?;
        Ok(s.first().and_then(|s| s.points.first()).map(|p| p.1).filter(|v| v.is_finite()))
    }

    /// A range query from `start` to `end` (unix seconds) every `step` seconds.
    pub async fn query_range(&self, q: &str, start: f64, end: f64, step: f64) -> Result<Vec<Series>, String> {
        let data = self
            .api(&format!("/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}", urlencode(q)))
            .await?;
        Ok(data["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| Series {
                        labels: labels_of(&s["metric"]),
                        points: s["values"]
                            .as_array()
                            .map(|v| v.iter().filter_map(sample).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Waits until every job in `jobs` has all its targets up.
    pub async fn wait_targets_up(&self, jobs: &[String], timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            match self.api("/api/v1/targets").await {
                Ok(t) => {
                    let active = t["activeTargets"].as_array().cloned().unwrap_or_default();
                    let down: Vec<String> = jobs
                        .iter()
                        .filter(|j| !active.iter().any(|t| t["scrapePool"] == j.as_str() && t["health"] == "up"))
                        .map(|j| {
                            let err = active
                                .iter()
                                .find(|t| t["scrapePool"] == j.as_str())
                                .map(|t| t["lastError"].as_str().unwrap_or_default().to_owned())
                                .unwrap_or_else(|| "no such target".to_owned());
                            format!("{j} ({err})")
                        })
                        .collect();
                    if down.is_empty() {
                        return Ok(());
                    }
                    last = format!("targets not up: {}", down.join(", "));
                }
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(format!("after {timeout:?}: {last}"))
    }

    /// Every label name and its values (`/api/v1/labels`, `/api/v1/label/<n>/values`).
    pub async fn label_values(&self) -> Result<Vec<(String, Vec<String>)>, String> {
        let names = self.api("/api/v1/labels").await?;
        let mut out = Vec::new();
        for n in names.as_array().cloned().unwrap_or_default() {
            let Some(n) = n.as_str() else { continue };
            let vals = self.api(&format!("/api/v1/label/{}/values", urlencode(n))).await?;
            let vals = vals.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
            out.push((n.to_owned(), vals.unwrap_or_default()));
        }
        Ok(out)
    }

    /// Whether the rule `alert` is loaded, with its health.
    pub async fn rule_health(&self, alert: &str) -> Result<Option<String>, String> {
        let data = self.api("/api/v1/rules?type=alert").await?;
        for g in data["groups"].as_array().cloned().unwrap_or_default() {
            for r in g["rules"].as_array().cloned().unwrap_or_default() {
                if r["name"] == alert {
                    return Ok(Some(r["health"].as_str().unwrap_or("unknown").to_owned()));
                }
            }
        }
        Ok(None)
    }
}
