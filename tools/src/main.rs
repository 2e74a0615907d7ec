//! `obspec-tools`: the commands of `cargo xtask` that need the runtime.
//!
//! `cargo xtask` itself builds only the compiler (`obspec-codegen`) and the
//! trail verifier, so that `cargo xtask gen` is quick on a cold machine and
//! never depends on the generated crate it writes. Commands that need the
//! runtime or the generated vocabulary live here, and xtask runs them with
//! `cargo run -p obspec-tools`.
//!
//! - `obspec-tools scan PATH…`: privacy scan (§11.4) of NDJSON logs, trail
//!   files and metrics expositions, with the spec's forbidden names; exit 1
//!   on any finding.
//! - `obspec-tools dod [--quick] [--keep]`: the Proof of Done harness (§11),
//!   see [`dod`].
//! - `obspec-tools live-check …`: checks what a running system emits (OTLP,
//!   scrapes, log files, trails) against the spec, see [`live_check`].

// A command-line tool: its reports go to stdout.
#![allow(clippy::print_stdout)]

pub mod dod;
pub mod live_check;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage:\n  obspec-tools scan PATH...\n  obspec-tools dod [--quick] [--keep]\n  obspec-tools live-check [--otlp ADDR] [--metrics URL]... [--logs PATH]... [--trails DIR]... [--expose ADDR] [--format human|json] [--fail-on error|warning]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("scan") => scan(&args[1..]),
        Some("dod") => dod::main(&args[1..]),
        Some("live-check") => live_check::main(&args[1..]),
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

/// `scan PATH…`: reports every forbidden field name or free-text value.
fn scan(paths: &[String]) -> Result<(), String> {
    if paths.is_empty() {
        return Err(format!("scan needs at least one file or directory\n{USAGE}\n"));
    }
    let scanner = obspec::log::scan::Scanner::from_schema(&obspec_generated::LOG_SCHEMA);
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

/// Every file under `path` (or `path` itself), in sorted order.
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
