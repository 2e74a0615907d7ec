//! Shared test fixtures: the blueprint §2.1 schema (as the spec compiler would
//! generate it), a metrics recorder that counts, and helpers. Included by the
//! `log_*` tests with `#[path]`; on its own it holds no tests.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use obspec::log::{LogField, LogFieldType as T, LogSchema, SamplingDefaults};

pub const FORBIDDEN: &[&str] = &[
    "params",
    "args",
    "payload",
    "plaintext",
    "ciphertext",
    "messages",
    "mensagens",
    "message",
    "msg",
    "prompt",
    "content",
    "body",
    "text",
    "attachment",
    "attachments",
];

pub const FIELDS: &[LogField] = &[
    LogField { name: "ts", ty: T::Timestamp },
    LogField { name: "component", ty: T::Component },
    LogField { name: "tenant", ty: T::Id },
    LogField { name: "route", ty: T::Route },
    LogField { name: "method", ty: T::Method },
    LogField { name: "tool", ty: T::Name },
    LogField { name: "session_id", ty: T::Id },
    LogField { name: "correlation_id", ty: T::Id },
    LogField { name: "ok", ty: T::Outcome },
    LogField { name: "err_token", ty: T::ErrorToken },
    LogField { name: "code", ty: T::HttpStatus },
    LogField { name: "latency_ms", ty: T::Count },
    LogField { name: "bytes_in", ty: T::Count },
    LogField { name: "bytes_out", ty: T::Count },
    LogField { name: "cost_calls", ty: T::Count },
    LogField { name: "node", ty: T::Name },
    LogField { name: "trace_id", ty: T::TraceId },
];

pub const ROUTES: &[&str] = &["/v1/rooms/:id", "/v1/rooms", "/v1/messages/:id", "/_health"];
pub const TOKENS: &[&str] = &["BACKPRESSURE", "RATE_LIMIT", "UNAUTHORIZED", "INTERNAL"];

const fn schema(success: f64) -> LogSchema {
    LogSchema {
        fields: FIELDS,
        forbidden: FORBIDDEN,
        routes: ROUTES,
        error_tokens: TOKENS,
        components: &["core", "office", "gateway", "policy-proxy"],
        methods: &["GET", "POST", "PUT", "PATCH", "DELETE"],
        id_max_len: 64,
        sampling: SamplingDefaults { success, error: 1.0, spike: 0.10, max_override: 0.5, overrides: &[] },
    }
}

/// The blueprint schema with the spec's 1% success rate.
pub static BLUEPRINT: LogSchema = schema(0.01);
/// The same vocabulary keeping every line (for content tests).
pub static KEEP_ALL: LogSchema = schema(1.0);

pub const LATENCY: obspec::log::FieldSlot = obspec::log::FieldSlot::new(11);
pub const TENANT: obspec::log::FieldSlot = obspec::log::FieldSlot::new(2);
pub const TOOL: obspec::log::FieldSlot = obspec::log::FieldSlot::new(5);

/// A unique temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "obspec-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `metrics` recorder summing counters by `name{labels}`.
#[derive(Clone, Default)]
pub struct Counting(pub Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>);

struct Cell(Arc<AtomicU64>);

impl metrics::CounterFn for Cell {
    fn increment(&self, v: u64) {
        self.0.fetch_add(v, Ordering::Relaxed);
    }
    fn absolute(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
}

impl Counting {
    pub fn get(&self, key: &str) -> u64 {
        self.0.lock().expect("lock").get(key).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    pub fn keys(&self) -> Vec<String> {
        self.0.lock().expect("lock").keys().cloned().collect()
    }
}

impl metrics::Recorder for Counting {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let cell = Arc::clone(self.0.lock().expect("lock").entry(name).or_default());
        metrics::Counter::from_arc(Arc::new(Cell(cell)))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

/// Parses NDJSON lines into objects.
pub fn parse(lines: &[String]) -> Vec<serde_json::Map<String, serde_json::Value>> {
    lines
        .iter()
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(serde_json::Value::Object(m)) => m,
            other => panic!("not a JSON object line: {l:?} ({other:?})"),
        })
        .collect()
}

/// A 32-hex trace-id from a number.
pub fn trace_hex(n: u128) -> String {
    format!("{:032x}", n.max(1))
}
