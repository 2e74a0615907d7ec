//! `obspec-tools dod [--quick] [--keep]`: the blueprint's Proof of Done (§11),
//! end to end on one machine.
//!
//! Starts, on loopback: the reference services (release builds; `--quick`
//! reuses the dev build `cargo test` made), a real Prometheus with the
//! `local` environment's generated config and the generated rules, a real
//! Alertmanager with the generated config, the webhook receiver on the address
//! that config names, and the S3-protocol server of the roll tests. Then runs
//! the five proofs ([`proofs`]), writes `target/dod/REPORT.md` and
//! `target/dod/report.html` ([`report`]), stops every process (also on
//! failure or Ctrl-C) and exits 1 naming each proof that failed.
//!
//! Fault injection, to show the harness fails when a proof breaks
//! (`OBSPEC_DOD_FAULT`, comma-separated): `canary-log` (a canary is written
//! into a service's log file, as a leaking service would), `never-fire` (the
//! backpressure alert's rule is replaced by one that never fires, same name),
//! `drop-replay` (the client discards the first replayed event, as a lossy
//! replay would look).

pub mod gateway;
pub mod load;
pub mod net;
pub mod prom;
pub mod proofs;
pub mod receiver;
pub mod report;
pub mod stack;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use obspec_codegen::model::{Environment, Spec};

use prom::Prom;
use receiver::Receiver;
use stack::{Launch, Proc};

/// The environment of the spec this harness runs.
pub const ENVIRONMENT: &str = "local";

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Reduced durations (CI).
    pub quick: bool,
    /// Leave the stack up at the end.
    pub keep: bool,
    /// Injected faults.
    pub faults: Vec<String>,
}

impl Options {
    /// Parses `--quick`, `--keep` and `OBSPEC_DOD_FAULT`.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options::default();
        for a in args {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--keep" => o.keep = true,
                other => return Err(format!("dod: unknown argument `{other}`\n")),
            }
        }
        o.faults = std::env::var("OBSPEC_DOD_FAULT")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        for f in &o.faults {
            if !["canary-log", "never-fire", "drop-replay"].contains(&f.as_str()) {
                return Err(format!("OBSPEC_DOD_FAULT: unknown fault `{f}` (canary-log, never-fire, drop-replay)\n"));
            }
        }
        Ok(o)
    }

    /// Whether `fault` is injected.
    pub fn fault(&self, fault: &str) -> bool {
        self.faults.iter().any(|f| f == fault)
    }
}

/// One assertion of a proof.
#[derive(Debug, Clone)]
pub struct Check {
    /// What is asserted.
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// The measured figure.
    pub detail: String,
}

/// The outcome of one proof.
#[derive(Debug, Clone)]
pub struct ProofResult {
    /// Short id (`load`, `ws`, `backpressure`, `privacy`, `roll`).
    pub id: &'static str,
    /// Title, as in §11.
    pub title: &'static str,
    /// Assertions.
    pub checks: Vec<Check>,
    /// Figures (name, value).
    pub figures: Vec<(String, String)>,
    /// Set when the proof could not run to the end.
    pub error: Option<String>,
    /// Wall time.
    pub seconds: f64,
}

impl ProofResult {
    /// An empty result.
    pub fn new(id: &'static str, title: &'static str) -> ProofResult {
        ProofResult { id, title, checks: Vec::new(), figures: Vec::new(), error: None, seconds: 0.0 }
    }

    /// Records an assertion.
    pub fn check(&mut self, what: impl Into<String>, ok: bool, detail: impl Into<String>) {
        let c = Check { what: what.into(), ok, detail: detail.into() };
        eprintln!("[dod]   {} {} — {}", if c.ok { "ok  " } else { "FAIL" }, c.what, c.detail);
        self.checks.push(c);
    }

    /// Records a figure.
    pub fn figure(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.figures.push((name.into(), value.into()));
    }

    /// Whether every assertion held and the proof ran to the end.
    pub fn passed(&self) -> bool {
        self.error.is_none() && !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }
}

/// The progress line: phase, elapsed, current request rate (stderr, every 2 s).
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    phase: Mutex<String>,
}

