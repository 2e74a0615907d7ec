//! [`LogPlane`]: one component's log plane — compiled schema, sampler, flags and
//! writer — shared by the tracing layer and typed lines.
//!
//! The plane reads the shared [`Flags`] handle: the sampling flags (rebuilt
//! when the handle's generation moves) and `log_level`, which filters every
//! event. A tracing event is kept when its level is within the flag's; a
//! typed line, which has no level, counts as an error when it is one and as
//! info otherwise (resolution R30).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use tracing::Level;

use crate::flags::Flags;
use crate::log::record::{Compiled, LineOut, Reason, Record, Val};
use crate::log::sampler::{EffectiveRates, Rates, Sampler};
use crate::log::schema::LogSchema;
use crate::log::time;
use crate::log::validate;
use crate::log::writer::{self, FileSink, LineSink, MemorySink, Push, Queue, StdoutSink};
use crate::metrics::register_counter;

/// Why a plane could not be built.
#[derive(Debug)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "log plane: {}", self.0)
    }
}

impl std::error::Error for BuildError {}

/// Counters of a plane since it started (the same events also go to the
/// `metrics` facade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogStats {
    /// Lines accepted by the queue.
    pub queued: u64,
    /// Lines handed to the sink.
    pub written: u64,
    /// Lines dropped because the queue was full (the `log_dropped` self-metric).
    pub dropped: u64,
    /// Sink write or flush errors.
    pub write_errors: u64,
    /// Keys or values dropped/redacted, by [`Reason`] discriminant
    /// (the `log_redacted` self-metric).
    pub redacted: [u64; 5],
}

impl LogStats {
    /// Redactions for one reason.
    pub fn redacted(&self, r: Reason) -> u64 {
        self.redacted[r as usize]
    }
}

/// Configures a [`LogPlane`].
pub struct LogPlaneBuilder {
    schema: &'static LogSchema,
    component: &'static str,
    sink: Option<Box<dyn LineSink>>,
    queue_bytes: usize,
    flush_interval: Duration,
    flags: Option<Arc<Flags>>,
    clock: fn() -> SystemTime,
}

impl std::fmt::Debug for LogPlaneBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LogPlaneBuilder").field(&self.component).field(&self.queue_bytes).finish()
    }
}

impl LogPlaneBuilder {
    /// Writes through any sink.
    pub fn sink(mut self, sink: impl LineSink) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// Daily files `<root>/logs/yyyy/mm/dd/<component>.ndjson`.
    pub fn file(self, root: impl Into<std::path::PathBuf>) -> Self {
        let c = self.component;
        self.sink(FileSink::new(root, c))
    }

    /// JSON lines on standard output.
    pub fn stdout(self) -> Self {
        self.sink(StdoutSink::default())
    }

    /// Lines kept in `sink` (tests).
    pub fn memory(self, sink: &MemorySink) -> Self {
        self.sink(sink.clone())
    }

    /// Queue capacity in bytes (default 4 MiB); lines beyond it are dropped.
    pub fn queue_bytes(mut self, n: usize) -> Self {
        self.queue_bytes = n.max(64);
        self
    }

    /// Longest a line waits in the queue (default 50 ms).
    pub fn flush_interval(mut self, d: Duration) -> Self {
        self.flush_interval = d;
        self
    }

    /// The flags handle the plane reads (sampling, `log_level`); share it
    /// with the layers and the ops endpoints. Without one, the spec's
    /// sampling defaults apply and nothing is filtered by level.
    pub fn flags(mut self, flags: Arc<Flags>) -> Self {
        self.flags = Some(flags);
        self
    }

    /// The wall clock used for `ts` and rotation (tests pin it).
    pub fn clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    /// Validates the schema and component, reads the flags and starts the
    /// writer thread.
    pub fn build(self) -> Result<LogPlane, BuildError> {
        if let Err(errs) = self.schema.validate() {
            let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
            return Err(BuildError(msgs.join("; ")));
        }
        let known = if self.schema.components.is_empty() {
            validate::is_name(self.component)
        } else {
            self.schema.components.contains(&self.component)
        };
        if !known {
            return Err(BuildError(format!("component {:?} is not in the schema", self.component)));
        }
        crate::metrics::set_self_metrics(self.schema.self_metrics);
        let c = Compiled::new(self.schema, self.component);
        let seen = self.flags.as_ref().map_or(0, |f| f.generation());
        let (rates, warnings) = Rates::compile(&c, self.flags.as_deref());
        let sink = self.sink.unwrap_or_else(|| Box::new(StdoutSink::default()));
        let (queue, handle) = writer::spawn(sink, self.queue_bytes, self.flush_interval)
            .map_err(|e| BuildError(format!("writer thread: {e}")))?;
        Ok(LogPlane {
            inner: Arc::new(Inner {
                c,
                sampler: Sampler::new(rates),
                queue,
                writer: Mutex::new(Some(handle)),
                flags: self.flags,
                seen: AtomicU64::new(seen),
                warnings: Mutex::new(warnings),
                clock: self.clock,
                redacted: Default::default(),
                redacted_keys: Reason::ALL.map(|r| self.schema.self_metrics.log_redacted.key(&[r.as_str()])),
                dropped_key: self.schema.self_metrics.log_dropped.key(&[writer::QUEUE_FULL]),
            }),
        })
    }
}

