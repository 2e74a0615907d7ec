//! The lowered model: what the spec implies, computed in one place and read by
//! validation and every renderer, so that no renderer imports another.
//!
//! From the validated spec it derives the output layout shared by several
//! artifacts (the rules files and their directory), the burn-rate windows,
//! factors and thresholds of every SLO, the recording rules (names and
//! expressions), the alerting rules (names, expressions, labels, annotations),
//! the Alertmanager routing, and the anchors and identifiers other artifacts
//! link to (`slo-…`, `alert-…`, `<Slo>BurnRatePage`). The Prometheus renderer
//! writes these; Grafana, the promtool tests, the per-environment configs and
//! the catalogue quote them; validation parses every expression before
//! anything is written.

use serde_json::{Map, Value, json};

use crate::model::*;
use crate::names::{self, fmt_float};
use crate::promql::{self, quote};
use crate::rules::{self, WINDOWS};

/// The catalogue anchor of an alert's entry.
pub fn alert_anchor(name: &str) -> String {
    format!("alert-{}", name.to_lowercase())
}

/// The catalogue anchor of an SLO's entry.
pub fn slo_anchor(name: &str) -> String {
    format!("slo-{name}")
}

/// Output directory of every Prometheus artifact.
pub const DIR: &str = "infra/observability";
/// The recording rules file, relative to [`DIR`].
pub const RECORDING: &str = "rules/slo-recording.yml";
/// The alerting rules file, relative to [`DIR`].
pub const ALERTS: &str = "rules/alerts.yml";
/// The rule group of the spec's own `alerts` (the SLO alerts have one group per SLO).
pub const SPEC_ALERTS_GROUP: &str = "spec-alerts";

/// A multi-window burn-rate alert pair: short and long window, and the share
/// of the period's error budget that firing means was spent over the long window.
#[derive(Debug, Clone, Copy)]
pub struct BurnWindow {
    /// The tier, also the alert's `burn_tier` label.
    pub tier: BurnTier,
    /// Routing severity.
    pub severity: Severity,
    /// Short window (reset quickly when the problem stops).
    pub short: &'static str,
    /// Long window (enough evidence).
    pub long: &'static str,
    /// Budget share consumed over `long` at the threshold (Google SRE workbook).
    pub budget_share: f64,
}

/// The SRE workbook's four windows: page on 2% of a 30-day budget in 1h and 5%
/// in 6h, ticket on 10% in 1d and 10% in 3d. Factors follow from the SLO period.
pub const BURN_WINDOWS: [BurnWindow; 4] = [
    BurnWindow { tier: BurnTier::PageFast, severity: Severity::Page, short: "5m", long: "1h", budget_share: 0.02 },
    BurnWindow { tier: BurnTier::PageSlow, severity: Severity::Page, short: "30m", long: "6h", budget_share: 0.05 },
    BurnWindow { tier: BurnTier::TicketFast, severity: Severity::Ticket, short: "2h", long: "1d", budget_share: 0.10 },
    BurnWindow { tier: BurnTier::TicketSlow, severity: Severity::Ticket, short: "6h", long: "3d", budget_share: 0.10 },
];

/// The label every burn-rate alert carries, naming its tier (`page-fast`…).
pub const BURN_TIER_LABEL: &str = "burn_tier";

/// The burn-rate tiers an SLO generates, in [`BURN_WINDOWS`] order.
pub fn enabled_windows(slo: &Slo) -> impl Iterator<Item = &'static BurnWindow> + '_ {
    BURN_WINDOWS.iter().filter(|w| slo.tiers.enabled(w.tier))
}

/// The error-ratio threshold of a tier for an SLO: factor × error budget.
pub fn burn_threshold(w: &BurnWindow, slo: &Slo) -> f64 {
    let period = slo.period_secs().unwrap_or(30 * 86_400);
    round(burn_factor(w, period) * round(1.0 - slo.objective))
}

