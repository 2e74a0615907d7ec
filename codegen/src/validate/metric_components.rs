//! Checks of `metrics[].also_in` (R41): a metric emitted by several
//! components names known components, each once and not its owner, and has
//! no `route` label (a route label is typed by its one component's routes).

use super::Cx;
use crate::render::rust::metrics::ROUTE_LABEL;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    for m in &spec.metrics {
        let loc = m.loc.key("also_in");
        for (i, c) in m.also_in.iter().enumerate() {
            let at = loc.index(i);
            cx.component_known(c, &at);
            if *c == m.component {
                cx.err(&at, format!("`{c}` owns `{}` already", m.name), "list only the other components");
            }
            if m.also_in[..i].contains(c) {
                cx.err(&at, format!("`{c}` is listed twice"), "list each component once");
            }
        }
        if !m.also_in.is_empty() && m.labels.iter().any(|l| l == ROUTE_LABEL) {
            cx.err(
                &loc,
                format!("`{}` has a `{ROUTE_LABEL}` label, typed by the routes of its one component", m.name),
                "declare one metric per component for per-route series",
            );
        }
    }
}
