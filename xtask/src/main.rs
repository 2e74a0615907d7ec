//! `cargo xtask`: project automation (see ARCHITECTURE.md).
//!
//! - `cargo xtask gen [--spec DIR] [--out DIR] [--check]`: render every
//!   artifact from the spec; with `--check`, write nothing and fail on drift.
//! - `cargo xtask diff --baseline <git-ref|DIR> [--spec DIR] [--format markdown|json]`:
//!   compare the spec with a baseline (a git ref, read with `git show` without
//!   touching the work tree, or a spec directory) and classify every change
//!   breaking, compatible or cosmetic; exit 1 on a breaking change the spec
//!   does not record (`renamed_from`, `trails.schema_version`).
//! - `cargo xtask check`: run the real consumers on the generated files:
//!   `promtool check config|rules`, `promtool test rules`, `amtool check-config`,
//!   `tsc` against `@grafana/schema` for the dashboards, and ajv against the
//!   vendored published schemas for the PrometheusRule, OpenSLO and Weaver files.
//! - `cargo xtask scan PATH…`: privacy scan (§11.4) of NDJSON logs, trail
//!   files and metrics expositions; exit 1 on any forbidden name or free text.
//!   It runs in `obspec-tools`, so that xtask builds only the compiler.
//! - `cargo xtask trails export --root DIR --from D --to D [--tenant T] --out FILE`
//!   and `cargo xtask trails verify BUNDLE|DIR [--trusted-keys FILE] [--checkpoint FILE|HEX] …`:
//!   the auditor bundle (§10), through `obspec-trail` (see `obspec-trail help`).
//! - `cargo xtask dod [--quick] [--keep]`: the Proof of Done (§11) on a real
//!   Prometheus and Alertmanager; runs in `obspec-tools` (see its `dod` module).
//! - `cargo xtask live-check …`: checks what a running system emits (OTLP,
//!   scrapes, log files, trails) against the spec; runs in `obspec-tools`.
//! - `cargo xtask import openslo FILE…`: prints the spec YAML (`slos:`) of
//!   OpenSLO v1 files, or every located problem with what cannot map.
//! - `cargo xtask ci`: the one test command. Runs the drift check, then two
//!   lanes side by side (set-up and artifact checks; rustfmt, clippy and the
//!   test build), then every test of the workspace, `dod --quick` and the
//!   privacy scan.

// A command-line tool: its reports go to stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use obspec_codegen::{CompileError, output};

mod testrun;

const USAGE: &str = "usage:\n  cargo xtask gen [--spec DIR] [--out DIR] [--check]\n  cargo xtask diff --baseline <git-ref|DIR> [--spec DIR] [--format markdown|json]\n  cargo xtask check\n  cargo xtask scan PATH...\n  cargo xtask trails export --root DIR --from YYYY-MM-DD --to YYYY-MM-DD [--tenant T] --out FILE\n  cargo xtask trails verify BUNDLE|DIR [--trusted-keys FILE] [--checkpoint FILE|HEX] [--from D] [--to D] [--tenant T]\n  cargo xtask dod [--quick] [--keep]\n  cargo xtask live-check [--otlp ADDR] [--metrics URL]... [--logs PATH]... [--trails DIR]... [--expose ADDR] [--format human|json] [--fail-on error|warning]\n  cargo xtask import openslo FILE...\n  cargo xtask ci";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => generate(&args[1..]),
        Some("ci") => ci(),
        Some("diff") => diff(&args[1..]).map(|report| print!("{report}")),
        Some("check") => check(),
        Some("scan") => scan(&args[1..]),
        Some("dod") => dod(&args[1..]),
        Some("live-check") => live_check(&args[1..]),
        Some("trails") => trails(&args[1..]),
        Some("import") => import(&args[1..]),
        _ => Err(format!("{USAGE}\n")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprint!("{msg}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// How a path is shown in diagnostics: relative to the current directory when possible.
fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

fn generate(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let mut spec = root.join("spec");
    let mut out = root.clone();
    let mut check = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--check" => check = true,
            "--spec" => spec = PathBuf::from(it.next().ok_or(format!("--spec needs a directory\n{USAGE}\n"))?),
            "--out" => out = PathBuf::from(it.next().ok_or(format!("--out needs a directory\n{USAGE}\n"))?),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}\n")),
        }
    }
    let spec = if spec.is_absolute() { spec } else { std::env::current_dir().unwrap_or_default().join(spec) };
    // Loaded and validated once: the committed files and the previews come from it.
    let loaded = obspec_codegen::check_dir(&spec, &display_path(&spec)).map_err(|e| match e {
        CompileError::Spec(_) | CompileError::Io(..) => e.to_string(),
    })?;
    let files = obspec_codegen::render::all(&loaded);
    if check {
        let drift = output::diff(&out, &files).map_err(|e| format!("error: cannot read {}: {e}\n", out.display()))?;
        if drift.is_clean() {
            eprintln!("gen --check: {} generated files match the spec", files.len());
            Ok(())
        } else {
            Err(format!("{drift}\n"))
        }
    } else {
        let changed =
            output::write(&out, &files).map_err(|e| format!("error: cannot write under {}: {e}\n", out.display()))?;
        write_previews(&obspec_codegen::render::uncommitted(&loaded), &out)?;
        for p in &changed {
            eprintln!("wrote {p}");
        }
        eprintln!("gen: {} files, {} changed", files.len(), changed.len());
        Ok(())
    }
}

