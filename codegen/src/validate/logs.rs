//! Checks of the `logs` section: forbidden and free-text fields, sampling rates, overrides, retention.

use std::collections::BTreeSet;

use super::Cx;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let logs = &cx.spec.logs;
    let loc = cx.spec.logs.loc.clone();
    cx.unique(
        "log field",
        logs.fields.iter().enumerate().map(|(i, f)| (f.name.as_str(), loc.key("fields").index(i).key("name"))),
    );
    for (i, f) in logs.fields.iter().enumerate() {
        let floc = loc.key("fields").index(i);
        if let Some(bad) = names::forbidden_match(&f.name, &logs.forbidden) {
            cx.err(
                &floc.key("name"),
                format!("log field `{}` is a forbidden name (`{bad}`)", f.name),
                "server-blind logs never carry content: remove the field",
            );
        }
        if f.ty == LogFieldType::Text {
            cx.err(
                &floc.key("type"),
                format!("log field `{}` is typed as free text", f.name),
                "use an ID, name, enum or count type; free text is never logged",
            );
        }
    }
    let s = &logs.sampling;
    let sloc = loc.key("sampling");
    for (v, k) in [(s.success, "success"), (s.error, "error"), (s.spike, "spike"), (s.max_override, "max_override")] {
        if !(0.0..=1.0).contains(&v) {
            cx.err(
                &sloc.key(k),
                format!("sampling rate {v} is not between 0 and 1"),
                "write a fraction, e.g. 0.01 for 1%",
            );
        }
    }
    if s.spike > s.max_override {
        cx.err(&sloc.key("spike"), "the spike rate is above `max_override`", "lower `spike` or raise `max_override`");
    }
    if !cx.spec.flags.iter().any(|f| f.name == s.spike_flag) {
        cx.err(&sloc.key("spike_flag"), format!("unknown flag `{}`", s.spike_flag), "declare it under `flags:`");
    }
    let routes: BTreeSet<&str> = cx.spec.components.iter().flat_map(|c| c.routes.iter().map(String::as_str)).collect();
    for (i, o) in s.overrides.iter().enumerate() {
        let oloc = sloc.key("overrides").index(i);
        match (&o.route, &o.tool) {
            (Some(r), None) if !routes.contains(r.as_str()) => {
                cx.err(
                    &oloc.key("route"),
                    format!("unknown route template `{r}`"),
                    "use a route a component lists under `routes:`",
                );
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => cx.err(&oloc, "an override names exactly one of `route` or `tool`", "keep one of them"),
        }
        if o.success > s.max_override || o.success < 0.0 {
            cx.err(
                &oloc.key("success"),
                format!("override rate {} is outside 0..=max_override ({})", o.success, s.max_override),
                "lower it",
            );
        }
    }
    if logs.retention_days == 0 {
        cx.err(
            &loc.key("retention_days"),
            "log retention is 0 days",
            "set the days logs are kept, e.g. `retention_days: 30`",
        );
    }
}
