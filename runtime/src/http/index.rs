//! A bounded in-memory index of recent requests by trace-id, for `/_trace/:id`.
//! Each entry holds only allow-listed metadata (no path, no header, no ID other
//! than the trace-id), and old entries are overwritten.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Metadata of one request (the only fields `/_trace/:id` shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceEntry {
    /// The W3C trace-id.
    pub trace_id: u128,
    /// The route template (spec form) or `unmatched`.
    pub route: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The HTTP status.
    pub code: u16,
    /// Whether the request succeeded (status below 400).
    pub ok: bool,
    /// The ErrorToken of a failure.
    pub err_token: Option<&'static str>,
    /// Handling time in milliseconds.
    pub latency_ms: u64,
    /// Request body size, when known.
    pub bytes_in: Option<u64>,
    /// Response body size, when known.
    pub bytes_out: Option<u64>,
}

impl TraceEntry {
    /// The allow-listed JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("route".to_owned(), self.route.into());
        m.insert("method".to_owned(), self.method.into());
        m.insert("code".to_owned(), self.code.into());
        m.insert("ok".to_owned(), self.ok.into());
        m.insert("err_token".to_owned(), self.err_token.map_or(serde_json::Value::Null, Into::into));
        m.insert("latency_ms".to_owned(), self.latency_ms.into());
        m.insert("bytes_in".to_owned(), self.bytes_in.map_or(serde_json::Value::Null, Into::into));
        m.insert("bytes_out".to_owned(), self.bytes_out.map_or(serde_json::Value::Null, Into::into));
        m.into()
    }
}

type Slot = Mutex<Option<(u64, TraceEntry)>>;

/// The last `capacity` requests, as a ring of slots; recording is one
/// uncontended lock, lookup scans the ring (an ops endpoint).
#[derive(Debug)]
pub struct TraceIndex {
    next: AtomicU64,
    slots: Box<[Slot]>,
}

/// Default number of requests kept.
pub const DEFAULT_CAPACITY: usize = 1024;

impl Default for TraceIndex {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl TraceIndex {
    /// Keeps the last `capacity` (at least 1) requests.
    pub fn new(capacity: usize) -> Self {
        Self { next: AtomicU64::new(0), slots: (0..capacity.max(1)).map(|_| Mutex::new(None)).collect() }
    }

    /// How many requests are kept.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Records one request, overwriting the oldest.
    pub fn record(&self, entry: TraceEntry) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[(seq % self.slots.len() as u64) as usize];
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some((seq, entry));
    }

    /// The kept requests of `trace_id`, newest first.
    pub fn lookup(&self, trace_id: u128) -> Vec<TraceEntry> {
        let mut found: Vec<(u64, TraceEntry)> = self
            .slots
            .iter()
            .filter_map(|s| *s.lock().unwrap_or_else(PoisonError::into_inner))
            .filter(|(_, e)| e.trace_id == trace_id)
            .collect();
        found.sort_by_key(|e| std::cmp::Reverse(e.0));
        found.into_iter().map(|(_, e)| e).collect()
    }
}
