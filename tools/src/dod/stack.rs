//! Process supervision on loopback: every process the harness starts is a
//! [`Proc`], killed (and reaped) when dropped, so a failed proof, a panic or
//! Ctrl-C never leaves a server behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process with its output in `dir/<name>.log`, killed on drop.
#[derive(Debug)]
pub struct Proc {
    /// Short name (`core`, `prometheus`…).
    pub name: String,
    /// Address it serves, when it is a server.
    pub addr: Option<String>,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    /// How it was started (to restart it).
    spec: Launch,
    child: Option<Child>,
}

/// How to start a process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Program.
    pub program: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// The first stdout line is the bound address (the reference services).
    pub announces: bool,
}

impl Proc {
    /// Starts `launch`, appending its output to `dir/<name>.log`.
    pub fn start(name: &str, addr: Option<&str>, dir: &Path, launch: Launch) -> Result<Proc, String> {
        let log = dir.join(format!("{name}.log"));
        let mut p = Proc { name: name.to_owned(), addr: addr.map(str::to_owned), log, spec: launch, child: None };
        p.spawn()?;
        Ok(p)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{}: {e}", self.log.display()))?;
        let mut cmd = Command::new(&self.spec.program);
        cmd.args(&self.spec.args).current_dir(&self.spec.cwd).stdin(Stdio::null()).stderr(Stdio::from(err));
        for (k, v) in &self.spec.env {
            cmd.env(k, v);
        }
        if self.spec.announces {
            cmd.stdout(Stdio::piped());
        } else {
            cmd.stdout(Stdio::from(out));
        }
        let mut child =
            cmd.spawn().map_err(|e| format!("cannot start {} ({}): {e}", self.name, self.spec.program.display()))?;
        if self.spec.announces {
            let stdout = child.stdout.take().ok_or("no stdout pipe")?;
            let (tx, rx) = mpsc::channel();
            let log = self.log.clone();
            // The first line is the address; the rest (if any) goes to the log.
            std::thread::spawn(move || {
                let mut r = BufReader::new(stdout);
                let mut first = String::new();
                let _ = r.read_line(&mut first);
                let _ = tx.send(first.trim().to_owned());
                if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&log) {
                    let mut buf = [0u8; 8192];
                    while let Ok(n) = r.read(&mut buf) {
                        if n == 0 || f.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            });
            self.child = Some(child);
            let announced = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
            if let Some(addr) = &self.addr
                && !announced.contains(addr.as_str())
            {
                return Err(format!("{} announced {announced:?} instead of {addr}\n{}", self.name, self.log_tail(20)));
            }
        } else {
            self.child = Some(child);
        }
        Ok(())
    }

    /// The OS process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns whether it exited by itself.
    pub fn stop(&mut self, grace: Duration) -> bool {
        let Some(mut c) = self.child.take() else { return true };
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        let start = Instant::now();
        while start.elapsed() < grace {
            if let Ok(Some(_)) = c.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    /// Starts the same command again (after [`Proc::kill`] or [`Proc::stop`]).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.spawn()
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until `GET path` answers 200, failing early if the process exits.
    pub fn wait_http(&mut self, path: &str, timeout: Duration) -> Result<(), String> {
        let addr = self.addr.clone().ok_or_else(|| format!("{} has no address", self.name))?;
        let start = Instant::now();
        loop {
            if !self.running() {
                return Err(format!("{} exited during start-up; its log:\n{}", self.name, self.log_tail(30)));
            }
            if http_status(&addr, path).is_some_and(|s| s == 200) {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "{} did not answer 200 on {path} within {timeout:?}; its log:\n{}",
                    self.name,
                    self.log_tail(30)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The status of a plain `GET path` (HTTP/1.0), if anything answers.
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let sock: SocketAddr = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&sock, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    String::from_utf8_lossy(&buf[..n]).split_whitespace().nth(1)?.parse().ok()
}

/// Fails clearly when an address the spec assigns is taken.
pub fn check_free(addr: &str, what: &str) -> Result<(), String> {
    match TcpListener::bind(addr) {
        Ok(_) => Ok(()),
        Err(e) => {
            let port = addr.rsplit(':').next().unwrap_or(addr);
            Err(format!(
                "{addr} ({what}) is not free: {e}. Stop whatever listens there (`ss -ltnp 'sport = :{port}'`), \
                 or change the port in spec/environments.yaml (environment `local`) and run `cargo xtask gen`."
            ))
        }
    }
}

/// A free loopback port (for processes the spec gives no address, such as the S3 server).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
