//! One line before formatting: a fixed slot per schema field holding an already
//! validated value, plus the JSON formatter. Shared by the tracing layer and the
//! typed [`crate::log::LogLine`] path.

use crate::log::fold;
use crate::log::schema::{FieldSlot, LogFieldType, LogSchema, MAX_FIELDS};
use crate::log::validate;

/// The marker written in place of a value that failed its shape check.
pub const REDACTED: &str = "[redacted]";

/// Why something was dropped or replaced (the `reason` label of
/// `obspec_log_redacted_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A key that folds to a forbidden name.
    Forbidden = 0,
    /// A key not in the schema.
    Unknown = 1,
    /// The free-text `message` of a tracing event.
    Message = 2,
    /// A value that failed its field's shape, replaced by [`REDACTED`].
    Invalid = 3,
    /// A caller-set value for a plane-owned field (`ts`, `component`).
    Reserved = 4,
}

impl Reason {
    /// All reasons, in discriminant order.
    pub const ALL: [Reason; 5] =
        [Reason::Forbidden, Reason::Unknown, Reason::Message, Reason::Invalid, Reason::Reserved];

    /// The metric label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Forbidden => "forbidden",
            Reason::Unknown => "unknown",
            Reason::Message => "message",
            Reason::Invalid => "invalid",
            Reason::Reserved => "reserved",
        }
    }
}

/// A validated value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Val {
    Absent,
    Redacted,
    U64(u64),
    Bool(bool),
    /// Index into the schema list of the field's type (routes, methods, tokens).
    Index(u16),
    /// Bytes in the record's scratch buffer (IDs and names).
    Scratch(u32, u32),
    /// The record's trace-id.
    Trace,
}

impl Val {
    /// A number noted for a field of type `ty`: a count, or an HTTP status in range.
    #[inline]
    pub(crate) fn of_u64(ty: LogFieldType, n: u64) -> Val {
        match ty {
            LogFieldType::Count => Val::U64(n),
            LogFieldType::HttpStatus if validate::is_http_status(n) => Val::U64(n),
            _ => Val::Redacted,
        }
    }

    /// A boolean noted for a field of type `ty`.
    #[inline]
    pub(crate) fn of_bool(ty: LogFieldType, b: bool) -> Val {
        match ty {
            LogFieldType::Bool | LogFieldType::Outcome => Val::Bool(b),
            _ => Val::Redacted,
        }
    }
}

/// The schema with role slots resolved once at plane build.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub schema: &'static LogSchema,
    pub component: &'static str,
    pub types: [LogFieldType; MAX_FIELDS],
    pub outcome: Option<u8>,
    pub err_token: Option<u8>,
    pub trace: Option<u8>,
    pub route: Option<u8>,
    pub method: Option<u8>,
    /// Bit `i` set: field `i` is plane-owned (ts, component), on every line.
    pub plane_mask: u32,
    /// Field index by [`bucket`] of its name: [`NONE`], [`AMBIGUOUS`] or the index.
    buckets: [u8; 256],
    /// `,"name":` of each field padded to a fixed size (len 0: too long).
    key_pad: Box<[Padded<KEY_PAD>]>,
    /// `"value"` of each route, method and ErrorToken, padded likewise.
    index_pad: [Box<[Padded<VALUE_PAD>]>; 3],
    /// `"component"`, padded likewise.
    component_pad: Padded<VALUE_PAD>,
}

/// Room for a padded key (`,"` + name + `":`).
const KEY_PAD: usize = 32;
/// Room for a padded quoted route, method or token.
const VALUE_PAD: usize = 48;

/// Bytes kept in a fixed-size chunk: appending one is a fixed-size copy the
/// compiler writes as a few vector moves (then the length is cut back),
/// where a slice of unknown length is a call to `memcpy`.
#[derive(Debug, Clone, Copy)]
struct Padded<const N: usize> {
    bytes: [u8; N],
    /// 0 when the text did not fit (it is then written from its slice).
    len: u8,
}

