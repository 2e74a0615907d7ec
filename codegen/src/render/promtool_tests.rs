//! promtool unit tests for every alert, derived from the spec's thresholds.
//!
//! Each alert gets input series that must fire it (checked with its exact
//! labels and annotations) and series just under its threshold that must not,
//! so changing a threshold in the spec changes the tests with the rules.
//!
//! A steady error ratio is the same over every window, so a burn-rate tier is
//! tested without filling its long window: the tests run for the `for` duration
//! and the time the traffic guard needs, a few dozen evaluations. Only the
//! traffic-floor tests fill the guard window, the tickets' at a 15-minute step.

use promql_parser::label::{MatchOp, Matcher};
use serde_json::{Value, json};

use super::{header, yaml};
use crate::lower::{
    self, AlertRuleOut, BurnWindow, burn_factor, burn_for, burn_threshold, enabled_windows, guard_window, round,
    slo_alerts, slo_camel,
};
use crate::model::*;
use crate::names::{self, fmt_float};
use crate::output::GeneratedFile;
use crate::promql;
use crate::rules;

/// Samples per minute of the synthetic total counters (10 events/s).
const PER_MIN: f64 = 600.0;

/// Candidate values for an open label, tried in order.
fn open_candidates(label: &str) -> Vec<String> {
    let v: &[&str] = if label == "route" { &["/v1/test", "/_ops"] } else { &["t1", "t2"] };
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn satisfies(value: &str, m: &Matcher) -> bool {
    let re = |r: &regex::Regex| regex::Regex::new(&format!("^(?:{})$", r.as_str())).is_ok_and(|a| a.is_match(value));
    match &m.op {
        MatchOp::Equal => value == m.value,
        MatchOp::NotEqual => value != m.value,
        MatchOp::Re(r) => re(r),
        MatchOp::NotRe(r) => !re(r),
    }
}

fn candidates(spec: &Spec, label: &str) -> Vec<String> {
    match spec.labels.iter().find(|l| l.name == label) {
        Some(l) => match crate::promql::closed_values(spec, l) {
            // Spec order reads better than sorted order for closed sets.
            Some(_) if l.kind == LabelKind::Closed => l.values.clone(),
            Some(set) => {
                let mut v: Vec<String> = l.none.iter().cloned().collect();
                v.extend(set.into_iter().filter(|x| Some(x) != l.none.as_ref()));
                v
            }
            None => open_candidates(label),
        },
        None => open_candidates(label),
    }
}

/// Labels of a series of `metric` that satisfies every matcher in `must` and,
/// when `avoid` is given, fails at least one of its matchers.
fn series_labels(spec: &Spec, metric: &Metric, must: &[&Matcher], avoid: Option<&[Matcher]>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut avoided = avoid.is_none_or(|a| a.is_empty());
    for label in &metric.labels {
        let on_label: Vec<&&Matcher> = must.iter().filter(|m| &m.name == label).collect();
        let to_avoid: Vec<&Matcher> = avoid.unwrap_or(&[]).iter().filter(|m| &m.name == label).collect();
        let cands = candidates(spec, label);
        let ok = |v: &str| on_label.iter().all(|m| satisfies(v, m));
        let chosen = if !avoided && !to_avoid.is_empty() {
            match cands.iter().find(|v| ok(v) && to_avoid.iter().any(|m| !satisfies(v, m))) {
                Some(v) => {
                    avoided = true;
                    Some(v.clone())
                }
                None => cands.iter().find(|v| ok(v)).cloned(),
            }
        } else {
            cands.iter().find(|v| ok(v)).cloned()
        };
        out.push((label.clone(), chosen.unwrap_or_else(|| "x".to_owned())));
    }
    out
}

fn series_text(name: &str, labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={}", promql::quote(v))).collect();
    format!("{name}{{{}}}", parts.join(", "))
}

/// A counter growing by `per_min` every minute for `minutes` minutes.
fn counter(per_min: f64, minutes: u64) -> String {
    format!("0+{}x{minutes}", fmt_float(round(per_min)))
}

fn metric<'a>(spec: &'a Spec, name: &str) -> Option<&'a Metric> {
    spec.metrics.iter().find(|m| m.name == name)
}

/// The values of a counter growing by a rate a minute (the argument).
type Shape<'a> = &'a dyn Fn(f64) -> String;

/// A counter growing by `per_min` a minute for `active` minutes, then flat for `lull` minutes.
///
/// promtool expands `0+axn` by repeated addition, so the flat part repeats the
/// value that addition reaches (printed exactly): a rounded value a hair lower
/// would read as a counter reset.
fn lull_counter(per_min: f64, active: u64, lull: u64) -> String {
    let step = fmt_float(round(per_min));
    let inc: f64 = step.parse().unwrap_or(0.0);
    let last = (0..active).fold(0.0_f64, |acc, _| acc + inc);
    format!("0+{step}x{active} {last}+0x{lull}")
}

