//! Checks of the `slos` section: names, objectives, periods and SLIs; the
//! period against the metrics retention, burn-rate tiers that can never fire,
//! and (as a warning) windows longer than the period.

use super::Cx;
use crate::diag::Diagnostic;
use crate::load::Loaded;
use crate::lower::{burn_factor, enabled_windows, round};
use crate::model::*;
use crate::names::{self, fmt_float};

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("SLO", spec.slos.iter().map(|s| (s.name.as_str(), s.loc.key("name"))));
    for (s, loc) in spec.slos.iter().map(|x| (x, &x.loc)) {
        if !names::is_kebab(&s.name) {
            cx.err(
                &loc.key("name"),
                format!("SLO name `{}` is not kebab-case", s.name),
                "use lower-case words joined by `-`",
            );
        }
        cx.component_known(&s.component, &loc.key("component"));
        if !(s.objective > 0.0 && s.objective < 1.0) {
            cx.err(
                &loc.key("objective"),
                format!("objective {} is not between 0 and 1", s.objective),
                "write the fraction of good events, e.g. 0.99",
            );
        }
        if s.is_calendar() {
        } else if names::duration_seconds(&s.period).is_none() {
            cx.err(
                &loc.key("period"),
                format!("`{}` is neither a rolling window nor `calendar_month`", s.period),
                "write a Prometheus duration for a rolling window (`28d`, `30d`), or `calendar_month` for a budget per calendar month (UTC)",
            );
        } else if s.period_secs().is_some_and(|secs| secs < 86_400) {
            cx.err(&loc.key("period"), "an SLO period shorter than a day", "use 7d, 28d or 30d");
        }
        match (&s.ratio, &s.latency) {
            (Some(r), None) => {
                for (sel, key) in [(&r.errors, "errors"), (&r.total, "total")] {
                    let sloc = loc.key("ratio").key(key);
                    if let Some(m) = cx.selector(sel, &sloc)
                        && m.kind != MetricKind::Counter
                    {
                        cx.err(
                            &sloc,
                            format!("`{}` is a {:?}, not a counter", m.name, m.kind),
                            "a ratio SLI divides two counters",
                        );
                    }
                }
            }
            (None, Some(l)) => {
                let hloc = loc.key("latency").key("histogram");
                if let Some(m) = cx.selector(&l.histogram, &hloc) {
                    if m.kind != MetricKind::Histogram {
                        cx.err(&hloc, format!("`{}` is not a histogram", m.name), "a latency SLI needs a histogram");
                    } else if !m.buckets.iter().any(|b| names::same_bucket(*b, l.threshold)) {
                        let edges: Vec<String> = m.buckets.iter().map(|b| names::fmt_float(*b)).collect();
                        cx.err(
                            &loc.key("latency").key("threshold"),
                            format!("threshold {} is not a bucket edge of `{}`", names::fmt_float(l.threshold), m.name),
                            format!(
                                "use one of its buckets ({}) or add {} to them",
                                edges.join(", "),
                                names::fmt_float(l.threshold)
                            ),
                        );
                    }
                }
            }
            _ => cx.err_key(
                &loc.key("name"),
                format!("SLO `{}` needs exactly one of `ratio` or `latency`", s.name),
                "keep one SLI",
            ),
        }
        if s.min_rate < 0.0 {
            cx.err(
                &loc.key("min_rate"),
                "`min_rate` is negative",
                "set the least request rate (per second) for a page to fire",
            );
        }
    }
    budget(cx);
}

/// Seconds in a day.
const DAY: u64 = 86_400;

/// The SLO errors of a spec: every SLO period fits in the metrics retention,
/// and every enabled burn-rate tier can fire (factor × error budget ≤ 1).
fn budget(cx: &mut Cx<'_>) {
    let (spec, sm, out) = (cx.spec, cx.sm, &mut cx.out);
    let retention_days = u64::from(spec.project.metrics_retention_days);
    for (s, loc) in spec.slos.iter().map(|x| (x, &x.loc)) {
        // A calendar month's counts reach back to the month's start: up to 31 days.
        let Some(period) = (if s.is_calendar() { Some(31 * DAY) } else { names::duration_seconds(&s.period) }) else {
            continue;
        };
        if retention_days > 0 && period > retention_days * DAY {
            out.push(sm.diag(
                &loc.key("period"),
                format!(
                    "SLO `{}` has a period of {} but metrics are kept {} days (`project.metrics_retention_days`)",
                    s.name, s.period, retention_days
                ),
                format!(
                    "every period series would silently cover at most {retention_days} days: shorten the period, or raise the retention to at least {} days with a resolution saying why",
                    period.div_ceil(DAY)
                ),
            ));
        }
        if !(s.objective > 0.0 && s.objective < 1.0) {
            continue; // reported by the objective check
        }
        let budget = round(1.0 - s.objective);
        for w in enabled_windows(s) {
            let factor = burn_factor(w, period);
            if factor * budget > 1.0 {
                let tier = w.tier.as_str();
                out.push(sm.diag(
                    &loc.key("objective"),
                    format!(
                        "burn-rate tier `{tier}` of SLO `{}` can never fire: factor {} × error budget {} = {} > 1 over {}/{}",
                        s.name,
                        fmt_float(factor),
                        fmt_float(budget),
                        fmt_float(round(factor * budget)),
                        w.short,
                        w.long
                    ),
                    format!(
                        "an error ratio cannot exceed 1: raise the objective, or switch the tier off with `tiers: {{ {tier}: false }}`"
                    ),
                ));
            }
        }
    }
}

/// The SLO warnings of a loaded spec: an enabled tier whose long window is
/// longer than the SLO period (it averages over more than the period it guards).
pub fn warnings(loaded: &Loaded) -> Vec<Diagnostic> {
    let (spec, sm) = (&loaded.spec, &loaded.sources);
    let mut out = Vec::new();
    for (s, loc) in spec.slos.iter().map(|x| (x, &x.loc)) {
        let Some(period) = s.period_secs() else { continue };
        for w in enabled_windows(s) {
            if names::duration_seconds(w.long).is_some_and(|long| long > period) {
                let tier = w.tier.as_str();
                out.push(sm.diag(
                    &loc.key("period"),
                    format!(
                        "burn-rate tier `{tier}` of SLO `{}` looks back {}, longer than its period of {}",
                        s.name, w.long, s.period
                    ),
                    format!("lengthen the period, or switch the tier off with `tiers: {{ {tier}: false }}`"),
                ));
            }
        }
    }
    out
}
