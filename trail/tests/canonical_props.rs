//! Property tests: canonical bytes do not depend on insertion order, parsing
//! round-trips, and the parser rejects what the canonical form forbids.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use obspec_trail::canonical::{self, MAX_SAFE_INT, Object, Record, TrailConfig, Value};
use obspec_trail::{Error, ParseError};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-MAX_SAFE_INT..=MAX_SAFE_INT).prop_map(Value::Int),
        any::<String>().prop_map(Value::Str),
        "[a-z\u{e000}-\u{e010}\u{1f600}-\u{1f610}\"\\\\\n]{0,6}".prop_map(Value::Str),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..5).prop_map(|kvs| {
                let mut o = Object::new();
                for (k, v) in kvs {
                    o.insert(k, v);
                }
                Value::Object(o)
            }),
        ]
    })
}

/// The same key/value pairs inserted in two different orders (later keys win on duplicates,
/// so pairs are deduplicated first).
fn pairs_and_permutation() -> impl Strategy<Value = (Vec<(String, Value)>, Vec<usize>)> {
    prop::collection::btree_map(any::<String>(), value(), 0..8)
        .prop_map(|m| m.into_iter().collect::<Vec<_>>())
        .prop_flat_map(|pairs| {
            let n = pairs.len();
            (Just(pairs), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        })
}

proptest! {
    #[test]
    fn nested_objects_are_order_independent((pairs, perm) in pairs_and_permutation()) {
        let mut a = Object::new();
        for (k, v) in &pairs {
            a.insert(k.clone(), v.clone());
        }
        let mut b = Object::new();
        for &i in &perm {
            b.insert(pairs[i].0.clone(), pairs[i].1.clone());
        }
        let ja = canonical::to_jcs(&Value::Object(a), 32).unwrap();
        let jb = canonical::to_jcs(&Value::Object(b), 32).unwrap();
        prop_assert_eq!(ja, jb);
    }

    #[test]
    fn records_are_order_independent(
        data in value(),
        actor in value(),
        perm in Just((0..7).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let cfg = TrailConfig::blueprint_default();
        let fields: Vec<(&str, Value)> = vec![
            ("id", Value::from("r1")),
            ("ts", Value::from("2026-05-01T00:00:00Z")),
            ("kind", Value::from("office.event")),
            ("scope", Value::Object(Object::new().with("tenant", "t1"))),
            ("actor", actor),
            ("refs", Value::Array(vec![])),
            ("data", data),
        ];
        let mut a = Record::new();
        for (k, v) in &fields {
            a.set(*k, v.clone());
        }
        let mut b = Record::new();
        for &i in &perm {
            b.set(fields[i].0, fields[i].1.clone());
        }
        let ba = cfg.canonical_bytes(&a).unwrap();
        prop_assert_eq!(&ba, &cfg.canonical_bytes(&b).unwrap());
        // Canonical bytes parse back to the same record and are accepted as canonical.
        prop_assert_eq!(cfg.parse_record(&ba).unwrap(), a);
        // Top-level keys come out in the configured order.
        let top: Vec<String> = match serde_json::from_slice::<serde_json::Value>(&ba).unwrap() {
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            _ => unreachable!(),
        };
        prop_assert_eq!(top, ["id", "ts", "kind", "scope", "actor", "refs", "data"]);
    }

    #[test]
    fn jcs_round_trips_and_is_valid_json(v in value()) {
        let bytes = canonical::to_jcs(&v, 32).unwrap();
        prop_assert!(canonical::is_canonical_jcs(&bytes));
        prop_assert_eq!(canonical::parse(&bytes).unwrap(), v);
        // An independent JSON parser accepts the bytes too.
        prop_assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
    }

    #[test]
    fn floats_are_rejected(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        // `{:?}` always prints a fraction or exponent for f64.
        let text = format!("{{\"n\":{x:?}}}");
        let rejected = matches!(
            canonical::parse(text.as_bytes()),
            Err(Error::Parse { reason: ParseError::Float, .. })
        );
        prop_assert!(rejected, "accepted {}", text);
    }

    #[test]
    fn integers_beyond_2_pow_53_are_rejected(n in (MAX_SAFE_INT as i128 + 1)..(i128::MAX / 2), neg in any::<bool>()) {
        let n = if neg { -n } else { n };
        let text = format!("[{n}]");
        let rejected = matches!(
            canonical::parse(text.as_bytes()),
            Err(Error::Parse { reason: ParseError::IntOutOfRange, .. })
        );
        prop_assert!(rejected, "accepted {}", text);
    }

    #[test]
    fn duplicate_keys_are_rejected(k in any::<String>(), a in value(), b in value(), other in any::<String>()) {
        prop_assume!(k != other);
        let key = String::from_utf8(canonical::to_jcs(&Value::Str(k.clone()), 32).unwrap()).unwrap();
        let okey = String::from_utf8(canonical::to_jcs(&Value::Str(other), 32).unwrap()).unwrap();
        let ja = String::from_utf8(canonical::to_jcs(&a, 32).unwrap()).unwrap();
        let jb = String::from_utf8(canonical::to_jcs(&b, 32).unwrap()).unwrap();
        let text = format!("{{{key}:{ja},{okey}:null,{key}:{jb}}}");
        prop_assert_eq!(
            canonical::parse(text.as_bytes()).map(|_| ()).map_err(|e| match e {
                Error::Parse { reason, .. } => Some(reason),
                _ => None,
            }),
            Err(Some(ParseError::DuplicateKey(k)))
        );
    }

    #[test]
    fn lone_surrogates_are_rejected(hi in 0xD800u32..0xE000, tail in "[a-z]{0,3}") {
        let text = format!("\"\\u{hi:04x}{tail}\"");
        let rejected = matches!(
            canonical::parse(text.as_bytes()),
            Err(Error::Parse { reason: ParseError::LoneSurrogate, .. })
        );
        prop_assert!(rejected, "accepted {}", text);
    }

    #[test]
    fn non_utf8_is_rejected(prefix in "[a-z]{0,4}", bad in 0x80u8..=0xff) {
        let mut input = b"\"".to_vec();
        input.extend_from_slice(prefix.as_bytes());
        input.push(bad);
        input.extend_from_slice(b"\"");
        // A lone byte >= 0x80 followed by `"` is never valid UTF-8.
        let rejected = matches!(
            canonical::parse(&input),
            Err(Error::Parse { reason: ParseError::InvalidUtf8, .. })
        );
        prop_assert!(rejected);
    }
}
