//! The rules of `live-check`: what a running system emits, against the spec.
//!
//! Every observation (an OTLP data point or log record, a scraped sample, a
//! log line, a trail line) goes through [`Checker`], which keeps findings
//! keyed by rule and subject (with a count), and what it has seen, so that
//! the run-wide rules (declared metric never seen, open label over its bound)
//! are decided at the end by [`Checker::finish`].

use std::collections::{BTreeMap, BTreeSet};

use obspec::log::{LogFieldType, LogSchema};
use obspec_codegen::model::{LabelKind, MetricKind, Spec};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Breaks the spec.
    Error,
    /// Probably a gap (a declared metric nothing emitted).
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The rules, with their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A metric the spec does not declare.
    MetricUndeclared,
    /// A declared metric of a component that emitted, never seen over the run.
    MetricNeverSeen,
    /// A metric of another type than the spec's.
    MetricWrongType,
    /// A metric of another unit than the spec's.
    MetricWrongUnit,
    /// A label the metric does not declare.
    LabelUndeclared,
    /// A declared label missing from a series.
    LabelMissing,
    /// A closed label's value outside its set.
    LabelValueNotInSet,
    /// More distinct values of an open label than its `max_values` (plus `other`).
    LabelOverBound,
    /// Histogram buckets different from the spec's.
    HistogramBuckets,
    /// A log field outside the allow-list (or a record body).
    LogFieldNotAllowed,
    /// A log field value of the wrong shape.
    LogFieldShape,
    /// A trail line that is not canonical (or not a record).
    TrailNotCanonical,
    /// A trail line that does not link to the previous one.
    TrailChainBroken,
    /// An input that could not be read or decoded.
    InputUnreadable,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 14] = [
        Rule::MetricUndeclared,
        Rule::MetricNeverSeen,
        Rule::MetricWrongType,
        Rule::MetricWrongUnit,
        Rule::LabelUndeclared,
        Rule::LabelMissing,
        Rule::LabelValueNotInSet,
        Rule::LabelOverBound,
        Rule::HistogramBuckets,
        Rule::LogFieldNotAllowed,
        Rule::LogFieldShape,
        Rule::TrailNotCanonical,
        Rule::TrailChainBroken,
        Rule::InputUnreadable,
    ];

    /// The rule id shown in reports.
    pub fn id(self) -> &'static str {
        match self {
            Rule::MetricUndeclared => "metric.undeclared",
            Rule::MetricNeverSeen => "metric.never_seen",
            Rule::MetricWrongType => "metric.wrong_type",
            Rule::MetricWrongUnit => "metric.wrong_unit",
            Rule::LabelUndeclared => "label.undeclared",
            Rule::LabelMissing => "label.missing",
            Rule::LabelValueNotInSet => "label.value_not_in_set",
            Rule::LabelOverBound => "label.over_bound",
            Rule::HistogramBuckets => "histogram.buckets",
            Rule::LogFieldNotAllowed => "log.field_not_allowed",
            Rule::LogFieldShape => "log.field_shape",
            Rule::TrailNotCanonical => "trail.not_canonical",
            Rule::TrailChainBroken => "trail.chain_broken",
            Rule::InputUnreadable => "input.unreadable",
        }
    }

    /// The rule's severity.
    pub fn severity(self) -> Severity {
        match self {
            Rule::MetricNeverSeen => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One finding: a rule broken by a subject, seen `count` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// What broke it (`metric{label="value"}`, `file:line field`…), never a free-text value.
    pub subject: String,
    /// Where it was seen first (`otlp`, a scrape URL, a file).
    pub source: String,
    /// How many times.
    pub count: u64,
}

/// The metric kinds as emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic sum / counter.
    Counter,
    /// Gauge (or a non-monotonic sum).
    Gauge,
    /// Explicit-bucket histogram.
    Histogram,
    /// Anything else (summary, exponential histogram, untyped).
    Other,
}

