//! Loading: read every YAML file of a spec directory into one [`Spec`].
//!
//! Each file is parsed with positions ([`crate::source`]), deserialised into a
//! [`SpecFile`] (collecting every unknown key rather than stopping at the
//! first), and merged. Every merged item records in its `loc` which file and
//! YAML path it came from, so validation can report positions.

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::model::{Spec, SpecFile};
use crate::source::{self, Seg, SourceFile, YamlPath};

/// Where one item of the merged spec was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loc {
    /// Index into [`SourceMap::files`].
    pub file: usize,
    /// Path of the item in that file.
    pub path: YamlPath,
}

impl Loc {
    /// The location of a child of this item.
    pub fn key(&self, key: &str) -> Loc {
        Loc { file: self.file, path: self.path.key(key) }
    }

    /// The location of an element of a list under this item.
    pub fn index(&self, index: usize) -> Loc {
        Loc { file: self.file, path: self.path.index(index) }
    }
}

/// The files a spec was read from. Every item of the merged [`Spec`] carries
/// its own [`Loc`] (an index into [`SourceMap::files`] and a YAML path), set
/// by the loader, so nothing keeps a vector parallel to the spec's.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    /// The files read, in order.
    pub files: Vec<SourceFile>,
    /// Indices of files that hold no document at all (empty or only comments).
    pub empty: Vec<usize>,
}

impl SourceMap {
    /// A diagnostic at the value of `loc`.
    pub fn diag(&self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        match self.files.get(loc.file) {
            Some(file) => Diagnostic::at(file, &loc.path, message, help),
            None => Self::unplaced(loc, message, help),
        }
    }

    /// A diagnostic at the key of `loc`.
    pub fn diag_key(&self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        match self.files.get(loc.file) {
            Some(file) => Diagnostic::at_key(file, &loc.path, message, help),
            None => Self::unplaced(loc, message, help),
        }
    }

    /// A diagnostic for a location outside every file read (a section no file defines).
    fn unplaced(loc: &Loc, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: "spec".to_owned(),
            pos: crate::source::Pos { line: 1, col: 1, len: 1 },
            path: loc.path.to_string(),
            message: message.into(),
            help: help.into(),
            line_text: String::new(),
        }
    }

    /// Source file names for generated-file headers, in order: `spec/` and the
    /// file's own name, whatever directory it was read from, so the output does
    /// not depend on where the spec lives (diagnostics keep the full name).
    pub fn file_names(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|f| {
                let base = f.name.rsplit(['/', '\\']).next().unwrap_or(&f.name);
                format!("spec/{base}")
            })
            .collect()
    }
}

/// A loaded spec and where each part of it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The merged spec.
    pub spec: Spec,
    /// Positions.
    pub sources: SourceMap,
}

/// One input file: the name shown in diagnostics and its text.
#[derive(Debug, Clone)]
pub struct Input {
    /// Name shown in diagnostics, e.g. `spec/metrics.yaml`.
    pub name: String,
    /// Contents.
    pub text: String,
}

/// Lists the YAML files of a spec directory, sorted by name.
pub fn spec_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads a spec directory. `display_prefix` is how the directory is named in
/// diagnostics (for example `spec`).
pub fn read_dir(dir: &Path, display_prefix: &str) -> std::io::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in spec_files(dir)? {
        let text = std::fs::read_to_string(&path)?;
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let name = if display_prefix.is_empty() { file_name } else { format!("{display_prefix}/{file_name}") };
        inputs.push(Input { name, text });
    }
    Ok(inputs)
}

