//! [`LogLine`]: the typed, allocation-free path that `#[derive(LogEvent)]` code
//! calls. Values given as `&'static str` or plain values (route, method,
//! outcome, error token, trace-id, counts, booleans) are only noted as they are
//! set; on `emit` the level filter and the sampler decide from the outcome and
//! the trace-id alone, so a sampled-out line costs no validation, clock read,
//! allocation or formatting. A kept line is validated (same rules as the tracing
//! layer) and formatted into a reused thread-local buffer. A borrowed string
//! ([`LogLine::str`]) is validated and copied when set, as is every later value
//! of that line; sampling overrides (which match a validated route or tool) also
//! make the decision wait for validation.
//!
//! What a sampled-out line still counts: unknown fields and plane-owned fields
//! (`obspec_log_redacted_total` reasons `unknown` and `reserved`); its values
//! are never checked, so an invalid value in a line nobody keeps is not counted
//! as `invalid`.
//!
//! ```
//! # use obspec::log::*;
//! # use obspec::metrics::{SelfMetric, SelfMetrics};
//! # static M: SelfMetric = SelfMetric { name: "demo_self_total", labels: &["reason"] };
//! # static SELF: SelfMetrics = SelfMetrics { log_dropped: M, log_redacted: M, label_overflow: M, limit_overflow: M };
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
use crate::log::record::{Compiled, Reason, Record, Val};
use crate::log::schema::{FieldSlot, LogFieldType};
use crate::log::validate;

thread_local! {
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// What kind of value an [`Op`] notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A number in [`Op::n`] (first: an all-zero `Op` is [`Op::EMPTY`]).
    U64,
    /// A `&'static str` in [`Op::s`].
    Str,
    /// A flag in [`Op::n`] (0 or 1).
    Bool,
    /// A trace-id: [`Op::n`] is 1 when valid (the value is the line's
    /// [`LogLine::trace_val`]), 0 when zero or malformed (redacted).
    Trace,
}

/// A value noted before validation. A plain struct of scalars, not an enum
/// with payloads: noting one is a few register stores (an enum was built on
/// the stack and reloaded whole, a store-forwarding stall per value). All
/// zero when empty, so a line's array of them starts as a few vector
/// stores rather than a copy of a constant.
#[derive(Debug, Clone, Copy)]
struct Op {
    slot: u8,
    kind: Kind,
    n: u64,
    s: Option<&'static str>,
}

impl Op {
    const EMPTY: Op = Op { slot: 0, kind: Kind::U64, n: 0, s: None };

    #[inline]
    fn str(slot: u8, s: &'static str) -> Self {
        Op { slot, kind: Kind::Str, n: 0, s: Some(s) }
    }

    #[inline]
    fn u64(slot: u8, n: u64) -> Self {
        Op { slot, kind: Kind::U64, n, s: None }
    }

    #[inline]
    fn bool(slot: u8, b: bool) -> Self {
        Op { slot, kind: Kind::Bool, n: u64::from(b), s: None }
    }

    #[inline]
    fn trace(slot: u8, valid: bool) -> Self {
        Op { slot, kind: Kind::Trace, n: u64::from(valid), s: None }
    }

    /// Validates this value into `rec` (`trace`: the value of a valid trace-id).
    fn apply(self, c: &Compiled, rec: &mut Record, trace: u128) {
        let s = self.slot;
        match self.kind {
            Kind::Str => rec.set_str(c, s, self.s.unwrap_or_default()),
            Kind::U64 => rec.set_u64(c, s, self.n),
            Kind::Bool => rec.set_bool(c, s, self.n != 0),
            Kind::Trace => {
                let v = if self.n != 0 {
                    rec.trace = trace;
                    Val::Trace
                } else {
                    rec.count(Reason::Invalid);
                    Val::Redacted
                };
                if let Some(x) = rec.vals.get_mut(s as usize) {
                    *x = v;
                    rec.any = true;
                }
            }
        }
    }
}

/// Values a line notes before it needs a [`Record`] (more go straight to one).
const DEFER: usize = 8;

