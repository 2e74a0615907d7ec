//! [`TrailSink`]: a service's handle on its audit-trail writer
//! ([`obspec_trail::writer::Writer`]), taking `#[derive(TrailData)]` values.
//!
//! Each record gets a fresh `id`, the current UTC `ts`, the value's `kind`,
//! `scope.tenant` and its `data` (IDs, enums, counters only: the derive
//! checked the shape against the spec). [`TrailSink::append`] returns once the
//! record is durable (fsynced, group-committed by the writer thread);
//! [`TrailSink::submit`] does not wait (hooks that cannot await), and a failed
//! submit is counted in [`TrailSink::failures`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use obspec_trail::canonical::{Object, Record, TrailConfig, Value};
use obspec_trail::writer::{Appended, Writer, WriterOptions};

use crate::event::{TrailData, TrailError, TrailValue};

/// Why a trail record was not written.
#[derive(Debug)]
pub enum TrailWriteError {
    /// The value does not fit its kind (enum value, counter range).
    Data(TrailError),
    /// The writer refused or failed (tenant shape, I/O, stopped).
    Write(obspec_trail::Error),
    /// The blocking task was cancelled (runtime shutting down).
    Cancelled,
}

impl std::fmt::Display for TrailWriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrailWriteError::Data(e) => write!(f, "trail data: {e}"),
            TrailWriteError::Write(e) => write!(f, "trail write: {e}"),
            TrailWriteError::Cancelled => f.write_str("trail write cancelled"),
        }
    }
}

impl std::error::Error for TrailWriteError {}

struct Inner {
    writer: Writer,
    failures: AtomicU64,
    written: AtomicU64,
}

/// The trail writer of one service; clones share the writer thread.
#[derive(Clone)]
pub struct TrailSink {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TrailSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrailSink")
            .field("written", &self.written())
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

/// `ts` of a trail record: RFC 3339 UTC with milliseconds
/// (`2026-01-31T23:59:59.123Z`).
pub fn utc_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn record_id() -> String {
    let a = crate::http::trace::random_u64();
    let b = crate::http::trace::random_u64();
    format!("{a:016x}{b:016x}")
}

fn to_value(v: TrailValue<'_>) -> Result<Value, TrailError> {
    Ok(match v {
        TrailValue::Str(s) => Value::from(s),
        TrailValue::List(l) => Value::Array(l.into_iter().map(Value::from).collect()),
        TrailValue::U64(n) => Value::Int(i64::try_from(n).map_err(|_| TrailError::TooLarge { field: "" })?),
        TrailValue::Bool(b) => Value::Bool(b),
    })
}

/// The trail writer's canonical form for the spec's key order and schema
/// version (`obspec_generated::trails::{KEY_ORDER, SCHEMA_VERSION}`), with the
/// default nesting and size limits; an order missing a reserved key or naming
/// one twice, or a version out of range, is refused.
pub fn trail_config(key_order: &[&str], schema_version: u32) -> Result<TrailConfig, obspec_trail::Error> {
    let mut cfg = TrailConfig::blueprint_default();
    cfg.key_order = key_order.iter().map(|k| (*k).to_owned()).collect();
    cfg.schema_version = schema_version;
    cfg.validate()?;
    Ok(cfg)
}

impl TrailSink {
    /// Opens the trail root `root` with the blueprint's canonical form and no
    /// per-record signatures (day manifests are signed by the roll). Prefer
    /// [`TrailSink::open_with`] the spec's key order.
    pub fn open(root: &Path) -> Result<Self, obspec_trail::Error> {
        Ok(Self::from_writer(Writer::open(root, TrailConfig::blueprint_default(), WriterOptions::default())?))
    }

    /// Opens the trail root `root` with the spec's canonical key order and
    /// schema version (`TrailSink::open_with(root, &trails::KEY_ORDER,
    /// trails::SCHEMA_VERSION)` from `obspec_generated`, see [`trail_config`])
    /// and no per-record signatures.
    pub fn open_with(root: &Path, key_order: &[&str], schema_version: u32) -> Result<Self, obspec_trail::Error> {
        Ok(Self::from_writer(Writer::open(root, trail_config(key_order, schema_version)?, WriterOptions::default())?))
    }