impl Progress {
    /// Sets the phase shown.
    pub fn phase(&self, p: &str) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = p.to_owned();
        eprintln!("[dod {}] {p}", self.elapsed_text());
    }

    /// `m:ss` since the start.
    pub fn elapsed_text(&self) -> String {
        let s = self.started.elapsed().as_secs();
        format!("{}:{:02}", s / 60, s % 60)
    }

    fn spawn_ticker(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut last = load::COMPLETED.load(Ordering::Relaxed);
            let mut t = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let now = load::COMPLETED.load(Ordering::Relaxed);
                let rate = (now - last) as f64 / t.elapsed().as_secs_f64().max(0.001);
                (last, t) = (now, Instant::now());
                let phase = me.phase.lock().unwrap_or_else(PoisonError::into_inner).clone();
                eprintln!("[dod {}] … {phase} — {rate:.0} req/s", me.elapsed_text());
            }
        })
    }
}

/// A marked time window of the run (for the charts).
#[derive(Debug, Clone)]
pub struct Mark {
    /// Label.
    pub label: String,
    /// Unix seconds.
    pub from: f64,
    /// Unix seconds.
    pub to: f64,
}

/// Everything the proofs share.
pub struct Ctx {
    /// Options.
    pub opts: Options,
    /// The workspace root.
    pub root: PathBuf,
    /// `target/dod`.
    pub out: PathBuf,
    /// `target/dod/run`: process directories, logs, stores.
    pub run: PathBuf,
    /// The validated spec.
    pub spec: Spec,
    /// The `local` environment.
    pub env: Environment,
    /// HTTP client.
    pub client: net::Client,
    /// The Prometheus server.
    pub prom: Prom,
    /// The webhook receiver.
    pub receiver: Receiver,
    /// Reference services by component name.
    pub services: BTreeMap<String, Proc>,
    /// Prometheus, Alertmanager, the S3 server.
    pub infra: Vec<Proc>,
    /// The S3 server's port.
    pub s3_port: u16,
    /// The alerting rules file Prometheus loads (in the run directory).
    pub rules_file: PathBuf,
    /// The Alertmanager config Alertmanager runs with.
    pub am_config: PathBuf,
    /// The run's canaries.
    pub canary: proofs::privacy::Canary,
    /// Progress line.
    pub progress: Arc<Progress>,
    /// Windows marked on the charts.
    pub marks: Vec<Mark>,
    /// Service binaries directory (`target/release` or `target/debug`).
    pub bin_dir: PathBuf,
    /// Ops token of the services.
    pub ops_token: String,
    /// The gateway Worker and live-check standing in for its collector, when the environment runs them.
    pub gateway: Option<gateway::Gateway>,
}

/// Unix seconds now.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Ctx {
    /// `http://` + the address of a component in the `local` environment.
    pub fn url(&self, component: &str) -> Option<String> {
        self.env.targets.get(component).map(|a| format!("http://{a}"))
    }

    /// The address of a component in the `local` environment.
    pub fn addr(&self, component: &str) -> Option<String> {
        self.env.targets.get(component).cloned()
    }

    /// Marks a window on the charts.
    pub fn mark(&mut self, label: &str, from: f64, to: f64) {
        self.marks.push(Mark { label: label.to_owned(), from, to });
    }
}

/// Loads and validates the spec.
pub fn load_spec(root: &Path) -> Result<Spec, String> {
    let inputs = obspec_codegen::load::read_dir(&root.join("spec"), "spec").map_err(|e| format!("spec/: {e}\n"))?;
    obspec_codegen::check(&inputs).map(|l| l.spec).map_err(|d| obspec_codegen::diag::render_all(&d))
}

/// The workspace root (tools lives one level below it).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// `obspec-tools dod …`.
pub fn main(args: &[String]) -> Result<(), String> {
    let opts = Options::parse(args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}\n"))?;
    rt.block_on(async move {
        tokio::select! {
            r = run(opts) => r,
            _ = tokio::signal::ctrl_c() => {
                // Dropping `run` drops the stack: every process is killed.
                Err("dod: interrupted (Ctrl-C): every process was stopped\n".to_owned())
            }
        }
    })
}

/// Component name → the app directory and binary that implement it.
#[derive(Debug, Clone)]
pub struct App {
    /// Cargo package.
    pub package: String,
    /// Binary name.
    pub bin: String,
}

