//! Calendar-month budgets: `period: calendar_month` lowers to month-to-date
//! rules, and a mistyped period or a retention shorter than a month is a
//! located error.

mod common;

use obspec_codegen::Input;

fn with(edit: impl Fn(&mut Vec<Input>)) -> String {
    let mut inputs = common::real();
    edit(&mut inputs);
    let diags = obspec_codegen::check(&inputs).expect_err("invalid");
    obspec_codegen::diag::render_all(&diags)
}

fn replace(inputs: &mut [Input], file: &str, from: &str, to: &str) {
    let i = inputs.iter_mut().find(|i| i.name.ends_with(file)).expect("spec file");
    assert!(i.text.contains(from), "{file} lacks {from:?}");
    i.text = i.text.replace(from, to);
}

#[test]
fn a_mistyped_period_is_located_with_both_forms_in_the_help() {
    let text = with(|i| replace(i, "slos.yaml", "period: calendar_month", "period: calendar-month"));
    assert!(text.contains("`calendar-month` is neither a rolling window nor `calendar_month`"), "{text}");
    assert!(text.contains("spec/slos.yaml:34:13") && text.contains("slos[3].period"), "{text}");
}

#[test]
fn a_calendar_month_needs_31_days_of_retention() {
    let text = with(|i| replace(i, "project.yaml", "metrics_retention_days: 31", "metrics_retention_days: 30"));
    assert!(text.contains("SLO `core-errors` has a period of calendar_month but metrics are kept 30 days"), "{text}");
    assert!(text.contains("at least 31 days"), "{text}");
}

#[test]
fn calendar_rules_count_the_month_and_rolling_ones_stay() {
    let loaded = obspec_codegen::check(&common::real()).expect("valid");
    let lowered = obspec_codegen::lower::lower(&loaded.spec);
    let records = |name: &str| -> Vec<String> {
        let slo = lowered.slos.iter().find(|s| s.name == name).expect("slo");
        slo.recording["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| format!("{} = {}", r["record"].as_str().unwrap_or(""), r["expr"].as_str().unwrap_or("")))
            .collect()
    };
    let cal = records("core-errors");
    let find = |rules: &[String], record: &str| rules.iter().find(|r| r.starts_with(&format!("{record} = "))).cloned();
    let events = find(&cal, "slo:sli_events:count_month").expect("month events");
    assert!(
        events.contains("[31d:1h]") && events.contains("@ end()") && events.contains("month(vector(time() - 1))"),
        "{events}"
    );
    assert!(find(&cal, "slo:period_elapsed:ratio").is_some_and(|r| r.contains("days_in_month()")));
    assert!(find(&cal, "slo:sli_error:ratio_rate_period").is_some_and(|r| r.contains("count_month")));
    let rolling = records("gateway-errors");
    assert!(find(&rolling, "slo:sli_events:count_month").is_none());
    assert!(
        find(&rolling, "slo:sli_error:ratio_rate_period")
            .is_some_and(|r| r.contains("sum_over_time(") && r.contains("[30d]"))
    );
}
