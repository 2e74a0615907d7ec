//! The canonical form of trail records (JSON✯Atomic, blueprint §3.1).
//!
//! Nested values follow RFC 8785 (JCS): object keys sorted by UTF-16 code
//! units, JCS string escaping, no whitespace. Two deliberate deviations:
//! the top level of a [`Record`] is written in the spec's key order
//! ([`TrailConfig::key_order`]) rather than sorted, and numbers are
//! restricted to integers in ±(2^53−1) (floats are rejected, not formatted).
//! See `CANONICAL.md` for the full rules and test vectors.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::error::{Error, ParseError, Result};

/// The largest integer magnitude allowed: 2^53 − 1 (exactly representable in IEEE 754 doubles).
pub const MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// The blueprint's top-level key order (§3.1).
pub const BLUEPRINT_KEY_ORDER: [&str; 9] = ["id", "ts", "kind", "scope", "actor", "refs", "data", "meta", "sig"];

/// Top-level keys the trail machinery relies on; a key order must contain each once.
pub const RESERVED_KEYS: [&str; 6] = ["id", "ts", "kind", "scope", "meta", "sig"];

/// A JSON value restricted to what the canonical form accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer; must lie within ±[`MAX_SAFE_INT`] to be serialised.
    Int(i64),
    /// A Unicode string (never contains lone surrogates, as Rust strings cannot).
    Str(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, whose keys are kept in canonical (UTF-16) order.
    Object(Object),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Value {
        Value::Object(o)
    }
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
}

/// An object key, ordered by UTF-16 code units as RFC 8785 §3.2.3 requires.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key(String);

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        // UTF-8 byte order equals code point order, which differs from UTF-16
        // order only between supplementary characters and U+E000..U+FFFF, so
        // ASCII keys (the common case) take the cheap path.
        if self.0.is_ascii() && other.0.is_ascii() {
            self.0.as_bytes().cmp(other.0.as_bytes())
        } else {
            self.0.encode_utf16().cmp(other.0.encode_utf16())
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A JSON object whose keys iterate in canonical order whatever order they were inserted in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object(BTreeMap<Key, Value>);

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object::default()
    }

    /// Sets a key, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(Key(key.into()), value.into())
    }

    /// Builder-style [`Object::insert`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Object {
        self.insert(key, value);
        self
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(&Key(key.to_owned()))
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.0.remove(&Key(key.to_owned()))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the object has no key.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Key/value pairs in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.0.as_str(), v))
    }
}

/// Settings of the canonical form that come from the project's spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailConfig {
    /// Top-level key order of a record; must contain each of [`RESERVED_KEYS`] exactly once.
    pub key_order: Vec<String>,
    /// Maximum nesting depth of values (the record itself is depth 1).
    pub max_depth: usize,
    /// Maximum size of one serialised record in bytes.
    pub max_record_bytes: usize,
    /// The trail schema version new streams start at (their genesis, see
    /// `chain::genesis_versioned`); the spec's `trails.schema_version`.
    pub schema_version: u32,
}

impl TrailConfig {
    /// The blueprint's order (§3.1) with a nesting limit of 32 and 64 KiB per record.
    pub fn blueprint_default() -> TrailConfig {
        TrailConfig {
            key_order: BLUEPRINT_KEY_ORDER.iter().map(|s| (*s).to_owned()).collect(),
            max_depth: 32,
            max_record_bytes: 64 * 1024,
            schema_version: 1,
        }
    }

    /// Checks the key order: no duplicates, every reserved key present.
    pub fn validate(&self) -> Result<()> {
        if !(1..=crate::chain::MAX_SCHEMA_VERSION).contains(&self.schema_version) {
            return Err(Error::Config(format!(
                "schema_version {} is not in 1..={}",
                self.schema_version,
                crate::chain::MAX_SCHEMA_VERSION
            )));
        }
        for (i, k) in self.key_order.iter().enumerate() {
            if self.key_order[..i].contains(k) {
                return Err(Error::Config(format!("key {k:?} appears twice in key_order")));
            }
        }
        for r in RESERVED_KEYS {
            if !self.key_order.iter().any(|k| k == r) {
                return Err(Error::Config(format!("key_order lacks reserved key {r:?}")));
            }
        }
        if self.max_depth < 3 {
            return Err(Error::Config("max_depth must be at least 3".into()));
        }
        Ok(())
    }

