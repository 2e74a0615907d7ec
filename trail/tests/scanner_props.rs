//! Property tests of the fast paths against the tree-building reference:
//!
//! - the writer's encoder ([`encode_next_into`], borrowed record → buffer)
//!   writes exactly the bytes and hash of the previous path ([`encode_next`]),
//!   for any record, key order and signer;
//! - whatever the encoder writes, the validating scanner accepts, with the
//!   fields and hash the reference ([`chain::inspect_line_reference`]) reads;
//! - on arbitrary bytes, JSON-like text and mutated canonical lines the
//!   scanner accepts exactly what the reference accepts, with the same result.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use obspec_trail::canonical::{BLUEPRINT_KEY_ORDER, MAX_SAFE_INT, Object, Record, TrailConfig, Value};
use obspec_trail::chain::{self, ChainHead};
use obspec_trail::scan::LineScanner;
use obspec_trail::sign::Signer;
use obspec_trail::writer::{encode_next, encode_next_into};
use obspec_trail::{Date, Error};
use proptest::prelude::*;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-MAX_SAFE_INT..=MAX_SAFE_INT).prop_map(Value::Int),
        prop_oneof![Just(0i64), Just(-1), Just(MAX_SAFE_INT), Just(-MAX_SAFE_INT)].prop_map(Value::Int),
        any::<String>().prop_map(Value::Str),
        "[a-z\u{0}-\u{1f}\u{7f}\u{e000}-\u{e010}\u{1f600}-\u{1f610}\"\\\\/]{0,6}".prop_map(Value::Str),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-c\u{ff61}\u{1f600}\"\\\\\n\u{1}]{0,3}"]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5).prop_map(|kvs| {
                let mut o = Object::new();
                for (k, v) in kvs {
                    o.insert(k, v);
                }
                Value::Object(o)
            }),
        ]
    })
}

/// A key order: the blueprint's keys in any order (so `sig` may come first or in the middle).
fn key_order() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        Just(BLUEPRINT_KEY_ORDER.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()),
        Just(BLUEPRINT_KEY_ORDER.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).prop_shuffle(),
    ]
}

fn day() -> Date {
    Date::parse("2026-05-01").unwrap()
}

/// A record with the required fields (sometimes escaped or odd) and optional ones.
fn record() -> impl Strategy<Value = Record> {
    (
        prop_oneof!["[A-Za-z0-9]{1,30}", "[a\"\\\\\n\u{e9}\u{1f600}]{1,8}"],
        prop_oneof![Just("2026-05-01T12:00:00Z".to_owned()), Just("2026-05-01T23:59:60.123456789Z".to_owned())],
        "[a-z._]{1,20}",
        "[A-Za-z0-9_-]{1,12}",
        prop::option::of(value()),
        prop::option::of(value()),
        prop::option::of(prop::collection::vec(leaf(), 0..4)),
        prop::option::of(value()),
    )
        .prop_map(|(id, ts, kind, tenant, room, actor, refs, data)| {
            let mut scope = Object::new().with("tenant", tenant);
            if let Some(r) = room {
                scope.insert("room", r);
            }
            let mut r = Record::new().with("id", id).with("ts", ts).with("kind", kind).with("scope", scope);
            if let Some(a) = actor {
                r.set("actor", a);
            }
            if let Some(refs) = refs {
                r.set("refs", Value::Array(refs));
            }
            if let Some(d) = data {
                r.set("data", d);
            }
            r
        })
}

fn cfg_with(order: Vec<String>) -> TrailConfig {
    let mut cfg = TrailConfig::blueprint_default();
    cfg.key_order = order;
    cfg.validate().unwrap();
    cfg
}

/// The tenant of a record built by [`record`].
fn tenant(r: &Record) -> String {
    r.get("scope").and_then(Value::as_object).and_then(|s| s.get("tenant")).and_then(Value::as_str).unwrap().to_owned()
}

/// The scanner and the reference agree on `line`.
fn agree(cfg: &TrailConfig, line: &[u8]) -> Result<bool, TestCaseError> {
    let fast = LineScanner::new(cfg).scan(line).map(|s| s.into_info());
    let reference = chain::inspect_line_reference(cfg, line);
    match (&fast, &reference) {
        (Some(f), Ok(r)) => prop_assert_eq!(f, r),
        (None, Err(_)) => {}
        _ => prop_assert!(
            false,
            "scanner {:?} vs reference {:?} on {:?}",
            fast,
            reference,
            String::from_utf8_lossy(line)
        ),
    }
    // The public entry point gives the reference's verdict and error text.
    let public = chain::inspect_line(cfg, line).map_err(|e| e.to_string());
    prop_assert_eq!(public, reference.map_err(|e| e.to_string()));
    Ok(fast.is_some())
}

