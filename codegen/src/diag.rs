//! Located diagnostics, rendered rustc-style.
//!
//! Every problem with a spec becomes a [`Diagnostic`] naming the file, line,
//! column and YAML path, what is wrong and what to do. Loading and validation
//! collect all of them before reporting, so one run shows every mistake.

use std::fmt;

use crate::source::{Pos, SourceFile, YamlPath};

/// One problem found in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File as given to the loader (`spec/metrics.yaml`).
    pub file: String,
    /// Where in the file.
    pub pos: Pos,
    /// YAML path of the offending node.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: String,
    /// The source line, for the excerpt.
    pub line_text: String,
}

impl Diagnostic {
    /// A diagnostic at `path`'s value in `file`.
    pub fn at(file: &SourceFile, path: &YamlPath, message: impl Into<String>, help: impl Into<String>) -> Self {
        Self::at_pos(file, file.pos(path), path, message, help)
    }

    /// A diagnostic at the key leading to `path` in `file`.
    pub fn at_key(file: &SourceFile, path: &YamlPath, message: impl Into<String>, help: impl Into<String>) -> Self {
        Self::at_pos(file, file.key_pos(path), path, message, help)
    }

    /// A diagnostic at an explicit position.
    pub fn at_pos(
        file: &SourceFile,
        pos: Pos,
        path: &YamlPath,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Self {
            file: file.name.clone(),
            pos,
            path: path.to_string(),
            message: message.into(),
            help: help.into(),
            line_text: file.line_text(pos.line).to_owned(),
        }
    }

    /// `file:line:col`, as editors and terminals link it.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.pos.line, self.pos.col)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line_no = self.pos.line.to_string();
        let gutter = " ".repeat(line_no.len());
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, "{gutter}--> {}", self.location())?;
        writeln!(f, "{gutter} |")?;
        writeln!(f, "{line_no} | {}", self.line_text)?;
        let pad: String = self
            .line_text
            .chars()
            .take(self.pos.col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(f, "{gutter} | {pad}{}", "^".repeat(self.pos.len.max(1)))?;
        writeln!(f, "{gutter} = at: {}", self.path)?;
        write!(f, "{gutter} = help: {}", self.help)
    }
}

/// Renders all diagnostics, then a summary line.
pub fn render_all(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.to_string());
        out.push_str("\n\n");
    }
    let n = diags.len();
    out.push_str(&format!(
        "error: the spec has {n} problem{}; fix {} and run `cargo xtask gen` again\n",
        if n == 1 { "" } else { "s" },
        if n == 1 { "it" } else { "them" }
    ));
    out
}

/// Renders warnings (problems that do not stop generation), then a summary line.
pub fn render_warnings(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let text = d.to_string();
        out.push_str("warning: ");
        out.push_str(text.strip_prefix("error: ").unwrap_or(&text));
        out.push_str("\n\n");
    }
    let n = diags.len();
    out.push_str(&format!("warning: the spec has {n} warning{}\n", if n == 1 { "" } else { "s" }));
    out
}
