//! The non-blocking writer: a byte-bounded double buffer that request threads
//! append to (a `memcpy` under a mutex held only for that copy) and one writer
//! thread swaps out and hands to a [`LineSink`]. The request path never waits
//! for I/O; a line that does not fit is dropped and counted
//! (`obspec_log_dropped_total`).
//!
//! Each queued line is framed as `[day: u32 LE][len: u32 LE][bytes]` so the
//! writer can rotate by the UTC day of each line.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use crate::log::time::UtcDay;

/// Where the writer thread puts lines.
pub trait LineSink: Send + 'static {
    /// Writes one complete NDJSON line (ending in `\n`) dated `day`.
    fn write_line(&mut self, day: UtcDay, line: &[u8]) -> io::Result<()>;
    /// Flushes buffered bytes; called after every batch.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Daily files `<root>/logs/yyyy/mm/dd/<component>.ndjson` (blueprint §2.3),
/// chosen by each line's UTC day and opened for append.
#[derive(Debug)]
pub struct FileSink {
    root: PathBuf,
    component: String,
    current: Option<(UtcDay, BufWriter<File>)>,
}

impl FileSink {
    /// Rotating files under `root` for `component`.
    pub fn new(root: impl Into<PathBuf>, component: &str) -> Self {
        Self { root: root.into(), component: component.to_owned(), current: None }
    }

    /// The file a line of `day` goes to.
    pub fn path_for(&self, day: UtcDay) -> PathBuf {
        let (y, m, d) = day.ymd();
        self.root
            .join("logs")
            .join(format!("{y:04}"))
            .join(format!("{m:02}"))
            .join(format!("{d:02}"))
            .join(format!("{}.ndjson", self.component))
    }

    fn file(&mut self, day: UtcDay) -> io::Result<&mut BufWriter<File>> {
        if self.current.as_ref().is_none_or(|(d, _)| *d != day) {
            if let Some((_, mut old)) = self.current.take() {
                old.flush()?;
            }
            let path = self.path_for(day);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let f = OpenOptions::new().create(true).append(true).open(&path)?;
            self.current = Some((day, BufWriter::with_capacity(64 * 1024, f)));
        }
        match &mut self.current {
            Some((_, w)) => Ok(w),
            None => Err(io::Error::other("no current log file")),
        }
    }
}

impl LineSink for FileSink {
    fn write_line(&mut self, day: UtcDay, line: &[u8]) -> io::Result<()> {
        self.file(day)?.write_all(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.current {
            Some((_, w)) => w.flush(),
            None => Ok(()),
        }
    }
}

/// Standard output, one JSON object a line (blueprint §6.2 "tracing → stdout JSONL").
#[derive(Debug, Default)]
pub struct StdoutSink(Vec<u8>);

impl LineSink for StdoutSink {
    fn write_line(&mut self, _: UtcDay, line: &[u8]) -> io::Result<()> {
        self.0.extend_from_slice(line);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(&self.0)?;
        self.0.clear();
        out.flush()
    }
}

/// Any [`Write`] (for example [`io::sink`] in benchmarks).
#[derive(Debug)]
pub struct WriteSink<W>(pub W);

impl<W: Write + Send + 'static> LineSink for WriteSink<W> {
    fn write_line(&mut self, _: UtcDay, line: &[u8]) -> io::Result<()> {
        self.0.write_all(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Lines kept in memory, for tests. Clones share the buffer.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<DatedLine>>>);

type DatedLine = (UtcDay, Vec<u8>);

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every line written so far, without the trailing newline.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.0)
            .iter()
            .map(|(_, l)| String::from_utf8_lossy(l.strip_suffix(b"\n").unwrap_or(l)).into_owned())
            .collect()
    }

    /// Every line with its day.
    pub fn dated_lines(&self) -> Vec<(UtcDay, String)> {
        lock(&self.0).iter().map(|(d, l)| (*d, String::from_utf8_lossy(l).into_owned())).collect()
    }

    /// Forgets every line.
    pub fn clear(&self) {
        lock(&self.0).clear();
    }
}

