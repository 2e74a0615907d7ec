//! OpenSLO v1 import: the subset of OpenSLO that maps to obspec (ratio SLOs
//! over Prometheus counters, occurrence budgets, one objective, a rolling or
//! calendar-month window) becomes spec YAML (`slos:`), so a team with OpenSLO
//! files can start from them (`cargo xtask import openslo FILE…`).
//!
//! It reads what [`crate::render::openslo`] writes back to the same SLOs: a
//! `bad`/`total` ratio is a ratio SLI; a `good` query on a histogram's
//! `_bucket` with one `le` and a `total` on its `_count` with the same
//! matchers is a latency SLI; `min_rate` and `note` come from the obspec
//! annotations, the tiers from the SLO's `alertPolicies` named
//! `<slo>-<tier>` (every tier when none is). Everything else is a located
//! problem, all reported at once, each saying what to do.

use serde_json::{Map, Value, json};

use crate::diag::Diagnostic;
use crate::load::Input;
use crate::model::{BurnTier, CALENDAR_MONTH};
use crate::names::{self, fmt_float};
use crate::promql;
use crate::render::openslo::{ANN_MIN_RATE, ANN_NOTE, API_VERSION, CALENDAR_DURATION, tier_object};
use crate::source::{self, SourceFile, YamlPath};
use promql_parser::label::{MatchOp, Matcher};

/// The least request rate an imported SLO gets when its file sets none.
pub const DEFAULT_MIN_RATE: f64 = 0.05;

/// One YAML document of a file, with its positions (line numbers of the whole file).
struct Doc {
    value: Value,
    file: SourceFile,
    index: usize,
}

/// Splits a multi-document file at `---` lines; each document is parsed with
/// the lines before it blanked, so every position is the file's own.
fn documents(input: &Input, out: &mut Vec<Diagnostic>) -> Vec<Doc> {
    let lines: Vec<&str> = input.text.lines().collect();
    let mut starts = vec![0];
    for (i, l) in lines.iter().enumerate() {
        if *l == "---" || l.starts_with("--- ") {
            starts.push(i + 1);
        }
    }
    let mut docs = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map(|s| s - 1).unwrap_or(lines.len());
        let mut text = "\n".repeat(start);
        text.push_str(&lines[start.min(lines.len())..end.max(start).min(lines.len())].join("\n"));
        text.push('\n');
        let (value, file, problems) = source::parse(&input.name, &text);
        for p in problems {
            out.push(Diagnostic::at_pos(&file, p.pos, &p.path, p.message, p.help));
        }
        match value {
            Some(Value::Null) | None => {}
            Some(value) => docs.push(Doc { value, file, index: docs.len() + 1 }),
        }
    }
    docs
}

struct Cx<'a> {
    doc: &'a Doc,
    out: &'a mut Vec<Diagnostic>,
}

impl Cx<'_> {
    fn err(&mut self, path: &YamlPath, message: String, help: &str) {
        let message = format!("document {}: {message}", self.doc.index);
        self.out.push(Diagnostic::at(&self.doc.file, path, message, help));
    }

    fn str_at(&mut self, path: &YamlPath, v: &Value, what: &str) -> Option<String> {
        match v.as_str() {
            Some(s) if !s.is_empty() => Some(s.to_owned()),
            _ => {
                self.err(path, format!("{what} is missing or not a string"), "write it as a non-empty string");
                None
            }
        }
    }
}

fn get<'v>(v: &'v Value, path: &[&str]) -> &'v Value {
    path.iter().fold(v, |v, k| &v[*k])
}

fn yaml_path(keys: &[&str]) -> YamlPath {
    keys.iter().fold(YamlPath::root(), |p, k| p.key(k))
}