/// A line being built; nothing is validated or formatted unless the sampler keeps it.
#[derive(Debug)]
pub struct LogLine<'p> {
    inner: Option<&'p Inner>,
    /// The validated line, once a value could not be deferred.
    rec: Option<Record>,
    ops: [Op; DEFER],
    n: usize,
    /// Drops counted while deferring (unknown and reserved fields).
    drops: [u32; 5],
    /// The outcome slot was last set to `false`.
    outcome_false: bool,
    /// The error-token slot was set (even to an invalid value).
    err_set: bool,
    /// The trace-id slot's value, if a valid trace-id.
    trace: Option<u128>,
    /// The last valid trace-id noted (what a valid [`Kind::Trace`] op holds).
    trace_val: u128,
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
        Self {
            inner,
            rec: None,
            ops: [Op::EMPTY; DEFER],
            n: 0,
            drops: [0; 5],
            outcome_false: false,
            err_set: false,
            trace: None,
            trace_val: 0,
        }
    }

    #[inline]
    fn count(&mut self, r: Reason) {
        match &mut self.rec {
            Some(rec) => rec.count(r),
            None => self.drops[r as usize] += 1,
        }
    }

    /// A record holding every value noted so far (the deferred ones validated now).
    fn replay(&mut self, c: &Compiled) -> Record {
        let mut rec = Record::new(SCRATCH.with(Cell::take));
        for op in &self.ops[..self.n] {
            op.apply(c, &mut rec, self.trace_val);
        }
        for (a, b) in rec.drops.iter_mut().zip(self.drops) {
            *a += b;
        }
        self.n = 0;
        self.drops = [0; 5];
        rec
    }

    /// The validated record, made from the deferred values on first use.
    fn full(&mut self, c: &Compiled) -> &mut Record {
        if self.rec.is_none() {
            let rec = self.replay(c);
            self.rec = Some(rec);
        }
        self.rec.get_or_insert_with(|| Record::new(Vec::new()))
    }

    /// Notes (or, once validating, applies) one value (`trace`: the value
    /// of a valid [`Kind::Trace`] op, else unused).
    #[inline]
    fn put(&mut self, inner: &'p Inner, op: Op, trace: u128) {
        let c = &inner.c;
        if self.rec.is_some() || self.n >= DEFER {
            self.put_validated(c, op, trace);
        } else {
            let s = op.slot;
            if matches!(c.types.get(s as usize), Some(LogFieldType::Timestamp | LogFieldType::Component)) {
                self.drops[Reason::Reserved as usize] += 1;
                return;
            }
            if c.outcome == Some(s) {
                self.outcome_false = op.kind == Kind::Bool && op.n == 0;
            }
            if c.err_token == Some(s) {
                self.err_set = true;
            }
            if c.trace == Some(s) {
                self.trace = (op.kind == Kind::Trace && op.n != 0).then_some(trace);
            }
            if op.kind == Kind::Trace && op.n != 0 {
                self.trace_val = trace;
            }
            if let Some(x) = self.ops.get_mut(self.n) {
                // Field by field: a whole-struct copy goes through the stack.
                x.slot = op.slot;
                x.kind = op.kind;
                x.n = op.n;
                x.s = op.s;
                self.n += 1;
            }
        }
    }

    /// Applies one value to the validated record (made now if need be).
    #[inline(never)]
    fn put_validated(&mut self, c: &Compiled, op: Op, trace: u128) {
        op.apply(c, self.full(c), trace);
    }

    #[inline]
    fn role(&mut self, slot: Option<u8>) -> Option<(&'p Inner, u8)> {
        let inner = self.inner?;
        match slot {
            Some(s) => Some((inner, s)),
            None => {
                self.count(Reason::Unknown);
                None
            }
        }
    }

    /// Sets the Route field (must be one of the schema's templates).
    #[inline]
    pub fn route(&mut self, route: &'static str) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.route)) {
            self.put(i, Op::str(s, route), 0);
        }
        self
    }

    /// Sets the Method field.
    #[inline]
    pub fn method(&mut self, method: &'static str) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.method)) {
            self.put(i, Op::str(s, method), 0);
        }
        self
    }

    /// Sets the Outcome field (`false` makes the line an error, always kept).
    #[inline]
    pub fn ok(&mut self, ok: bool) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.outcome)) {
            self.put(i, Op::bool(s, ok), 0);
        }
        self
    }

    /// Sets the ErrorToken field (makes the line an error, always kept).
    #[inline]
    pub fn err_token(&mut self, token: &'static str) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.err_token)) {
            self.put(i, Op::str(s, token), 0);
        }
        self
    }

    /// Sets the TraceId field from its 32-hex-digit form.
    #[inline]
    pub fn trace_id(&mut self, trace_id: &str) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.trace)) {
            let t = validate::parse_trace_id(trace_id);
            self.put(i, Op::trace(s, t.is_some()), t.unwrap_or(0));
        }
        self
    }

    /// Sets the TraceId field from its 128-bit value (zero is redacted).
    #[inline]
    pub fn trace(&mut self, trace_id: u128) -> &mut Self {
        if let Some((i, s)) = self.role(self.inner.and_then(|i| i.c.trace)) {
            self.put(i, Op::trace(s, trace_id != 0), trace_id);
        }
        self
    }

    #[inline]
    fn slot(&mut self, slot: FieldSlot) -> Option<(&'p Inner, u8)> {
        let inner = self.inner?;
        if slot.index() < inner.c.schema.fields.len() {
            Some((inner, slot.0))
        } else {
            self.count(Reason::Unknown);
            None
        }
    }

    /// Sets any field from a string (IDs, names, routes, tokens…), checked
    /// against the field's type. The string is borrowed, so it is validated
    /// and copied now (and the rest of this line is validated as it is set).
    #[inline]
    pub fn str(&mut self, slot: FieldSlot, v: &str) -> &mut Self {
        if let Some((i, s)) = self.slot(slot) {
            self.full(&i.c).set_str(&i.c, s, v);
        }
        self
    }

    /// Sets any field from a `&'static str` (a route template, a method, a
    /// token…), checked against the field's type only if the line is kept.
    #[inline]
    pub(crate) fn str_static(&mut self, slot: FieldSlot, v: &'static str) -> &mut Self {
        if let Some((i, s)) = self.slot(slot) {
            self.put(i, Op::str(s, v), 0);
        }
        self
    }

    /// Sets a Count or HttpStatus field.
    #[inline]
    pub fn u64(&mut self, slot: FieldSlot, v: u64) -> &mut Self {
        if let Some((i, s)) = self.slot(slot) {
            self.put(i, Op::u64(s, v), 0);
        }
        self
    }

    /// Sets a Bool or Outcome field.
    #[inline]
    pub fn bool(&mut self, slot: FieldSlot, v: bool) -> &mut Self {
        if let Some((i, s)) = self.slot(slot) {
            self.put(i, Op::bool(s, v), 0);
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
        self.count(Reason::Unknown);
        self
    }

    /// Samples, then validates, formats and queues the line. The builder is
    /// reset, so it may be reused.
    #[inline]
    pub fn emit(&mut self) -> Emitted {
        self.emit_late(None)
    }

    /// [`LogLine::emit`], with one borrowed value set last ([`LogLine::str`])
    /// and only if the line is not sampled out first: a sampled-out line
    /// never validates or copies it.
    pub(crate) fn emit_late(&mut self, late: Option<(FieldSlot, &str)>) -> Emitted {
        let Some(inner) = self.inner else { return Emitted::SampledOut };
        let late = match late {
            // A value the decision reads is set before it.
            Some((slot, v)) if [inner.c.outcome, inner.c.err_token, inner.c.trace].contains(&Some(slot.0)) => {
                self.str(slot, v);
                None
            }
            Some((slot, v)) => self.slot(slot).map(|(_, s)| (s, v)),
            None => None,
        };
        let r = match self.rec.take() {
            Some(mut rec) => {
                if let Some((s, v)) = late {
                    rec.set_str(&inner.c, s, v);
                }
                let r = inner.emit(&rec, None);
                recycle(rec);
                r
            }
            None => match inner.decide_early(self.outcome_false || self.err_set, self.trace) {
                Err(e) => {
                    if self.drops != [0; 5] {
                        inner.count_drops(&self.drops);
                    }
                    e
                }
                Ok(true)
                    if late.is_none()
                        && let Some(r) = self.write_direct(inner) =>
                {
                    r
                }
                Ok(kept) => {
                    let mut rec = self.replay(&inner.c);
                    if let Some((s, v)) = late {
                        rec.set_str(&inner.c, s, v);
                    }
                    let r = if kept {
                        if rec.drops != [0; 5] {
                            inner.count_drops(&rec.drops);
                        }
                        inner.write(&rec)
                    } else {
                        inner.emit(&rec, None)
                    };
                    recycle(rec);
                    r
                }
            },
        };
        self.n = 0;
        self.drops = [0; 5];
        self.outcome_false = false;
        self.err_set = false;
        self.trace = None;
        self.trace_val = 0;
        r
    }
}