impl LineSink for MemorySink {
    fn write_line(&mut self, day: UtcDay, line: &[u8]) -> io::Result<()> {
        lock(&self.0).push((day, line.to_vec()));
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counters of the queue.
/// The `reason` of a line dropped because the queue was full.
pub const QUEUE_FULL: &str = "queue_full";

#[derive(Debug, Default)]
pub(crate) struct QueueStats {
    pub dropped: AtomicU64,
    pub written: AtomicU64,
    pub write_errors: AtomicU64,
}

#[derive(Debug, Default)]
struct Buf {
    bytes: Vec<u8>,
    /// Lines pushed so far (monotonic), for flush acknowledgements.
    seq: u64,
}

/// The queue between request threads and the writer thread.
#[derive(Debug)]
pub(crate) struct Queue {
    buf: Mutex<Buf>,
    cap: usize,
    stop: AtomicBool,
    done: Mutex<u64>,
    done_cv: Condvar,
    writer: OnceLock<Thread>,
    pub stats: QueueStats,
}

/// Outcome of [`Queue::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    Queued,
    Dropped,
}

impl Queue {
    /// Appends one line; drops it if the queue holds `cap` bytes already.
    #[inline]
    pub fn push(&self, day: UtcDay, line: &[u8]) -> Push {
        let need = line.len() + 8;
        let wake = {
            let mut b = lock(&self.buf);
            let before = b.bytes.len();
            if before + need > self.cap {
                drop(b);
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                return Push::Dropped;
            }
            b.bytes.extend_from_slice(&day.0.to_le_bytes());
            b.bytes.extend_from_slice(&(line.len() as u32).to_le_bytes());
            b.bytes.extend_from_slice(line);
            b.seq += 1;
            let half = self.cap / 2;
            before < half && before + need >= half
        };
        if wake {
            self.wake();
        }
        Push::Queued
    }

    fn wake(&self) {
        if let Some(t) = self.writer.get() {
            t.unpark();
        }
    }

    /// Waits until every line pushed before this call is handed to the sink.
    pub fn flush(&self, timeout: Duration) -> bool {
        let target = lock(&self.buf).seq;
        let deadline = Instant::now() + timeout;
        let mut done = lock(&self.done);
        while *done < target {
            self.wake();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let slice = left.min(Duration::from_millis(5));
            done = self.done_cv.wait_timeout(done, slice).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }

    /// Lines accepted so far.
    pub fn pushed(&self) -> u64 {
        lock(&self.buf).seq
    }

    /// Asks the writer thread to drain and exit.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake();
    }
}

/// Starts the writer thread.
pub(crate) fn spawn(
    mut sink: Box<dyn LineSink>,
    cap: usize,
    interval: Duration,
) -> io::Result<(Arc<Queue>, JoinHandle<()>)> {
    let q = Arc::new(Queue {
        buf: Mutex::new(Buf { bytes: Vec::with_capacity(cap), seq: 0 }),
        cap,
        stop: AtomicBool::new(false),
        done: Mutex::new(0),
        done_cv: Condvar::new(),
        writer: OnceLock::new(),
        stats: QueueStats::default(),
    });
    let q2 = Arc::clone(&q);
    let handle = thread::Builder::new().name("obspec-log-writer".to_owned()).spawn(move || {
        let mut spare: Vec<u8> = Vec::with_capacity(cap);
        loop {
            let stopping = q2.stop.load(Ordering::Acquire);
            let seq = {
                let mut b = lock(&q2.buf);
                std::mem::swap(&mut b.bytes, &mut spare);
                b.seq
            };
            let mut n = 0u64;
            let mut rest: &[u8] = &spare;
            while rest.len() >= 8 {
                let day = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
                let len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
                let Some(line) = rest.get(8..8 + len) else { break };
                if sink.write_line(UtcDay(day), line).is_err() {
                    q2.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
                rest = &rest[8 + len..];
            }
            if n > 0 && sink.flush().is_err() {
                q2.stats.write_errors.fetch_add(1, Ordering::Relaxed);
            }
            q2.stats.written.fetch_add(n, Ordering::Relaxed);
            spare.clear();
            {
                let mut d = lock(&q2.done);
                *d = seq;
            }
            q2.done_cv.notify_all();
            if stopping {
                break;
            }
            thread::park_timeout(interval);
        }
    })?;
    let _ = q.writer.set(handle.thread().clone());
    Ok((q, handle))
}
