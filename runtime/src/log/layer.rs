//! [`ServerBlindLayer`]: a `tracing-subscriber` layer that turns ordinary
//! `tracing::info!(route = "/v1/rooms/:id", latency_ms = 12, ok = true)` events
//! into server-blind NDJSON lines.
//!
//! Keys are matched exactly against the schema; unknown keys are dropped,
//! forbidden keys (after folding) and the free-text `message` are dropped and
//! counted; each value must fit its field's shape or is written as
//! `"[redacted]"`. Fields recorded on enclosing spans (for example a request
//! span carrying `trace_id`) fill the slots the event left empty.
//!
//! The sampling decision comes first: a [`Peek`] visit classifies the keys
//! (through the per-thread key cache), reads the outcome, error-token and
//! trace-id values and notes every other schema value as given, the enclosing
//! spans fill in what the event lacks, and a line the sampler drops is never
//! validated, formatted or given a clock read. A kept line no span adds to is
//! validated and formatted from those notes; otherwise (a span's fields, a
//! `Debug` value, too many values) a second, full visit builds a [`Record`].

use std::cell::Cell;
use std::fmt;

use tracing::field::{Field, Visit};
use tracing::span;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::log::plane::{Emitted, Inner, LogPlane};
use crate::log::record::{Class, Compiled, Reason, Record, Val};
use crate::log::schema::LogFieldType;
use crate::log::validate;

/// The server-blind tracing layer of a [`LogPlane`].
#[derive(Debug, Clone)]
pub struct ServerBlindLayer {
    plane: LogPlane,
}

impl ServerBlindLayer {
    /// A layer writing through `plane`.
    pub fn new(plane: &LogPlane) -> Self {
        Self { plane: plane.clone() }
    }
}

impl LogPlane {
    /// The tracing layer writing through this plane.
    pub fn layer(&self) -> ServerBlindLayer {
        ServerBlindLayer::new(self)
    }
}

/// Validated fields recorded on a span, stored in its extensions.
struct SpanFields(Record);

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

struct Visitor<'a> {
    c: &'a Compiled,
    rec: &'a mut Record,
    /// What the [`Peek`] of the same event found (keys' classes, the
    /// trace-id), so the full visit neither looks keys up nor parses again.
    peeked: Option<&'a Peek<'a>>,
}

/// The sampling decision's inputs, read from an event before any value is
/// validated (see [`Peek`]).
struct Peek<'a> {
    c: &'a Compiled,
    /// The outcome field's value, if the event set it.
    ok: Option<bool>,
    /// The error-token field is set (to any value: validated later, it is
    /// still present, so the line is an error).
    err: bool,
    /// The trace-id field: `Some(None)` set but not a trace-id.
    trace: Option<Option<u128>>,
    /// A decision field came in a shape only the full visit reads (`?value`,
    /// a number): decide after it.
    unsure: bool,
    /// Some key is a schema field.
    any: bool,
    /// Keys dropped, by reason (counted if the line is sampled out).
    drops: [u32; 5],
    /// Each key's class, by its index in the callsite's fields (from the
    /// callsite cache; a key it lacks is classified as it is visited).
    classes: [Packed; FIELDS],
    /// The trace-id field, when the event gave it as a string: its parse.
    trace_str: Option<Option<u128>>,
    /// Every schema value of the event, noted as given (not validated), so a
    /// kept line can be formatted without a second visit ([`Peek::write_direct`]).
    notes: [Note; NOTES],
    /// The slot of each note.
    note_slots: [u8; NOTES],
    n: usize,
    /// The bytes of noted strings, back to back.
    buf: [u8; NOTE_BYTES],
    len: usize,
    /// Every schema value was noted: the line can be formatted from the notes.
    direct: bool,
}

/// Schema values an event may have to be formatted from its notes.
const NOTES: usize = 8;
/// Bytes of noted strings an event may have to be formatted from its notes.
const NOTE_BYTES: usize = 128;

/// A schema value as the event gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// A string, at `start..start + len` of the notes' buffer.
    Str(u16, u16),
    U64(u64),
    /// A value redacted whatever its field (a negative or too large number).
    Bad,
    Bool(bool),
    /// The trace-id field from a string: whether it parsed (the value is `trace_str`).
    Trace(bool),
}

/// A [`Raw`] as stored: its kind and one number, written field by field (a
/// whole enum is built on the stack and reloaded, a stall per value).
#[derive(Clone, Copy)]
struct Note {
    kind: u8,
    n: u64,
}