/// Input series for a bad-event ratio `ratio` at `per_min` total events a minute.
fn ratio_series(spec: &Spec, errors: &str, total: &str, ratio: f64, per_min: f64, minutes: u64) -> Vec<Value> {
    ratio_series_shaped(spec, errors, total, ratio, per_min, &|r| counter(r, minutes))
}

/// [`ratio_series`] with counters of any shape.
fn ratio_series_shaped(spec: &Spec, errors: &str, total: &str, ratio: f64, per_min: f64, shape: Shape) -> Vec<Value> {
    let (Ok((en, em)), Ok((tn, tm))) = (promql::parse_selector(errors), promql::parse_selector(total)) else {
        return Vec::new();
    };
    let Some(m) = metric(spec, &en) else { return Vec::new() };
    let mut must_bad: Vec<&Matcher> = em.iter().collect();
    must_bad.extend(tm.iter());
    let bad = series_labels(spec, m, &must_bad, None);
    let good = series_labels(spec, m, &tm.iter().collect::<Vec<_>>(), Some(&em));
    let mut out = vec![json!({ "series": series_text(&en, &bad), "values": shape(per_min * ratio) })];
    if tn == en {
        out.push(json!({ "series": series_text(&tn, &good), "values": shape(per_min * (1.0 - ratio)) }));
    }
    out
}

/// Input series for a latency SLI: `ratio` of events slower than the threshold.
fn latency_series(spec: &Spec, l: &LatencySli, ratio: f64, per_min: f64, shape: Shape) -> Vec<Value> {
    let Ok((hn, hm)) = promql::parse_selector(&l.histogram) else { return Vec::new() };
    let Some(m) = metric(spec, &hn) else { return Vec::new() };
    let labels = series_labels(spec, m, &hm.iter().collect::<Vec<_>>(), None);
    let mut bucket = labels.clone();
    bucket.push(("le".to_owned(), fmt_float(l.threshold)));
    vec![
        json!({ "series": series_text(&format!("{hn}_count"), &labels), "values": shape(per_min) }),
        json!({ "series": series_text(&format!("{hn}_bucket"), &bucket), "values": shape(per_min * (1.0 - ratio)) }),
    ]
}

fn sli_series(spec: &Spec, slo: &Slo, ratio: f64, per_min: f64, minutes: u64) -> Vec<Value> {
    sli_series_shaped(spec, slo, ratio, per_min, &|r| counter(r, minutes))
}

fn sli_series_shaped(spec: &Spec, slo: &Slo, ratio: f64, per_min: f64, shape: Shape) -> Vec<Value> {
    match (&slo.ratio, &slo.latency) {
        (Some(r), _) => ratio_series_shaped(spec, &r.errors, &r.total, ratio, per_min, shape),
        (_, Some(l)) => latency_series(spec, l, ratio, per_min, shape),
        _ => Vec::new(),
    }
}

fn expected(alert: &AlertRuleOut, extra_labels: &[(String, String)], fire: bool) -> Value {
    if !fire {
        return json!([]);
    }
    let mut labels = alert.labels.clone();
    for (k, v) in extra_labels {
        labels.insert(k.clone(), Value::String(v.clone()));
    }
    let mut annotations = alert.annotations.clone();
    for (k, v) in extra_labels {
        for a in annotations.values_mut() {
            if let Value::String(s) = a {
                *s = s.replace(&format!("{{{{ $labels.{k} }}}}"), v);
            }
        }
    }
    json!([{ "exp_labels": Value::Object(labels), "exp_annotations": Value::Object(annotations) }])
}

fn case(
    name: String,
    series: Vec<Value>,
    eval_min: u64,
    alert: &AlertRuleOut,
    extra: &[(String, String)],
    fire: bool,
) -> Value {
    case_every(1, name, series, eval_min, alert, extra, fire)
}

/// A test case whose series have one sample every `step` minutes.
fn case_every(
    step: u64,
    name: String,
    series: Vec<Value>,
    eval_min: u64,
    alert: &AlertRuleOut,
    extra: &[(String, String)],
    fire: bool,
) -> Value {
    json!({
        "name": name,
        "interval": format!("{step}m"),
        "input_series": series,
        "alert_rule_test": [{
            "eval_time": format!("{eval_min}m"),
            "alertname": alert.name,
            "exp_alerts": expected(alert, extra, fire),
        }],
    })
}

fn minutes(d: &str) -> u64 {
    names::duration_seconds(d).unwrap_or(60).div_ceil(60)
}

