//! Type-checking PromQL against the spec.
//!
//! Every expression obspec emits or reads from the spec is parsed with
//! `promql-parser`; each selector's metric, labels and label values are
//! checked against the spec's metrics and labels (and the recording rules
//! obspec generates). A problem names the selector and says what is allowed.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr, LabelModifier, VectorSelector};

use crate::model::{LabelDef, LabelKind, Metric, MetricKind, Spec};

/// Labels every scraped series carries besides its own.
pub const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// What a series name resolves to.
#[derive(Debug, Clone)]
struct SeriesInfo {
    labels: BTreeSet<String>,
}

/// The series and labels an expression may use: the spec's metrics (with
/// histogram `_bucket/_sum/_count` series) and obspec's recording rules.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    series: BTreeMap<String, SeriesInfo>,
    closed: BTreeMap<String, BTreeSet<String>>,
}

impl Catalog {
    /// Builds the catalog of a spec.
    pub fn new(spec: &Spec) -> Self {
        let mut cat = Catalog::default();
        for label in &spec.labels {
            if let Some(values) = closed_values(spec, label) {
                cat.closed.insert(label.name.clone(), values);
            }
        }
        for m in &spec.metrics {
            cat.add_metric(m);
        }
        cat
    }

    fn add_metric(&mut self, m: &Metric) {
        let mut labels: BTreeSet<String> = m.labels.iter().cloned().collect();
        labels.extend(TARGET_LABELS.iter().map(|s| (*s).to_owned()));
        match m.kind {
            MetricKind::Histogram => {
                let mut bucket = labels.clone();
                bucket.insert("le".to_owned());
                self.series.insert(format!("{}_bucket", m.name), SeriesInfo { labels: bucket });
                self.series.insert(format!("{}_sum", m.name), SeriesInfo { labels: labels.clone() });
                self.series.insert(format!("{}_count", m.name), SeriesInfo { labels });
            }
            MetricKind::Counter | MetricKind::Gauge => {
                self.series.insert(m.name.clone(), SeriesInfo { labels });
            }
        }
    }

    /// Declares a recording rule's output series and its labels.
    pub fn add_recording_rule(&mut self, name: &str, labels: impl IntoIterator<Item = String>) {
        let entry = self.series.entry(name.to_owned()).or_insert_with(|| SeriesInfo { labels: BTreeSet::new() });
        entry.labels.extend(labels);
    }

    /// Whether a series name is known.
    pub fn has_series(&self, name: &str) -> bool {
        self.series.contains_key(name)
    }

    /// The known series names closest to `name`, for a "did you mean" hint.
    fn closest(&self, name: &str) -> Vec<&str> {
        let mut scored: Vec<(usize, &str)> = self.series.keys().map(|k| (edit_distance(name, k), k.as_str())).collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, k)| k).collect()
    }
}

/// The closed value set of a label, or `None` for an open label.
pub fn closed_values(spec: &Spec, label: &LabelDef) -> Option<BTreeSet<String>> {
    match label.kind {
        LabelKind::Closed => Some(label.values.iter().cloned().collect()),
        LabelKind::ErrorToken => {
            let mut v: BTreeSet<String> = spec.error_tokens.iter().map(|t| t.token.clone()).collect();
            if let Some(none) = &label.none {
                v.insert(none.clone());
            }
            Some(v)
        }
        LabelKind::Open => None,
    }
}

/// A problem in a PromQL expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// Parses `expr` and checks every selector against `cat`.
pub fn check(expr: &str, cat: &Catalog) -> Vec<Problem> {
    match parser::parse(expr) {
        Ok(ast) => {
            let mut problems = Vec::new();
            walk(&ast, cat, &mut problems);
            problems
        }
        Err(e) => vec![Problem {
            message: format!("PromQL does not parse: {}", e.trim()),
            help: "fix the expression; `promtool check rules` would reject it too".to_owned(),
        }],
    }
}

/// Parses a single vector selector (`metric{a="b"}`) into its name and matchers.
pub fn parse_selector(selector: &str) -> Result<(String, Vec<Matcher>), String> {
    match parser::parse(selector) {
        Ok(Expr::VectorSelector(vs)) => {
            let name = selector_name(&vs).ok_or_else(|| "the selector has no metric name".to_owned())?;
            let matchers = vs.matchers.matchers.iter().filter(|m| m.name != "__name__").cloned().collect();
            Ok((name, matchers))
        }
        Ok(_) => Err("expected a plain vector selector such as `metric{label=\"value\"}`".to_owned()),
        Err(e) => Err(format!("PromQL does not parse: {}", e.trim())),
    }
}

