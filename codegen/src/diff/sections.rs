//! The comparisons, one function per spec section, in spec order.

use std::collections::BTreeSet;

use super::consumers::{Consumers, label_emitters, metric_emitters};
use super::{Change, Class};
use crate::lower::Lowered;
use crate::model::*;
use crate::names::fmt_float;

pub(super) struct Cx<'a> {
    pub old: &'a Spec,
    pub new: &'a Spec,
    pub old_uses: Consumers,
    pub new_uses: Consumers,
    pub old_low: &'a Lowered,
    pub new_low: &'a Lowered,
    pub today: &'a str,
    pub out: Vec<Change>,
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

impl Cx<'_> {
    fn push(&mut self, path: String, class: Class, reason: String, downstream: Vec<String>) {
        let downstream = self.transitive(downstream);
        self.out.push(Change { path, class, reason, downstream, recorded: None });
    }

    fn push_recorded(&mut self, path: String, reason: String, downstream: Vec<String>, recorded: Option<String>) {
        let downstream = self.transitive(downstream);
        self.out.push(Change { path, class: Class::Breaking, reason, downstream, recorded });
    }

    /// Adds what reads an SLO's recording rules (its alerts, the dashboards
    /// showing it) after each recording rule group listed, without repeats.
    fn transitive(&self, downstream: Vec<String>) -> Vec<String> {
        let mut out = Vec::new();
        for d in downstream {
            let slo = d.strip_prefix("recording rules slo-recording-").map(str::to_owned);
            out.push(d);
            if let Some(name) = slo {
                let (low, spec) = if self.old_low.slos.iter().any(|s| s.name == name) {
                    (self.old_low, self.old)
                } else {
                    (self.new_low, self.new)
                };
                out.extend(slo_down(&name, low, spec).into_iter().skip(1).filter(|x| x != "promtool tests"));
            }
        }
        dedup(out)
    }

    /// Baseline PromQL or selector text with the current spec's declared
    /// renames applied, so a query that only follows a rename is no change.
    fn renamed(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (m, old) in crate::rename::renamed(self.new) {
            if let Ok(re) = regex::Regex::new(&format!(r"\b{}(_bucket|_count|_sum)?\b", regex::escape(old))) {
                out = re.replace_all(&out, format!("{}$1", m.name).as_str()).into_owned();
            }
        }
        out
    }

    /// What reads metric `m` of the baseline: PromQL consumers, then emitters.
    fn metric_down(&self, m: &Metric) -> Vec<String> {
        let mut d = self.old_uses.of_metric(m);
        d.extend(metric_emitters(self.old, m));
        d
    }
}

pub(super) fn run(mut cx: Cx<'_>) -> Vec<Change> {
    components(&mut cx);
    metrics(&mut cx);
    labels(&mut cx);
    tokens(&mut cx);
    logs(&mut cx);
    trails(&mut cx);
    slos(&mut cx);
    alerts(&mut cx);
    dashboards(&mut cx);
    flags(&mut cx);
    project(&mut cx);
    environments(&mut cx);
    ladders(&mut cx);
    cx.out
}

fn components(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    let scrape = |name: &str| vec![format!("scrape job {name} (prometheus.yml)")];
    for o in &old.components {
        let path = format!("components[{}]", o.name);
        let Some(n) = new.components.iter().find(|n| n.name == o.name) else {
            cx.push(
                path,
                Class::Breaking,
                format!("component `{}` removed: its scrape job and series end", o.name),
                scrape(&o.name),
            );
            continue;
        };
        if o.exposition != n.exposition {
            cx.push(
                format!("{path}.exposition"),
                Class::Breaking,
                format!(
                    "exposition {:?} -> {:?}: its metrics reach Prometheus another way",
                    o.exposition, n.exposition
                ),
                scrape(&o.name),
            );
        }
        // A route is a value of the `route` label and log field.
        for r in o.routes.iter().filter(|r| !n.routes.contains(r)) {
            let mut d = Vec::new();
            for m in old.metrics.iter().filter(|m| m.labels.iter().any(|l| l == "route")) {
                d.extend(cx.old_uses.of_value(m, "route", r));
            }
            d.push("generated/src/lib.rs routes".to_owned());
            cx.push(
                format!("{path}.routes[{r}]"),
                Class::Breaking,
                format!("route `{r}` removed: queries and sampling overrides naming it match nothing"),
                d,
            );
        }
        for r in n.routes.iter().filter(|r| !o.routes.contains(r)) {
            cx.push(
                format!("{path}.routes[{r}]"),
                Class::Compatible,
                format!("route `{r}` added"),
                vec!["generated/src/lib.rs routes".to_owned()],
            );
        }
        for t in o.trails.iter().filter(|t| !n.trails.contains(t)) {
            cx.push(
                format!("{path}.trails[{t}]"),
                Class::Breaking,
                format!("no longer emits trail kind `{t}`"),
                trail_down(t),
            );
        }
        if o.targets != n.targets || o.metrics_path != n.metrics_path {
            cx.push(
                format!("{path}.targets"),
                Class::Compatible,
                "scrape targets or path changed".to_owned(),
                scrape(&o.name),
            );
        }
        if o.max_body_bytes > n.max_body_bytes {
            cx.push(
                format!("{path}.max_body_bytes"),
                Class::Breaking,
                format!(
                    "body limit {} -> {} bytes: larger requests now get payload_too_large",
                    o.max_body_bytes, n.max_body_bytes
                ),
                vec!["generated/src/lib.rs components".to_owned()],
            );
        } else if o.max_body_bytes < n.max_body_bytes {
            cx.push(
                format!("{path}.max_body_bytes"),
                Class::Compatible,
                format!("body limit {} -> {} bytes", o.max_body_bytes, n.max_body_bytes),
                vec!["generated/src/lib.rs components".to_owned()],
            );
        }
        if o.title != n.title || o.note != n.note {
            cx.push(
                format!("{path}.title"),
                Class::Cosmetic,
                "title or note changed".to_owned(),
                vec!["catalogue".to_owned()],
            );
        }
    }
    for n in new.components.iter().filter(|n| !old.components.iter().any(|o| o.name == n.name)) {
        cx.push(format!("components[{}]", n.name), Class::Compatible, "new component".to_owned(), scrape(&n.name));
    }
}

