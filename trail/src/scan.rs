//! The verifier's single-pass validating scanner for stored lines.
//!
//! [`LineScanner::scan`] reads a stored line once, left to right, and accepts
//! it only if it is byte for byte the canonical form of a valid record (the
//! rules of `CANONICAL.md`: top-level keys in the configured order, nested
//! keys strictly increasing in UTF-16 order, JCS string escapes only, integers
//! without leading zeros or `-0` within ±(2^53−1), no whitespace, nesting
//! within `max_depth`, at most `max_record_bytes`), with `id`, `ts`, `kind`,
//! `scope.tenant`, `meta: {prev, seq}` and an optional `sig: {ed25519, kid}`
//! of the right shape. It builds no tree and copies nothing but the few
//! strings it returns (and those only when they hold escapes).
//!
//! It accepts exactly the lines the tree-building reference
//! ([`crate::chain::inspect_line_reference`]: parse, re-serialise, compare)
//! accepts, and yields the same fields and hash (property-tested in
//! `tests/scanner_props.rs`). It does not explain a rejection: callers fall
//! back to the reference for that, so error messages are unchanged.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::canonical::{MAX_SAFE_INT, TrailConfig};
use crate::chain::{self, Header, LineInfo, RecordSig};
use crate::date::{Date, parse_timestamp};

/// What a stored line holds, borrowed from the line where possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedLine<'a> {
    /// The record id.
    pub id: Cow<'a, str>,
    /// `scope.tenant`.
    pub tenant: Cow<'a, str>,
    /// The day of `ts`.
    pub date: Date,
    /// `meta.seq`.
    pub seq: u64,
    /// `meta.prev`.
    pub prev: [u8; 32],
    /// BLAKE3 of the record without `sig`.
    pub hash: [u8; 32],
    /// `sig`: key id and signature, when present.
    pub sig: Option<(Cow<'a, str>, [u8; 64])>,
}

impl ScannedLine<'_> {
    /// The owned form the rest of the crate uses.
    pub fn into_info(self) -> LineInfo {
        LineInfo {
            header: Header { id: self.id.into_owned(), tenant: self.tenant.into_owned(), date: self.date },
            seq: self.seq,
            prev: self.prev,
            hash: self.hash,
            sig: self.sig.map(|(kid, sig)| RecordSig { kid: kid.into_owned(), sig }),
        }
    }
}

impl From<LineInfo> for ScannedLine<'static> {
    fn from(i: LineInfo) -> Self {
        ScannedLine {
            id: Cow::Owned(i.header.id),
            tenant: Cow::Owned(i.header.tenant),
            date: i.header.date,
            seq: i.seq,
            prev: i.prev,
            hash: i.hash,
            sig: i.sig.map(|s| (Cow::Owned(s.kid), s.sig)),
        }
    }
}

/// A scanner for one configuration; cheap to build, build it once per file.
#[derive(Debug, Clone, Copy)]
pub struct LineScanner<'c> {
    cfg: &'c TrailConfig,
    /// False when the key order names a key twice: no line is canonical then
    /// (the serialiser would write that key twice), and scanning defers to the reference.
    usable: bool,
}

impl<'c> LineScanner<'c> {
    /// A scanner for `cfg`.
    pub fn new(cfg: &'c TrailConfig) -> LineScanner<'c> {
        let k = &cfg.key_order;
        let usable = (0..k.len()).all(|i| !k[i + 1..].contains(&k[i]));
        LineScanner { cfg, usable }
    }

    /// The configuration scanned for.
    pub fn config(&self) -> &'c TrailConfig {
        self.cfg
    }