/// The Prometheus query of a `metricSource`, checked to be a plain selector.
fn query(cx: &mut Cx<'_>, sli: &Value, side: &str) -> Option<String> {
    let base = ["spec", "indicator", "spec", "ratioMetric", side, "metricSource"];
    let ms = get(sli, &[side, "metricSource"]);
    let ty = ms["type"].as_str().unwrap_or("");
    if !ty.eq_ignore_ascii_case("prometheus") {
        cx.err(
            &yaml_path(&base).key("type"),
            format!("the {side} metric source is `{ty}`, not Prometheus"),
            "obspec reads Prometheus only: write the SLI as a Prometheus counter selector",
        );
        return None;
    }
    let path = yaml_path(&base).key("spec").key("query");
    let q = cx.str_at(&path, &ms["spec"]["query"], &format!("the {side} query"))?;
    if promql::parse_selector(&q).is_err() {
        cx.err(
            &path,
            format!("the {side} query `{q}` is not a plain selector"),
            "write the counter's selector only (`http_requests_total{code=~\"5..\"}`): obspec takes the rates itself",
        );
        return None;
    }
    Some(q)
}

fn canonical(name: &str, m: &[Matcher]) -> String {
    let ms = promql::render_matchers(m);
    if ms.is_empty() { name.to_owned() } else { format!("{name}{{{ms}}}") }
}

/// The SLI of a `ratioMetric`, as the spec writes it (`ratio:` or `latency:`).
fn sli(cx: &mut Cx<'_>, slo: &Value) -> Option<(&'static str, Value)> {
    let spec = &slo["spec"];
    let at = yaml_path(&["spec"]);
    if !spec["indicatorRef"].is_null() {
        cx.err(&at.key("indicatorRef"), "the SLI is a reference".into(), "inline the SLI under `spec.indicator`");
        return None;
    }
    let ind = &spec["indicator"]["spec"];
    let rm = &ind["ratioMetric"];
    if rm.is_null() {
        let what = match ["thresholdMetric", "rawMetric"].into_iter().find(|k| !ind[*k].is_null()) {
            Some(kind) => format!("the SLI is a {kind}"),
            None => "the SLO has no SLI (`spec.indicator.spec.ratioMetric`)".to_owned(),
        };
        cx.err(
            &at.key("indicator").key("spec"),
            what,
            "obspec imports ratio SLIs: a `ratioMetric` with `bad` (or a histogram's `good` bucket) and `total`",
        );
        return None;
    }
    let rpath = yaml_path(&["spec", "indicator", "spec", "ratioMetric"]);
    if rm["counter"] != Value::Bool(true) {
        cx.err(
            &rpath.key("counter"),
            "the ratio is not over counters".into(),
            "set `counter: true`: obspec SLIs are counters",
        );
    }
    if !rm["raw"].is_null() || !rm["rawType"].is_null() {
        cx.err(
            &rpath.key("raw"),
            "the ratio is a raw ratio".into(),
            "write `bad` (or `good`) and `total` counters instead",
        );
        return None;
    }
    let total = query(cx, rm, "total");
    let side = match (rm["bad"].is_null(), rm["good"].is_null()) {
        (false, true) => query(cx, rm, "bad"),
        (true, false) => query(cx, rm, "good"),
        _ => None,
    };
    let total = total?;
    let (tn, tm) = promql::parse_selector(&total).ok()?;
    match (rm["bad"].is_null(), rm["good"].is_null()) {
        (false, true) => {
            let bad = side?;
            let (bn, bm) = promql::parse_selector(&bad).ok()?;
            Some(("ratio", json!({ "errors": canonical(&bn, &bm), "total": canonical(&tn, &tm) })))
        }
        (true, false) => {
            let good = side?;
            let (gn, gm) = promql::parse_selector(&good).ok()?;
            let family = gn.strip_suffix("_bucket");
            let le: Vec<&Matcher> = gm.iter().filter(|m| m.name == "le").collect();
            let rest: Vec<Matcher> = gm.iter().filter(|m| m.name != "le").cloned().collect();
            let threshold = match le.as_slice() {
                [m] if matches!(m.op, MatchOp::Equal) => m.value.parse::<f64>().ok(),
                _ => None,
            };
            let same =
                family.is_some_and(|f| tn == format!("{f}_count")) && canonical("x", &rest) == canonical("x", &tm);
            match (family, threshold, same) {
                (Some(f), Some(t), true) => {
                    Some(("latency", json!({ "histogram": canonical(f, &rest), "threshold": t })))
                }
                _ => {
                    cx.err(
                        &rpath.key("good"),
                        format!("`{good}` over `{total}` is not a latency SLI obspec can read"),
                        "obspec counts bad events: write `bad` (the errors counter), or for latency a `good` on `<histogram>_bucket{…,le=\"<threshold>\"}` and a `total` on `<histogram>_count{…}` with the same matchers",
                    );
                    None
                }
            }
        }
        _ => {
            cx.err(
                &rpath,
                "the ratio needs exactly one of `bad` and `good`".into(),
                "keep `bad` (or a histogram's `good`) and `total`",
            );
            None
        }
    }
}