/// The reference services under `apps/` (a component `policy_proxy` is `apps/policy-proxy`).
pub fn apps(root: &Path, spec: &Spec, env: &Environment) -> BTreeMap<String, App> {
    let mut out = BTreeMap::new();
    for c in spec.components.iter().filter(|c| env.targets.contains_key(&c.name)) {
        let manifest = root.join("apps").join(c.name.replace('_', "-")).join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let value = |key: &str, after: &str| -> Option<String> {
            let start = if after.is_empty() { 0 } else { text.find(after)? };
            text[start..].lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        let Some(package) = value("name", "[package]") else { continue };
        let bin = value("name", "[[bin]]").unwrap_or_else(|| package.clone());
        out.insert(c.name.clone(), App { package, bin });
    }
    out
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Builds the services (release for a full run, dev for `--quick`) and the roll and trail tools.
fn build(root: &Path, apps: &BTreeMap<String, App>, quick: bool) -> Result<PathBuf, String> {
    let mut args: Vec<String> = vec!["build".into(), "-q".into()];
    if !quick {
        args.push("--release".into());
    }
    for a in apps.values() {
        args.extend(["-p".into(), a.package.clone()]);
    }
    args.extend(["-p".into(), "obspec-roll".into(), "-p".into(), "obspec-trail".into()]);
    eprintln!("[dod] {} {}", cargo(), args.join(" "));
    let status = std::process::Command::new(cargo())
        .args(&args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}\n"))?;
    if !status.success() {
        return Err(format!("dod: building the services failed ({status})\n"));
    }
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
    Ok(target.join(if quick { "debug" } else { "release" }))
}

/// The launch of a reference service in the `local` environment.
pub fn service_launch(
    ctx_run: &Path,
    bin_dir: &Path,
    component: &str,
    app: &App,
    env: &Environment,
    ops_token: &str,
) -> Launch {
    let dir = ctx_run.join(component);
    let spool = dir.join("spool");
    let addr = env.targets.get(component).cloned().unwrap_or_default();
    let mut args: Vec<String> = vec![
        "--listen".into(),
        addr,
        "--log-dir".into(),
        spool.display().to_string(),
        "--trail-dir".into(),
        spool.display().to_string(),
        "--ops-token".into(),
        ops_token.into(),
    ];
    match component {
        "core" => args.extend(
            [
                "--db",
                &dir.join("core.db").display().to_string(),
                // The load proof measures throughput, not the per-tenant limit (proven by the http tests).
                "--tenant-rate",
                "1000000",
                "--tenant-burst",
                "1000000",
            ]
            .map(str::to_owned),
        ),
        "office" => args.extend(["--db", &dir.join("office.db").display().to_string()].map(str::to_owned)),
        "policy_proxy" => {
            if let Some(core) = env.targets.get("core") {
                args.extend(["--upstream".to_owned(), format!("http://{core}")]);
            }
            args.extend(["--tenant-rate", "1000000", "--tenant-burst", "1000000"].map(str::to_owned));
        }
        _ => {}
    }
    Launch { program: bin_dir.join(&app.bin), args, cwd: dir, env: Vec::new(), announces: true }
}

/// Starts a reference service and waits for its health endpoint.
pub fn start_service(
    ctx_run: &Path,
    bin_dir: &Path,
    component: &str,
    app: &App,
    env: &Environment,
    token: &str,
) -> Result<Proc, String> {
    let launch = service_launch(ctx_run, bin_dir, component, app, env, token);
    std::fs::create_dir_all(launch.cwd.join("spool")).map_err(|e| format!("{}: {e}", launch.cwd.display()))?;
    let addr = env.targets.get(component).cloned();
    let mut p = Proc::start(component, addr.as_deref(), &launch.cwd.clone(), launch)?;
    p.wait_http("/_health", Duration::from_secs(30))?;
    Ok(p)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for e in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?.flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest)?;
        } else {
            std::fs::copy(&p, &dest).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    Ok(())
}

/// Prometheus with the environment's generated config: the generated flags
/// (retention), our storage path and listen address.
fn start_prometheus(root: &Path, run: &Path, env: &Environment, quick: bool) -> Result<(Proc, PathBuf), String> {
    let src = root.join(obspec_codegen::render::prometheus::DIR);
    let dir = run.join("prometheus");
    copy_dir(&src.join("rules"), &dir.join("rules"))?;
    copy_dir(&src.join(&env.name), &dir.join(&env.name))?;
    let config_name = if quick && env.time_compression.is_some() { "prometheus-quick.yml" } else { "prometheus.yml" };
    let config = dir.join(&env.name).join(config_name);
    let text = std::fs::read_to_string(&config).map_err(|e| format!("{}: {e}", config.display()))?;
    let rules_file = rule_files(&text)
        .into_iter()
        .map(|f| dir.join(&env.name).join(f))
        .find(|p| !p.to_string_lossy().contains("recording"))
        .ok_or("the local Prometheus config loads no alerting rules")?;
    let flags = std::fs::read_to_string(src.join("prometheus.flags")).map_err(|e| format!("prometheus.flags: {e}"))?;
    let mut args: Vec<String> = flags
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("--config.file"))
        .map(str::to_owned)
        .collect();
    args.push(format!("--config.file={}", config.display()));
    args.push(format!("--storage.tsdb.path={}", dir.join("data").display()));
    args.push(format!("--web.listen-address={}", env.prometheus));
    let launch = Launch { program: "prometheus".into(), args, cwd: dir.clone(), env: Vec::new(), announces: false };
    let mut p = Proc::start("prometheus", Some(&env.prometheus), &dir, launch)
        .map_err(|e| format!("{e}; install Prometheus with `bash scripts/setup.sh`"))?;
    p.wait_http("/-/ready", Duration::from_secs(30))?;
    Ok((p, rules_file))
}