/// Minutes between samples (and rule evaluations) of the ticket traffic-floor
/// tests, which fill a one-day guard window.
const FLOOR_STEP: u64 = 15;

/// The exp_alerts of `alert_name` when the tiers in `firing` fire.
fn tiers_expected(alerts: &[AlertRuleOut], alert_name: &str, firing: &[&BurnWindow]) -> Value {
    let mut out = Vec::new();
    for a in alerts.iter().filter(|a| a.name == alert_name) {
        let tier = a.labels.get(lower::BURN_TIER_LABEL).and_then(Value::as_str);
        if firing.iter().any(|w| Some(w.tier.as_str()) == tier) {
            out.push(json!({
                "exp_labels": Value::Object(a.labels.clone()),
                "exp_annotations": Value::Object(a.annotations.clone()),
            }));
        }
    }
    Value::Array(out)
}

fn burn_alert_name(slo: &Slo, severity: Severity) -> String {
    let sev = if severity == Severity::Page { "Page" } else { "Ticket" };
    format!("{}BurnRate{sev}", slo_camel(&slo.name))
}

/// A test case checking several alert names at one evaluation time.
fn multi_case(step: u64, name: String, series: Vec<Value>, eval_min: u64, checks: Vec<(String, Value)>) -> Value {
    let tests: Vec<Value> = checks
        .into_iter()
        .map(|(alert, exp)| json!({ "eval_time": format!("{eval_min}m"), "alertname": alert, "exp_alerts": exp }))
        .collect();
    json!({ "name": name, "interval": format!("{step}m"), "input_series": series, "alert_rule_test": tests })
}

/// Minutes of steady traffic at `per_min` events a minute before the guard of a
/// severity (its event rate over `guard_window`) reaches the SLO's `min_rate`.
fn guard_fill(slo: &Slo, severity: Severity, per_min: f64) -> u64 {
    let guard = names::duration_seconds(guard_window(severity)).unwrap_or(3600) as f64;
    (slo.min_rate * guard / per_min).ceil() as u64 + 2
}

/// Burn-rate cases of one SLO at a one-minute step: each enabled tier fires at
/// 1.1× its threshold and not at 0.9× (with exactly the tiers of both
/// severities whose thresholds the ratio exceeds), all fire at 100% errors and
/// none at exactly the objective; then the page traffic floor and the absent alert.
fn slo_burn_cases(spec: &Spec, slo: &Slo) -> Vec<Value> {
    let alerts = slo_alerts(spec, slo);
    let tiers: Vec<&BurnWindow> = enabled_windows(slo).collect();
    let budget = round(1.0 - slo.objective);
    let mut out = Vec::new();
    let eval = [Severity::Page, Severity::Ticket]
        .iter()
        .map(|s| guard_fill(slo, *s, PER_MIN) + minutes(burn_for(*s)) + 3)
        .max()
        .unwrap_or(30);
    let run = eval + 2;
    let checks = |ratio: f64| -> Vec<(String, Value)> {
        [Severity::Page, Severity::Ticket]
            .iter()
            .map(|sev| {
                let firing: Vec<&BurnWindow> =
                    tiers.iter().copied().filter(|w| w.severity == *sev && burn_threshold(w, slo) < ratio).collect();
                let name = burn_alert_name(slo, *sev);
                let exp = tiers_expected(&alerts, &name, &firing);
                (name, exp)
            })
            .collect()
    };
    for w in &tiers {
        let thr = burn_threshold(w, slo);
        let factor = fmt_float(burn_factor(w, slo.period_secs().unwrap_or(30 * 86_400)));
        for (mult, verb) in [(1.1, "fires"), (0.9, "stays quiet")] {
            let ratio = (thr * mult).min(1.0);
            if mult > 1.0 && ratio <= thr {
                continue; // the threshold is too close to 1 to exceed by 10%
            }
            out.push(multi_case(
                1,
                format!("{} {verb} at {mult}x its {factor}x burn threshold {}", tier_title(slo, w), fmt_float(thr)),
                sli_series(spec, slo, ratio, PER_MIN, run),
                eval,
                checks(ratio),
            ));
        }
    }
    out.push(multi_case(
        1,
        format!("every enabled burn-rate tier of SLO {} fires at 100% errors", slo.name),
        sli_series(spec, slo, 1.0, PER_MIN, run),
        eval,
        checks(1.0),
    ));
    out.push(multi_case(
        1,
        format!("no burn-rate tier of SLO {} fires at exactly the objective {}", slo.name, fmt_float(slo.objective)),
        sli_series(spec, slo, budget, PER_MIN, run),
        eval,
        checks(budget),
    ));
    // The page guard (1h) is cheap to fill at this step: 100% errors fire the
    // pages at twice the minimum traffic, and nothing at half of it.
    let page_tiers: Vec<&BurnWindow> = tiers.iter().copied().filter(|w| w.severity == Severity::Page).collect();
    if !page_tiers.is_empty() && slo.min_rate > 0.0 {
        out.extend(floor_cases(spec, slo, &alerts, Severity::Page, &page_tiers, 1));
    }
    out.extend(absent_cases(spec, slo, &alerts));
    out
}