fn metrics(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    for n in &new.metrics {
        let path = format!("metrics[{}]", n.name);
        let same = old.metrics.iter().find(|o| o.name == n.name);
        let renamed = n.renamed_from.as_deref().and_then(|r| old.metrics.iter().find(|o| o.name == r));
        match (same, renamed) {
            (Some(o), _) => metric_fields(cx, o, n, &path),
            (None, Some(o)) => {
                let mut d = cx.metric_down(o);
                d.extend(crate::rename::series(&n.name, n.kind).iter().map(|s| format!("alias rule {s}")));
                cx.push(
                    path.clone(),
                    Class::Compatible,
                    format!(
                        "renamed from `{}` with `renamed_from`: alias rules serve both names until {}",
                        o.name,
                        n.deprecated.as_deref().unwrap_or("?")
                    ),
                    d,
                );
                metric_fields(cx, o, n, &path);
            }
            (None, None) => {
                let mut d = cx.new_uses.of_metric(n);
                d.extend(metric_emitters(new, n));
                cx.push(path, Class::Compatible, "new metric".to_owned(), d);
            }
        }
    }
    for o in &old.metrics {
        if new.metrics.iter().any(|n| n.name == o.name || n.renamed_from.as_deref() == Some(o.name.as_str())) {
            continue;
        }
        let path = format!("metrics[{}]", o.name);
        let twin = new.metrics.iter().find(|n| {
            !old.metrics.iter().any(|x| x.name == n.name)
                && n.renamed_from.is_none()
                && n.kind == o.kind
                && n.unit == o.unit
                && n.labels == o.labels
        });
        let reason = match twin {
            Some(t) => format!(
                "metric removed: every query naming `{}` returns nothing (`{}` was added with the same kind, unit and labels: if it is a rename, declare `renamed_from: {}` and `deprecated: YYYY-MM-DD` on it)",
                o.name, t.name, o.name
            ),
            None => format!("metric removed: every query naming `{}` returns nothing", o.name),
        };
        let d = cx.metric_down(o);
        cx.push(path, Class::Breaking, reason, d);
    }
    // Aliases dropped: a baseline `renamed_from` the current spec no longer has.
    for o in old.metrics.iter().filter(|o| o.renamed_from.is_some()) {
        let Some(n) = new.metrics.iter().find(|n| n.name == o.name) else { continue };
        let (Some(old_name), None) = (&o.renamed_from, &n.renamed_from) else { continue };
        let path = format!("metrics[{}].renamed_from", o.name);
        let ended = o.deprecated.as_deref().is_some_and(|d| d < cx.today);
        let down: Vec<String> =
            crate::rename::series(old_name, o.kind).iter().map(|s| format!("alias rule {s}")).collect();
        if ended {
            cx.push(
                path,
                Class::Compatible,
                format!(
                    "alias `{old_name}` dropped after its deprecation ended ({})",
                    o.deprecated.as_deref().unwrap_or("")
                ),
                down,
            );
        } else {
            cx.push(
                path,
                Class::Breaking,
                format!(
                    "alias `{old_name}` dropped before its deprecation ends ({}): queries naming it return nothing",
                    o.deprecated.as_deref().unwrap_or("no date")
                ),
                down,
            );
        }
    }
}

fn metric_fields(cx: &mut Cx<'_>, o: &Metric, n: &Metric, path: &str) {
    if o.kind != n.kind {
        let d = cx.metric_down(o);
        cx.push(
            format!("{path}.kind"),
            Class::Breaking,
            format!("kind {:?} -> {:?}: its series and functions change", o.kind, n.kind),
            d,
        );
    }
    if o.unit != n.unit {
        let d = cx.metric_down(o);
        cx.push(
            format!("{path}.unit"),
            Class::Breaking,
            format!("unit {:?} -> {:?}: every value and threshold changes scale", o.unit, n.unit),
            d,
        );
    }
    if o.component != n.component {
        let d = cx.metric_down(o);
        cx.push(
            format!("{path}.component"),
            Class::Breaking,
            format!("owner `{}` -> `{}`: its series move to another scrape job", o.component, n.component),
            d,
        );
    }
    if o.role != n.role {
        let d = metric_emitters(cx.old, o);
        cx.push(
            format!("{path}.role"),
            Class::Breaking,
            "runtime role changed: the runtime emits another metric under it".to_owned(),
            d,
        );
    }
    // A label renamed with `renamed_from` is reported once, under `labels[…]`.
    let renamed_to = |l: &str| n.labels.iter().any(|x| crate::rename::label_alias(cx.new, x) == Some(l));
    let renamed_from =
        |l: &str| crate::rename::label_alias(cx.new, l).is_some_and(|old| o.labels.iter().any(|x| x == old));
    for l in o.labels.iter().filter(|l| !n.labels.contains(l) && !renamed_to(l)) {
        let mut d = cx.old_uses.of_label(o, l);
        d.extend(metric_emitters(cx.old, o));
        cx.push(
            format!("{path}.labels[{l}]"),
            Class::Breaking,
            format!("label `{l}` removed: queries selecting or grouping by it break"),
            d,
        );
    }
    for l in n.labels.iter().filter(|l| !o.labels.contains(l) && !renamed_from(l)) {
        cx.push(
            format!("{path}.labels[{l}]"),
            Class::Compatible,
            format!("label `{l}` added: series split by it, aggregations unchanged"),
            metric_emitters(cx.new, n),
        );
    }
    let has = |v: &[f64], x: f64| v.iter().any(|y| crate::names::same_bucket(*y, x));
    let added: Vec<f64> = n.buckets.iter().copied().filter(|b| !has(&o.buckets, *b)).collect();
    for b in o.buckets.iter().copied().filter(|b| !has(&n.buckets, *b)) {
        let mut d = cx.old_uses.of_bucket(o, b);
        d.extend(metric_emitters(cx.old, o));
        let moved = if added.is_empty() {
            String::new()
        } else {
            format!(" (edges added: {})", added.iter().map(|x| fmt_float(*x)).collect::<Vec<_>>().join(", "))
        };
        cx.push(
            format!("{path}.buckets[{}]", fmt_float(b)),
            Class::Breaking,
            format!(
                "bucket edge {} removed{moved}: the `le=\"{}\"` series ends, so latency SLOs and quantiles at that edge break and long-term history is no longer comparable",
                fmt_float(b),
                fmt_float(b)
            ),
            d,
        );
    }
    for b in added {
        cx.push(
            format!("{path}.buckets[{}]", fmt_float(b)),
            Class::Compatible,
            format!("bucket edge {} added: existing edges unchanged", fmt_float(b)),
            metric_emitters(cx.new, n),
        );
    }
    for c in o.also_in.iter().filter(|c| !n.also_in.contains(c)) {
        let d = cx.metric_down(o);
        cx.push(format!("{path}.also_in[{c}]"), Class::Breaking, format!("component `{c}` no longer emits it"), d);
    }
    for c in n.also_in.iter().filter(|c| !o.also_in.contains(c)) {
        cx.push(
            format!("{path}.also_in[{c}]"),
            Class::Compatible,
            format!("component `{c}` also emits it"),
            metric_emitters(cx.new, n),
        );
    }
    if o.help != n.help {
        cx.push(format!("{path}.help"), Class::Cosmetic, "help text changed".to_owned(), metric_emitters(cx.new, n));
    }
    if o.note != n.note || o.blueprint_name != n.blueprint_name {
        cx.push(
            format!("{path}.note"),
            Class::Cosmetic,
            "note or blueprint name changed".to_owned(),
            vec!["catalogue".to_owned()],
        );
    }
    if let Some(old_name) =
        n.renamed_from.as_deref().filter(|r| o.name == n.name && o.renamed_from.as_deref() != Some(r))
    {
        cx.push(
            format!("{path}.renamed_from"),
            Class::Compatible,
            format!(
                "alias `{old_name}` added: the old name is served until {}",
                n.deprecated.as_deref().unwrap_or("?")
            ),
            crate::rename::series(old_name, n.kind).iter().map(|s| format!("alias rule {s}")).collect(),
        );
    }
    if o.renamed_from.is_some() && o.renamed_from == n.renamed_from && o.deprecated != n.deprecated {
        cx.push(
            format!("{path}.deprecated"),
            Class::Compatible,
            format!(
                "deprecation of `{}` now ends {}",
                n.renamed_from.as_deref().unwrap_or(""),
                n.deprecated.as_deref().unwrap_or("")
            ),
            vec!["catalogue".to_owned()],
        );
    }
}