/// `cargo xtask diff`: the report, or an error (exit 1) when the current spec
/// has a breaking change it does not record.
fn diff(args: &[String]) -> Result<String, String> {
    let root = workspace_root();
    let mut spec = root.join("spec");
    let mut baseline: Option<String> = None;
    let mut json = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--baseline" => {
                baseline =
                    Some(it.next().ok_or(format!("--baseline needs a git ref or a directory\n{USAGE}\n"))?.clone())
            }
            "--spec" => spec = PathBuf::from(it.next().ok_or(format!("--spec needs a directory\n{USAGE}\n"))?),
            "--format" => match it.next().map(String::as_str) {
                Some("json") => json = true,
                Some("markdown") => json = false,
                _ => return Err(format!("--format takes markdown or json\n{USAGE}\n")),
            },
            other => return Err(format!("unknown argument `{other}`\n{USAGE}\n")),
        }
    }
    let baseline = baseline.ok_or(format!("diff needs --baseline <git-ref|DIR>\n{USAGE}\n"))?;
    let report = diff_report(&baseline, &spec)?;
    let text = if json { report.to_json() } else { report.to_markdown() };
    if report.unrecorded_breaking > 0 {
        print!("{text}");
        return Err(format!(
            "error: {} breaking change(s) against `{baseline}` that the spec does not record: declare a rename with `renamed_from` and `deprecated`, raise `trails.schema_version` for a trail change, or undo them\n",
            report.unrecorded_breaking
        ));
    }
    Ok(text)
}

/// The diff of the spec in `spec` against `baseline` (a directory, else a git ref).
fn diff_report(baseline: &str, spec: &Path) -> Result<obspec_codegen::diff::Report, String> {
    let spec =
        if spec.is_absolute() { spec.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(spec) };
    let current = obspec_codegen::check_dir(spec.as_path(), &display_path(&spec)).map_err(|e| e.to_string())?;
    let dir = Path::new(baseline);
    let old_inputs = if dir.is_dir() {
        obspec_codegen::load::read_dir(dir, &display_path(dir))
            .map_err(|e| format!("error: cannot read {baseline}: {e}\n"))?
    } else {
        git_spec(baseline, &spec)?
    };
    let old = obspec_codegen::check(&old_inputs).map_err(|d| {
        format!("{}error: the baseline spec at `{baseline}` does not validate\n", obspec_codegen::diag::render_all(&d))
    })?;
    Ok(obspec_codegen::diff::diff(baseline, &old, &current, &obspec_codegen::rename::today_utc()))
}