impl Note {
    const STR: u8 = 0;
    const U64: u8 = 1;
    const BAD: u8 = 2;
    const BOOL: u8 = 3;
    const TRACE: u8 = 4;
    const EMPTY: Note = Note { kind: Self::BAD, n: 0 };

    #[inline]
    fn pack(raw: Raw) -> Self {
        match raw {
            Raw::Str(start, len) => Note { kind: Self::STR, n: u64::from(start) << 16 | u64::from(len) },
            Raw::U64(n) => Note { kind: Self::U64, n },
            Raw::Bad => Note::EMPTY,
            Raw::Bool(b) => Note { kind: Self::BOOL, n: u64::from(b) },
            Raw::Trace(ok) => Note { kind: Self::TRACE, n: u64::from(ok) },
        }
    }

    #[inline]
    fn raw(self) -> Raw {
        match self.kind {
            Self::STR => Raw::Str((self.n >> 16) as u16, self.n as u16),
            Self::U64 => Raw::U64(self.n),
            Self::BOOL => Raw::Bool(self.n != 0),
            Self::TRACE => Raw::Trace(self.n != 0),
            _ => Raw::Bad,
        }
    }
}

/// Most fields a tracing callsite has.
const FIELDS: usize = 32;

/// One entry of the per-thread key cache: (plane, key pointer, key length) → class.
type CacheEntry = (usize, usize, usize, Class);

const CACHE: usize = 128;
const EMPTY: CacheEntry = (0, 0, 0, Class::Drop(crate::log::Reason::Unknown));

thread_local! {
    /// Tracing keys are `&'static str` owned by their callsite, so a key's
    /// address identifies it: a hit skips every string comparison.
    static KEYS: [Cell<CacheEntry>; CACHE] = const { [const { Cell::new(EMPTY) }; CACHE] };
}

const SITES: usize = 32;

thread_local! {
    /// A callsite's metadata is `'static`, so its address identifies it (and
    /// its keys): a hit classifies every key of an event at once. Keys
    /// `(plane, callsite)` and classes are apart, so a hit compares two words
    /// and copies the 32 classes alone.
    static SITE_KEYS: [Cell<(usize, usize)>; SITES] = const { [const { Cell::new((0, 0)) }; SITES] };
    /// The class of each key of the callsite in [`SITE_KEYS`], by index.
    static SITE_CLASSES: [Cell<[Packed; FIELDS]>; SITES] = const { [const { Cell::new([Packed::UNSET; FIELDS]) }; SITES] };
}

/// A key's [`Class`] in one byte, or not classified yet: a callsite's 32 are
/// copied in two vector moves (an array of `Option<Class>` was copied with
/// `memmove`, and reading a class back stalled on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed(u8);

impl Packed {
    /// Not classified yet.
    const UNSET: Packed = Packed(0xff);
    const DROP: u8 = 0x80;

    #[inline]
    fn of(c: Class) -> Self {
        match c {
            Class::Slot(s) => Packed(s & !Self::DROP),
            Class::Drop(r) => Packed(Self::DROP | r as u8),
        }
    }

    #[inline]
    fn get(self) -> Option<Class> {
        match self.0 {
            0xff => None,
            b if b & Self::DROP != 0 => Reason::ALL.get(usize::from(b & !Self::DROP)).map(|r| Class::Drop(*r)),
            b => Some(Class::Slot(b)),
        }
    }
}

/// The classes of a callsite's keys, through the per-thread callsite cache.
#[inline]
fn site_classes(c: &Compiled, meta: &'static Metadata<'static>) -> [Packed; FIELDS] {
    let plane = c as *const Compiled as usize;
    let site = meta as *const Metadata<'static> as usize;
    let i = ((site >> 4) ^ (site >> 12) ^ (plane >> 4)) % SITES;
    if SITE_KEYS.with(|keys| keys[i].get()) == (plane, site) {
        return SITE_CLASSES.with(|sites| sites[i].get());
    }
    let mut classes = [Packed::UNSET; FIELDS];
    for f in meta.fields() {
        if let Some(x) = classes.get_mut(f.index()) {
            *x = Packed::of(classify(c, f.name()));
        }
    }
    SITE_CLASSES.with(|sites| sites[i].set(classes));
    SITE_KEYS.with(|keys| keys[i].set((plane, site)));
    classes
}

