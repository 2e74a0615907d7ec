//! [`ServerBlindLayer`]: a `tracing-subscriber` layer that turns ordinary
//! `tracing::info!(route = "/v1/rooms/:id", latency_ms = 12, ok = true)` events
//! into server-blind NDJSON lines.
//!
//! Keys are matched exactly against the schema; unknown keys are dropped,
//! forbidden keys (after folding) and the free-text `message` are dropped and
//! counted; each value must fit its field's shape or is written as
//! `"[redacted]"`. Fields recorded on enclosing spans (for example a request
//! span carrying `trace_id`) fill the slots the event left empty.

use std::cell::Cell;
use std::fmt;

use tracing::field::{Field, Visit};
use tracing::span;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::log::plane::{Inner, LogPlane};
use crate::log::record::{Class, Compiled, Record, Val};

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
}

/// One entry of the per-thread key cache: (plane, key pointer, key length) → class.
type CacheEntry = (usize, usize, usize, Class);

const CACHE: usize = 128;
const EMPTY: CacheEntry = (0, 0, 0, Class::Drop(crate::log::Reason::Unknown));

thread_local! {
    /// Tracing keys are `&'static str` owned by their callsite, so a key's
    /// address identifies it: a hit skips every string comparison.
    static KEYS: [Cell<CacheEntry>; CACHE] = const { [const { Cell::new(EMPTY) }; CACHE] };
}

impl Visitor<'_> {
    #[inline]
    fn classify(&self, name: &'static str) -> Class {
        let plane = self.c as *const Compiled as usize;
        let ptr = name.as_ptr() as usize;
        let i = ((ptr >> 3) ^ (ptr >> 11) ^ (plane >> 4)) % CACHE;
        KEYS.with(|keys| {
            let e = keys[i].get();
            if e.0 == plane && e.1 == ptr && e.2 == name.len() {
                return e.3;
            }
            let class = self.c.classify(name);
            keys[i].set((plane, ptr, name.len(), class));
            class
        })
    }

    #[inline]
    fn slot(&mut self, f: &Field) -> Option<u8> {
        match self.classify(f.name()) {
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
            self.rec.set_str(self.c, s, v);
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
        attrs.record(&mut Visitor { c: &inner.c, rec: &mut rec });
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
            values.record(&mut Visitor { c: &inner.c, rec: &mut sf.0 });
            inner.record_span(&mut sf.0);
        } else {
            let mut rec = Record::new(Vec::new());
            values.record(&mut Visitor { c: &inner.c, rec: &mut rec });
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
        let mut rec = Record::new(SCRATCH.with(Cell::take));
        event.record(&mut Visitor { c: &inner.c, rec: &mut rec });
        if rec.any {
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
