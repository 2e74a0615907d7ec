//! W3C Trace Context (`traceparent`) and `x-correlation-id`: parsed from the
//! request, generated when absent or malformed, and (when the observability
//! layer is asked to) put on the response and left in the request's
//! extensions as [`RequestIds`] for handlers and outgoing calls.

use std::cell::Cell;
use std::hash::{BuildHasher, Hash, Hasher};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::hex::parse16;

/// The `traceparent` header.
pub static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The `x-correlation-id` header.
pub static CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// Room for a correlation ID (inline, no allocation). The longest accepted is
/// the log schema's `id_max_len` (from the spec), at most this.
pub const CORRELATION_ID_CAPACITY: usize = 128;

const HEX: &[u8; 16] = b"0123456789abcdef";

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    std::thread::current().id().hash(&mut h);
    h.finish()
}

/// A fast, non-cryptographic random `u64` (splitmix64 per thread, seeded from
/// the standard library's random hasher keys): IDs and chaos coin flips.
pub fn random_u64() -> u64 {
    RNG.with(|c| {
        let s = c.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        c.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

fn nonzero_u64() -> u64 {
    loop {
        let v = random_u64();
        if v != 0 {
            return v;
        }
    }
}

/// One hop of a W3C trace: the trace-id, the caller's span (parent) and ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    /// The 128-bit trace-id (never zero).
    pub trace_id: u128,
    /// The caller's span-id (zero when this service started the trace).
    pub parent_id: u64,
    /// This request's span-id (never zero).
    pub span_id: u64,
    /// Trace flags (bit 0: sampled).
    pub flags: u8,
}

impl TraceContext {
    /// A new trace (sampled flag set).
    pub fn new_root() -> Self {
        let trace_id = (u128::from(nonzero_u64()) << 64) | u128::from(random_u64());
        Self { trace_id, parent_id: 0, span_id: nonzero_u64(), flags: 1 }
    }

    /// Parses a `traceparent` value: `(trace_id, parent_id, flags)`. Version
    /// `00` must be exactly 55 characters; later versions may append fields
    /// after a `-`; `ff`, upper-case hex and all-zero IDs are invalid.
    pub fn parse(value: &[u8]) -> Option<(u128, u64, u8)> {
        if value.len() < 55 || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
            return None;
        }
        let version = hex(&value[0..2])? as u8;
        if version == 0xff || (version == 0 && value.len() != 55) || (value.len() > 55 && value[55] != b'-') {
            return None;
        }
        let trace_id = u128::from(parse16(&value[3..19])?) << 64 | u128::from(parse16(&value[19..35])?);
        let parent_id = parse16(&value[36..52])?;
        let flags = hex(&value[53..55])? as u8;
        (trace_id != 0 && parent_id != 0).then_some((trace_id, parent_id, flags))
    }

    /// Continues the request's trace (a new span under the caller's), or
    /// starts one when `traceparent` is absent or malformed.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        match headers.get(&TRACEPARENT).and_then(|v| Self::parse(v.as_bytes())) {
            Some((trace_id, parent_id, flags)) => Self { trace_id, parent_id, span_id: nonzero_u64(), flags },
            None => Self::new_root(),
        }
    }

    /// A context for an outgoing call: same trace, a new span whose parent is ours.
    pub fn child(&self) -> Self {
        Self { trace_id: self.trace_id, parent_id: self.span_id, span_id: nonzero_u64(), flags: self.flags }
    }

    /// The trace-id as 32 lowercase hex digits.
    pub fn trace_id_hex(&self) -> TraceIdHex {
        TraceIdHex(crate::hex::hex32(self.trace_id))
    }

    /// The `traceparent` value naming this span: `00-<trace>-<span>-<flags>`.
    pub fn traceparent(&self) -> HeaderValue {
        let mut b = [0u8; 55];
        b[0] = b'0';
        b[1] = b'0';
        b[2] = b'-';
        b[3..35].copy_from_slice(&crate::hex::hex32(self.trace_id));
        b[35] = b'-';
        b[36..52].copy_from_slice(&crate::hex::hex16(self.span_id));
        b[52] = b'-';
        b[53] = HEX[usize::from(self.flags >> 4)];
        b[54] = HEX[usize::from(self.flags & 15)];
        // Hex digits and dashes are always a valid header value.
        HeaderValue::from_bytes(&b).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// Value of a lowercase hex digit, 0xff for anything else.
const UNHEX: [u8; 256] = {
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

fn hex(s: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    let mut bad = 0u8;
    for &c in s {
        let d = UNHEX[usize::from(c)];
        bad |= d;
        v = v << 4 | u64::from(d & 15);
    }
    (bad & 0xf0 == 0).then_some(v)
}

/// Parses a 32-hex-digit trace-id (lowercase, not all zero).
pub fn parse_trace_id(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let v = u128::from(parse16(&b[..16])?) << 64 | u128::from(parse16(&b[16..])?);
    (v != 0).then_some(v)
}

/// A trace-id in its 32-hex-digit form, without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TraceIdHex([u8; 32]);

impl TraceIdHex {
    /// The hex digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Debug for TraceIdHex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A correlation ID: 1..=`id_max_len` characters of `[A-Za-z0-9._:-]` (the
/// log plane's ID shape), stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CorrelationId {
    len: u8,
    buf: [u8; CORRELATION_ID_CAPACITY],
}

impl CorrelationId {
    /// Accepts an ID of the right shape, up to [`CORRELATION_ID_CAPACITY`] long.
    pub fn parse(s: &[u8]) -> Option<Self> {
        Self::parse_max(s, CORRELATION_ID_CAPACITY)
    }

    /// Whether `s` is an ID of the right shape, at most `max_len` long.
    pub fn is_valid(s: &[u8], max_len: usize) -> bool {
        !s.is_empty()
            && s.len() <= max_len.min(CORRELATION_ID_CAPACITY)
            && s.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
    }

    /// Accepts an ID of the right shape, up to `max_len` long (the schema's `id_max_len`).
    pub fn parse_max(s: &[u8], max_len: usize) -> Option<Self> {
        if !Self::is_valid(s, max_len) {
            return None;
        }
        let mut buf = [0u8; CORRELATION_ID_CAPACITY];
        buf[..s.len()].copy_from_slice(s);
        Some(Self { len: s.len() as u8, buf })
    }

    /// The ID a request without one gets: its trace-id in hex.
    pub fn from_trace(trace: &TraceContext) -> Self {
        let mut buf = [0u8; CORRELATION_ID_CAPACITY];
        buf[..32].copy_from_slice(&crate::hex::hex32(trace.trace_id));
        Self { len: 32, buf }
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }

    /// The `x-correlation-id` header value.
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.buf[..usize::from(self.len)]).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

impl std::fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CorrelationId({:?})", self.as_str())
    }
}

