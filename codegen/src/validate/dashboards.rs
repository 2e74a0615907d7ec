//! Checks of the `dashboards` section: files, variables, panels, queries and thresholds.

use std::collections::BTreeSet;

use super::Cx;
use crate::model::*;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("dashboard file", spec.dashboards.iter().map(|d| (d.file.as_str(), d.loc.key("file"))));
    let slos: BTreeSet<&str> = spec.slos.iter().map(|s| s.name.as_str()).collect();
    for (d, loc) in spec.dashboards.iter().map(|x| (x, &x.loc)) {
        for (i, var) in d.variables.iter().enumerate() {
            match spec.labels.iter().find(|l| &l.name == var) {
                Some(l) if l.kind == LabelKind::Open => {}
                Some(_) => cx.err(
                    &loc.key("variables").index(i),
                    format!("`{var}` is a closed label"),
                    "template variables are for open labels (tenant, route, tool)",
                ),
                None => cx.err(
                    &loc.key("variables").index(i),
                    format!("unknown label `{var}`"),
                    "use an open label defined under `labels:`",
                ),
            }
        }
        for (ri, row) in d.rows.iter().enumerate() {
            for (pi, p) in row.panels.iter().enumerate() {
                let ploc = loc.key("rows").index(ri).key("panels").index(pi);
                if p.width == 0 || p.width > 24 {
                    cx.err(
                        &ploc.key("width"),
                        format!("panel width {} is outside 1..=24", p.width),
                        "Grafana's grid has 24 columns",
                    );
                }
                if p.height == 0 {
                    cx.err(&ploc.key("height"), "panel height is 0", "give it a height in grid rows, e.g. 8");
                }
                if p.unit.is_empty() {
                    cx.err(
                        &ploc.key("unit"),
                        "the panel has no unit",
                        "set a Grafana unit id (`s`, `percentunit`, `reqps`, `short`…)",
                    );
                }
                if p.queries.is_empty() {
                    cx.err_key(&ploc.key("title"), format!("panel `{}` has no query", p.title), "add a PromQL query");
                }
                for (qi, q) in p.queries.iter().enumerate() {
                    cx.promql(&q.expr, &ploc.key("queries").index(qi).key("expr"));
                }
                for (ti, t) in p.thresholds.iter().enumerate() {
                    let tloc = ploc.key("thresholds").index(ti);
                    match (&t.value, &t.slo) {
                        (Some(_), None) => {}
                        (None, Some(s)) if slos.contains(s.as_str()) => {}
                        (None, Some(s)) => {
                            cx.err(&tloc.key("slo"), format!("unknown SLO `{s}`"), "name an SLO under `slos:`")
                        }
                        _ => cx.err(&tloc, "a threshold has exactly one of `value` or `slo`", "keep one"),
                    }
                }
            }
        }
    }
}
