//! Writing generated files, or checking them for drift.
//!
//! One function serves both `cargo xtask gen` and `--check` (rust-analyzer's
//! `ensure_file_contents`): it normalises newlines, compares, and either
//! writes or reports every stale, missing and extra file with the command to run.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::render::{self, Owns};

/// A file produced by a renderer, with a path relative to the output root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the output root, with `/` separators.
    pub path: String,
    /// Contents, with `\n` line ends.
    pub contents: String,
}

/// What differs between the rendered files and the disk.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Files whose contents differ.
    pub stale: Vec<String>,
    /// Files `gen` produces that are not on disk.
    pub missing: Vec<String>,
    /// Files on disk in an owned directory that `gen` does not produce.
    pub extra: Vec<String>,
}

impl Drift {
    /// Whether the disk matches the spec.
    pub fn is_clean(&self) -> bool {
        self.stale.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.stale {
            writeln!(f, "stale:   {p} (differs from what the spec produces)")?;
        }
        for p in &self.missing {
            writeln!(f, "missing: {p}")?;
        }
        for p in &self.extra {
            writeln!(f, "extra:   {p} (not produced by the spec)")?;
        }
        write!(f, "generated files are out of date: run `cargo xtask gen` and commit the result")
    }
}

fn normalize(s: &str) -> String {
    s.replace("\r\n", "\n")
}

fn owned_files_on_disk(root: &Path) -> std::io::Result<BTreeSet<String>> {
    // What the renderers own (`render::RENDERERS`): a file there that `gen`
    // does not produce is reported as extra.
    let owned = render::owned();
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut single = Vec::new();
    for o in &owned {
        match *o {
            Owns::Dir(d) => dirs.push(root.join(d)),
            Owns::File(f) => single.push(f),
            Owns::DirIn { parent, dir } => {
                let entries = match std::fs::read_dir(root.join(parent)) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                for entry in entries {
                    let path = entry?.path();
                    if path.is_dir() {
                        dirs.push(path.join(dir));
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    for dir in dirs {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(root) {
                    out.insert(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    for f in single {
        if root.join(f).is_file() {
            out.insert(f.to_owned());
        }
    }
    Ok(out)
}

/// Compares `files` with what is under `root`, without writing anything.
pub fn diff(root: &Path, files: &[GeneratedFile]) -> std::io::Result<Drift> {
    let mut drift = Drift::default();
    let produced: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();
    for f in files {
        match std::fs::read_to_string(root.join(&f.path)) {
            Ok(on_disk) if normalize(&on_disk) == f.contents => {}
            Ok(_) => drift.stale.push(f.path.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => drift.missing.push(f.path.clone()),
            Err(_) => drift.stale.push(f.path.clone()),
        }
    }
    for p in owned_files_on_disk(root)? {
        if !produced.contains(&p) {
            drift.extra.push(p);
        }
    }
    drift.stale.sort();
    drift.missing.sort();
    Ok(drift)
}

/// Writes `files` under `root`, removing extra files from owned directories.
/// Returns the paths that changed.
pub fn write(root: &Path, files: &[GeneratedFile]) -> std::io::Result<Vec<String>> {
    let drift = diff(root, files)?;
    let mut changed = Vec::new();
    for f in files {
        if drift.stale.contains(&f.path) || drift.missing.contains(&f.path) {
            let path: PathBuf = root.join(&f.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &f.contents)?;
            changed.push(f.path.clone());
        }
    }
    for p in &drift.extra {
        std::fs::remove_file(root.join(p))?;
        changed.push(p.clone());
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_files_are_found_where_the_renderers_own_and_only_there() {
        let root = std::env::temp_dir().join(format!("obspec-output-{}", std::process::id()));
        let put = |rel: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap_or(&root)).expect("create the test tree");
            std::fs::write(&p, "x").expect("write a test file");
        };
        put("apps/anyone/obs/stray.ts");
        put("apps/anyone/src/main.ts");
        put("infra/observability/grafana/stray.json");
        put("infra/other.txt");
        put("generated/CATALOGUE.md");
        let drift = diff(&root, &[]).expect("read the test tree");
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(
            drift.extra,
            ["apps/anyone/obs/stray.ts", "generated/CATALOGUE.md", "infra/observability/grafana/stray.json"]
        );
    }
}
