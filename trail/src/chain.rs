//! Record hashes and the per-stream hash chain carried in `meta: {prev, seq}`.
//!
//! A stream is one tenant on one UTC day. Record `seq` counts from 1 and
//! equals the line number in the stream's file; `prev` is the BLAKE3 hash
//! of the previous record's canonical bytes without `sig`, and for the first
//! record the stream's [`genesis`] hash, which binds tenant and day so a file
//! moved to another day or tenant does not verify.

use crate::canonical::{Object, Record, TrailConfig, Value};
use crate::date::{Date, parse_timestamp};
use crate::error::{Error, Result};
use crate::hex;
use crate::scan::{LineScanner, ScannedLine};

/// Domain prefix of a stream's genesis hash.
pub const GENESIS_DOMAIN: &[u8] = b"obspec-trail/v1/genesis\0";

/// BLAKE3 of a record's canonical bytes without `sig`.
pub fn record_hash(hashed_bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(hashed_bytes).as_bytes()
}

/// The `prev` of a stream's first record: BLAKE3(domain ‖ tenant ‖ 0 ‖ `YYYY-MM-DD`).
pub fn genesis(tenant: &str, date: Date) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(GENESIS_DOMAIN);
    h.update(tenant.as_bytes());
    h.update(b"\0");
    h.update(date.to_string().as_bytes());
    *h.finalize().as_bytes()
}

/// Highest trail schema version (`trails.schema_version` of the spec) a
/// verifier accepts in a genesis: streams of every version up to it verify.
pub const MAX_SCHEMA_VERSION: u32 = 64;

/// The genesis of a stream written under trail schema `version`: version 1 is
/// [`genesis`]; version `n` hashes the domain `obspec-trail/v<n>/genesis\0`
/// instead, so a stream's first record names the schema its records follow.
pub fn genesis_versioned(version: u32, tenant: &str, date: Date) -> [u8; 32] {
    if version <= 1 {
        return genesis(tenant, date);
    }
    let mut h = blake3::Hasher::new();
    h.update(format!("obspec-trail/v{version}/genesis\0").as_bytes());
    h.update(tenant.as_bytes());
    h.update(b"\0");
    h.update(date.to_string().as_bytes());
    *h.finalize().as_bytes()
}

/// The schema version (1..=[`MAX_SCHEMA_VERSION`]) whose genesis `prev` is, if any.
pub fn genesis_version(prev: &[u8; 32], tenant: &str, date: Date) -> Option<u32> {
    (1..=MAX_SCHEMA_VERSION).find(|v| genesis_versioned(*v, tenant, date) == *prev)
}

/// Whether a tenant id can name a stream file: 1–64 of `[A-Za-z0-9_-]`.
pub fn valid_tenant(t: &str) -> bool {
    !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A record signature: key id and 64-byte Ed25519 signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSig {
    /// The key id.
    pub kid: String,
    /// The signature over [`crate::sign::message`] of the record hash.
    pub sig: [u8; 64],
}

/// What the chain needs from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The record id.
    pub id: String,
    /// `scope.tenant`.
    pub tenant: String,
    /// The day of `ts`.
    pub date: Date,
}

