//! A small, deterministic YAML writer for generated configuration.
//!
//! Keys keep their insertion order (`serde_json` with `preserve_order`), so
//! files read in the order a human would write them. Strings are plain when
//! that is unambiguous and single-quoted otherwise (PromQL stays readable:
//! single quotes only double `'`).

use serde_json::Value;

/// Serialises a value as a YAML document (no leading `---`).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            indent(out, level);
        }
        out.push_str(&key(k));
        out.push(':');
        write_value(out, v, level);
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, level + 2),
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                write_seq(out, a, level + 2);
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn write_value(out: &mut String, v: &Value, level: usize) {
    if is_block(v) {
        out.push('\n');
        match v {
            Value::Object(m) => write_map(out, m, level + 2),
            Value::Array(a) => write_seq(out, a, level + 2),
            _ => {}
        }
    } else {
        out.push(' ');
        out.push_str(&scalar(v));
        out.push('\n');
    }
}

fn key(k: &str) -> String {
    if plain_ok(k) { k.to_owned() } else { quote(k) }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if plain_ok(s) {
                s.clone()
            } else {
                quote(s)
            }
        }
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// Whether a string can be written without quotes and read back as the same string.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    let reserved = ["true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"];
    first.is_ascii_alphabetic()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !reserved.contains(&s.to_ascii_lowercase().as_str())
}

/// Single-quoted YAML scalar; double-quoted JSON form when it holds control characters.
fn quote(s: &str) -> String {
    if s.chars().any(|c| c.is_control()) {
        serde_json::to_string(s).unwrap_or_default()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_nested_documents() {
        let v = json!({
            "groups": [{"name": "a", "rules": [{"record": "x:y", "expr": "sum(rate(m{a=\"b\"}[5m]))", "labels": {"slo": "s"}}]}],
            "empty": [],
            "n": 0.5, // `n` is a YAML 1.1 boolean, so it is quoted
            "t": "true",
        });
        let expected = "groups:\n  - name: a\n    rules:\n      - record: 'x:y'\n        expr: 'sum(rate(m{a=\"b\"}[5m]))'\n        labels:\n          slo: s\n\
empty: []\n'n': 0.5\nt: 'true'\n";
        assert_eq!(to_string(&v), expected);
    }

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let v = json!({"a": ["it's", "x: y", "#no", "", "multi\nline", 3, true], "b": {"c": null}});
        let text = to_string(&v);
        let (parsed, _, problems) = crate::source::parse("t.yaml", &text);
        assert!(problems.is_empty(), "{problems:?}\n{text}");
        assert_eq!(parsed.unwrap(), v, "{text}");
    }
}
