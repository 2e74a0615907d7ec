//! `cargo xtask diff`: a field-level comparison of two valid specs, each change
//! classified breaking, compatible or cosmetic, with its reason and every
//! generated artifact it touches.
//!
//! Both specs are loaded, validated and lowered by the compiler; the diff
//! compares the models, not the text (moving an item between files or
//! reordering keys is no change). Downstream artifacts are found by parsing
//! every PromQL expression obspec generates (alerts, recording and alias
//! rules, dashboard panels) and matching its selectors ([`consumers`]).
//!
//! A breaking change the spec records does not fail the diff: a metric
//! rename with `renamed_from` is compatible while its alias rules exist, and
//! a breaking trail change is recorded by a bump of `trails.schema_version`
//! ([`Change::recorded`]). The JSON output is a [`Report`]; its JSON Schema is
//! generated to `generated/schema/obspec-diff.schema.json`.

pub mod consumers;
mod sections;

use schemars::JsonSchema;
use serde::Serialize;

use crate::load::Loaded;
use crate::lower;
use consumers::Consumers;

/// How a change affects the users of the generated artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Something that worked stops working: a query returns nothing, a client
    /// mis-handles a response, a verifier rejects a record, an alert changes meaning.
    Breaking,
    /// Something new, or a change every existing consumer survives.
    Compatible,
    /// Wording only (help, descriptions, titles, notes).
    Cosmetic,
}

impl Class {
    /// The lower-case name (`breaking`).
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Breaking => "breaking",
            Class::Compatible => "compatible",
            Class::Cosmetic => "cosmetic",
        }
    }
}

/// One change between the baseline and the current spec.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Change {
    /// What changed, as a path of spec items by name (`metrics[api_http_requests_total].buckets`).
    pub path: String,
    /// Breaking, compatible or cosmetic.
    pub class: Class,
    /// Why it is in that class, in one sentence.
    pub reason: String,
    /// Every generated artifact it touches: `alert X`, `recording rules G`,
    /// `alias rule R`, `dashboard F panel "T"`, `emitter …`, `trail verifier`, ….
    pub downstream: Vec<String>,
    /// For a breaking change: what in the current spec records it, so it does
    /// not fail the diff (`trails.schema_version 1 -> 2`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
}

/// The result of a diff: what `--format json` prints.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Report {
    /// Where the baseline came from (a git ref or a directory), as given.
    pub baseline: String,
    /// Changes, by spec section (spec order), then by item.
    pub changes: Vec<Change>,
    /// Breaking changes the spec does not record: the diff fails when this is not 0.
    pub unrecorded_breaking: usize,
}

impl Report {
    /// The changes of one class.
    pub fn of(&self, class: Class) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.class == class)
    }

    /// The report as pretty JSON (schema: [`schema`]).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The report as Markdown: a summary line, then one table per class.
    pub fn to_markdown(&self) -> String {
        let mut o = format!("# Spec diff against `{}`\n\n", self.baseline);
        if self.changes.is_empty() {
            o.push_str("No change to the spec's model.\n");
            return o;
        }
        let n = |c| self.of(c).count();
        o.push_str(&format!(
            "{} breaking ({} not recorded by the spec), {} compatible, {} cosmetic.\n",
            n(Class::Breaking),
            self.unrecorded_breaking,
            n(Class::Compatible),
            n(Class::Cosmetic)
        ));
        for class in [Class::Breaking, Class::Compatible, Class::Cosmetic] {
            if self.of(class).next().is_none() {
                continue;
            }
            o.push_str(&format!("\n## {}\n\n| change | reason | downstream |\n|---|---|---|\n", class.as_str()));
            for c in self.of(class) {
                let reason = match &c.recorded {
                    Some(r) => format!("{} (recorded: {r})", c.reason),
                    None => c.reason.clone(),
                };
                let down = if c.downstream.is_empty() { "—".to_owned() } else { c.downstream.join("<br>") };
                o.push_str(&format!(
                    "| `{}` | {} | {} |\n",
                    c.path,
                    reason.replace('|', "\\|"),
                    down.replace('|', "\\|")
                ));
            }
        }
        o
    }
}

/// The JSON Schema of [`Report`], the `--format json` output.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(Report).to_value()
}

/// Compares two valid specs. `today` (`YYYY-MM-DD`) decides whether dropping
/// a rename's alias is past its deprecation (compatible) or early (breaking).
pub fn diff(baseline: &str, old: &Loaded, new: &Loaded, today: &str) -> Report {
    let (lo, ln) = (lower::lower(&old.spec), lower::lower(&new.spec));
    let cx = sections::Cx {
        old: &old.spec,
        new: &new.spec,
        old_uses: Consumers::of(&old.spec, &lo),
        new_uses: Consumers::of(&new.spec, &ln),
        old_low: &lo,
        new_low: &ln,
        today,
        out: Vec::new(),
    };
    let changes = sections::run(cx);
    let unrecorded_breaking = changes.iter().filter(|c| c.class == Class::Breaking && c.recorded.is_none()).count();
    Report { baseline: baseline.to_owned(), changes, unrecorded_breaking }
}