/// Checks the fields every record needs before it is chained: `id`, `ts`,
/// `kind`, `scope.tenant`, and returns them.
pub fn header(rec: &Record) -> Result<Header> {
    let bad = |m: &str| Error::InvalidRecord(m.to_owned());
    let id = rec.id().ok_or_else(|| bad("`id` must be a string"))?;
    if id.is_empty() || id.len() > 128 {
        return Err(bad("`id` must be 1 to 128 bytes"));
    }
    let ts = rec.get("ts").and_then(Value::as_str).ok_or_else(|| bad("`ts` must be a string"))?;
    let date = parse_timestamp(ts).ok_or_else(|| bad("`ts` must be RFC 3339 UTC: YYYY-MM-DDTHH:MM:SS[.f]Z"))?;
    match rec.get("kind").and_then(Value::as_str) {
        Some(k) if !k.is_empty() => {}
        _ => return Err(bad("`kind` must be a non-empty string")),
    }
    let tenant = rec
        .get("scope")
        .and_then(Value::as_object)
        .and_then(|s| s.get("tenant"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`scope.tenant` must be a string"))?;
    if !valid_tenant(tenant) {
        return Err(bad("`scope.tenant` must be 1-64 of [A-Za-z0-9_-]"));
    }
    Ok(Header { id: id.to_owned(), tenant: tenant.to_owned(), date })
}

/// Sets `meta: {prev, seq}` on a record.
pub fn set_link(rec: &mut Record, seq: u64, prev: &[u8; 32]) -> Result<()> {
    let seq = i64::try_from(seq).map_err(|_| Error::InvalidRecord("seq overflow".into()))?;
    rec.set("meta", Object::new().with("prev", hex::encode(prev)).with("seq", seq));
    Ok(())
}

/// Sets `sig: {ed25519, kid}` on a record.
pub fn set_sig(rec: &mut Record, kid: &str, sig: &[u8; 64]) {
    rec.set("sig", Object::new().with("ed25519", hex::encode(sig)).with("kid", kid));
}

/// A stored line, parsed and checked for shape, with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    /// Record id, tenant and day.
    pub header: Header,
    /// `meta.seq`.
    pub seq: u64,
    /// `meta.prev`.
    pub prev: [u8; 32],
    /// BLAKE3 of the record without `sig`.
    pub hash: [u8; 32],
    /// `sig`, when present.
    pub sig: Option<RecordSig>,
}

/// Parses a stored line (without newline): canonical bytes, required fields,
/// `meta` exactly `{prev, seq}`, `sig` absent or exactly `{ed25519, kid}`.
///
/// Runs the single-pass scanner ([`crate::scan`]); only for a line it
/// rejects does it run [`inspect_line_reference`] to say why, so errors are
/// those of the reference.
pub fn inspect_line(cfg: &TrailConfig, line: &[u8]) -> Result<LineInfo> {
    scan_line(&LineScanner::new(cfg), line).map(ScannedLine::into_info)
}

/// [`inspect_line`] with a scanner built once, borrowing from the line.
pub fn scan_line<'a>(scanner: &LineScanner<'_>, line: &'a [u8]) -> Result<ScannedLine<'a>> {
    match scanner.scan(line) {
        Some(s) => Ok(s),
        // The reference explains the rejection (and would accept what the
        // scanner wrongly refused; the property tests say it never does).
        None => inspect_line_reference(scanner.config(), line).map(ScannedLine::from),
    }
}

/// The tree-building reference of [`inspect_line`]: parses the line into
/// values, re-serialises them and compares the bytes. Slower; it gives the
/// precise reason for a rejection.
pub fn inspect_line_reference(cfg: &TrailConfig, line: &[u8]) -> Result<LineInfo> {
    let rec = cfg.parse_record(line)?;
    let header = header(&rec)?;
    let bad = |m: &str| Error::InvalidRecord(m.to_owned());
    let meta = rec.get("meta").and_then(Value::as_object).ok_or_else(|| bad("`meta` must be an object"))?;
    if meta.len() != 2 {
        return Err(bad("`meta` must hold exactly `prev` and `seq`"));
    }
    let seq = meta
        .get("seq")
        .and_then(Value::as_int)
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s >= 1)
        .ok_or_else(|| bad("`meta.seq` must be a positive integer"))?;
    let prev = meta
        .get("prev")
        .and_then(Value::as_str)
        .and_then(hex::decode::<32>)
        .ok_or_else(|| bad("`meta.prev` must be 64 lower-case hex digits"))?;
    let sig = match rec.get("sig") {
        None => None,
        Some(Value::Object(o)) if o.len() == 2 => {
            let kid = o.get("kid").and_then(Value::as_str).ok_or_else(|| bad("`sig.kid` must be a string"))?;
            let sig = o
                .get("ed25519")
                .and_then(Value::as_str)
                .and_then(hex::decode::<64>)
                .ok_or_else(|| bad("`sig.ed25519` must be 128 lower-case hex digits"))?;
            Some(RecordSig { kid: kid.to_owned(), sig })
        }
        Some(_) => return Err(bad("`sig` must be {ed25519, kid}")),
    };
    // The hashed bytes are the line without `sig`; when there is no `sig` they are the line itself.
    let hash = if sig.is_some() { record_hash(&cfg.hashed_bytes(&rec)?) } else { record_hash(line) };
    Ok(LineInfo { header, seq, prev, hash, sig })
}

/// The head of a stream: where the next record links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The `seq` the next record gets.
    pub next_seq: u64,
    /// The `prev` the next record gets.
    pub prev: [u8; 32],
}

impl ChainHead {
    /// The head of an empty stream.
    pub fn genesis(tenant: &str, date: Date) -> ChainHead {
        ChainHead { next_seq: 1, prev: genesis(tenant, date) }
    }

    /// The head of an empty stream written under trail schema `version`.
    pub fn genesis_versioned(version: u32, tenant: &str, date: Date) -> ChainHead {
        ChainHead { next_seq: 1, prev: genesis_versioned(version, tenant, date) }
    }

    /// Checks that `info` is the next record of the stream `(tenant, date)` and advances.
    pub fn advance(&mut self, tenant: &str, date: Date, info: &LineInfo) -> std::result::Result<(), String> {
        let h = &info.header;
        self.advance_by(tenant, date, (&h.tenant, h.date, info.seq, &info.prev, &info.hash))
    }

