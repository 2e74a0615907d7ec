//! The privacy scanner (blueprint §11.4 "privacy scan: grep for forbidden fields
//! ⇒ 0 occurrences"), made stricter than a grep: it reads NDJSON logs, NDJSON
//! trail files and Prometheus text expositions, and reports every key or label
//! that folds to a forbidden name (same folding as the log plane: case,
//! fullwidth, homoglyphs, zero-width, combining marks, nesting) and every value
//! that looks like free text (whitespace, prose punctuation, non-ASCII, JSON
//! inside a string, long non-ID strings), with file and line.
//!
//! Findings never quote the offending value, so a scan report cannot itself
//! leak what it found.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::log::fold;
use crate::log::record::REDACTED;
use crate::log::schema::LogSchema;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// A JSON key or Prometheus label name that folds to a forbidden name.
    ForbiddenKey,
    /// A value that looks like free text.
    FreeText,
    /// A log/trail line that is not a JSON object (raw text in a log).
    NotJson,
    /// A Prometheus line that does not parse as a sample.
    NotExposition,
    /// The file could not be read.
    Unreadable,
}

impl FindingKind {
    /// A short stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ForbiddenKey => "forbidden-key",
            Self::FreeText => "free-text",
            Self::NotJson => "not-json",
            Self::NotExposition => "not-exposition",
            Self::Unreadable => "unreadable",
        }
    }
}

/// One finding, at `path:line` (1-based; 0 for the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What kind of problem.
    pub kind: FindingKind,
    /// Where in the line (key path or label) and why; never the value itself.
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.path.display(), self.line, self.kind.as_str(), self.detail)
    }
}

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (logs, trails).
    Ndjson,
    /// Prometheus text exposition.
    Prometheus,
}

/// Scanner settings.
#[derive(Debug, Clone)]
pub struct Scanner {
    forbidden: Vec<String>,
    max_value_len: usize,
}

impl Scanner {
    /// A scanner for `forbidden` names.
    pub fn new<S: AsRef<str>>(forbidden: &[S]) -> Self {
        Self { forbidden: forbidden.iter().map(|s| s.as_ref().to_owned()).collect(), max_value_len: 128 }
    }

    /// A scanner for the schema's forbidden names.
    pub fn from_schema(schema: &LogSchema) -> Self {
        Self::new(schema.forbidden)
    }

    /// Strings longer than this are reported as free text (default 128).
    pub fn max_value_len(mut self, n: usize) -> Self {
        self.max_value_len = n;
        self
    }

    /// Scans files and directories (recursively, in name order).
    pub fn scan_paths<P: AsRef<Path>>(&self, paths: &[P]) -> Vec<Finding> {
        let mut out = Vec::new();
        for p in paths {
            self.scan_path(p.as_ref(), &mut out);
        }
        out
    }

