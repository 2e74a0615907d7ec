//! Renderers: one module per artifact, each a pure function of the loaded spec.
//!
//! Output is deterministic: items are emitted in spec order or sorted, and no
//! renderer reads the clock or the environment.

pub mod catalogue;
pub mod collector;
pub mod grafana;
pub mod header;
pub mod local;
pub mod openslo;
pub mod preview;
pub mod prometheus;
pub mod promtool_tests;
pub mod retention;
pub mod ruler;
pub mod rust;
pub mod schema;
pub mod typescript;
pub mod weaver;
pub mod yaml;

use crate::load::Loaded;
use crate::lower::{self, Lowered};
use crate::model::Spec;
use crate::output::GeneratedFile;

/// What `gen` owns because a renderer writes there: a file there that the
/// spec does not produce is reported as extra (and removed by `gen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owns {
    /// Every file under this directory (relative to the output root).
    Dir(&'static str),
    /// This one file.
    File(&'static str),
    /// Every file under each `<parent>/<any>/<dir>` directory (the
    /// TypeScript emitters' `apps/<component>/obs/`, one per OTLP component).
    DirIn {
        /// The directory whose subdirectories hold one.
        parent: &'static str,
        /// The owned directory's name inside each.
        dir: &'static str,
    },
}

impl Owns {
    /// Whether `path` (relative to the output root, `/`-separated) is owned by this.
    pub fn covers(&self, path: &str) -> bool {
        match *self {
            Owns::Dir(d) => path.strip_prefix(d).is_some_and(|rest| rest.starts_with('/')),
            Owns::File(f) => path == f,
            Owns::DirIn { parent, dir } => path
                .strip_prefix(parent)
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(sub, rest)| {
                    !sub.is_empty() && rest.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
                }),
        }
    }
}

/// One artifact kind: a pure function of the validated spec (and the names
/// of its files, for the headers), and what it owns in the output tree.
#[derive(Debug, Clone, Copy)]
pub struct Renderer {
    /// Short name (the module).
    pub name: &'static str,
    /// The directories and files it owns; empty for a renderer whose files
    /// are not committed (they are not checked by `gen --check` either).
    pub owns: &'static [Owns],
    /// Renders its files.
    pub render: fn(&RenderCx<'_>) -> Vec<GeneratedFile>,
}

/// What every renderer reads: the validated spec, its lowered model (computed
/// once per run), and the names of the spec's files (for the headers).
#[derive(Debug, Clone, Copy)]
pub struct RenderCx<'a> {
    /// The validated spec.
    pub spec: &'a Spec,
    /// Its lowered model.
    pub lowered: &'a Lowered,
    /// The spec files' names, as the headers cite them.
    pub sources: &'a [String],
}

impl Renderer {
    /// Whether its files are committed and checked for drift.
    pub fn committed(&self) -> bool {
        !self.owns.is_empty()
    }
}

const INFRA: &[Owns] = &[Owns::Dir("infra/observability")];

/// Every renderer, in the order `gen` runs them: adding an artifact kind is
/// one module and one row. The owned directories are derived from it ([`owned`]).
pub const RENDERERS: [Renderer; 14] = [
    Renderer { name: "schema", owns: &[Owns::Dir("generated/schema")], render: |cx| schema::render_all(cx.sources) },
    Renderer {
        name: "catalogue",
        owns: &[Owns::File(catalogue::PATH)],
        render: |cx| vec![catalogue::render(cx.spec, cx.sources)],
    },
    Renderer {
        name: "rust",
        owns: &[Owns::Dir("generated/src")],
        render: |cx| vec![rust::render_file(cx.spec, cx.sources)],
    },
    Renderer {
        name: "prometheus",
        owns: INFRA,
        render: |cx| prometheus::render_lowered(cx.spec, cx.lowered, cx.sources),
    },
    Renderer { name: "ruler", owns: INFRA, render: |cx| ruler::render(cx.spec, cx.lowered, cx.sources) },
    Renderer { name: "openslo", owns: INFRA, render: |cx| openslo::render(cx.spec, cx.lowered, cx.sources) },
    Renderer { name: "weaver", owns: INFRA, render: |cx| weaver::render(cx.spec, cx.sources) },
    Renderer { name: "promtool_tests", owns: INFRA, render: |cx| promtool_tests::render(cx.spec, cx.sources) },
    Renderer { name: "grafana", owns: INFRA, render: |cx| grafana::render(cx.spec, cx.sources) },
    Renderer { name: "local", owns: INFRA, render: |cx| local::render_lowered(cx.spec, cx.lowered, cx.sources) },
    Renderer {
        name: "typescript",
        owns: &[Owns::DirIn { parent: "apps", dir: "obs" }],
        render: |cx| typescript::render(cx.spec, cx.sources),
    },
    Renderer { name: "collector", owns: INFRA, render: |cx| collector::render(cx.spec, cx.sources) },
    Renderer { name: "retention", owns: INFRA, render: |cx| retention::render(cx.spec, cx.sources) },
    // Review pages under `target/`: written by `gen`, never committed nor checked.
    Renderer { name: "preview", owns: &[], render: |cx| preview::render(cx.spec, cx.sources) },
];

/// What `gen` owns: the union of the committed renderers' [`Owns`], sorted, without repeats.
pub fn owned() -> Vec<Owns> {
    let mut out: Vec<Owns> = Vec::new();
    for o in RENDERERS.iter().flat_map(|r| r.owns.iter().copied()) {
        if !out.contains(&o) {
            out.push(o);
        }
    }
    out.sort_by_key(|o| match o {
        Owns::Dir(d) | Owns::File(d) | Owns::DirIn { parent: d, .. } => *d,
    });
    out
}

fn run(loaded: &Loaded, committed: bool) -> Vec<GeneratedFile> {
    let sources = loaded.sources.file_names();
    let lowered = lower::lower(&loaded.spec);
    let cx = RenderCx { spec: &loaded.spec, lowered: &lowered, sources: &sources };
    let mut files: Vec<GeneratedFile> =
        RENDERERS.iter().filter(|r| r.committed() == committed).flat_map(|r| (r.render)(&cx)).collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Renders every committed artifact of a valid spec (what `gen` writes and `gen --check` compares).
pub fn all(loaded: &Loaded) -> Vec<GeneratedFile> {
    run(loaded, true)
}

/// Renders the uncommitted artifacts (the dashboard previews under `target/`).
pub fn uncommitted(loaded: &Loaded) -> Vec<GeneratedFile> {
    run(loaded, false)
}