/// Runs git in the workspace root and returns its stdout.
fn git(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("error: cannot run git: {e}\n"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("error: `git {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)))
    }
}

/// The spec files at a git ref, read from the object store (`git ls-tree`,
/// `git show REF:path`): the work tree and the index are not touched.
fn git_spec(reference: &str, spec: &Path) -> Result<Vec<obspec_codegen::Input>, String> {
    let commit = git(&["rev-parse", "--verify", "--quiet", &format!("{reference}^{{commit}}")])
        .map_err(|_| format!("error: `{reference}` is neither a directory nor a git commit\n"))?;
    let commit = commit.trim();
    let root = workspace_root();
    let rel = spec.strip_prefix(&root).unwrap_or(Path::new("spec")).to_string_lossy().replace('\\', "/");
    let mut inputs = Vec::new();
    for line in git(&["ls-tree", commit, &format!("{rel}/")])?.lines() {
        let Some((meta, path)) = line.split_once('\t') else { continue };
        let is_yaml = path.ends_with(".yaml") || path.ends_with(".yml");
        if meta.split_whitespace().nth(1) == Some("blob") && is_yaml {
            let text = git(&["show", &format!("{commit}:{path}")])?;
            inputs.push(obspec_codegen::Input { name: format!("{reference}:{path}"), text });
        }
    }
    if inputs.is_empty() {
        return Err(format!("error: `{reference}` has no spec files under {rel}/\n"));
    }
    Ok(inputs)
}

/// The CI step: the diff against the merge base of `main` and HEAD, printed;
/// nothing when there is no `main` (or HEAD is on it, the report is empty).
/// It fails only with `OBSPEC_DIFF_STRICT=1` (unrecorded breaking changes).
fn ci_diff() -> Result<(), String> {
    let Ok(base) = git(&["merge-base", "main", "HEAD"]) else {
        eprintln!("diff: no merge base with `main`; skipped");
        return Ok(());
    };
    let base = base.trim().to_owned();
    let t = std::time::Instant::now();
    // A baseline this compiler no longer accepts (validation got stricter) is
    // reported, not a failure: the drift check and the tests judge the spec.
    let report = match diff_report(&base, &workspace_root().join("spec")) {
        Ok(r) => r,
        Err(e) => {
            eprint!("{e}");
            eprintln!("diff: the merge base {base} of main could not be compared; skipped");
            return Ok(());
        }
    };
    eprint!("{}", report.to_markdown());
    eprintln!("diff: against the merge base {} of main ({:.0?})", &base[..base.len().min(12)], t.elapsed());
    if report.unrecorded_breaking > 0 && std::env::var("OBSPEC_DIFF_STRICT").is_ok_and(|v| v == "1") {
        return Err(format!("error: {} unrecorded breaking spec change(s)\n", report.unrecorded_breaking));
    }
    Ok(())
}

/// Writes the static HTML previews of the dashboards under `target/` (not
/// committed): the uncommitted renderers' output (`render::uncommitted`).
fn write_previews(pages: &[obspec_codegen::GeneratedFile], out: &Path) -> Result<(), String> {
    for page in pages {
        let path = out.join(&page.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("error: {}: {e}\n", parent.display()))?;
        }
        std::fs::write(&path, &page.contents).map_err(|e| format!("error: {}: {e}\n", path.display()))?;
    }
    eprintln!("wrote {} dashboard previews under {}", pages.len(), obspec_codegen::render::preview::DIR);
    Ok(())
}

/// Runs one command from the workspace root, failing with its name.
fn run(program: &str, args: &[&str]) -> Result<(), String> {
    run_with_env(program, args, &[])
}

/// Runs one command from the workspace root with extra environment variables.
fn run_with_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    // Show `cargo`, not the toolchain's full path.
    let shown = Path::new(program).file_name().map_or(program.into(), |n| n.to_string_lossy());
    eprintln!("\n==> {shown} {}", args.join(" "));
    let started = std::time::Instant::now();
    let status = std::process::Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("error: cannot run {program}: {e}\n"))?;
    if status.success() {
        eprintln!("<== {shown} {} ok ({:.0?})", args.first().copied().unwrap_or_default(), started.elapsed());
        Ok(())
    } else {
        Err(format!("error: `{shown} {}` failed ({status})\n", args.join(" ")))
    }
}

