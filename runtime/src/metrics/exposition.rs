//! The Prometheus text exposition format (0.0.4) of a recorder's series.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use ::metrics::Key;

use crate::metrics::desc::MetricKind;
use crate::metrics::recorder::Registry;

/// `Content-Type` of the `/metrics` response.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One series: its rendered label pairs (`a="x",b="y"`) and its value.
enum Value {
    Int(u64),
    Float(f64),
    Hist(crate::metrics::histogram::HistogramSnapshot),
}

struct Family {
    kind: MetricKind,
    series: BTreeMap<String, Value>,
}

fn labels(key: &Key) -> String {
    let mut out = String::new();
    for (i, l) in key.labels().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(l.key());
        out.push_str("=\"");
        for c in l.value().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{v}")
    }
}

fn help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn braces(pairs: &str) -> String {
    if pairs.is_empty() { String::new() } else { format!("{{{pairs}}}") }
}

/// Renders every series of the registry, families sorted by name and series
/// by labels. A series whose type contradicts the spec's declaration is left
/// out (two `# TYPE` lines for one name would make the scrape invalid).
pub(crate) fn render_registry(reg: &Registry) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut add = |key: &Key, kind: MetricKind, value: Value| {
        if reg.kind_of(key.name()).is_some_and(|k| k != kind) {
            return;
        }
        let fam = families.entry(key.name().to_owned()).or_insert_with(|| Family { kind, series: BTreeMap::new() });
        if fam.kind == kind {
            fam.series.insert(labels(key), value);
        }
    };
    for (k, v) in reg.counters.read().unwrap_or_else(PoisonError::into_inner).iter() {
        add(k, MetricKind::Counter, Value::Int(v.load(Ordering::Relaxed)));
    }
    for (k, v) in reg.gauges.read().unwrap_or_else(PoisonError::into_inner).iter() {
        add(k, MetricKind::Gauge, Value::Float(f64::from_bits(v.load(Ordering::Relaxed))));
    }
    for (k, v) in reg.histograms.read().unwrap_or_else(PoisonError::into_inner).iter() {
        add(k, MetricKind::Histogram, Value::Hist(v.snapshot()));
    }
    let described = reg.described.read().unwrap_or_else(PoisonError::into_inner);
    let mut out = String::new();
    for (name, fam) in &families {
        let text = reg.descs.get(name.as_str()).map(|d| d.help).or_else(|| described.get(name).map(String::as_str));
        if let Some(text) = text {
            let _ = writeln!(out, "# HELP {name} {}", help(text));
        }
        let _ = writeln!(out, "# TYPE {name} {}", fam.kind.as_str());
        for (pairs, value) in &fam.series {
            match value {
                Value::Int(v) => {
                    let _ = writeln!(out, "{name}{} {v}", braces(pairs));
                }
                Value::Float(v) => {
                    let _ = writeln!(out, "{name}{} {}", braces(pairs), float(*v));
                }
                Value::Hist(h) => {
                    let sep = if pairs.is_empty() { "" } else { "," };
                    for (le, n) in &h.buckets {
                        let _ = writeln!(out, "{name}_bucket{{{pairs}{sep}le=\"{}\"}} {n}", float(*le));
                    }
                    let _ = writeln!(out, "{name}_bucket{{{pairs}{sep}le=\"+Inf\"}} {}", h.count);
                    let _ = writeln!(out, "{name}_sum{} {}", braces(pairs), float(h.sum));
                    let _ = writeln!(out, "{name}_count{} {}", braces(pairs), h.count);
                }
            }
        }
    }
    out
}