/// The class of a tracing key, through the per-thread cache.
#[inline]
fn classify(c: &Compiled, name: &'static str) -> Class {
    let plane = c as *const Compiled as usize;
    let ptr = name.as_ptr() as usize;
    let i = ((ptr >> 3) ^ (ptr >> 11) ^ (plane >> 4)) % CACHE;
    KEYS.with(|keys| {
        let e = keys[i].get();
        if e.0 == plane && e.1 == ptr && e.2 == name.len() {
            return e.3;
        }
        let class = c.classify(name);
        keys[i].set((plane, ptr, name.len(), class));
        class
    })
}

impl<'a> Peek<'a> {
    #[inline]
    fn new(c: &'a Compiled, classes: [Packed; FIELDS]) -> Self {
        Self {
            c,
            ok: None,
            err: false,
            trace: None,
            unsure: false,
            any: false,
            drops: [0; 5],
            classes,
            trace_str: None,
            notes: [Note::EMPTY; NOTES],
            note_slots: [0; NOTES],
            n: 0,
            buf: [0; NOTE_BYTES],
            len: 0,
            direct: true,
        }
    }

    /// Notes the value `raw` of slot `s`.
    #[inline]
    fn note(&mut self, s: u8, raw: Raw) {
        match (self.notes.get_mut(self.n), self.note_slots.get_mut(self.n)) {
            (Some(r), Some(slot)) => {
                let note = Note::pack(raw);
                r.kind = note.kind;
                r.n = note.n;
                *slot = s;
                self.n += 1;
            }
            _ => self.direct = false,
        }
    }