impl std::fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller's `x-correlation-id` header, if of the right shape and at most
/// `max_len` long (a clone of the value shares its bytes: no copy).
pub(crate) fn given_correlation_id(headers: &HeaderMap, max_len: usize) -> Option<HeaderValue> {
    headers.get(&CORRELATION_ID).filter(|v| CorrelationId::is_valid(v.as_bytes(), max_len)).cloned()
}

/// The request's trace context and correlation ID, inserted into the request
/// extensions by the observability layer when asked
/// ([`request_ids`](crate::http::layer::ObservabilityBuilder::request_ids);
/// `Extension<RequestIds>` in handlers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestIds {
    /// This hop of the W3C trace.
    pub trace: TraceContext,
    /// The correlation ID (the caller's, or the trace-id when absent or malformed).
    pub correlation_id: CorrelationId,
}

impl RequestIds {
    /// Reads (or makes up) both from the request headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self::read(headers, CORRELATION_ID_CAPACITY).0
    }

    /// The IDs and, when the caller sent a valid correlation ID (at most
    /// `max_len` long), its header value (echoed on the response without a copy).
    pub(crate) fn read(headers: &HeaderMap, max_len: usize) -> (Self, Option<HeaderValue>) {
        let trace = TraceContext::from_headers(headers);
        let given = given_correlation_id(headers, max_len);
        (Self::of(trace, given.as_ref(), max_len), given)
    }

    /// The IDs of a request whose context is `trace` and whose valid
    /// correlation ID header, if any, is `given`.
    pub(crate) fn of(trace: TraceContext, given: Option<&HeaderValue>, max_len: usize) -> Self {
        let correlation_id = given
            .and_then(|v| CorrelationId::parse_max(v.as_bytes(), max_len))
            .unwrap_or_else(|| CorrelationId::from_trace(&trace));
        Self { trace, correlation_id }
    }

    /// Sets `traceparent` and `x-correlation-id` on outgoing headers (a
    /// response, or a call to another service with [`TraceContext::child`]).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert(TRACEPARENT.clone(), self.trace.traceparent());
        headers.insert(CORRELATION_ID.clone(), self.correlation_id.header_value());
    }
}