/// The burn-rate factor of a window pair for an SLO period: budget share × period / long window.
pub fn burn_factor(w: &BurnWindow, period_secs: u64) -> f64 {
    let long = names::duration_seconds(w.long).unwrap_or(3600) as f64;
    round(w.budget_share * period_secs as f64 / long)
}

pub use crate::names::round;

/// `Severity` as the label value Alertmanager routes on.
pub fn severity_str(s: Severity) -> &'static str {
    match s {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    }
}

/// `gateway-latency` → `GatewayLatency`.
pub fn slo_camel(name: &str) -> String {
    names::camel(name)
}

/// The page and ticket `for` durations of burn-rate alerts.
pub fn burn_for(s: Severity) -> &'static str {
    match s {
        Severity::Page => "2m",
        Severity::Ticket => "15m",
    }
}

/// The window whose event rate guards an alert of this severity against low traffic.
pub fn guard_window(s: Severity) -> &'static str {
    match s {
        Severity::Page => "1h",
        Severity::Ticket => "1d",
    }
}

/// Matches `le` for a bucket bound on Prometheus 2 (`le="1"`) and 3 (`le="1.0"`),
/// which normalises classic histogram bounds to float form (pyrra #1502).
pub fn le_matcher(bound: f64) -> String {
    let s = fmt_float(bound);
    let re = if s.contains('.') || s.contains('e') {
        format!("{}0*", s.replace('.', "\\\\."))
    } else {
        format!("{s}(\\\\.0+)?")
    };
    format!("le=~\"{re}\"")
}

/// Selector text of a series with extra matchers: `name{a="b",extra}`.
fn with_matchers(name: &str, matchers: &str, extra: &str) -> String {
    let parts: Vec<&str> = [matchers, extra].into_iter().filter(|s| !s.is_empty()).collect();
    if parts.is_empty() { name.to_owned() } else { format!("{name}{{{}}}", parts.join(",")) }
}

/// The bad-event-rate and event-rate expressions of an SLO over a window.
///
/// The bad-event rate is a number whenever there is traffic: a ratio SLI's
/// error counter may not exist yet (series appear on first use), so it counts
/// as `0` (`or vector(0)`); a latency SLI's slow events are all events minus
/// those in the threshold's bucket.
pub fn sli_rates(slo: &Slo, window: &str) -> Option<(String, String)> {
    if let Some(r) = &slo.ratio {
        let (en, em) = promql::parse_selector(&r.errors).ok()?;
        let (tn, tm) = promql::parse_selector(&r.total).ok()?;
        let errors = with_matchers(&en, &promql::render_matchers(&em), "");
        let total = with_matchers(&tn, &promql::render_matchers(&tm), "");
        Some((format!("(sum(rate({errors}[{window}])) or vector(0))"), format!("sum(rate({total}[{window}]))")))
    } else if let Some(l) = &slo.latency {
        let (hn, hm) = promql::parse_selector(&l.histogram).ok()?;
        let m = promql::render_matchers(&hm);
        let count = with_matchers(&format!("{hn}_count"), &m, "");
        let good = with_matchers(&format!("{hn}_bucket"), &m, &le_matcher(l.threshold));
        let events = format!("sum(rate({count}[{window}]))");
        Some((format!("({events} - sum(rate({good}[{window}])))"), events))
    } else {
        None
    }
}

/// The error-ratio and event-rate expressions of an SLO over a window.
///
/// A window without events has no error ratio (0/0 is not a measurement), so
/// the ratio divides by the event rate only where it is above 0 and records no
/// sample otherwise: no NaN ever reaches the burn-rate alerts or the period.
pub fn sli_exprs(slo: &Slo, window: &str) -> Option<(String, String)> {
    let (bad, events) = sli_rates(slo, window)?;
    Some((format!("{bad} / ({events} > 0)"), events))
}

fn slo_labels(slo: &Slo) -> Value {
    json!({ "slo": slo.name, "component": slo.component })
}

fn slo_sel(name: &str, slo: &Slo) -> String {
    format!("{name}{{slo={}}}", quote(&slo.name))
}

