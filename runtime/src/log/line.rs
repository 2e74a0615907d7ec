//! [`LogLine`]: the typed, allocation-free path that `#[derive(LogEvent)]` code
//! calls. Values are checked as they are set (same rules as the tracing layer),
//! the sampler decides on `emit` before anything is formatted, and the line is
//! formatted into a reused thread-local buffer.
//!
//! ```
//! # use obspec::log::*;
//! # use obspec::metrics::{SelfMetric, SelfMetrics};
//! # static M: SelfMetric = SelfMetric { name: "demo_self_total", labels: &["reason"] };
//! # static SELF: SelfMetrics = SelfMetrics { log_dropped: M, log_redacted: M, label_overflow: M };
//! # static S: LogSchema = LogSchema { fields: &[
//! #   LogField { name: "ts", ty: LogFieldType::Timestamp, role: Some(LogRole::Ts) },
//! #   LogField { name: "route", ty: LogFieldType::Route, role: Some(LogRole::Route) },
//! #   LogField { name: "ok", ty: LogFieldType::Outcome, role: Some(LogRole::Ok) },
//! #   LogField { name: "latency_ms", ty: LogFieldType::Count, role: Some(LogRole::Latency) }],
//! #   forbidden: &[], routes: &["/v1/rooms/:id"], error_tokens: &[], components: &[],
//! #   methods: &[], id_max_len: 64,
//! #   sampling: SamplingDefaults { success: 1.0, error: 1.0, spike: 1.0, max_override: 1.0, overrides: &[] },
//! #   self_metrics: &SELF };
//! let mem = MemorySink::new();
//! let plane = LogPlane::builder(&S, "core").memory(&mem).build()?;
//! const LATENCY: FieldSlot = FieldSlot::new(3);
//! plane.line().route("/v1/rooms/:id").ok(true).u64(LATENCY, 12).emit();
//! plane.flush(std::time::Duration::from_secs(5));
//! assert!(mem.lines()[0].ends_with(r#""route":"/v1/rooms/:id","ok":true,"latency_ms":12}"#));
//! # Ok::<(), BuildError>(())
//! ```

use std::cell::Cell;

use crate::log::plane::{Emitted, Inner, LogPlane, global};
use crate::log::record::{Reason, Record, Val};
use crate::log::schema::FieldSlot;

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A line being built; nothing is formatted unless the sampler keeps it.
#[derive(Debug)]
pub struct LogLine<'p> {
    inner: Option<&'p Inner>,
    rec: Record,
}

impl LogPlane {
    /// Starts a typed line on this plane.
    #[inline]
    pub fn line(&self) -> LogLine<'_> {
        LogLine::on(Some(&self.inner))
    }
}

/// Starts a typed line on the installed global plane (see
/// [`crate::log::install`]); a no-op line if none is installed.
#[inline]
pub fn line() -> LogLine<'static> {
    LogLine::on(global().map(|p| &*p.inner))
}

impl<'p> LogLine<'p> {
    #[inline]
    fn on(inner: Option<&'p Inner>) -> Self {
        Self { inner, rec: Record::new(SCRATCH.with(Cell::take)) }
    }

    #[inline]
    fn role(&mut self, slot: Option<u8>) -> Option<(&'p Inner, u8)> {
        let inner = self.inner?;
        match slot {
            Some(s) => Some((inner, s)),
            None => {
                self.rec.count(Reason::Unknown);
                None
            }
        }
    }

    /// Sets the Route field (must be one of the schema's templates).
    #[inline]
    pub fn route(&mut self, route: &'static str) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.route)) {
            self.rec.set_str(&i.c, s, route);
        }
        self
    }

    /// Sets the Method field.
    #[inline]
    pub fn method(&mut self, method: &'static str) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.method)) {
            self.rec.set_str(&i.c, s, method);
        }
        self
    }

    /// Sets the Outcome field (`false` makes the line an error, always kept).
    #[inline]
    pub fn ok(&mut self, ok: bool) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.outcome)) {
            self.rec.set_bool(&i.c, s, ok);
        }
        self
    }

    /// Sets the ErrorToken field (makes the line an error, always kept).
    #[inline]
    pub fn err_token(&mut self, token: &'static str) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.err_token)) {
            self.rec.set_str(&i.c, s, token);
        }
        self
    }

    /// Sets the TraceId field from its 32-hex-digit form.
    #[inline]
    pub fn trace_id(&mut self, trace_id: &str) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.trace)) {
            self.rec.set_str(&i.c, s, trace_id);
        }
        self
    }

    /// Sets the TraceId field from its 128-bit value (zero is redacted).
    #[inline]
    pub fn trace(&mut self, trace_id: u128) -> &mut Self {
        if let Some((_, s)) = self.role(self.inner.and_then(|i| i.c.trace)) {
            if trace_id == 0 {
                self.rec.count(Reason::Invalid);
                self.rec.vals[s as usize] = Val::Redacted;
            } else {
                self.rec.trace = trace_id;
                self.rec.vals[s as usize] = Val::Trace;
            }
            self.rec.any = true;
        }
        self
    }

    #[inline]
    fn slot(&mut self, slot: FieldSlot) -> Option<(&'p Inner, u8)> {
        let inner = self.inner?;
        if slot.index() < inner.c.schema.fields.len() {
            Some((inner, slot.0))
        } else {
            self.rec.count(Reason::Unknown);
            None
        }
    }

    /// Sets any field from a string (IDs, names, routes, tokens…), checked
    /// against the field's type.
    #[inline]
    pub fn str(&mut self, slot: FieldSlot, v: &str) -> &mut Self {
        if let Some((i, s)) = self.slot(slot) {
            self.rec.set_str(&i.c, s, v);
        }
        self
    }

    /// Sets a Count or HttpStatus field.
    #[inline]
    pub fn u64(&mut self, slot: FieldSlot, v: u64) -> &mut Self {
        if let Some((i, s)) = self.slot(slot) {
            self.rec.set_u64(&i.c, s, v);
        }
        self
    }

    /// Sets a Bool or Outcome field.
    #[inline]
    pub fn bool(&mut self, slot: FieldSlot, v: bool) -> &mut Self {
        if let Some((i, s)) = self.slot(slot) {
            self.rec.set_bool(&i.c, s, v);
        }
        self
    }

    /// Sets a field by name (slower: one lookup); unknown names are dropped
    /// and counted.
    pub fn field_str(&mut self, name: &str, v: &str) -> &mut Self {
        match self.inner.and_then(|i| i.c.schema.slot(name)) {
            Some(slot) => self.str(slot, v),
            None => self.unknown(),
        }
    }

    /// Sets a numeric field by name.
    pub fn field_u64(&mut self, name: &str, v: u64) -> &mut Self {
        match self.inner.and_then(|i| i.c.schema.slot(name)) {
            Some(slot) => self.u64(slot, v),
            None => self.unknown(),
        }
    }

    fn unknown(&mut self) -> &mut Self {
        self.rec.count(Reason::Unknown);
        self
    }

    /// Samples, then formats and queues the line. The builder is reset, so it
    /// may be reused.
    #[inline]
    pub fn emit(&mut self) -> Emitted {
        let Some(inner) = self.inner else { return Emitted::SampledOut };
        let r = inner.emit(&self.rec, None);
        self.rec.vals = [Val::Absent; crate::log::MAX_FIELDS];
        self.rec.drops = [0; 5];
        self.rec.scratch.clear();
        self.rec.any = false;
        r
    }
}

impl Drop for LogLine<'_> {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.rec.scratch);
        SCRATCH.with(|c| c.set(buf));
    }
}