    /// Serialises a record: top-level keys in [`TrailConfig::key_order`], nested values as JCS.
    /// With `include_sig == false` the `sig` field is left out (the bytes that are hashed).
    pub fn write_record(&self, rec: &Record, include_sig: bool, out: &mut Vec<u8>) -> Result<()> {
        if let Some(e) = self.unknown_key(rec) {
            return Err(e);
        }
        let start = out.len();
        out.push(b'{');
        let mut first = true;
        for k in &self.key_order {
            if !include_sig && k == "sig" {
                continue;
            }
            if let Some(v) = rec.fields.get(k) {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(k, out);
                out.push(b':');
                write_value(v, out, 2, self.max_depth)?;
            }
        }
        out.push(b'}');
        if out.len() - start > self.max_record_bytes {
            return Err(Error::NotCanonical(format!(
                "record is {} bytes, more than {}",
                out.len() - start,
                self.max_record_bytes
            )));
        }
        Ok(())
    }

    /// Writes a record that gets `meta: {prev, seq}` from the chain, without
    /// building `meta` as a value or touching `rec`: the writer's path. The
    /// record must not hold `meta` or `sig`, and the configuration must be
    /// valid ([`TrailConfig::validate`]). Returns the offset in `out` where a
    /// `sig` member belongs (right after the member before it in the key
    /// order), or `None` when the key order has no `sig`. On error `out` may
    /// hold a partial record; the caller truncates it.
    pub(crate) fn write_linked(
        &self,
        rec: &Record,
        seq: i64,
        prev: &[u8; 32],
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>> {
        // Each field's place in the key order, found once per field with a
        // cheap length and first-byte test before any byte comparison.
        let n = self.key_order.len();
        let mut stack: [Option<&Value>; 16] = [None; 16];
        let mut heap;
        let slots: &mut [Option<&Value>] = if n <= stack.len() {
            &mut stack[..n]
        } else {
            heap = vec![None; n];
            &mut heap
        };
        for (k, v) in &rec.fields {
            let Some(p) = self.key_order.iter().position(|o| key_eq(o, k)) else {
                return Err(Error::InvalidRecord(format!("unknown top-level key {k:?}")));
            };
            if key_eq(k, "meta") || key_eq(k, "sig") {
                return Err(Error::InvalidRecord("`meta` and `sig` are set by the writer".into()));
            }
            slots[p] = Some(v);
        }
        let start = out.len();
        out.reserve(512);
        out.push(b'{');
        let mut sig_at = None;
        for (k, slot) in self.key_order.iter().zip(slots.iter()) {
            if key_eq(k, "sig") {
                sig_at = Some(out.len());
            } else if key_eq(k, "meta") {
                if out.len() > start + 1 {
                    out.push(b',');
                }
                out.extend_from_slice(b"\"meta\":{\"prev\":\"");
                let mut hex = [0u8; 64];
                crate::hex::encode_to(prev, &mut hex);
                out.extend_from_slice(&hex);
                out.extend_from_slice(b"\",\"seq\":");
                write_int(seq, out)?;
                out.push(b'}');
            } else if let Some(v) = slot {
                if out.len() > start + 1 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_value(v, out, 2, self.max_depth)?;
            }
        }
        out.push(b'}');
        Ok(sig_at)
    }

    fn unknown_key(&self, rec: &Record) -> Option<Error> {
        rec.fields
            .keys()
            .find(|k| !self.key_order.iter().any(|o| o == *k))
            .map(|k| Error::InvalidRecord(format!("unknown top-level key {k:?}")))
    }

    /// The canonical bytes of a record, `sig` included.
    pub fn canonical_bytes(&self, rec: &Record) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        self.write_record(rec, true, &mut out)?;
        Ok(out)
    }