impl LogLine<'_> {
    /// Validates, formats and queues a kept line straight from its noted
    /// values, without a [`Record`] (same checks, counts and output as
    /// [`Op::apply`] and [`Inner::write`]); `None`, having done nothing, when
    /// a value would need one.
    fn write_direct(&self, inner: &Inner) -> Option<Emitted> {
        let c = &inner.c;
        let ops = self.ops.get(..self.n)?;
        let mut vals = [(0u8, Val::Absent); DEFER];
        let mut drops = self.drops;
        let mut trace = 0u128;
        for (dst, op) in vals.iter_mut().zip(ops) {
            let ty = *c.types.get(op.slot as usize)?;
            let v = match op.kind {
                Kind::Str => {
                    let list = match ty {
                        LogFieldType::Route => c.schema.routes,
                        LogFieldType::Method => c.schema.methods,
                        LogFieldType::ErrorToken => c.schema.error_tokens,
                        _ => return None,
                    };
                    validate::index_of(list, op.s.unwrap_or_default()).map_or(Val::Redacted, Val::Index)
                }
                Kind::U64 => match ty {
                    LogFieldType::Timestamp | LogFieldType::Component => return None,
                    _ => Val::of_u64(ty, op.n),
                },
                Kind::Bool => match ty {
                    LogFieldType::Timestamp | LogFieldType::Component => return None,
                    _ => Val::of_bool(ty, op.n != 0),
                },
                Kind::Trace if op.n != 0 => {
                    trace = self.trace_val;
                    Val::Trace
                }
                Kind::Trace => Val::Redacted,
            };
            if v == Val::Redacted {
                drops[Reason::Invalid as usize] += 1;
            }
            *dst = (op.slot, v);
        }
        let vals = &mut vals[..ops.len()];
        Some(inner.write_noted(vals, &drops, trace, |_| &[]))
    }
}