/// Runs one command from the workspace root with its output appended to `log`,
/// printing one line per command (the other CI lane owns the terminal), and the
/// log's tail when it fails.
fn run_logged(log: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let shown = format!("{program} {}", args.join(" "));
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("error: {}: {e}\n", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("error: {}: {e}\n", log.display()))?;
    let err = file.try_clone().map_err(|e| format!("error: {}: {e}\n", log.display()))?;
    eprintln!("[tools] {shown} …");
    let t = std::time::Instant::now();
    let status = std::process::Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .stdout(file)
        .stderr(err)
        .status()
        .map_err(|e| format!("error: cannot run {program}: {e}\n"))?;
    if status.success() {
        eprintln!("[tools] {shown} ok ({:.0?})", t.elapsed());
        Ok(())
    } else {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!("{}\nerror: `{shown}` failed ({status}); full output in {}\n", tail.join("\n"), log.display()))
    }
}

/// Test jobs run at once in `cargo xtask ci`: most binaries wait on a real
/// Prometheus, browser or S3 server, so a third keeps two cores busy.
const TEST_JOBS: usize = 3;

/// The slowest test jobs, started first when no earlier run's durations are
/// in `target/ci/test-durations.tsv` (only the order depends on this).
const SLOW_TESTS: &[&str] = &[
    "obspec-macros-tests ui",
    "obspec-tests dashboards",
    "obspec-tests prometheus_server",
    "obspec-tests other_spec",
    "obspec-codegen fuzz",
    "obspec-tools live_check",
    "doc tests",
];

/// `cargo test --workspace --no-run`, returning the test binaries it built.
fn build_tests(cargo: &str) -> Result<Vec<testrun::TestBinary>, String> {
    eprintln!("\n==> cargo test --workspace --no-run");
    let started = std::time::Instant::now();
    let out = std::process::Command::new(cargo)
        .args(["test", "--workspace", "--no-run", "--message-format=json-render-diagnostics"])
        .current_dir(workspace_root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("error: cannot run cargo: {e}\n"))?;
    if !out.status.success() {
        return Err(format!("error: `cargo test --workspace --no-run` failed ({})\n", out.status));
    }
    let binaries = testrun::binaries_from_messages(&String::from_utf8_lossy(&out.stdout));
    if binaries.is_empty() {
        return Err("error: `cargo test --no-run` reported no test binary\n".to_owned());
    }
    eprintln!("<== cargo test --no-run ok: {} test binaries ({:.0?})", binaries.len(), started.elapsed());
    Ok(binaries)
}

/// The property tests' seed in `cargo xtask ci` (any u64; changed on purpose only).
const CI_PROPTEST_SEED: &str = "20261202";

