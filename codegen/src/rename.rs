//! Declared renames of metrics and labels (`metrics[].renamed_from`,
//! `labels[].renamed_from`, each with `deprecated`): alias recording rules
//! keep both metric names answering while the deprecation lasts, and
//! emitters write a renamed label under both names.
//!
//! For a metric `new` renamed from `old`, every series of the family
//! (`_bucket`, `_count` and `_sum` of a histogram) gets two rules in the
//! `obspec-aliases` group of the recording rules file:
//!
//! ```text
//! record: old   expr: new{obspec_alias=""} unless old{obspec_alias=""}   labels: {obspec_alias: new}
//! record: new   expr: old{obspec_alias=""} unless new{obspec_alias=""}   labels: {obspec_alias: old}
//! ```
//!
//! So a dashboard outside the repository that names `old` keeps working when
//! only `new` is emitted, and obspec's own alerts and dashboards (which name
//! `new`) keep working while binaries still emit `old`. Each rule reads only
//! emitted series (`obspec_alias=""`) and only fills label sets the other name
//! lacks, so aliases never feed each other and no label set is counted twice.
//!
//! A renamed label needs no rule: every emitter (Rust and TypeScript) writes
//! it twice, `route="/x",path="/x"`, with the same value, so queries that
//! select or group by either name keep working and no series is added (the
//! old name is a function of the new one). An alias series under the same
//! metric name, as for metrics, would instead be counted twice by every
//! query that sums over the label. Binaries built before the rename write
//! only the old name: the generated scrape configs copy it to the new one
//! where a series lacks it ([`metric_relabel_configs`]).
//!
//! A renamed value of a closed label (`labels[].renamed_values`) can have
//! neither: two values are two series of one metric, so an alias series would
//! be counted twice by every sum over the label, and an emitter cannot write
//! two values on one series. Instead, while the entry is set:
//!
//! - emitters write the new value (it is one of the label's `values`);
//! - the generated scrape configs relabel it to the old value
//!   ([`metric_relabel_configs`]), so Prometheus keeps storing the series it
//!   stored before: queries outside the repository keep working, binaries
//!   built before and after the rename land on the same series, and nothing
//!   is split or counted twice;
//! - every generated query (recording rules, alerts, dashboards) matches both
//!   values ([`widen`]), so it works on data stored either way (a Prometheus
//!   this repository does not configure, the history after the entry goes).
//!
//! Deleting the entry after its day makes Prometheus store the new value.
//!
//! The alias exists exactly while the spec says `renamed_from`: `gen` never
//! reads the clock. A deprecation past its `deprecated` day is a warning
//! ([`warnings`]) telling the author to delete `renamed_from`.

use std::sync::LazyLock;

use serde_json::{Value, json};

use crate::load::Loaded;
use crate::model::{LabelDef, LabelKind, Metric, MetricKind, Spec, ValueRename};
use crate::{diag::Diagnostic, names};

/// The label every alias series carries: the series it was copied from.
pub const ALIAS_LABEL: &str = "obspec_alias";

/// The rule group holding the alias rules (last group of the recording rules file).
pub const GROUP: &str = "obspec-aliases";

/// The series names of a metric family: itself, or a histogram's three.
pub fn series(name: &str, kind: MetricKind) -> Vec<String> {
    match kind {
        MetricKind::Histogram => ["_bucket", "_count", "_sum"].iter().map(|s| format!("{name}{s}")).collect(),
        MetricKind::Counter | MetricKind::Gauge => vec![name.to_owned()],
    }
}

/// The metrics with a declared rename, with their old names.
pub fn renamed(spec: &Spec) -> impl Iterator<Item = (&Metric, &str)> {
    spec.metrics.iter().filter_map(|m| m.renamed_from.as_deref().map(|old| (m, old)))
}

fn emitted(series: &str) -> String {
    format!("{series}{{{ALIAS_LABEL}=\"\"}}")
}

fn alias_rule(record: &str, from: &str) -> Value {
    json!({
        "record": record,
        "expr": format!("{} unless {}", emitted(from), emitted(record)),
        "labels": { ALIAS_LABEL: from },
    })
}

/// The alias rules of every declared rename, both ways, in spec order.
pub fn alias_rules(spec: &Spec) -> Vec<Value> {
    let mut out = Vec::new();
    for (m, old) in renamed(spec) {
        for (new_s, old_s) in series(&m.name, m.kind).iter().zip(series(old, m.kind)) {
            out.push(alias_rule(&old_s, new_s));
            out.push(alias_rule(new_s, &old_s));
        }
    }
    out
}

/// The `obspec-aliases` rule group, when the spec declares a rename.
pub fn alias_group(spec: &Spec) -> Option<Value> {
    let rules = alias_rules(spec);
    (!rules.is_empty()).then(|| json!({ "name": GROUP, "rules": rules }))
}