/// The recording rules of one SLO.
pub fn recording_group(slo: &Slo) -> Value {
    let mut rules_out = Vec::new();
    for w in WINDOWS {
        if let Some((ratio, events)) = sli_exprs(slo, w) {
            rules_out.push(json!({ "record": rules::error_ratio(w), "expr": ratio, "labels": slo_labels(slo) }));
            rules_out.push(json!({ "record": rules::event_rate(w), "expr": events, "labels": slo_labels(slo) }));
        }
        if (w == WINDOWS[0] || (slo.is_calendar() && w == rules::MONTH_STEP))
            && let Some((bad, _)) = sli_rates(slo, w)
        {
            rules_out.push(json!({ "record": rules::bad_event_rate(w), "expr": bad, "labels": slo_labels(slo) }));
        }
    }
    let budget = round(1.0 - slo.objective);
    let period = &slo.period;
    rules_out.push(json!({ "record": rules::OBJECTIVE, "expr": format!("vector({})", fmt_float(slo.objective)), "labels": slo_labels(slo) }));
    rules_out.push(json!({ "record": rules::ERROR_BUDGET, "expr": format!("vector({})", fmt_float(budget)), "labels": slo_labels(slo) }));
    rules_out.push(json!({
        "record": rules::CURRENT_BURN_RATE,
        "expr": format!("{} / {}", slo_sel(&rules::error_ratio(WINDOWS[0]), slo), fmt_float(budget)),
        "labels": slo_labels(slo),
    }));
    if slo.is_calendar() {
        rules_out.extend(calendar_month_rules(slo));
    } else {
        rules_out.push(json!({
            "record": rules::PERIOD_ERROR_RATIO,
            // Event-weighted over the period: quiet windows add nothing to either sum,
            // and a period without any event records no sample rather than NaN.
            "expr": format!(
                "sum_over_time({}[{period}]) / (sum_over_time({}[{period}]) > 0)",
                slo_sel(&rules::bad_event_rate(WINDOWS[0]), slo),
                slo_sel(&rules::event_rate(WINDOWS[0]), slo)
            ),
            "labels": slo_labels(slo),
        }));
    }
    rules_out.push(json!({
        "record": rules::PERIOD_BURN_RATE,
        "expr": format!("{} / {}", slo_sel(rules::PERIOD_ERROR_RATIO, slo), fmt_float(budget)),
        "labels": slo_labels(slo),
    }));
    rules_out.push(json!({
        "record": rules::BUDGET_REMAINING,
        "expr": format!("1 - {}", slo_sel(rules::PERIOD_BURN_RATE, slo)),
        "labels": slo_labels(slo),
    }));
    json!({ "name": format!("slo-recording-{}", slo.name), "rules": rules_out })
}

/// The month-to-date rules of a `calendar_month` SLO (UTC): events and bad
/// events since the month began, their ratio, and the share of the month elapsed.
///
/// A range cannot start at a date, so each count sums the SLI's recorded
/// 1h rates over a `[31d:1h]` subquery (steps on the hour, as month starts
/// are) and keeps only the steps whose hour lies in the month of the
/// evaluation time: `month(vector(time() - 1))` at a step (the last second of
/// the hour it covers) equals the month of the objective's sample at
/// `@ end()`, which the group recorded earlier in the same evaluation; the
/// hour under way is added at the current 5m rate. 31 days never reach back
/// to the same month of another year.
fn calendar_month_rules(slo: &Slo) -> Vec<Value> {
    let step = rules::MONTH_STEP;
    let step_secs = names::duration_seconds(step).unwrap_or(3600);
    let this_month =
        format!("month(vector(time() - 1)) == on () month(timestamp({} @ end()))", slo_sel(rules::OBJECTIVE, slo));
    // Full hours of the month, then the hour under way at the current 5m rate
    // (`time() % 3600` seconds into it), so the month has a count from its
    // first minutes; 0 full hours count as 0.
    let count = |hourly: String, now: String| {
        let now = slo_sel(&now, slo);
        format!(
            "(sum_over_time(({} and on () ({this_month}))[31d:{step}]) * {step_secs} or {now} * 0) + {now} * (time() % {step_secs})",
            slo_sel(&hourly, slo)
        )
    };
    vec![
        json!({
            "record": rules::EVENTS_MONTH,
            "expr": count(rules::event_rate(step), rules::event_rate(WINDOWS[0])),
            "labels": slo_labels(slo),
        }),
        json!({
            "record": rules::BAD_EVENTS_MONTH,
            "expr": count(rules::bad_event_rate(step), rules::bad_event_rate(WINDOWS[0])),
            "labels": slo_labels(slo),
        }),
        json!({
            "record": rules::PERIOD_ERROR_RATIO,
            "expr": format!("{} / ({} > 0)", slo_sel(rules::BAD_EVENTS_MONTH, slo), slo_sel(rules::EVENTS_MONTH, slo)),
            "labels": slo_labels(slo),
        }),
        json!({
            "record": rules::PERIOD_ELAPSED,
            "expr": "(day_of_month() - 1 + hour() / 24 + minute() / 1440) / days_in_month()",
            "labels": slo_labels(slo),
        }),
    ]
}

