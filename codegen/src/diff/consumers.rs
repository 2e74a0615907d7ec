//! What reads each metric series: every generated alert, recording rule group,
//! alias rule and dashboard panel of a spec, with the selectors of its PromQL.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr, VectorSelector};

use crate::lower::Lowered;
use crate::model::{LabelKind, Metric, Spec};
use crate::render::grafana;

/// One selector of an expression: its series name and matchers.
#[derive(Debug, Clone)]
struct Sel {
    name: String,
    matchers: Vec<Matcher>,
    /// Labels the expression groups by or joins on (`by (le)`, `on (slo)`).
    grouping: Vec<String>,
}

/// Every PromQL consumer of a spec's series.
#[derive(Debug, Clone, Default)]
pub struct Consumers {
    /// (artifact, selectors of its expressions), in output order.
    items: Vec<(String, Vec<Sel>)>,
}

fn selectors(expr: &str) -> Vec<Sel> {
    fn vs(v: &VectorSelector, grouping: &[String], out: &mut Vec<Sel>) {
        let name = v.name.clone().or_else(|| {
            v.matchers.matchers.iter().find(|m| m.name == "__name__" && m.op == MatchOp::Equal).map(|m| m.value.clone())
        });
        if let Some(name) = name {
            out.push(Sel { name, matchers: v.matchers.matchers.clone(), grouping: grouping.to_vec() });
        }
    }
    fn walk(e: &Expr, grouping: &mut Vec<String>, out: &mut Vec<Sel>) {
        match e {
            Expr::Aggregate(a) => {
                if let Some(m) = &a.modifier {
                    grouping.extend(m.labels().labels.iter().cloned());
                }
                walk(&a.expr, grouping, out);
                if let Some(p) = &a.param {
                    walk(p, grouping, out);
                }
            }
            Expr::Unary(u) => walk(&u.expr, grouping, out),
            Expr::Binary(b) => {
                if let Some(m) = b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                    grouping.extend(m.labels().labels.iter().cloned());
                }
                walk(&b.lhs, grouping, out);
                walk(&b.rhs, grouping, out);
            }
            Expr::Paren(p) => walk(&p.expr, grouping, out),
            Expr::Subquery(s) => walk(&s.expr, grouping, out),
            Expr::VectorSelector(v) => vs(v, grouping, out),
            Expr::MatrixSelector(m) => vs(&m.vs, grouping, out),
            Expr::Call(c) => {
                for a in &c.args.args {
                    walk(a, grouping, out);
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(e) = parser::parse(expr) {
        walk(&e, &mut Vec::new(), &mut out);
    }
    out
}

fn matches(m: &Matcher, value: &str) -> bool {
    let re = |p: &str| regex::Regex::new(&format!("^(?:{p})$")).is_ok_and(|r| r.is_match(value));
    match m.op {
        MatchOp::Equal => m.value == value,
        MatchOp::NotEqual => m.value != value,
        MatchOp::Re(_) => re(&m.value),
        MatchOp::NotRe(_) => !re(&m.value),
    }
}

impl Consumers {
    /// The consumers of a valid spec, from its lowered rules and rendered dashboards.
    pub fn of(spec: &Spec, lowered: &Lowered) -> Consumers {
        let mut items: Vec<(String, Vec<Sel>)> = Vec::new();
        let mut add = |what: String, expr: &str| {
            let sels = selectors(expr);
            match items.iter_mut().find(|(w, _)| *w == what) {
                Some((_, s)) => s.extend(sels),
                None => items.push((what, sels)),
            }
        };
        for slo in &lowered.slos {
            for r in slo.recording["rules"].as_array().into_iter().flatten() {
                add(format!("recording rules slo-recording-{}", slo.name), r["expr"].as_str().unwrap_or_default());
            }
        }
        for r in lowered.aliases.iter().flat_map(|g| g["rules"].as_array().into_iter().flatten()) {
            add(
                format!("alias rule {}", r["record"].as_str().unwrap_or_default()),
                r["expr"].as_str().unwrap_or_default(),
            );
        }
        for (_, rules) in lowered.alert_groups() {
            for a in rules {
                add(format!("alert {}", a.name), &a.expr);
            }
        }
        for d in &spec.dashboards {
            let json = grafana::dashboard(spec, d, &[]);
            for (panel, expr) in grafana::panel_exprs(&json) {
                add(format!("dashboard {} panel \"{panel}\"", d.file), &expr);
            }
        }
        Consumers { items }
    }

    /// Artifacts whose PromQL names a series of metric `m` (`name`, or a histogram's series).
    pub fn of_metric(&self, m: &Metric) -> Vec<String> {
        let series = crate::rename::series(&m.name, m.kind);
        self.filter(|s| s.name == m.name || series.contains(&s.name))
    }

    /// Artifacts reading metric `m` that select or group by `label`.
    pub fn of_label(&self, m: &Metric, label: &str) -> Vec<String> {
        let series = crate::rename::series(&m.name, m.kind);
        self.filter(|s| {
            (s.name == m.name || series.contains(&s.name))
                && (s.matchers.iter().any(|x| x.name == label) || s.grouping.iter().any(|g| g == label))
        })
    }

    /// Artifacts reading metric `m` whose matcher on `label` selects `value`
    /// (an equality, or a regex matching it; negative matchers do not count).
    pub fn of_value(&self, m: &Metric, label: &str, value: &str) -> Vec<String> {
        let series = crate::rename::series(&m.name, m.kind);
        self.filter(|s| {
            (s.name == m.name || series.contains(&s.name))
                && s.matchers
                    .iter()
                    .any(|x| x.name == label && matches!(x.op, MatchOp::Equal | MatchOp::Re(_)) && matches(x, value))
        })
    }

    /// Artifacts reading the `_bucket` series of histogram `m` at edge `le`,
    /// or computing quantiles over it.
    pub fn of_bucket(&self, m: &Metric, le: f64) -> Vec<String> {
        let bucket = format!("{}_bucket", m.name);
        let edge = crate::names::fmt_float(le);
        self.filter(|s| {
            s.name == bucket
                && (s.grouping.iter().any(|g| g == "le")
                    || s.matchers
                        .iter()
                        .any(|x| x.name == "le" && (matches(x, &edge) || matches(x, &format!("{edge}.0")))))
        })
    }

    /// Artifacts whose PromQL names any of `series`.
    pub fn of_series(&self, series: &[String]) -> Vec<String> {
        self.filter(|s| series.contains(&s.name))
    }

    fn filter(&self, f: impl Fn(&Sel) -> bool) -> Vec<String> {
        self.items.iter().filter(|(_, sels)| sels.iter().any(&f)).map(|(w, _)| w.clone()).collect()
    }
}

/// The emitters that write metric `m`: the generated Rust metric, and the
/// TypeScript emitter of each OTLP component that emits it.
pub fn metric_emitters(spec: &Spec, m: &Metric) -> Vec<String> {
    let mut out = vec![format!("emitter generated/src/lib.rs metric `{}`", m.name)];
    for c in &spec.components {
        if c.exposition == crate::model::Exposition::Otlp && m.emitted_by(&c.name) {
            out.push(format!("emitter apps/{}/obs/otlp_client.ts", c.name));
        }
    }
    out
}

/// The emitters of every metric carrying `label`, and the label's generated type.
pub fn label_emitters(spec: &Spec, label: &str) -> Vec<String> {
    let mut out = Vec::new();
    if spec.labels.iter().any(|l| l.name == label && l.kind == LabelKind::Closed) {
        out.push(format!("emitter generated/src/lib.rs label enum `{label}`"));
    }
    for m in spec.metrics.iter().filter(|m| m.labels.iter().any(|l| l == label)) {
        for e in metric_emitters(spec, m) {
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}