/// The test command `.ci/run` calls: set-up, drift check, lints, tests.
///
/// Two lanes run side by side, because the machine's cores would otherwise
/// idle: one installs the tools and runs the artifact checks (promtool, amtool,
/// tsc, the npm self-tests), which are mostly single-threaded and wait on the
/// network; the other runs rustfmt, clippy and compiles the test binaries. The
/// tests run once both lanes are done, since many of them start the tools the
/// first lane installed.
fn ci() -> Result<(), String> {
    let started = std::time::Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    generate(&["--check".to_owned()])?;
    ci_diff()?;
    let tools_lane = std::thread::spawn(|| -> Result<(), String> {
        let log = workspace_root().join("target/ci/tools-lane.log");
        if workspace_root().join("scripts/setup.sh").is_file() {
            run_logged(&log, "bash", &["scripts/setup.sh"])?;
        }
        let t = std::time::Instant::now();
        check()?;
        eprintln!("[tools] promtool, amtool and tsc checks passed ({:.0?})", t.elapsed());
        // The dashboard schema check and the screenshot tool prove they can fail, on fixtures.
        run_logged(&log, "npm", &["--prefix", "tests/grafana-schema", "test"])?;
        run_logged(&log, "npm", &["--prefix", "tests/ecosystem-schema", "test"])?;
        run_logged(&log, "npm", &["--prefix", "tests/preview", "test"])?;
        // The gateway Worker in workerd, and tsc rejecting wrong metrics, labels and values.
        run_logged(&log, "npm", &["--prefix", "apps/gateway", "test"])?;
        Ok(())
    });
    let rust_lane = (|| -> Result<Vec<testrun::TestBinary>, String> {
        run(&cargo, &["fmt", "--all", "--check"])?;
        run(&cargo, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
        build_tests(&cargo)
    })();
    let tools_result = tools_lane.join().map_err(|_| "error: the set-up and check lane panicked\n".to_owned())?;
    // Report both lanes' failures, not only the first.
    let binaries = match (tools_result, rust_lane) {
        (Ok(()), Ok(binaries)) => binaries,
        (Err(a), Err(b)) => return Err(format!("{a}{b}")),
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    // Property tests explore a new random sample on every local run; the gate
    // replays one fixed sample (unless PROPTEST_RNG_SEED is set) so that a case
    // found by exploration fails a local run, where it becomes a named test,
    // rather than an unrelated CI run.
    let seed = std::env::var("PROPTEST_RNG_SEED").unwrap_or_else(|_| CI_PROPTEST_SEED.to_owned());
    eprintln!(
        "\n==> {} test binaries and the doc tests, {TEST_JOBS} at a time (PROPTEST_RNG_SEED={seed})",
        binaries.len()
    );
    let hints = workspace_root().join("target/ci/test-durations.tsv");
    let mut expected = testrun::read_durations(&hints);
    for (i, label) in SLOW_TESTS.iter().enumerate() {
        expected.entry((*label).to_owned()).or_insert(1000.0 - i as f64);
    }
    let env = [("PROPTEST_RNG_SEED", seed.as_str()), ("CARGO", cargo.as_str())];
    let doc = Some((cargo.clone(), workspace_root()));
    let durations = testrun::run_all(binaries, doc, &env, TEST_JOBS, &expected)?;
    // Only a hint for the next run's order: a failure to write it fails nothing.
    let _ = testrun::write_durations(&hints, &durations);
    // The harnesses run from the binaries `cargo test --workspace` just built
    // (every service, roll, trail and obspec-tools has integration tests, so
    // their binaries are in target/debug): `cargo run -p obspec-tools` or a
    // `cargo build` would resolve features differently and rebuild much of the
    // dependency graph (seen: 95 s and 3 min).
    let target =
        std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| workspace_root().join("target"));
    let tools = target.join("debug/obspec-tools").display().to_string();
    // §11: the five proofs end to end on the reference services, a real
    // Prometheus and a real Alertmanager, at reduced duration.
    run_with_env(&tools, &["dod", "--quick"], &[("OBSPEC_DOD_NO_BUILD", "1")])?;
    // §11.4: the logs the test suite wrote must hold no forbidden field or free text.
    let logs = target.join("test-logs").display().to_string();
    run(&tools, &["scan", &logs])?;
    eprintln!("\nci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// `cargo xtask import openslo FILE…`: the spec YAML of OpenSLO files on stdout.
fn import(args: &[String]) -> Result<(), String> {
    let (Some("openslo"), [_, files @ ..]) = (args.first().map(String::as_str), args) else {
        return Err(format!("{USAGE}\n"));
    };
    if files.is_empty() {
        return Err(format!("import openslo needs at least one file\n{USAGE}\n"));
    }
    let mut inputs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("error: cannot read {f}: {e}\n"))?;
        inputs.push(obspec_codegen::Input { name: f.clone(), text });
    }
    match obspec_codegen::openslo_import::import(&inputs) {
        Ok(yaml) => {
            print!("{yaml}");
            Ok(())
        }
        Err(diags) => {
            let shown: String = diags.iter().map(|d| format!("{d}\n")).collect();
            Err(format!(
                "{shown}error: {} problem(s) cannot map to obspec; fix them in the OpenSLO files\n",
                diags.len()
            ))
        }
    }
}

/// Runs a tool in `dir`, failing with its output when it fails or is missing.
fn tool(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("==> {program} {}", args.join(" "));
    let out = std::process::Command::new(program).args(args).current_dir(dir).output().map_err(|e| {
        format!("error: cannot run `{program}` ({e}); install it with `bash scripts/setup.sh` (Debian packages prometheus, prometheus-alertmanager)\n")
    })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{text}\nerror: `{program} {}` failed in {}\n", args.join(" "), dir.display()))
    }
}