/// An alerting rule as written to the rules file.
#[derive(Debug, Clone)]
pub struct AlertRuleOut {
    /// `alert:` name.
    pub name: String,
    /// PromQL.
    pub expr: String,
    /// `for:` duration.
    pub for_: String,
    /// Labels (severity, component, slo…), in order.
    pub labels: Map<String, Value>,
    /// Annotations (summary, description, runbook_url).
    pub annotations: Map<String, Value>,
}

impl AlertRuleOut {
    /// The rule as the rules file holds it.
    pub fn to_value(&self) -> Value {
        json!({
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": Value::Object(self.labels.clone()),
            "annotations": Value::Object(self.annotations.clone()),
        })
    }
}

fn annotations(summary: String, description: String, runbook: String) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("summary".into(), Value::String(summary));
    m.insert("description".into(), Value::String(description));
    m.insert("runbook_url".into(), Value::String(runbook));
    m
}

/// The burn-rate and absent-SLI alerts of one SLO.
///
/// Each enabled tier is one rule carrying `burn_tier`; the page tiers share the
/// alert name `<Slo>BurnRatePage`, the ticket tiers `<Slo>BurnRateTicket`.
pub fn slo_alerts(spec: &Spec, slo: &Slo) -> Vec<AlertRuleOut> {
    let period = slo.period_secs().unwrap_or(30 * 86_400);
    let budget = round(1.0 - slo.objective);
    let runbook = format!("{}#{}", spec.project.catalogue_url, slo_anchor(&slo.name));
    let mut out = Vec::new();
    for w in enabled_windows(slo) {
        let thr = fmt_float(burn_threshold(w, slo));
        let severity = w.severity;
        let guard =
            format!("{} >= {}", slo_sel(&rules::event_rate(guard_window(severity)), slo), fmt_float(slo.min_rate));
        let mut labels = Map::new();
        labels.insert("severity".into(), Value::String(severity_str(severity).into()));
        labels.insert("component".into(), Value::String(slo.component.clone()));
        labels.insert("slo".into(), Value::String(slo.name.clone()));
        labels.insert(BURN_TIER_LABEL.into(), Value::String(w.tier.as_str().into()));
        let sev = if severity == Severity::Page { "Page" } else { "Ticket" };
        out.push(AlertRuleOut {
            name: format!("{}BurnRate{sev}", slo_camel(&slo.name)),
            expr: format!(
                "({} > {thr} and {} > {thr}) and on (slo, component) ({guard})",
                slo_sel(&rules::error_ratio(w.short), slo),
                slo_sel(&rules::error_ratio(w.long), slo)
            ),
            for_: burn_for(severity).to_owned(),
            labels,
            annotations: annotations(
                format!(
                    "SLO {} is burning its error budget too fast ({}x over {}/{}, {}).",
                    slo.name,
                    fmt_float(burn_factor(w, period)),
                    w.short,
                    w.long,
                    w.tier.as_str()
                ),
                format!(
                    "{} Objective {} over {}; the error budget ({}) will run out early at this rate.",
                    slo.description,
                    fmt_float(slo.objective),
                    slo.period_text(),
                    fmt_float(budget)
                ),
                runbook.clone(),
            ),
        });
    }
    if let Some((expr, what)) = absent_expr(spec, slo) {
        let mut labels = Map::new();
        labels.insert("severity".into(), Value::String("ticket".into()));
        labels.insert("component".into(), Value::String(slo.component.clone()));
        labels.insert("slo".into(), Value::String(slo.name.clone()));
        out.push(AlertRuleOut {
            name: format!("{}SliAbsent", slo_camel(&slo.name)),
            expr,
            for_: "10m".to_owned(),
            labels,
            annotations: annotations(format!("The SLI of SLO {} has no data.", slo.name), what, runbook),
        });
    }
    out
}

