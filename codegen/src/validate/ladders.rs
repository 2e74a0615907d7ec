//! Checks of the `ladders` section (§4 degradation ladders): a known
//! component, steps by increasing load from 0 with shrinking limits, and a
//! counter of the component whose closed label holds exactly the degraded
//! steps' names.

use super::Cx;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("ladder", spec.ladders.iter().map(|l| (l.name.as_str(), l.loc.key("name"))));
    for l in &spec.ladders {
        let loc = &l.loc;
        if !names::is_snake(&l.name) {
            cx.err(&loc.key("name"), format!("ladder name `{}` is not snake case", l.name), "write e.g. `list_refs`");
        }
        cx.component_known(&l.component, &loc.key("component"));
        check_steps(cx, l);
        check_metric(cx, l);
        if let Some(first) = spec.ladders.first()
            && first.label != l.label
        {
            cx.err(
                &loc.key("label"),
                format!("ladder `{}` counts by `{}`, the first ladder by `{}`", l.name, l.label, first.label),
                "count every ladder by one closed label (the generated table has one step type)",
            );
        }
    }
}

fn check_steps(cx: &mut Cx<'_>, l: &Ladder) {
    let sloc = l.loc.key("steps");
    if l.steps.len() < 2 {
        cx.err(&sloc, "a ladder needs the normal step and at least one degraded step", "add a step");
        return;
    }
    cx.unique("ladder step", l.steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), sloc.index(i).key("name"))));
    for (i, s) in l.steps.iter().enumerate() {
        let at = sloc.index(i);
        if !names::is_snake(&s.name) {
            cx.err(&at.key("name"), format!("step name `{}` is not snake case", s.name), "write e.g. `reduced`");
        }
        if !(0.0..=1.0).contains(&s.from_load) {
            cx.err(&at.key("from_load"), "`from_load` is a share of the trigger, 0..=1", "write e.g. `0.5`");
        }
        if s.limit == 0 {
            cx.err(&at.key("limit"), "a step's limit must be at least 1", "write e.g. `10`");
        }
        if i == 0 && s.from_load != 0.0 {
            cx.err(&at.key("from_load"), "the first (normal) step applies from load 0", "write `from_load: 0`");
        }
        if let Some(prev) = i.checked_sub(1).map(|p| &l.steps[p]) {
            if s.from_load <= prev.from_load {
                cx.err(
                    &at.key("from_load"),
                    format!("step `{}` does not start above the load of `{}`", s.name, prev.name),
                    "list steps by increasing `from_load`",
                );
            }
            if s.limit >= prev.limit {
                cx.err(
                    &at.key("limit"),
                    format!("step `{}` does not return fewer items than `{}`", s.name, prev.name),
                    "each step past the first degrades: give it a smaller `limit`",
                );
            }
        }
    }
}

fn check_metric(cx: &mut Cx<'_>, l: &Ladder) {
    let spec = cx.spec;
    let mloc = l.loc.key("metric");
    let Some(m) = spec.metrics.iter().find(|m| m.name == l.metric) else {
        cx.err(&mloc, format!("unknown metric `{}`", l.metric), "declare the counter in `metrics`");
        return;
    };
    if m.kind != MetricKind::Counter {
        cx.err(&mloc, format!("`{}` is not a counter", l.metric), "count degraded answers with a counter");
    }
    if m.component != l.component {
        cx.err(
            &mloc,
            format!("`{}` belongs to `{}`, the ladder to `{}`", l.metric, m.component, l.component),
            "count the ladder in a metric of its own component",
        );
    }
    if !m.labels.contains(&l.label) {
        cx.err(&mloc, format!("`{}` has no label `{}`", l.metric, l.label), "add the step label to the metric");
    }
    let lloc = l.loc.key("label");
    match spec.labels.iter().find(|d| d.name == l.label) {
        Some(d) if d.kind == LabelKind::Closed => {
            let want: Vec<&str> = l.steps.iter().skip(1).map(|s| s.name.as_str()).collect();
            let got: Vec<&str> = d.values.iter().map(String::as_str).collect();
            if want != got {
                cx.err(
                    &lloc,
                    format!(
                        "label `{}` has values [{}], the ladder's degraded steps are [{}]",
                        l.label,
                        got.join(", "),
                        want.join(", ")
                    ),
                    "give the label exactly the degraded steps' names, in order",
                );
            }
        }
        Some(_) => {
            cx.err(&lloc, format!("label `{}` is not closed", l.label), "make it a closed label of the step names")
        }
        None => cx.err(&lloc, format!("unknown label `{}`", l.label), "declare it in `labels`"),
    }
}