/// Checks every generated Prometheus and Alertmanager file with the tool that consumes it.
fn check() -> Result<(), String> {
    let dir = workspace_root().join("infra/observability");
    let mut rule_files: Vec<String> = Vec::new();
    let mut test_files: Vec<String> = Vec::new();
    for (sub, is_rules) in [("rules", true), ("ruler/thanos", true), ("tests", false)] {
        let into = if is_rules { &mut rule_files } else { &mut test_files };
        let entries = std::fs::read_dir(dir.join(sub)).map_err(|e| format!("error: cannot list {sub}/: {e}\n"))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yml") {
                into.push(format!("{sub}/{name}"));
            }
        }
        into.sort();
    }
    tool(&dir, "promtool", &["check", "config", "prometheus.yml"])?;
    let mut args = vec!["check", "rules"];
    args.extend(rule_files.iter().map(String::as_str));
    tool(&dir, "promtool", &args)?;
    tool(&dir, "amtool", &["check-config", "alertmanager.yml"])?;
    tool(&workspace_root(), "node", &["tests/grafana-schema/check.mjs"])?;
    // PrometheusRule objects (and the OpenSLO and Weaver exports) against their published schemas.
    tool(&workspace_root(), "node", &["tests/ecosystem-schema/check.mjs"])?;
    let mut args = vec!["test", "rules"];
    args.extend(test_files.iter().map(String::as_str));
    tool(&dir, "promtool", &args)?;
    eprintln!("check: promtool and amtool accept every generated file");
    Ok(())
}

/// `cargo xtask scan PATH…`: reports every forbidden field name or free-text value.
///
/// The scanner is part of the runtime, which xtask does not build (so that
/// `gen` stays quick and never depends on the crate it generates); the scan
/// runs in `obspec-tools`.
fn scan(paths: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut args = vec!["run", "-q", "-p", "obspec-tools", "--", "scan"];
    args.extend(paths.iter().map(String::as_str));
    run(&cargo, &args)
}

/// `cargo xtask dod [--quick] [--keep]`: the Proof of Done harness, in `obspec-tools`.
fn dod(args: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut full = vec!["run", "-q", "-p", "obspec-tools", "--", "dod"];
    full.extend(args.iter().map(String::as_str));
    run(&cargo, &full)
}

/// `cargo xtask live-check …`: checks a running system against the spec, in `obspec-tools`.
fn live_check(args: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut full = vec!["run", "-q", "-p", "obspec-tools", "--", "live-check"];
    full.extend(args.iter().map(String::as_str));
    run(&cargo, &full)
}

/// `cargo xtask trails export|verify`: the auditor's bundle, through the
/// `obspec-trail` command line, so the two never disagree and xtask builds
/// only the compiler.
fn trails(args: &[String]) -> Result<(), String> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let mut cmd: Vec<String> = Vec::new();
    match args.first().map(String::as_str) {
        Some("export") => {
            let need =
                |name: &str, what: &str| flag(name).ok_or(format!("trails export needs {name} {what}\n{USAGE}\n"));
            cmd.push("export".into());
            cmd.push(flag("--root").unwrap_or_else(|| ".".to_owned()));
            cmd.push(need("--from", "YYYY-MM-DD")?);
            cmd.push(need("--to", "YYYY-MM-DD")?);
            cmd.push(need("--out", "FILE")?);
            cmd.extend(flag("--tenant"));
        }
        Some("verify") => {
            // BUNDLE|DIR, then the binary's own options (--trusted-keys, --checkpoint, --from,
            // --to, --tenant, ...), passed through unchanged: one code path, one flag set.
            args.get(1).ok_or(format!("trails verify needs a bundle or directory\n{USAGE}\n"))?;
            cmd.extend(args.iter().cloned());
        }
        _ => return Err(format!("{USAGE}\n")),
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut full = vec!["run", "-q", "-p", "obspec-trail", "--bin", "obspec-trail", "--"];
    full.extend(cmd.iter().map(String::as_str));
    run(&cargo, &full)
}
