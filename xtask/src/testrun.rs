//! The test phase of `cargo xtask ci`: every test binary of the workspace,
//! several at a time.
//!
//! `cargo test --workspace` runs one test binary after another, and many of
//! ours spend most of their time waiting on a real Prometheus, Alertmanager,
//! browser or S3 server, so the machine's two cores idle. Like
//! `cargo nextest`, this runs the binaries `cargo test --no-run` built as
//! separate processes, a few at a time, longest first, each in its package's
//! directory with the environment `cargo test` gives it. A binary's output is
//! kept and printed in full only when it fails; every failure is reported, not
//! only the first. Doc tests run through `cargo test --doc` as one more job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One test executable `cargo test --no-run` built.
#[derive(Debug, Clone)]
pub struct TestBinary {
    /// Package name (`obspec-trail`).
    pub package: String,
    /// Test target name (`trail`, or the package's lib/bin name for unit tests).
    pub target: String,
    /// The executable.
    pub executable: PathBuf,
    /// The package's directory: `cargo test` runs a binary there.
    pub dir: PathBuf,
}

impl TestBinary {
    fn label(&self) -> String {
        format!("{} {}", self.package, self.target)
    }
}

/// The test binaries in `cargo --message-format=json` output (one JSON object per line).
pub fn binaries_from_messages(stdout: &str) -> Vec<TestBinary> {
    let mut out = Vec::new();
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let (Some(exe), Some(manifest), Some(target)) =
            (msg["executable"].as_str(), msg["manifest_path"].as_str(), msg["target"]["name"].as_str())
        else {
            continue;
        };
        let dir = Path::new(manifest).parent().map(Path::to_path_buf).unwrap_or_default();
        // `package_id` reads `path+file:///…/dir#name@0.1.0`, or `…/dir#0.1.0`
        // when the name is the directory's (or the older `name 0.1.0 (…)`).
        let id = msg["package_id"].as_str().unwrap_or_default();
        let package = id
            .rsplit_once('#')
            .map(|(_, tail)| tail.split_once('@').map_or("", |(name, _)| name).to_owned())
            .or_else(|| id.split(' ').next().map(str::to_owned))
            .unwrap_or_default();
        let package = if package.is_empty() || package.contains('/') {
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        } else {
            package
        };
        out.push(TestBinary { package, target: target.to_owned(), executable: PathBuf::from(exe), dir });
    }
    out
}

/// What one job did.
struct Outcome {
    label: String,
    ok: bool,
    took: Duration,
    summary: String,
    output: String,
}

/// A job: a test binary, or the doc tests.
enum Job {
    Binary(TestBinary),
    Doc { cargo: String, root: PathBuf },
}

impl Job {
    fn label(&self) -> String {
        match self {
            Job::Binary(b) => b.label(),
            Job::Doc { .. } => "doc tests".to_owned(),
        }
    }

    fn command(&self, env: &[(&str, &str)]) -> Command {
        let mut cmd = match self {
            Job::Binary(b) => {
                let mut c = Command::new(&b.executable);
                c.current_dir(&b.dir).env("CARGO_MANIFEST_DIR", &b.dir).env("CARGO_PKG_NAME", &b.package);
                c
            }
            Job::Doc { cargo, root } => {
                let mut c = Command::new(cargo);
                c.args(["test", "--workspace", "--doc"]).current_dir(root);
                c
            }
        };
        cmd.envs(env.iter().copied()).stdin(Stdio::null());
        cmd
    }
}

/// The `test result:` lines of a run, summed: "84 passed, 2 ignored".
fn summary(output: &str) -> String {
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    for line in output.lines().filter(|l| l.starts_with("test result:")) {
        let mut words = line.split([' ', ';', '.']).filter(|w| !w.is_empty());
        while let Some(w) = words.next() {
            if let Ok(n) = w.parse::<u64>() {
                match words.next() {
                    Some("passed") => passed += n,
                    Some("failed") => failed += n,
                    Some("ignored") => ignored += n,
                    _ => {}
                }
            }
        }
    }
    let mut s = format!("{passed} passed");
    if failed > 0 {
        s.push_str(&format!(", {failed} failed"));
    }
    if ignored > 0 {
        s.push_str(&format!(", {ignored} ignored"));
    }
    s
}

fn run_job(job: &Job, env: &[(&str, &str)]) -> Outcome {
    let started = Instant::now();
    let label = job.label();
    let result = job.command(env).output();
    let took = started.elapsed();
    match result {
        Ok(out) => {
            let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            Outcome { label, ok: out.status.success(), took, summary: summary(&output), output }
        }
        Err(e) => Outcome { label, ok: false, took, summary: "did not start".to_owned(), output: format!("{e}\n") },
    }
}

/// The guess for a job no earlier run timed: most binaries take a second or
/// two, and starting unknown ones first would leave a slow known one as the
/// tail (seen: the trybuild UI tests started 28 s late and ended the phase).
pub const UNKNOWN_SECONDS: f64 = 2.0;