fn labels(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    // What reads a value of a label: every baseline metric carrying it.
    let value_down = |cx: &Cx<'_>, label: &str, value: &str| {
        let mut d = Vec::new();
        for m in old.metrics.iter().filter(|m| m.labels.iter().any(|l| l == label)) {
            d.extend(cx.old_uses.of_value(m, label, value));
        }
        d.extend(label_emitters(old, label));
        d
    };
    for o in &old.labels {
        let path = format!("labels[{}]", o.name);
        let n = match new.labels.iter().find(|n| n.name == o.name) {
            Some(n) => n,
            None => match new.labels.iter().find(|n| n.renamed_from.as_deref() == Some(o.name.as_str())) {
                Some(n) => {
                    cx.push(
                        path.clone(),
                        Class::Compatible,
                        format!(
                            "renamed to `{}` with `renamed_from`: emitters write both names, same value, until {} (binaries built before the rename write only `{}` until redeployed)",
                            n.name,
                            n.deprecated.as_deref().unwrap_or("its deprecation day"),
                            o.name
                        ),
                        label_emitters(new, &n.name),
                    );
                    n
                }
                None => {
                    let d = label_emitters(old, &o.name);
                    cx.push(path, Class::Breaking, format!("label `{}` removed", o.name), d);
                    continue;
                }
            },
        };
        if let (Some(was), None, true) = (&o.renamed_from, &n.renamed_from, o.name == n.name) {
            let ended = o.deprecated.as_deref().is_some_and(|d| d < cx.today);
            let (class, why) = if ended {
                (Class::Compatible, "after its deprecation ended")
            } else {
                (Class::Breaking, "before its deprecation ends: queries on it return nothing")
            };
            cx.push(
                format!("{path}.renamed_from"),
                class,
                format!("old name `{was}` no longer written, {why} ({})", o.deprecated.as_deref().unwrap_or("no date")),
                label_emitters(old, &o.name),
            );
        }
        if o.kind != n.kind {
            let d = label_emitters(old, &o.name);
            cx.push(
                format!("{path}.kind"),
                Class::Breaking,
                format!("kind {:?} -> {:?}: its value set changes", o.kind, n.kind),
                d,
            );
        }
        if o.kind == LabelKind::Closed && n.kind == LabelKind::Closed {
            let renamed_to =
                |v: &str| n.renamed_values.iter().find(|r| r.renamed_from == v && n.values.contains(&r.value));
            for v in o.values.iter().filter(|v| !n.values.contains(v)) {
                let d = value_down(cx, &o.name, v);
                match renamed_to(v) {
                    Some(r) => cx.push(
                        format!("{path}.values[{v}]"),
                        Class::Compatible,
                        format!(
                            "value `{v}` of label `{}` renamed to `{}` with `renamed_values`: Prometheus stores it as `{v}` until {} (scrape relabelling) and generated queries match both",
                            o.name,
                            r.value,
                            r.deprecated.as_deref().unwrap_or("its deprecation day")
                        ),
                        d,
                    ),
                    None => cx.push(
                        format!("{path}.values[{v}]"),
                        Class::Breaking,
                        format!("value `{v}` of label `{}` removed: it is no longer emitted, so queries matching it return nothing", o.name),
                        d,
                    ),
                }
            }
            // A value rename dropped: Prometheus stores the new value from the reload on.
            for r in
                o.renamed_values.iter().filter(|r| !n.renamed_values.iter().any(|x| x.renamed_from == r.renamed_from))
            {
                let ended = r.deprecated.as_deref().is_some_and(|d| d < cx.today);
                let (class, why) = if ended {
                    (Class::Compatible, "after its deprecation ended")
                } else {
                    (Class::Breaking, "before its deprecation ends")
                };
                let d = value_down(cx, &o.name, &r.value);
                cx.push(
                    format!("{path}.renamed_values[{}]", r.renamed_from),
                    class,
                    format!(
                        "old value `{}` no longer stored, {why} ({}): queries matching only `{}` return nothing from the reload on",
                        r.renamed_from,
                        r.deprecated.as_deref().unwrap_or("no date"),
                        r.renamed_from
                    ),
                    d,
                );
            }
            let is_rename =
                |v: &str| n.renamed_values.iter().any(|r| r.value == v && o.values.contains(&r.renamed_from));
            for v in n.values.iter().filter(|v| !o.values.contains(v) && !is_rename(v)) {
                cx.push(
                    format!("{path}.values[{v}]"),
                    Class::Compatible,
                    format!("value `{v}` of label `{}` added: more series, existing ones unchanged", o.name),
                    label_emitters(new, &n.name),
                );
            }
        }
        if o.none != n.none {
            let d = label_emitters(old, &o.name);
            cx.push(
                format!("{path}.none"),
                Class::Breaking,
                format!("the no-error value {:?} -> {:?}", o.none, n.none),
                d,
            );
        }
        match (o.max_values, n.max_values) {
            (Some(a), Some(b)) if b < a => {
                let d = label_emitters(old, &o.name);
                cx.push(
                    format!("{path}.max_values"),
                    Class::Breaking,
                    format!("bound {a} -> {b}: values that had series now fold into `other`"),
                    d,
                );
            }
            (Some(a), Some(b)) if b > a => cx.push(
                format!("{path}.max_values"),
                Class::Compatible,
                format!("bound {a} -> {b}: fewer values fold into `other`"),
                label_emitters(new, &n.name),
            ),
            _ => {}
        }
        if o.help != n.help {
            cx.push(
                format!("{path}.help"),
                Class::Cosmetic,
                "help text changed".to_owned(),
                vec!["catalogue".to_owned()],
            );
        }
    }
    let is_rename = |n: &LabelDef| n.renamed_from.as_deref().is_some_and(|r| old.labels.iter().any(|o| o.name == r));
    for n in new.labels.iter().filter(|n| !old.labels.iter().any(|o| o.name == n.name) && !is_rename(n)) {
        cx.push(format!("labels[{}]", n.name), Class::Compatible, "new label".to_owned(), label_emitters(new, &n.name));
    }
}

