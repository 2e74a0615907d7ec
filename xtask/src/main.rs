//! `cargo xtask`: project automation (see ARCHITECTURE.md).
//!
//! - `cargo xtask gen [--spec DIR] [--out DIR] [--check]`: render every
//!   artifact from the spec; with `--check`, write nothing and fail on drift.
//! - `cargo xtask check`: run the real consumers on the generated files:
//!   `promtool check config|rules`, `promtool test rules`, `amtool check-config`,
//!   and `tsc` against `@grafana/schema` for the dashboards.
//! - `cargo xtask scan PATH…`: privacy scan (§11.4) of NDJSON logs, trail
//!   files and metrics expositions; exit 1 on any forbidden name or free text.
//! - `cargo xtask trails export --root DIR --from D --to D [--tenant T] --out FILE`
//!   and `cargo xtask trails verify BUNDLE|DIR`: the auditor bundle (§10).
//! - `cargo xtask ci`: the one test command. Installs what the tests need
//!   (`scripts/setup.sh`), then runs the drift check, rustfmt, clippy and
//!   every test of the workspace.

// A command-line tool: its reports go to stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use obspec_codegen::{CompileError, output};

const USAGE: &str = "usage:\n  cargo xtask gen [--spec DIR] [--out DIR] [--check]\n  cargo xtask check\n  cargo xtask scan PATH...\n  cargo xtask trails export --root DIR --from YYYY-MM-DD --to YYYY-MM-DD [--tenant T] --out FILE\n  cargo xtask trails verify BUNDLE|DIR\n  cargo xtask ci";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => generate(&args[1..]),
        Some("ci") => ci(),
        Some("check") => check(),
        Some("scan") => scan(&args[1..]),
        Some("trails") => trails(&args[1..]),
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
    let files = obspec_codegen::compile_dir(&spec, &display_path(&spec)).map_err(|e| match e {
        CompileError::Spec(_) | CompileError::Io(..) => e.to_string(),
    })?;
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
        write_previews(&spec, &out)?;
        for p in &changed {
            eprintln!("wrote {p}");
        }
        eprintln!("gen: {} files, {} changed", files.len(), changed.len());
        Ok(())
    }
}

/// Writes the static HTML previews of the dashboards under `target/` (not committed).
fn write_previews(spec_dir: &Path, out: &Path) -> Result<(), String> {
    let inputs = obspec_codegen::load::read_dir(spec_dir, "spec").map_err(|e| format!("error: {e}\n"))?;
    let loaded = obspec_codegen::check(&inputs).map_err(|d| obspec_codegen::diag::render_all(&d))?;
    let pages = obspec_codegen::render::preview::render(&loaded.spec, &loaded.sources.file_names());
    for page in &pages {
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
    eprintln!("\n==> {program} {}", args.join(" "));
    let status = std::process::Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("error: cannot run {program}: {e}\n"))?;
    if status.success() { Ok(()) } else { Err(format!("error: `{program} {}` failed ({status})\n", args.join(" "))) }
}

/// The test command `.ci/run` calls: set-up, drift check, lints, tests.
fn ci() -> Result<(), String> {
    let root = workspace_root();
    if root.join("scripts/setup.sh").is_file() {
        run("bash", &["scripts/setup.sh"])?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    generate(&["--check".to_owned()])?;
    check()?;
    // The dashboard schema check and the screenshot tool prove they can fail, on fixtures.
    run("npm", &["--prefix", "tests/grafana-schema", "test"])?;
    run("npm", &["--prefix", "tests/preview", "test"])?;
    run(&cargo, &["fmt", "--all", "--check"])?;
    run(&cargo, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    run(&cargo, &["test", "--workspace"])?;
    // §11.4: the logs the test suite wrote must hold no forbidden field or free text.
    let logs = workspace_root().join("target/test-logs");
    eprintln!("\n==> cargo xtask scan {}", logs.display());
    scan(&[logs.display().to_string()])?;
    eprintln!("\nci: all checks passed");
    Ok(())
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
    for (sub, into) in [("rules", &mut rule_files), ("tests", &mut test_files)] {
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
    let mut args = vec!["test", "rules"];
    args.extend(test_files.iter().map(String::as_str));
    tool(&dir, "promtool", &args)?;
    eprintln!("check: promtool and amtool accept every generated file");
    Ok(())
}

/// `cargo xtask scan PATH…`: reports every forbidden field name or free-text value.
fn scan(paths: &[String]) -> Result<(), String> {
    if paths.is_empty() {
        return Err(format!("scan needs at least one file or directory\n{USAGE}\n"));
    }
    let root = workspace_root();
    let inputs = obspec_codegen::load::read_dir(&root.join("spec"), "spec").map_err(|e| format!("error: {e}\n"))?;
    let loaded = obspec_codegen::check(&inputs).map_err(|d| obspec_codegen::diag::render_all(&d))?;
    let scanner = obspec::log::scan::Scanner::new(&loaded.spec.logs.forbidden);
    let mut files = Vec::new();
    for p in paths {
        collect_files(Path::new(p), &mut files);
    }
    let findings = scanner.scan_paths(&files);
    for f in &findings {
        println!("{f}");
    }
    eprintln!("scan: {} files, {} findings", files.len(), findings.len());
    if findings.is_empty() { Ok(()) } else { Err(String::new()) }
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            collect_files(&e, out);
        }
    } else {
        out.push(path.to_path_buf());
    }
}

/// `cargo xtask trails export|verify`.
fn trails(args: &[String]) -> Result<(), String> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    match args.first().map(String::as_str) {
        Some("export") => {
            let date = |name: &str| {
                flag(name)
                    .and_then(|d| obspec_trail::Date::parse(&d))
                    .ok_or(format!("trails export needs {name} YYYY-MM-DD\n{USAGE}\n"))
            };
            let (from, to) = (date("--from")?, date("--to")?);
            let root = PathBuf::from(flag("--root").unwrap_or_else(|| ".".to_owned()));
            let out = PathBuf::from(flag("--out").ok_or(format!("trails export needs --out FILE\n{USAGE}\n"))?);
            let tenant = flag("--tenant");
            let summary = obspec_trail::bundle::export_bundle(&root, from, to, tenant.as_deref(), &out)
                .map_err(|e| format!("error: {e}\n"))?;
            eprintln!("exported {} days, {} files to {}", summary.days, summary.files, out.display());
            Ok(())
        }
        Some("verify") => {
            let path = args.get(1).ok_or(format!("trails verify needs a bundle or directory\n{USAGE}\n"))?;
            let opts = obspec_trail::verify::VerifyOptions::default();
            let report =
                obspec_trail::verify::verify_path(Path::new(path), &opts).map_err(|e| format!("error: {e}\n"))?;
            println!("{report}");
            if report.is_ok() { Ok(()) } else { Err(String::new()) }
        }
        _ => Err(format!("{USAGE}\n")),
    }
}
