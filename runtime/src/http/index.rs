//! A bounded in-memory index of recent requests by trace-id, for `/_trace/:id`.
//! Each entry holds only allow-listed metadata (no path, no header, no ID other
//! than the trace-id), and old entries are overwritten.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::log::{LogRole, LogSchema};

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
    /// The allow-listed JSON form, keyed by the names `schema` gives the
    /// roles route, method, status, ok, err_token, latency, bytes in and out
    /// (a role no field holds is left out).
    pub fn to_json(&self, schema: &LogSchema) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        let mut put = |role: LogRole, v: serde_json::Value| {
            if let Some(k) = schema.role_name(role) {
                m.insert(k.to_owned(), v);
            }
        };
        let opt = |v: Option<u64>| v.map_or(serde_json::Value::Null, Into::into);
        put(LogRole::Route, self.route.into());
        put(LogRole::Method, self.method.into());
        put(LogRole::Status, self.code.into());
        put(LogRole::Ok, self.ok.into());
        put(LogRole::ErrToken, self.err_token.map_or(serde_json::Value::Null, Into::into));
        put(LogRole::Latency, self.latency_ms.into());
        put(LogRole::BytesIn, opt(self.bytes_in));
        put(LogRole::BytesOut, opt(self.bytes_out));
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