fn tier_title(slo: &Slo, w: &BurnWindow) -> String {
    format!("{} {} ({}/{})", slo.name, w.tier.as_str(), w.short, w.long)
}

/// The traffic-floor cases of one severity: with every event bad, the tiers
/// fire at twice `min_rate` over the full guard window and stay quiet at half of it.
fn floor_cases(
    spec: &Spec,
    slo: &Slo,
    alerts: &[AlertRuleOut],
    severity: Severity,
    tiers: &[&BurnWindow],
    step: u64,
) -> Vec<Value> {
    let guard = minutes(guard_window(severity));
    let for_min = minutes(burn_for(severity));
    let eval = (guard + for_min + 2 * step).next_multiple_of(step);
    let run = eval / step + 2;
    let name = burn_alert_name(slo, severity);
    [(2.0, "fire at twice", true), (0.5, "stay quiet at half", false)]
        .into_iter()
        .map(|(mult, words, fire)| {
            let per_step = slo.min_rate * mult * 60.0 * step as f64;
            let exp = tiers_expected(alerts, &name, if fire { tiers } else { &[] });
            multi_case(
                step,
                format!(
                    "{name} tiers {words} the minimum traffic of {}/s over {}, all events bad",
                    fmt_float(slo.min_rate),
                    guard_window(severity)
                ),
                sli_series(spec, slo, 1.0, per_step, run),
                eval,
                vec![(name.clone(), exp)],
            )
        })
        .collect()
}

/// The absent-SLI cases: fires when the SLI cannot be evaluated, stays quiet
/// when the service is scraped but idle.
fn absent_cases(spec: &Spec, slo: &Slo, alerts: &[AlertRuleOut]) -> Vec<Value> {
    let Some(alert) = alerts.iter().find(|a| a.name.ends_with("SliAbsent")) else { return Vec::new() };
    let up = |v: u32| json!({ "series": format!("{}{{job={}}}", rules::UP, promql::quote(&slo.component)), "values": format!("{v}x30") });
    let (missing, idle) = if alert.expr.starts_with(&format!("absent({}{{", rules::UP)) {
        // Keyed on the scrape: a failing scrape fires, an idle service with no SLI series does not.
        (vec![up(0)], vec![up(1)])
    } else {
        // Pre-initialised SLI: absent only when not scraped; at zero traffic it is 0, not absent.
        (vec![up(1)], sli_series(spec, slo, 0.0, 0.0, 30))
    };
    let mut fire = case(format!("{} fires when the SLI cannot be scraped", alert.name), missing, 20, alert, &[], true);
    if let (Value::Object(m), Some(series)) = (&mut fire, lower::absent_series(slo)) {
        m.insert("_absent".into(), json!([series]));
    }
    vec![
        fire,
        case(format!("{} stays quiet while the service is scraped but idle", alert.name), idle, 20, alert, &[], false),
    ]
}

/// The remaining-budget case of one SLO: low traffic (one event a minute) at
/// half the error budget, then a 10-minute lull with no event at all. In the
/// lull the 5m error ratio has no sample (not NaN), and the remaining budget
/// stays a number, one half.
fn budget_case(spec: &Spec, slo: &Slo) -> Value {
    let (active, lull) = (20, 10);
    let eval = active + lull - 1;
    let budget = round(1.0 - slo.objective);
    let sel = |name: &str| format!("{name}{{slo={}}}", promql::quote(&slo.name));
    json!({
        "name": format!("SLO {}: a 10-minute lull at one event a minute keeps the remaining budget a number in [0, 1]", slo.name),
        "interval": "1m",
        "input_series": sli_series_shaped(spec, slo, budget / 2.0, 1.0, &|r| lull_counter(r, active, lull)),
        "promql_expr_test": [
            {
                "expr": sel(&rules::error_ratio(rules::WINDOWS[0])),
                "eval_time": format!("{eval}m"),
                "exp_samples": [],
            },
            {
                "expr": format!("count(abs({} - 0.5) < 1e-6)", sel(rules::BUDGET_REMAINING)),
                "eval_time": format!("{eval}m"),
                "exp_samples": [{ "labels": "{}", "value": 1 }],
            },
            {
                "expr": format!("count({} >= 0 <= 1)", sel(rules::BUDGET_REMAINING)),
                "eval_time": format!("{eval}m"),
                "exp_samples": [{ "labels": "{}", "value": 1 }],
            },
        ],
    })
}

