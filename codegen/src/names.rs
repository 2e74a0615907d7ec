//! Naming rules and small parsers shared by validation and renderers.

use crate::model::{LabelKind, Metric, MetricKind, Spec, Unit};

/// `lower_snake_case`, starting with a letter.
pub fn is_snake(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `kebab-case`, starting with a letter.
pub fn is_kebab(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// `UpperCamelCase`.
pub fn is_upper_camel(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// `SCREAMING_SNAKE_CASE`.
pub fn is_screaming_snake(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A Prometheus label name that is not reserved (`__`-prefixed).
pub fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// A Prometheus metric name without colons (those are for recording rules).
pub fn is_metric_name(s: &str) -> bool {
    is_label_name(s)
}

/// A dotted flag name, `sampling.spike`.
pub fn is_flag_name(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_snake)
}

/// A trail kind, `office.tool_call`.
pub fn is_trail_kind(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 2 && parts.iter().all(|p| is_snake(p))
}

/// `SCREAMING_SNAKE`, `snake_case`, `kebab-case` or `dotted.words` → `UpperCamelCase`:
/// how a spec name becomes a generated type or variant name (the Rust renderer's rule).
pub fn camel(s: &str) -> String {
    s.split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Words Rust reserves that not even a raw identifier (`r#…`) may take.
const NOT_RAW: &[&str] = &["_", "self", "Self", "super", "crate"];

/// Why `s` cannot be a generated Rust identifier (a function, parameter or
/// module name as written, or a raw one when it is a keyword), if it cannot.
pub fn rust_ident_problem(s: &str) -> Option<String> {
    let mut chars = s.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !starts || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some(format!("`{s}` is not a Rust identifier"));
    }
    NOT_RAW.contains(&s).then(|| format!("`{s}` is a word Rust reserves"))
}

/// Why a value cannot become a generated enum variant (the
/// [`camel`] case of its words), if it cannot: ASCII letters and digits in
/// words separated by `_`, `-` or `.`.
pub fn variant_value_problem(v: &str) -> Option<String> {
    if !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Some(format!("value `{v}` cannot become a Rust enum variant"));
    }
    if !v.chars().any(|c| c.is_ascii_alphanumeric()) {
        return Some(format!("value `{v}` has no letter or digit to name a Rust enum variant"));
    }
    (camel(v) == "Self").then(|| format!("value `{v}` would be the variant `Self`, a word Rust reserves"))
}

/// Parses a Prometheus duration (`30s`, `5m`, `1h`, `3d`, `1w`, `1y`) into seconds.
pub fn duration_seconds(d: &str) -> Option<u64> {
    let split = d.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = d.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        "y" => 31_536_000,
        _ => return None,
    };
    n.checked_mul(mult).filter(|_| n > 0)
}

/// The metric family of a series name: `x_bucket`, `x_sum`, `x_count` → `x`.
pub fn metric_family(series: &str) -> &str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = series.strip_suffix(suffix) {
            return base;
        }
    }
    series
}

/// Whether a metric name contradicts its unit. Returns the message and the fix.
pub fn unit_suffix_problem(name: &str, unit: Unit) -> Option<(String, String)> {
    let stem = name.strip_suffix("_total").unwrap_or(name);
    let words: Vec<&str> = stem.split('_').collect();
    let expected = unit.suffix();
    let unit_words = ["seconds", "ms", "milliseconds", "bytes", "ratio", "percent", "minutes", "hours"];
    if let Some(found) = words.iter().find(|w| unit_words.contains(w) && Some(**w) != expected) {
        return Some((
            format!("`{name}` says `{found}` but its unit is {unit:?}"),
            match expected {
                Some(e) => format!("rename it to end in `_{e}`, or fix `unit`"),
                None => "remove the unit word from the name, or fix `unit`".to_owned(),
            },
        ));
    }
    if unit == Unit::Milliseconds {
        return Some((
            format!("`{name}` is in milliseconds, not the base unit (seconds)"),
            "record seconds (`unit: seconds`, name ending in `_seconds`), or add an exception `unit_suffix` with a reason".to_owned(),
        ));
    }
    if let Some(e) = expected
        && words.last() != Some(&e)
    {
        return Some((
            format!("`{name}` has unit {unit:?} but does not end in `_{e}`"),
            format!("rename it to end in `_{e}`{}", if name.ends_with("_total") { " before `_total`" } else { "" }),
        ));
    }
    None
}