    /// Notes the string `v` of slot `s` (copied into the notes' buffer).
    #[inline]
    fn note_str(&mut self, s: u8, v: &str) {
        let end = self.len + v.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(v.as_bytes());
                let raw = Raw::Str(self.len as u16, v.len() as u16);
                self.len = end;
                self.note(s, raw);
            }
            None => self.direct = false,
        }
    }

    /// The slot `f` is, if a schema field, as [`Peek::role`] classified it.
    #[inline]
    fn slot_of(&self, f: &Field) -> Option<u8> {
        match self.classes.get(f.index()).and_then(|p| p.get()) {
            Some(Class::Slot(s)) => Some(s),
            _ => None,
        }
    }

    /// Notes an unsigned value of `f` (a decision field waits for the full visit).
    #[inline]
    fn number(&mut self, f: &Field, raw: Raw) {
        if self.role(f).is_some() {
            self.unsure = true;
        }
        if let Some(s) = self.slot_of(f) {
            self.note(s, raw);
        }
    }

    /// Validates, formats and queues a kept line straight from its notes,
    /// without a [`Record`] (same checks, counts and output as the full
    /// visit and [`Inner::write`]); `None`, having done nothing, when a value
    /// would need the full visit.
    fn write_direct(&self, inner: &Inner) -> Option<Emitted> {
        let c = &inner.c;
        if !self.direct {
            return None;
        }
        let notes = self.notes.get(..self.n)?;
        let mut vals = [(0u8, Val::Absent); NOTES];
        let mut drops = self.drops;
        let mut trace = 0u128;
        for ((dst, raw), &s) in vals.iter_mut().zip(notes).zip(&self.note_slots) {
            let ty = *c.types.get(usize::from(s))?;
            let v = match raw.raw() {
                Raw::Str(start, len) => {
                    let bytes = self.buf.get(usize::from(start)..usize::from(start) + usize::from(len))?;
                    // The bytes of a `&str`: compared as bytes, read as text only to check an ID, name or number.
                    let text = || std::str::from_utf8(bytes).ok();
                    let schema = c.schema;
                    let index = |list: &[&str]| {
                        list.iter()
                            .position(|x| x.as_bytes() == bytes)
                            .and_then(|i| u16::try_from(i).ok())
                            .map_or(Val::Redacted, Val::Index)
                    };
                    let scratch = Val::Scratch(u32::from(start), u32::from(len));
                    match ty {
                        LogFieldType::Route => index(schema.routes),
                        LogFieldType::Method => index(schema.methods),
                        LogFieldType::ErrorToken => index(schema.error_tokens),
                        LogFieldType::Id if validate::is_id(text()?, schema.id_max_len) => scratch,
                        LogFieldType::Name if validate::is_name(text()?) => scratch,
                        LogFieldType::Id | LogFieldType::Name => Val::Redacted,
                        LogFieldType::Bool | LogFieldType::Outcome => match bytes {
                            b"true" => Val::Bool(true),
                            b"false" => Val::Bool(false),
                            _ => Val::Redacted,
                        },
                        LogFieldType::Count | LogFieldType::HttpStatus => match validate::parse_count(text()?) {
                            Some(n) => Val::of_u64(ty, n),
                            None => Val::Redacted,
                        },
                        // A second trace-id field, or a plane-owned one: the full visit.
                        LogFieldType::TraceId | LogFieldType::Timestamp | LogFieldType::Component => return None,
                    }
                }
                Raw::U64(n) => match ty {
                    LogFieldType::Timestamp | LogFieldType::Component => return None,
                    _ => Val::of_u64(ty, n),
                },
                Raw::Bad => Val::Redacted,
                Raw::Bool(b) => match ty {
                    LogFieldType::Timestamp | LogFieldType::Component => return None,
                    _ => Val::of_bool(ty, b),
                },
                Raw::Trace(true) => {
                    trace = self.trace_str.flatten()?;
                    Val::Trace
                }
                Raw::Trace(false) => Val::Redacted,
            };
            if v == Val::Redacted {
                drops[Reason::Invalid as usize] += 1;
            }
            *dst = (s, v);
        }
        let vals = &mut vals[..notes.len()];
        let buf = &self.buf;
        Some(inner.write_noted(vals, &drops, trace, |v| match v {
            Val::Scratch(start, len) => buf.get(start as usize..(start + len) as usize).unwrap_or_default(),
            _ => &[],
        }))
    }

    /// The decision field `f` is, if any (`None` also for dropped keys).
    #[inline]
    fn role(&mut self, f: &Field) -> Option<Decides> {
        let class = match self.classes.get_mut(f.index()) {
            Some(p) => match p.get() {
                Some(c) => c,
                None => {
                    let c = classify(self.c, f.name());
                    *p = Packed::of(c);
                    c
                }
            },
            None => {
                self.direct = false;
                classify(self.c, f.name())
            }
        };
        match class {
            Class::Slot(s) => {
                self.any = true;
                let s = Some(s);
                if s == self.c.outcome {
                    Some(Decides::Outcome)
                } else if s == self.c.err_token {
                    self.err = true;
                    None
                } else if s == self.c.trace {
                    Some(Decides::Trace)
                } else {
                    None
                }
            }
            Class::Drop(r) => {
                self.drops[r as usize] += 1;
                None
            }
        }
    }

    /// Fills what the event left unset from a span's validated fields.
    fn fill(&mut self, span: &Record) {
        let c = self.c;
        // As `Record::merge_absent`: the innermost span with the slot set wins.
        if self.ok.is_none()
            && let Some(v) = c.outcome.map(|s| span.vals[s as usize])
            && v != Val::Absent
        {
            self.ok = Some(v != Val::Bool(false));
        }
        if !self.err && c.err_token.is_some_and(|s| span.vals[s as usize] != Val::Absent) {
            self.err = true;
        }
        if self.trace.is_none() && c.trace.is_some_and(|s| span.vals[s as usize] != Val::Absent) {
            self.trace = Some(span.trace_id(c));
        }
    }

    /// Whether a span could still change the decision.
    fn open(&self) -> bool {
        (self.c.outcome.is_some() && self.ok.is_none())
            || (self.c.err_token.is_some() && !self.err)
            || (self.c.trace.is_some() && self.trace.is_none())
    }
}

/// A field the sampling decision reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decides {
    Outcome,
    Trace,
}