/// What reads an ErrorToken: the metrics whose `error_token` label holds it,
/// the generated vocabulary (Rust, TypeScript) and the clients.
fn token_down(cx: &Cx<'_>, spec: &Spec, token: &str) -> Vec<String> {
    let mut d = Vec::new();
    for l in spec.labels.iter().filter(|l| l.kind == LabelKind::ErrorToken) {
        for m in spec.metrics.iter().filter(|m| m.labels.contains(&l.name)) {
            d.extend(cx.old_uses.of_value(m, &l.name, token));
        }
    }
    d.push("emitter generated/src/lib.rs ErrorToken".to_owned());
    for c in spec.components.iter().filter(|c| c.exposition == Exposition::Otlp) {
        d.push(format!("emitter apps/{}/obs/otlp_client.ts", c.name));
    }
    d.push("clients of the error responses".to_owned());
    d
}

fn tokens(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    for o in &old.error_tokens {
        let path = format!("error_tokens[{}]", o.token);
        let Some(n) = new.error_tokens.iter().find(|n| n.token == o.token) else {
            let d = token_down(cx, old, &o.token);
            cx.push(
                path,
                Class::Breaking,
                format!("ErrorToken `{}` removed: clients and queries matching it break", o.token),
                d,
            );
            continue;
        };
        let d = token_down(cx, old, &o.token);
        if o.http_status != n.http_status {
            cx.push(
                format!("{path}.http_status"),
                Class::Breaking,
                format!(
                    "HTTP status {} -> {}: clients and status-code queries see another code",
                    o.http_status, n.http_status
                ),
                d.clone(),
            );
        }
        match (o.jsonrpc_code, n.jsonrpc_code) {
            (a, b) if a == b => {}
            (None, Some(b)) => cx.push(
                format!("{path}.jsonrpc_code"),
                Class::Compatible,
                format!("JSON-RPC code {b} added"),
                d.clone(),
            ),
            (a, b) => cx.push(
                format!("{path}.jsonrpc_code"),
                Class::Breaking,
                format!("JSON-RPC code {} -> {}: JSON-RPC clients see another code", fmt_opt(a), fmt_opt(b)),
                d.clone(),
            ),
        }
        if o.retryable != n.retryable {
            cx.push(
                format!("{path}.retryable"),
                Class::Breaking,
                format!("retryable {} -> {}: clients' retry decision changes", o.retryable, n.retryable),
                d.clone(),
            );
        }
        let rank = |r: RetryAfter| match r {
            RetryAfter::None => 0,
            RetryAfter::Optional => 1,
            RetryAfter::Required => 2,
        };
        if rank(n.retry_after) < rank(o.retry_after) {
            cx.push(
                format!("{path}.retry_after"),
                Class::Breaking,
                format!(
                    "retry_after {:?} -> {:?}: clients relying on `retry_after_ms` no longer get it",
                    o.retry_after, n.retry_after
                ),
                d.clone(),
            );
        } else if rank(n.retry_after) > rank(o.retry_after) {
            cx.push(
                format!("{path}.retry_after"),
                Class::Compatible,
                format!("retry_after {:?} -> {:?}", o.retry_after, n.retry_after),
                d.clone(),
            );
        }
        if o.fallback != n.fallback || o.role != n.role {
            cx.push(
                format!("{path}.role"),
                Class::Breaking,
                "fallback or runtime role changed: the runtime answers other situations with it".to_owned(),
                d.clone(),
            );
        }
        if o.help != n.help {
            cx.push(
                format!("{path}.help"),
                Class::Cosmetic,
                "help text changed".to_owned(),
                vec!["catalogue".to_owned()],
            );
        }
    }
    for n in new.error_tokens.iter().filter(|n| !old.error_tokens.iter().any(|o| o.token == n.token)) {
        let d = token_down(cx, new, &n.token);
        cx.push(format!("error_tokens[{}]", n.token), Class::Compatible, "new ErrorToken".to_owned(), d);
    }
}

fn fmt_opt(v: Option<i32>) -> String {
    v.map_or("none".to_owned(), |x| x.to_string())
}

