//! [`LogPlane`]: one component's log plane — compiled schema, sampler, flags and
//! writer — shared by the tracing layer and typed lines.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::log::flags::{FlagError, FlagSource, SamplingFlags};
use crate::log::record::{Compiled, Reason, Record};
use crate::log::sampler::{EffectiveRates, Rates, Sampler};
use crate::log::schema::LogSchema;
use crate::log::time;
use crate::log::validate;
use crate::log::writer::{self, FileSink, LineSink, MemorySink, Push, Queue, StdoutSink};

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
    /// Lines dropped because the queue was full (`obspec_log_dropped_total`).
    pub dropped: u64,
    /// Sink write or flush errors.
    pub write_errors: u64,
    /// Keys or values dropped/redacted, by [`Reason`] discriminant
    /// (`obspec_log_redacted_total`).
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
    flags: FlagSource,
    clock: fn() -> SystemTime,
}

impl std::fmt::Debug for LogPlaneBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogPlaneBuilder")
            .field("component", &self.component)
            .field("queue_bytes", &self.queue_bytes)
            .finish_non_exhaustive()
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

    /// Where run-time sampling flags come from (default: none).
    pub fn flags(mut self, src: FlagSource) -> Self {
        self.flags = src;
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
        let c = Compiled::new(self.schema, self.component);
        let flags = self.flags.load().map_err(|e| BuildError(e.to_string()))?;
        let (rates, _warnings) = Rates::compile(&c, &flags);
        let sink = self.sink.unwrap_or_else(|| Box::new(StdoutSink::default()));
        let (queue, handle) = writer::spawn(sink, self.queue_bytes, self.flush_interval)
            .map_err(|e| BuildError(format!("writer thread: {e}")))?;
        Ok(LogPlane {
            inner: Arc::new(Inner {
                c,
                sampler: Sampler::new(rates),
                queue,
                writer: Mutex::new(Some(handle)),
                flags: Mutex::new((self.flags, flags)),
                clock: self.clock,
                redacted: Default::default(),
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
    flags: Mutex<(FlagSource, SamplingFlags)>,
    clock: fn() -> SystemTime,
    redacted: [AtomicU64; 5],
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
}

impl Inner {
    pub(crate) fn count_drops(&self, drops: &[u32; 5]) {
        for r in Reason::ALL {
            let n = u64::from(drops[r as usize]);
            if n > 0 {
                self.redacted[r as usize].fetch_add(n, Ordering::Relaxed);
                metrics::counter!(
                    "obspec_log_redacted_total",
                    "component" => self.c.component,
                    "reason" => r.as_str()
                )
                .increment(n);
            }
        }
    }

    /// Counts redactions, samples, formats and queues one line.
    #[inline]
    pub fn emit(&self, rec: &Record) -> Emitted {
        if rec.drops != [0; 5] {
            self.count_drops(&rec.drops);
        }
        if !self.sampler.keep(&self.c, rec) {
            return Emitted::SampledOut;
        }
        let (ts, day) = time::rfc3339((self.clock)());
        let mut out = OUT.with(std::cell::Cell::take);
        out.clear();
        rec.format(&self.c, &ts, &mut out);
        let pushed = self.queue.push(day, &out);
        OUT.with(|c| c.set(out));
        match pushed {
            Push::Queued => Emitted::Queued,
            Push::Dropped => {
                metrics::counter!(
                    "obspec_log_dropped_total",
                    "component" => self.c.component,
                    "reason" => "queue_full"
                )
                .increment(1);
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
            flags: FlagSource::none(),
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

    /// Re-reads the flag source and applies it. On error the previous flags
    /// stay in force. Returns warnings about overrides that match nothing.
    pub fn reload_flags(&self) -> Result<Vec<String>, FlagError> {
        let mut g = self.inner.flags.lock().unwrap_or_else(PoisonError::into_inner);
        let flags = g.0.load()?;
        let (rates, warnings) = Rates::compile(&self.inner.c, &flags);
        if flags != g.1 {
            self.inner.sampler.set(rates);
            g.1 = flags;
        }
        Ok(warnings)
    }

    /// Applies `flags` directly (replacing what the source said until the next
    /// reload). Returns warnings about overrides that match nothing.
    pub fn set_flags(&self, flags: SamplingFlags) -> Vec<String> {
        let mut g = self.inner.flags.lock().unwrap_or_else(PoisonError::into_inner);
        let (rates, warnings) = Rates::compile(&self.inner.c, &flags);
        self.inner.sampler.set(rates);
        g.1 = flags;
        warnings
    }

    /// The rates in force.
    pub fn rates(&self) -> EffectiveRates {
        self.inner.sampler.effective(&self.inner.c)
    }

    /// Re-reads the flag source every `interval` on a background thread until
    /// the returned handle is dropped (or the plane is).
    pub fn spawn_flag_poller(&self, interval: Duration) -> std::io::Result<FlagPoller> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let handle = std::thread::Builder::new().name("obspec-log-flags".to_owned()).spawn(move || {
            while !stop2.load(Ordering::Acquire) {
                std::thread::park_timeout(interval);
                if stop2.load(Ordering::Acquire) {
                    break;
                }
                match weak.upgrade() {
                    // A malformed file keeps the previous flags in force.
                    Some(inner) => drop(LogPlane { inner }.reload_flags()),
                    None => break,
                }
            }
        })?;
        Ok(FlagPoller { stop, handle: Some(handle) })
    }
}

/// Stops the flag poller thread when dropped.
#[derive(Debug)]
pub struct FlagPoller {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for FlagPoller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
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
