//! Checks of the `labels` section: Prometheus label names, closed values, open bounds.

use super::Cx;
use crate::load::Loc;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("label", spec.labels.iter().map(|l| (l.name.as_str(), l.loc.key("name"))));
    for (l, loc) in spec.labels.iter().map(|x| (x, &x.loc)) {
        if !names::is_label_name(&l.name) {
            cx.err(
                &loc.key("name"),
                format!("`{}` is not a valid Prometheus label name", l.name),
                "use `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`",
            );
        } else if ["le", "job", "instance", "quantile"].contains(&l.name.as_str()) {
            cx.err(&loc.key("name"), format!("`{}` is reserved by Prometheus", l.name), "choose another label name");
        }
        match l.kind {
            LabelKind::Closed => {
                if l.values.is_empty() {
                    cx.err_key(
                        &loc.key("kind"),
                        format!("closed label `{}` lists no values", l.name),
                        "list its values under `values:`, or make it `open` with `max_values`",
                    );
                }
                let vals: Vec<(&str, Loc)> =
                    l.values.iter().enumerate().map(|(i, v)| (v.as_str(), loc.key("values").index(i))).collect();
                cx.unique("label value", vals);
            }
            LabelKind::Open => {
                if l.max_values.is_none_or(|m| m == 0) {
                    cx.err_key(
                        &loc.key("kind"),
                        format!("open label `{}` has no cardinality bound", l.name),
                        "set `max_values:` to the most distinct values kept before folding into `other`",
                    );
                }
            }
            LabelKind::ErrorToken => {}
        }
        if l.kind != LabelKind::Closed && !l.values.is_empty() {
            cx.err_key(&loc.key("values"), "`values` is only for closed labels", "remove it, or set `kind: closed`");
        }
        if l.kind != LabelKind::Open && l.max_values.is_some() {
            cx.err_key(
                &loc.key("max_values"),
                "`max_values` is only for open labels",
                "remove it, or set `kind: open`",
            );
        }
    }
}
