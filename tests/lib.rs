//! Shared helpers of the workspace integration tests: the workspace root, a
//! minimal HTTP client, free ports, a spec-driven exporter and a real Prometheus.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use obspec_codegen::model::{LabelKind, MetricKind, Spec};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Loads and validates the repository's spec.
pub fn spec() -> Spec {
    let inputs = obspec_codegen::load::read_dir(&root().join("spec"), "spec").expect("read spec/");
    match obspec_codegen::check(&inputs) {
        Ok(loaded) => loaded.spec,
        Err(diags) => panic!("{}", obspec_codegen::diag::render_all(&diags)),
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind a free port")
}

/// `GET path` over HTTP/1.0; returns the status code and body.
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut buf = String::new();
    stream.read_to_string(&mut buf)?;
    let status = buf.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// Percent-encodes a query parameter.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Label values for test traffic: two closed values, or a route/ID for open labels.
fn label_values(spec: &Spec, label: &str) -> Vec<String> {
    match spec.labels.iter().find(|l| l.name == label) {
        // The first and last values: for `code` that is a 2xx and a 5xx.
        Some(l) if l.kind == LabelKind::Closed => {
            let mut v: Vec<String> = l.values.first().into_iter().chain(l.values.last()).cloned().collect();
            v.dedup();
            v
        }
        Some(l) if l.kind == LabelKind::ErrorToken => {
            vec![l.none.clone().unwrap_or_default(), "BACKPRESSURE".to_owned()]
        }
        _ if label == "route" => vec!["/v1/test".to_owned()],
        _ => vec!["t1".to_owned()],
    }
}

/// Every label combination (first two values of each label) of a metric.
fn combos(spec: &Spec, labels: &[String]) -> Vec<Vec<(String, String)>> {
    let mut out = vec![Vec::new()];
    for l in labels {
        let mut next = Vec::new();
        for c in &out {
            for v in label_values(spec, l) {
                let mut c = c.clone();
                c.push((l.clone(), v));
                next.push(c);
            }
        }
        out = next;
    }
    out
}

/// Renders a Prometheus text exposition of every spec metric, with counters
/// growing with `t` seconds of traffic (10 events/s per series).
pub fn exposition(spec: &Spec, t: f64) -> String {
    let mut out = String::new();
    for m in &spec.metrics {
        let ty = match m.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        };
        out.push_str(&format!("# HELP {} {}\n# TYPE {} {ty}\n", m.name, m.help, m.name));
        for labels in combos(spec, &m.labels) {
            let fmt = |extra: Option<(&str, String)>| {
                let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                if let Some((k, v)) = extra {
                    parts.push(format!("{k}=\"{v}\""));
                }
                if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
            };
            match m.kind {
                MetricKind::Counter => out.push_str(&format!("{}{} {}\n", m.name, fmt(None), 10.0 * t)),
                MetricKind::Gauge => out.push_str(&format!("{}{} 1\n", m.name, fmt(None))),
                MetricKind::Histogram => {
                    // Observations spread evenly over the buckets.
                    let n = m.buckets.len() as f64 + 1.0;
                    for (i, b) in m.buckets.iter().enumerate() {
                        let le = format!("{b}");
                        out.push_str(&format!(
                            "{}_bucket{} {}\n",
                            m.name,
                            fmt(Some(("le", le))),
                            10.0 * t * (i as f64 + 1.0) / n
                        ));
                    }
                    out.push_str(&format!("{}_bucket{} {}\n", m.name, fmt(Some(("le", "+Inf".to_owned()))), 10.0 * t));
                    out.push_str(&format!("{}_sum{} {}\n", m.name, fmt(None), t));
                    out.push_str(&format!("{}_count{} {}\n", m.name, fmt(None), 10.0 * t));
                }
            }
        }
    }
    out
}

/// An HTTP server on loopback answering every request with `body()`.
pub struct Exporter {
    /// `127.0.0.1:port`.
    pub addr: String,
    stop: Arc<AtomicBool>,
}

