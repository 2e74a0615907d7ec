//! `install_for(component)` creates every series of the component's metrics
//! whose labels are all closed at zero, before any emitter is touched, so "no
//! errors yet" is `0`, not an absent series; metrics with an open label (route,
//! tool, tenant…) start empty, and other components' metrics are not created.
//! A process of its own: the recorder is global and installed once.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use obspec_generated::ErrorToken;
use obspec_generated::metrics::{self as m, Decision, Quota, SessionType, Tool};

/// Sample lines of an exposition: series text → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line has a value");
            (series.to_owned(), value.parse().expect("a numeric value"))
        })
        .collect()
}

fn family(series: &str) -> &str {
    let name = series.split('{').next().unwrap_or(series);
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s).filter(|f| m::METRICS.iter().any(|d| d.name == *f)))
        .unwrap_or(name)
}

/// Families with at least one sample, and how many samples each has.
fn families(got: &BTreeMap<String, f64>) -> BTreeMap<&str, usize> {
    let mut per_family: BTreeMap<&str, usize> = BTreeMap::new();
    for s in got.keys() {
        *per_family.entry(family(s)).or_default() += 1;
    }
    per_family.remove("obspec_label_overflow_total");
    per_family
}

fn closed_metrics_of<'a>(components: &[&str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = m::PREINITIALISED.iter().filter(|(c, _)| components.contains(c)).map(|(_, n)| *n).collect();
    v.sort_unstable();
    v
}

#[test]
fn install_for_creates_the_components_closed_series_at_zero_and_no_open_one() {
    let exporter = m::install_for("gateway").unwrap();
    let text = exporter.render();
    let got = samples(&text);

    // Every value is zero: nothing was emitted yet.
    let nonzero: Vec<(&String, &f64)> = got.iter().filter(|(_, v)| **v != 0.0).collect();
    assert!(nonzero.is_empty(), "pre-initialised series must be 0: {nonzero:?}");
    // Exactly the gateway's fully closed metrics have series (not its open-labelled
    // ones, nor other components').
    let per_family = families(&got);
    assert_eq!(per_family.keys().copied().collect::<Vec<_>>(), closed_metrics_of(&["gateway"]), "{text}");
    assert!(!closed_metrics_of(&["gateway"]).contains(&"gateway_http_requests_total"), "route is open");
    for s in SessionType::ALL {
        let series = format!(r#"gateway_backpressure_total{{session_type="{}"}}"#, s.as_str());
        assert_eq!(got.get(&series), Some(&0.0), "{series} missing:\n{text}");
    }
    for ok in ["true", "false"] {
        assert_eq!(got.get(&format!(r#"gateway_jwks_refresh_total{{ok="{ok}"}}"#)), Some(&0.0), "{text}");
    }
    assert_eq!(got.get("gateway_jwks_refresh_consecutive_failures"), Some(&0.0));

    // The other components, as their services would.
    assert!(!m::preinitialise("no_such_component"));
    for c in ["core", "office", "policy_proxy"] {
        assert!(m::preinitialise(c), "{c}");
    }
    let text = exporter.render();
    let got = samples(&text);
    let per_family = families(&got);
    assert_eq!(
        per_family.keys().copied().collect::<Vec<_>>(),
        closed_metrics_of(&["gateway", "core", "office", "policy_proxy"]),
        "{text}"
    );
    for open in ["webhook_delivery_total", "core_rate_limit_hits_total", "core_tenant_requests_total"] {
        assert!(!per_family.contains_key(open), "{open} has an open label:\n{text}");
    }
    // Every combination of the closed labels, with the spec's values.
    for s in SessionType::ALL {
        for q in Quota::ALL {
            let series = format!(r#"core_quota_exceeded_total{{session_type="{}",quota="{}"}}"#, s.as_str(), q.as_str());
            assert_eq!(got.get(&series), Some(&0.0), "{series} missing:\n{text}");
        }
    }
    assert_eq!(per_family["core_quota_exceeded_total"], SessionType::ALL.len() * Quota::ALL.len());
    for d in Decision::ALL {
        assert_eq!(got.get(&format!(r#"policy_eval_total{{decision="{}"}}"#, d.as_str())), Some(&0.0), "{text}");
    }
    // A histogram without labels: every bucket, the sum and the count.
    let ws = m::METRICS.iter().find(|d| d.name == "office_ws_reconnect_duration_seconds").expect("ws histogram");
    assert_eq!(per_family[ws.name], ws.buckets.len() + 1 + 2, "{text}");
    assert_eq!(got.get("office_ws_reconnect_duration_seconds_count"), Some(&0.0));
    assert_eq!(got.get(r#"office_ws_reconnect_duration_seconds_bucket{le="+Inf"}"#), Some(&0.0));

    // The first event lands on the existing series (rate() sees 0 → 1, not a new series).
    m::policy_eval_total(Decision::Deny).increment(1);
    let after = samples(&exporter.render());
    assert_eq!(after.get(r#"policy_eval_total{decision="deny"}"#), Some(&1.0));
    assert_eq!(after.len(), got.len(), "no new series");
    // Open-labelled metrics appear on first use only.
    m::core_tenant_requests_total("t-9").increment(1);
    assert!(exporter.render().contains(r#"core_tenant_requests_total{tenant="t-9"} 1"#));
    // A closed tool label (R42): every tool × ok × err is there from the start.
    assert_eq!(per_family["office_mcp_call_total"], Tool::ALL.len() * 2 * (ErrorToken::ALL.len() + 1));
    m::office_mcp_call_total(Tool::Sum, false, Some(ErrorToken::Backpressure)).increment(1);
    assert!(exporter.render().contains(r#"office_mcp_call_total{tool="sum",ok="false",err="BACKPRESSURE"} 1"#));

    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (scripts/setup.sh)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let problems = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && problems.trim().is_empty(), "promtool check metrics:\n{problems}\n---\n{text}");
}