impl Visit for Peek<'_> {
    fn record_str(&mut self, f: &Field, v: &str) {
        match self.role(f) {
            Some(Decides::Outcome) => match v {
                "true" => self.ok = Some(true),
                "false" => self.ok = Some(false),
                _ => self.unsure = true,
            },
            Some(Decides::Trace) => {
                let t = crate::log::validate::parse_trace_id(v);
                self.trace = Some(t);
                self.trace_str = Some(t);
                if let Some(s) = self.slot_of(f) {
                    self.note(s, Raw::Trace(t.is_some()));
                }
                return;
            }
            None => {}
        }
        if let Some(s) = self.slot_of(f) {
            self.note_str(s, v);
        }
    }

    fn record_bool(&mut self, f: &Field, v: bool) {
        match self.role(f) {
            Some(Decides::Outcome) => self.ok = Some(v),
            Some(Decides::Trace) => self.unsure = true,
            None => {}
        }
        if let Some(s) = self.slot_of(f) {
            self.note(s, Raw::Bool(v));
        }
    }

    fn record_u64(&mut self, f: &Field, v: u64) {
        self.number(f, Raw::U64(v));
    }

    fn record_i64(&mut self, f: &Field, v: i64) {
        self.number(f, u64::try_from(v).map_or(Raw::Bad, Raw::U64));
    }

    fn record_u128(&mut self, f: &Field, v: u128) {
        self.number(f, u64::try_from(v).map_or(Raw::Bad, Raw::U64));
    }

    fn record_i128(&mut self, f: &Field, v: i128) {
        self.number(f, u64::try_from(v).map_or(Raw::Bad, Raw::U64));
    }

    fn record_f64(&mut self, f: &Field, v: f64) {
        // As `Record::set_f64`: only integral, non-negative values pass.
        let raw =
            if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 { Raw::U64(v as u64) } else { Raw::Bad };
        self.number(f, raw);
    }

    fn record_debug(&mut self, f: &Field, _: &dyn fmt::Debug) {
        // Never formatted here: a decision field in this shape waits for the full visit.
        if self.role(f).is_some() {
            self.unsure = true;
        }
        if self.slot_of(f).is_some() {
            self.direct = false;
        }
    }
}

impl<'a> Visitor<'a> {
    fn new(c: &'a Compiled, rec: &'a mut Record) -> Self {
        Self { c, rec, peeked: None }
    }

    #[inline]
    fn slot(&mut self, f: &Field) -> Option<u8> {
        let peeked = self.peeked.and_then(|p| p.classes.get(f.index()).and_then(|c| c.get()));
        match peeked.unwrap_or_else(|| classify(self.c, f.name())) {
            Class::Slot(s) => Some(s),
            Class::Drop(r) => {
                self.rec.count(r);
                None
            }
        }
    }
}

/// A fixed buffer for `Debug`/`Display` values; anything longer than an ID can
/// be is not a valid value anyway.
struct Small {
    buf: [u8; 128],
    len: usize,
    overflow: bool,
}

impl fmt::Write for Small {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
                Ok(())
            }
            None => {
                self.overflow = true;
                Err(fmt::Error)
            }
        }
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, f: &Field, v: &str) {
        if let Some(s) = self.slot(f) {
            match self.peeked.and_then(|p| p.trace_str) {
                Some(t) if Some(s) == self.c.trace => self.rec.set_trace(s, t),
                _ => self.rec.set_str(self.c, s, v),
            }
        }
    }

    fn record_u64(&mut self, f: &Field, v: u64) {
        if let Some(s) = self.slot(f) {
            self.rec.set_u64(self.c, s, v);
        }
    }

    fn record_i64(&mut self, f: &Field, v: i64) {
        if let Some(s) = self.slot(f) {
            self.rec.set_i64(self.c, s, v);
        }
    }

    fn record_u128(&mut self, f: &Field, v: u128) {
        if let Some(s) = self.slot(f) {
            match u64::try_from(v) {
                Ok(v) => self.rec.set_u64(self.c, s, v),
                Err(_) => self.rec.set_f64(self.c, s, f64::NAN),
            }
        }
    }

    fn record_i128(&mut self, f: &Field, v: i128) {
        if let Some(s) = self.slot(f) {
            match u64::try_from(v) {
                Ok(v) => self.rec.set_u64(self.c, s, v),
                Err(_) => self.rec.set_f64(self.c, s, f64::NAN),
            }
        }
    }

    fn record_f64(&mut self, f: &Field, v: f64) {
        if let Some(s) = self.slot(f) {
            self.rec.set_f64(self.c, s, v);
        }
    }

    fn record_bool(&mut self, f: &Field, v: bool) {
        if let Some(s) = self.slot(f) {
            self.rec.set_bool(self.c, s, v);
        }
    }

    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        // The key is classified first so the free-text `message` is never formatted.
        let Some(s) = self.slot(f) else { return };
        let mut small = Small { buf: [0; 128], len: 0, overflow: false };
        let ok = fmt::write(&mut small, format_args!("{v:?}")).is_ok() && !small.overflow;
        let text = if ok { std::str::from_utf8(&small.buf[..small.len]).ok() } else { None };
        match text {
            // `?value` of a string adds quotes; the inside must still pass the shape check.
            Some(t) => {
                let t = t.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(t);
                self.rec.set_str(self.c, s, t);
            }
            None => self.rec.set_f64(self.c, s, f64::NAN),
        }
    }
}

