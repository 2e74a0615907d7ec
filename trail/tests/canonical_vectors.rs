//! The test vectors of `CANONICAL.md`: input → exact canonical bytes → BLAKE3 hex.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use obspec_trail::canonical::{self, Object, Record, TrailConfig, Value};
use obspec_trail::{Error, ParseError};

fn cfg() -> TrailConfig {
    TrailConfig::blueprint_default()
}

fn b3(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Vector 1: a minimal record, fields set in reverse order.
#[test]
fn vector_1_minimal_record() {
    let rec = Record::new()
        .with("scope", Object::new().with("tenant", "t1"))
        .with("kind", "auth.login_min")
        .with("ts", "2026-05-01T12:00:00.000Z")
        .with("id", "01J0000000000000000000000A");
    let bytes = cfg().canonical_bytes(&rec).unwrap();
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        r#"{"id":"01J0000000000000000000000A","ts":"2026-05-01T12:00:00.000Z","kind":"auth.login_min","scope":{"tenant":"t1"}}"#
    );
    assert_eq!(b3(&bytes), VECTOR_1_B3);
}

/// Vector 2: nested keys sorted (UTF-16 order), escapes, integers, `meta` and `sig`.
#[test]
fn vector_2_full_record() {
    let rec = Record::new()
        .with("sig", Object::new().with("kid", "k2026").with("ed25519", "00".repeat(64)))
        .with("meta", Object::new().with("seq", 1).with("prev", "ab".repeat(32)))
        .with(
            "data",
            Object::new()
                .with("zeta", -9007199254740991)
                .with("\u{ff61}", true)
                .with("\u{1f600}", Value::Null)
                .with("Z", "line\nbreak \"q\" \\ \u{1} é\u{2028}"),
        )
        .with("refs", Value::Array(vec![Value::from("r-2"), Value::from(3)]))
        .with("actor", Object::new().with("type", "user").with("id", "u1"))
        .with("scope", Object::new().with("tenant", "t1").with("room", "r9"))
        .with("kind", "office.tool_call")
        .with("ts", "2026-05-01T12:00:01Z")
        .with("id", "r2");
    let c = cfg();
    let bytes = c.canonical_bytes(&rec).unwrap();
    let expected = concat!(
        r#"{"id":"r2","ts":"2026-05-01T12:00:01Z","kind":"office.tool_call","#,
        r#""scope":{"room":"r9","tenant":"t1"},"actor":{"id":"u1","type":"user"},"#,
        r#""refs":["r-2",3],"#,
        "\"data\":{\"Z\":\"line\\nbreak \\\"q\\\" \\\\ \\u0001 \u{e9}\u{2028}\",\"zeta\":-9007199254740991,\"\u{1f600}\":null,\"\u{ff61}\":true},",
        r#""meta":{"prev":"abababababababababababababababababababababababababababababababab","seq":1},"#,
        r#""sig":{"ed25519":"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000","kid":"k2026"}}"#
    );
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
    assert_eq!(b3(&bytes), VECTOR_2_B3_FULL);
    // The record hash leaves `sig` out.
    let hashed = c.hashed_bytes(&rec).unwrap();
    assert!(!hashed.windows(5).any(|w| w == b"\"sig\""));
    assert_eq!(b3(&hashed), VECTOR_2_B3_HASHED);
}

/// Vector 3: non-canonical input JSON (whitespace, order, escapes) → canonical JCS bytes.
#[test]
fn vector_3_input_json_to_jcs() {
    let input = br#" { "b" : [ 1 , "\u0041\/\ud83d\ude00" ] , "a" : { "y" : false , "x" : null } } "#;
    let v = canonical::parse(input).unwrap();
    let bytes = canonical::to_jcs(&v, 32).unwrap();
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), "{\"a\":{\"x\":null,\"y\":false},\"b\":[1,\"A/\u{1f600}\"]}");
    assert_eq!(b3(&bytes), VECTOR_3_B3);
    assert!(!canonical::is_canonical_jcs(input));
    assert!(canonical::is_canonical_jcs(&bytes));
}

/// Vector 4: inputs that must be rejected, with the reason.
#[test]
fn vector_4_rejections() {
    let cases: &[(&[u8], ParseError)] = &[
        (br#"{"a":1,"a":1}"#, ParseError::DuplicateKey("a".into())),
        (br#"{"s":"\ud800"}"#, ParseError::LoneSurrogate),
        (br#"{"n":1.0}"#, ParseError::Float),
        (br#"{"n":9007199254740992}"#, ParseError::IntOutOfRange),
        (b"{\"s\":\"\xc3\x28\"}", ParseError::InvalidUtf8),
        (br#"{"n":-0}"#, ParseError::NegativeZero),
    ];
    for (input, want) in cases {
        match canonical::parse(input) {
            Err(Error::Parse { reason, .. }) => assert_eq!(&reason, want, "{input:?}"),
            other => panic!("{input:?} gave {other:?}"),
        }
    }
    // A stored line must be byte-exact: a space makes it non-canonical.
    let line = br#"{"id":"r1", "ts":"2026-05-01T12:00:00Z"}"#;
    assert!(matches!(cfg().parse_record(line), Err(Error::Parse { reason: ParseError::NotCanonical, .. })));
}

const VECTOR_1_B3: &str = "005ab57297e0b76fcd5ca53c9a6ab288e1ee539270d4c02b8108ae5e3087cce9";
const VECTOR_2_B3_FULL: &str = "e4b4443deab018ddb042d68534dff6d07d0deec2b4c3fcb1e761bde155fd3de2";
const VECTOR_2_B3_HASHED: &str = "6c7904ccec6665c16b3a175831d70108d8e70da3441bfac459080e1a739dedce";
const VECTOR_3_B3: &str = "4375c43185879ad5f5cb0a7d1dc95f5af11dae91bab99eb24e8c130d46e2a589";