/// The most series a metric can have: the product of its label bounds
/// (times buckets + `_sum` + `_count` for a histogram). `None` when a label is unknown.
pub fn worst_case_series(spec: &Spec, m: &Metric) -> Option<u64> {
    let mut product: u64 = 1;
    for name in &m.labels {
        let l = spec.labels.iter().find(|l| &l.name == name)?;
        let n = match l.kind {
            LabelKind::Closed => l.values.len() as u64,
            LabelKind::ErrorToken => spec.error_tokens.len() as u64 + u64::from(l.none.is_some()),
            // Values past the bound fold into one `other` value.
            LabelKind::Open => l.max_values.unwrap_or(0) + 1,
        };
        product = product.saturating_mul(n.max(1));
    }
    if m.kind == MetricKind::Histogram {
        product = product.saturating_mul(m.buckets.len() as u64 + 3);
    }
    Some(product)
}

/// Folds a name for comparison with forbidden names: lower case, words split on `_ . -`.
fn words(name: &str) -> Vec<String> {
    name.to_lowercase().split(['_', '.', '-']).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// The forbidden name `name` is, or has as one of its words.
pub fn forbidden_match<'a>(name: &str, forbidden: &'a [String]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let w = words(name);
    forbidden
        .iter()
        .find(|f| {
            let f = f.to_lowercase();
            lower == f || w.contains(&f)
        })
        .map(String::as_str)
}

/// Whether two bucket bounds are the same edge.
pub fn same_bucket(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Formats a float the way Prometheus 3 prints `le` values: shortest
/// round-trip form, with a decimal point for whole numbers (`1.0`… is `1`).
pub fn fmt_float(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() };
    }
    format!("{v}")
}

/// Rounds to 10 decimals, so a figure computed from the spec's decimals
/// (`1 - 0.9995`) prints as the decimal the user meant (`0.0005`), not as its
/// binary approximation (`0.0004999999999999449`).
pub fn round(x: f64) -> f64 {
    (x * 1e10).round() / 1e10
}

/// The error budget of an objective, `1 - objective`, rounded by [`round`].
pub fn error_budget(objective: f64) -> f64 {
    round(1.0 - objective)
}

/// Resolution ids (`R07`) cited in a note.
pub fn cited_resolutions(note: &str) -> Vec<String> {
    let bytes = note.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if bytes[i] == b'R' && starts_word {
            let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            let ends_word = bytes.get(i + 1 + digits).is_none_or(|b| !b.is_ascii_alphanumeric());
            if digits >= 2 && ends_word {
                out.push(note[i..i + 1 + digits].to_owned());
            }
            i += 1 + digits;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_seconds("5m"), Some(300));
        assert_eq!(duration_seconds("30d"), Some(2_592_000));
        assert_eq!(duration_seconds("5"), None);
        assert_eq!(duration_seconds("m"), None);
        assert_eq!(duration_seconds("0s"), None);
    }

    #[test]
    fn unit_suffixes() {
        assert!(unit_suffix_problem("a_duration_seconds", Unit::Seconds).is_none());
        assert!(unit_suffix_problem("a_requests_total", Unit::Count).is_none());
        assert!(unit_suffix_problem("a_reconnect_ms", Unit::Milliseconds).is_some());
        assert!(unit_suffix_problem("a_reconnect_ms", Unit::Seconds).is_some());
        assert!(unit_suffix_problem("a_size", Unit::Bytes).is_some());
        assert!(unit_suffix_problem("a_bytes_total", Unit::Bytes).is_none());
    }

    #[test]
    fn forbidden_names_match_words_and_case() {
        let f = vec!["payload".to_owned(), "args".to_owned()];
        assert_eq!(forbidden_match("Payload", &f), Some("payload"));
        assert_eq!(forbidden_match("raw_args", &f), Some("args"));
        assert_eq!(forbidden_match("arg_count", &f), None);
    }

    #[test]
    fn citations() {
        assert_eq!(cited_resolutions("see R03 and R12."), vec!["R03", "R12"]);
        assert!(cited_resolutions("ROUTE R1 xR03").is_empty());
    }
}
