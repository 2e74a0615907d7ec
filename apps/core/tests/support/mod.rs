//! Helpers shared by the apps' integration tests (included with `#[path]`):
//! start a service binary on 127.0.0.1:0, read its address from stdout line
//! 1, stop it with SIGTERM or SIGKILL, read its trails and check a scrape.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running service process.
#[derive(Debug)]
pub struct Service {
    child: Option<Child>,
    /// Its address.
    pub addr: SocketAddr,
    /// Its data directory (database, trails).
    pub data: PathBuf,
    /// Its log directory (under `target/test-logs/<app>/`, privacy-scanned by CI).
    pub logs: PathBuf,
    bin: PathBuf,
    args: Vec<String>,
}

/// `target/test-logs/<app>/<name>`, emptied.
pub fn log_dir(app: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("..").join("test-logs").join(app).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("log dir");
    dir
}

/// A fresh data directory under `target/tmp/<app>/<name>`.
pub fn data_dir(app: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(app).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("data dir");
    dir
}

fn spawn(bin: &Path, args: &[String], envs: &[(&str, &str)]) -> (Child, SocketAddr) {
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start the service");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        // Keep draining so the service never blocks on a full pipe.
        for _ in lines {}
    });
    let first = rx.recv_timeout(Duration::from_secs(60)).expect("the service printed its address");
    let addr: SocketAddr = first.trim().parse().expect("stdout line 1 is the bound address");
    assert!(addr.ip().is_loopback(), "{addr}");
    (child, addr)
}

impl Service {
    /// Starts `bin` with `args` plus `--listen 127.0.0.1:0` and `--log-dir`.
    pub fn start(bin: &str, app: &str, name: &str, args: &[String], envs: &[(&str, &str)]) -> Service {
        let data = data_dir(app, name);
        let logs = log_dir(app, name);
        let mut all = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned(), "--log-dir".to_owned()];
        all.push(logs.display().to_string());
        all.extend(args.iter().cloned());
        let (child, addr) = spawn(Path::new(bin), &all, envs);
        Service { child: Some(child), addr, data, logs, bin: PathBuf::from(bin), args: all }
    }

    /// Starts the same binary again with the same arguments (new port).
    pub fn restart(&mut self, envs: &[(&str, &str)]) {
        assert!(self.child.is_none(), "stop it first");
        let mut args = self.args.clone();
        if let Some(i) = args.iter().position(|a| a == "--listen") {
            args[i + 1] = "127.0.0.1:0".to_owned();
        }
        let (child, addr) = spawn(&self.bin, &args, envs);
        self.child = Some(child);
        self.addr = addr;
    }

    /// `http://addr/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// SIGKILL, no chance to flush.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits (at most `timeout`) for the exit status.
    pub fn sigterm(&mut self, timeout: Duration) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        let st = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status().expect("kill -TERM");
        assert!(st.success());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = c.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("the service did not exit within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Every trail record under `root` (all days and tenants), as JSON.
pub fn trail_records(root: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join("audit")];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "ndjson") {
                let text = std::fs::read_to_string(&p).expect("trail file");
                out.extend(text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("trail line")));
            }
        }
    }
    out
}

/// The trail records of `kind`.
pub fn trails_of(root: &Path, kind: &str) -> Vec<serde_json::Value> {
    trail_records(root).into_iter().filter(|r| r["kind"] == kind).collect()
}

/// Waits until `f` holds (polling), at most `timeout`.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    f()
}

/// Runs `promtool check metrics` on an exposition; panics with its output on failure.
pub fn promtool_check(exposition: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (bash scripts/setup.sh installs it)");
    child.stdin.take().expect("stdin").write_all(exposition.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n---\n{exposition}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The metric families (`# TYPE` names) of an exposition.
pub fn families(exposition: &str) -> std::collections::BTreeSet<String> {
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The value of the series `name{labels}` (labels as rendered, e.g. `ok="true"`), 0 when absent.
pub fn sample(exposition: &str, name: &str, labels: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            n == name && labels.iter().all(|lv| rest.contains(lv))
        })
        .map(|(_, v)| v.parse::<f64>().unwrap_or(0.0))
        .sum()
}

/// A set of metric names (a component's, from the generated
/// `Component::metrics()`), to compare with [`families`] of a scrape.
pub fn metric_set(names: &[&str]) -> std::collections::BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// An HTTP client for the tests (plain HTTP to loopback).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
}
