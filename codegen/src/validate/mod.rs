//! Validation: every rule the spec must satisfy, all problems collected in one run.
//!
//! Each check pushes a located [`Diagnostic`] and carries on, so a spec with a
//! dozen mistakes gets a dozen diagnostics. One module per spec section, each
//! with a `fn check(cx)`; adding a section is a model change plus one module
//! and one line in `CHECKS`. The PromQL in SLOs, alerts and dashboards is
//! checked by [`crate::promql`].

mod alerts;
mod components;
mod dashboards;
pub mod environments;
mod flags;
mod generated;
mod idents;
mod labels;
mod ladders;
mod logs;
mod metric_components;
mod metrics;
mod notes;
mod project;
pub mod roles;
pub mod slos;
mod tokens;
mod trails;

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::load::{Loaded, Loc, SourceMap};
use crate::model::*;
use crate::names;
use crate::promql::{self, Catalog};

/// One section's check: pushes its diagnostics onto the context.
type Check = fn(&mut Cx<'_>);

/// The section checks, in the order they run (the output is sorted by position anyway).
const CHECKS: [(&str, Check); 18] = [
    ("project", project::check),
    ("components", components::check),
    ("labels", labels::check),
    ("metrics", metrics::check),
    ("error_tokens", tokens::check),
    ("logs", logs::check),
    ("trails", trails::check),
    ("slos", slos::check),
    ("alerts", alerts::check),
    ("dashboards", dashboards::check),
    ("flags", flags::check),
    ("roles", roles::check),
    ("environments", environments::check),
    ("resolutions", notes::check),
    ("ladders", ladders::check),
    ("identifiers", idents::check),
    ("metric_components", metric_components::check),
    ("renames", crate::rename::check),
];

/// Validates a loaded spec. Returns every problem found, in source order.
pub fn validate(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut cx =
        Cx { spec: &loaded.spec, sm: &loaded.sources, out: Vec::new(), cat: crate::rules::catalog(&loaded.spec) };
    for (_, check) in CHECKS {
        check(&mut cx);
    }
    // The generated expressions are checked only on an otherwise valid spec:
    // on a broken one they would only echo its problems.
    if cx.out.is_empty() {
        generated::check(&mut cx);
    }
    let mut out = cx.out;
    out.sort_by(|a, b| (&a.file, a.pos.line, a.pos.col).cmp(&(&b.file, b.pos.line, b.pos.col)));
    out.dedup();
    out
}

/// Problems of a valid spec that do not stop generation.
pub fn warnings(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut out = slos::warnings(loaded);
    out.extend(crate::rename::warnings(loaded));
    out
}

/// What every section check reads and writes: the spec, its positions, the
/// PromQL catalogue, and the diagnostics found so far.
pub(crate) struct Cx<'a> {
    /// The merged spec.
    pub spec: &'a Spec,
    /// Where each item was written.
    pub sm: &'a SourceMap,
    /// Diagnostics found so far.
    pub out: Vec<Diagnostic>,
    /// Metrics and recording rules PromQL may name.
    pub cat: Catalog,
}

impl<'a> Cx<'a> {
    /// An error at the value of `loc`.
    pub fn err(&mut self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) {
        self.out.push(self.sm.diag(loc, message, help));
    }

    /// An error at the key of `loc`.
    pub fn err_key(&mut self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) {
        self.out.push(self.sm.diag_key(loc, message, help));
    }

    /// `file:line:col` of `loc`.
    pub fn at(&self, loc: &Loc) -> String {
        self.sm.diag(loc, "", "").location()
    }

    /// Reports every name that appears twice in a section.
    pub fn unique<'n>(&mut self, what: &str, items: impl IntoIterator<Item = (&'n str, Loc)>) {
        let mut seen: BTreeMap<&str, Loc> = BTreeMap::new();
        for (name, loc) in items {
            if let Some(first) = seen.get(name) {
                let first_at = self.sm.diag(first, "", "").location();
                self.err(
                    &loc,
                    format!("duplicate {what} `{name}`"),
                    format!("it is already defined at {first_at}; rename or remove one"),
                );
            } else {
                seen.insert(name, loc);
            }
        }
    }

    pub fn component_known(&mut self, name: &str, loc: &Loc) {
        // The project's name stands for obspec's runtime in every component (`crate::roles`).
        if !self.spec.components.iter().any(|c| c.name == name) && name != self.spec.project.name {
            let known: Vec<&str> = self.spec.components.iter().map(|c| c.name.as_str()).collect();
            self.err(loc, format!("unknown component `{name}`"), format!("use one of: {}", known.join(", ")));
        }
    }

    pub fn duration(&mut self, d: &str, loc: &Loc) -> Option<u64> {
        let secs = names::duration_seconds(d);
        if secs.is_none() {
            self.err(
                loc,
                format!("`{d}` is not a Prometheus duration"),
                "write a number and a unit: `30s`, `5m`, `1h`, `30d`",
            );
        }
        secs
    }

    pub fn promql(&mut self, expr: &str, loc: &Loc) {
        for p in promql::check(expr, &self.cat) {
            self.err(loc, p.message, p.help);
        }
    }

    /// Checks a plain selector and returns its metric, if it names one of the spec.
    pub fn selector(&mut self, sel: &str, loc: &Loc) -> Option<&'a Metric> {
        let spec: &'a Spec = self.spec;
        match promql::parse_selector(sel) {
            Ok((name, matchers)) => {
                // A histogram is named by its family; check its `_bucket` series.
                let family = spec.metrics.iter().find(|m| m.name == name && m.kind == MetricKind::Histogram);
                match family {
                    Some(_) => self.promql(&format!("{name}_bucket{{{}}}", promql::render_matchers(&matchers)), loc),
                    None => self.promql(sel, loc),
                }
                let base = names::metric_family(&name);
                spec.metrics.iter().find(|m| m.name == name || m.name == base)
            }
            Err(e) => {
                self.err(loc, format!("`{sel}` is not a selector: {e}"), "write `metric_name{label=\"value\"}`");
                None
            }
        }
    }
}