/// Hours in January 1970, where promtool's clock starts: February begins at 744h (31d).
const JANUARY_HOURS: u64 = 744;
/// Hours of February 1970 the calendar cases run into.
const FEBRUARY_HOURS: u64 = 48;

/// The month-boundary case of a `calendar_month` SLO, evaluated every 30m on
/// samples every 5m: 3600 events an hour, half the error budget spent in January and twice the
/// budget in February. On January 31st the month's counts hold 30 days and
/// half the budget is left; on February 2nd they hold only February's 24
/// hours (the January hours are not counted) and the budget is overspent
/// (remaining -1), and half an hour into February, before any full hour, the
/// hour under way counts already; the elapsed share follows `day_of_month()`/`days_in_month()`.
fn calendar_case(spec: &Spec, slo: &Slo) -> Value {
    let budget = round(1.0 - slo.objective);
    let per_hour = 3600.0;
    // Samples every 5m, so the 5m rates of the hour under way exist too.
    let per_step = per_hour / 12.0;
    let (jan_steps, feb_steps) = (JANUARY_HOURS * 12, FEBRUARY_HOURS * 12);
    let step = |r: f64| fmt_float(round(r));
    let jan = sli_series_shaped(spec, slo, budget / 2.0, per_step, &step);
    let feb = sli_series_shaped(spec, slo, budget * 2.0, per_step, &step);
    let series: Vec<Value> = jan
        .iter()
        .zip(&feb)
        .map(|(j, f)| {
            let a = j["values"].as_str().unwrap_or("0").to_owned();
            let b = f["values"].as_str().unwrap_or("0").to_owned();
            let (ai, bi): (f64, f64) = (a.parse().unwrap_or(0.0), b.parse().unwrap_or(0.0));
            // promtool expands `0+axn` by repeated addition: continue from the value it reaches.
            let last = (0..jan_steps).fold(0.0_f64, |acc, _| acc + ai);
            json!({
                "series": j["series"],
                "values": format!("0+{a}x{jan_steps} {}+{b}x{}", fmt_float(last + bi), feb_steps - 1),
            })
        })
        .collect();
    let sel = |name: &str| format!("{name}{{slo={}}}", promql::quote(&slo.name));
    let near = |name: &str, v: f64, eps: &str, minutes: u64| {
        json!({
            "expr": format!("count(abs({} - {}) < {eps})", sel(name), fmt_float(v)),
            "eval_time": format!("{minutes}m"),
            "exp_samples": [{ "labels": "{}", "value": 1 }],
        })
    };
    let jan_end = (JANUARY_HOURS - 24) * 60;
    let feb_2 = (JANUARY_HOURS + 24) * 60;
    // Half an hour into February: no full hour yet, the hour under way counts.
    let feb_1 = JANUARY_HOURS * 60 + 30;
    json!({
        "name": format!("SLO {}: the calendar month's budget counts January until its end and only February after it", slo.name),
        "interval": "5m",
        "input_series": series,
        "promql_expr_test": [
            near(rules::EVENTS_MONTH, (jan_end as f64) / 60.0 * per_hour, "1e-3", jan_end),
            near(rules::BUDGET_REMAINING, 0.5, "1e-6", jan_end),
            near(rules::PERIOD_ELAPSED, 30.0 / 31.0, "1e-9", jan_end),
            near(rules::EVENTS_MONTH, per_hour / 2.0, "1e-6", feb_1),
            near(rules::BUDGET_REMAINING, -1.0, "1e-6", feb_1),
            near(rules::EVENTS_MONTH, 24.0 * per_hour, "1e-3", feb_2),
            near(rules::BUDGET_REMAINING, -1.0, "1e-6", feb_2),
            near(rules::PERIOD_ELAPSED, 1.0 / 28.0, "1e-9", feb_2),
        ],
    })
}

/// The ticket traffic-floor cases of one SLO, at a [`FLOOR_STEP`] step.
fn slo_ticket_floor_cases(spec: &Spec, slo: &Slo) -> Vec<Value> {
    let alerts = slo_alerts(spec, slo);
    let tiers: Vec<&BurnWindow> = enabled_windows(slo).filter(|w| w.severity == Severity::Ticket).collect();
    if tiers.is_empty() || slo.min_rate <= 0.0 {
        return Vec::new();
    }
    floor_cases(spec, slo, &alerts, Severity::Ticket, &tiers, FLOOR_STEP)
}