/// The series whose absence means an SLO has no SLI.
pub fn absent_series(slo: &Slo) -> Option<String> {
    if let Some(r) = &slo.ratio {
        promql::parse_selector(&r.total).ok().map(|(n, _)| n)
    } else {
        slo.latency.as_ref().and_then(|l| promql::parse_selector(&l.histogram).ok()).map(|(n, _)| format!("{n}_count"))
    }
}

/// Whether the emitters pre-initialise every series of a metric at install:
/// true when all its labels are closed (or ErrorToken) sets.
pub fn preinitialised(spec: &Spec, metric: &Metric) -> bool {
    metric.labels.iter().all(|l| spec.labels.iter().any(|d| &d.name == l && d.kind != LabelKind::Open))
}

/// The absent-SLI expression of an SLO and what it means (R28).
///
/// An SLI whose metric has only closed labels is pre-initialised at zero by the
/// emitters, so its absence means the scrape or the emitter is missing. An SLI
/// with an open label (route, tool) has no series until first use, so an idle
/// service would look absent: the alert keys on the component's scrape (`up`).
pub fn absent_expr(spec: &Spec, slo: &Slo) -> Option<(String, String)> {
    let series = absent_series(slo)?;
    let metric = spec.metrics.iter().find(|m| m.name == names::metric_family(&series) || m.name == series)?;
    if preinitialised(spec, metric) {
        Some((
            format!("absent({series})"),
            format!(
                "`{series}` is not being scraped, although the emitters create it at zero on start-up: the SLO cannot be evaluated. Check the {} scrape target and that the service installs its metrics.",
                slo.component
            ),
        ))
    } else {
        Some((
            format!("absent({}{{job={}}} == 1)", rules::UP, quote(&slo.component)),
            format!(
                "No {} target is being scraped successfully: the SLO cannot be evaluated. Check the {} scrape target (an idle service with no `{series}` series yet does not fire this).",
                slo.component, slo.component
            ),
        ))
    }
}

fn series_of(selector: &str, suffix: &str) -> String {
    match promql::parse_selector(selector) {
        Ok((n, m)) => with_matchers(&format!("{n}{suffix}"), &promql::render_matchers(&m), ""),
        Err(_) => selector.to_owned(),
    }
}