/// A canonical line of a record (unsigned or signed), for mutation.
fn encoded(cfg: &TrailConfig, r: &Record, signed: bool, seq: u64) -> Vec<u8> {
    let signer = Signer::from_seed("k-1", &[7; 32]).unwrap();
    let mut head = ChainHead { next_seq: seq, prev: chain::genesis(&tenant(r), day()) };
    let mut out = Vec::new();
    encode_next_into(cfg, r, &mut head, signed.then_some(&signer), &mut out).unwrap();
    out.pop();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encoder_matches_the_previous_path_and_scanner_accepts_it(
        r in record(),
        order in key_order(),
        signed in any::<bool>(),
        seq in prop_oneof![Just(1u64), 1u64..1_000_000, Just(MAX_SAFE_INT as u64)],
    ) {
        let cfg = cfg_with(order);
        let signer = Signer::from_seed("k_2", &[3; 32]).unwrap();
        let signer = signed.then_some(&signer);
        let start = ChainHead { next_seq: seq, prev: chain::genesis(&tenant(&r), day()) };
        let (mut h1, mut h2) = (start.clone(), start);
        let mut out = b"earlier bytes\n".to_vec();
        let hash = encode_next_into(&cfg, &r, &mut h1, signer, &mut out).unwrap();
        let (line, old_hash) = encode_next(&cfg, &mut r.clone(), &mut h2, signer).unwrap();
        prop_assert_eq!(&out[14..], &line[..]);
        prop_assert_eq!(hash, old_hash);
        prop_assert_eq!(h1, h2);
        let body = &line[..line.len() - 1];
        let s = LineScanner::new(&cfg).scan(body);
        prop_assert!(s.is_some(), "scanner rejected {}", String::from_utf8_lossy(body));
        let s = s.unwrap();
        prop_assert_eq!(s.hash, hash);
        prop_assert_eq!(s.seq, seq);
        prop_assert_eq!(s.sig.is_some(), signed);
        prop_assert!(agree(&cfg, body)?);
    }

    #[test]
    fn encoder_refuses_what_the_previous_path_refuses(r in record(), extra in "[a-z]{1,6}", v in value()) {
        prop_assume!(extra != "meta" && extra != "sig");
        let cfg = TrailConfig::blueprint_default();
        let r = r.with(extra.clone(), v);
        let mut head = ChainHead::genesis("t1", day());
        let mut out = b"kept".to_vec();
        let new = encode_next_into(&cfg, &r, &mut head, None, &mut out).map_err(|e| e.to_string());
        let old = encode_next(&cfg, &mut r.clone(), &mut ChainHead::genesis("t1", day()), None);
        prop_assert_eq!(new.is_ok(), old.is_ok());
        if let (Err(n), Err(o)) = (&new, &old) {
            prop_assert_eq!(n, &o.to_string());
            prop_assert_eq!(&out, b"kept");
            prop_assert_eq!(head, ChainHead::genesis("t1", day()));
        }
    }

    #[test]
    fn scanner_agrees_on_mutated_lines(
        r in record(),
        order in key_order(),
        signed in any::<bool>(),
        edits in prop::collection::vec((0u8..6, any::<prop::sample::Index>(), any::<u8>(), "[ -~]{0,4}"), 1..4),
    ) {
        let cfg = cfg_with(order);
        let mut line = encoded(&cfg, &r, signed, 1);
        for (op, at, byte, text) in &edits {
            let i = at.index(line.len() + 1);
            match op {
                0 => {
                    if i < line.len() {
                        line[i] ^= byte | 1;
                    }
                }
                1 => {
                    line.insert(i, *byte);
                }
                2 => {
                    if i < line.len() {
                        line.remove(i);
                    }
                }
                3 => {
                    let tail = line.split_off(i);
                    line.extend_from_slice(text.as_bytes());
                    line.extend_from_slice(&tail);
                }
                4 => line.insert(i, b' '),
                _ => line.truncate(i),
            }
        }
        agree(&cfg, &line)?;
    }

    #[test]
    fn scanner_agrees_on_arbitrary_input(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            "[{}\\[\\]\":,0-9a-z\\\\ -]{0,80}".prop_map(String::into_bytes),
        ],
    ) {
        agree(&TrailConfig::blueprint_default(), &bytes)?;
    }

    #[test]
    fn scanner_agrees_on_valid_json_that_may_not_be_canonical(
        r in record(),
        seq in prop_oneof![Just(0i64), Just(1), Just(-1), 2i64..100],
        prev in prop_oneof![Just("ab".repeat(32)), Just("AB".repeat(32)), "[0-9a-f]{0,66}"],
        sig in prop::option::of((prop_oneof![Just("00".repeat(64)), "[0-9a-f]{126,130}"], "[a-z\"]{0,4}")),
        extra_meta in any::<bool>(),
    ) {
        // Fields of the right and wrong shape, written canonically by the serialiser.
        let cfg = TrailConfig::blueprint_default();
        let mut meta = Object::new().with("prev", prev).with("seq", seq);
        if extra_meta {
            meta.insert("x", 1);
        }
        let mut r = r.with("meta", meta);
        if let Some((s, kid)) = sig {
            r.set("sig", Object::new().with("ed25519", s).with("kid", kid));
        }
        let line = cfg.canonical_bytes(&r).unwrap();
        agree(&cfg, &line)?;
    }
}