/// The `period` of an SLO's `timeWindow`.
fn period(cx: &mut Cx<'_>, slo: &Value) -> Option<String> {
    let at = yaml_path(&["spec", "timeWindow"]);
    let windows = slo["spec"]["timeWindow"].as_array().cloned().unwrap_or_default();
    let [w] = windows.as_slice() else {
        cx.err(&at, "the SLO needs exactly one time window".into(), "keep one `timeWindow` entry");
        return None;
    };
    let at = at.index(0);
    let d = cx.str_at(&at.key("duration"), &w["duration"], "the time window's duration")?;
    match w["isRolling"].as_bool() {
        Some(false) => {
            if d == CALENDAR_DURATION && w["calendar"]["timeZone"].as_str().is_none_or(|z| z == "UTC" || z == "Etc/UTC")
            {
                Some(CALENDAR_MONTH.to_owned())
            } else {
                cx.err(
                    &at.key("duration"),
                    format!("a calendar window of `{d}`{}", w["calendar"]["timeZone"].as_str().map(|z| format!(" in {z}")).unwrap_or_default()),
                    "obspec counts calendar budgets per UTC month: use `duration: 1M` with `timeZone: UTC`, or a rolling window",
                );
                None
            }
        }
        Some(true) => {
            if names::duration_seconds(&d).is_some() {
                Some(d)
            } else {
                cx.err(
                    &at.key("duration"),
                    format!("the rolling window `{d}` is not a Prometheus duration"),
                    "write it in days, hours or minutes (`28d`, `30d`): Prometheus ranges have no months, quarters or years",
                );
                None
            }
        }
        None => {
            cx.err(
                &at.key("isRolling"),
                "the time window does not say whether it rolls".into(),
                "set `isRolling: true` or `false`",
            );
            None
        }
    }
}

