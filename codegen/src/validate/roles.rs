//! Roles: which ErrorToken, log field, flag and metric the runtime uses for what.
//!
//! The runtime never names a token, field, flag or self-metric: it asks the
//! generated tables for a role (`rate_limit`, `latency`, `log_level`,
//! `log_dropped`…), and the spec says who plays it. These checks make that
//! lookup total: every ErrorToken role and every self-metric role is held by
//! exactly one item; a log field or flag role by at most one (a spec without
//! the field or flag simply has no such feature); and each holder has the type
//! the runtime needs. Also here: the env-var prefix derived from the project
//! name, and the optional `jsonrpc_code` rule.

use std::collections::BTreeMap;

use super::Cx;
use crate::load::Loc;
use crate::model::*;

/// The environment-variable prefix of a project's flags: `OBSPEC_` for `obspec`.
pub fn env_prefix(project: &str) -> String {
    let mut p: String =
        project.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    p.push('_');
    p
}

/// The environment variable of a flag: the project's prefix + the name in upper snake case.
pub fn flag_env(project: &str, name: &str) -> String {
    format!("{}{}", env_prefix(project), name.replace('.', "_").to_uppercase())
}

/// The token holding `role`, if any.
pub fn token_for(spec: &Spec, role: TokenRole) -> Option<&ErrorTokenDef> {
    spec.error_tokens.iter().find(|t| t.role == Some(role))
}

/// The log field holding `role`, if any.
pub fn log_field_for(spec: &Spec, role: LogRole) -> Option<&LogField> {
    spec.logs.fields.iter().find(|f| f.role == Some(role))
}

/// The flag playing `role`, if any.
pub fn flag_for(spec: &Spec, role: FlagRole) -> Option<&Flag> {
    spec.flags.iter().find(|f| f.role == Some(role))
}

/// The metric holding `role`, if any.
pub fn metric_for(spec: &Spec, role: MetricRole) -> Option<&Metric> {
    spec.metrics.iter().find(|m| m.role == Some(role))
}

/// Levels the runtime's `log_level` flag accepts (tracing's level names).
pub const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// Reports a role held twice, at the second holder, naming the first.
fn unique_roles<R: Ord + Copy>(cx: &mut Cx<'_>, what: &str, items: Vec<(R, &str, Loc)>) -> BTreeMap<R, Loc> {
    let mut seen: BTreeMap<R, Loc> = BTreeMap::new();
    for (role, name, loc) in items {
        if let Some(first) = seen.get(&role) {
            let first_at = cx.at(first);
            cx.err(
                &loc,
                format!("{what} `{name}` takes a role another {what} holds"),
                format!("the role is already held at {first_at}; each role goes to one {what}"),
            );
        } else {
            seen.insert(role, loc);
        }
    }
    seen
}

/// Checks every role rule; one of [`super::CHECKS`].
pub(super) fn check(cx: &mut Cx<'_>) {
    tokens(cx);
    log_fields(cx);
    flags(cx);
    metrics(cx);
}

fn tokens(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    if spec.error_tokens.is_empty() {
        return;
    }
    let held: Vec<(TokenRole, &str, Loc)> = spec
        .error_tokens
        .iter()
        .map(|x| (x, &x.loc))
        .filter_map(|(t, l)| t.role.map(|r| (r, t.token.as_str(), l.key("role"))))
        .collect();
    let seen = unique_roles(cx, "ErrorToken", held);
    let first = spec.error_tokens.first().map(|x| x.loc.clone()).unwrap_or_default();
    for role in TokenRole::ALL {
        if !seen.contains_key(&role) {
            cx.err(
                &first,
                format!("no ErrorToken has `role: {}`", role.as_str()),
                format!("the runtime answers with that role; add `role: {}` to the token it should use", role.as_str()),
            );
        }
    }
    for (t, loc) in spec.error_tokens.iter().map(|x| (x, &x.loc)) {
        if matches!(t.role, Some(TokenRole::RateLimit | TokenRole::Backpressure))
            && t.retry_after != RetryAfter::Required
        {
            cx.err(
                &loc.key("retry_after"),
                format!(
                    "`{}` has `role: {}` but does not carry `retry_after_ms`",
                    t.token,
                    t.role.map_or("", TokenRole::as_str)
                ),
                "set `retry_after: required`: the runtime always knows when the caller may retry",
            );
        }
    }
    // `jsonrpc_code` is optional, but all or none: a mix is a forgotten code.
    let with = spec.error_tokens.iter().filter(|t| t.jsonrpc_code.is_some()).count();
    if with > 0 && with < spec.error_tokens.len() {
        for (t, loc) in spec.error_tokens.iter().map(|x| (x, &x.loc)) {
            if t.jsonrpc_code.is_none() {
                cx.err_key(
                    &loc.key("token"),
                    format!("`{}` has no `jsonrpc_code` while {with} other tokens have one", t.token),
                    "give every token a JSON-RPC code, or none (services without JSON-RPC)",
                );
            }
        }
    }
}