/// The expression of a blueprint alert.
pub fn alert_expr(rule: &AlertRule) -> String {
    match rule {
        AlertRule::QuantileAbove { histogram, quantile, threshold, windows, min_rate } => {
            let bucket = series_of(histogram, "_bucket");
            let count = series_of(histogram, "_count");
            let parts: Vec<String> = windows
                .iter()
                .map(|w| {
                    let q = format!(
                        "histogram_quantile({}, sum by (le) (rate({bucket}[{w}]))) > {}",
                        fmt_float(*quantile),
                        fmt_float(*threshold)
                    );
                    match min_rate {
                        Some(m) => format!("{q} and sum(rate({count}[{w}])) >= {}", fmt_float(*m)),
                        None => q,
                    }
                })
                .collect();
            parts.join(" and ")
        }
        AlertRule::RatioAbove { errors, total, any_of, min_rate } => {
            let parts: Vec<String> = any_of
                .iter()
                .map(|w| {
                    let total_rate = format!("sum(rate({total}[{}]))", w.window);
                    format!(
                        "(sum(rate({errors}[{}])) / {total_rate} > {} and {total_rate} >= {})",
                        w.window,
                        fmt_float(w.threshold),
                        fmt_float(*min_rate)
                    )
                })
                .collect();
            parts.join(" or ")
        }
        AlertRule::Spike { counter, by, window, baseline, factor, min_rate } => {
            let by = by.join(", ");
            let short = format!("sum by ({by}) (rate({counter}[{window}]))");
            // The baseline counts only for label values with a full baseline of
            // history (a sample one baseline ago): over a shorter history the
            // baseline rate is diluted by the empty part of the range (R27).
            format!(
                "{short} > {} * sum by ({by}) (rate({counter}[{baseline}])) and {short} >= {} and on ({by}) sum by ({by}) ({counter} offset {baseline})",
                fmt_float(*factor),
                fmt_float(*min_rate)
            )
        }
        AlertRule::GaugeAtLeast { gauge, threshold } => format!("{gauge} >= {}", fmt_float(*threshold)),
        AlertRule::Expr { expr } => expr.clone(),
    }
}

/// The blueprint alert as written to the rules file.
pub fn blueprint_alert(spec: &Spec, a: &Alert) -> AlertRuleOut {
    let mut labels = Map::new();
    labels.insert("severity".into(), Value::String(severity_str(a.severity).into()));
    labels.insert("component".into(), Value::String(a.component.clone()));
    let mut description = a.description.clone();
    if let AlertRule::Spike { by, .. } = &a.rule {
        let who: Vec<String> = by.iter().map(|l| format!("{l}={{{{ $labels.{l} }}}}")).collect();
        description = format!("{} ({})", description, who.join(", "));
    }
    AlertRuleOut {
        name: a.name.clone(),
        expr: alert_expr(&a.rule),
        for_: a.for_.clone(),
        labels,
        annotations: annotations(
            a.summary.clone(),
            description,
            format!("{}#{}", spec.project.catalogue_url, alert_anchor(&a.name)),
        ),
    }
}

/// Every alerting rule: per-SLO groups, then the blueprint's alerts (of [`lower`]).
pub fn all_alerts(spec: &Spec) -> Vec<(String, Vec<AlertRuleOut>)> {
    lower(spec).alert_groups().into_iter().map(|(name, rules)| (name, rules.to_vec())).collect()
}

/// Every PromQL expression the rule files hold, with where it comes from (of [`lower`]).
pub fn all_exprs(spec: &Spec) -> Vec<(String, String)> {
    lower(spec).exprs()
}

/// The inhibit rules: within one SLO (both alerts carry the same non-empty
/// `slo`), a page silences its tickets, and a fast tier silences the slow tier
/// of the same severity. Alerts without `slo` (the blueprint's) are never a
/// source or a target: Alertmanager treats a label missing on both sides as equal.
pub fn inhibit_rules() -> Vec<Value> {
    let slo = "slo=~\".+\"".to_owned();
    let tier = |t: BurnTier| format!("{BURN_TIER_LABEL}=\"{}\"", t.as_str());
    let rule = |source: String, target: String| json!({ "source_matchers": [source, slo.clone()], "target_matchers": [target, slo.clone()], "equal": ["slo"] });
    vec![
        rule("severity=\"page\"".to_owned(), "severity=\"ticket\"".to_owned()),
        rule(tier(BurnTier::PageFast), tier(BurnTier::PageSlow)),
        rule(tier(BurnTier::TicketFast), tier(BurnTier::TicketSlow)),
    ]
}

