//! The recording-rule naming scheme for SLOs, shared by the rules renderer,
//! dashboards and the PromQL checker.
//!
//! Names follow sloth's `slo:<what>:<kind>` family; every series carries the
//! labels `slo` and `component`.

use crate::model::Spec;
use crate::promql::Catalog;

/// Windows over which every SLI is recorded.
pub const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// Labels on every SLO recording rule.
pub const SLO_LABELS: [&str; 2] = ["slo", "component"];

/// Error ratio over a window: `slo:sli_error:ratio_rate5m`.
pub fn error_ratio(window: &str) -> String {
    format!("slo:sli_error:ratio_rate{window}")
}

/// Event (request) rate over a window: `slo:sli_events:rate5m`.
pub fn event_rate(window: &str) -> String {
    format!("slo:sli_events:rate{window}")
}

/// Bad-event rate over a window: `slo:sli_bad_events:rate5m` (recorded for 5m only,
/// 0 when there is traffic but no bad event), summed over the period with
/// [`event_rate`] to give the event-weighted period error ratio.
pub fn bad_event_rate(window: &str) -> String {
    format!("slo:sli_bad_events:rate{window}")
}

/// Prometheus's own per-target scrape health series, which absent-SLI alerts read.
pub const UP: &str = "up";

/// The SLO's objective (0.99).
pub const OBJECTIVE: &str = "slo:objective:ratio";
/// The error budget, `1 - objective`.
pub const ERROR_BUDGET: &str = "slo:error_budget:ratio";
/// Burn rate over the shortest window.
pub const CURRENT_BURN_RATE: &str = "slo:current_burn_rate:ratio";
/// Error ratio over the whole SLO period.
pub const PERIOD_ERROR_RATIO: &str = "slo:sli_error:ratio_rate_period";
/// Burn rate over the whole SLO period.
pub const PERIOD_BURN_RATE: &str = "slo:period_burn_rate:ratio";
/// Fraction of the period's error budget left.
pub const BUDGET_REMAINING: &str = "slo:period_error_budget_remaining:ratio";

/// Events counted since the calendar month began (SLOs with `period: calendar_month`).
pub const EVENTS_MONTH: &str = "slo:sli_events:count_month";
/// Bad events counted since the calendar month began.
pub const BAD_EVENTS_MONTH: &str = "slo:sli_bad_events:count_month";
/// Fraction of the calendar month elapsed, to set the budget spent against.
pub const PERIOD_ELAPSED: &str = "slo:period_elapsed:ratio";
/// The window whose recorded rates a calendar month is summed from (one subquery step).
pub const MONTH_STEP: &str = "1h";

/// The recording rules only `calendar_month` SLOs have.
pub fn calendar_names() -> Vec<String> {
    vec![bad_event_rate(MONTH_STEP), EVENTS_MONTH.to_owned(), BAD_EVENTS_MONTH.to_owned(), PERIOD_ELAPSED.to_owned()]
}

/// Every recording rule name the scheme defines.
pub fn all_names() -> Vec<String> {
    let mut names: Vec<String> = WINDOWS.iter().map(|w| error_ratio(w)).collect();
    names.extend(WINDOWS.iter().map(|w| event_rate(w)));
    names.push(bad_event_rate(WINDOWS[0]));
    names.push(bad_event_rate(MONTH_STEP));
    names.extend(
        [
            OBJECTIVE,
            ERROR_BUDGET,
            CURRENT_BURN_RATE,
            PERIOD_ERROR_RATIO,
            PERIOD_BURN_RATE,
            BUDGET_REMAINING,
            EVENTS_MONTH,
            BAD_EVENTS_MONTH,
            PERIOD_ELAPSED,
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    names
}

/// The PromQL catalog of a spec: its metrics plus obspec's recording rules.
pub fn catalog(spec: &Spec) -> Catalog {
    let mut cat = Catalog::new(spec);
    for name in all_names() {
        cat.add_recording_rule(&name, SLO_LABELS.iter().map(|s| (*s).to_owned()));
    }
    cat.add_recording_rule(UP, crate::promql::TARGET_LABELS.iter().map(|s| (*s).to_owned()));
    // A renamed metric's old series are recorded by the alias rules, and both
    // names carry the alias marker label.
    for (m, old) in crate::rename::renamed(spec) {
        let mut labels: Vec<String> = m.labels.clone();
        labels.extend(crate::promql::TARGET_LABELS.iter().map(|s| (*s).to_owned()));
        labels.push(crate::rename::ALIAS_LABEL.to_owned());
        for (new_s, old_s) in crate::rename::series(&m.name, m.kind).iter().zip(crate::rename::series(old, m.kind)) {
            let mut l = labels.clone();
            if new_s.ends_with("_bucket") && m.kind == crate::model::MetricKind::Histogram {
                l.push("le".to_owned());
            }
            cat.add_recording_rule(&old_s, l.clone());
            cat.add_recording_rule(new_s, [crate::rename::ALIAS_LABEL.to_owned()]);
        }
    }
    cat
}