fn histogram_series(spec: &Spec, selector: &str, bucket_idx: usize, per_min: f64, minutes: u64) -> Vec<Value> {
    let Ok((hn, hm)) = promql::parse_selector(selector) else { return Vec::new() };
    let Some(m) = metric(spec, &hn) else { return Vec::new() };
    let labels = series_labels(spec, m, &hm.iter().collect::<Vec<_>>(), None);
    let mut out = Vec::new();
    let bounds: Vec<String> = m.buckets.iter().map(|b| fmt_float(*b)).chain(["+Inf".to_owned()]).collect();
    for (i, le) in bounds.iter().enumerate() {
        let mut l = labels.clone();
        l.push(("le".to_owned(), le.clone()));
        let rate = if i >= bucket_idx { per_min } else { 0.0 };
        out.push(json!({ "series": series_text(&format!("{hn}_bucket"), &l), "values": counter(rate, minutes) }));
    }
    out.push(json!({ "series": series_text(&format!("{hn}_count"), &labels), "values": counter(per_min, minutes) }));
    out
}

/// Test cases for one blueprint alert.
fn blueprint_cases(spec: &Spec, a: &Alert) -> Vec<Value> {
    let alert = lower::blueprint_alert(spec, a);
    let for_min = minutes(&a.for_);
    match &a.rule {
        AlertRule::QuantileAbove { histogram, threshold, windows, min_rate, .. } => {
            let Some(m) = promql::parse_selector(histogram).ok().and_then(|(n, _)| metric(spec, &n)) else {
                return Vec::new();
            };
            let longest = windows.iter().map(|w| minutes(w)).max().unwrap_or(5);
            let eval = longest + for_min + 5;
            // All observations in the first bucket above the threshold, or in the last one at or below it.
            let above = m.buckets.iter().position(|b| *b > *threshold).unwrap_or(m.buckets.len());
            let below = m.buckets.iter().rposition(|b| *b <= *threshold).unwrap_or(0);
            let mut cases = vec![
                case(
                    format!("{} fires when every request is in the bucket above {}", a.name, fmt_float(*threshold)),
                    histogram_series(spec, histogram, above, PER_MIN, eval + 5),
                    eval,
                    &alert,
                    &[],
                    true,
                ),
                case(
                    format!("{} stays quiet when every request is at or under {}", a.name, fmt_float(*threshold)),
                    histogram_series(spec, histogram, below, PER_MIN, eval + 5),
                    eval,
                    &alert,
                    &[],
                    false,
                ),
            ];
            if let Some(m) = min_rate.filter(|m| *m > 0.0) {
                cases.push(case(
                    format!("{} stays quiet below the traffic floor of {}/s, every request slow", a.name, fmt_float(m)),
                    histogram_series(spec, histogram, above, m * 60.0 * 0.5, eval + 5),
                    eval,
                    &alert,
                    &[],
                    false,
                ));
            }
            cases
        }
        AlertRule::RatioAbove { errors, total, any_of, min_rate } => {
            let low = any_of.iter().map(|w| w.threshold).fold(f64::INFINITY, f64::min);
            let longest = any_of.iter().map(|w| minutes(&w.window)).max().unwrap_or(5);
            let eval = longest + for_min + 5;
            let run = eval + 5;
            vec![
                case(
                    format!("{} fires at 1.1x its lowest threshold {}", a.name, fmt_float(low)),
                    ratio_series(spec, errors, total, low * 1.1, PER_MIN, run),
                    eval,
                    &alert,
                    &[],
                    true,
                ),
                case(
                    format!("{} stays quiet at 0.9x its lowest threshold {}", a.name, fmt_float(low)),
                    ratio_series(spec, errors, total, low * 0.9, PER_MIN, run),
                    eval,
                    &alert,
                    &[],
                    false,
                ),
                case(
                    format!("{} stays quiet below the minimum traffic of {}/s", a.name, fmt_float(*min_rate)),
                    ratio_series(spec, errors, total, (low * 10.0).min(1.0), min_rate * 60.0 * 0.5, run),
                    eval,
                    &alert,
                    &[],
                    false,
                ),
            ]
        }
        AlertRule::Spike { counter: sel, by, window, baseline, factor, min_rate } => {
            let Some(m) = promql::parse_selector(sel).ok().and_then(|(n, _)| metric(spec, &n)) else {
                return Vec::new();
            };
            let labels = series_labels(spec, m, &[], None);
            let extra: Vec<(String, String)> = labels.iter().filter(|(k, _)| by.contains(k)).cloned().collect();
            let base_min = minutes(baseline);
            let short_min = minutes(window);
            // A quiet baseline at the minimum rate, then a jump of `factor`×2 for the short window and `for`.
            let quiet = min_rate * 60.0;
            let spike_len = short_min + for_min + 5;
            let eval = base_min + spike_len;
            let jump = format!(
                "0+{}x{base_min} {}+{}x{spike_len}",
                fmt_float(round(quiet)),
                fmt_float(round(quiet * base_min as f64)),
                fmt_float(round(quiet * factor * 4.0))
            );
            let rate = quiet * factor * 4.0;
            // A steady rate over less history than the baseline: the baseline's
            // range is mostly empty, which must not look like a spike.
            let short_history = short_min + for_min + 45;
            let open = |l: &String| spec.labels.iter().find(|d| &d.name == l).is_none_or(|d| d.kind == LabelKind::Open);
            if !by.iter().all(open) {
                let series =
                    |values: String| vec![json!({ "series": series_text(&m.name, &labels), "values": values })];
                return vec![
                    case(
                        format!("{} fires on a {}x jump over the baseline", a.name, fmt_float(factor * 4.0)),
                        series(jump),
                        eval,
                        &alert,
                        &extra,
                        true,
                    ),
                    case(
                        format!("{} stays quiet at a steady rate", a.name),
                        series(counter(rate, eval + 1)),
                        eval,
                        &alert,
                        &extra,
                        false,
                    ),
                ];
            }
            // One case, three values of the open `by` labels: the one that jumps
            // fires; one steady since the start and one steady over a short
            // history stay quiet (their alerts would carry their own labels).
            let variant = |suffix: &str| -> Vec<(String, String)> {
                labels
                    .iter()
                    .map(
                        |(k, v)| {
                            if by.contains(k) { (k.clone(), format!("{v}{suffix}")) } else { (k.clone(), v.clone()) }
                        },
                    )
                    .collect()
            };
            let late = format!("_x{} {}", eval - short_history, counter(rate, short_history + 1));
            let series = vec![
                json!({ "series": series_text(&m.name, &labels), "values": jump }),
                json!({ "series": series_text(&m.name, &variant("-steady")), "values": counter(rate, eval + 1) }),
                json!({ "series": series_text(&m.name, &variant("-new")), "values": late }),
            ];
            vec![case(
                format!(
                    "{} fires on a {}x jump over the baseline, not at a steady rate, not over {short_history}m of history under its {baseline} baseline",
                    a.name,
                    fmt_float(factor * 4.0)
                ),
                series,
                eval,
                &alert,
                &extra,
                true,
            )]
        }
        AlertRule::GaugeAtLeast { gauge, threshold } => {
            let eval = for_min + 5;
            let at = format!("{}x{}", fmt_float(*threshold), eval + 1);
            let under = format!("{}x{}", fmt_float(threshold - 1.0), eval + 1);
            vec![
                case(
                    format!("{} fires at {}", a.name, fmt_float(*threshold)),
                    vec![json!({ "series": gauge, "values": at })],
                    eval,
                    &alert,
                    &[],
                    true,
                ),
                case(
                    format!("{} stays quiet at {}", a.name, fmt_float(threshold - 1.0)),
                    vec![json!({ "series": gauge, "values": under })],
                    eval,
                    &alert,
                    &[],
                    false,
                ),
            ]
        }
        AlertRule::Expr { .. } => Vec::new(),
    }
}

