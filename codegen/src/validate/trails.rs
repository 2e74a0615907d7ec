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
    key_order(cx, &loc);
    if t.stream_key != STREAM_KEY {
        cx.err(
            &loc.key("stream_key"),
            format!("the trail runtime keys streams on `scope.{STREAM_KEY}`, not `scope.{}`", t.stream_key),
            format!(
                "set `stream_key: {STREAM_KEY}` (obspec-trail binds each chain to `scope.{STREAM_KEY}` and the day)"
            ),
        );
    }
    if let Some(r) = &t.retention
        && !(r.min_days <= r.default_days && r.default_days <= r.max_days)
    {
        cx.err(
            &loc.key("retention"),
            "trail retention needs min_days ≤ default_days ≤ max_days",
            "order the three figures, e.g. `{ min_days: 7, max_days: 90, default_days: 30 }`",
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
                    "trails carry IDs, enums and counters only: rename it to say what it counts or identifies",
                );
            }
            if f.ty == TrailFieldType::Text {
                cx.err(
                    &floc.key("type"),
                    format!("trail data field `{}` is typed as free text", f.name),
                    "use `id`, `id_list`, `name`, `enum`, `counter`, `bits`, `bool` or `error_token` (never free text)",
                );
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

/// The top-level key order the trail runtime writes records in
/// (`obspec_trail::canonical::BLUEPRINT_KEY_ORDER`, used by the runtime's writer).
pub const RUNTIME_KEY_ORDER: [&str; 9] = ["id", "ts", "kind", "scope", "actor", "refs", "data", "meta", "sig"];

/// Keys every record of the runtime has: the trail crate's reserved keys
/// (`obspec_trail::canonical::RESERVED_KEYS`) and `data`, which the runtime's
/// trail service always writes.
pub const REQUIRED_KEYS: [&str; 7] = ["id", "ts", "kind", "scope", "data", "meta", "sig"];

/// The `scope` field the trail runtime keys streams on (`obspec_trail::chain`).
pub const STREAM_KEY: &str = "tenant";

/// The key order must be one the runtime's records serialise to: the runtime's
/// order with only keys no record carries left out, so every required key is
/// there, nothing else is, and the relative order is the runtime's.
fn key_order(cx: &mut Cx<'_>, loc: &Loc) {
    let order = &cx.spec.trails.key_order;
    let runtime = RUNTIME_KEY_ORDER.join(", ");
    for required in REQUIRED_KEYS {
        if !order.iter().any(|k| k == required) {
            cx.err(
                &loc.key("key_order"),
                format!("the key order lacks `{required}`"),
                format!("every trail record carries it; the runtime orders keys `{runtime}`"),
            );
        }
    }
    let mut last: Option<(usize, &str)> = None;
    for (i, k) in order.iter().enumerate() {
        let kloc = loc.key("key_order").index(i);
        let Some(pos) = RUNTIME_KEY_ORDER.iter().position(|r| r == k) else {
            cx.err(
                &kloc,
                format!("the trail runtime writes no top-level key `{k}`"),
                format!("use keys of `{runtime}` only"),
            );
            continue;
        };
        if let Some((before, prev)) = last
            && pos < before
        {
            cx.err(
                &kloc,
                format!("`{k}` comes after `{prev}`, but the trail runtime writes it before"),
                format!("keep the runtime's relative order: `{runtime}`"),
            );
            continue;
        }
        last = Some((pos, k.as_str()));
    }
}