impl Exporter {
    /// Starts serving `body()` on a free port.
    pub fn start(body: impl Fn() -> String + Send + 'static) -> Exporter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind exporter");
        let addr = listener.local_addr().expect("exporter addr").to_string();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let mut req = [0u8; 4096];
                        let _ = s.read(&mut req);
                        let b = body();
                        let _ = write!(
                            s,
                            "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{b}",
                            b.len()
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Exporter { addr, stop }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A real `prometheus` server on loopback, killed on drop.
pub struct Prometheus {
    /// `127.0.0.1:port`.
    pub addr: String,
    child: Child,
    /// Its working directory (config, rules, TSDB).
    pub dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus with the generated config and rules, scraping `targets`
    /// instead of the production targets, every second.
    pub fn start(spec: &Spec, exporter: &str) -> Prometheus {
        let src = root().join("infra/observability");
        let config = std::fs::read_to_string(src.join("prometheus.yml")).expect("read prometheus.yml");
        let mut rules = Vec::new();
        for entry in std::fs::read_dir(src.join("rules")).expect("list rules") {
            let p = entry.expect("entry").path();
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            rules.push((name, std::fs::read_to_string(&p).expect("read rules")));
        }
        Prometheus::start_with(spec, &config, &rules, exporter)
    }

    /// Starts Prometheus with `config` (a generated `prometheus.yml`) and the
    /// rule files `rules` (name under `rules/`, text), every target of `spec`
    /// replaced by `exporter` and every interval set to one second.
    pub fn start_with(spec: &Spec, config: &str, rules: &[(String, String)], exporter: &str) -> Prometheus {
        let dir = std::env::temp_dir().join(format!("obspec-prom-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(dir.join("rules")).expect("mkdir");
        let mut config = config.to_owned();
        for c in &spec.components {
            for t in &c.targets {
                config = config.replace(&format!("- '{t}'\n"), &format!("- '{exporter}'\n"));
            }
        }
        let interval = &spec.project.scrape_interval;
        config = config.replace(&format!("scrape_interval: {interval}"), "scrape_interval: 1s");
        config = config.replace(&format!("evaluation_interval: {interval}"), "evaluation_interval: 1s");
        std::fs::write(dir.join("prometheus.yml"), config).expect("write config");
        for (name, text) in rules {
            std::fs::write(dir.join("rules").join(name), text).expect("write rules");
        }
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new("prometheus")
            .args(["--config.file=prometheus.yml", "--storage.tsdb.path=data", &format!("--web.listen-address={addr}")])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).map(Stdio::from).unwrap_or(Stdio::null()))
            .spawn()
            .expect("start prometheus (install it with scripts/setup.sh)");
        let p = Prometheus { addr, child, dir };
        p.wait_until(Duration::from_secs(30), |p| p.get("/-/ready").is_ok_and(|(s, _)| s == 200));
        p
    }

    /// `GET` against the server's HTTP API.
    pub fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http_get(&self.addr, path)
    }

    /// The parsed JSON `data` of an API call that must succeed.
    pub fn api(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path).expect("query prometheus");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json from prometheus");
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(v["status"], "success", "{path}: {body}");
        v["data"].clone()
    }

    /// Polls `cond` until it holds, or panics after `timeout` with the server log.
    pub fn wait_until(&self, timeout: Duration, cond: impl Fn(&Prometheus) -> bool) {
        self.wait_for(timeout, |p| if cond(p) { Ok(()) } else { Err("condition not met".to_owned()) });
    }

    /// Polls `check` until it returns `Ok`, or panics after `timeout` with its
    /// last error and the server log.
    pub fn wait_for(&self, timeout: Duration, check: impl Fn(&Prometheus) -> Result<(), String>) {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            match check(self) {
                Ok(()) => return,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let log = std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        panic!("not met within {timeout:?}: {last}\nprometheus log (last lines, newest first):\n{}", tail.join("\n"));
    }

    /// The directory holding the server's files.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