fn metric_of(series: &Value) -> String {
    let text = series["series"].as_str().unwrap_or_default();
    text.split('{').next().unwrap_or(text).to_owned()
}

/// Merges test cases into as few promtool test groups as possible: cases with
/// the same step whose input series share no metric (or share it identically)
/// run side by side, so promtool evaluates every rule once per step for all of
/// them instead of once per case. Each alert and expression test keeps its own
/// evaluation time, and reads only its own SLO's or alert's series.
///
/// A case that needs a metric to be absent names it under `_absent`; it then
/// claims that metric as if it had a series of it no other case can share.
fn merge(cases: Vec<Value>) -> Vec<Value> {
    let claims_of = |case: &Value| -> Vec<Value> {
        let mut claims = case["input_series"].as_array().cloned().unwrap_or_default();
        for m in case["_absent"].as_array().into_iter().flatten() {
            claims.push(json!({ "series": m, "values": "absent" }));
        }
        claims
    };
    let mut groups: Vec<Value> = Vec::new();
    for mut case in cases {
        let series = claims_of(&case);
        if let Value::Object(m) = &mut case {
            m.remove("_absent");
            m.insert("_claims".into(), Value::Array(series.clone()));
        }
        let fits = |g: &Value| -> bool {
            if g["interval"] != case["interval"] {
                return false;
            }
            let theirs = g["_claims"].as_array().cloned().unwrap_or_default();
            let metrics: std::collections::BTreeSet<String> = series.iter().map(metric_of).collect();
            metrics.iter().all(|m| {
                let a: Vec<&Value> = series.iter().filter(|s| &metric_of(s) == m).collect();
                let b: Vec<&Value> = theirs.iter().filter(|s| &metric_of(s) == m).collect();
                b.is_empty() || a == b
            })
        };
        match groups.iter_mut().find(|g| fits(g)) {
            Some(Value::Object(g)) => {
                let name = format!(
                    "{}; {}",
                    g["name"].as_str().unwrap_or_default(),
                    case["name"].as_str().unwrap_or_default()
                );
                g.insert("name".into(), Value::String(name));
                for key in ["input_series", "_claims"] {
                    let more = if key == "_claims" {
                        series.clone()
                    } else {
                        case[key].as_array().cloned().unwrap_or_default()
                    };
                    if let Some(Value::Array(mine)) = g.get_mut(key) {
                        for s in more {
                            if !mine.contains(&s) {
                                mine.push(s);
                            }
                        }
                    }
                }
                for key in ["alert_rule_test", "promql_expr_test"] {
                    if let Some(Value::Array(more)) = case.get(key) {
                        match g.get_mut(key) {
                            Some(Value::Array(mine)) => mine.extend(more.iter().cloned()),
                            _ => {
                                g.insert(key.into(), Value::Array(more.clone()));
                            }
                        }
                    }
                }
            }
            _ => groups.push(case),
        }
    }
    for g in &mut groups {
        if let Value::Object(m) = g {
            m.remove("_claims");
        }
    }
    groups
}