impl<const N: usize> Padded<N> {
    fn new(parts: &[&[u8]]) -> Self {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut bytes = [0u8; N];
        if total > N {
            return Self { bytes, len: 0 };
        }
        let mut at = 0;
        for p in parts {
            bytes[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        }
        Self { bytes, len: total as u8 }
    }

    /// Appends the text to `out`; false (nothing written) if it did not fit.
    #[inline]
    fn put(&self, out: &mut Vec<u8>) -> bool {
        if self.len == 0 {
            return false;
        }
        let at = out.len();
        out.extend_from_slice(&self.bytes);
        out.truncate(at + usize::from(self.len));
        true
    }
}

const NONE: u8 = 0xff;
const AMBIGUOUS: u8 = 0xfe;

/// A cheap hash of a key (length, first and last bytes) for the field lookup.
#[inline]
fn bucket(name: &str) -> usize {
    let b = name.as_bytes();
    let first = b.first().copied().unwrap_or(0) as usize;
    let last = b.last().copied().unwrap_or(0) as usize;
    (b.len().wrapping_mul(31) ^ first.wrapping_mul(7) ^ last.wrapping_mul(131)) & 0xff
}

/// How a key is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Slot(u8),
    Drop(Reason),
}

impl Compiled {
    pub fn new(schema: &'static LogSchema, component: &'static str) -> Self {
        let mut types = [LogFieldType::Count; MAX_FIELDS];
        for (t, f) in types.iter_mut().zip(schema.fields) {
            *t = f.ty;
        }
        let role = |ty| schema.role_slot(ty).map(|s: FieldSlot| s.0);
        let mut buckets = [NONE; 256];
        let mut plane_mask = 0u32;
        for (i, f) in schema.fields.iter().enumerate().take(MAX_FIELDS) {
            let b = &mut buckets[bucket(f.name)];
            *b = if *b == NONE { i as u8 } else { AMBIGUOUS };
            if matches!(f.ty, LogFieldType::Timestamp | LogFieldType::Component) {
                plane_mask |= 1 << i;
            }
        }
        let key_pad =
            schema.fields.iter().take(MAX_FIELDS).map(|f| Padded::new(&[b",\"", f.name.as_bytes(), b"\":"])).collect();
        let quoted_all = |list: &[&str]| list.iter().map(|v| Padded::new(&[b"\"", v.as_bytes(), b"\""])).collect();
        Self {
            buckets,
            key_pad,
            index_pad: [quoted_all(schema.routes), quoted_all(schema.methods), quoted_all(schema.error_tokens)],
            component_pad: Padded::new(&[b"\"", component.as_bytes(), b"\""]),
            plane_mask,
            schema,
            component,
            types,
            outcome: role(LogFieldType::Outcome),
            err_token: role(LogFieldType::ErrorToken),
            trace: role(LogFieldType::TraceId),
            route: role(LogFieldType::Route),
            method: role(LogFieldType::Method),
        }
    }

    /// Classifies a key: allowed keys match exactly (ASCII); anything else is
    /// dropped, as forbidden if it folds to a forbidden name.
    #[inline]
    pub fn classify(&self, name: &str) -> Class {
        match self.buckets[bucket(name)] {
            NONE => {}
            AMBIGUOUS => {
                for (i, f) in self.schema.fields.iter().enumerate() {
                    if f.name == name {
                        return self.slot_class(i);
                    }
                }
            }
            i => {
                if self.schema.fields[i as usize].name == name {
                    return self.slot_class(i as usize);
                }
            }
        }
        self.classify_dropped(name)
    }

    fn slot_class(&self, i: usize) -> Class {
        match self.types[i] {
            LogFieldType::Timestamp | LogFieldType::Component => Class::Drop(Reason::Reserved),
            _ => Class::Slot(i as u8),
        }
    }

    #[cold]
    fn classify_dropped(&self, name: &str) -> Class {
        if name == "message" {
            Class::Drop(Reason::Message)
        } else if fold::is_forbidden_name(name, self.schema.forbidden) {
            Class::Drop(Reason::Forbidden)
        } else {
            Class::Drop(Reason::Unknown)
        }
    }
}

/// A line being assembled.
#[derive(Debug)]
pub(crate) struct Record {
    pub vals: [Val; MAX_FIELDS],
    pub trace: u128,
    pub scratch: Vec<u8>,
    pub drops: [u32; 5],
    /// Set when at least one slot came from the event itself (not a span).
    pub any: bool,
}

impl Record {
    pub fn new(scratch: Vec<u8>) -> Self {
        let mut scratch = scratch;
        scratch.clear();
        Self { vals: [Val::Absent; MAX_FIELDS], trace: 0, scratch, drops: [0; 5], any: false }
    }

    #[inline]
    pub fn count(&mut self, r: Reason) {
        self.drops[r as usize] += 1;
    }

