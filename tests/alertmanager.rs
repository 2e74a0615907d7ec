//! A real Alertmanager loads the generated `alertmanager.yml`; alerts shaped
//! like the generated rules' (their exact labels) are posted through its v2
//! API and read back, proving what each inhibit rule silences and what it
//! must not: a page of one SLO silences only that SLO's tickets and slow page,
//! a fast ticket only its own SLO's slow ticket, and no blueprint alert (which
//! carries no `slo` label) is ever silenced by an unrelated page.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use obspec_codegen::model::{BurnTier, Severity, Spec};
use obspec_codegen::render::prometheus::{self, BURN_TIER_LABEL};
use obspec_tests::{free_port, http_get, root, spec};
use serde_json::{Map, Value, json};

/// An alert's labels, `alertname` included.
type Labels = BTreeMap<String, String>;
/// Alert key → (state, keys or fingerprints of the alerts inhibiting it).
type States = BTreeMap<String, (String, BTreeSet<String>)>;

/// A real `alertmanager` on loopback (clustering off), killed on drop.
struct Alertmanager {
    addr: String,
    child: Child,
    dir: PathBuf,
}

impl Alertmanager {
    fn start() -> Alertmanager {
        let dir = std::env::temp_dir().join(format!("obspec-am-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::copy(root().join("infra/observability/alertmanager.yml"), dir.join("alertmanager.yml"))
            .expect("copy alertmanager.yml");
        let addr = format!("127.0.0.1:{}", free_port());
        let args = [
            "--config.file=alertmanager.yml".to_owned(),
            "--storage.path=data".to_owned(),
            format!("--web.listen-address={addr}"),
            "--cluster.listen-address=".to_owned(),
        ];
        let log = || std::fs::File::create(dir.join("alertmanager.log")).map(Stdio::from).unwrap_or(Stdio::null());
        // Debian installs it as `prometheus-alertmanager`; upstream as `alertmanager`.
        let child = ["alertmanager", "prometheus-alertmanager"]
            .iter()
            .find_map(|bin| {
                Command::new(bin).args(&args).current_dir(&dir).stdout(Stdio::null()).stderr(log()).spawn().ok()
            })
            .expect("start alertmanager (install it with scripts/setup.sh)");
        let am = Alertmanager { addr, child, dir };
        am.wait_for(Duration::from_secs(30), |am| match http_get(&am.addr, "/-/ready") {
            Ok((200, _)) => Ok(()),
            other => Err(format!("not ready: {other:?}")),
        });
        am
    }

    /// Posts alerts (label sets) that started a minute ago and end in an hour.
    fn post(&self, alerts: &[BTreeMap<String, String>]) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
        let body: Vec<Value> = alerts
            .iter()
            .map(|l| json!({ "labels": l, "startsAt": rfc3339(now - 60), "endsAt": rfc3339(now + 3600) }))
            .collect();
        let body = serde_json::to_string(&body).expect("json");
        let mut s = TcpStream::connect(&self.addr).expect("connect alertmanager");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        write!(
            s,
            "POST /api/v2/alerts HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .expect("post alerts");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read response");
        assert!(resp.starts_with("HTTP/1.1 200"), "POST /api/v2/alerts: {resp}");
    }

    /// Every alert Alertmanager holds: `alertname/slo/burn_tier` → (state, inhibiting fingerprints), and fingerprints.
    fn alerts(&self) -> (States, BTreeMap<String, String>) {
        let (status, body) = http_get(&self.addr, "/api/v2/alerts").expect("get alerts");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json alerts");
        let mut states = BTreeMap::new();
        let mut fingerprints = BTreeMap::new();
        for a in v.as_array().expect("an array of alerts") {
            let key = key_of(a["labels"].as_object().expect("labels"));
            let state = a["status"]["state"].as_str().unwrap_or_default().to_owned();
            let by: BTreeSet<String> = a["status"]["inhibitedBy"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect();
            fingerprints.insert(a["fingerprint"].as_str().unwrap_or_default().to_owned(), key.clone());
            states.insert(key, (state, by));
        }
        (states, fingerprints)
    }

    fn wait_for(&self, timeout: Duration, check: impl Fn(&Alertmanager) -> Result<(), String>) {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            match check(self) {
                Ok(()) => return,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(self.dir.join("alertmanager.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        panic!("not met within {timeout:?}:\n{last}\nalertmanager log (newest first):\n{}", tail.join("\n"));
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Seconds since the epoch as RFC 3339 UTC.
fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for any date after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn key_of(labels: &Map<String, Value>) -> String {
    let get = |k: &str| labels.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
    format!("{}/{}/{}", get("alertname"), get("slo"), get(BURN_TIER_LABEL))
}

fn key(l: &BTreeMap<String, String>) -> String {
    let get = |k: &str| l.get(k).cloned().unwrap_or_else(|| "-".to_owned());
    format!("{}/{}/{}", get("alertname"), get("slo"), get(BURN_TIER_LABEL))
}

/// The label sets the generated rules give their alerts: SLO alerts by SLO, blueprint alerts apart.
fn generated_alerts(spec: &Spec) -> (BTreeMap<String, Vec<Labels>>, Vec<Labels>) {
    let labels = |a: &prometheus::AlertRuleOut| -> BTreeMap<String, String> {
        let mut l: BTreeMap<String, String> =
            a.labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect();
        l.insert("alertname".into(), a.name.clone());
        l
    };
    let by_slo = spec
        .slos
        .iter()
        .map(|s| (s.name.clone(), prometheus::slo_alerts(spec, s).iter().map(labels).collect()))
        .collect();
    let blueprint = spec.alerts.iter().map(|a| labels(&prometheus::blueprint_alert(spec, a))).collect();
    (by_slo, blueprint)
}

fn tier_of(alerts: &[Labels], tier: BurnTier) -> &Labels {
    alerts
        .iter()
        .find(|l| l.get(BURN_TIER_LABEL).map(String::as_str) == Some(tier.as_str()))
        .unwrap_or_else(|| panic!("no {} alert in {alerts:?}", tier.as_str()))
}

/// Posts `alerts` to a fresh Alertmanager and waits until exactly `inhibited`
/// (alert key → keys of the alerts that must be among its inhibitors) are
/// suppressed and every other alert is active.
fn expect_inhibition(alerts: &[BTreeMap<String, String>], inhibited: &BTreeMap<String, BTreeSet<String>>) {
    let am = Alertmanager::start();
    am.post(alerts);
    let posted: BTreeSet<String> = alerts.iter().map(key).collect();
    am.wait_for(Duration::from_secs(20), |am| {
        let (states, fps) = am.alerts();
        let got: BTreeSet<&String> = states.keys().collect();
        if got != posted.iter().collect() {
            return Err(format!("alertmanager holds {got:?}, posted {posted:?}"));
        }
        let mut wrong = Vec::new();
        for (k, (state, by)) in &states {
            let by: BTreeSet<String> = by.iter().filter_map(|f| fps.get(f).cloned()).collect();
            match inhibited.get(k) {
                Some(sources) if state != "suppressed" || !sources.is_subset(&by) => {
                    wrong.push(format!("{k} should be inhibited by {sources:?}: {state}, inhibited by {by:?}"))
                }
                None if state != "active" || !by.is_empty() => {
                    wrong.push(format!("{k} should be active: {state}, inhibited by {by:?}"))
                }
                _ => {}
            }
        }
        if wrong.is_empty() { Ok(()) } else { Err(wrong.join("\n")) }
    });
}

/// An SLO with page and ticket tiers in a component that has another SLO and a
/// blueprint ticket: the case where a loose inhibit rule silences the wrong alert.
fn crowded_slo(spec: &Spec) -> String {
    spec.slos
        .iter()
        .find(|s| {
            BurnTier::ALL.iter().all(|t| s.tiers.enabled(*t))
                && spec.slos.iter().any(|o| o.name != s.name && o.component == s.component)
                && spec.alerts.iter().any(|a| a.component == s.component && a.severity == Severity::Ticket)
        })
        .map(|s| s.name.clone())
        .expect("the spec has an SLO sharing its component with another SLO and a blueprint ticket")
}

#[test]
fn the_generated_config_has_the_inhibit_rules_these_tests_cover() {
    let text = std::fs::read_to_string(root().join("infra/observability/alertmanager.yml")).expect("read");
    // Three rules: page → ticket, page-fast → page-slow, ticket-fast → ticket-slow (each proven below).
    assert_eq!(text.matches("source_matchers:").count(), 3, "{text}");
    assert_eq!(text.matches("- 'slo=~\".+\"'").count(), 6, "every source and target requires an slo:\n{text}");
}

#[test]
fn a_page_silences_only_its_own_slos_ticket_and_slow_page_never_a_blueprint_alert() {
    let spec = spec();
    let (by_slo, blueprint) = generated_alerts(&spec);
    let a = crowded_slo(&spec);
    let mine = &by_slo[&a];
    let fast = tier_of(mine, BurnTier::PageFast);
    let mut alerts: Vec<BTreeMap<String, String>> = BurnTier::ALL.iter().map(|t| tier_of(mine, *t).clone()).collect();
    // Every other SLO tickets (its slow tier alone), and every blueprint alert fires, pages included.
    for (name, others) in &by_slo {
        if name != &a {
            alerts.push(tier_of(others, BurnTier::TicketSlow).clone());
        }
    }
    alerts.extend(blueprint.iter().cloned());
    let k = |t: BurnTier| key(tier_of(mine, t));
    let pages: BTreeSet<String> = [k(BurnTier::PageFast)].into();
    let inhibited: BTreeMap<String, BTreeSet<String>> = [
        (k(BurnTier::PageSlow), [key(fast)].into()),
        (k(BurnTier::TicketFast), pages.clone()),
        (k(BurnTier::TicketSlow), pages),
    ]
    .into();
    expect_inhibition(&alerts, &inhibited);
}

#[test]
fn a_fast_ticket_silences_only_its_own_slos_slow_ticket() {
    let spec = spec();
    let (by_slo, blueprint) = generated_alerts(&spec);
    let a = crowded_slo(&spec);
    let mine = &by_slo[&a];
    let mut alerts = vec![tier_of(mine, BurnTier::TicketFast).clone(), tier_of(mine, BurnTier::TicketSlow).clone()];
    for (name, others) in &by_slo {
        if name != &a {
            alerts.push(tier_of(others, BurnTier::TicketSlow).clone());
        }
    }
    alerts.extend(blueprint.iter().filter(|l| l["severity"] == "ticket").cloned());
    let inhibited: BTreeMap<String, BTreeSet<String>> =
        [(key(tier_of(mine, BurnTier::TicketSlow)), [key(tier_of(mine, BurnTier::TicketFast))].into())].into();
    expect_inhibition(&alerts, &inhibited);
}

#[test]
fn blueprint_pages_never_silence_blueprint_tickets_of_their_component() {
    // The cases: OfficeToolCallLatencyP99High vs OfficeBackpressureBurn, CoreErrorRate5xxHigh vs
    // TenantRateLimitSpike: every blueprint alert at once, next to every SLO's fast page; none is silenced.
    let spec = spec();
    let (by_slo, blueprint) = generated_alerts(&spec);
    let mut alerts = blueprint.clone();
    for others in by_slo.values() {
        alerts.push(tier_of(others, BurnTier::PageFast).clone());
    }
    // A control that must be silenced, so "nothing else is" is read once inhibition has run.
    let mine = &by_slo[&crowded_slo(&spec)];
    alerts.push(tier_of(mine, BurnTier::TicketFast).clone());
    let control: BTreeMap<String, BTreeSet<String>> =
        [(key(tier_of(mine, BurnTier::TicketFast)), [key(tier_of(mine, BurnTier::PageFast))].into())].into();
    let components: BTreeSet<&String> = blueprint
        .iter()
        .filter(|l| l["severity"] == "ticket")
        .map(|l| &l["component"])
        .filter(|c| blueprint.iter().any(|p| p["severity"] == "page" && &&p["component"] == c))
        .collect();
    assert!(!components.is_empty(), "no component has both a blueprint page and a blueprint ticket");
    expect_inhibition(&alerts, &control);
}