/// A component's log plane. Cheap to clone; the writer thread stops (after
/// draining) when the last clone is dropped or on [`LogPlane::shutdown`].
#[derive(Debug, Clone)]
pub struct LogPlane {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub c: Compiled,
    sampler: Sampler,
    queue: Arc<Queue>,
    writer: Mutex<Option<JoinHandle<()>>>,
    flags: Option<Arc<Flags>>,
    /// The flags generation the sampler was built from.
    seen: AtomicU64,
    /// Warnings of the last sampler build (overrides matching nothing).
    warnings: Mutex<Vec<String>>,
    clock: fn() -> SystemTime,
    redacted: [AtomicU64; 5],
    /// The `log_redacted` self-metric's key per [`Reason`] and the
    /// `log_dropped` one's, built once (a line counting a redaction only
    /// asks the recorder in force for the counter).
    redacted_keys: [::metrics::Key; 5],
    dropped_key: ::metrics::Key,
}

thread_local! {
    static OUT: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// What became of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emitted {
    /// Formatted and queued.
    Queued,
    /// Not kept by the sampler (nothing was formatted).
    SampledOut,
    /// Dropped because the queue was full (counted).
    Dropped,
    /// Below the `log_level` flag (nothing was formatted).
    Filtered,
}

impl Inner {
    pub(crate) fn count_drops(&self, drops: &[u32; 5]) {
        for r in Reason::ALL {
            let n = u64::from(drops[r as usize]);
            if n > 0 {
                self.redacted[r as usize].fetch_add(n, Ordering::Relaxed);
                register_counter(&self.redacted_keys[r as usize]).increment(n);
            }
        }
    }

    /// Whether an event of `level` passes the `log_level` flag.
    #[inline]
    pub(crate) fn level_enabled(&self, level: &Level) -> bool {
        self.flags.as_ref().is_none_or(|f| *level <= f.log_level())
    }

    /// Rebuilds the sampler when the flags changed since it was built.
    #[inline]
    fn refresh(&self) {
        if let Some(f) = &self.flags {
            let g = f.generation();
            if g != self.seen.load(Ordering::Acquire) {
                self.rebuild(f, g);
            }
        }
    }

    #[cold]
    fn rebuild(&self, f: &Flags, g: u64) {
        let mut w = self.warnings.lock().unwrap_or_else(PoisonError::into_inner);
        if self.seen.load(Ordering::Acquire) == g {
            return;
        }
        let (rates, warnings) = Rates::compile(&self.c, Some(f));
        self.sampler.set(rates);
        *w = warnings;
        self.seen.store(g, Ordering::Release);
    }

    /// Counts redactions, filters by level (`level`: the tracing event's;
    /// `None` for a typed line), samples, formats and queues one line.
    #[inline]
    pub fn emit(&self, rec: &Record, level: Option<&Level>) -> Emitted {
        if rec.drops != [0; 5] {
            self.count_drops(&rec.drops);
        }
        let level = level.unwrap_or(if rec.is_error(&self.c) { &Level::ERROR } else { &Level::INFO });
        if !self.level_enabled(level) {
            return Emitted::Filtered;
        }
        self.refresh();
        if !self.sampler.keep(&self.c, rec) {
            return Emitted::SampledOut;
        }
        self.write(rec)
    }

    /// The level filter and the sampling decision of a line not validated yet,
    /// from what they need only: whether it is an error and its trace-id.
    /// `Ok(true)`: keep it (then [`Inner::write`] it, without deciding again);
    /// `Err(emitted)`: filtered or sampled out; `Ok(false)`: undecided (sampling
    /// overrides need the validated line: validate it and call [`Inner::emit`]).
    #[inline]
    pub(crate) fn decide_early(&self, is_error: bool, trace: Option<u128>) -> Result<bool, Emitted> {
        let level = if is_error { &Level::ERROR } else { &Level::INFO };
        if !self.level_enabled(level) {
            return Err(Emitted::Filtered);
        }
        self.sample_early(is_error, trace)
    }

    /// The sampling decision alone (the level already passed), as
    /// [`Inner::decide_early`] returns it.
    #[inline]
    pub(crate) fn sample_early(&self, is_error: bool, trace: Option<u128>) -> Result<bool, Emitted> {
        self.refresh();
        match self.sampler.keep_early(is_error, trace) {
            Some(true) => Ok(true),
            Some(false) => Err(Emitted::SampledOut),
            None => Ok(false),
        }
    }

