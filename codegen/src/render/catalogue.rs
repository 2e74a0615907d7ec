//! The reference catalogue: every metric, label, log field, ErrorToken, trail
//! kind, SLO, alert, dashboard and flag, and how the spec resolves the
//! blueprint's contradictions. Alerts link here as their runbook.

use std::fmt::Write;

use super::header;
use crate::model::*;
use crate::names;
use crate::output::GeneratedFile;

/// Where the catalogue is written.
pub const PATH: &str = "generated/CATALOGUE.md";

/// The anchors of the entries, from the lowered model (kept at their old paths).
pub use crate::lower::{alert_anchor, slo_anchor};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(cell).unwrap_or_default()
}

/// Renders the catalogue.
pub fn render(spec: &Spec, sources: &[String]) -> GeneratedFile {
    let mut o = String::new();
    o.push_str(&header::html_comment(sources));
    // Writing to a String cannot fail.
    let _ = write_all(&mut o, spec);
    GeneratedFile { path: PATH.to_owned(), contents: o }
}

fn write_all(o: &mut String, spec: &Spec) -> std::fmt::Result {
    writeln!(o, "# obspec catalogue: {}\n", spec.project.name)?;
    writeln!(o, "Source document: {}.\n", spec.project.blueprint)?;
    writeln!(
        o,
        "Every name below is checked at build time: metrics and labels by the typed emitters and the PromQL checker, log fields and trail fields by the derive macros.\n"
    )?;
    writeln!(o, "## Contents\n")?;
    // A spec without resolutions gets no empty table.
    let resolutions = (!spec.resolutions.is_empty()).then_some("Resolutions");
    for s in resolutions.into_iter().chain([
        "Components",
        "Labels",
        "Metrics",
        "ErrorTokens",
        "Log plane",
        "Trails",
        "SLOs",
        "Alerts",
        "Dashboards",
        "Flags",
    ]) {
        writeln!(o, "- [{s}](#{})", s.to_lowercase().replace(' ', "-"))?;
    }

    if !spec.resolutions.is_empty() {
        writeln!(o, "\n## Resolutions\n")?;
        writeln!(
            o,
            "Where the source document contradicts itself or leaves a gap, the spec decides. Items cite these ids in their `note`.\n"
        )?;
        writeln!(o, "| id | source | problem | decision |\n|---|---|---|---|")?;
    }
    for r in &spec.resolutions {
        writeln!(
            o,
            "| <a id=\"{}\"></a>{} | {} | {} | {} |",
            r.id.to_lowercase(),
            r.id,
            cell(&r.blueprint),
            cell(&r.problem),
            cell(&r.decision)
        )?;
    }

    writeln!(o, "\n## Components\n")?;
    writeln!(o, "| component | title | exposition | scrape | routes | trails | note |\n|---|---|---|---|---|---|---|")?;
    for c in &spec.components {
        writeln!(
            o,
            "| `{}` | {} | {:?} | `{}` on {} | {} | {} | {} |",
            c.name,
            cell(&c.title),
            c.exposition,
            c.metrics_path,
            c.targets.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
            c.routes.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
            c.trails.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
            opt(&c.note)
        )?;
    }
    for c in spec.components.iter().filter(|c| !c.endpoints.is_empty()) {
        writeln!(o, "\nEndpoints of `{}`:\n\n| path | auth | audit | purpose |\n|---|---|---|---|", c.name)?;
        for e in &c.endpoints {
            writeln!(
                o,
                "| `{}` | {:?} | {} | {} |",
                e.path,
                e.auth,
                e.audit.as_deref().map(|a| format!("`{a}`")).unwrap_or_default(),
                cell(&e.purpose)
            )?;
        }
    }

    writeln!(o, "\n## Labels\n")?;
    writeln!(o, "| label | kind | values / bound | help | note |\n|---|---|---|---|---|")?;
    for l in &spec.labels {
        let values = match l.kind {
            LabelKind::Closed => l.values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "),
            LabelKind::ErrorToken => format!(
                "the ErrorToken vocabulary{}",
                l.none.as_deref().map(|n| format!(" and `{n}`")).unwrap_or_default()
            ),
            LabelKind::Open => format!("at most {} values, then `other`", l.max_values.unwrap_or(0)),
        };
        writeln!(o, "| `{}` | {:?} | {} | {} | {} |", l.name, l.kind, values, cell(&l.help), opt(&l.note))?;
    }

    writeln!(o, "\n## Metrics\n")?;
    writeln!(
        o,
        "| metric | type | unit | labels | worst-case series | used by SLOs | help | note |\n|---|---|---|---|---|---|---|---|"
    )?;
    for m in &spec.metrics {
        let slos: Vec<String> = spec
            .slos
            .iter()
            .filter(|s| slo_metrics(s).iter().any(|n| names::metric_family(n) == m.name))
            .map(|s| format!("[{}](#{})", s.name, slo_anchor(&s.name)))
            .collect();
        let bp = m.blueprint_name.as_deref().map(|b| format!(" (blueprint: `{b}`)")).unwrap_or_default();
        writeln!(
            o,
            "| `{}`{} | {:?} | {:?} | {} | {} | {} | {} | {} |",
            m.name,
            bp,
            m.kind,
            m.unit,
            m.labels.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", "),
            names::worst_case_series(spec, m).unwrap_or(0),
            slos.join(", "),
            cell(&m.help),
            opt(&m.note)
        )?;
    }
    for m in spec.metrics.iter().filter(|m| !m.buckets.is_empty()) {
        let b: Vec<String> = m.buckets.iter().map(|b| names::fmt_float(*b)).collect();
        writeln!(o, "\nBuckets of `{}`: {}", m.name, b.join(", "))?;
    }
    for m in spec.metrics.iter().filter(|m| !m.exceptions.is_empty()) {
        for e in &m.exceptions {
            writeln!(o, "\nNaming exception for `{}` ({:?}): {}", m.name, e.rule, cell(&e.reason))?;
        }
    }
    let (metric_renames, label_renames) =
        (crate::rename::renamed(spec).next().is_some(), crate::rename::renamed_labels(spec).next().is_some());
    let value_renames = crate::rename::renamed_values(spec).next().is_some();
    if metric_renames || label_renames || value_renames {
        writeln!(o, "\n### Deprecations\n")?;
    }
    if value_renames {
        writeln!(
            o,
            "Renamed values: emitters write the new value; until the last day, Prometheus stores it under the old one (`metric_relabel_configs` of every scrape job), so queries naming the old value keep working and no series is split or counted twice, and every generated query matches both. Queries outside the repository should match both too (`label=~\"new|old\"`) before the day. After it, delete the entry from `renamed_values` (at the start of an SLO period: rule windows reaching back before the reload then read the new value only).\n"
        )?;
        writeln!(o, "| label | old value | new value | last day | metrics |\n|---|---|---|---|---|")?;
        for (l, r) in crate::rename::renamed_values(spec) {
            let users = label_users(spec, &l.name);
            writeln!(
                o,
                "| `{}` | `{}` | `{}` | {} | {} |",
                l.name,
                r.renamed_from,
                r.value,
                r.deprecated.as_deref().unwrap_or(""),
                users
            )?;
        }
        writeln!(o)?;
    }
    if label_renames {
        writeln!(
            o,
            "Renamed labels: until the last day, every emitter writes the label under both names with the same value, and the scrape configs copy the old name to the new one on series of binaries built before the rename; after it, delete `renamed_from` to stop writing the old one.\n"
        )?;
        writeln!(o, "| old label | new label | last day | metrics |\n|---|---|---|---|")?;
        for (l, old) in crate::rename::renamed_labels(spec) {
            let users = label_users(spec, &l.name);
            writeln!(o, "| `{old}` | `{}` | {} | {} |", l.name, l.deprecated.as_deref().unwrap_or(""), users)?;
        }
        writeln!(o)?;
    }
    if metric_renames {
        writeln!(
            o,
            "Renamed metrics: until the last day, alias recording rules (group `{}`) serve both names; after it, delete `renamed_from` to drop them.\n",
            crate::rename::GROUP
        )?;
        writeln!(o, "| old name | new name | last day | alias series |\n|---|---|---|---|")?;
        for (m, old) in crate::rename::renamed(spec) {
            let series =
                crate::rename::series(old, m.kind).iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
            writeln!(o, "| `{old}` | `{}` | {} | {series} |", m.name, m.deprecated.as_deref().unwrap_or(""))?;
        }
    }

    writeln!(o, "\n## ErrorTokens\n")?;
    writeln!(o, "The runtime answers with a token by its role (`rate_limit`, `unavailable`…), never by name.\n")?;
    writeln!(
        o,
        "| token | HTTP | JSON-RPC | retryable | `retry_after_ms` | fallback | role | meaning |\n|---|---|---|---|---|---|---|---|"
    )?;
    for t in &spec.error_tokens {
        writeln!(
            o,
            "| `{}` | {} | {} | {} | {:?} | {} | {} | {} |",
            t.token,
            t.http_status,
            t.jsonrpc_code.map(|c| c.to_string()).unwrap_or_default(),
            t.retryable,
            t.retry_after,
            if t.fallback { "yes" } else { "" },
            t.role.map(|r| format!("`{}`", r.as_str())).unwrap_or_default(),
            cell(&t.help)
        )?;
    }

    let logs = &spec.logs;
    writeln!(o, "\n## Log plane\n")?;
    writeln!(o, "Closed allow-list; any other field is dropped, a forbidden one is dropped and counted.\n")?;
    writeln!(o, "| field | type | role | help |\n|---|---|---|---|")?;
    for f in &logs.fields {
        let role = f.role.map(|r| format!("`{}`", r.as_str())).unwrap_or_default();
        writeln!(o, "| `{}` | {:?} | {} | {} |", f.name, f.ty, role, cell(&f.help))?;
    }
    writeln!(
        o,
        "\nForbidden names (any case, any look-alike spelling): {}.\n",
        logs.forbidden.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
    )?;
    let s = &logs.sampling;
    writeln!(
        o,
        "Sampling: successes {}, errors {}, spike {} while flag `{}` is on; overrides at most {}.\n",
        s.success, s.error, s.spike, s.spike_flag, s.max_override
    )?;
    for ov in &s.overrides {
        let what = ov
            .route
            .as_deref()
            .map(|r| format!("route `{r}`"))
            .or_else(|| ov.tool.as_deref().map(|t| format!("tool `{t}`")))
            .unwrap_or_default();
        writeln!(o, "- override: {what} → {}", ov.success)?;
    }
    writeln!(o, "\nDestinations (retention {} days):\n", logs.retention_days)?;
    for d in &logs.destinations {
        writeln!(
            o,
            "- `{}`{}{}: {}",
            d.kind,
            d.layout.as_deref().map(|l| format!(" `{l}`")).unwrap_or_default(),
            if d.optional { " (optional)" } else { "" },
            cell(&d.purpose)
        )?;
    }

    let t = &spec.trails;
    writeln!(o, "\n## Trails\n")?;
    writeln!(
        o,
        "Canonical key order: {}. Layout `{}`, one hash chain per `scope.{}` per UTC day ({}).\n",
        t.key_order.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
        t.layout,
        t.stream_key,
        t.stream
    )?;
    writeln!(
        o,
        "The canonical bytes of a record (top-level keys in the order above, nested keys sorted as RFC 8785 JCS, \
         JCS string escaping, integers only, below 2^53) and their test vectors are specified in \
         `CANONICAL.md` of the `obspec-trail` crate. A record's hash is BLAKE3 over those bytes without `sig`; \
         `meta` chains each record to the previous one of its stream.\n"
    )?;
    if let Some(sig) = &t.signing {
        writeln!(
            o,
            "Signing: {} over {}; day manifests signed: {}; per-record signatures by tenant opt-in: {}.\n",
            sig.algorithm, sig.hash, sig.sign_manifests, sig.per_record_opt_in
        )?;
    }
    if let Some(r) = &t.retention {
        writeln!(o, "Retention: {}–{} days by tenant policy, default {}.\n", r.min_days, r.max_days, r.default_days)?;
    }
    for k in &t.kinds {
        writeln!(
            o,
            "### `{}`\n\n{}{}\n",
            k.kind,
            cell(&k.help),
            k.note.as_deref().map(|n| format!(" Note: {}", cell(n))).unwrap_or_default()
        )?;
        writeln!(o, "| data field | type | help |\n|---|---|---|")?;
        for f in &k.data {
            let ty = if f.values.is_empty() {
                format!("{:?}", f.ty)
            } else {
                format!("{:?} ({})", f.ty, f.values.join(", "))
            };
            writeln!(o, "| `{}` | {} | {} |", f.name, ty, cell(&f.help))?;
        }
        writeln!(o)?;
    }

    writeln!(o, "## SLOs\n")?;
    for s in &spec.slos {
        writeln!(o, "### <a id=\"{}\"></a>SLO `{}`\n", slo_anchor(&s.name), s.name)?;
        writeln!(
            o,
            "{} Component `{}`, objective {} over {}, error budget {}.\n",
            cell(&s.description),
            s.component,
            s.objective,
            s.period,
            names::fmt_float(names::error_budget(s.objective))
        )?;
        if let Some(r) = &s.ratio {
            writeln!(o, "- bad events: `{}`\n- all events: `{}`", r.errors, r.total)?;
        }
        if let Some(l) = &s.latency {
            writeln!(o, "- histogram: `{}`, good when ≤ {}", l.histogram, names::fmt_float(l.threshold))?;
        }
        writeln!(o, "- pages need at least {} events/s over the long window", s.min_rate)?;
        let period = s.period_secs().unwrap_or(30 * 86_400);
        let tiers: Vec<String> = crate::lower::BURN_WINDOWS
            .iter()
            .map(|w| {
                if s.tiers.enabled(w.tier) {
                    format!(
                        "`{}` {}x over {}/{}",
                        w.tier.as_str(),
                        names::fmt_float(crate::lower::burn_factor(w, period)),
                        w.short,
                        w.long
                    )
                } else {
                    format!("`{}` off", w.tier.as_str())
                }
            })
            .collect();
        writeln!(o, "- burn-rate tiers (`burn_tier`): {}", tiers.join(", "))?;
        if let Some(n) = &s.note {
            writeln!(o, "- note: {}", cell(n))?;
        }
        writeln!(o)?;
    }

    writeln!(o, "## Alerts\n")?;
    writeln!(
        o,
        "Each SLO also has multi-window burn-rate alerts (`<Slo>BurnRatePage`, `<Slo>BurnRateTicket`, one rule per enabled tier with a `burn_tier` label) and an absent-SLI alert, generated from its objective and period. In Alertmanager a page silences only its own SLO's tickets, and a fast tier the slow tier of the same SLO and severity; alerts without an `slo` label are never silenced.\n"
    )?;
    for a in &spec.alerts {
        writeln!(o, "### <a id=\"{}\"></a>`{}` ({:?})\n", alert_anchor(&a.name), a.name, a.severity)?;
        writeln!(o, "{} {}\n", cell(&a.summary), cell(&a.description))?;
        writeln!(o, "- component `{}`, for {}", a.component, a.for_)?;
        if let Some(n) = &a.note {
            writeln!(o, "- note: {}", cell(n))?;
        }
        writeln!(o)?;
    }

    writeln!(o, "## Dashboards\n")?;
    for d in &spec.dashboards {
        writeln!(o, "### {} (`{}.json`)\n", d.title, d.file)?;
        for r in &d.rows {
            for p in &r.panels {
                writeln!(
                    o,
                    "- {} / {} ({}): {}",
                    r.title,
                    p.title,
                    p.unit,
                    p.queries.iter().map(|q| format!("`{}`", cell(&q.expr))).collect::<Vec<_>>().join(", ")
                )?;
            }
        }
        if d.slo_rows {
            writeln!(o, "- one row per SLO: objective, error budget remaining, burn rate")?;
        }
        writeln!(o)?;
    }

    writeln!(o, "## Flags\n")?;
    writeln!(
        o,
        "Each flag is read from its environment variable and from the flags file (`name = value` lines; \
         the environment wins), re-read by `/_reload` and the poller. A value outside its bounds is refused \
         and the previous value stays in force. `rate_map` values are JSON objects.\n"
    )?;
    writeln!(o, "| flag | env var | type | default | bounds | role | help |\n|---|---|---|---|---|---|---|")?;
    for f in &spec.flags {
        let bounds = match f.ty {
            FlagType::Enum => f.values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "),
            FlagType::Bool => String::new(),
            FlagType::RateMap => format!("rates in [0, {}]", names::fmt_float(f.max.unwrap_or(1.0))),
            FlagType::Ratio => {
                format!("[{}, {}]", names::fmt_float(f.min.unwrap_or(0.0)), names::fmt_float(f.max.unwrap_or(1.0)))
            }
            FlagType::Millis => format!(
                "[{}, {}] ms",
                names::fmt_float(f.min.unwrap_or(0.0)),
                f.max.map_or_else(|| "∞".to_owned(), names::fmt_float)
            ),
        };
        writeln!(
            o,
            "| `{}` | `{}` | {:?} | `{}` | {} | {} | {} |",
            f.name,
            flag_env(&spec.project.name, &f.name),
            f.ty,
            f.default,
            bounds,
            f.role.map(|r| format!("`{}`", r.as_str())).unwrap_or_default(),
            cell(&f.help)
        )?;
    }
    Ok(())
}

/// The environment variable of a flag: the project's prefix + upper snake case.
pub fn flag_env(project: &str, name: &str) -> String {
    crate::roles::flag_env(project, name)
}

/// The series an SLO reads.
pub fn slo_metrics(s: &Slo) -> Vec<String> {
    let mut out = Vec::new();
    let sels: Vec<&String> = match (&s.ratio, &s.latency) {
        (Some(r), _) => vec![&r.errors, &r.total],
        (_, Some(l)) => vec![&l.histogram],
        _ => vec![],
    };
    for sel in sels {
        if let Ok((name, _)) = crate::promql::parse_selector(sel) {
            out.push(name);
        }
    }
    out
}

/// The metrics carrying a label, as code spans: `` `a`, `b` ``.
fn label_users(spec: &Spec, label: &str) -> String {
    let users: Vec<String> =
        spec.metrics.iter().filter(|m| m.labels.iter().any(|x| x == label)).map(|m| format!("`{}`", m.name)).collect();
    users.join(", ")
}