    /// Wraps a writer opened with other options.
    pub fn from_writer(writer: Writer) -> Self {
        Self { inner: Arc::new(Inner { writer, failures: AtomicU64::new(0), written: AtomicU64::new(0) }) }
    }

    /// The record `data` becomes for `tenant`, now.
    pub fn record<D: TrailData>(tenant: &str, data: &D) -> Result<Record, TrailError> {
        let mut obj = Object::new();
        for (k, v) in data.trail_data()? {
            let v = to_value(v).map_err(|_| TrailError::TooLarge { field: k })?;
            obj.insert(k, v);
        }
        Ok(Record::new()
            .with("id", record_id())
            .with("ts", utc_timestamp(SystemTime::now()))
            .with("kind", D::KIND)
            .with("scope", Object::new().with("tenant", tenant))
            .with("data", obj))
    }

    /// Appends `data` for `tenant` and blocks until it is durable.
    pub fn append_blocking<D: TrailData>(&self, tenant: &str, data: &D) -> Result<Appended, TrailWriteError> {
        let rec = Self::record(tenant, data).map_err(TrailWriteError::Data)?;
        self.write(rec)
    }

    fn write(&self, rec: Record) -> Result<Appended, TrailWriteError> {
        match self.inner.writer.append(rec) {
            Ok(a) => {
                self.inner.written.fetch_add(1, Ordering::Relaxed);
                Ok(a)
            }
            Err(e) => {
                self.inner.failures.fetch_add(1, Ordering::Relaxed);
                Err(TrailWriteError::Write(e))
            }
        }
    }

    /// Appends `data` for `tenant`; resolves once it is durable. The fsync
    /// wait runs on Tokio's blocking pool.
    pub async fn append<D: TrailData>(&self, tenant: &str, data: &D) -> Result<Appended, TrailWriteError> {
        let rec = Self::record(tenant, data).map_err(TrailWriteError::Data)?;
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.write(rec)).await.map_err(|_| TrailWriteError::Cancelled)?
    }

    /// Appends without waiting (on Tokio's blocking pool when inside a
    /// runtime, else on this thread). Failures are counted, not returned.
    pub fn submit<D: TrailData>(&self, tenant: &str, data: &D) {
        let rec = match Self::record(tenant, data) {
            Ok(r) => r,
            Err(_) => {
                self.inner.failures.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let me = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(h) => drop(h.spawn_blocking(move || drop(me.write(rec)))),
            Err(_) => drop(me.write(rec)),
        }
    }

    /// Records written since open.
    pub fn written(&self) -> u64 {
        self.inner.written.load(Ordering::Relaxed)
    }

    /// Records that could not be written since open.
    pub fn failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_millis() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_769_903_999_123);
        assert_eq!(utc_timestamp(t), "2026-01-31T23:59:59.123Z");
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(utc_timestamp(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn the_spec_key_order_configures_the_writer_and_bad_orders_are_refused() {
        let order = obspec_generated::trails::KEY_ORDER;
        let cfg = trail_config(&order, obspec_generated::trails::SCHEMA_VERSION).expect("the spec's order is valid");
        assert_eq!(cfg.key_order, order.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>());
        // The canonical bytes follow the given order, not the default one.
        let mut reversed = order;
        reversed.reverse();
        let rec = Record::new().with(order[0], "a").with(order[order.len() - 1], "z");
        let fwd = String::from_utf8(cfg.canonical_bytes(&rec).expect("bytes")).expect("utf8");
        let rev = String::from_utf8(trail_config(&reversed, 1).expect("valid").canonical_bytes(&rec).expect("bytes"))
            .expect("utf8");
        assert!(fwd.find('a') < fwd.find('z') && rev.find('z') < rev.find('a'), "{fwd} / {rev}");
        let missing: Vec<&str> = order[1..].to_vec();
        assert!(trail_config(&missing, 1).is_err(), "a reserved key is missing");
        let twice: Vec<&str> = order.iter().chain(order.first()).copied().collect();
        assert!(trail_config(&twice, 1).is_err(), "a key twice");
        assert!(trail_config(&order, 0).is_err(), "schema versions start at 1");
    }
}
