//! Shared test fixtures: the blueprint §2.1 schema (as the spec compiler would
//! generate it), a metrics recorder that counts, and helpers. Included by the
//! `log_*` tests with `#[path]`; on its own it holds no tests.
#![allow(dead_code, missing_docs)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use obspec::log::{FieldSlot, LogField, LogRole, LogSchema};
use obspec_generated::LOG_SCHEMA;

/// The spec's forbidden names.
pub static FORBIDDEN: &[&str] = LOG_SCHEMA.forbidden;
/// The spec's log fields.
pub static FIELDS: &[LogField] = LOG_SCHEMA.fields;
/// The spec's route templates.
pub static ROUTES: &[&str] = LOG_SCHEMA.routes;
/// The spec's ErrorTokens.
pub static TOKENS: &[&str] = LOG_SCHEMA.error_tokens;

/// The spec's schema (its 1% success rate), without the spec's overrides.
pub static BLUEPRINT: LogSchema = LOG_SCHEMA.with_success(LOG_SCHEMA.sampling.success);
/// The same vocabulary keeping every line (for content tests).
pub static KEEP_ALL: LogSchema = LOG_SCHEMA.with_success(1.0);

fn slot(role: LogRole) -> FieldSlot {
    LOG_SCHEMA.role(role).expect("the spec gives the role to a field")
}

/// The latency field.
pub fn latency() -> FieldSlot {
    slot(LogRole::Latency)
}
/// The tool field.
pub fn tool() -> FieldSlot {
    slot(LogRole::Tool)
}
/// The tenant field (no role: by name).
pub fn tenant() -> FieldSlot {
    LOG_SCHEMA.slot("tenant").expect("tenant field")
}

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