impl Inner {
    fn record_span(&self, rec: &mut Record) {
        if rec.drops != [0; 5] {
            self.count_drops(&rec.drops);
            rec.drops = [0; 5];
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for ServerBlindLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let inner = &self.plane.inner;
        let mut rec = Record::new(Vec::new());
        attrs.record(&mut Visitor::new(&inner.c, &mut rec));
        inner.record_span(&mut rec);
        if rec.vals.iter().any(|v| *v != Val::Absent)
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(SpanFields(rec));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let inner = &self.plane.inner;
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(sf) = ext.get_mut::<SpanFields>() {
            values.record(&mut Visitor::new(&inner.c, &mut sf.0));
            inner.record_span(&mut sf.0);
        } else {
            let mut rec = Record::new(Vec::new());
            values.record(&mut Visitor::new(&inner.c, &mut rec));
            inner.record_span(&mut rec);
            ext.insert(SpanFields(rec));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let inner = &self.plane.inner;
        // `log_level`: an event above the flag's level is not even visited.
        if !inner.level_enabled(event.metadata().level()) {
            return;
        }
        // The sampling decision first, from the keys and three values only.
        let mut peek = Peek::new(&inner.c, site_classes(&inner.c, event.metadata()));
        event.record(&mut peek);
        let mut kept = false;
        // Whether the event is inside a span (if the peek looked: else assume so).
        let mut in_span = true;
        if peek.any && !peek.unsure {
            let scope = if peek.open() { ctx.event_scope(event) } else { None };
            in_span = scope.is_some() || !peek.open();
            if let Some(scope) = scope {
                for span in scope {
                    if let Some(sf) = span.extensions().get::<SpanFields>() {
                        peek.fill(&sf.0);
                    }
                    if !peek.open() {
                        break;
                    }
                }
            }
            let is_error = peek.ok == Some(false) || peek.err;
            match inner.sample_early(is_error, peek.trace.flatten()) {
                Err(_) => {
                    if peek.drops != [0; 5] {
                        inner.count_drops(&peek.drops);
                    }
                    return;
                }
                Ok(k) => kept = k,
            }
            // A kept line no span adds to is formatted from the notes.
            if kept
                && !(in_span
                    && ctx.event_scope(event).is_some_and(|scope| {
                        scope.into_iter().any(|span| span.extensions().get::<SpanFields>().is_some())
                    }))
                && peek.write_direct(inner).is_some()
            {
                return;
            }
        }
        let mut rec = Record::new(SCRATCH.with(Cell::take));
        event.record(&mut Visitor { c: &inner.c, rec: &mut rec, peeked: Some(&peek) });
        if rec.any && kept {
            if in_span && let Some(scope) = ctx.event_scope(event) {
                for span in scope {
                    if let Some(sf) = span.extensions().get::<SpanFields>() {
                        rec.merge_absent(&sf.0);
                    }
                }
            }
            if rec.drops != [0; 5] {
                inner.count_drops(&rec.drops);
            }
            inner.write(&rec);
        } else if rec.any {
            if let Some(scope) = ctx.event_scope(event) {
                for span in scope {
                    if let Some(sf) = span.extensions().get::<SpanFields>() {
                        rec.merge_absent(&sf.0);
                    }
                }
            }
            inner.emit(&rec, Some(event.metadata().level()));
        } else {
            // An event with no schema field says nothing a server-blind log may keep.
            inner.record_span(&mut rec);
        }
        SCRATCH.with(|c| c.set(rec.scratch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_classes_round_trip_and_unset_is_none() {
        assert_eq!(Packed::UNSET.get(), None);
        let classes = (0..crate::log::schema::MAX_FIELDS as u8).map(Class::Slot).chain(Reason::ALL.map(Class::Drop));
        for c in classes {
            assert_eq!(Packed::of(c).get(), Some(c), "{c:?}");
        }
    }

    #[test]
    fn notes_round_trip() {
        for raw in [Raw::Str(3, 17), Raw::U64(u64::MAX), Raw::Bad, Raw::Bool(true), Raw::Trace(false)] {
            let back = Note::pack(raw).raw();
            assert_eq!(back, raw);
        }
    }
}
