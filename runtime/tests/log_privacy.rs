//! Property tests: whatever field names and values a caller passes through the
//! tracing layer (forbidden names in any case, nesting or Unicode disguise,
//! random strings, JSON inside strings), no forbidden key and no free text
//! comes out, every drop is counted, and the scanner finds nothing in the output.

#[path = "log_fixture.rs"]
mod fixture;

use std::sync::OnceLock;
use std::time::Duration;

use fixture::{FIELDS, FORBIDDEN, KEEP_ALL, ROUTES, TOKENS, TempDir, parse};
use obspec::log::scan::scan_paths;
use obspec::log::{LogFieldType, LogPlane, MemorySink, REDACTED, Reason, validate};
use proptest::prelude::*;
use tracing::callsite::{Callsite, Identifier};
use tracing::field::{FieldSet, Value};
use tracing::metadata::Kind;
use tracing::{Level, Metadata, subscriber::Interest};
use tracing_subscriber::layer::SubscriberExt;

/// A callsite made at run time, so field names can be random.
struct DynCallsite(OnceLock<Metadata<'static>>);

impl Callsite for DynCallsite {
    fn set_interest(&self, _: Interest) {}
    fn metadata(&self) -> &Metadata<'_> {
        self.0.get().expect("metadata set at creation")
    }
}

fn callsite(names: &[String], kind: Kind) -> &'static Metadata<'static> {
    let names: Vec<&'static str> = names.iter().map(|n| &*Box::leak(n.clone().into_boxed_str())).collect();
    let names: &'static [&'static str] = Box::leak(names.into_boxed_slice());
    let cs: &'static DynCallsite = Box::leak(Box::new(DynCallsite(OnceLock::new())));
    let meta =
        Metadata::new("dyn", "privacy", Level::INFO, None, None, None, FieldSet::new(names, Identifier(cs)), kind);
    cs.0.set(meta).ok();
    cs.0.get().expect("set")
}

#[derive(Debug, Clone)]
enum V {
    Str(String),
    U64(u64),
    I64(i64),
    Bool(bool),
    F64(f64),
}

/// Records 6 `(name, value)` pairs at `meta` through `f` (event or span).
fn with_values<R>(
    meta: &'static Metadata<'static>,
    vals: &[V; 6],
    f: impl FnOnce(&tracing::field::ValueSet<'_>) -> R,
) -> R {
    let strs: Vec<&str> = vals.iter().map(|v| if let V::Str(s) = v { s.as_str() } else { "" }).collect();
    let dynv: Vec<&dyn Value> = vals
        .iter()
        .zip(&strs)
        .map(|(v, s)| -> &dyn Value {
            match v {
                V::Str(_) => s,
                V::U64(n) => n,
                V::I64(n) => n,
                V::Bool(b) => b,
                V::F64(x) => x,
            }
        })
        .collect();
    let fields: Vec<_> = meta.fields().iter().collect();
    let arr: [(&tracing::field::Field, Option<&dyn Value>); 6] = std::array::from_fn(|i| (&fields[i], Some(dynv[i])));
    f(&meta.fields().value_set(&arr))
}

fn disguise(word: &str, choices: &[u8], wrap: u8) -> String {
    let mut s = String::new();
    for (i, c) in word.chars().enumerate() {
        let pick = choices.get(i).copied().unwrap_or(0);
        let homoglyph = match c {
            'a' => Some('а'),
            'e' => Some('е'),
            'o' => Some('о'),
            'p' => Some('р'),
            'c' => Some('с'),
            'x' => Some('х'),
            'y' => Some('у'),
            'i' => Some('і'),
            's' => Some('ѕ'),
            'l' => Some('ӏ'),
            _ => None,
        };
        match pick % 6 {
            1 => s.push(c.to_ascii_uppercase()),
            2 => s.push(char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)),
            3 => s.push(homoglyph.unwrap_or(c)),
            4 => s.push(char::from_u32(0x1D41A + (c as u32 - 'a' as u32)).unwrap_or(c)),
            _ => s.push(c),
        }
        match (pick / 6) % 7 {
            1 => s.push('\u{200b}'),
            2 => s.push('\u{2060}'),
            3 => s.push('\u{feff}'),
            4 => s.push('\u{0301}'),
            5 => s.push('\u{0308}'),
            _ => {}
        }
    }
    match wrap % 6 {
        1 => format!("req.{s}"),
        2 => format!("{s}[0]"),
        3 => format!("meta/{s}"),
        4 => format!("_{s}"),
        5 => format!("x.{s}.y"),
        _ => s,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NameKind {
    Allowed,
    Disguised,
    Random,
}

fn name() -> impl Strategy<Value = (String, NameKind)> {
    prop_oneof![
        2 => prop::sample::select(FIELDS.iter().map(|f| f.name).collect::<Vec<_>>()).prop_map(|n| (n.to_owned(), NameKind::Allowed)),
        5 => (prop::sample::select(FORBIDDEN.to_vec()), prop::collection::vec(any::<u8>(), 12), any::<u8>())
            .prop_map(|(w, c, wrap)| (disguise(w, &c, wrap), NameKind::Disguised)),
        3 => "\\PC{1,12}".prop_map(|n| (n, NameKind::Random)),
    ]
}

fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        3 => "\\PC{0,40}".prop_map(V::Str),
        1 => "[A-Za-z0-9._:-]{1,70}".prop_map(V::Str),
        1 => prop::sample::select(ROUTES.iter().chain(TOKENS).copied().collect::<Vec<_>>()).prop_map(|s| V::Str(s.to_owned())),
        1 => ("[a-z]{1,6}", "\\PC{0,20}").prop_map(|(k, v)| V::Str(serde_json::json!({ k: { "prompt": v } }).to_string())),
        1 => "[0-9a-f]{32}".prop_map(V::Str),
        1 => any::<u64>().prop_map(V::U64),
        1 => any::<i64>().prop_map(V::I64),
        1 => any::<bool>().prop_map(V::Bool),
        1 => any::<f64>().prop_map(V::F64),
    ]
}