fn spec_kind(k: MetricKind) -> Kind {
    match k {
        MetricKind::Counter => Kind::Counter,
        MetricKind::Gauge => Kind::Gauge,
        MetricKind::Histogram => Kind::Histogram,
    }
}

/// One emitted series of a metric, as an input saw it.
#[derive(Debug, Clone)]
pub struct Sample<'a> {
    /// Metric (family) name.
    pub name: &'a str,
    /// The kind the input says it has.
    pub kind: Kind,
    /// The unit the input says it has (UCUM for OTLP), when it says one.
    pub unit: Option<&'a str>,
    /// Label names and values (without `le`).
    pub labels: Vec<(String, String)>,
    /// Histogram upper bounds (without `+Inf`), when a histogram.
    pub buckets: Option<Vec<f64>>,
}

/// The value an open label takes past its bound (the emitters' rule).
const OTHER: &str = "other";

/// The checker: the spec's vocabulary, what was seen, and the findings.
pub struct Checker<'s> {
    spec: &'s Spec,
    log: &'static LogSchema,
    /// metric -> label -> distinct values seen.
    seen: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    components: BTreeSet<String>,
    findings: BTreeMap<(Rule, String), Finding>,
}

impl<'s> Checker<'s> {
    /// A checker for `spec`, with the runtime's log schema for log shapes.
    pub fn new(spec: &'s Spec, log: &'static LogSchema) -> Self {
        Self { spec, log, seen: BTreeMap::new(), components: BTreeSet::new(), findings: BTreeMap::new() }
    }

    /// Records a finding (deduplicated by rule and subject, counted).
    pub fn report(&mut self, rule: Rule, subject: String, source: &str) {
        self.findings.entry((rule, subject.clone())).and_modify(|f| f.count += 1).or_insert_with(|| Finding {
            rule,
            subject,
            source: source.to_owned(),
            count: 1,
        });
    }

    /// Notes that `component` emitted (its declared metrics are then expected).
    pub fn component_seen(&mut self, component: &str) {
        if self.spec.components.iter().any(|c| c.name == component) {
            self.components.insert(component.to_owned());
        }
    }

