//! Checks of the `metrics` section: names, domain prefixes, suffixes, labels, buckets, cardinality.

use std::collections::BTreeSet;

use super::Cx;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("metric", spec.metrics.iter().map(|m| (m.name.as_str(), m.loc.key("name"))));
    for (m, loc) in spec.metrics.iter().map(|x| (x, &x.loc)) {
        let name_loc = loc.key("name");
        if !names::is_metric_name(&m.name) {
            cx.err(
                &name_loc,
                format!("`{}` is not a valid Prometheus metric name", m.name),
                "use `[a-zA-Z_][a-zA-Z0-9_]*` (colons are reserved for recording rules)",
            );
        }
        cx.component_known(&m.component, &loc.key("component"));
        if let Some(c) = spec.components.iter().find(|c| c.name == m.component)
            && !c.domains.iter().any(|d| m.name.starts_with(&format!("{d}_")))
        {
            cx.err(
                &name_loc,
                format!("metric `{}` does not start with a domain prefix of `{}`", m.name, c.name),
                format!("prefix it with one of: {}", c.domains.join(", ")),
            );
        }
        let exempt = |r: NamingRule| m.exceptions.iter().any(|e| e.rule == r);
        if m.kind == MetricKind::Counter && !m.name.ends_with("_total") && !exempt(NamingRule::CounterTotal) {
            let fix = format!("{}_total", m.name.trim_end_matches("_count"));
            cx.err(&name_loc, format!("counter `{}` does not end in `_total`", m.name), format!("rename it to `{fix}` (keep the old name in `blueprint_name`), or add an exception `counter_total` with a reason"));
        }
        if m.kind != MetricKind::Counter && m.name.ends_with("_total") {
            cx.err(
                &name_loc,
                format!("`{}` ends in `_total` but is a {:?}", m.name, m.kind),
                "only counters end in `_total`; rename it",
            );
        }
        if !exempt(NamingRule::UnitSuffix)
            && let Some(problem) = names::unit_suffix_problem(&m.name, m.unit)
        {
            cx.err(&name_loc, problem.0, problem.1);
        }
        let mut seen = BTreeSet::new();
        for (i, l) in m.labels.iter().enumerate() {
            if !seen.insert(l) {
                cx.err(&loc.key("labels").index(i), format!("label `{l}` is listed twice"), "remove the duplicate");
            } else if !spec.labels.iter().any(|d| &d.name == l) {
                let known: Vec<&str> = spec.labels.iter().map(|d| d.name.as_str()).collect();
                cx.err(
                    &loc.key("labels").index(i),
                    format!("unknown label `{l}`"),
                    format!("define it under `labels:`, or use one of: {}", known.join(", ")),
                );
            }
        }
        match m.kind {
            MetricKind::Histogram => {
                if m.buckets.is_empty() {
                    cx.err_key(
                        &loc.key("kind"),
                        format!("histogram `{}` has no buckets", m.name),
                        "list its bucket upper bounds under `buckets:`, in the metric's unit",
                    );
                } else if !m.buckets.windows(2).all(|w| w[0] < w[1])
                    || m.buckets.iter().any(|b| !b.is_finite() || *b <= 0.0)
                {
                    cx.err(
                        &loc.key("buckets"),
                        "buckets must be positive, finite and strictly increasing",
                        "sort the bounds and remove duplicates",
                    );
                }
            }
            MetricKind::Counter | MetricKind::Gauge => {
                if !m.buckets.is_empty() {
                    cx.err_key(
                        &loc.key("buckets"),
                        format!("`{}` is not a histogram but has buckets", m.name),
                        "remove `buckets`, or make it a histogram",
                    );
                }
            }
        }
        if let Some(series) = names::worst_case_series(spec, m)
            && spec.project.cardinality_budget > 0
            && series > spec.project.cardinality_budget
        {
            cx.err(&name_loc, format!("`{}` may have {series} series, over the budget of {}", m.name, spec.project.cardinality_budget), "drop a label, lower an open label's `max_values`, use fewer buckets, or raise `project.cardinality_budget` with a reason");
        }
    }
}