/// Loads inputs into a merged spec. Returns every problem found while
/// loading; the spec is still returned (with the readable parts) so
/// validation can report more problems in the same run.
pub fn load(inputs: &[Input]) -> (Loaded, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut spec = Spec::default();
    let mut sm = SourceMap::default();
    let mut have_project = false;
    let mut have_logs = false;
    let mut have_trails = false;

    // Sections may be split across files; merging in name order keeps the
    // output independent of the order the files were read in.
    let mut inputs: Vec<&Input> = inputs.iter().collect();
    inputs.sort_by(|a, b| a.name.cmp(&b.name));
    for input in &inputs {
        let (value, file, problems) = source::parse(&input.name, &input.text);
        let file_idx = sm.files.len();
        for p in problems {
            diags.push(Diagnostic::at_pos(&file, p.pos, &p.path, p.message, p.help));
        }
        sm.files.push(file);
        let Some(value) = value else { continue };
        let file = &sm.files[file_idx];
        if value.is_null() {
            // An emptied file takes its sections with it: every other error
            // would follow from this one, so it is the one reported.
            diags.push(Diagnostic::at_pos(
                file,
                crate::source::Pos { line: 1, col: 1, len: 1 },
                &YamlPath::root(),
                format!("`{}` is empty", file.name),
                "write its sections back (the JSON Schema in generated/schema/ lists them), or delete the file",
            ));
            sm.empty.push(file_idx);
            continue;
        }

        let mut unknown: Vec<YamlPath> = Vec::new();
        let mut on_unknown = |p: serde_ignored::Path<'_>| unknown.push(ignored_path(&p));
        let de = serde_ignored::Deserializer::new(&value, &mut on_unknown);
        let parsed: Result<SpecFile, _> = serde_path_to_error::deserialize(de);
        for path in unknown {
            let key = match path.0.last() {
                Some(Seg::Key(k)) => k.clone(),
                _ => String::new(),
            };
            diags.push(Diagnostic::at_key(
                file,
                &path,
                format!("unknown key `{key}`"),
                "remove it or check its spelling; the JSON Schema in generated/schema/ lists the allowed keys",
            ));
        }
        let part = match parsed {
            Ok(part) => part,
            Err(e) => {
                let path = error_path(e.path());
                let message = e.inner().to_string();
                diags.push(Diagnostic::at(
                    file,
                    &path,
                    format!("invalid value: {message}"),
                    "give this key a value of the type the JSON Schema in generated/schema/ describes",
                ));
                continue;
            }
        };

        let root = Loc { file: file_idx, path: YamlPath::root() };
        if let Some(project) = part.project {
            if have_project {
                diags.push(sm.diag_key(
                    &root.key("project"),
                    "`project` is defined in more than one file",
                    "keep one `project` section",
                ));
            } else {
                have_project = true;
                spec.project = project;
                spec.project.loc = root.key("project");
            }
        }
        if let Some(logs) = part.logs {
            if have_logs {
                diags.push(sm.diag_key(
                    &root.key("logs"),
                    "`logs` is defined in more than one file",
                    "keep one `logs` section",
                ));
            } else {
                have_logs = true;
                spec.logs = logs;
                spec.logs.loc = root.key("logs");
            }
        }
        if let Some(trails) = part.trails {
            if have_trails {
                diags.push(sm.diag_key(
                    &root.key("trails"),
                    "`trails` is defined in more than one file",
                    "keep one `trails` section",
                ));
            } else {
                have_trails = true;
                spec.trails = trails;
                spec.trails.loc = root.key("trails");
            }
        }
        merge(&mut spec.resolutions, part.resolutions, &root, "resolutions");
        merge(&mut spec.components, part.components, &root, "components");
        merge(&mut spec.labels, part.labels, &root, "labels");
        merge(&mut spec.metrics, part.metrics, &root, "metrics");
        merge(&mut spec.error_tokens, part.error_tokens, &root, "error_tokens");
        merge(&mut spec.slos, part.slos, &root, "slos");
        merge(&mut spec.alerts, part.alerts, &root, "alerts");
        merge(&mut spec.dashboards, part.dashboards, &root, "dashboards");
        merge(&mut spec.flags, part.flags, &root, "flags");
        merge(&mut spec.environments, part.environments, &root, "environments");
        merge(&mut spec.ladders, part.ladders, &root, "ladders");
    }

    if inputs.is_empty() {
        diags.push(Diagnostic {
            file: "spec".to_owned(),
            pos: Default::default(),
            path: "(directory)".to_owned(),
            message: "the spec directory has no .yaml files".to_owned(),
            help: "point --spec at a directory holding the spec's YAML files".to_owned(),
            line_text: String::new(),
        });
    } else if sm.files.len() == inputs.len() {
        let first = Loc { file: 0, path: YamlPath::root() };
        for (have, name) in [(have_project, "project"), (have_logs, "logs"), (have_trails, "trails")] {
            if !have {
                diags.push(sm.diag(
                    &first,
                    format!("no file defines the `{name}` section"),
                    format!("add a `{name}:` section to one spec file"),
                ));
            }
        }
    }
    (Loaded { spec, sources: sm }, diags)
}

fn merge<T: Located>(into: &mut Vec<T>, items: Vec<T>, root: &Loc, key: &str) {
    for (i, mut item) in items.into_iter().enumerate() {
        *item.loc_mut() = root.key(key).index(i);
        into.push(item);
    }
}

/// An item of a spec section that records where it was written.
pub trait Located {
    /// Where the item was written.
    fn loc(&self) -> &Loc;
    /// Sets where the item was written (the loader's job).
    fn loc_mut(&mut self) -> &mut Loc;
}

macro_rules! located {
    ($($t:ty),* $(,)?) => {$(
        impl Located for $t {
            fn loc(&self) -> &Loc { &self.loc }
            fn loc_mut(&mut self) -> &mut Loc { &mut self.loc }
        }
    )*};
}

located!(
    crate::model::Resolution,
    crate::model::Component,
    crate::model::LabelDef,
    crate::model::Metric,
    crate::model::ErrorTokenDef,
    crate::model::Slo,
    crate::model::Alert,
    crate::model::Dashboard,
    crate::model::Flag,
    crate::model::Environment,
    crate::model::Ladder,
);

fn ignored_path(p: &serde_ignored::Path<'_>) -> YamlPath {
    fn walk(p: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
        match p {
            serde_ignored::Path::Root => {}
            serde_ignored::Path::Seq { parent, index } => {
                walk(parent, out);
                out.push(Seg::Index(*index));
            }
            serde_ignored::Path::Map { parent, key } => {
                walk(parent, out);
                out.push(Seg::Key(key.clone()));
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut segs = Vec::new();
    walk(p, &mut segs);
    YamlPath(segs)
}

fn error_path(p: &serde_path_to_error::Path) -> YamlPath {
    let mut segs = Vec::new();
    for seg in p.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => segs.push(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => segs.push(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => segs.push(Seg::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    YamlPath(segs)
}