    /// The canonical bytes of a record without `sig`: what [`crate::chain::record_hash`] hashes.
    pub fn hashed_bytes(&self, rec: &Record) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        self.write_record(rec, false, &mut out)?;
        Ok(out)
    }

    /// Parses one stored line (without its newline) and requires it to be exactly canonical.
    pub fn parse_record(&self, line: &[u8]) -> Result<Record> {
        let value = parse_with_depth(line, self.max_depth)?;
        let Value::Object(obj) = value else {
            return Err(Error::InvalidRecord("a record must be a JSON object".into()));
        };
        let mut rec = Record::new();
        for (k, v) in obj.0 {
            rec.fields.insert(k.0, v);
        }
        let again = self.canonical_bytes(&rec)?;
        if again != line {
            return Err(Error::Parse { offset: first_difference(&again, line), reason: ParseError::NotCanonical });
        }
        Ok(rec)
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

/// String equality that rejects on length and first byte before comparing bytes
/// (top-level key names differ there, and this avoids a `memcmp` call per probe).
#[inline]
fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.first() == b.first() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A trail record: top-level fields by name, serialised in the configured key order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    fields: BTreeMap<String, Value>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// Sets a top-level field, returning the previous value.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.fields.insert(key.into(), value.into())
    }

    /// Builder-style [`Record::set`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Record {
        self.set(key, value);
        self
    }

    /// A top-level field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// Removes a top-level field.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.fields.remove(key)
    }

    /// The `id` field as a string.
    pub fn id(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str)
    }

    /// Top-level fields in name order (not canonical order).
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Serialises a value as RFC 8785 JCS (all object keys sorted); used for manifests and indexes.
pub fn to_jcs(value: &Value, max_depth: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out, 1, max_depth)?;
    Ok(out)
}

pub(crate) fn write_value(v: &Value, out: &mut Vec<u8>, depth: usize, max_depth: usize) -> Result<()> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => write_int(*i, out)?,
        Value::Str(s) => write_string(s, out),
        Value::Array(items) => {
            check_depth(depth, max_depth)?;
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_value(item, out, depth + 1, max_depth)?;
            }
            out.push(b']');
        }
        Value::Object(obj) => {
            check_depth(depth, max_depth)?;
            out.push(b'{');
            for (n, (k, item)) in obj.0.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_string(&k.0, out);
                out.push(b':');
                write_value(item, out, depth + 1, max_depth)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn check_depth(depth: usize, max_depth: usize) -> Result<()> {
    if depth > max_depth { Err(Error::NotCanonical(format!("nesting deeper than {max_depth}"))) } else { Ok(()) }
}

pub(crate) fn write_int(i: i64, out: &mut Vec<u8>) -> Result<()> {
    if !(-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&i) {
        return Err(Error::NotCanonical(format!("integer {i} outside ±(2^53-1)")));
    }
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[pos..]);
    Ok(())
}