/// Runs the binaries and the doc tests, `jobs` at a time, longest first by
/// `expected` (seconds of an earlier run, by label; an unknown one counts as
/// [`UNKNOWN_SECONDS`], so the known slow ones start first). Returns the
/// durations seen, by label.
pub fn run_all(
    binaries: Vec<TestBinary>,
    doc: Option<(String, PathBuf)>,
    env: &[(&str, &str)],
    jobs: usize,
    expected: &BTreeMap<String, f64>,
) -> Result<BTreeMap<String, f64>, String> {
    let mut queue: Vec<Job> = binaries.into_iter().map(Job::Binary).collect();
    if let Some((cargo, root)) = doc {
        queue.push(Job::Doc { cargo, root });
    }
    longest_last(&mut queue, expected);
    let total = queue.len();
    let queue = Mutex::new(queue);
    let done: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                while let Some(job) = queue.lock().ok().and_then(|mut q| q.pop()) {
                    let outcome = run_job(&job, env);
                    let Ok(mut done) = done.lock() else { break };
                    eprintln!(
                        "[test {:>2}/{total}] {} {} ({:.1} s, {}) at {:.0?}",
                        done.len() + 1,
                        outcome.label,
                        if outcome.ok { "ok" } else { "FAILED" },
                        outcome.took.as_secs_f64(),
                        outcome.summary,
                        started.elapsed(),
                    );
                    done.push(outcome);
                }
            });
        }
    });
    let done = done.into_inner().map_err(|_| "error: a test job panicked\n".to_owned())?;
    let durations = done.iter().map(|o| (o.label.clone(), o.took.as_secs_f64())).collect();
    let failed: Vec<&Outcome> = done.iter().filter(|o| !o.ok).collect();
    if done.len() != total {
        return Err(format!("error: {} of {total} test jobs did not run\n", total - done.len()));
    }
    if failed.is_empty() {
        eprintln!("tests: {total} jobs passed in {:.0?}", started.elapsed());
        return Ok(durations);
    }
    let mut msg = String::new();
    for o in &failed {
        msg.push_str(&format!("\n---- output of {} ----\n{}", o.label, o.output));
    }
    let names: Vec<&str> = failed.iter().map(|o| o.label.as_str()).collect();
    msg.push_str(&format!("\nerror: {} of {total} test jobs failed: {}\n", failed.len(), names.join(", ")));
    Err(msg)
}

/// Sorts `queue` so that popping from its end yields the longest expected
/// job first (ties by label, for a stable order).
fn longest_last(queue: &mut [Job], expected: &BTreeMap<String, f64>) {
    let guess = |j: &Job| expected.get(&j.label()).copied().unwrap_or(UNKNOWN_SECONDS);
    queue.sort_by(|a, b| guess(a).total_cmp(&guess(b)).then_with(|| b.label().cmp(&a.label())));
}

/// Reads `label<TAB>seconds` lines (a missing or unreadable file is no hint).
pub fn read_durations(path: &Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .filter_map(|(k, v)| v.parse::<f64>().ok().map(|v| (k.to_owned(), v)))
        .collect()
}

/// Writes what [`read_durations`] reads.
pub fn write_durations(path: &Path, d: &BTreeMap<String, f64>) -> std::io::Result<()> {
    let text: String = d.iter().map(|(k, v)| format!("{k}\t{v:.1}\n")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_are_read_from_cargo_messages() {
        let lines = concat!(
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/trail#obspec-trail@0.1.0","manifest_path":"/w/trail/Cargo.toml","target":{"name":"trail"},"profile":{"test":true},"executable":"/w/target/debug/deps/trail-1"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/trail#obspec-trail@0.1.0","manifest_path":"/w/trail/Cargo.toml","target":{"name":"obspec_trail"},"profile":{"test":false},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/xtask#0.1.0","manifest_path":"/w/xtask/Cargo.toml","target":{"name":"xtask"},"profile":{"test":true},"executable":"/w/target/debug/deps/xtask-2"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\nnot json\n"
        );
        let b = binaries_from_messages(lines);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].package, "obspec-trail");
        assert_eq!(b[1].package, "xtask", "a package named as its directory");
        assert_eq!(b[0].target, "trail");
        assert_eq!(b[0].dir, PathBuf::from("/w/trail"));
        assert_eq!(b[0].executable, PathBuf::from("/w/target/debug/deps/trail-1"));
    }

    fn job(target: &str) -> Job {
        Job::Binary(TestBinary {
            package: "p".to_owned(),
            target: target.to_owned(),
            executable: PathBuf::from(target),
            dir: PathBuf::new(),
        })
    }

    #[test]
    fn known_slow_jobs_start_before_unknown_ones_and_fast_ones_last() {
        let mut queue = vec![job("unknown"), job("fast"), job("slow"), job("slower")];
        let expected: BTreeMap<String, f64> =
            [("p fast", 0.3), ("p slow", 40.0), ("p slower", 110.0)].map(|(k, v)| (k.to_owned(), v)).into();
        longest_last(&mut queue, &expected);
        let popped: Vec<String> = queue.iter().rev().map(Job::label).collect();
        assert_eq!(popped, ["p slower", "p slow", "p unknown", "p fast"]);
    }

    #[test]
    fn summaries_add_up_every_result_line() {
        let out = "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out\n\
                   test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(summary(out), "5 passed, 1 failed, 1 ignored");
        assert_eq!(summary(""), "0 passed");
    }

    #[test]
    fn durations_round_trip() {
        let dir = std::env::temp_dir().join(format!("xtask-durations-{}", std::process::id()));
        let path = dir.join("d.tsv");
        let d: BTreeMap<String, f64> = [("a b".to_owned(), 1.5), ("c".to_owned(), 20.0)].into();
        write_durations(&path, &d).unwrap();
        assert_eq!(read_durations(&path), d);
        assert!(read_durations(&dir.join("missing")).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