fn rule_files(config: &str) -> Vec<String> {
    let Ok(docs) = yaml_rust2::YamlLoader::load_from_str(config) else { return Vec::new() };
    docs.first()
        .and_then(|d| d["rule_files"].as_vec().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn alertmanager_bin() -> &'static str {
    // Debian names the binary prometheus-alertmanager.
    let found = |b: &str| {
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(b).is_file())).unwrap_or(false)
    };
    if found("alertmanager") { "alertmanager" } else { "prometheus-alertmanager" }
}

/// The environment's own Alertmanager config when `gen` rendered one (a
/// `receiver` in the spec), else the generated production config.
pub fn alertmanager_config(root: &Path, env: &Environment) -> PathBuf {
    let dir = root.join(obspec_codegen::render::prometheus::DIR);
    let own = dir.join(&env.name).join("alertmanager.yml");
    if own.is_file() { own } else { dir.join("alertmanager.yml") }
}

fn start_alertmanager(config: &Path, run: &Path, env: &Environment) -> Result<Proc, String> {
    let dir = run.join("alertmanager");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let args = vec![
        format!("--config.file={}", config.display()),
        format!("--storage.path={}", dir.join("data").display()),
        format!("--web.listen-address={}", env.alertmanager),
        "--cluster.listen-address=".to_owned(),
    ];
    let launch =
        Launch { program: alertmanager_bin().into(), args, cwd: dir.clone(), env: Vec::new(), announces: false };
    let mut p = Proc::start("alertmanager", Some(&env.alertmanager), &dir, launch)
        .map_err(|e| format!("{e}; install Alertmanager with `bash scripts/setup.sh`"))?;
    p.wait_http("/-/ready", Duration::from_secs(30))?;
    Ok(p)
}