/// Renders matchers back to PromQL (`a="b",c=~"d"`), in their given order.
pub fn render_matchers(matchers: &[Matcher]) -> String {
    let parts: Vec<String> = matchers
        .iter()
        .map(|m| {
            let op = match &m.op {
                MatchOp::Equal => "=",
                MatchOp::NotEqual => "!=",
                MatchOp::Re(_) => "=~",
                MatchOp::NotRe(_) => "!~",
            };
            format!("{}{}{}", m.name, op, quote(&m.value))
        })
        .collect();
    parts.join(",")
}

/// Quotes a PromQL string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn selector_name(vs: &VectorSelector) -> Option<String> {
    vs.name.clone().or_else(|| {
        vs.matchers.matchers.iter().find(|m| m.name == "__name__" && m.op == MatchOp::Equal).map(|m| m.value.clone())
    })
}

fn walk(expr: &Expr, cat: &Catalog, out: &mut Vec<Problem>) {
    match expr {
        Expr::Aggregate(a) => {
            walk(&a.expr, cat, out);
            if let Some(p) = &a.param {
                walk(p, cat, out);
            }
            if let Some(m) = &a.modifier {
                check_grouping(m, &a.expr, cat, out);
            }
        }
        Expr::Unary(u) => walk(&u.expr, cat, out),
        Expr::Binary(b) => {
            walk(&b.lhs, cat, out);
            walk(&b.rhs, cat, out);
        }
        Expr::Paren(p) => walk(&p.expr, cat, out),
        Expr::Subquery(s) => walk(&s.expr, cat, out),
        Expr::VectorSelector(vs) => check_selector(vs, cat, out),
        Expr::MatrixSelector(ms) => check_selector(&ms.vs, cat, out),
        Expr::Call(c) => {
            for a in &c.args.args {
                walk(a, cat, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Labels the series under `expr` may carry (union over its selectors).
fn labels_under(expr: &Expr, cat: &Catalog, acc: &mut BTreeSet<String>) {
    match expr {
        Expr::Aggregate(a) => {
            // After aggregation only the grouping labels survive.
            match &a.modifier {
                Some(LabelModifier::Include(l)) => acc.extend(l.labels.iter().cloned()),
                _ => labels_under(&a.expr, cat, acc),
            }
        }
        Expr::Unary(u) => labels_under(&u.expr, cat, acc),
        Expr::Binary(b) => {
            labels_under(&b.lhs, cat, acc);
            labels_under(&b.rhs, cat, acc);
        }
        Expr::Paren(p) => labels_under(&p.expr, cat, acc),
        Expr::Subquery(s) => labels_under(&s.expr, cat, acc),
        Expr::VectorSelector(vs) => selector_labels(vs, cat, acc),
        Expr::MatrixSelector(ms) => selector_labels(&ms.vs, cat, acc),
        Expr::Call(c) => {
            for a in &c.args.args {
                labels_under(a, cat, acc);
            }
            if c.func.name == "label_replace"
                && let Some(Expr::StringLiteral(s)) = c.args.args.get(1).map(|b| b.as_ref())
            {
                acc.insert(s.val.clone());
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn selector_labels(vs: &VectorSelector, cat: &Catalog, acc: &mut BTreeSet<String>) {
    if let Some(info) = selector_name(vs).and_then(|n| cat.series.get(&n)) {
        acc.extend(info.labels.iter().cloned());
    }
}

fn check_grouping(m: &LabelModifier, inner: &Expr, cat: &Catalog, out: &mut Vec<Problem>) {
    // An unknown metric is already reported; its labels are unknown too, so
    // checking the grouping would only cascade.
    let mut probe = Vec::new();
    walk(inner, cat, &mut probe);
    if probe.iter().any(|p| p.message.starts_with("unknown metric")) {
        return;
    }
    let mut available = BTreeSet::new();
    labels_under(inner, cat, &mut available);
    for label in &m.labels().labels {
        if !available.contains(label) {
            let list: Vec<&str> = available.iter().map(String::as_str).collect();
            out.push(Problem {
                message: format!("grouping by label `{label}`, which no series under this aggregation has"),
                help: format!("group by one of: {}", list.join(", ")),
            });
        }
    }
}

fn check_selector(vs: &VectorSelector, cat: &Catalog, out: &mut Vec<Problem>) {
    let Some(name) = selector_name(vs) else {
        out.push(Problem {
            message: "a selector without a metric name".to_owned(),
            help: "name the metric, e.g. `gateway_http_requests_total{…}`".to_owned(),
        });
        return;
    };
    let Some(info) = cat.series.get(&name) else {
        out.push(Problem {
            message: format!("unknown metric `{name}`"),
            help: format!(
                "did you mean {}? generated/CATALOGUE.md lists every metric",
                cat.closest(&name).iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
        });
        return;
    };
    for m in &vs.matchers.matchers {
        if m.name == "__name__" {
            continue;
        }
        if !info.labels.contains(&m.name) {
            let list: Vec<&str> = info.labels.iter().map(String::as_str).collect();
            out.push(Problem {
                message: format!("metric `{name}` has no label `{}`", m.name),
                help: format!("`{name}` has the labels: {}", list.join(", ")),
            });
            continue;
        }
        check_value(&name, m, cat, out);
    }
}

fn check_value(metric: &str, m: &Matcher, cat: &Catalog, out: &mut Vec<Problem>) {
    let Some(values) = cat.closed.get(&m.name) else { return };
    let list = || values.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
    match &m.op {
        MatchOp::Equal | MatchOp::NotEqual => {
            if !values.contains(&m.value) {
                out.push(Problem {
                    message: format!("label `{}` of `{metric}` has no value `{}`", m.name, m.value),
                    help: format!("`{}` is a closed set: {}", m.name, list()),
                });
            }
        }
        MatchOp::Re(re) | MatchOp::NotRe(re) => {
            let anchored = regex::Regex::new(&format!("^(?:{})$", re.as_str()));
            let matches_any = match anchored {
                Ok(r) => values.iter().any(|v| r.is_match(v)),
                Err(_) => true,
            };
            if !matches_any {
                out.push(Problem {
                    message: format!(
                        "the regex `{}` on label `{}` of `{metric}` matches none of its values",
                        m.value, m.name
                    ),
                    help: format!("`{}` is a closed set: {}", m.name, list()),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn spec() -> Spec {
        let mut s = Spec::default();
        s.labels.push(LabelDef {
            name: "ok".into(),
            help: String::new(),
            kind: LabelKind::Closed,
            values: vec!["true".into(), "false".into()],
            none: None,
            max_values: None,
            renamed_from: None,
            deprecated: None,
            renamed_values: vec![],
            note: None,
            loc: Loc::default(),
        });
        s.labels.push(LabelDef {
            name: "tool".into(),
            help: String::new(),
            kind: LabelKind::Open,
            values: vec![],
            none: None,
            max_values: Some(10),
            renamed_from: None,
            deprecated: None,
            renamed_values: vec![],
            note: None,
            loc: Loc::default(),
        });
        s.metrics.push(Metric {
            name: "calls_total".into(),
            component: "c".into(),
            also_in: vec![],
            kind: MetricKind::Counter,
            unit: Unit::Count,
            help: String::new(),
            labels: vec!["ok".into(), "tool".into()],
            buckets: vec![],
            blueprint_name: None,
            exceptions: vec![],
            role: None,
            renamed_from: None,
            deprecated: None,
            note: None,
            loc: Loc::default(),
        });
        s.metrics.push(Metric {
            name: "call_duration_seconds".into(),
            component: "c".into(),
            also_in: vec![],
            kind: MetricKind::Histogram,
            unit: Unit::Seconds,
            help: String::new(),
            labels: vec!["tool".into()],
            buckets: vec![0.1, 1.0],
            blueprint_name: None,
            exceptions: vec![],
            role: None,
            renamed_from: None,
            deprecated: None,
            note: None,
            loc: Loc::default(),
        });
        s
    }

    #[test]
    fn accepts_valid_expressions() {
        let cat = Catalog::new(&spec());
        let e = r#"sum by (tool) (rate(calls_total{ok="false"}[5m])) / sum by (tool) (rate(calls_total[5m]))"#;
        assert_eq!(check(e, &cat), vec![]);
        let e = "histogram_quantile(0.99, sum by (le) (rate(call_duration_seconds_bucket[5m])))";
        assert_eq!(check(e, &cat), vec![]);
    }

    #[test]
    fn rejects_unknown_metric_label_and_value() {
        let cat = Catalog::new(&spec());
        let p = check("rate(nope_total[5m])", &cat);
        assert!(p[0].message.contains("unknown metric `nope_total`"), "{p:?}");
        let p = check(r#"calls_total{err="X"}"#, &cat);
        assert!(p[0].message.contains("has no label `err`"), "{p:?}");
        let p = check(r#"calls_total{ok="maybe"}"#, &cat);
        assert!(p[0].message.contains("has no value `maybe`"), "{p:?}");
        let p = check(r#"calls_total{ok=~"ye.*"}"#, &cat);
        assert!(p[0].message.contains("matches none"), "{p:?}");
        let p = check("sum by (tenant) (calls_total)", &cat);
        assert!(p[0].message.contains("grouping by label `tenant`"), "{p:?}");
        let p = check("calls_total{le=\"1\"}", &cat);
        assert!(p[0].message.contains("has no label `le`"), "{p:?}");
    }

    #[test]
    fn reports_parse_errors() {
        let cat = Catalog::new(&spec());
        let p = check("sum(rate(calls_total[5m])", &cat);
        assert!(p[0].message.starts_with("PromQL does not parse"), "{p:?}");
    }
}
