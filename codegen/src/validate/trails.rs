//! Checks of the `trails` section: key order, retention, kinds and their data fields.

use super::Cx;
use crate::load::Loc;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let t = &cx.spec.trails;
    let loc = cx.spec.trails.loc.clone();
    let order: Vec<(&str, Loc)> =
        t.key_order.iter().enumerate().map(|(i, k)| (k.as_str(), loc.key("key_order").index(i))).collect();
    cx.unique("key", order);
    for required in ["id", "ts", "kind", "data", "meta", "sig"] {
        if !t.key_order.iter().any(|k| k == required) {
            cx.err(
                &loc.key("key_order"),
                format!("the key order lacks `{required}`"),
                "§3.1 orders `id, ts, kind, scope, actor, refs, data, meta, sig`",
            );
        }
    }
    if let Some(r) = &t.retention
        && !(r.min_days <= r.default_days && r.default_days <= r.max_days)
    {
        cx.err(
            &loc.key("retention"),
            "trail retention needs min_days ≤ default_days ≤ max_days",
            "§3.3 allows 7–90 days",
        );
    }
    cx.unique(
        "trail kind",
        t.kinds.iter().enumerate().map(|(i, k)| (k.kind.as_str(), loc.key("kinds").index(i).key("kind"))),
    );
    let forbidden = &cx.spec.logs.forbidden;
    for (i, k) in t.kinds.iter().enumerate() {
        let kloc = loc.key("kinds").index(i);
        if !names::is_trail_kind(&k.kind) {
            cx.err(
                &kloc.key("kind"),
                format!("trail kind `{}` is not `domain.name`", k.kind),
                "use lower snake case words joined by one dot, e.g. `office.tool_call`",
            );
        }
        cx.unique(
            "data field",
            k.data.iter().enumerate().map(|(j, f)| (f.name.as_str(), kloc.key("data").index(j).key("name"))),
        );
        for (j, f) in k.data.iter().enumerate() {
            let floc = kloc.key("data").index(j);
            if !names::is_snake(&f.name) {
                cx.err(
                    &floc.key("name"),
                    format!("data field `{}` is not lower snake case", f.name),
                    "use letters, digits and `_`",
                );
            }
            if let Some(bad) = names::forbidden_match(&f.name, forbidden) {
                cx.err(
                    &floc.key("name"),
                    format!("trail data field `{}` is a forbidden name (`{bad}`)", f.name),
                    "trails carry IDs, enums and counters only (§3.2): rename it to say what it counts or identifies",
                );
            }
            if f.ty == TrailFieldType::Text {
                cx.err(&floc.key("type"), format!("trail data field `{}` is typed as free text", f.name), "use `id`, `id_list`, `name`, `enum`, `counter`, `bits`, `bool` or `error_token` (§3.2: never free text)");
            }
            if (f.ty == TrailFieldType::Enum) == f.values.is_empty() {
                cx.err_key(
                    &floc.key("type"),
                    "`values` goes with `type: enum`, and only with it",
                    "list the enum's values, or remove `values`",
                );
            }
        }
    }
}