const LOG_DOWN: [&str; 3] = ["emitter LogEvent derive (generated log schema)", "privacy scan", "live-check"];

fn logs(cx: &mut Cx<'_>) {
    let (o, n) = (&cx.old.logs, &cx.new.logs);
    let down = || LOG_DOWN.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    for f in &o.fields {
        let path = format!("logs.fields[{}]", f.name);
        match n.fields.iter().find(|x| x.name == f.name) {
            None => cx.push(
                path,
                Class::Breaking,
                format!("log field `{}` removed: log queries and parsers reading it break", f.name),
                down(),
            ),
            Some(x) => {
                if x.ty != f.ty {
                    cx.push(
                        format!("{path}.type"),
                        Class::Breaking,
                        format!("log field `{}` retyped {:?} -> {:?}", f.name, f.ty, x.ty),
                        down(),
                    );
                }
                if x.role != f.role {
                    cx.push(
                        format!("{path}.role"),
                        Class::Breaking,
                        format!("log field `{}` holds another runtime value", f.name),
                        down(),
                    );
                }
                if x.help != f.help {
                    cx.push(
                        format!("{path}.help"),
                        Class::Cosmetic,
                        "help text changed".to_owned(),
                        vec!["catalogue".to_owned()],
                    );
                }
            }
        }
    }
    for f in n.fields.iter().filter(|f| !o.fields.iter().any(|x| x.name == f.name)) {
        cx.push(
            format!("logs.fields[{}]", f.name),
            Class::Compatible,
            format!("log field `{}` added: readers ignore unknown fields", f.name),
            down(),
        );
    }
    for w in o.forbidden.iter().filter(|w| !n.forbidden.contains(w)) {
        cx.push(
            format!("logs.forbidden[{w}]"),
            Class::Breaking,
            format!("`{w}` no longer forbidden: the privacy scan stops rejecting it"),
            vec!["privacy scan".to_owned()],
        );
    }
    for w in n.forbidden.iter().filter(|w| !o.forbidden.contains(w)) {
        cx.push(
            format!("logs.forbidden[{w}]"),
            Class::Compatible,
            format!("`{w}` forbidden too"),
            vec!["privacy scan".to_owned()],
        );
    }
    let (so, sn) = (&o.sampling, &n.sampling);
    if sn.error < so.error {
        cx.push(
            "logs.sampling.error".to_owned(),
            Class::Breaking,
            format!(
                "error sampling {} -> {}: failed requests are no longer all logged",
                fmt_float(so.error),
                fmt_float(sn.error)
            ),
            down(),
        );
    }
    let rates = [
        ("success", so.success, sn.success),
        ("error", so.error, sn.error),
        ("spike", so.spike, sn.spike),
        ("max_override", so.max_override, sn.max_override),
    ];
    for (what, a, b) in rates {
        if a != b && !(what == "error" && b < a) {
            cx.push(
                format!("logs.sampling.{what}"),
                Class::Compatible,
                format!("sampling {what} {} -> {}: log volume changes", fmt_float(a), fmt_float(b)),
                down(),
            );
        }
    }
    if so.spike_flag != sn.spike_flag {
        cx.push(
            "logs.sampling.spike_flag".to_owned(),
            Class::Breaking,
            format!("spike mode moves from flag `{}` to `{}`", so.spike_flag, sn.spike_flag),
            down(),
        );
    }
    if o.retention_days != n.retention_days {
        let class = if n.retention_days < o.retention_days { Class::Breaking } else { Class::Compatible };
        cx.push(
            "logs.retention_days".to_owned(),
            class,
            format!("log retention {} -> {} days", o.retention_days, n.retention_days),
            vec!["retention.env (daily roll)".to_owned()],
        );
    }
    for d in o.destinations.iter().filter(|d| !n.destinations.iter().any(|x| x.kind == d.kind)) {
        cx.push(
            format!("logs.destinations[{}]", d.kind),
            Class::Breaking,
            format!("log destination `{}` removed", d.kind),
            down(),
        );
    }
    for d in n.destinations.iter().filter(|d| !o.destinations.iter().any(|x| x.kind == d.kind)) {
        cx.push(
            format!("logs.destinations[{}]", d.kind),
            Class::Compatible,
            format!("log destination `{}` added", d.kind),
            down(),
        );
    }
}

fn trail_down(kind: &str) -> Vec<String> {
    vec![
        format!("emitter TrailData derive for `{kind}`"),
        "generated/src/lib.rs trail kinds".to_owned(),
        "trail verifier (auditor bundles)".to_owned(),
        "live-check".to_owned(),
    ]
}