    /// Formats and queues a line already kept (its redactions counted).
    pub(crate) fn write(&self, rec: &Record) -> Emitted {
        self.write_with(|line| {
            for (i, v) in rec.vals.iter().enumerate().take(self.c.schema.fields.len()) {
                if *v != Val::Absent || self.c.plane_mask & (1 << i) != 0 {
                    line.field(i, *v, rec.trace, rec.bytes(*v));
                }
            }
        })
    }

    /// Formats and queues a kept line from validated `(slot, value)` pairs in
    /// the order they were noted (of two values of one slot the later wins),
    /// after counting `drops`; `bytes` reads a [`Val::Scratch`] value. The
    /// direct path of typed lines and of the tracing layer, without a [`Record`].
    #[inline]
    pub(crate) fn write_noted<'b>(
        &self,
        vals: &mut [(u8, Val)],
        drops: &[u32; 5],
        trace: u128,
        bytes: impl Fn(Val) -> &'b [u8],
    ) -> Emitted {
        // Schema order, stable (insertion sort: at most a few values).
        for i in 1..vals.len() {
            let mut j = i;
            while j > 0 && vals[j - 1].0 > vals[j].0 {
                vals.swap(j - 1, j);
                j -= 1;
            }
        }
        if *drops != [0; 5] {
            self.count_drops(drops);
        }
        let mut mask = self.c.plane_mask;
        for (s, _) in vals.iter() {
            mask |= 1u32.checked_shl(u32::from(*s)).unwrap_or(0);
        }
        self.write_with(|line| {
            let mut k = 0;
            while mask != 0 {
                let i = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let mut v = Val::Absent;
                while let Some(&(s, x)) = vals.get(k)
                    && usize::from(s) == i
                {
                    v = x;
                    k += 1;
                }
                line.field(i, v, trace, bytes(v));
            }
        })
    }

    /// Formats a kept line (`fields` writes its fields in schema order,
    /// the plane-owned ones included) and queues it.
    #[inline]
    pub(crate) fn write_with(&self, fields: impl FnOnce(&mut LineOut<'_>)) -> Emitted {
        let (ts, day) = time::rfc3339((self.clock)());
        let mut out = OUT.with(std::cell::Cell::take);
        out.clear();
        let mut line = LineOut::new(&self.c, &ts, &mut out);
        fields(&mut line);
        line.finish();
        let pushed = self.queue.push(day, &out);
        OUT.with(|c| c.set(out));
        match pushed {
            Push::Queued => Emitted::Queued,
            Push::Dropped => {
                register_counter(&self.dropped_key).increment(1);
                Emitted::Dropped
            }
        }
    }

    fn stop(&self) {
        self.queue.stop();
        let h = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(h) = h {
            let _ = h.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl LogPlane {
    /// Starts configuring a plane for `component` over `schema`.
    pub fn builder(schema: &'static LogSchema, component: &'static str) -> LogPlaneBuilder {
        LogPlaneBuilder {
            schema,
            component,
            sink: None,
            queue_bytes: 4 << 20,
            flush_interval: Duration::from_millis(50),
            flags: None,
            clock: SystemTime::now,
        }
    }

    /// The schema this plane enforces.
    pub fn schema(&self) -> &'static LogSchema {
        self.inner.c.schema
    }

    /// The component written in every line.
    pub fn component(&self) -> &'static str {
        self.inner.c.component
    }

    /// Waits up to `timeout` until every line queued before the call reached
    /// the sink; false on timeout.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.inner.queue.flush(timeout)
    }

    /// Drains the queue and stops the writer thread; later lines are dropped.
    pub fn shutdown(&self) {
        self.inner.stop();
    }

    /// Counters since start.
    pub fn stats(&self) -> LogStats {
        let q = &self.inner.queue.stats;
        LogStats {
            queued: self.inner.queue.pushed(),
            written: q.written.load(Ordering::Relaxed),
            dropped: q.dropped.load(Ordering::Relaxed),
            write_errors: q.write_errors.load(Ordering::Relaxed),
            redacted: std::array::from_fn(|i| self.inner.redacted[i].load(Ordering::Relaxed)),
        }
    }

    /// The flags handle the plane reads, if any.
    pub fn flags(&self) -> Option<&Arc<Flags>> {
        self.inner.flags.as_ref()
    }

    /// Sampling overrides in the flags that match no route or tool (as of
    /// the last sampler build).
    pub fn flag_warnings(&self) -> Vec<String> {
        self.inner.refresh();
        self.inner.warnings.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The rates in force.
    pub fn rates(&self) -> EffectiveRates {
        self.inner.refresh();
        self.inner.sampler.effective(&self.inner.c)
    }
}

static GLOBAL: OnceLock<LogPlane> = OnceLock::new();

/// Installs the process-wide plane used by [`crate::log::line`]. Fails (giving
/// the plane back) if one is installed already.
pub fn install(plane: LogPlane) -> Result<(), LogPlane> {
    GLOBAL.set(plane)
}

/// The process-wide plane, if installed.
pub fn global() -> Option<&'static LogPlane> {
    GLOBAL.get()
}