fn six<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = [T; 6]> {
    prop::collection::vec(s, 6).prop_map(|v| std::array::from_fn(|i| v[i].clone()))
}

fn valid(ty: LogFieldType, v: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    if v.as_str() == Some(REDACTED) {
        return true;
    }
    match (ty, v) {
        (LogFieldType::Timestamp, J::String(s)) => s.len() == 24 && s.ends_with('Z'),
        (LogFieldType::Component, J::String(s)) => s == "core",
        (LogFieldType::Id, J::String(s)) => validate::is_id(s, 64),
        (LogFieldType::Name, J::String(s)) => validate::is_name(s),
        (LogFieldType::TraceId, J::String(s)) => validate::parse_trace_id(s).is_some(),
        (LogFieldType::Route, J::String(s)) => ROUTES.contains(&s.as_str()),
        (LogFieldType::ErrorToken, J::String(s)) => TOKENS.contains(&s.as_str()),
        (LogFieldType::Method, J::String(s)) => KEEP_ALL.methods.contains(&s.as_str()),
        (LogFieldType::Bool | LogFieldType::Outcome, J::Bool(_)) => true,
        (LogFieldType::Count, J::Number(n)) => n.is_u64(),
        (LogFieldType::HttpStatus, J::Number(n)) => n.as_u64().is_some_and(validate::is_http_status),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn nothing_forbidden_or_free_text_comes_out(
        ev_names in six(name()), ev_vals in six(value()),
        sp_names in six(name()), sp_vals in six(value()),
    ) {
        let mem = MemorySink::new();
        let plane = LogPlane::builder(&KEEP_ALL, "core").memory(&mem).build().expect("plane");
        let names = |n: &[(String, NameKind); 6]| n.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
        let span_meta = callsite(&names(&sp_names), Kind::SPAN);
        let event_meta = callsite(&names(&ev_names), Kind::EVENT);
        let sub = tracing_subscriber::registry().with(plane.layer());
        tracing::subscriber::with_default(sub, || {
            let span = with_values(span_meta, &sp_vals, |vs| tracing::Span::new(span_meta, vs));
            span.in_scope(|| with_values(event_meta, &ev_vals, |vs| tracing::Event::dispatch(event_meta, vs)));
        });
        prop_assert!(plane.flush(Duration::from_secs(5)));

        // Every non-allowed key was dropped and counted; disguised forbidden
        // names were all recognised as forbidden.
        let all: Vec<&(String, NameKind)> = ev_names.iter().chain(&sp_names).collect();
        let disguised: Vec<&str> = all.iter().filter(|(_, k)| *k == NameKind::Disguised).map(|(n, _)| n.as_str()).collect();
        let random_forbidden = all
            .iter()
            .filter(|(n, k)| *k == NameKind::Random && FIELDS.iter().all(|f| f.name != n) && n != "message"
                && obspec::log::fold::is_forbidden_name(n, FORBIDDEN))
            .count() as u64;
        let not_allowed = all.iter().filter(|(n, _)| FIELDS.iter().all(|f| f.name != n)).count() as u64;
        let reserved = all.iter().filter(|(n, _)| n == "ts" || n == "component").count() as u64;
        let s = plane.stats();
        let message = disguised.iter().filter(|n| **n == "message").count() as u64
            + all.iter().filter(|(n, k)| *k == NameKind::Random && n == "message").count() as u64;
        prop_assert_eq!(s.redacted(Reason::Message), message);
        prop_assert_eq!(s.redacted(Reason::Forbidden), disguised.len() as u64 - disguised.iter().filter(|n| **n == "message").count() as u64 + random_forbidden);
        prop_assert_eq!(
            s.redacted(Reason::Forbidden) + s.redacted(Reason::Message) + s.redacted(Reason::Unknown) + s.redacted(Reason::Reserved),
            not_allowed + reserved
        );

        // Only allowed keys, each value of its field's shape.
        let lines = mem.lines();
        let event_has_slot = ev_names.iter().any(|(n, _)| n != "ts" && n != "component" && FIELDS.iter().any(|f| f.name == n));
        prop_assert_eq!(lines.len(), usize::from(event_has_slot), "keep-all schema: one line iff the event set a field");
        for obj in parse(&lines) {
            for (k, v) in &obj {
                let f = FIELDS.iter().find(|f| f.name == k);
                prop_assert!(f.is_some(), "key {:?} leaked", k);
                let ty = f.map(|f| f.ty).unwrap_or(LogFieldType::Count);
                prop_assert!(valid(ty, v), "{k}: {v} is not a {ty:?}");
            }
        }

        // The scanner agrees.
        let dir = TempDir::new("privacy");
        let file = dir.0.join("out.ndjson");
        std::fs::write(&file, lines.join("\n")).expect("write");
        let findings = scan_paths(&[&file], &KEEP_ALL);
        prop_assert!(findings.is_empty(), "{:?}", findings);
    }

    #[test]
    fn fold_recognises_every_disguise(word in prop::sample::select(FORBIDDEN.to_vec()), c in prop::collection::vec(any::<u8>(), 12), wrap in any::<u8>()) {
        let d = disguise(word, &c, wrap);
        prop_assert!(obspec::log::fold::is_forbidden_name(&d, FORBIDDEN), "{:?} from {:?}", d, word);
    }
}
