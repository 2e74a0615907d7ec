//! Checks of the `components` section: names, metrics paths, targets, routes, trail kinds.

use std::collections::BTreeSet;

use super::Cx;
use crate::names;

/// The largest `max_body_bytes` a component may declare (1 GiB).
const MAX_BODY_BYTES: u64 = 1 << 30;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("component", spec.components.iter().map(|c| (c.name.as_str(), c.loc.key("name"))));
    let kinds: BTreeSet<&str> = spec.trails.kinds.iter().map(|k| k.kind.as_str()).collect();
    for (c, loc) in spec.components.iter().map(|x| (x, &x.loc)) {
        if !names::is_snake(&c.name) {
            cx.err(
                &loc.key("name"),
                format!("component name `{}` is not lower snake case", c.name),
                "use letters, digits and `_`, starting with a letter",
            );
        }
        if !c.metrics_path.starts_with('/') {
            cx.err(&loc.key("metrics_path"), "a metrics path must start with `/`", "write `/metrics`");
        }
        if c.max_body_bytes == 0 || c.max_body_bytes > MAX_BODY_BYTES {
            cx.err(
                &loc.key("max_body_bytes"),
                format!("max_body_bytes {} is outside [1, {MAX_BODY_BYTES}]", c.max_body_bytes),
                "bodies are limited so no client can exhaust memory: pick a bound up to 1 GiB",
            );
        }
        if c.targets.is_empty() {
            cx.err_key(
                &loc.key("targets"),
                format!("component `{}` has no scrape target", c.name),
                "add `host:port` targets Prometheus can scrape",
            );
        }
        for (i, r) in c.routes.iter().enumerate() {
            if !r.starts_with('/') {
                cx.err(
                    &loc.key("routes").index(i),
                    format!("route `{r}` is not a path template"),
                    "route templates start with `/`, with `:name` for parameters",
                );
            }
        }
        for (i, k) in c.trails.iter().enumerate() {
            if !kinds.contains(k.as_str()) {
                cx.err(
                    &loc.key("trails").index(i),
                    format!("unknown trail kind `{k}`"),
                    "declare it under `trails.kinds` or remove it",
                );
            }
        }
        for (i, e) in c.endpoints.iter().enumerate() {
            if let Some(k) = &e.audit
                && !kinds.contains(k.as_str())
            {
                cx.err(
                    &loc.key("endpoints").index(i).key("audit"),
                    format!("unknown trail kind `{k}`"),
                    "declare it under `trails.kinds`",
                );
            }
        }
    }
}