    #[inline]
    fn put(&mut self, slot: u8, v: Val) {
        if v == Val::Redacted {
            self.count(Reason::Invalid);
        }
        if let Some(x) = self.vals.get_mut(slot as usize) {
            *x = v;
            self.any = true;
        }
    }

    fn scratch(&mut self, s: &str) -> Val {
        let start = self.scratch.len() as u32;
        self.scratch.extend_from_slice(s.as_bytes());
        Val::Scratch(start, s.len() as u32)
    }

    /// Sets a slot from a string, checked against the field's type.
    pub fn set_str(&mut self, c: &Compiled, slot: u8, s: &str) {
        let schema = c.schema;
        let v = match c.types[slot as usize] {
            LogFieldType::Timestamp | LogFieldType::Component => {
                self.count(Reason::Reserved);
                return;
            }
            LogFieldType::Id if validate::is_id(s, schema.id_max_len) => self.scratch(s),
            LogFieldType::Name if validate::is_name(s) => self.scratch(s),
            LogFieldType::TraceId => match validate::parse_trace_id(s) {
                Some(t) => {
                    self.trace = t;
                    Val::Trace
                }
                None => Val::Redacted,
            },
            LogFieldType::Route => validate::index_of(schema.routes, s).map_or(Val::Redacted, Val::Index),
            LogFieldType::Method => validate::index_of(schema.methods, s).map_or(Val::Redacted, Val::Index),
            LogFieldType::ErrorToken => validate::index_of(schema.error_tokens, s).map_or(Val::Redacted, Val::Index),
            LogFieldType::Bool | LogFieldType::Outcome => match s {
                "true" => Val::Bool(true),
                "false" => Val::Bool(false),
                _ => Val::Redacted,
            },
            LogFieldType::Count | LogFieldType::HttpStatus => match validate::parse_count(s) {
                Some(n) => return self.set_u64(c, slot, n),
                None => Val::Redacted,
            },
            LogFieldType::Id | LogFieldType::Name => Val::Redacted,
        };
        self.put(slot, v);
    }

    /// Sets the TraceId slot from its parse (`None`: not a trace-id), as
    /// [`Record::set_str`] would from its text.
    pub fn set_trace(&mut self, slot: u8, t: Option<u128>) {
        let v = match t {
            Some(t) => {
                self.trace = t;
                Val::Trace
            }
            None => Val::Redacted,
        };
        self.put(slot, v);
    }

    /// Sets a slot from an unsigned integer.
    pub fn set_u64(&mut self, c: &Compiled, slot: u8, n: u64) {
        let v = match c.types[slot as usize] {
            LogFieldType::Timestamp | LogFieldType::Component => {
                self.count(Reason::Reserved);
                return;
            }
            ty => Val::of_u64(ty, n),
        };
        self.put(slot, v);
    }

    /// Sets a slot from a signed integer (negative values are redacted).
    pub fn set_i64(&mut self, c: &Compiled, slot: u8, n: i64) {
        match u64::try_from(n) {
            Ok(n) => self.set_u64(c, slot, n),
            Err(_) => self.put(slot, Val::Redacted),
        }
    }

    /// Sets a slot from a float: only integral, non-negative values pass.
    pub fn set_f64(&mut self, c: &Compiled, slot: u8, f: f64) {
        if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 {
            self.set_u64(c, slot, f as u64);
        } else {
            self.put(slot, Val::Redacted);
        }
    }

    /// Sets a slot from a boolean.
    pub fn set_bool(&mut self, c: &Compiled, slot: u8, b: bool) {
        let v = match c.types[slot as usize] {
            LogFieldType::Timestamp | LogFieldType::Component => {
                self.count(Reason::Reserved);
                return;
            }
            ty => Val::of_bool(ty, b),
        };
        self.put(slot, v);
    }

    /// Copies every slot of `other` that is absent here (span fields under
    /// event fields).
    pub fn merge_absent(&mut self, other: &Record) {
        for (mine, theirs) in self.vals.iter_mut().zip(other.vals.iter()) {
            if *mine != Val::Absent || *theirs == Val::Absent {
                continue;
            }
            *mine = match *theirs {
                Val::Scratch(s, l) => {
                    let start = self.scratch.len() as u32;
                    let src = other.scratch.get(s as usize..(s + l) as usize).unwrap_or_default();
                    self.scratch.extend_from_slice(src);
                    Val::Scratch(start, src.len() as u32)
                }
                Val::Trace => {
                    self.trace = other.trace;
                    Val::Trace
                }
                v => v,
            };
        }
    }