fn log_fields(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    let loc = cx.spec.logs.loc.clone();
    let fields = &spec.logs.fields;
    let held: Vec<(LogRole, &str, Loc)> = fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.role.map(|r| (r, f.name.as_str(), loc.key("fields").index(i).key("role"))))
        .collect();
    unique_roles(cx, "log field", held);
    for (i, f) in fields.iter().enumerate() {
        if let Some(r) = f.role
            && r.field_type() != f.ty
        {
            cx.err(
                &loc.key("fields").index(i).key("role"),
                format!("log field `{}` has `role: {}` but type {:?}", f.name, r.as_str(), f.ty),
                format!("a field with role `{}` has type `{:?}`", r.as_str(), r.field_type()).to_lowercase(),
            );
        }
    }
    for (i, o) in spec.logs.sampling.overrides.iter().enumerate() {
        if o.tool.is_some() && log_field_for(spec, LogRole::Tool).is_none() {
            cx.err(
                &loc.key("sampling").key("overrides").index(i).key("tool"),
                "a tool override needs a log field with `role: tool`",
                "add `role: tool` to the field holding the tool name, or override a route",
            );
        }
    }
}

fn flags(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    let held: Vec<(FlagRole, &str, Loc)> = spec
        .flags
        .iter()
        .map(|x| (x, &x.loc))
        .filter_map(|(f, l)| f.role.map(|r| (r, f.name.as_str(), l.key("role"))))
        .collect();
    unique_roles(cx, "flag", held);
    let s = &spec.logs.sampling;
    // Without a log plane (or with one that did not load) the sampling checks
    // would only echo that problem.
    let have_logs = !spec.logs.fields.is_empty();
    let spike_flag_known = spec.flags.iter().any(|f| f.name == s.spike_flag);
    for (f, loc) in spec.flags.iter().map(|x| (x, &x.loc)) {
        let Some(r) = f.role else {
            if f.name == s.spike_flag {
                cx.err_key(
                    &loc.key("name"),
                    format!("`logs.sampling.spike_flag` names `{}`, which has no role", f.name),
                    "add `role: sampling_spike` so the log plane reads it",
                );
            }
            continue;
        };
        let rloc = loc.key("role");
        if r.flag_type() != f.ty {
            cx.err(
                &rloc,
                format!("flag `{}` has `role: {}` but type {:?}", f.name, r.as_str(), f.ty),
                format!("a flag with role `{}` has type `{:?}`", r.as_str(), r.flag_type()).to_lowercase(),
            );
            continue;
        }
        match r {
            FlagRole::SamplingSpike if have_logs && spike_flag_known && f.name != s.spike_flag => cx.err(
                &rloc,
                format!(
                    "flag `{}` has `role: sampling_spike` but `logs.sampling.spike_flag` is `{}`",
                    f.name, s.spike_flag
                ),
                "name the same flag in both places",
            ),
            FlagRole::SamplingSuccess if have_logs => {
                let valid = |d: f64| f.min.unwrap_or(0.0) <= d && d <= f.max.unwrap_or(1.0);
                if f.default.as_f64().is_some_and(|d| valid(d) && (d - s.success).abs() > f64::EPSILON) {
                    cx.err(
                        &loc.key("default"),
                        format!("the default of `{}` differs from `logs.sampling.success` ({})", f.name, s.success),
                        "the flag's default is the rate in force: make them equal",
                    );
                }
                if f.max.is_some_and(|m| m > s.max_override) {
                    cx.err(
                        &loc.key("max"),
                        format!("`{}` allows rates above `logs.sampling.max_override` ({})", f.name, s.max_override),
                        "lower `max` to at most `max_override`",
                    );
                }
            }
            FlagRole::SamplingOverrides if have_logs && f.max.is_some_and(|m| m > s.max_override) => cx.err(
                &loc.key("max"),
                format!("`{}` allows rates above `logs.sampling.max_override` ({})", f.name, s.max_override),
                "lower `max` to at most `max_override`",
            ),
            FlagRole::LogLevel => {
                for (i, v) in f.values.iter().enumerate() {
                    if !LEVELS.contains(&v.as_str()) {
                        cx.err(
                            &loc.key("values").index(i),
                            format!("`{v}` is not a log level"),
                            format!("use {}", LEVELS.join(", ")),
                        );
                    }
                }
            }
            FlagRole::Stage if f.values.len() < 2 => cx.err(
                &loc.key("values"),
                format!("the stage flag `{}` has fewer than two stages", f.name),
                "list the stages `/_reload?stage=` switches between, e.g. `[current, next]`",
            ),
            FlagRole::ChaosDelayMin | FlagRole::ChaosDelayMax if f.max.is_none() => cx.err_key(
                &loc.key("name"),
                format!("flag `{}` has no `max`", f.name),
                "bound the delay with `max:` (milliseconds)",
            ),
            _ => {}
        }
    }
    if let (Some(lo), Some(hi)) = (flag_for(spec, FlagRole::ChaosDelayMin), flag_for(spec, FlagRole::ChaosDelayMax))
        && lo.default.as_u64() > hi.default.as_u64()
        && let Some(i) = spec.flags.iter().position(|f| f.name == lo.name)
    {
        cx.err(
            &spec.flags[i].loc.key("default"),
            format!("the default of `{}` is above the default of `{}`", lo.name, hi.name),
            "the shortest delay cannot exceed the longest",
        );
    }
}