fn start_s3(root: &Path, run: &Path) -> Result<(Proc, u16), String> {
    let script = root.join("scripts/s3-server.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("install")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("the S3 server (moto) could not be installed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let port = stack::free_port()?;
    let dir = run.join("s3");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let launch = Launch {
        program: "bash".into(),
        args: vec![script.display().to_string(), "run".into(), port.to_string()],
        cwd: dir.clone(),
        env: Vec::new(),
        announces: false,
    };
    let addr = format!("127.0.0.1:{port}");
    let mut p = Proc::start("s3", Some(&addr), &dir, launch)?;
    p.wait_http("/", Duration::from_secs(30))?;
    Ok((p, port))
}

async fn run(opts: Options) -> Result<(), String> {
    let t0 = Instant::now();
    let progress = Arc::new(Progress { started: t0, phase: Mutex::new("start".into()) });
    let root = workspace_root();
    let spec = load_spec(&root)?;
    let env = spec
        .environments
        .iter()
        .find(|e| e.name == ENVIRONMENT)
        .cloned()
        .ok_or(format!("dod: the spec has no `{ENVIRONMENT}` environment (spec/environments.yaml)\n"))?;
    let out = root.join("target/dod");
    let run = out.join("run");
    let _ = std::fs::remove_dir_all(&run);
    std::fs::create_dir_all(&run).map_err(|e| format!("{}: {e}", run.display()))?;

    // Ports the spec assigns, and the receiver's, must be free.
    let am_config = alertmanager_config(&root, &env);
    let am_yml = std::fs::read_to_string(&am_config).map_err(|e| format!("{}: {e}", am_config.display()))?;
    let hooks = receiver::webhook_urls(&am_yml);
    let hook_addr = hooks
        .iter()
        .find_map(|u| receiver::host_port(u))
        .ok_or("the generated alertmanager.yml has no webhook receiver")?;
    let mut wanted: Vec<(String, String)> =
        vec![(env.prometheus.clone(), "prometheus".into()), (env.alertmanager.clone(), "alertmanager".into())];
    wanted.extend(env.targets.iter().map(|(c, a)| (a.clone(), c.clone())));
    if let Some(o) = &env.otlp {
        wanted.push((o.clone(), "OTLP receiver (live-check)".into()));
    }
    wanted.push((hook_addr.clone(), "webhook receiver of alertmanager.yml".into()));
    for (addr, what) in &wanted {
        stack::check_free(addr, what)?;
    }

    progress.phase(if opts.quick { "build (dev profile)" } else { "build (release profile)" });
    let apps = apps(&root, &spec, &env);
    // OBSPEC_DOD_NO_BUILD=1: use the binaries already built (a tree mid-edit elsewhere).
    let bin_dir = if std::env::var_os("OBSPEC_DOD_NO_BUILD").is_some() {
        let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
        target.join(if opts.quick { "debug" } else { "release" })
    } else {
        build(&root, &apps, opts.quick)?
    };
    let ticker = progress.spawn_ticker();

    progress.phase("start the stack");
    let client = net::client(1024);
    let receiver = Receiver::start(&hook_addr, &run.join("notifications.ndjson")).await?;
    let mut infra = Vec::new();
    let (s3, s3_port) = start_s3(&root, &run)?;
    infra.push(s3);
    infra.push(start_alertmanager(&am_config, &run, &env)?);
    let (prom_proc, rules_file) = start_prometheus(&root, &run, &env, opts.quick)?;
    infra.push(prom_proc);
    let ops_token = format!("dod{:016x}", obspec::http::trace::random_u64());
    let mut services = BTreeMap::new();
    for (component, app) in &apps {
        services.insert(component.clone(), start_service(&run, &bin_dir, component, app, &env, &ops_token)?);
    }
    progress.phase("start the gateway Worker (miniflare) and live-check");
    let gateway = gateway::start(&root, &run, &spec, &env)?;
    let prom = Prom::new(&env.prometheus, client.clone());
    let mut jobs: Vec<String> = services.keys().cloned().collect();
    jobs.extend(gateway.as_ref().map(|g| g.component.clone()));
    prom.wait_targets_up(&jobs, Duration::from_secs(30)).await?;

    let mut ctx = Ctx {
        canary: proofs::privacy::Canary::new(),
        opts: opts.clone(),
        root: root.clone(),
        out: out.clone(),
        run,
        spec,
        env,
        client,
        prom,
        receiver,
        services,
        infra,
        s3_port,
        rules_file,
        am_config,
        progress: Arc::clone(&progress),
        marks: Vec::new(),
        bin_dir,
        ops_token,
        gateway,
    };
    if opts.fault("never-fire") {
        proofs::backpressure::inject_never_fire(&ctx).await?;
    }
    let started = unix_now();
    let results = proofs::run_all(&mut ctx, &apps).await;
    let ended = unix_now();

    progress.phase("report");
    let written = report::write(&ctx, &results, started, ended, t0.elapsed()).await;
    ticker.abort();
    let failed: Vec<&ProofResult> = results.iter().filter(|r| !r.passed()).collect();
    for r in &results {
        eprintln!(
            "[dod] {} {} ({:.0} s){}",
            if r.passed() { "PASS" } else { "FAIL" },
            r.title,
            r.seconds,
            r.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    match &written {
        Ok(paths) => eprintln!("[dod] report: {}", paths.join(", ")),
        Err(e) => eprintln!("[dod] the report could not be written: {e}"),
    }
    eprintln!("[dod] finished in {}", progress.elapsed_text());
    if opts.keep {
        proofs::restart_stopped(&mut ctx, &apps)?;
        eprintln!("[dod] --keep: the stack is up; Ctrl-C stops it.");
        eprintln!("  prometheus    http://{}", ctx.env.prometheus);
        eprintln!("  alertmanager  http://{}", ctx.env.alertmanager);
        for (c, a) in &ctx.env.targets {
            if ctx.services.contains_key(c) {
                eprintln!("  {c:<13} http://{a}");
            }
        }
        if let Some(g) = &ctx.gateway {
            eprintln!(
                "  {:<13} http://{}  (Worker; OTLP to live-check, series on {})",
                g.component,
                g.addr,
                g.live_check.addr.as_deref().unwrap_or_default()
            );
        }
        eprintln!("  receiver      http://{}  (notifications in {})", ctx.receiver.addr, ctx.receiver.file.display());
        eprintln!("  s3            http://127.0.0.1:{}", ctx.s3_port);
        std::future::pending::<()>().await;
    }
    written?;
    if failed.is_empty() {
        Ok(())
    } else {
        let names: Vec<String> = failed.iter().map(|r| format!("{} ({})", r.title, r.id)).collect();
        Err(format!("dod: {} of 5 proofs failed: {}\n", failed.len(), names.join("; ")))
    }
}