/// The rule groups in evaluation order, recording rules first: promtool
/// evaluates groups in a random order otherwise, and an alert evaluated before
/// the recording rules it reads sees the previous step's values (gone from the
/// lookback at a 15-minute step).
fn eval_order(spec: &Spec, alerts: bool) -> Vec<String> {
    // The alias rules of declared renames first: the SLI rules read their output.
    let aliases = crate::rename::alias_group(spec).map(|_| crate::rename::GROUP.to_owned());
    let mut order: Vec<String> =
        aliases.into_iter().chain(spec.slos.iter().map(|s| format!("slo-recording-{}", s.name))).collect();
    if alerts {
        order.extend(lower::all_alerts(spec).into_iter().map(|(name, _)| name));
    }
    order
}

fn test_file(
    path: &str,
    sources: &[String],
    rule_files: &[&str],
    every: u64,
    order: Option<Vec<String>>,
    cases: Vec<Value>,
) -> GeneratedFile {
    let mut doc = json!({
        "rule_files": rule_files.iter().map(|f| format!("../{f}")).collect::<Vec<_>>(),
        "evaluation_interval": format!("{every}m"),
    });
    if let (Some(order), Value::Object(m)) = (order, &mut doc) {
        m.insert("group_eval_order".into(), json!(order));
    }
    if let Value::Object(m) = &mut doc {
        m.insert("tests".into(), Value::Array(cases));
    }
    GeneratedFile {
        path: format!("{}/tests/{path}", lower::DIR),
        contents: format!("{}{}", header::hash_comment(sources), yaml::to_string(&doc)),
    }
}

/// Renders the promtool test files: SLO burn-rate and absent alerts, the SLO
/// budgets through a lull, the ticket traffic floors, and the blueprint alerts.
/// Blueprint alerts read raw metrics only, so their tests skip the recording rules.
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    let both = [lower::RECORDING, lower::ALERTS];
    let burn = merge(spec.slos.iter().flat_map(|s| slo_burn_cases(spec, s)).collect());
    let budget = merge(spec.slos.iter().filter(|s| !s.is_calendar()).map(|s| budget_case(spec, s)).collect());
    let calendar: Vec<Value> = spec.slos.iter().filter(|s| s.is_calendar()).map(|s| calendar_case(spec, s)).collect();
    let floor = merge(spec.slos.iter().flat_map(|s| slo_ticket_floor_cases(spec, s)).collect());
    let bp = merge(spec.alerts.iter().flat_map(|a| blueprint_cases(spec, a)).collect());
    let mut out = vec![
        test_file("slo-burn-rate-alerts.test.yml", sources, &both, 1, Some(eval_order(spec, true)), burn),
        test_file("slo-budget.test.yml", sources, &[lower::RECORDING], 1, Some(eval_order(spec, false)), budget),
        test_file("slo-ticket-floor.test.yml", sources, &both, FLOOR_STEP, Some(eval_order(spec, true)), floor),
        test_file("spec-alerts.test.yml", sources, &[lower::ALERTS], 1, None, bp),
    ];
    if !calendar.is_empty() {
        // One case per SLO: each runs 33 days of hourly evaluations, so merging would not save time.
        out.push(test_file("slo-calendar-budget.test.yml", sources, &[lower::RECORDING], 30, None, calendar));
    }
    out
}