/// Writes a string with JCS escaping: `"` `\` and U+0000..U+001F escaped
/// (short forms `\b \t \n \f \r`, otherwise `\u00xx` lower case), all else literal.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    // Most strings need no escape: one check over the bytes (branch-free, so
    // it vectorises), then one copy.
    if !bytes.iter().fold(false, |acc, &b| acc | (b < 0x20) | (b == b'"') | (b == b'\\')) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ESCAPE[usize::from(b)] {
            continue;
        }
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            _ => &[],
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Bytes JCS escapes inside strings: `"`, `\` and U+0000..U+001F (also
/// where the scanner's run of literal string content ends).
pub(crate) const NEEDS_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Parses JSON input strictly: UTF-8 only, no duplicate keys, no lone
/// surrogates, no floats, integers within ±(2^53−1), nesting at most 32.
/// Whitespace between tokens is allowed; use [`is_canonical_jcs`] or
/// [`TrailConfig::parse_record`] to also require canonical bytes.
pub fn parse(input: &[u8]) -> Result<Value> {
    parse_with_depth(input, 32)
}

/// [`parse`] with an explicit nesting limit.
pub fn parse_with_depth(input: &[u8], max_depth: usize) -> Result<Value> {
    if let Err(e) = std::str::from_utf8(input) {
        return Err(Error::Parse { offset: e.valid_up_to(), reason: ParseError::InvalidUtf8 });
    }
    let mut p = Parser { b: input, i: 0, max_depth };
    let v = p.value(1).map_err(|reason| Error::Parse { offset: p.i, reason })?;
    p.ws();
    if p.i != input.len() {
        return Err(Error::Parse { offset: p.i, reason: ParseError::TrailingData });
    }
    Ok(v)
}

/// Whether `input` parses strictly and equals its own JCS serialisation.
pub fn is_canonical_jcs(input: &[u8]) -> bool {
    parse(input).and_then(|v| to_jcs(&v, 32)).is_ok_and(|again| again == input)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    max_depth: usize,
}

type PResult<T> = std::result::Result<T, ParseError>;

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> PResult<u8> {
        self.b.get(self.i).copied().ok_or(ParseError::UnexpectedEnd)
    }

    fn unexpected(&self) -> ParseError {
        match std::str::from_utf8(&self.b[self.i..]).ok().and_then(|s| s.chars().next()) {
            Some(c) => ParseError::UnexpectedChar(c),
            None => ParseError::UnexpectedEnd,
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> PResult<Value> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.unexpected())
        }
    }

    fn value(&mut self, depth: usize) -> PResult<Value> {
        self.ws();
        match self.peek()? {
            b'n' => self.literal(b"null", Value::Null),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'"' => self.string().map(Value::Str),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' => {
                if depth > self.max_depth {
                    return Err(ParseError::TooDeep(self.max_depth));
                }
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(self.unexpected()),
                    }
                }
            }
            b'{' => {
                if depth > self.max_depth {
                    return Err(ParseError::TooDeep(self.max_depth));
                }
                self.i += 1;
                let mut obj = BTreeMap::new();
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Ok(Value::Object(Object(obj)));
                }
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return Err(self.unexpected());
                    }
                    let key_at = self.i;
                    let key = self.string()?;
                    self.ws();
                    if self.peek()? != b':' {
                        return Err(self.unexpected());
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    match obj.entry(Key(key)) {
                        std::collections::btree_map::Entry::Vacant(slot) => {
                            slot.insert(v);
                        }
                        std::collections::btree_map::Entry::Occupied(o) => {
                            self.i = key_at;
                            return Err(ParseError::DuplicateKey(o.key().0.clone()));
                        }
                    }
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Ok(Value::Object(Object(obj)));
                        }
                        _ => return Err(self.unexpected()),
                    }
                }
            }
            _ => Err(self.unexpected()),
        }
    }

    fn number(&mut self) -> PResult<Value> {
        let neg = self.b[self.i] == b'-';
        if neg {
            self.i += 1;
        }
        let start = self.i;
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        if digits.is_empty() {
            return Err(self.unexpected());
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(self.i) {
            return Err(ParseError::Float);
        }
        if digits.len() > 1 && digits[0] == b'0' {
            self.i = start;
            return Err(ParseError::LeadingZero);
        }
        if digits.len() > 16 {
            return Err(ParseError::IntOutOfRange);
        }
        let mag = digits.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
        if mag > MAX_SAFE_INT {
            return Err(ParseError::IntOutOfRange);
        }
        if neg && mag == 0 {
            return Err(ParseError::NegativeZero);
        }
        Ok(Value::Int(if neg { -mag } else { mag }))
    }

    fn hex4(&mut self) -> PResult<u32> {
        let h = self.b.get(self.i..self.i + 4).ok_or(ParseError::UnexpectedEnd)?;
        let mut v = 0u32;
        for &c in h {
            let d = char::from(c).to_digit(16).ok_or(ParseError::InvalidEscape)?;
            v = v * 16 + d;
        }
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> PResult<String> {
        self.i += 1; // opening quote
        let mut s = Vec::new();
        loop {
            let start = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            s.extend_from_slice(&self.b[start..self.i]);
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    // The input was checked to be UTF-8 and escapes produce
                    // whole characters, so this cannot fail; map it anyway.
                    return String::from_utf8(s).map_err(|_| ParseError::InvalidUtf8);
                }
                b'\\' => {
                    self.i += 1;
                    let c = self.peek()?;
                    self.i += 1;
                    let ch = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(ParseError::LoneSurrogate);
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(ParseError::LoneSurrogate);
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(ParseError::LoneSurrogate);
                            } else {
                                hi
                            };
                            char::from_u32(cp).ok_or(ParseError::LoneSurrogate)?
                        }
                        _ => return Err(ParseError::InvalidEscape),
                    };
                    let mut buf = [0u8; 4];
                    s.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => return Err(ParseError::ControlChar),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(input: &[u8]) -> ParseError {
        match parse(input) {
            Err(Error::Parse { reason, .. }) => reason,
            other => panic!("expected a parse error for {input:?}, got {other:?}"),
        }
    }

    #[test]
    fn rejects_what_it_must() {
        assert_eq!(reason(br#"{"a":1,"a":2}"#), ParseError::DuplicateKey("a".into()));
        assert_eq!(reason(br#""\ud800""#), ParseError::LoneSurrogate);
        assert_eq!(reason(br#""\udc00""#), ParseError::LoneSurrogate);
        assert_eq!(reason(br#""\ud800\u0041""#), ParseError::LoneSurrogate);
        assert_eq!(reason(b"1.5"), ParseError::Float);
        assert_eq!(reason(b"1e3"), ParseError::Float);
        assert_eq!(reason(b"9007199254740992"), ParseError::IntOutOfRange);
        assert_eq!(reason(b"-9007199254740992"), ParseError::IntOutOfRange);
        assert_eq!(reason(b"-0"), ParseError::NegativeZero);
        assert_eq!(reason(b"01"), ParseError::LeadingZero);
        assert_eq!(reason(b"\"a\xffb\""), ParseError::InvalidUtf8);
        assert_eq!(reason(b"\"a\nb\""), ParseError::ControlChar);
        assert_eq!(reason(b"{} x"), ParseError::TrailingData);
        assert_eq!(reason(&[b'['; 40]), ParseError::TooDeep(32));
    }

    #[test]
    fn accepts_limits_and_pairs() {
        assert_eq!(parse(b"9007199254740991").unwrap(), Value::Int(MAX_SAFE_INT));
        assert_eq!(parse(b"-9007199254740991").unwrap(), Value::Int(-MAX_SAFE_INT));
        assert_eq!(parse(br#""\ud83d\ude00""#).unwrap(), Value::Str("\u{1F600}".into()));
    }

    #[test]
    fn jcs_string_escaping() {
        let v = Value::Str("\"\\/\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}\u{2028}é".into());
        let out = to_jcs(&v, 32).unwrap();
        assert_eq!(out, "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}\u{2028}é\"".as_bytes());
    }

    #[test]
    fn keys_sort_by_utf16_not_utf8() {
        // U+FF61 sorts after U+1F600 in UTF-8/code points but before it in UTF-16
        // (0xFF61 < 0xD83D is false; 0xD83D < 0xFF61), so the emoji comes first.
        let obj = Object::new().with("\u{ff61}", 1).with("\u{1f600}", 2).with("a", 3);
        let out = to_jcs(&Value::Object(obj), 32).unwrap();
        assert_eq!(out, "{\"a\":3,\"\u{1f600}\":2,\"\u{ff61}\":1}".as_bytes());
    }

    #[test]
    fn out_of_range_integers_do_not_serialise() {
        assert!(to_jcs(&Value::Int(MAX_SAFE_INT + 1), 32).is_err());
        assert!(to_jcs(&Value::Int(i64::MIN), 32).is_err());
    }

    #[test]
    fn record_top_level_follows_key_order_not_sorting() {
        let cfg = TrailConfig::blueprint_default();
        let rec = Record::new()
            .with("sig", Value::Null)
            .with("data", Object::new().with("b", 1).with("a", 2))
            .with("id", "r1")
            .with("ts", "2026-05-01T00:00:00Z");
        let bytes = cfg.canonical_bytes(&rec).unwrap();
        assert_eq!(bytes, br#"{"id":"r1","ts":"2026-05-01T00:00:00Z","data":{"a":2,"b":1},"sig":null}"#);
        let hashed = cfg.hashed_bytes(&rec).unwrap();
        assert_eq!(hashed, br#"{"id":"r1","ts":"2026-05-01T00:00:00Z","data":{"a":2,"b":1}}"#);
        assert_eq!(cfg.parse_record(&bytes).unwrap(), rec);
        // Sorted top level is valid JSON but not canonical here.
        assert!(
            cfg.parse_record(br#"{"data":{"a":2,"b":1},"id":"r1","sig":null,"ts":"2026-05-01T00:00:00Z"}"#).is_err()
        );
        assert!(cfg.canonical_bytes(&rec.clone().with("extra", 1)).is_err());
    }

    #[test]
    fn config_validation() {
        let mut cfg = TrailConfig::blueprint_default();
        assert!(cfg.validate().is_ok());
        cfg.key_order.push("id".into());
        assert!(cfg.validate().is_err());
        cfg.key_order.retain(|k| k != "meta" && k != "id");
        cfg.key_order.insert(0, "id".into());
        assert!(cfg.validate().is_err());
    }
}