/// Alertmanager: page and ticket routes grouped by SLO and component, and the
/// [`inhibit_rules`]. Receivers are placeholders to fill in.
pub fn alertmanager() -> Value {
    json!({
        "route": {
            "receiver": "default",
            "group_by": ["alertname", "slo", "component"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                { "receiver": "page", "matchers": ["severity=\"page\""], "group_wait": "10s", "repeat_interval": "1h" },
                { "receiver": "ticket", "matchers": ["severity=\"ticket\""], "repeat_interval": "12h" },
            ],
        },
        "inhibit_rules": inhibit_rules(),
        "receivers": [
            { "name": "default" },
            { "name": "page", "webhook_configs": [{ "url": "http://127.0.0.1:9099/page", "send_resolved": true }] },
            { "name": "ticket", "webhook_configs": [{ "url": "http://127.0.0.1:9099/ticket", "send_resolved": true }] },
        ],
    })
}

/// One burn-rate tier of one SLO, with its figures computed.
#[derive(Debug, Clone, Copy)]
pub struct LoweredTier {
    /// The window pair.
    pub window: &'static BurnWindow,
    /// Whether the SLO generates this tier (`tiers:`).
    pub enabled: bool,
    /// Burn-rate factor for the SLO's period ([`burn_factor`]).
    pub factor: f64,
    /// Error-ratio threshold: factor × error budget ([`burn_threshold`]).
    pub threshold: f64,
}

/// One SLO, lowered: its identifiers, figures and rules.
#[derive(Debug, Clone)]
pub struct LoweredSlo {
    /// The SLO's name (`gateway-latency`).
    pub name: String,
    /// Its identifier in alert names (`GatewayLatency`).
    pub ident: String,
    /// Its catalogue anchor (`slo-gateway-latency`).
    pub anchor: String,
    /// The period, in seconds.
    pub period_secs: u64,
    /// The error budget, `1 - objective`, rounded.
    pub budget: f64,
    /// Every tier of [`BURN_WINDOWS`], in order, enabled or not.
    pub tiers: Vec<LoweredTier>,
    /// Its recording rule group, as the rules file holds it.
    pub recording: Value,
    /// Its burn-rate and absent-SLI alerting rules.
    pub alerts: Vec<AlertRuleOut>,
}

/// One plain Prometheus rules file: its path under [`DIR`] and its groups.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// [`RECORDING`] or [`ALERTS`].
    pub path: &'static str,
    /// Its `groups:`, as the file holds them.
    pub groups: Vec<Value>,
}

/// The lowered model of a valid spec: computed once ([`lower`]) and read by
/// the renderers (through `render::RenderCx`) and by validation.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The SLOs, in spec order.
    pub slos: Vec<LoweredSlo>,
    /// The spec's own alerts as alerting rules (group [`SPEC_ALERTS_GROUP`]).
    pub spec_alerts: Vec<AlertRuleOut>,
    /// The alias rules of declared renames (group [`crate::rename::GROUP`]), if any.
    pub aliases: Option<Value>,
}

impl Lowered {
    /// Every alerting rule group, in file order: one per SLO, then the spec's alerts.
    pub fn alert_groups(&self) -> Vec<(String, &[AlertRuleOut])> {
        let mut groups: Vec<(String, &[AlertRuleOut])> =
            self.slos.iter().map(|s| (format!("slo-alerts-{}", s.name), s.alerts.as_slice())).collect();
        groups.push((SPEC_ALERTS_GROUP.to_owned(), self.spec_alerts.as_slice()));
        groups
    }

    /// The recording rule groups, in file order.
    pub fn recording_groups(&self) -> Vec<Value> {
        self.slos.iter().map(|s| s.recording.clone()).chain(self.aliases.clone()).collect()
    }

    /// The plain rules files ([`RECORDING`], [`ALERTS`]) and their groups: what
    /// Prometheus loads, and what the PrometheusRule objects and the ruler
    /// namespaces wrap.
    pub fn rule_files(&self) -> Vec<RuleFile> {
        let alerts = self
            .alert_groups()
            .into_iter()
            .map(|(name, rules)| json!({ "name": name, "rules": rules.iter().map(AlertRuleOut::to_value).collect::<Vec<_>>() }))
            .collect();
        vec![RuleFile { path: RECORDING, groups: self.recording_groups() }, RuleFile { path: ALERTS, groups: alerts }]
    }