fn trails(cx: &mut Cx<'_>) {
    let (o, n) = (&cx.old.trails, &cx.new.trails);
    let bumped = (n.schema_version > o.schema_version)
        .then(|| format!("trails.schema_version {} -> {}", o.schema_version, n.schema_version));
    let need = |what: String| format!("{what}; a breaking trail change needs `trails.schema_version` raised");
    for k in &o.kinds {
        let path = format!("trails.kinds[{}]", k.kind);
        let Some(x) = n.kinds.iter().find(|x| x.kind == k.kind) else {
            cx.push_recorded(
                path,
                need(format!("trail kind `{}` removed", k.kind)),
                trail_down(&k.kind),
                bumped.clone(),
            );
            continue;
        };
        for f in &k.data {
            let fp = format!("{path}.data[{}]", f.name);
            match x.data.iter().find(|y| y.name == f.name) {
                None => cx.push_recorded(
                    fp,
                    need(format!("data field `{}` removed: records and readers of it break", f.name)),
                    trail_down(&k.kind),
                    bumped.clone(),
                ),
                Some(y) => {
                    if y.ty != f.ty {
                        cx.push_recorded(
                            format!("{fp}.type"),
                            need(format!("data field `{}` retyped {:?} -> {:?}", f.name, f.ty, y.ty)),
                            trail_down(&k.kind),
                            bumped.clone(),
                        );
                    }
                    for v in f.values.iter().filter(|v| !y.values.contains(v)) {
                        cx.push_recorded(
                            format!("{fp}.values[{v}]"),
                            need(format!("value `{v}` of `{}` removed", f.name)),
                            trail_down(&k.kind),
                            bumped.clone(),
                        );
                    }
                    for v in y.values.iter().filter(|v| !f.values.contains(v)) {
                        cx.push(
                            format!("{fp}.values[{v}]"),
                            Class::Compatible,
                            format!("value `{v}` of `{}` added", f.name),
                            trail_down(&k.kind),
                        );
                    }
                    if y.help != f.help {
                        cx.push(
                            format!("{fp}.help"),
                            Class::Cosmetic,
                            "help text changed".to_owned(),
                            vec!["catalogue".to_owned()],
                        );
                    }
                }
            }
        }
        for y in x.data.iter().filter(|y| !k.data.iter().any(|f| f.name == y.name)) {
            cx.push(
                format!("{path}.data[{}]", y.name),
                Class::Compatible,
                format!("data field `{}` added: existing records still verify", y.name),
                trail_down(&k.kind),
            );
        }
        if x.help != k.help {
            cx.push(
                format!("{path}.help"),
                Class::Cosmetic,
                "help text changed".to_owned(),
                vec!["catalogue".to_owned()],
            );
        }
    }
    for x in n.kinds.iter().filter(|x| !o.kinds.iter().any(|k| k.kind == x.kind)) {
        cx.push(
            format!("trails.kinds[{}]", x.kind),
            Class::Compatible,
            "new trail kind".to_owned(),
            trail_down(&x.kind),
        );
    }
    let verifier = vec!["trail writer".to_owned(), "trail verifier (auditor bundles)".to_owned()];
    if o.key_order != n.key_order {
        cx.push_recorded(
            "trails.key_order".to_owned(),
            need("canonical key order changed".to_owned()),
            verifier.clone(),
            bumped.clone(),
        );
    }
    if o.layout != n.layout || o.stream_key != n.stream_key {
        cx.push_recorded(
            "trails.layout".to_owned(),
            need("file layout or stream key changed".to_owned()),
            verifier.clone(),
            bumped.clone(),
        );
    }
    if n.schema_version < o.schema_version {
        cx.push(
            "trails.schema_version".to_owned(),
            Class::Breaking,
            "schema version lowered: new streams collide with old genesis hashes".to_owned(),
            verifier,
        );
    } else if let Some(b) = &bumped {
        cx.push(
            "trails.schema_version".to_owned(),
            Class::Compatible,
            format!("{b}: new streams start from the new version's genesis; the verifier reads both"),
            verifier,
        );
    }
}

fn slo_down(name: &str, low: &Lowered, spec: &Spec) -> Vec<String> {
    let mut d = vec![format!("recording rules slo-recording-{name}")];
    if let Some(s) = low.slos.iter().find(|s| s.name == name) {
        d.extend(s.alerts.iter().map(|a| format!("alert {}", a.name)));
    }
    for db in &spec.dashboards {
        if db.slo_rows
            || db
                .rows
                .iter()
                .flat_map(|r| &r.panels)
                .flat_map(|p| &p.thresholds)
                .any(|t| t.slo.as_deref() == Some(name))
        {
            d.push(format!("dashboard {}", db.file));
        }
    }
    d.push("promtool tests".to_owned());
    d
}

fn slos(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    for o in &old.slos {
        let path = format!("slos[{}]", o.name);
        let d = slo_down(&o.name, cx.old_low, old);
        let Some(n) = new.slos.iter().find(|n| n.name == o.name) else {
            cx.push(path, Class::Breaking, "SLO removed: its alerts and recording rules are gone".to_owned(), d);
            continue;
        };
        if n.objective > o.objective {
            cx.push(
                format!("{path}.objective"),
                Class::Breaking,
                format!(
                    "objective tightened {} -> {}: the error budget shrinks from {} to {}, so budget remaining drops and burn-rate alerts fire at lower error ratios",
                    fmt_float(o.objective),
                    fmt_float(n.objective),
                    fmt_float(crate::names::round(1.0 - o.objective)),
                    fmt_float(crate::names::round(1.0 - n.objective))
                ),
                d.clone(),
            );
        } else if n.objective < o.objective {
            cx.push(
                format!("{path}.objective"),
                Class::Compatible,
                format!(
                    "objective loosened {} -> {}: the error budget grows",
                    fmt_float(o.objective),
                    fmt_float(n.objective)
                ),
                d.clone(),
            );
        }
        if n.period != o.period {
            cx.push(
                format!("{path}.period"),
                Class::Breaking,
                format!("period {} -> {}: budget and burn-rate factors recomputed", o.period, n.period),
                d.clone(),
            );
        }
        let sli = |s: &Slo| {
            format!(
                "{:?}{:?}",
                s.ratio.as_ref().map(|r| (&r.errors, &r.total)),
                s.latency.as_ref().map(|l| (&l.histogram, fmt_float(l.threshold)))
            )
        };
        if cx.renamed(&sli(o)) != sli(n) {
            cx.push(
                format!("{path}.sli"),
                Class::Breaking,
                "SLI redefined (selectors or latency threshold): the measured ratio changes meaning".to_owned(),
                d.clone(),
            );
        }
        if o.component != n.component {
            cx.push(
                format!("{path}.component"),
                Class::Breaking,
                format!("component `{}` -> `{}`: alert labels and routing change", o.component, n.component),
                d.clone(),
            );
        }
        if o.min_rate != n.min_rate {
            cx.push(
                format!("{path}.min_rate"),
                Class::Compatible,
                format!("traffic floor {} -> {}", fmt_float(o.min_rate), fmt_float(n.min_rate)),
                d.clone(),
            );
        }
        for t in BurnTier::ALL {
            match (o.tiers.enabled(t), n.tiers.enabled(t)) {
                (true, false) => cx.push(
                    format!("{path}.tiers.{}", t.as_str()),
                    Class::Breaking,
                    format!("burn-rate tier `{}` switched off: its alert is gone", t.as_str()),
                    d.clone(),
                ),
                (false, true) => cx.push(
                    format!("{path}.tiers.{}", t.as_str()),
                    Class::Compatible,
                    format!("burn-rate tier `{}` switched on", t.as_str()),
                    d.clone(),
                ),
                _ => {}
            }
        }
        if o.description != n.description {
            cx.push(
                format!("{path}.description"),
                Class::Cosmetic,
                "description changed".to_owned(),
                vec!["catalogue".to_owned()],
            );
        }
    }
    for n in new.slos.iter().filter(|n| !old.slos.iter().any(|o| o.name == n.name)) {
        let d = slo_down(&n.name, cx.new_low, new);
        cx.push(format!("slos[{}]", n.name), Class::Compatible, "new SLO".to_owned(), d);
    }
}