    /// [`ChainHead::advance`] for a line read by the scanner.
    pub fn advance_scanned(
        &mut self,
        tenant: &str,
        date: Date,
        s: &ScannedLine<'_>,
    ) -> std::result::Result<(), String> {
        self.advance_by(tenant, date, (&s.tenant, s.date, s.seq, &s.prev, &s.hash))
    }

    fn advance_by(
        &mut self,
        tenant: &str,
        date: Date,
        (of_tenant, of_date, seq, prev, hash): (&str, Date, u64, &[u8; 32], &[u8; 32]),
    ) -> std::result::Result<(), String> {
        if of_tenant != tenant {
            return Err(format!("record of tenant {of_tenant:?} in stream {tenant:?}"));
        }
        if of_date != date {
            return Err(format!("record of {of_date} in the stream of {date}"));
        }
        if seq != self.next_seq {
            return Err(format!("seq {seq} where {} was expected", self.next_seq));
        }
        // A head at this stream's genesis takes a first record starting from
        // any schema version's genesis of the same stream.
        let any_genesis = |p: &[u8; 32]| genesis_version(p, tenant, date).is_some();
        if *prev != self.prev && !(seq == 1 && any_genesis(&self.prev) && any_genesis(prev)) {
            return Err("prev does not match the previous record's hash".into());
        }
        self.next_seq += 1;
        self.prev = *hash;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str) -> Record {
        Record::new()
            .with("id", id)
            .with("ts", "2026-05-01T10:00:00Z")
            .with("kind", "auth.login_min")
            .with("scope", Object::new().with("tenant", "t1"))
    }

    #[test]
    fn a_stream_of_a_later_schema_version_verifies_and_a_forged_genesis_does_not() {
        let cfg = TrailConfig::blueprint_default();
        let date = Date::parse("2026-05-01").unwrap();
        for (start, ok) in [(genesis_versioned(2, "t1", date), true), ([7u8; 32], false)] {
            let mut r = rec("r0");
            set_link(&mut r, 1, &start).unwrap();
            let line = cfg.canonical_bytes(&r).unwrap();
            let mut head = ChainHead::genesis("t1", date);
            assert_eq!(head.advance("t1", date, &inspect_line(&cfg, &line).unwrap()).is_ok(), ok);
        }
    }

    #[test]
    fn chain_links_and_detects_breaks() {
        let cfg = TrailConfig::blueprint_default();
        let date = Date::parse("2026-05-01").unwrap();
        let mut writer_head = ChainHead::genesis("t1", date);
        let mut lines = Vec::new();
        for i in 0..3 {
            let mut r = rec(&format!("r{i}"));
            set_link(&mut r, writer_head.next_seq, &writer_head.prev).unwrap();
            let bytes = cfg.canonical_bytes(&r).unwrap();
            writer_head.prev = record_hash(&bytes);
            writer_head.next_seq += 1;
            lines.push(bytes);
        }
        let mut head = ChainHead::genesis("t1", date);
        for l in &lines {
            head.advance("t1", date, &inspect_line(&cfg, l).unwrap()).unwrap();
        }
        assert_eq!(head, writer_head);
        // Skipping a record breaks the chain.
        let mut head = ChainHead::genesis("t1", date);
        head.advance("t1", date, &inspect_line(&cfg, &lines[0]).unwrap()).unwrap();
        assert!(head.advance("t1", date, &inspect_line(&cfg, &lines[2]).unwrap()).is_err());
        // Another tenant's genesis does not match.
        let mut other = ChainHead::genesis("t2", date);
        assert!(other.advance("t1", date, &inspect_line(&cfg, &lines[0]).unwrap()).is_err());
        assert_ne!(genesis("t1", date), genesis("t1", date.succ()));
        // Each schema version has its own genesis, and version 1's is the original.
        assert_eq!(genesis_versioned(1, "t1", date), genesis("t1", date));
        assert_ne!(genesis_versioned(2, "t1", date), genesis("t1", date));
        assert_eq!(genesis_version(&genesis_versioned(2, "t1", date), "t1", date), Some(2));
        assert_eq!(genesis_version(&genesis_versioned(2, "t2", date), "t1", date), None);
    }

    #[test]
    fn header_rejects_bad_fields() {
        assert!(header(&rec("a")).is_ok());
        assert!(header(&rec("")).is_err());
        assert!(header(&rec("a").with("ts", "yesterday")).is_err());
        assert!(header(&rec("a").with("scope", Object::new().with("tenant", "../x"))).is_err());
        assert!(header(&rec("a").with("kind", 3)).is_err());
    }
}
