//! [`ObspecRecorder`]: a [`::metrics::Recorder`] whose handles are plain atomics
//! and [`BucketHistogram`]s, with metric metadata taken from the spec.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use ::metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use crate::metrics::desc::{DEFAULT_BUCKETS, MetricDesc, MetricKind};
use crate::metrics::histogram::BucketHistogram;

/// What the recorder holds; shared between the installed recorder and [`Exporter`]s.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) descs: HashMap<&'static str, &'static MetricDesc>,
    /// Help texts given through `describe_*` for metrics the spec does not declare.
    pub(crate) described: RwLock<HashMap<String, String>>,
    pub(crate) counters: RwLock<HashMap<Key, Arc<AtomicU64>>>,
    pub(crate) gauges: RwLock<HashMap<Key, Arc<AtomicU64>>>,
    pub(crate) histograms: RwLock<HashMap<Key, Arc<BucketHistogram>>>,
}

fn get_or_insert<V>(map: &RwLock<HashMap<Key, Arc<V>>>, key: &Key, make: impl FnOnce() -> V) -> Arc<V> {
    if let Some(v) = map.read().unwrap_or_else(PoisonError::into_inner).get(key) {
        return Arc::clone(v);
    }
    let mut w = map.write().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(w.entry(key.clone()).or_insert_with(|| Arc::new(make())))
}

impl Registry {
    fn new(descs: &'static [MetricDesc]) -> Self {
        let map: HashMap<&'static str, &'static MetricDesc> = descs.iter().map(|d| (d.name, d)).collect();
        Self { descs: map, ..Self::default() }
    }

    fn buckets(&self, name: &str) -> &'static [f64] {
        match self.descs.get(name) {
            Some(d) if !d.buckets.is_empty() => d.buckets,
            _ => DEFAULT_BUCKETS,
        }
    }

    fn describe(&self, key: KeyName, description: SharedString) {
        if !self.descs.contains_key(key.as_str()) {
            self.described
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key.as_str().to_owned(), description.into_owned());
        }
    }

    pub(crate) fn kind_of(&self, name: &str) -> Option<MetricKind> {
        self.descs.get(name).map(|d| d.kind)
    }
}

/// The recorder: install it with [`install`] (or use it locally with
/// [`::metrics::with_local_recorder`]); cloning shares the same series.
#[derive(Debug, Clone)]
pub struct ObspecRecorder {
    pub(crate) registry: Arc<Registry>,
}

impl ObspecRecorder {
    /// A recorder that knows the spec's metrics (help, type, buckets), the
    /// runtime's self-metrics included (they are in the spec).
    pub fn new(descs: &'static [MetricDesc]) -> Self {
        Self { registry: Arc::new(Registry::new(descs)) }
    }

    /// An [`Exporter`] rendering this recorder's series.
    pub fn exporter(&self) -> Exporter {
        Exporter { registry: Arc::clone(&self.registry) }
    }
}

impl Recorder for ObspecRecorder {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.registry.describe(key, description);
    }

    fn describe_gauge(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.registry.describe(key, description);
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.registry.describe(key, description);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        Counter::from_arc(get_or_insert(&self.registry.counters, key, || AtomicU64::new(0)))
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(get_or_insert(&self.registry.gauges, key, || AtomicU64::new(0)))
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        let buckets = self.registry.buckets(key.name());
        Histogram::from_arc(get_or_insert(&self.registry.histograms, key, || BucketHistogram::new(buckets)))
    }
}

/// Renders the series of a recorder as Prometheus text; cheap to clone.
#[derive(Debug, Clone)]
pub struct Exporter {
    registry: Arc<Registry>,
}

impl Exporter {
    /// The Prometheus text exposition (format 0.0.4) of every series.
    pub fn render(&self) -> String {
        crate::metrics::exposition::render_registry(&self.registry)
    }
}

/// Why [`install`] failed.
#[derive(Debug)]
pub struct InstallError;

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a global `metrics` recorder is already installed")
    }
}

impl std::error::Error for InstallError {}

static EXPORTER: OnceLock<Exporter> = OnceLock::new();

/// Installs an [`ObspecRecorder`] for these metrics as the process-wide
/// `metrics` recorder and returns its [`Exporter`]. Install before the first
/// emission: typed emitters resolve their handles once, against the recorder
/// installed at that time.
pub fn install(descs: &'static [MetricDesc]) -> Result<Exporter, InstallError> {
    let recorder = ObspecRecorder::new(descs);
    let exporter = recorder.exporter();
    ::metrics::set_global_recorder(recorder).map_err(|_| InstallError)?;
    // Cannot already be set: set_global_recorder succeeds once per process.
    let _ = EXPORTER.set(exporter.clone());
    Ok(exporter)
}

/// The exporter of the recorder [`install`] installed, if any.
pub fn exporter() -> Option<&'static Exporter> {
    EXPORTER.get()
}

/// The `/metrics` body: the exposition of the installed recorder (empty when
/// none is installed). Serve it with [`crate::metrics::CONTENT_TYPE`].
pub fn render() -> String {
    exporter().map(Exporter::render).unwrap_or_default()
}
