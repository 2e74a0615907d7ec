//! Validation: every rule the spec must satisfy, all problems collected in one run.
//!
//! Each check pushes a located [`Diagnostic`] and carries on, so a spec with a
//! dozen mistakes gets a dozen diagnostics. Rules are grouped by section; the
//! PromQL in SLOs, alerts and dashboards is checked by [`crate::promql`].

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::Diagnostic;
use crate::load::{Loaded, Loc, SourceMap};
use crate::model::*;
use crate::names;
use crate::promql::{self, Catalog};

/// Validates a loaded spec. Returns every problem found, in source order.
pub fn validate(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut v = Validator {
        spec: &loaded.spec,
        sm: &loaded.sources,
        out: Vec::new(),
        cat: crate::rules::catalog(&loaded.spec),
    };
    v.project();
    v.components();
    v.labels();
    v.metrics();
    v.error_tokens();
    v.logs();
    v.trails();
    v.slos();
    v.out.extend(crate::slo_checks::check(v.spec, v.sm));
    v.alerts();
    v.dashboards();
    v.flags();
    v.out.extend(crate::roles::check(v.spec, v.sm));
    v.out.extend(crate::environments::check(v.spec, v.sm));
    v.notes();
    if v.out.is_empty() {
        v.generated_exprs();
    }
    let mut out = v.out;
    out.sort_by(|a, b| (&a.file, a.pos.line, a.pos.col).cmp(&(&b.file, b.pos.line, b.pos.col)));
    out.dedup();
    out
}

struct Validator<'a> {
    spec: &'a Spec,
    sm: &'a SourceMap,
    out: Vec<Diagnostic>,
    cat: Catalog,
}

impl<'a> Validator<'a> {
    fn err(&mut self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) {
        self.out.push(self.sm.diag(loc, message, help));
    }

    fn err_key(&mut self, loc: &Loc, message: impl Into<String>, help: impl Into<String>) {
        self.out.push(self.sm.diag_key(loc, message, help));
    }

