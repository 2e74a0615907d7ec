//! SLO checks beyond the shape of one field: the period against the metrics
//! retention, burn-rate tiers that can never fire, and windows longer than the
//! period (a warning).
//!
//! [`check`] returns errors and is called from [`crate::validate`]; [`warnings`]
//! returns problems that do not stop generation.

use crate::diag::Diagnostic;
use crate::load::{Loaded, SourceMap};
use crate::model::Spec;
use crate::names::{self, fmt_float};
use crate::render::prometheus::{burn_factor, enabled_windows, round};

/// Seconds in a day.
const DAY: u64 = 86_400;

/// The SLO errors of a spec: every SLO period fits in the metrics retention,
/// and every enabled burn-rate tier can fire (factor × error budget ≤ 1).
pub fn check(spec: &Spec, sm: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let retention_days = u64::from(spec.project.metrics_retention_days);
    for (s, loc) in spec.slos.iter().zip(&sm.slos) {
        let Some(period) = names::duration_seconds(&s.period) else { continue };
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
    out
}

/// The SLO warnings of a loaded spec: an enabled tier whose long window is
/// longer than the SLO period (it averages over more than the period it guards).
pub fn warnings(loaded: &Loaded) -> Vec<Diagnostic> {
    let (spec, sm) = (&loaded.spec, &loaded.sources);
    let mut out = Vec::new();
    for (s, loc) in spec.slos.iter().zip(&sm.slos) {
        let Some(period) = names::duration_seconds(&s.period) else { continue };
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