#[test]
fn scanner_rejects_like_the_reference_on_the_documented_inputs() {
    let cfg = TrailConfig::blueprint_default();
    let r = Record::new()
        .with("id", "r1")
        .with("ts", "2026-05-01T12:00:00Z")
        .with("kind", "k")
        .with("scope", Object::new().with("tenant", "t1"));
    let good = String::from_utf8(encoded(&cfg, &r, false, 1)).unwrap();
    assert!(LineScanner::new(&cfg).scan(good.as_bytes()).is_some());
    // Each edit keeps the line valid JSON (or nearly) but not canonical.
    let cases = [
        good.replacen("\"kind\":\"k\"", "\"kind\":\"k\",\"kind\":\"k\"", 1),
        good.replacen("{\"tenant\"", "{\"tenant\":\"t1\",\"tenant\"", 1),
        good.replacen("\"kind\":\"k\"", "\"kind\":\"\\u006b\"", 1),
        good.replacen("\"kind\":\"k\"", "\"kind\":\"k\\/\"", 1),
        good.replacen(",\"kind\"", ", \"kind\"", 1),
        good.replacen("\"seq\":1", "\"seq\":01", 1),
        good.replacen("\"seq\":1", "\"seq\":1.0", 1),
        good.replacen("\"seq\":1", "\"seq\":-0", 1),
        good.replacen("\"kind\":\"k\"", "\"kind\":\"k\",\"data\":9007199254740992", 1),
        good.replacen("\"kind\":\"k\"", "\"kind\":\"k\",\"data\":\"\\ud800\"", 1),
        good.replacen("\"kind\":\"k\"", "\"kind\":\"k\",\"data\":{\"b\":1,\"a\":2}", 1),
        good.replacen("\"kind\":\"k\"", "\"kind\":\"k\",\"data\":\"\u{1}\"", 1),
        good.replacen("\"kind\":\"k\"", "\"kind\":\"k\",\"extra\":1", 1),
        good.replacen(
            "\"id\":\"r1\",\"ts\":\"2026-05-01T12:00:00Z\"",
            "\"ts\":\"2026-05-01T12:00:00Z\",\"id\":\"r1\"",
            1,
        ),
        format!("{good} "),
        good.replacen("\"kind\":\"k\"", &format!("\"kind\":\"k\",\"data\":{}{}", "[".repeat(40), "]".repeat(40)), 1),
    ];
    for line in &cases {
        assert_ne!(line, &good);
        assert!(LineScanner::new(&cfg).scan(line.as_bytes()).is_none(), "scanner accepted {line}");
        assert!(chain::inspect_line_reference(&cfg, line.as_bytes()).is_err(), "reference accepted {line}");
        assert!(matches!(
            chain::inspect_line(&cfg, line.as_bytes()),
            Err(Error::Parse { .. } | Error::InvalidRecord(_) | Error::NotCanonical(_))
        ));
    }
    // Invalid UTF-8 inside a string.
    let mut bad = good.clone().into_bytes();
    let at = good.find("\"k\"").unwrap() + 1;
    bad[at] = 0xff;
    assert!(LineScanner::new(&cfg).scan(&bad).is_none());
    // Too long for max_record_bytes.
    let mut small = cfg.clone();
    small.max_record_bytes = good.len() - 1;
    assert!(LineScanner::new(&small).scan(good.as_bytes()).is_none());
    assert!(chain::inspect_line_reference(&small, good.as_bytes()).is_err());
    // A key order naming a key twice: nothing is canonical, as in the reference.
    let mut twice = cfg.clone();
    twice.key_order.push("kind".into());
    assert!(LineScanner::new(&twice).scan(good.as_bytes()).is_none());
    assert!(chain::inspect_line_reference(&twice, good.as_bytes()).is_err());
}