    /// True when the line is an error: outcome false or an error token present.
    #[inline]
    pub fn is_error(&self, c: &Compiled) -> bool {
        matches!(c.outcome, Some(s) if self.vals[s as usize] == Val::Bool(false))
            || matches!(c.err_token, Some(s) if self.vals[s as usize] != Val::Absent)
    }

    /// The trace-id, if a valid one is set.
    #[inline]
    pub fn trace_id(&self, c: &Compiled) -> Option<u128> {
        match c.trace {
            Some(s) if self.vals[s as usize] == Val::Trace => Some(self.trace),
            _ => None,
        }
    }

    /// The bytes of a scratch value.
    pub fn bytes(&self, v: Val) -> &[u8] {
        match v {
            Val::Scratch(s, l) => self.scratch.get(s as usize..(s + l) as usize).unwrap_or_default(),
            _ => &[],
        }
    }
}

/// A line being formatted as one JSON object, one field at a time in schema
/// order (from a [`Record`], or by typed lines straight from their values).
/// Every value was validated to need no escaping, so bytes are copied as they are.
pub(crate) struct LineOut<'a> {
    c: &'a Compiled,
    ts: &'a [u8; 24],
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> LineOut<'a> {
    /// Opens the JSON object; `ts` is the line's timestamp text.
    #[inline]
    pub fn new(c: &'a Compiled, ts: &'a [u8; 24], out: &'a mut Vec<u8>) -> Self {
        // The `{` is written with the first key (see `field`) or by `finish`.
        Self { c, ts, out, first: true }
    }

    /// Appends field `i` with the validated value `v` (a plane-owned field
    /// writes its own value); `trace` is the line's trace-id, `bytes` the
    /// bytes of a scratch value.
    #[inline]
    pub fn field(&mut self, i: usize, v: Val, trace: u128, bytes: &[u8]) {
        let Some(f) = self.c.schema.fields.get(i) else { return };
        let out = &mut *self.out;
        let at = out.len();
        if self.c.key_pad.get(i).is_some_and(|k| k.put(out)) {
            // The first key's comma becomes the object's `{`.
            if self.first
                && let Some(b) = out.get_mut(at)
            {
                *b = b'{';
            }
        } else {
            // A name too long for its chunk.
            out.push(if self.first { b'{' } else { b',' });
            quoted(out, f.name.as_bytes());
            out.push(b':');
        }
        self.first = false;
        match (f.ty, v) {
            (LogFieldType::Timestamp, _) => {
                out.push(b'"');
                out.extend_from_slice(self.ts);
                out.push(b'"');
            }
            (LogFieldType::Component, _) => {
                if !self.c.component_pad.put(out) {
                    quoted(out, self.c.component.as_bytes());
                }
            }
            (_, Val::Redacted) => quoted(out, REDACTED.as_bytes()),
            (_, Val::U64(n)) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            (_, Val::Bool(true)) => out.extend_from_slice(b"true"),
            (_, Val::Bool(false)) => out.extend_from_slice(b"false"),
            (ty, Val::Index(k)) => {
                let schema = self.c.schema;
                let (list, pad) = match ty {
                    LogFieldType::Route => (schema.routes, &self.c.index_pad[0]),
                    LogFieldType::Method => (schema.methods, &self.c.index_pad[1]),
                    _ => (schema.error_tokens, &self.c.index_pad[2]),
                };
                if !pad.get(k as usize).is_some_and(|p| p.put(out)) {
                    let s = list.get(k as usize).copied().unwrap_or(REDACTED);
                    quoted(out, s.as_bytes());
                }
            }
            (_, Val::Scratch(..)) => quoted(out, bytes),
            (_, Val::Trace) => {
                out.push(b'"');
                out.extend_from_slice(&crate::hex::hex32(trace));
                out.push(b'"');
            }
            (_, Val::Absent) => quoted(out, REDACTED.as_bytes()),
        }
    }

    /// Closes the object and ends the line.
    #[inline]
    pub fn finish(self) {
        if self.first {
            self.out.push(b'{');
        }
        self.out.extend_from_slice(b"}\n");
    }
}

fn quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    out.extend_from_slice(s);
    out.push(b'"');
}
