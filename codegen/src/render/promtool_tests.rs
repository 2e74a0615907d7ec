//! promtool unit tests for every alert, derived from the spec's thresholds.
//!
//! Each alert gets input series that must fire it (checked with its exact
//! labels and annotations) and series just under its threshold that must not,
//! so changing a threshold in the spec changes the tests with the rules.

use promql_parser::label::{MatchOp, Matcher};
use serde_json::{Value, json};

use super::prometheus::{self, AlertRuleOut, BURN_WINDOWS, burn_factor, burn_for, round, slo_alerts, slo_camel};
use super::{header, yaml};
use crate::model::*;
use crate::names::{self, fmt_float};
use crate::output::GeneratedFile;
use crate::promql;

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

/// Input series for a bad-event ratio `ratio` at `per_min` total events a minute.
fn ratio_series(spec: &Spec, errors: &str, total: &str, ratio: f64, per_min: f64, minutes: u64) -> Vec<Value> {
    let (Ok((en, em)), Ok((tn, tm))) = (promql::parse_selector(errors), promql::parse_selector(total)) else {
        return Vec::new();
    };
    let Some(m) = metric(spec, &en) else { return Vec::new() };
    let mut must_bad: Vec<&Matcher> = em.iter().collect();
    must_bad.extend(tm.iter());
    let bad = series_labels(spec, m, &must_bad, None);
    let good = series_labels(spec, m, &tm.iter().collect::<Vec<_>>(), Some(&em));
    let mut out = vec![json!({ "series": series_text(&en, &bad), "values": counter(per_min * ratio, minutes) })];
    if tn == en {
        out.push(json!({ "series": series_text(&tn, &good), "values": counter(per_min * (1.0 - ratio), minutes) }));
    }
    out
}

/// Input series for a latency SLI: `ratio` of events slower than the threshold.
fn latency_series(spec: &Spec, l: &LatencySli, ratio: f64, per_min: f64, minutes: u64) -> Vec<Value> {
    let Ok((hn, hm)) = promql::parse_selector(&l.histogram) else { return Vec::new() };
    let Some(m) = metric(spec, &hn) else { return Vec::new() };
    let labels = series_labels(spec, m, &hm.iter().collect::<Vec<_>>(), None);
    let mut bucket = labels.clone();
    bucket.push(("le".to_owned(), fmt_float(l.threshold)));
    vec![
        json!({ "series": series_text(&format!("{hn}_count"), &labels), "values": counter(per_min, minutes) }),
        json!({ "series": series_text(&format!("{hn}_bucket"), &bucket), "values": counter(per_min * (1.0 - ratio), minutes) }),
    ]
}