fn metrics(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    let project = spec.project.name.as_str();
    for (c, loc) in spec.components.iter().map(|x| (x, &x.loc)) {
        if !project.is_empty() && c.name == project {
            cx.err(
                &loc.key("name"),
                format!("component `{}` has the project's name", c.name),
                "the project's name stands for obspec's runtime in every component (its self-metrics); rename the component",
            );
        }
    }
    if spec.metrics.is_empty() {
        return;
    }
    let held: Vec<(MetricRole, &str, Loc)> = spec
        .metrics
        .iter()
        .map(|x| (x, &x.loc))
        .filter_map(|(m, l)| m.role.map(|r| (r, m.name.as_str(), l.key("role"))))
        .collect();
    let seen = unique_roles(cx, "metric", held);
    let first = spec.metrics.first().map(|x| x.loc.clone()).unwrap_or_default();
    for role in MetricRole::ALL {
        if !seen.contains_key(&role) {
            cx.err(
                &first,
                format!("no metric has `role: {}`", role.as_str()),
                format!(
                    "declare the runtime's self-metric: a counter of component `{project}` named `{project}_…_total` with labels ({}) and `role: {}`",
                    role.labels().join(", "),
                    role.as_str()
                ),
            );
        }
    }
    for (m, loc) in spec.metrics.iter().map(|x| (x, &x.loc)) {
        let Some(r) = m.role else {
            if m.component == project {
                cx.err_key(
                    &loc.key("component"),
                    format!("`{}` belongs to `{project}` (the runtime) but has no role", m.name),
                    "the runtime emits only its self-metrics; give it a `role`, or a service component",
                );
            }
            continue;
        };
        if m.component != project {
            cx.err(
                &loc.key("component"),
                format!("self-metric `{}` must belong to the project, `{project}`", m.name),
                format!("set `component: {project}`: every component running the runtime emits it"),
            );
        }
        if !m.name.starts_with(&format!("{project}_")) {
            cx.err(
                &loc.key("name"),
                format!("self-metric `{}` does not start with `{project}_`", m.name),
                format!("prefix it with the project's name, `{project}_`"),
            );
        }
        if m.kind != MetricKind::Counter {
            cx.err(
                &loc.key("kind"),
                format!("self-metric `{}` with `role: {}` is a counter", m.name, r.as_str()),
                "set `kind: counter`",
            );
        }
        if m.labels.len() != r.labels().len() {
            cx.err_key(
                &loc.key("labels"),
                format!(
                    "self-metric `{}` has {} labels; the runtime gives it {}",
                    m.name,
                    m.labels.len(),
                    r.labels().len()
                ),
                format!("list one label for each of: {} (in that order)", r.labels().join(", ")),
            );
        }
    }
}