    /// Checks one series of a metric.
    pub fn sample(&mut self, s: &Sample<'_>, source: &str) {
        let spec = self.spec;
        let Some(m) = spec.metrics.iter().find(|m| m.name == s.name) else {
            self.report(Rule::MetricUndeclared, s.name.to_owned(), source);
            return;
        };
        if m.role.is_none() {
            self.component_seen(&m.component);
        }
        self.seen.entry(m.name.clone()).or_default();
        let want = spec_kind(m.kind);
        if s.kind != want {
            self.report(Rule::MetricWrongType, format!("{} is {:?}, the spec says {:?}", m.name, s.kind, want), source);
        }
        if let Some(u) = s.unit {
            let expected = obspec_codegen::render::typescript::ucum(m.unit);
            if u != expected {
                self.report(
                    Rule::MetricWrongUnit,
                    format!("{} has unit {u:?}, the spec says {expected:?}", m.name),
                    source,
                );
            }
        }
        if let Some(b) = &s.buckets
            && m.kind == MetricKind::Histogram
        {
            let same = b.len() == m.buckets.len()
                && b.iter().zip(&m.buckets).all(|(x, y)| (x - y).abs() <= 1e-9 * y.abs().max(1.0));
            if !same {
                let f = |v: &[f64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
                self.report(
                    Rule::HistogramBuckets,
                    format!("{} buckets [{}], the spec says [{}]", m.name, f(b), f(&m.buckets)),
                    source,
                );
            }
        }
        for (k, v) in &s.labels {
            // A renamed label's old name, written beside it while the rename lasts.
            let alias_of = m.labels.iter().find(|l| obspec_codegen::rename::label_alias(spec, l) == Some(k.as_str()));
            if let Some(new) = alias_of {
                if s.labels.iter().any(|(k2, v2)| k2 == new && v2 != v) {
                    self.report(Rule::LabelValueNotInSet, format!("{}{{{k}}} differs from {new}", m.name), source);
                }
                continue;
            }
            if !m.labels.contains(k) {
                self.report(Rule::LabelUndeclared, format!("{}{{{k}}}", m.name), source);
                continue;
            }
            let Some(def) = spec.labels.iter().find(|l| &l.name == k) else { continue };
            let ok = match def.kind {
                LabelKind::Open => {
                    self.seen.entry(m.name.clone()).or_default().entry(k.clone()).or_default().insert(v.clone());
                    true
                }
                // A renamed value's old name is what binaries built before
                // the rename write, while `renamed_values` lasts.
                LabelKind::Closed => def.values.contains(v) || def.renamed_values.iter().any(|r| &r.renamed_from == v),
                LabelKind::ErrorToken => {
                    def.none.as_deref().unwrap_or("NONE") == v || spec.error_tokens.iter().any(|t| &t.token == v)
                }
            };
            if !ok {
                // The value is reported only when it is shaped like a label value (no free text in reports).
                let shown = if v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b)) {
                    v.as_str()
                } else {
                    "<redacted>"
                };
                self.report(Rule::LabelValueNotInSet, format!("{}{{{k}=\"{shown}\"}}", m.name), source);
            }
        }
        for l in &m.labels {
            if !s.labels.iter().any(|(k, _)| k == l) {
                self.report(Rule::LabelMissing, format!("{}{{{l}}}", m.name), source);
            }
        }
    }

    /// Checks one log record's fields (`ts` included when the input has it as a field).
    /// Findings are keyed by field; `where_` (the first place seen) is kept as their source.
    pub fn log_fields(&mut self, fields: &[(String, serde_json::Value)], where_: &str) {
        for (k, v) in fields {
            let Some(f) = self.log.fields.iter().find(|f| f.name == k) else {
                let shown = if obspec::log::validate::is_name(k) { k.as_str() } else { "<redacted>" };
                self.report(Rule::LogFieldNotAllowed, format!("log field `{shown}`"), where_);
                continue;
            };
            if !self.shape_ok(f.ty, v) {
                self.report(Rule::LogFieldShape, format!("log field `{k}` is not a {:?}", f.ty), where_);
            }
        }
    }

    fn shape_ok(&self, ty: LogFieldType, v: &serde_json::Value) -> bool {
        use obspec::log::validate as val;
        let s = v.as_str();
        // The log plane's own marker for a value it refused: the plane did its job.
        if s == Some(obspec::log::REDACTED) {
            return true;
        }
        match ty {
            LogFieldType::Timestamp => s.is_some_and(|s| obspec_trail::date::parse_timestamp(s).is_some()),
            LogFieldType::Component => {
                s.is_some_and(|s| self.log.components.is_empty() && val::is_name(s) || self.log.components.contains(&s))
            }
            LogFieldType::Id => s.is_some_and(|s| val::is_id(s, self.log.id_max_len)),
            LogFieldType::TraceId => s.is_some_and(|s| val::parse_trace_id(s).is_some()),
            LogFieldType::Route => s.is_some_and(|s| self.log.routes.contains(&s)),
            LogFieldType::Method => s.is_some_and(|s| self.log.methods.contains(&s)),
            LogFieldType::Name => s.is_some_and(val::is_name),
            LogFieldType::Bool | LogFieldType::Outcome => v.is_boolean(),
            LogFieldType::ErrorToken => s.is_some_and(|s| self.log.error_tokens.contains(&s)),
            LogFieldType::HttpStatus => v.as_u64().is_some_and(val::is_http_status),
            LogFieldType::Count => v.as_u64().is_some(),
        }
    }

    /// Decides the run-wide rules and returns every finding, in report order.
    pub fn finish(mut self) -> Vec<Finding> {
        let spec = self.spec;
        for m in &spec.metrics {
            if m.role.is_none() && self.components.contains(&m.component) && !self.seen.contains_key(&m.name) {
                self.report(Rule::MetricNeverSeen, format!("{} (component {})", m.name, m.component), "run");
            }
            let Some(labels) = self.seen.get(&m.name).cloned() else { continue };
            for (label, values) in labels {
                let Some(max) = spec.labels.iter().find(|l| l.name == label).and_then(|l| l.max_values) else {
                    continue;
                };
                let n = values.iter().filter(|v| v.as_str() != OTHER).count() as u64;
                if n > max {
                    self.report(Rule::LabelOverBound, format!("{}{{{label}}}: {n} values, bound {max}", m.name), "run");
                }
            }
        }
        let mut out: Vec<Finding> = self.findings.into_values().collect();
        out.sort_by(|a, b| (a.rule, &a.subject).cmp(&(b.rule, &b.subject)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository spec with `method` renamed to `http_method` (old name still written).
    fn renamed_spec() -> Spec {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec");
        let mut inputs = obspec_codegen::load::read_dir(&root, "spec").expect("read spec");
        let m = inputs.iter_mut().find(|i| i.name == "spec/metrics.yaml").expect("metrics.yaml");
        let renamed: Vec<String> = m
            .text
            .lines()
            .map(|line| match line {
                "  - name: method" => {
                    "  - name: http_method\n    renamed_from: method\n    deprecated: \"2027-01-31\"".to_owned()
                }
                l if l.trim_start().starts_with("labels: [") => l
                    .replace("[method,", "[http_method,")
                    .replace(" method,", " http_method,")
                    .replace(" method]", " http_method]"),
                l => l.to_owned(),
            })
            .collect();
        m.text = renamed.join("\n") + "\n";
        obspec_codegen::check(&inputs).map(|l| l.spec).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn sample_with<'a>(spec: &'a Spec, labels: &[(&str, &str)]) -> Option<(Sample<'a>, &'a str)> {
        let m = spec.metrics.iter().find(|m| m.labels.iter().any(|l| l == "http_method"))?;
        let mut all: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        for l in m.labels.iter().filter(|l| !labels.iter().any(|(k, _)| k == *l)) {
            let def = spec.labels.iter().find(|d| &d.name == l)?;
            let v = def.values.first().cloned().or(def.none.clone()).unwrap_or_else(|| "other".to_owned());
            all.push((l.clone(), v));
        }
        let kind = spec_kind(m.kind);
        let buckets = (m.kind == MetricKind::Histogram).then(|| m.buckets.clone());
        Some((Sample { name: &m.name, kind, unit: None, labels: all, buckets }, &m.name))
    }

    #[test]
    fn a_renamed_labels_copy_is_accepted_and_a_differing_copy_is_reported() {
        let spec = renamed_spec();
        let run = |labels: &[(&str, &str)]| {
            let mut c = Checker::new(&spec, &obspec_generated::LOG_SCHEMA);
            let (s, _) = sample_with(&spec, labels).expect("a metric with the renamed label");
            c.sample(&s, "test");
            c.findings.into_values().map(|f| (f.rule, f.subject)).collect::<Vec<_>>()
        };
        let label_findings =
            |f: &[(Rule, String)]| f.iter().filter(|(_, s)| s.contains("method")).cloned().collect::<Vec<_>>();
        assert!(label_findings(&run(&[("http_method", "GET"), ("method", "GET")])).is_empty());
        let f = run(&[("http_method", "GET"), ("method", "POST")]);
        assert!(f.iter().any(|(r, s)| *r == Rule::LabelValueNotInSet && s.contains("{method} differs")), "{f:?}");
        // A label that is no alias stays undeclared.
        let f = run(&[("http_method", "GET"), ("verb", "GET")]);
        assert!(f.iter().any(|(r, _)| *r == Rule::LabelUndeclared), "{f:?}");
    }
}