/// The labels with a declared rename, with their old names.
pub fn renamed_labels(spec: &Spec) -> impl Iterator<Item = (&LabelDef, &str)> {
    spec.labels.iter().filter_map(|l| l.renamed_from.as_deref().map(|old| (l, old)))
}

/// The old name a label is also written under while its rename lasts.
pub fn label_alias<'a>(spec: &'a Spec, label: &str) -> Option<&'a str> {
    spec.labels.iter().find(|l| l.name == label).and_then(|l| l.renamed_from.as_deref())
}

/// The renamed values of closed labels, with their label, in spec order.
pub fn renamed_values(spec: &Spec) -> impl Iterator<Item = (&LabelDef, &ValueRename)> {
    spec.labels.iter().flat_map(|l| l.renamed_values.iter().map(move |r| (l, r)))
}

/// The `metric_relabel_configs` of every scrape job while renames last
/// (empty without them):
///
/// - a renamed label is copied from its old name where a series lacks the
///   new one (binaries built before the rename), so generated queries, which
///   select and group by the new name, read old binaries too;
/// - a renamed value is stored under its old name.
pub fn metric_relabel_configs(spec: &Spec) -> Vec<Value> {
    let labels = renamed_labels(spec).map(|(l, old)| {
        json!({
            "source_labels": [l.name, old],
            "regex": ";(.+)",
            "target_label": l.name,
            "replacement": "$1",
        })
    });
    let values = renamed_values(spec).map(|(l, r)| {
        json!({
            "source_labels": [l.name],
            "regex": regex::escape(&r.value),
            "target_label": l.name,
            // `$` starts a group reference in a replacement.
            "replacement": r.renamed_from.replace('$', "$$"),
        })
    });
    labels.chain(values).collect()
}

/// A label matcher in PromQL text: name, operator, quoted value.
static MATCHER: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r#"\b([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)""#)
        .unwrap_or_else(|e| unreachable!("the matcher pattern is valid: {e}"))
});

/// `expr` with every matcher that selects a renamed value widened to its old
/// value too (`ok="failed"` → `ok=~"failed|false"`, `ok=~"f.*"` →
/// `ok=~"f.*|false"`; `!=` and `!~` likewise), so the query reads the series
/// whichever name it was stored under. Unchanged without renamed values.
pub fn widen(spec: &Spec, expr: &str) -> String {
    if renamed_values(spec).next().is_none() {
        return expr.to_owned();
    }
    MATCHER
        .replace_all(expr, |c: &regex::Captures<'_>| {
            let (whole, name, op, raw) = (&c[0], &c[1], &c[2], &c[3]);
            let Some(label) = spec.labels.iter().find(|l| l.name == name && !l.renamed_values.is_empty()) else {
                return whole.to_owned();
            };
            let value = raw.replace("\\\"", "\"").replace("\\\\", "\\");
            let (negated, mut pattern) = match op {
                "=" | "!=" => (op == "!=", regex::escape(&value)),
                _ => (op == "!~", value.clone()),
            };
            let selects = |v: &str| match op {
                "=" | "!=" => v == value,
                _ => regex::Regex::new(&format!("^(?:{value})$")).is_ok_and(|re| re.is_match(v)),
            };
            let mut widened = false;
            for r in label.renamed_values.iter().filter(|r| selects(&r.value) && !selects(&r.renamed_from)) {
                pattern = format!("{pattern}|{}", regex::escape(&r.renamed_from));
                widened = true;
            }
            if !widened {
                return whole.to_owned();
            }
            format!("{name}{}{}", if negated { "!~" } else { "=~" }, crate::promql::quote(&pattern))
        })
        .into_owned()
}

/// Whether `s` is a calendar date written `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else { return false };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1..=12).contains(&m) && d >= 1 && d <= days[(m - 1) as usize]
}

/// Today's date in UTC, `YYYY-MM-DD`, from the system clock: only for
/// warnings and `diff`, never for generated output.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    civil_date(secs / 86_400)
}