    /// Scans one stored line (without its newline): `Some` exactly when the
    /// line is a canonical, well-formed record.
    pub fn scan<'a>(&self, line: &'a [u8]) -> Option<ScannedLine<'a>> {
        if !self.usable || line.len() > self.cfg.max_record_bytes || std::str::from_utf8(line).is_err() {
            return None;
        }
        let mut c = Cursor { b: line, i: 0, max_depth: self.cfg.max_depth };
        if c.max_depth < 1 {
            return None;
        }
        c.eat(b'{')?;
        let order = &self.cfg.key_order;
        let mut next = 0;
        let (mut id, mut date, mut kind, mut tenant, mut meta, mut sig) = (None, None, false, None, None, None);
        let mut sig_span = None;
        loop {
            let member_at = c.i;
            let key = c.string()?;
            let name = key.decode(line);
            next += order[next..].iter().position(|k| *k == name)?;
            let role = order[next].as_str();
            next += 1;
            c.eat(b':')?;
            match role {
                "id" => {
                    let s = c.string()?.decode(line);
                    if s.is_empty() || s.len() > 128 {
                        return None;
                    }
                    id = Some(s);
                }
                "ts" => date = Some(parse_timestamp(&c.string()?.decode(line))?),
                "kind" => {
                    let s = c.string()?;
                    kind = s.end > s.start;
                }
                "scope" => {
                    if c.peek() != Some(b'{') {
                        return None;
                    }
                    let t = c.object(2, Some(b"tenant"))??;
                    // A valid tenant has no character that needs escaping.
                    let t = std::str::from_utf8(&line[t.start..t.end]).ok().filter(|t| chain::valid_tenant(t))?;
                    tenant = Some(t);
                }
                "meta" => meta = Some(c.meta()?),
                "sig" => {
                    sig = Some(c.sig(line)?);
                    sig_span = Some((member_at, c.i));
                }
                _ => c.value(2)?,
            }
            if c.eat(b',').is_none() {
                break;
            }
        }
        c.eat(b'}')?;
        if c.i != line.len() || !kind {
            return None;
        }
        let (seq, prev) = meta?;
        let hash = match sig_span {
            None => chain::record_hash(line),
            Some((start, end)) => {
                // The hashed bytes are the line without the `sig` member and one comma next to it.
                let (head, tail) = if start > 1 { (start - 1, end) } else { (start, (end + 1).min(line.len() - 1)) };
                let mut h = blake3::Hasher::new();
                h.update(&line[..head]);
                h.update(&line[tail..]);
                *h.finalize().as_bytes()
            }
        };
        Some(ScannedLine { id: id?, tenant: Cow::Borrowed(tenant?), date: date?, seq, prev, hash, sig })
    }
}

/// A string token: the bytes between its quotes, and whether it has escapes.
#[derive(Debug, Clone, Copy)]
struct Str {
    start: usize,
    end: usize,
    escaped: bool,
}

impl Str {
    fn raw<'a>(&self, b: &'a [u8]) -> &'a [u8] {
        &b[self.start..self.end]
    }

    /// The string's value. The scanner has checked the line is UTF-8 and the
    /// escapes are canonical, so decoding cannot fail.
    fn decode<'a>(&self, b: &'a [u8]) -> Cow<'a, str> {
        let raw = self.raw(b);
        if !self.escaped {
            return Cow::Borrowed(std::str::from_utf8(raw).unwrap_or_default());
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] != b'\\' {
                out.push(raw[i]);
                i += 1;
                continue;
            }
            let (ch, len) = match raw.get(i + 1) {
                Some(b'"') => (b'"', 2),
                Some(b'\\') => (b'\\', 2),
                Some(b'b') => (8, 2),
                Some(b't') => (9, 2),
                Some(b'n') => (10, 2),
                Some(b'f') => (12, 2),
                Some(b'r') => (13, 2),
                // `\u00XY` with XY below 0x20 (checked by the scanner).
                _ => {
                    (raw.get(i + 4..i + 6).and_then(|h| Some(hex_digit(h[0])? * 16 + hex_digit(h[1])?)).unwrap_or(0), 6)
                }
            };
            out.push(ch);
            i += len;
        }
        Cow::Owned(String::from_utf8(out).unwrap_or_default())
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Lower-case hex digit values; 0xff for every other byte.
const NIBBLE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    max_depth: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn eat_all(&mut self, s: &[u8]) -> Option<()> {
        self.b[self.i..].starts_with(s).then(|| self.i += s.len())
    }

    /// A canonical JCS string starting at its opening quote.
    fn string(&mut self) -> Option<Str> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            while !crate::canonical::NEEDS_ESCAPE[usize::from(*self.b.get(self.i)?)] {
                self.i += 1;
            }
            match self.b[self.i] {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Some(Str { start, end, escaped });
                }
                b'\\' => {
                    escaped = true;
                    match *self.b.get(self.i + 1)? {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => self.i += 2,
                        b'u' => {
                            // Only U+0000..U+001F without a short form, in lower-case hex.
                            let h = self.b.get(self.i + 2..self.i + 6)?;
                            if &h[..2] != b"00" || !matches!(h[2], b'0' | b'1') {
                                return None;
                            }
                            let v = (h[2] - b'0') * 16 + hex_digit(h[3])?;
                            if matches!(v, 8 | 9 | 10 | 12 | 13) {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                _ => return None, // a raw control character
            }
        }
    }

    /// A canonical integer: no `+`, no leading zero, no `-0`, within ±(2^53−1).
    fn number(&mut self) -> Option<i64> {
        let neg = self.eat(b'-').is_some();
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        if digits.is_empty() || digits.len() > 16 || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
            return None;
        }
        let mag = digits.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
        (mag <= MAX_SAFE_INT).then_some(if neg { -mag } else { mag })
    }

    /// Any canonical value at `depth` (the record itself is depth 1).
    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'n' => self.eat_all(b"null"),
            b't' => self.eat_all(b"true"),
            b'f' => self.eat_all(b"false"),
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            b'[' => {
                if depth > self.max_depth {
                    return None;
                }
                self.i += 1;
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    if self.eat(b',').is_none() {
                        return self.eat(b']');
                    }
                }
            }
            b'{' => self.object(depth, None).map(drop),
            _ => None,
        }
    }

    /// A canonical object (keys strictly increasing in UTF-16 order). When
    /// `want` names a key whose value is a string, returns that string.
    fn object(&mut self, depth: usize, want: Option<&[u8]>) -> Option<Option<Str>> {
        if depth > self.max_depth {
            return None;
        }
        self.eat(b'{')?;
        let mut found = None;
        if self.eat(b'}').is_some() {
            return Some(found);
        }
        let mut last: Option<Str> = None;
        loop {
            let key = self.string()?;
            if let Some(prev) = last
                && key_cmp(self.b, prev, key) != Ordering::Less
            {
                return None;
            }
            last = Some(key);
            self.eat(b':')?;
            if want.is_some_and(|w| !key.escaped && key.raw(self.b) == w) && self.peek() == Some(b'"') {
                found = Some(self.string()?);
            } else {
                self.value(depth + 1)?;
            }
            if self.eat(b',').is_none() {
                self.eat(b'}')?;
                return Some(found);
            }
        }
    }

    /// `{"prev":"<64 hex>","seq":<positive integer>}`, the only canonical `meta`.
    fn meta(&mut self) -> Option<(u64, [u8; 32])> {
        if 2 > self.max_depth {
            return None;
        }
        self.eat_all(b"{\"prev\":\"")?;
        let prev = self.hex::<32>()?;
        self.eat_all(b"\",\"seq\":")?;
        let seq = u64::try_from(self.number()?).ok().filter(|s| *s >= 1)?;
        self.eat(b'}')?;
        Some((seq, prev))
    }

    /// `{"ed25519":"<128 hex>","kid":<string>}`, the only canonical `sig`.
    fn sig<'a>(&mut self, line: &'a [u8]) -> Option<(Cow<'a, str>, [u8; 64])> {
        if 2 > self.max_depth {
            return None;
        }
        self.eat_all(b"{\"ed25519\":\"")?;
        let sig = self.hex::<64>()?;
        self.eat_all(b"\",\"kid\":")?;
        let kid = self.string()?.decode(line);
        self.eat(b'}')?;
        Some((kid, sig))
    }

    /// Exactly `2 N` lower-case hex digits.
    fn hex<const N: usize>(&mut self) -> Option<[u8; N]> {
        let h = self.b.get(self.i..self.i + 2 * N)?;
        let mut out = [0u8; N];
        // Branch-free: 0xff marks a byte that is not a lower-case hex digit.
        let mut bad = 0u8;
        for (o, pair) in out.iter_mut().zip(h.chunks_exact(2)) {
            let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
            bad |= hi | lo;
            *o = (hi << 4) | (lo & 0xf);
        }
        if bad & 0xf0 != 0 {
            return None;
        }
        self.i += 2 * N;
        Some(out)
    }
}

