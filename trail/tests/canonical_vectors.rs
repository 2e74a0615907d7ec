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

/// Vector 5: a checkpoint (CANONICAL.md, "Checkpoints"), key `k1` = seed 0x01×32.
#[test]
fn vector_5_checkpoint() {
    use obspec_trail::checkpoint::Checkpoint;
    let s = obspec_trail::sign::Signer::from_seed("k1", &[1; 32]).unwrap();
    let c = Checkpoint::new(obspec_trail::Date::parse("2026-05-03").unwrap(), [0xab; 32], 3, &s).unwrap();
    let bytes = c.to_bytes().unwrap();
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        format!(
            "{{\"date\":\"2026-05-03\",\"head\":\"{}\",\"kid\":\"k1\",\"sig\":\"{VECTOR_5_SIG}\",\"size\":3,\
             \"type\":\"obspec-trail/checkpoint\",\"v\":1}}\n",
            "ab".repeat(32)
        )
    );
    assert_eq!(obspec_trail::hex::encode(&c.hash().unwrap()), VECTOR_5_HASH);
    assert_eq!(Checkpoint::parse(&bytes).unwrap(), c);
    assert_eq!(c.first_day(), obspec_trail::Date::parse("2026-05-01"));
    assert_eq!(obspec_trail::hex::encode(s.verifying_key().as_bytes()), VECTOR_K1_PUB);
    assert_eq!(obspec_trail::sign::fingerprint(&s.verifying_key()), VECTOR_K1_FPR);
}

/// Vector 6: the hash chain behind a checkpoint: two empty days sealed with `k1`.
#[test]
fn vector_6_chain_to_a_checkpoint() {
    use obspec_trail::checkpoint::Checkpoint;
    use obspec_trail::{Date, manifest};
    let s = obspec_trail::sign::Signer::from_seed("k1", &[1; 32]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m1 = manifest::seal_and_store(dir.path(), Date::parse("2026-05-01").unwrap(), &s).unwrap();
    let m2 = manifest::seal_and_store(dir.path(), Date::parse("2026-05-02").unwrap(), &s).unwrap();
    assert_eq!(obspec_trail::hex::encode(&m1.hash().unwrap()), VECTOR_6_H1);
    assert_eq!(m1.prev_manifest, None);
    assert_eq!(m2.prev_manifest.map(|h| obspec_trail::hex::encode(&h)).as_deref(), Some(VECTOR_6_H1));
    assert_eq!(obspec_trail::hex::encode(&m2.hash().unwrap()), VECTOR_6_H2);
    assert_eq!(manifest::chain_size(dir.path(), m2.date).unwrap(), 2);
    let c = Checkpoint::new(m2.date, m2.hash().unwrap(), 2, &s).unwrap();
    assert_eq!(obspec_trail::hex::encode(&c.sig), VECTOR_6_CHECKPOINT_SIG);
}

const VECTOR_5_SIG: &str = "30e23a5ba71117fd5871e1c98fb6a1ad21c73dba22303ccb4acf931aa3666d88\
                            f950298b658828c29344742b13d944e098c690f6f4470209dd847036661cc305";
const VECTOR_5_HASH: &str = "7088eaf72d81b5d5674d5c71d83f765269369b18816eaa2a87d8fffac16d8b62";
const VECTOR_K1_PUB: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const VECTOR_K1_FPR: &str = "83561adb398fd87f8e7ed8331bff2fcb945733cc3012879cb9fab07928667062";
const VECTOR_6_H1: &str = "64cfffb892045aa6e7710871f4e9765cfa4387814475ab2dc52f3549853e99d3";
const VECTOR_6_H2: &str = "36122a28ce068d5bd4fd8b05f840d4ba888462a44c9e6bb862ebe3108403fd6b";
const VECTOR_6_CHECKPOINT_SIG: &str = "41e4cc8f17f9c3400beb9a466c4fcb82bf13e977a52ae1a3334b8fc5207ed977\
                                       f8531507ae1ee7b18ebbb5d187247c44fc68768750cea17f7566783a25c8690a";
