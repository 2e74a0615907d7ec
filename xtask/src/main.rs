//! `cargo xtask`: project automation (see ARCHITECTURE.md).
//!
//! - `cargo xtask gen [--spec DIR] [--out DIR] [--check]`: render every
//!   artifact from the spec; with `--check`, write nothing and fail on drift.
//! - `cargo xtask check`: run the real consumers on the generated files:
//!   `promtool check config|rules`, `promtool test rules`, `amtool check-config`.
//! - `cargo xtask ci`: the one test command. Installs what the tests need
//!   (`scripts/setup.sh`), then runs the drift check, rustfmt, clippy and
//!   every test of the workspace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use obspec_codegen::{CompileError, output};

const USAGE: &str =
    "usage:\n  cargo xtask gen [--spec DIR] [--out DIR] [--check]\n  cargo xtask check\n  cargo xtask ci";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => generate(&args[1..]),
        Some("ci") => ci(),
        Some("check") => check(),
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
        for p in &changed {
            eprintln!("wrote {p}");
        }
        eprintln!("gen: {} files, {} changed", files.len(), changed.len());
        Ok(())
    }
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
    run(&cargo, &["fmt", "--all", "--check"])?;
    run(&cargo, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    run(&cargo, &["test", "--workspace"])?;
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
    let mut args = vec!["test", "rules"];
    args.extend(test_files.iter().map(String::as_str));
    tool(&dir, "promtool", &args)?;
    eprintln!("check: promtool and amtool accept every generated file");
    Ok(())
}