/// Orders two keys of the line by UTF-16 code units (RFC 8785 §3.2.3).
fn key_cmp(b: &[u8], x: Str, y: Str) -> Ordering {
    if !x.escaped && !y.escaped {
        let (a, c) = (x.raw(b), y.raw(b));
        match a.iter().zip(c).position(|(p, q)| p != q) {
            // Both differing bytes ASCII: whole characters, ordered alike in UTF-8 and UTF-16.
            Some(n) if a[n] < 0x80 && c[n] < 0x80 => return a[n].cmp(&c[n]),
            // One is a prefix of the other.
            None => return a.len().cmp(&c.len()),
            Some(_) => {}
        }
    }
    let (a, c) = (x.decode(b), y.decode(b));
    a.encode_utf16().cmp(c.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(line: &str) -> Option<ScannedLine<'_>> {
        let cfg = Box::leak(Box::new(TrailConfig::blueprint_default()));
        LineScanner::new(cfg).scan(line.as_bytes())
    }

    const PREV: &str = "abababababababababababababababababababababababababababababababab";

    fn line(data: &str) -> String {
        format!(
            r#"{{"id":"r1","ts":"2026-05-01T00:00:00Z","kind":"k","scope":{{"tenant":"t1"}},"data":{data},"meta":{{"prev":"{PREV}","seq":1}}}}"#
        )
    }

    #[test]
    fn accepts_canonical_and_rejects_near_misses() {
        assert!(scan(&line(r#"{"a":[1,-2,"\u001f\n"],"b":null}"#)).is_some());
        for bad in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":01}"#,
            r#"{"a":-0}"#,
            r#"{"a":1.0}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\u001F"}"#,
            r#"{"a":"\u0009"}"#,
            r#"{"a":9007199254740992}"#,
            r#"{ "a":1}"#,
            r#"{"｡":1,"😀":2}"#,
        ] {
            assert!(scan(&line(bad)).is_none(), "accepted {bad}");
        }
        assert!(scan(&line(r#"{"😀":1,"｡":2}"#)).is_some());
    }
}