    /// Reports every name that appears twice in a section.
    fn unique<'n>(&mut self, what: &str, items: impl IntoIterator<Item = (&'n str, Loc)>) {
        let mut seen: BTreeMap<&str, Loc> = BTreeMap::new();
        for (name, loc) in items {
            if let Some(first) = seen.get(name) {
                let first_at = self.sm.diag(first, "", "").location();
                self.err(
                    &loc,
                    format!("duplicate {what} `{name}`"),
                    format!("it is already defined at {first_at}; rename or remove one"),
                );
            } else {
                seen.insert(name, loc);
            }
        }
    }

    fn component_known(&mut self, name: &str, loc: &Loc) {
        // The project's name stands for obspec's runtime in every component (`crate::roles`).
        if !self.spec.components.iter().any(|c| c.name == name) && name != self.spec.project.name {
            let known: Vec<&str> = self.spec.components.iter().map(|c| c.name.as_str()).collect();
            self.err(loc, format!("unknown component `{name}`"), format!("use one of: {}", known.join(", ")));
        }
    }

    fn duration(&mut self, d: &str, loc: &Loc) -> Option<u64> {
        let secs = names::duration_seconds(d);
        if secs.is_none() {
            self.err(
                loc,
                format!("`{d}` is not a Prometheus duration"),
                "write a number and a unit: `30s`, `5m`, `1h`, `30d`",
            );
        }
        secs
    }

    fn promql(&mut self, expr: &str, loc: &Loc) {
        for p in promql::check(expr, &self.cat) {
            self.err(loc, p.message, p.help);
        }
    }

    /// Checks a plain selector and returns its metric, if it names one of the spec.
    fn selector(&mut self, sel: &str, loc: &Loc) -> Option<&'a Metric> {
        let spec: &'a Spec = self.spec;
        match promql::parse_selector(sel) {
            Ok((name, matchers)) => {
                // A histogram is named by its family; check its `_bucket` series.
                let family = spec.metrics.iter().find(|m| m.name == name && m.kind == MetricKind::Histogram);
                match family {
                    Some(_) => self.promql(&format!("{name}_bucket{{{}}}", promql::render_matchers(&matchers)), loc),
                    None => self.promql(sel, loc),
                }
                let base = names::metric_family(&name);
                spec.metrics.iter().find(|m| m.name == name || m.name == base)
            }
            Err(e) => {
                self.err(loc, format!("`{sel}` is not a selector: {e}"), "write `metric_name{label=\"value\"}`");
                None
            }
        }
    }

    fn project(&mut self) {
        let p = &self.spec.project;
        let loc = self.sm.project.clone();
        if p.cardinality_budget == 0 {
            self.err(
                &loc.key("cardinality_budget"),
                "the cardinality budget is 0",
                "set the most series one metric may have, e.g. 5000",
            );
        }
        if p.id_max_len == 0 {
            self.err(
                &loc.key("id_max_len"),
                "`id_max_len` is 0",
                "set the longest ID a log line or trail may carry, e.g. 64",
            );
        }
        if !p.scrape_interval.is_empty() {
            self.duration(&p.scrape_interval.clone(), &loc.key("scrape_interval"));
        }
    }

    fn components(&mut self) {
        let spec = self.spec;
        self.unique(
            "component",
            spec.components.iter().zip(&self.sm.components).map(|(c, l)| (c.name.as_str(), l.key("name"))),
        );
        let kinds: BTreeSet<&str> = spec.trails.kinds.iter().map(|k| k.kind.as_str()).collect();
        for (c, loc) in spec.components.iter().zip(&self.sm.components) {
            if !names::is_snake(&c.name) {
                self.err(
                    &loc.key("name"),
                    format!("component name `{}` is not lower snake case", c.name),
                    "use letters, digits and `_`, starting with a letter",
                );
            }
            if !c.metrics_path.starts_with('/') {
                self.err(&loc.key("metrics_path"), "a metrics path must start with `/`", "write `/metrics`");
            }
            if c.targets.is_empty() {
                self.err_key(
                    &loc.key("targets"),
                    format!("component `{}` has no scrape target", c.name),
                    "add `host:port` targets Prometheus can scrape",
                );
            }
            for (i, r) in c.routes.iter().enumerate() {
                if !r.starts_with('/') {
                    self.err(
                        &loc.key("routes").index(i),
                        format!("route `{r}` is not a path template"),
                        "route templates start with `/`, with `:name` for parameters",
                    );
                }
            }
            for (i, k) in c.trails.iter().enumerate() {
                if !kinds.contains(k.as_str()) {
                    self.err(
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
                    self.err(
                        &loc.key("endpoints").index(i).key("audit"),
                        format!("unknown trail kind `{k}`"),
                        "declare it under `trails.kinds`",
                    );
                }
            }
        }
    }

    fn labels(&mut self) {
        let spec = self.spec;
        self.unique(
            "label",
            spec.labels.iter().zip(&self.sm.labels).map(|(l, loc)| (l.name.as_str(), loc.key("name"))),
        );
        for (l, loc) in spec.labels.iter().zip(&self.sm.labels) {
            if !names::is_label_name(&l.name) {
                self.err(
                    &loc.key("name"),
                    format!("`{}` is not a valid Prometheus label name", l.name),
                    "use `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`",
                );
            } else if ["le", "job", "instance", "quantile"].contains(&l.name.as_str()) {
                self.err(
                    &loc.key("name"),
                    format!("`{}` is reserved by Prometheus", l.name),
                    "choose another label name",
                );
            }
            match l.kind {
                LabelKind::Closed => {
                    if l.values.is_empty() {
                        self.err_key(
                            &loc.key("kind"),
                            format!("closed label `{}` lists no values", l.name),
                            "list its values under `values:`, or make it `open` with `max_values`",
                        );
                    }
                    let vals: Vec<(&str, Loc)> =
                        l.values.iter().enumerate().map(|(i, v)| (v.as_str(), loc.key("values").index(i))).collect();
                    self.unique("label value", vals);
                }
                LabelKind::Open => {
                    if l.max_values.is_none_or(|m| m == 0) {
                        self.err_key(
                            &loc.key("kind"),
                            format!("open label `{}` has no cardinality bound", l.name),
                            "set `max_values:` to the most distinct values kept before folding into `other`",
                        );
                    }
                }
                LabelKind::ErrorToken => {}
            }
            if l.kind != LabelKind::Closed && !l.values.is_empty() {
                self.err_key(
                    &loc.key("values"),
                    "`values` is only for closed labels",
                    "remove it, or set `kind: closed`",
                );
            }
            if l.kind != LabelKind::Open && l.max_values.is_some() {
                self.err_key(
                    &loc.key("max_values"),
                    "`max_values` is only for open labels",
                    "remove it, or set `kind: open`",
                );
            }
        }
    }

    fn metrics(&mut self) {
        let spec = self.spec;
        self.unique("metric", spec.metrics.iter().zip(&self.sm.metrics).map(|(m, l)| (m.name.as_str(), l.key("name"))));
        for (m, loc) in spec.metrics.iter().zip(&self.sm.metrics) {
            let name_loc = loc.key("name");
            if !names::is_metric_name(&m.name) {
                self.err(
                    &name_loc,
                    format!("`{}` is not a valid Prometheus metric name", m.name),
                    "use `[a-zA-Z_][a-zA-Z0-9_]*` (colons are reserved for recording rules)",
                );
            }
            self.component_known(&m.component, &loc.key("component"));
            if let Some(c) = spec.components.iter().find(|c| c.name == m.component)
                && !c.domains.iter().any(|d| m.name.starts_with(&format!("{d}_")))
            {
                self.err(
                    &name_loc,
                    format!("metric `{}` does not start with a domain prefix of `{}`", m.name, c.name),
                    format!("prefix it with one of: {}", c.domains.join(", ")),
                );
            }
            let exempt = |r: NamingRule| m.exceptions.iter().any(|e| e.rule == r);
            if m.kind == MetricKind::Counter && !m.name.ends_with("_total") && !exempt(NamingRule::CounterTotal) {
                let fix = format!("{}_total", m.name.trim_end_matches("_count"));
                self.err(&name_loc, format!("counter `{}` does not end in `_total`", m.name), format!("rename it to `{fix}` (keep the old name in `blueprint_name`), or add an exception `counter_total` with a reason"));
            }
            if m.kind != MetricKind::Counter && m.name.ends_with("_total") {
                self.err(
                    &name_loc,
                    format!("`{}` ends in `_total` but is a {:?}", m.name, m.kind),
                    "only counters end in `_total`; rename it",
                );
            }
            if !exempt(NamingRule::UnitSuffix)
                && let Some(problem) = names::unit_suffix_problem(&m.name, m.unit)
            {
                self.err(&name_loc, problem.0, problem.1);
            }
            let mut seen = BTreeSet::new();
            for (i, l) in m.labels.iter().enumerate() {
                if !seen.insert(l) {
                    self.err(
                        &loc.key("labels").index(i),
                        format!("label `{l}` is listed twice"),
                        "remove the duplicate",
                    );
                } else if !spec.labels.iter().any(|d| &d.name == l) {
                    let known: Vec<&str> = spec.labels.iter().map(|d| d.name.as_str()).collect();
                    self.err(
                        &loc.key("labels").index(i),
                        format!("unknown label `{l}`"),
                        format!("define it under `labels:`, or use one of: {}", known.join(", ")),
                    );
                }
            }
            match m.kind {
                MetricKind::Histogram => {
                    if m.buckets.is_empty() {
                        self.err_key(
                            &loc.key("kind"),
                            format!("histogram `{}` has no buckets", m.name),
                            "list its bucket upper bounds under `buckets:`, in the metric's unit",
                        );
                    } else if !m.buckets.windows(2).all(|w| w[0] < w[1])
                        || m.buckets.iter().any(|b| !b.is_finite() || *b <= 0.0)
                    {
                        self.err(
                            &loc.key("buckets"),
                            "buckets must be positive, finite and strictly increasing",
                            "sort the bounds and remove duplicates",
                        );
                    }
                }
                MetricKind::Counter | MetricKind::Gauge => {
                    if !m.buckets.is_empty() {
                        self.err_key(
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
                self.err(&name_loc, format!("`{}` may have {series} series, over the budget of {}", m.name, spec.project.cardinality_budget), "drop a label, lower an open label's `max_values`, use fewer buckets, or raise `project.cardinality_budget` with a reason");
            }
        }
    }

    fn error_tokens(&mut self) {
        let spec = self.spec;
        let sm = self.sm;
        self.unique(
            "ErrorToken",
            spec.error_tokens.iter().zip(&sm.error_tokens).map(|(t, l)| (t.token.as_str(), l.key("token"))),
        );
        let codes: Vec<(String, Loc)> = spec
            .error_tokens
            .iter()
            .zip(&sm.error_tokens)
            .filter_map(|(t, l)| t.jsonrpc_code.map(|c| (c.to_string(), l.key("jsonrpc_code"))))
            .collect();
        self.unique("JSON-RPC error code", codes.iter().map(|(c, l)| (c.as_str(), l.clone())));
        for (t, loc) in spec.error_tokens.iter().zip(&sm.error_tokens) {
            if !names::is_screaming_snake(&t.token) {
                self.err(
                    &loc.key("token"),
                    format!("ErrorToken `{}` is not SCREAMING_SNAKE_CASE", t.token),
                    "use upper-case letters, digits and `_`",
                );
            }
            if !(400..=599).contains(&t.http_status) {
                self.err(
                    &loc.key("http_status"),
                    format!("HTTP status {} is not an error status", t.http_status),
                    "use a 4xx or 5xx status",
                );
            }
            if t.retry_after == RetryAfter::Required && !t.retryable {
                self.err(
                    &loc.key("retry_after"),
                    format!("`{}` requires `retry_after_ms` but is not retryable", t.token),
                    "set `retryable: true`, or `retry_after: none`",
                );
            }
        }
        let fallbacks = spec.error_tokens.iter().filter(|t| t.fallback).count();
        if fallbacks != 1 && !spec.error_tokens.is_empty() {
            let loc = sm.error_tokens.first().cloned().unwrap_or_default();
            self.err(
                &loc,
                format!("{fallbacks} ErrorTokens are marked `fallback: true`"),
                "mark exactly one (the internal error token) as the fallback for panics and unmapped errors",
            );
        }
        // Which tokens the runtime answers with is checked by role, in `crate::roles`.
    }

    fn logs(&mut self) {
        let logs = &self.spec.logs;
        let loc = self.sm.logs.clone();
        self.unique(
            "log field",
            logs.fields.iter().enumerate().map(|(i, f)| (f.name.as_str(), loc.key("fields").index(i).key("name"))),
        );
        for (i, f) in logs.fields.iter().enumerate() {
            let floc = loc.key("fields").index(i);
            if let Some(bad) = names::forbidden_match(&f.name, &logs.forbidden) {
                self.err(
                    &floc.key("name"),
                    format!("log field `{}` is a forbidden name (`{bad}`)", f.name),
                    "server-blind logs never carry content: remove the field",
                );
            }
            if f.ty == LogFieldType::Text {
                self.err(
                    &floc.key("type"),
                    format!("log field `{}` is typed as free text", f.name),
                    "use an ID, name, enum or count type; free text is never logged (§0)",
                );
            }
        }
        let s = &logs.sampling;
        let sloc = loc.key("sampling");
        for (v, k) in [(s.success, "success"), (s.error, "error"), (s.spike, "spike"), (s.max_override, "max_override")]
        {
            if !(0.0..=1.0).contains(&v) {
                self.err(
                    &sloc.key(k),
                    format!("sampling rate {v} is not between 0 and 1"),
                    "write a fraction, e.g. 0.01 for 1%",
                );
            }
        }
        if s.spike > s.max_override {
            self.err(
                &sloc.key("spike"),
                "the spike rate is above `max_override`",
                "lower `spike` or raise `max_override`",
            );
        }
        if !self.spec.flags.iter().any(|f| f.name == s.spike_flag) {
            self.err(&sloc.key("spike_flag"), format!("unknown flag `{}`", s.spike_flag), "declare it under `flags:`");
        }
        let routes: BTreeSet<&str> =
            self.spec.components.iter().flat_map(|c| c.routes.iter().map(String::as_str)).collect();
        for (i, o) in s.overrides.iter().enumerate() {
            let oloc = sloc.key("overrides").index(i);
            match (&o.route, &o.tool) {
                (Some(r), None) if !routes.contains(r.as_str()) => {
                    self.err(
                        &oloc.key("route"),
                        format!("unknown route template `{r}`"),
                        "use a route a component lists under `routes:`",
                    );
                }
                (Some(_), None) | (None, Some(_)) => {}
                _ => self.err(&oloc, "an override names exactly one of `route` or `tool`", "keep one of them"),
            }
            if o.success > s.max_override || o.success < 0.0 {
                self.err(
                    &oloc.key("success"),
                    format!("override rate {} is outside 0..=max_override ({})", o.success, s.max_override),
                    "lower it",
                );
            }
        }
        if logs.retention_days == 0 {
            self.err(&loc.key("retention_days"), "log retention is 0 days", "§2.3 sets 30 days");
        }
    }

    fn trails(&mut self) {
        let t = &self.spec.trails;
        let loc = self.sm.trails.clone();
        let order: Vec<(&str, Loc)> =
            t.key_order.iter().enumerate().map(|(i, k)| (k.as_str(), loc.key("key_order").index(i))).collect();
        self.unique("key", order);
        for required in ["id", "ts", "kind", "data", "meta", "sig"] {
            if !t.key_order.iter().any(|k| k == required) {
                self.err(
                    &loc.key("key_order"),
                    format!("the key order lacks `{required}`"),
                    "§3.1 orders `id, ts, kind, scope, actor, refs, data, meta, sig`",
                );
            }
        }
        if let Some(r) = &t.retention
            && !(r.min_days <= r.default_days && r.default_days <= r.max_days)
        {
            self.err(
                &loc.key("retention"),
                "trail retention needs min_days ≤ default_days ≤ max_days",
                "§3.3 allows 7–90 days",
            );
        }
        self.unique(
            "trail kind",
            t.kinds.iter().enumerate().map(|(i, k)| (k.kind.as_str(), loc.key("kinds").index(i).key("kind"))),
        );
        let forbidden = &self.spec.logs.forbidden;
        for (i, k) in t.kinds.iter().enumerate() {
            let kloc = loc.key("kinds").index(i);
            if !names::is_trail_kind(&k.kind) {
                self.err(
                    &kloc.key("kind"),
                    format!("trail kind `{}` is not `domain.name`", k.kind),
                    "use lower snake case words joined by one dot, e.g. `office.tool_call`",
                );
            }
            self.unique(
                "data field",
                k.data.iter().enumerate().map(|(j, f)| (f.name.as_str(), kloc.key("data").index(j).key("name"))),
            );
            for (j, f) in k.data.iter().enumerate() {
                let floc = kloc.key("data").index(j);
                if !names::is_snake(&f.name) {
                    self.err(
                        &floc.key("name"),
                        format!("data field `{}` is not lower snake case", f.name),
                        "use letters, digits and `_`",
                    );
                }
                if let Some(bad) = names::forbidden_match(&f.name, forbidden) {
                    self.err(&floc.key("name"), format!("trail data field `{}` is a forbidden name (`{bad}`)", f.name), "trails carry IDs, enums and counters only (§3.2): rename it to say what it counts or identifies");
                }
                if f.ty == TrailFieldType::Text {
                    self.err(&floc.key("type"), format!("trail data field `{}` is typed as free text", f.name), "use `id`, `id_list`, `name`, `enum`, `counter`, `bits`, `bool` or `error_token` (§3.2: never free text)");
                }
                if (f.ty == TrailFieldType::Enum) == f.values.is_empty() {
                    self.err_key(
                        &floc.key("type"),
                        "`values` goes with `type: enum`, and only with it",
                        "list the enum's values, or remove `values`",
                    );
                }
            }
        }
    }

    fn slos(&mut self) {
        let spec = self.spec;
        self.unique("SLO", spec.slos.iter().zip(&self.sm.slos).map(|(s, l)| (s.name.as_str(), l.key("name"))));
        for (s, loc) in spec.slos.iter().zip(&self.sm.slos) {
            if !names::is_kebab(&s.name) {
                self.err(
                    &loc.key("name"),
                    format!("SLO name `{}` is not kebab-case", s.name),
                    "use lower-case words joined by `-`",
                );
            }
            self.component_known(&s.component, &loc.key("component"));
            if !(s.objective > 0.0 && s.objective < 1.0) {
                self.err(
                    &loc.key("objective"),
                    format!("objective {} is not between 0 and 1", s.objective),
                    "write the fraction of good events, e.g. 0.99",
                );
            }
            if let Some(secs) = self.duration(&s.period, &loc.key("period"))
                && secs < 86_400
            {
                self.err(&loc.key("period"), "an SLO period shorter than a day", "use 7d, 28d or 30d");
            }
            match (&s.ratio, &s.latency) {
                (Some(r), None) => {
                    for (sel, key) in [(&r.errors, "errors"), (&r.total, "total")] {
                        let sloc = loc.key("ratio").key(key);
                        if let Some(m) = self.selector(sel, &sloc)
                            && m.kind != MetricKind::Counter
                        {
                            self.err(
                                &sloc,
                                format!("`{}` is a {:?}, not a counter", m.name, m.kind),
                                "a ratio SLI divides two counters",
                            );
                        }
                    }
                }
                (None, Some(l)) => {
                    let hloc = loc.key("latency").key("histogram");
                    if let Some(m) = self.selector(&l.histogram, &hloc) {
                        if m.kind != MetricKind::Histogram {
                            self.err(
                                &hloc,
                                format!("`{}` is not a histogram", m.name),
                                "a latency SLI needs a histogram",
                            );
                        } else if !m.buckets.iter().any(|b| names::same_bucket(*b, l.threshold)) {
                            let edges: Vec<String> = m.buckets.iter().map(|b| names::fmt_float(*b)).collect();
                            self.err(
                                &loc.key("latency").key("threshold"),
                                format!(
                                    "threshold {} is not a bucket edge of `{}`",
                                    names::fmt_float(l.threshold),
                                    m.name
                                ),
                                format!(
                                    "use one of its buckets ({}) or add {} to them",
                                    edges.join(", "),
                                    names::fmt_float(l.threshold)
                                ),
                            );
                        }
                    }
                }
                _ => self.err_key(
                    &loc.key("name"),
                    format!("SLO `{}` needs exactly one of `ratio` or `latency`", s.name),
                    "keep one SLI",
                ),
            }
            if s.min_rate < 0.0 {
                self.err(
                    &loc.key("min_rate"),
                    "`min_rate` is negative",
                    "set the least request rate (per second) for a page to fire",
                );
            }
        }
    }

    fn alerts(&mut self) {
        let spec = self.spec;
        self.unique("alert", spec.alerts.iter().zip(&self.sm.alerts).map(|(a, l)| (a.name.as_str(), l.key("name"))));
        for (a, loc) in spec.alerts.iter().zip(&self.sm.alerts) {
            if !names::is_upper_camel(&a.name) {
                self.err(
                    &loc.key("name"),
                    format!("alert name `{}` is not UpperCamelCase", a.name),
                    "write it like `GatewayLatencyP99High`",
                );
            }
            self.component_known(&a.component, &loc.key("component"));
            self.duration(&a.for_, &loc.key("for"));
            let rloc = loc.key("rule");
            match &a.rule {
                AlertRule::QuantileAbove { histogram, quantile, windows, .. } => {
                    let r = rloc.key("quantile_above");
                    if let Some(m) = self.selector(histogram, &r.key("histogram"))
                        && m.kind != MetricKind::Histogram
                    {
                        self.err(
                            &r.key("histogram"),
                            format!("`{}` is not a histogram", m.name),
                            "quantiles need a histogram",
                        );
                    }
                    if !(*quantile > 0.0 && *quantile < 1.0) {
                        self.err(&r.key("quantile"), "the quantile is not between 0 and 1", "write e.g. 0.99");
                    }
                    for (i, w) in windows.iter().enumerate() {
                        self.duration(w, &r.key("windows").index(i));
                    }
                }
                AlertRule::RatioAbove { errors, total, any_of, .. } => {
                    let r = rloc.key("ratio_above");
                    self.selector(errors, &r.key("errors"));
                    self.selector(total, &r.key("total"));
                    for (i, w) in any_of.iter().enumerate() {
                        self.duration(&w.window, &r.key("any_of").index(i).key("window"));
                    }
                }
                AlertRule::Spike { counter, by, window, baseline, .. } => {
                    let r = rloc.key("spike");
                    if let Some(m) = self.selector(counter, &r.key("counter")) {
                        for (i, l) in by.iter().enumerate() {
                            if !m.labels.contains(l) {
                                self.err(
                                    &r.key("by").index(i),
                                    format!("`{}` has no label `{l}`", m.name),
                                    format!("`{}` has: {}", m.name, m.labels.join(", ")),
                                );
                            }
                        }
                    }
                    self.duration(window, &r.key("window"));
                    self.duration(baseline, &r.key("baseline"));
                }
                AlertRule::GaugeAtLeast { gauge, .. } => {
                    let r = rloc.key("gauge_at_least");
                    if let Some(m) = self.selector(gauge, &r.key("gauge"))
                        && m.kind != MetricKind::Gauge
                    {
                        self.err(
                            &r.key("gauge"),
                            format!("`{}` is not a gauge", m.name),
                            "use a gauge, or a `ratio_above`/`spike` rule for counters",
                        );
                    }
                }
                AlertRule::Expr { expr } => self.promql(expr, &rloc.key("expr").key("expr")),
            }
        }
    }

    fn dashboards(&mut self) {
        let spec = self.spec;
        self.unique(
            "dashboard file",
            spec.dashboards.iter().zip(&self.sm.dashboards).map(|(d, l)| (d.file.as_str(), l.key("file"))),
        );
        let slos: BTreeSet<&str> = spec.slos.iter().map(|s| s.name.as_str()).collect();
        for (d, loc) in spec.dashboards.iter().zip(&self.sm.dashboards) {
            for (i, var) in d.variables.iter().enumerate() {
                match spec.labels.iter().find(|l| &l.name == var) {
                    Some(l) if l.kind == LabelKind::Open => {}
                    Some(_) => self.err(
                        &loc.key("variables").index(i),
                        format!("`{var}` is a closed label"),
                        "template variables are for open labels (tenant, route, tool)",
                    ),
                    None => self.err(
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
                        self.err(
                            &ploc.key("width"),
                            format!("panel width {} is outside 1..=24", p.width),
                            "Grafana's grid has 24 columns",
                        );
                    }
                    if p.height == 0 {
                        self.err(&ploc.key("height"), "panel height is 0", "give it a height in grid rows, e.g. 8");
                    }
                    if p.unit.is_empty() {
                        self.err(
                            &ploc.key("unit"),
                            "the panel has no unit",
                            "set a Grafana unit id (`s`, `percentunit`, `reqps`, `short`…)",
                        );
                    }
                    if p.queries.is_empty() {
                        self.err_key(
                            &ploc.key("title"),
                            format!("panel `{}` has no query", p.title),
                            "add a PromQL query",
                        );
                    }
                    for (qi, q) in p.queries.iter().enumerate() {
                        self.promql(&q.expr, &ploc.key("queries").index(qi).key("expr"));
                    }
                    for (ti, t) in p.thresholds.iter().enumerate() {
                        let tloc = ploc.key("thresholds").index(ti);
                        match (&t.value, &t.slo) {
                            (Some(_), None) => {}
                            (None, Some(s)) if slos.contains(s.as_str()) => {}
                            (None, Some(s)) => {
                                self.err(&tloc.key("slo"), format!("unknown SLO `{s}`"), "name an SLO under `slos:`")
                            }
                            _ => self.err(&tloc, "a threshold has exactly one of `value` or `slo`", "keep one"),
                        }
                    }
                }
            }
        }
    }

    fn flags(&mut self) {
        let spec = self.spec;
        self.unique("flag", spec.flags.iter().zip(&self.sm.flags).map(|(f, l)| (f.name.as_str(), l.key("name"))));
        for (f, loc) in spec.flags.iter().zip(&self.sm.flags) {
            if !names::is_flag_name(&f.name) {
                self.err(
                    &loc.key("name"),
                    format!("flag name `{}` is not dotted snake case", f.name),
                    "write e.g. `sampling.spike`",
                );
            }
            let dloc = loc.key("default");
            match f.ty {
                FlagType::Bool if !f.default.is_boolean() => {
                    self.err(&dloc, "a bool flag's default must be true or false", "write `default: false`")
                }
                FlagType::Ratio => match f.default.as_f64() {
                    Some(d) if f.min.unwrap_or(0.0) <= d && d <= f.max.unwrap_or(1.0) => {}
                    _ => self.err(
                        &dloc,
                        "a ratio flag's default must be a number within min..=max",
                        "write e.g. `default: 0.01`",
                    ),
                },
                FlagType::Enum if !f.default.as_str().is_some_and(|d| f.values.iter().any(|v| v == d)) => {
                    self.err(
                        &dloc,
                        "an enum flag's default must be one of its values",
                        format!("use one of: {}", f.values.join(", ")),
                    );
                }
                FlagType::Millis => match f.default.as_u64() {
                    Some(d) if f.min.unwrap_or(0.0) <= d as f64 && d as f64 <= f.max.unwrap_or(f64::MAX) => {}
                    _ => self.err(
                        &dloc,
                        "a millis flag's default must be a whole number within min..=max",
                        "write e.g. `default: 120`",
                    ),
                },
                FlagType::RateMap => {
                    let max = f.max.unwrap_or(1.0);
                    let ok = f
                        .default
                        .as_object()
                        .is_some_and(|m| m.values().all(|v| v.as_f64().is_some_and(|r| (0.0..=max).contains(&r))));
                    if !ok {
                        self.err(
                            &dloc,
                            "a rate_map flag's default must map names to rates within 0..=max",
                            "write e.g. `default: {}`",
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// Every expression obspec generates must pass the same checker as the spec's own.
    fn generated_exprs(&mut self) {
        for (what, expr) in crate::render::prometheus::all_exprs(self.spec) {
            for p in promql::check(&expr, &self.cat) {
                let loc = self.sm.project.clone();
                self.err(
                    &loc,
                    format!("the generated {what} does not check: {}", p.message),
                    format!("this is an obspec bug for `{expr}`; please report it ({})", p.help),
                );
            }
        }
    }

    /// Every `note:` that cites a resolution (`R07`) must cite an existing one.
    fn notes(&mut self) {
        let spec = self.spec;
        self.unique(
            "resolution",
            spec.resolutions.iter().zip(&self.sm.resolutions).map(|(r, l)| (r.id.as_str(), l.key("id"))),
        );
        let ids: BTreeSet<&str> = spec.resolutions.iter().map(|r| r.id.as_str()).collect();
        let mut notes: Vec<(&str, Loc)> = Vec::new();
        fn push<'s>(notes: &mut Vec<(&'s str, Loc)>, items: impl Iterator<Item = (&'s Option<String>, Loc)>) {
            for (n, l) in items {
                if let Some(n) = n {
                    notes.push((n.as_str(), l.key("note")));
                }
            }
        }
        let sm = self.sm;
        push(&mut notes, spec.components.iter().map(|c| &c.note).zip(sm.components.iter().cloned()));
        push(&mut notes, spec.labels.iter().map(|c| &c.note).zip(sm.labels.iter().cloned()));
        push(&mut notes, spec.metrics.iter().map(|c| &c.note).zip(sm.metrics.iter().cloned()));
        push(&mut notes, spec.error_tokens.iter().map(|c| &c.note).zip(sm.error_tokens.iter().cloned()));
        push(&mut notes, spec.slos.iter().map(|c| &c.note).zip(sm.slos.iter().cloned()));
        push(&mut notes, spec.alerts.iter().map(|c| &c.note).zip(sm.alerts.iter().cloned()));
        push(&mut notes, spec.flags.iter().map(|c| &c.note).zip(sm.flags.iter().cloned()));
        for (i, k) in spec.trails.kinds.iter().enumerate() {
            if let Some(n) = &k.note {
                notes.push((n.as_str(), self.sm.trails.key("kinds").index(i).key("note")));
            }
        }
        for (note, loc) in notes {
            for cited in names::cited_resolutions(note) {
                if !ids.contains(cited.as_str()) {
                    self.err(
                        &loc,
                        format!("the note cites resolution `{cited}`, which does not exist"),
                        "add it under `resolutions:` or fix the id",
                    );
                }
            }
        }
    }
}