/// The `YYYY-MM-DD` of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The rename checks: `renamed_from` needs a `deprecated` day and names no
/// other metric or series; `deprecated` needs `renamed_from`.
pub(crate) fn check(cx: &mut crate::validate::Cx<'_>) {
    let spec = cx.spec;
    let mut taken: Vec<String> = spec.metrics.iter().flat_map(|m| series(&m.name, m.kind)).collect();
    taken.extend(spec.metrics.iter().map(|m| m.name.clone()));
    let mut olds: Vec<&str> = Vec::new();
    for m in &spec.metrics {
        match (&m.renamed_from, &m.deprecated) {
            (None, None) => {}
            (None, Some(_)) => cx.err_key(
                &m.loc.key("deprecated"),
                format!("metric `{}` has `deprecated` but no `renamed_from`", m.name),
                "`deprecated` is the last day of a rename's alias: add `renamed_from: <old name>`, or remove it",
            ),
            (Some(old), deprecated) => {
                let loc = m.loc.key("renamed_from");
                if !names::is_metric_name(old) {
                    cx.err(
                        &loc,
                        format!("`{old}` is not a valid Prometheus metric name"),
                        "write the metric's previous name",
                    );
                } else if old == &m.name || taken.iter().any(|t| t == old) || olds.contains(&old.as_str()) {
                    cx.err(
                        &loc,
                        format!(
                            "`renamed_from: {old}` of metric `{}` names a metric or series the spec already has",
                            m.name
                        ),
                        "the old name must be free: an alias rule records it",
                    );
                }
                olds.push(old);
                let what = format!("metric `{}`", m.name);
                let day = "the last day the old name is served by the alias";
                check_day(cx, &what, &m.loc, deprecated.as_deref(), day);
            }
        }
    }
    check_labels(cx);
}

/// A rename's `deprecated` day: present (else the error is at `renamed_from`) and a date.
fn check_day(cx: &mut crate::validate::Cx<'_>, what: &str, loc: &crate::model::Loc, day: Option<&str>, meaning: &str) {
    match day {
        None => cx.err_key(
            &loc.key("renamed_from"),
            format!("{what} has `renamed_from` but no `deprecated` day"),
            format!("add `deprecated: YYYY-MM-DD`, {meaning}"),
        ),
        Some(d) if !is_date(d) => cx.err(
            &loc.key("deprecated"),
            format!("`{d}` is not a date"),
            format!("write {meaning} as `YYYY-MM-DD` (UTC)"),
        ),
        Some(_) => {}
    }
}

/// The label rename checks: like the metric ones, and the old name is no
/// label of the spec (an emitter would write it twice).
fn check_labels(cx: &mut crate::validate::Cx<'_>) {
    let spec = cx.spec;
    let mut olds: Vec<&str> = Vec::new();
    for l in &spec.labels {
        match (&l.renamed_from, &l.deprecated) {
            (None, None) => {}
            (None, Some(_)) => cx.err_key(
                &l.loc.key("deprecated"),
                format!("label `{}` has `deprecated` but no `renamed_from`", l.name),
                "`deprecated` is the last day a renamed label is also written under its old name: add `renamed_from: <old name>`, or remove it",
            ),
            (Some(old), deprecated) => {
                let loc = l.loc.key("renamed_from");
                if !names::is_label_name(old) || old.starts_with("__") {
                    cx.err(&loc, format!("`{old}` is not a valid Prometheus label name"), "write the label's previous name");
                } else if old == &l.name
                    || spec.labels.iter().any(|o| &o.name == old)
                    || olds.contains(&old.as_str())
                    || old == ALIAS_LABEL
                {
                    cx.err(
                        &loc,
                        format!("`renamed_from: {old}` of label `{}` names a label the spec already has", l.name),
                        "the old name must be free: emitters write it beside the new one",
                    );
                }
                olds.push(old);
                let what = format!("label `{}`", l.name);
                check_day(cx, &what, &l.loc, deprecated.as_deref(), "the last day emitters also write the old name");
            }
        }
        check_values(cx, l);
    }
}

/// The value rename checks of one label: a closed label, the new value one of
/// its values, the old one none of them and renamed once, and a day.
fn check_values(cx: &mut crate::validate::Cx<'_>, l: &LabelDef) {
    if l.renamed_values.is_empty() {
        return;
    }
    if l.kind != LabelKind::Closed {
        cx.err_key(
            &l.loc.key("renamed_values"),
            format!("label `{}` is not `closed`: only a closed label's values can be renamed", l.name),
            "remove `renamed_values`; an open label's values are not declared, and ErrorTokens are renamed in `error_tokens`",
        );
        return;
    }
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, r) in l.renamed_values.iter().enumerate() {
        let loc = l.loc.key("renamed_values").index(i);
        if !l.values.contains(&r.value) {
            cx.err(
                &loc.key("value"),
                format!("`{}` is not a value of label `{}`", r.value, l.name),
                format!("name the value's new name, one of: {}", l.values.join(", ")),
            );
        }
        if r.renamed_from == r.value || l.values.contains(&r.renamed_from) {
            cx.err(
                &loc.key("renamed_from"),
                format!("`renamed_from: {}` is still a value of label `{}`", r.renamed_from, l.name),
                "remove the old value from `values` (Prometheus stores the new one under it while the rename lasts)",
            );
        } else if r.renamed_from.is_empty() {
            cx.err(&loc.key("renamed_from"), "the old value is empty".to_owned(), "write the value's previous name");
        }
        if seen.iter().any(|(v, o)| *v == r.value || *o == r.renamed_from) {
            cx.err(
                &loc,
                format!("value `{}` or `{}` of label `{}` is renamed twice", r.value, r.renamed_from, l.name),
                "keep one entry per value: a series is stored under one name",
            );
        }
        seen.push((&r.value, &r.renamed_from));
        let what = format!("value `{}` of label `{}`", r.value, l.name);
        check_day(cx, &what, &loc, r.deprecated.as_deref(), "the last day Prometheus stores the old value");
    }
}