fn alerts(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    let down =
        |name: &str| vec![format!("alert {name}"), "alertmanager routing".to_owned(), "promtool tests".to_owned()];
    for o in &old.alerts {
        let path = format!("alerts[{}]", o.name);
        let Some(n) = new.alerts.iter().find(|n| n.name == o.name) else {
            cx.push(
                path,
                Class::Breaking,
                "alert removed: silences, routes and runbooks naming it go stale".to_owned(),
                down(&o.name),
            );
            continue;
        };
        if o.severity != n.severity {
            cx.push(
                format!("{path}.severity"),
                Class::Breaking,
                format!("severity {:?} -> {:?}: it is routed elsewhere", o.severity, n.severity),
                down(&o.name),
            );
        }
        if o.component != n.component {
            cx.push(
                format!("{path}.component"),
                Class::Breaking,
                "component label changed: routing and silences change".to_owned(),
                down(&o.name),
            );
        }
        if cx.renamed(&crate::lower::alert_expr(&o.rule)) != crate::lower::alert_expr(&n.rule) || o.for_ != n.for_ {
            cx.push(
                format!("{path}.rule"),
                Class::Compatible,
                "condition or `for` changed: it fires under other conditions".to_owned(),
                down(&o.name),
            );
        }
        if o.summary != n.summary || o.description != n.description {
            cx.push(
                format!("{path}.summary"),
                Class::Cosmetic,
                "summary or description changed".to_owned(),
                down(&o.name),
            );
        }
    }
    for n in new.alerts.iter().filter(|n| !old.alerts.iter().any(|o| o.name == n.name)) {
        cx.push(format!("alerts[{}]", n.name), Class::Compatible, "new alert".to_owned(), down(&n.name));
    }
}

fn dashboards(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    let down = |file: &str| vec![format!("dashboard {file}")];
    for o in &old.dashboards {
        let path = format!("dashboards[{}]", o.file);
        let Some(n) = new.dashboards.iter().find(|n| n.file == o.file) else {
            cx.push(path, Class::Breaking, "dashboard removed: links to its uid break".to_owned(), down(&o.file));
            continue;
        };
        for v in o.variables.iter().filter(|v| !n.variables.contains(v)) {
            cx.push(
                format!("{path}.variables[{v}]"),
                Class::Breaking,
                format!("variable `{v}` removed: saved links with `var-{v}` lose it"),
                down(&o.file),
            );
        }
        for v in n.variables.iter().filter(|v| !o.variables.contains(v)) {
            cx.push(
                format!("{path}.variables[{v}]"),
                Class::Compatible,
                format!("variable `{v}` added"),
                down(&o.file),
            );
        }
        let text = |d: &Dashboard| serde_json::to_string(&(&d.rows, d.slo_rows)).unwrap_or_default();
        if cx.renamed(&text(o)) != text(n) {
            cx.push(format!("{path}.rows"), Class::Compatible, "panels changed".to_owned(), down(&o.file));
        }
        if o.title != n.title || o.tags != n.tags || o.refresh != n.refresh || o.time_from != n.time_from {
            cx.push(
                format!("{path}.title"),
                Class::Cosmetic,
                "title, tags, refresh or time range changed".to_owned(),
                down(&o.file),
            );
        }
    }
    for n in new.dashboards.iter().filter(|n| !old.dashboards.iter().any(|o| o.file == n.file)) {
        cx.push(format!("dashboards[{}]", n.file), Class::Compatible, "new dashboard".to_owned(), down(&n.file));
    }
}

fn flags(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    let down = |spec: &Spec, name: &str| {
        vec![
            format!("flag env {}", crate::render::catalogue::flag_env(&spec.project.name, name)),
            "generated/src/lib.rs flags".to_owned(),
        ]
    };
    for o in &old.flags {
        let path = format!("flags[{}]", o.name);
        let d = down(old, &o.name);
        let Some(n) = new.flags.iter().find(|n| n.name == o.name) else {
            cx.push(path, Class::Breaking, "flag removed: deployments setting it are ignored".to_owned(), d);
            continue;
        };
        if o.ty != n.ty {
            cx.push(
                format!("{path}.type"),
                Class::Breaking,
                format!("type {:?} -> {:?}: set values may no longer parse", o.ty, n.ty),
                d.clone(),
            );
        }
        let narrowed = n.min.zip(o.min).is_some_and(|(a, b)| a > b) || n.max.zip(o.max).is_some_and(|(a, b)| a < b);
        let widened = n.min.zip(o.min).is_some_and(|(a, b)| a < b) || n.max.zip(o.max).is_some_and(|(a, b)| a > b);
        if narrowed {
            cx.push(
                format!("{path}.range"),
                Class::Breaking,
                "range narrowed: values set today may be rejected".to_owned(),
                d.clone(),
            );
        } else if widened {
            cx.push(format!("{path}.range"), Class::Compatible, "range widened".to_owned(), d.clone());
        }
        for v in o.values.iter().filter(|v| !n.values.contains(v)) {
            cx.push(
                format!("{path}.values[{v}]"),
                Class::Breaking,
                format!("value `{v}` removed: deployments setting it are rejected"),
                d.clone(),
            );
        }
        for v in n.values.iter().filter(|v| !o.values.contains(v)) {
            cx.push(format!("{path}.values[{v}]"), Class::Compatible, format!("value `{v}` added"), d.clone());
        }
        if o.default != n.default {
            cx.push(
                format!("{path}.default"),
                Class::Compatible,
                format!("default {} -> {}", o.default, n.default),
                d.clone(),
            );
        }
        if o.role != n.role {
            cx.push(format!("{path}.role"), Class::Breaking, "runtime role changed".to_owned(), d.clone());
        }
        if o.help != n.help {
            cx.push(
                format!("{path}.help"),
                Class::Cosmetic,
                "help text changed".to_owned(),
                vec!["catalogue".to_owned()],
            );
        }
    }
    for n in new.flags.iter().filter(|n| !old.flags.iter().any(|o| o.name == n.name)) {
        cx.push(format!("flags[{}]", n.name), Class::Compatible, "new flag".to_owned(), down(new, &n.name));
    }
}