    fn scan_path(&self, path: &Path, out: &mut Vec<Finding>) {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                Err(e) => return out.push(unreadable(path, &e)),
            };
            entries.sort();
            for e in entries {
                self.scan_path(&e, out);
            }
            return;
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let format = detect(path, &text);
                out.extend(self.scan_text(path, &text, format));
            }
            Err(e) => out.push(unreadable(path, &e)),
        }
    }

    /// Scans text already in memory, reporting as `path`.
    pub fn scan_text(&self, path: &Path, text: &str, format: Format) -> Vec<Finding> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let mut push = |kind, detail: String| {
                out.push(Finding { path: path.to_owned(), line: i + 1, kind, detail });
            };
            if line.trim().is_empty() {
                continue;
            }
            match format {
                Format::Ndjson => match serde_json::from_str::<Value>(line) {
                    Ok(v @ Value::Object(_)) => self.walk(&v, "$", &mut push),
                    Ok(_) | Err(_) => push(FindingKind::NotJson, "line is not a JSON object".to_owned()),
                },
                Format::Prometheus => self.prom_line(line, &mut push),
            }
        }
        out
    }

    fn forbidden(&self, key: &str) -> Option<&str> {
        fold::forbidden_match(key, &self.forbidden.iter().map(String::as_str).collect::<Vec<_>>())
            .map(|m| self.forbidden.iter().find(|f| f.as_str() == m).map_or("", String::as_str))
    }

    fn walk(&self, v: &Value, at: &str, push: &mut impl FnMut(FindingKind, String)) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let here = format!("{at}.{}", printable(k));
                    if let Some(f) = self.forbidden(k) {
                        push(FindingKind::ForbiddenKey, format!("key {here} folds to forbidden {f:?}"));
                    }
                    self.walk(v, &here, push);
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    self.walk(v, &format!("{at}[{i}]"), push);
                }
            }
            Value::String(s) => {
                if let Some(why) = self.free_text(s) {
                    push(FindingKind::FreeText, format!("value at {at} ({} chars): {why}", s.chars().count()));
                }
                if let Ok(inner @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(s) {
                    self.walk(&inner, &format!("{at}<json>"), push);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Why `s` looks like free text, if it does.
    pub fn free_text(&self, s: &str) -> Option<&'static str> {
        if s == REDACTED {
            return None;
        }
        let t = s.trim_start();
        if (t.starts_with('{') || t.starts_with('[')) && serde_json::from_str::<Value>(t).is_ok() {
            return Some("JSON inside a string");
        }
        if s.chars().any(char::is_whitespace) {
            return Some("contains whitespace");
        }
        if !s.is_ascii() {
            return Some("non-ASCII text");
        }
        if s.bytes().any(|b| !(b.is_ascii_alphanumeric() || b"._:/@+=,-%#~".contains(&b))) {
            return Some("prose or markup punctuation");
        }
        if s.len() > self.max_value_len {
            return Some("long non-ID string");
        }
        None
    }

    fn prom_line(&self, line: &str, push: &mut impl FnMut(FindingKind, String)) {
        let line = line.trim_start();
        if line.starts_with('#') {
            // HELP and TYPE lines are the metric's documentation, written by us.
            return;
        }
        let name_end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(line.len());
        if name_end == 0 {
            return push(FindingKind::NotExposition, "no metric name".to_owned());
        }
        let name = &line[..name_end];
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            match parse_labels(body) {
                Some((labels, after)) => {
                    for (k, v) in labels {
                        if let Some(f) = self.forbidden(&k) {
                            push(
                                FindingKind::ForbiddenKey,
                                format!("{name} label {} folds to forbidden {f:?}", printable(&k)),
                            );
                        }
                        if let Some(why) = self.free_text(&v) {
                            push(
                                FindingKind::FreeText,
                                format!("{name} label {} ({} chars): {why}", printable(&k), v.chars().count()),
                            );
                        }
                    }
                    rest = after;
                }
                None => return push(FindingKind::NotExposition, format!("{name}: unterminated labels")),
            }
        }
        let mut parts = rest.split_whitespace();
        let value_ok =
            parts.next().is_some_and(|v| v.parse::<f64>().is_ok() || matches!(v, "NaN" | "+Inf" | "-Inf" | "Inf"));
        let ts_ok = parts.next().is_none_or(|t| t.parse::<i64>().is_ok());
        if !value_ok || !ts_ok || parts.next().is_some() {
            push(FindingKind::NotExposition, format!("{name}: not `name{{labels}} value [timestamp]`"));
        }
    }
}

/// Parses `k="v",k2="v2"}` and returns the labels and the text after `}`.
fn parse_labels(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start();
        if let Some(after) = s.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = s.find('=')?;
        let key = s[..eq].trim().to_owned();
        s = s[eq + 1..].trim_start().strip_prefix('"')?;
        let mut val = String::new();
        let mut chars = s.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => val.push('\n'),
                    other => val.push(other),
                },
                c => val.push(c),
            }
        };
        labels.push((key, val));
        s = s[end + 1..].trim_start();
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// Chooses the format from the extension, else from the first non-empty line.
fn detect(path: &Path, text: &str) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ndjson" | "jsonl" | "json" | "log") => Format::Ndjson,
        Some("prom" | "metrics") => Format::Prometheus,
        _ => match text.lines().map(str::trim_start).find(|l| !l.is_empty()) {
            Some(l) if l.starts_with('{') => Format::Ndjson,
            _ => Format::Prometheus,
        },
    }
}

/// A key made safe to print (escapes invisible and non-ASCII characters).
fn printable(k: &str) -> String {
    let mut s = String::new();
    for c in k.chars().take(64) {
        if c.is_ascii_graphic() {
            s.push(c);
        } else {
            s.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    s
}

fn unreadable(path: &Path, e: &std::io::Error) -> Finding {
    Finding { path: path.to_owned(), line: 0, kind: FindingKind::Unreadable, detail: e.to_string() }
}

/// Scans `paths` for the schema's forbidden names and free text.
pub fn scan_paths<P: AsRef<Path>>(paths: &[P], schema: &LogSchema) -> Vec<Finding> {
    Scanner::from_schema(schema).scan_paths(paths)
}