/// Gives a record's buffer back to the thread.
fn recycle(rec: Record) {
    SCRATCH.with(|c| c.set(rec.scratch));
}

impl Drop for LogLine<'_> {
    fn drop(&mut self) {
        if let Some(rec) = self.rec.take() {
            recycle(rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::log::record::Reason;
    use crate::log::schema::{LogField, LogFieldType as T, LogRole as R, LogSchema, SamplingDefaults};
    use crate::log::{Emitted, FieldSlot, LogPlane, MemorySink};
    use crate::metrics::{SelfMetric, SelfMetrics};

    // Field names of their own, not the spec's (tests/tidy.rs keeps the spec's out of the runtime).
    static M: SelfMetric = SelfMetric { name: "line_test_self_total", labels: &["reason"] };
    static SELF: SelfMetrics = SelfMetrics { log_dropped: M, log_redacted: M, label_overflow: M, limit_overflow: M };
    const FIELDS: &[LogField] = &[
        LogField { name: "at", ty: T::Timestamp, role: Some(R::Ts) },
        LogField { name: "path", ty: T::Route, role: Some(R::Route) },
        LogField { name: "success", ty: T::Outcome, role: Some(R::Ok) },
        LogField { name: "err", ty: T::ErrorToken, role: Some(R::ErrToken) },
        LogField { name: "took_ms", ty: T::Count, role: Some(R::Latency) },
        LogField { name: "trace", ty: T::TraceId, role: Some(R::TraceId) },
        LogField { name: "session", ty: T::Id, role: None },
    ];
    const fn schema(success: f64) -> LogSchema {
        LogSchema {
            fields: FIELDS,
            forbidden: &[],
            routes: &["/v1/rooms/:id"],
            error_tokens: &["TIMEOUT"],
            components: &[],
            methods: &[],
            id_max_len: 64,
            sampling: SamplingDefaults { success, error: 1.0, spike: success, max_override: 1.0, overrides: &[] },
            self_metrics: &SELF,
        }
    }
    static DROP_SUCCESS: LogSchema = schema(0.0);
    static KEEP_ALL: LogSchema = schema(1.0);
    const TS: FieldSlot = FieldSlot::new(0);
    const LATENCY: FieldSlot = FieldSlot::new(4);
    const SESSION: FieldSlot = FieldSlot::new(6);

    fn plane(s: &'static LogSchema, mem: &MemorySink) -> LogPlane {
        LogPlane::builder(s, "core").memory(mem).build().unwrap_or_else(|e| panic!("{e}"))
    }

    // Every type a typed value can meet, for the direct-formatting property.
    const MIXED: &[LogField] = &[
        LogField { name: "at", ty: T::Timestamp, role: Some(R::Ts) },
        LogField { name: "path", ty: T::Route, role: Some(R::Route) },
        LogField { name: "verb", ty: T::Method, role: Some(R::Method) },
        LogField { name: "svc", ty: T::Component, role: Some(R::Component) },
        LogField { name: "success", ty: T::Outcome, role: Some(R::Ok) },
        LogField { name: "err", ty: T::ErrorToken, role: Some(R::ErrToken) },
        LogField { name: "status", ty: T::HttpStatus, role: Some(R::Status) },
        LogField { name: "took_ms", ty: T::Count, role: Some(R::Latency) },
        LogField { name: "cached", ty: T::Bool, role: None },
        LogField { name: "trace", ty: T::TraceId, role: Some(R::TraceId) },
        LogField { name: "session", ty: T::Id, role: None },
    ];
    static MIXED_ALL: LogSchema = LogSchema {
        fields: MIXED,
        forbidden: &[],
        routes: &["/v1/rooms/:id", "/v1/rooms"],
        error_tokens: &["TIMEOUT"],
        components: &[],
        methods: &["GET", "POST"],
        id_max_len: 64,
        sampling: SamplingDefaults { success: 1.0, error: 1.0, spike: 1.0, max_override: 1.0, overrides: &[] },
        self_metrics: &SELF,
    };

    #[derive(Debug, Clone)]
    enum Set {
        Route(&'static str),
        Method(&'static str),
        Ok(bool),
        Err(&'static str),
        U64(u8, u64),
        Bool(u8, bool),
        Trace(u128),
        TraceId(&'static str),
    }

    fn set_strategy() -> impl proptest::strategy::Strategy<Value = Set> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::sample::select(vec!["/v1/rooms/:id", "/v1/rooms", "/nope"]).prop_map(Set::Route),
            proptest::sample::select(vec!["GET", "POST", "BREW"]).prop_map(Set::Method),
            any::<bool>().prop_map(Set::Ok),
            proptest::sample::select(vec!["TIMEOUT", "NOPE"]).prop_map(Set::Err),
            (0u8..13, proptest::sample::select(vec![0u64, 12, 99, 200, 599, 600, u64::MAX]))
                .prop_map(|(s, v)| Set::U64(s, v)),
            (0u8..13, any::<bool>()).prop_map(|(s, b)| Set::Bool(s, b)),
            proptest::sample::select(vec![0u128, 7, u128::MAX]).prop_map(Set::Trace),
            proptest::sample::select(vec!["4bf92f3577b34da6a3ce929d0e0e4736", "zz"]).prop_map(Set::TraceId),
        ]
    }

    fn apply(line: &mut crate::log::LogLine<'_>, sets: &[Set]) {
        for s in sets {
            match *s {
                Set::Route(v) => line.route(v),
                Set::Method(v) => line.method(v),
                Set::Ok(b) => line.ok(b),
                Set::Err(v) => line.err_token(v),
                Set::U64(slot, v) => line.u64(FieldSlot::new(slot), v),
                Set::Bool(slot, b) => line.bool(FieldSlot::new(slot), b),
                Set::Trace(t) => line.trace(t),
                Set::TraceId(t) => line.trace_id(t),
            };
        }
    }

    fn pinned() -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_millis(1_767_443_696_789)
    }

    proptest::proptest! {
        /// A kept line formatted straight from its values writes, and counts,
        /// exactly what the validated-record path does.
        #[test]
        fn direct_formatting_matches_the_record_path(sets in proptest::collection::vec(set_strategy(), 0..12)) {
            let (direct, record) = (MemorySink::new(), MemorySink::new());
            let build = |mem: &MemorySink| {
                LogPlane::builder(&MIXED_ALL, "core").memory(mem).clock(pinned).build().unwrap_or_else(|e| panic!("{e}"))
            };
            let (a, b) = (build(&direct), build(&record));
            let mut line = a.line();
            apply(&mut line, &sets);
            let ra = line.emit();
            // A plane-owned value set first makes the line validate into a record at once.
            let mut line = b.line();
            line.str(TS, "x");
            apply(&mut line, &sets);
            let rb = line.emit();
            proptest::prop_assert_eq!(ra, rb);
            a.flush(Duration::from_secs(5));
            b.flush(Duration::from_secs(5));
            proptest::prop_assert_eq!(direct.lines(), record.lines());
            let (sa, mut sb) = (a.stats(), b.stats());
            sb.redacted[Reason::Reserved as usize] -= 1;
            proptest::prop_assert_eq!(sa.redacted, sb.redacted);
        }
    }

    #[test]
    fn sampled_out_line_counts_key_drops_but_validates_no_value() {
        let mem = MemorySink::new();
        let p = plane(&DROP_SUCCESS, &mem);
        let r = p.line().route("/not/a/route").u64(TS, 1).u64(FieldSlot::new(30), 1).trace(7).ok(true).emit();
        assert_eq!(r, Emitted::SampledOut);
        p.flush(Duration::from_secs(5));
        assert!(mem.lines().is_empty());
        let s = p.stats();
        assert_eq!((s.redacted(Reason::Reserved), s.redacted(Reason::Unknown)), (1, 1));
        assert_eq!(s.redacted(Reason::Invalid), 0, "a line nobody keeps is not validated");
    }

    #[test]
    fn a_late_error_keeps_the_line_and_every_value_is_validated() {
        let mem = MemorySink::new();
        let p = plane(&DROP_SUCCESS, &mem);
        let mut line = p.line();
        assert_eq!(line.route("/not/a/route").u64(LATENCY, 3).ok(true).trace(7).ok(false).emit(), Emitted::Queued);
        // The builder is reset: the same trace's success is sampled out again.
        assert_eq!(line.ok(true).trace(7).emit(), Emitted::SampledOut);
        assert_eq!(p.line().err_token("NOT_A_TOKEN").trace(7).emit(), Emitted::Queued);
        p.flush(Duration::from_secs(5));
        let lines = mem.lines();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with(
            r#""path":"[redacted]","success":false,"took_ms":3,"trace":"00000000000000000000000000000007"}"#
        ));
        assert!(lines[1].ends_with(r#""err":"[redacted]","trace":"00000000000000000000000000000007"}"#));
        assert_eq!(p.stats().redacted(Reason::Invalid), 2);
    }

    #[test]
    fn a_borrowed_string_switches_to_validating_in_order() {
        let mem = MemorySink::new();
        let p = plane(&KEEP_ALL, &mem);
        let session = String::from("ses_1");
        let mut line = p.line();
        line.u64(LATENCY, 5).route("/v1/rooms/:id").str(SESSION, &session).u64(LATENCY, 7).trace(0);
        assert_eq!(line.emit(), Emitted::Queued);
        // More values than are deferred, all on one line: the last write wins.
        let mut line = p.line();
        for n in 0..20 {
            line.u64(LATENCY, n);
        }
        assert_eq!(line.trace_id("zz").emit(), Emitted::Queued);
        p.flush(Duration::from_secs(5));
        let lines = mem.lines();
        assert!(lines[0].ends_with(r#""path":"/v1/rooms/:id","took_ms":7,"trace":"[redacted]","session":"ses_1"}"#));
        assert!(lines[1].ends_with(r#""took_ms":19,"trace":"[redacted]"}"#));
        assert_eq!(p.stats().redacted(Reason::Invalid), 2);
    }

    // Names and values longer than the padded chunks are written from their slices.
    const LONG: &[LogField] = &[
        LogField { name: "at", ty: T::Timestamp, role: Some(R::Ts) },
        LogField { name: "a_field_name_longer_than_thirty_bytes", ty: T::Route, role: Some(R::Route) },
        LogField { name: "svc", ty: T::Component, role: Some(R::Component) },
        LogField { name: "success", ty: T::Outcome, role: Some(R::Ok) },
    ];
    static LONG_ALL: LogSchema = LogSchema {
        fields: LONG,
        routes: &["/v1/a/route/template/much/longer/than/forty/eight/bytes/:id", "/v1/short"],
        ..schema(1.0)
    };

    #[test]
    fn long_names_and_values_are_written_whole() {
        let mem = MemorySink::new();
        let p = LogPlane::builder(&LONG_ALL, "a-component-name-that-is-well-over-forty-eight-bytes")
            .memory(&mem)
            .clock(pinned)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        p.line().route("/v1/a/route/template/much/longer/than/forty/eight/bytes/:id").ok(true).emit();
        p.line().route("/v1/short").emit();
        p.flush(Duration::from_secs(5));
        let lines = mem.lines();
        let comp = r#""svc":"a-component-name-that-is-well-over-forty-eight-bytes""#;
        assert_eq!(
            lines[0],
            format!(
                r#"{{"at":"2026-01-03T12:34:56.789Z","a_field_name_longer_than_thirty_bytes":"/v1/a/route/template/much/longer/than/forty/eight/bytes/:id",{comp},"success":true}}"#
            )
        );
        assert_eq!(
            lines[1],
            format!(
                r#"{{"at":"2026-01-03T12:34:56.789Z","a_field_name_longer_than_thirty_bytes":"/v1/short",{comp}}}"#
            )
        );
    }
}