    /// The rule groups per component, for a Mimir or Thanos ruler (one
    /// namespace per component, in order of first appearance): every group of
    /// [`Lowered::rule_files`] keeps its name, and a group whose rules belong
    /// to several components (the spec's alerts) is split, each rule in the
    /// namespace of its `component` label, in file order.
    pub fn ruler_namespaces(&self) -> Vec<(String, Vec<Value>)> {
        let mut out: Vec<(String, Vec<Value>)> = Vec::new();
        for file in self.rule_files() {
            for group in &file.groups {
                let mut parts: Vec<(String, Vec<Value>)> = Vec::new();
                for rule in group["rules"].as_array().into_iter().flatten() {
                    let component = rule["labels"]["component"].as_str().unwrap_or_default().to_owned();
                    match parts.iter_mut().find(|(c, _)| *c == component) {
                        Some((_, rules)) => rules.push(rule.clone()),
                        None => parts.push((component, vec![rule.clone()])),
                    }
                }
                for (component, rules) in parts {
                    let g = json!({ "name": group["name"], "rules": rules });
                    match out.iter_mut().find(|(c, _)| *c == component) {
                        Some((_, groups)) => groups.push(g),
                        None => out.push((component, vec![g])),
                    }
                }
            }
        }
        out
    }

    /// Every PromQL expression the rule files hold, with where it comes from.
    pub fn exprs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for slo in &self.slos {
            if let Some(rules) = slo.recording["rules"].as_array() {
                for r in rules {
                    out.push((
                        format!("recording rule {} of SLO {}", r["record"].as_str().unwrap_or(""), slo.name),
                        r["expr"].as_str().unwrap_or("").to_owned(),
                    ));
                }
            }
        }
        for r in self.aliases.iter().flat_map(|g| g["rules"].as_array().into_iter().flatten()) {
            out.push((
                format!("alias rule {}", r["record"].as_str().unwrap_or("")),
                r["expr"].as_str().unwrap_or("").to_owned(),
            ));
        }
        for (_, alerts) in self.alert_groups() {
            for a in alerts {
                out.push((format!("alert {}", a.name), a.expr.clone()));
            }
        }
        out
    }
}

/// Lowers a valid spec.
pub fn lower(spec: &Spec) -> Lowered {
    let slos = spec
        .slos
        .iter()
        .map(|s| {
            let period_secs = s.period_secs().unwrap_or(30 * 86_400);
            LoweredSlo {
                name: s.name.clone(),
                ident: slo_camel(&s.name),
                anchor: slo_anchor(&s.name),
                period_secs,
                budget: round(1.0 - s.objective),
                tiers: BURN_WINDOWS
                    .iter()
                    .map(|w| LoweredTier {
                        window: w,
                        enabled: s.tiers.enabled(w.tier),
                        factor: burn_factor(w, period_secs),
                        threshold: burn_threshold(w, s),
                    })
                    .collect(),
                recording: recording_group(s),
                alerts: slo_alerts(spec, s),
            }
        })
        .collect();
    let mut lowered = Lowered {
        slos,
        spec_alerts: spec.alerts.iter().map(|a| blueprint_alert(spec, a)).collect(),
        aliases: crate::rename::alias_group(spec),
    };
    widen_renamed_values(spec, &mut lowered);
    lowered
}

/// Every rule expression matches a renamed label value under both names
/// ([`crate::rename::widen`]); a no-op without renamed values.
fn widen_renamed_values(spec: &Spec, lowered: &mut Lowered) {
    if crate::rename::renamed_values(spec).next().is_none() {
        return;
    }
    for slo in &mut lowered.slos {
        for rule in slo.recording["rules"].as_array_mut().into_iter().flatten() {
            if let Some(e) = rule["expr"].as_str() {
                rule["expr"] = Value::String(crate::rename::widen(spec, e));
            }
        }
    }
    for alert in lowered.slos.iter_mut().flat_map(|s| s.alerts.iter_mut()).chain(lowered.spec_alerts.iter_mut()) {
        alert.expr = crate::rename::widen(spec, &alert.expr);
    }
}