/// Deprecations past their day, as of `today` (`YYYY-MM-DD`).
pub fn warnings_on(loaded: &Loaded, today: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (m, old) in renamed(&loaded.spec) {
        if let Some(d) = m.deprecated.as_deref().filter(|d| is_date(d) && *d < today) {
            out.push(loaded.sources.diag(
                &m.loc.key("deprecated"),
                format!("the deprecation of `{old}` (renamed to `{}`) ended on {d}", m.name),
                "delete `renamed_from` and `deprecated` from the metric and run `cargo xtask gen`: that drops the alias rules (gen never reads the clock)",
            ));
        }
    }
    for (l, old) in renamed_labels(&loaded.spec) {
        if let Some(d) = l.deprecated.as_deref().filter(|d| is_date(d) && *d < today) {
            out.push(loaded.sources.diag(
                &l.loc.key("deprecated"),
                format!("the deprecation of label `{old}` (renamed to `{}`) ended on {d}", l.name),
                "delete `renamed_from` and `deprecated` from the label and run `cargo xtask gen`: emitters then stop writing the old name",
            ));
        }
    }
    for (l, r) in renamed_values(&loaded.spec) {
        let Some(i) = l.renamed_values.iter().position(|x| x == r) else { continue };
        if let Some(d) = r.deprecated.as_deref().filter(|d| is_date(d) && *d < today) {
            out.push(loaded.sources.diag(
                &l.loc.key("renamed_values").index(i).key("deprecated"),
                format!("the deprecation of value `{}` of label `{}` (renamed to `{}`) ended on {d}", r.renamed_from, l.name, r.value),
                "delete the entry from `renamed_values` and run `cargo xtask gen`: Prometheus then stores the new value (do it at the start of an SLO period: rule windows reaching back before the reload read the new value only)",
            ));
        }
    }
    out
}

/// [`warnings_on`] as of today (UTC).
pub fn warnings(loaded: &Loaded) -> Vec<Diagnostic> {
    warnings_on(loaded, &today_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with_rename() -> Spec {
        let mut spec = Spec::default();
        spec.labels.push(LabelDef {
            loc: Default::default(),
            name: "ok".into(),
            help: String::new(),
            kind: LabelKind::Closed,
            values: vec!["true".into(), "failed".into()],
            none: None,
            max_values: None,
            renamed_from: None,
            deprecated: None,
            renamed_values: vec![ValueRename {
                value: "failed".into(),
                renamed_from: "false".into(),
                deprecated: Some("2027-03-31".into()),
            }],
            note: None,
        });
        spec
    }

    #[test]
    fn widen_matches_both_names_of_a_renamed_value() {
        let spec = spec_with_rename();
        let w = |e: &str| widen(&spec, e);
        assert_eq!(w(r#"jobs_total{ok="failed"}"#), r#"jobs_total{ok=~"failed|false"}"#);
        assert_eq!(w(r#"jobs_total{ok != "failed", x="failed"}"#), r#"jobs_total{ok!~"failed|false", x="failed"}"#);
        assert_eq!(w(r#"jobs_total{ok=~"fai.*"}"#), r#"jobs_total{ok=~"fai.*|false"}"#);
        assert_eq!(w(r#"jobs_total{ok!~"fail.*"}"#), r#"jobs_total{ok!~"fail.*|false"}"#);
        // Matchers that do not select the new value, or select both already, stay.
        for same in [
            r#"jobs_total{ok="true"}"#,
            r#"jobs_total{ok=~"t.*"}"#,
            r#"jobs_total{ok=~"f.*"}"#,
            r#"jobs_total{ok=~"failed|false"}"#,
            r#"jobs_total{nok="failed"}"#,
            r#"sum by (ok) (jobs_total)"#,
        ] {
            assert_eq!(w(same), same);
        }
        // Without renamed values, nothing changes.
        assert_eq!(widen(&Spec::default(), r#"jobs_total{ok="failed"}"#), r#"jobs_total{ok="failed"}"#);
        let relabel = metric_relabel_configs(&spec);
        assert_eq!(
            relabel,
            vec![json!({ "source_labels": ["ok"], "regex": "failed", "target_label": "ok", "replacement": "false" })]
        );
    }

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_454), "2026-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2026-13-01"));
        assert!(!is_date("2026-1-01"));
    }
}