fn sli_series(spec: &Spec, slo: &Slo, ratio: f64, per_min: f64, minutes: u64) -> Vec<Value> {
    match (&slo.ratio, &slo.latency) {
        (Some(r), _) => ratio_series(spec, &r.errors, &r.total, ratio, per_min, minutes),
        (_, Some(l)) => latency_series(spec, l, ratio, per_min, minutes),
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

/// Minutes between samples (and rule evaluations) in the tests of a severity:
/// ticket windows span days, so their tests sample every 5 minutes.
fn step(severity: Severity) -> u64 {
    match severity {
        Severity::Page => 1,
        Severity::Ticket => 5,
    }
}

/// Test cases for the burn-rate alerts of one severity (and, for pages, the absent alert) of one SLO.
fn slo_cases(spec: &Spec, slo: &Slo, severity: Severity) -> Vec<Value> {
    let period = names::duration_seconds(&slo.period).unwrap_or(30 * 86_400);
    let budget = round(1.0 - slo.objective);
    let alerts = slo_alerts(spec, slo);
    let mut out = Vec::new();
    let st = step(severity);
    {
        let sev = if severity == Severity::Page { "Page" } else { "Ticket" };
        let Some(alert) = alerts.iter().find(|a| a.name == format!("{}BurnRate{sev}", slo_camel(&slo.name))) else {
            return out;
        };
        let pairs: Vec<_> = BURN_WINDOWS.iter().filter(|w| w.severity == severity).collect();
        // The lowest factor of the severity is the threshold that matters for a steady burn.
        let low = pairs.iter().map(|w| burn_factor(w, period)).fold(f64::INFINITY, f64::min);
        let window_min = pairs.iter().map(|w| minutes(w.long)).min().unwrap_or(60);
        let eval = (window_min + minutes(burn_for(severity)) + 5).next_multiple_of(st);
        let run = (eval + 5).div_ceil(st);
        let above = (budget * low * 1.1).min(1.0);
        let below = budget * low * 0.9;
        // Traffic just at the guard makes the guard, not the burn, the tested condition.
        let slow = slo.min_rate * 60.0 * 0.5 * st as f64;
        let per_step = PER_MIN * st as f64;
        out.push(case_every(
            st,
            format!("{} fires at 1.1x the {}x burn rate", alert.name, fmt_float(low)),
            sli_series(spec, slo, above, per_step, run),
            eval,
            alert,
            &[],
            true,
        ));
        out.push(case_every(
            st,
            format!("{} stays quiet at 0.9x the {}x burn rate", alert.name, fmt_float(low)),
            sli_series(spec, slo, below, per_step, run),
            eval,
            alert,
            &[],
            false,
        ));
        if slow > 0.0 {
            out.push(case_every(
                st,
                format!("{} stays quiet below the minimum traffic of {}/s", alert.name, fmt_float(slo.min_rate)),
                sli_series(spec, slo, 1.0_f64.min(above * 10.0), slow, run),
                eval,
                alert,
                &[],
                false,
            ));
        }
    }
    if severity != Severity::Page {
        return out;
    }
    if let Some(alert) = alerts.iter().find(|a| a.name.ends_with("SliAbsent")) {
        out.push(case(
            format!("{} fires when the SLI is not scraped", alert.name),
            vec![json!({ "series": "up{job=\"unrelated\"}", "values": "1x30" })],
            20,
            alert,
            &[],
            true,
        ));
        out.push(case(
            format!("{} stays quiet while the SLI is scraped", alert.name),
            sli_series(spec, slo, 0.0, PER_MIN, 30),
            20,
            alert,
            &[],
            false,
        ));
    }
    out
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
    out
}

/// Test cases for one blueprint alert.
fn blueprint_cases(spec: &Spec, a: &Alert) -> Vec<Value> {
    let alert = prometheus::blueprint_alert(spec, a);
    let for_min = minutes(&a.for_);
    match &a.rule {
        AlertRule::QuantileAbove { histogram, threshold, windows, .. } => {
            let Some(m) = promql::parse_selector(histogram).ok().and_then(|(n, _)| metric(spec, &n)) else {
                return Vec::new();
            };
            let longest = windows.iter().map(|w| minutes(w)).max().unwrap_or(5);
            let eval = longest + for_min + 5;
            // All observations in the first bucket above the threshold, or in the last one at or below it.
            let above = m.buckets.iter().position(|b| *b > *threshold).unwrap_or(m.buckets.len());
            let below = m.buckets.iter().rposition(|b| *b <= *threshold).unwrap_or(0);
            vec![
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
            ]
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
            let steady = counter(quiet * factor * 4.0, eval + 1);
            let series = |values: String| vec![json!({ "series": series_text(&m.name, &labels), "values": values })];
            vec![
                case(
                    format!("{} fires on a {}x jump over the baseline", a.name, fmt_float(factor * 4.0)),
                    series(jump),
                    eval,
                    &alert,
                    &extra,
                    true,
                ),
                case(format!("{} stays quiet at a steady rate", a.name), series(steady), eval, &alert, &extra, false),
            ]
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

fn test_file(path: &str, sources: &[String], rule_files: &[&str], every: u64, cases: Vec<Value>) -> GeneratedFile {
    let doc = json!({
        "rule_files": rule_files.iter().map(|f| format!("../{f}")).collect::<Vec<_>>(),
        "evaluation_interval": format!("{every}m"),
        "tests": cases,
    });
    GeneratedFile {
        path: format!("{}/tests/{path}", prometheus::DIR),
        contents: format!("{}{}", header::hash_comment(sources), yaml::to_string(&doc)),
    }
}

/// Renders the promtool test files: SLO page alerts, SLO ticket alerts, blueprint alerts.
/// Blueprint alerts read raw metrics only, so their tests skip the recording rules.
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    let both = [prometheus::RECORDING, prometheus::ALERTS];
    let page: Vec<Value> = spec.slos.iter().flat_map(|s| slo_cases(spec, s, Severity::Page)).collect();
    let ticket: Vec<Value> = spec.slos.iter().flat_map(|s| slo_cases(spec, s, Severity::Ticket)).collect();
    let bp: Vec<Value> = spec.alerts.iter().flat_map(|a| blueprint_cases(spec, a)).collect();
    vec![
        test_file("slo-page-alerts.test.yml", sources, &both, step(Severity::Page), page),
        test_file("slo-ticket-alerts.test.yml", sources, &both, step(Severity::Ticket), ticket),
        test_file("blueprint-alerts.test.yml", sources, &[prometheus::ALERTS], 1, bp),
    ]
}