/// Every leaf that differs between two serialisations, as `(path, old, new)`
/// (`path` is `.a.b`; arrays are compared whole, `null` stands for absent).
fn json_changes(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<(String, String, String)>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                json_changes(va, vb, &format!("{path}.{k}"), out);
            }
        }
        _ if a != b => out.push((path.to_owned(), a.to_string(), b.to_string())),
        _ => {}
    }
}

fn changes_of<T: serde::Serialize>(a: &T, b: &T) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let (Ok(a), Ok(b)) = (serde_json::to_value(a), serde_json::to_value(b)) else { return out };
    json_changes(&a, &b, "", &mut out);
    out
}

fn smaller(old: &str, new: &str) -> bool {
    matches!((old.parse::<f64>(), new.parse::<f64>()), (Ok(a), Ok(b)) if b < a)
}

fn project(cx: &mut Cx<'_>) {
    let (o, n) = (&cx.old.project, &cx.new.project);
    for (field, was, now) in changes_of(o, n) {
        let path = format!("project{field}");
        let (class, reason, down): (Class, String, Vec<String>) = match field.as_str() {
            ".name" => (
                Class::Breaking,
                format!(
                    "project name {was} -> {now}: every flag's environment variable and the generated identifiers change"
                ),
                vec!["flag environment variables".to_owned(), "emitter generated/src/lib.rs".to_owned()],
            ),
            ".id_max_len" if smaller(&was, &now) => (
                Class::Breaking,
                format!("ID bound {was} -> {now}: longer IDs that were logged and trailed are now rejected"),
                vec!["emitter generated/src/lib.rs LOG_SCHEMA".to_owned(), "trail writer".to_owned()],
            ),
            ".metrics_retention_days" if smaller(&was, &now) => (
                Class::Breaking,
                format!(
                    "retention {was} -> {now} days: older history is deleted, and windows longer than it read nothing"
                ),
                vec!["infra/observability/prometheus.flags".to_owned()],
            ),
            f if f.starts_with(".prometheus_operator.rule_labels") => (
                Class::Breaking,
                format!(
                    "PrometheusRule label {was} -> {now}: a Prometheus whose `ruleSelector` matched the old labels loads none of the rules"
                ),
                vec!["infra/observability/kubernetes".to_owned()],
            ),
            ".blueprint" => {
                (Class::Cosmetic, "source document reference changed".to_owned(), vec!["catalogue".to_owned()])
            }
            _ => (
                Class::Compatible,
                format!("{was} -> {now}: deployment setting, no series or query changes"),
                vec!["generated configuration".to_owned()],
            ),
        };
        cx.push(path, class, reason, down);
    }
}

fn environments(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    // Profiles are for local and test runs: nothing outside `infra/observability/<name>/` reads them.
    for o in &old.environments {
        let dir = format!("infra/observability/{}/", o.name);
        let Some(n) = new.environments.iter().find(|n| n.name == o.name) else {
            cx.push(
                format!("environments[{}]", o.name),
                Class::Compatible,
                "profile removed: only its generated directory goes".to_owned(),
                vec![dir],
            );
            continue;
        };
        for (field, was, now) in changes_of(o, n) {
            cx.push(
                format!("environments[{}]{field}", o.name),
                Class::Compatible,
                format!("{was} -> {now}: changes the profile's own files only"),
                vec![dir.clone()],
            );
        }
    }
    for n in new.environments.iter().filter(|n| !old.environments.iter().any(|o| o.name == n.name)) {
        cx.push(
            format!("environments[{}]", n.name),
            Class::Compatible,
            "new profile".to_owned(),
            vec![format!("infra/observability/{}/", n.name)],
        );
    }
}

fn ladders(cx: &mut Cx<'_>) {
    let (old, new) = (cx.old, cx.new);
    for o in &old.ladders {
        let code = vec![format!("emitter generated/src/lib.rs ladder `{}`", o.name)];
        let Some(n) = new.ladders.iter().find(|n| n.name == o.name) else {
            cx.push(
                format!("ladders[{}]", o.name),
                Class::Breaking,
                "ladder removed: service code using its generated table no longer compiles".to_owned(),
                code,
            );
            continue;
        };
        let names = |l: &Ladder| -> Vec<String> { l.steps.iter().map(|s| s.name.clone()).collect() };
        let (was, now) = (names(o), names(n));
        for step in was.iter().filter(|s| !now.contains(s)) {
            cx.push(
                format!("ladders[{}].steps[{step}]", o.name),
                Class::Breaking,
                format!(
                    "step `{step}` removed: it is no longer emitted as `{}`, so queries matching it return nothing",
                    o.label
                ),
                code.clone(),
            );
        }
        for step in now.iter().filter(|s| !was.contains(s)) {
            cx.push(
                format!("ladders[{}].steps[{step}]", o.name),
                Class::Compatible,
                format!("step `{step}` added"),
                code.clone(),
            );
        }
        for (field, a, b) in changes_of(o, n) {
            let (class, reason) = match field.as_str() {
                ".steps" => continue, // by name, above; an order or threshold change follows
                ".help" | ".note" => (Class::Cosmetic, "wording changed".to_owned()),
                ".metric" | ".label" => {
                    (Class::Breaking, format!("{a} -> {b}: degraded answers are counted under another series"))
                }
                _ => (Class::Compatible, format!("{a} -> {b}")),
            };
            cx.push(format!("ladders[{}]{field}", o.name), class, reason, code.clone());
        }
        if was == now && serde_json::to_value(&o.steps).ok() != serde_json::to_value(&n.steps).ok() {
            cx.push(
                format!("ladders[{}].steps", o.name),
                Class::Compatible,
                "step thresholds or order changed: the same steps, entered at other loads".to_owned(),
                code.clone(),
            );
        }
    }
    for n in new.ladders.iter().filter(|n| !old.ladders.iter().any(|o| o.name == n.name)) {
        cx.push(
            format!("ladders[{}]", n.name),
            Class::Compatible,
            "new ladder".to_owned(),
            vec![format!("emitter generated/src/lib.rs ladder `{}`", n.name)],
        );
    }
}