/// The spec YAML of one OpenSLO `SLO` document, or `None` after reporting why not.
fn slo(cx: &mut Cx<'_>, v: &Value) -> Option<Value> {
    let name = cx.str_at(&yaml_path(&["metadata", "name"]), &v["metadata"]["name"], "metadata.name");
    let spec = &v["spec"];
    let component =
        cx.str_at(&yaml_path(&["spec", "service"]), &spec["service"], "spec.service (the obspec component)");
    let description = cx.str_at(&yaml_path(&["spec", "description"]), &spec["description"], "spec.description");
    let method = spec["budgetingMethod"].as_str().unwrap_or("");
    if method != "Occurrences" {
        cx.err(
            &yaml_path(&["spec", "budgetingMethod"]),
            format!("the budgeting method is `{method}`"),
            "obspec budgets by occurrences (bad events over all events): set `budgetingMethod: Occurrences`",
        );
    }
    let objectives = spec["objectives"].as_array().cloned().unwrap_or_default();
    let objective = match objectives.as_slice() {
        [o] => match (o["target"].as_f64(), o["targetPercent"].as_f64()) {
            (Some(t), None) => Some(t),
            (None, Some(p)) => Some(names::round(p / 100.0)),
            _ => {
                cx.err(
                    &yaml_path(&["spec", "objectives"]).index(0),
                    "the objective has no target".into(),
                    "set `target` (0.99) or `targetPercent` (99)",
                );
                None
            }
        },
        _ => {
            cx.err(
                &yaml_path(&["spec", "objectives"]),
                "the SLO needs exactly one objective".into(),
                "keep one entry: obspec SLOs have one target",
            );
            None
        }
    };
    let period = period(cx, v);
    let sli = sli(cx, v);
    let ann = &v["metadata"]["annotations"];
    let min_rate = match ann[ANN_MIN_RATE].as_str() {
        Some(s) => match s.parse::<f64>() {
            Ok(r) => r,
            Err(_) => {
                cx.err(
                    &yaml_path(&["metadata", "annotations", ANN_MIN_RATE]),
                    format!("`{s}` is not a rate"),
                    "write events per second, e.g. '0.05'",
                );
                DEFAULT_MIN_RATE
            }
        },
        None => DEFAULT_MIN_RATE,
    };
    let refs: Vec<String> = spec["alertPolicies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["alertPolicyRef"].as_str().or(p["metadata"]["name"].as_str()).map(str::to_owned))
        .collect();
    let (name, component, description, objective, period, (kind, sli)) =
        (name?, component?, description?, objective?, period?, sli?);
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("component".into(), json!(component));
    out.insert("description".into(), json!(description));
    out.insert("objective".into(), json!(objective));
    out.insert("period".into(), json!(period));
    out.insert(kind.into(), sli);
    out.insert("min_rate".into(), json!(min_rate));
    let named: Vec<BurnTier> =
        BurnTier::ALL.into_iter().filter(|t| refs.contains(&tier_object(&name, t.as_str()))).collect();
    if !named.is_empty() && named.len() < BurnTier::ALL.len() {
        let off: Map<String, Value> = BurnTier::ALL
            .into_iter()
            .filter(|t| !named.contains(t))
            .map(|t| (t.as_str().to_owned(), Value::Bool(false)))
            .collect();
        out.insert("tiers".into(), Value::Object(off));
    }
    if let Some(n) = ann[ANN_NOTE].as_str() {
        out.insert("note".into(), json!(n));
    }
    Some(Value::Object(out))
}

/// The SLOs of OpenSLO files, as spec values (`slos:` entries), in file order;
/// other kinds (AlertPolicy, AlertCondition, targets, Service) are read past.
pub fn slos(inputs: &[Input]) -> Result<Vec<Value>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for input in inputs {
        for doc in documents(input, &mut diags) {
            let mut cx = Cx { doc: &doc, out: &mut diags };
            let v = &doc.value;
            let api = v["apiVersion"].as_str().unwrap_or("");
            if api != API_VERSION {
                cx.err(
                    &yaml_path(&["apiVersion"]),
                    format!("apiVersion `{api}`"),
                    "obspec imports OpenSLO v1: `apiVersion: openslo/v1`",
                );
                continue;
            }
            if v["kind"].as_str() == Some("SLO")
                && let Some(s) = slo(&mut cx, v)
            {
                out.push(s);
            }
        }
    }
    if out.is_empty() && diags.is_empty() {
        return Err(vec![Diagnostic {
            file: inputs.first().map(|i| i.name.clone()).unwrap_or_default(),
            pos: Default::default(),
            path: String::new(),
            message: "no OpenSLO `kind: SLO` document in the files given".into(),
            help: "pass the files that hold the SLOs".into(),
            line_text: String::new(),
        }]);
    }
    if diags.is_empty() { Ok(out) } else { Err(diags) }
}

/// The spec YAML (`slos:`) of OpenSLO files: what `cargo xtask import openslo` prints.
pub fn import(inputs: &[Input]) -> Result<String, Vec<Diagnostic>> {
    let slos = slos(inputs)?;
    let defaulted: Vec<String> = inputs
        .iter()
        .flat_map(|i| {
            let mut d = Vec::new();
            documents(i, &mut d)
        })
        .filter(|d| d.value["kind"] == "SLO" && d.value["metadata"]["annotations"][ANN_MIN_RATE].is_null())
        .filter_map(|d| d.value["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    let mut text = String::from(
        "# Imported from OpenSLO by `cargo xtask import openslo`: add these to a spec file under spec/.\n",
    );
    if !defaulted.is_empty() {
        text.push_str(&format!(
            "# min_rate is {} (the least request rate for a page) where the file set none: {}.\n",
            fmt_float(DEFAULT_MIN_RATE),
            defaulted.join(", ")
        ));
    }
    text.push_str(&crate::render::yaml::to_string(&json!({ "slos": slos })));
    Ok(text)
}
