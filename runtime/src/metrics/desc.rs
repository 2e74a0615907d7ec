//! [`MetricDesc`]: one metric of the spec as const-constructible data.

/// Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Monotonic counter.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Bucketed distribution.
    Histogram,
}

impl MetricKind {
    /// The `# TYPE` word.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// A metric the spec declares; the generated crate defines one `static` table of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDesc {
    /// Family name.
    pub name: &'static str,
    /// Type.
    pub kind: MetricKind,
    /// `# HELP` text.
    pub help: &'static str,
    /// Unit word (`seconds`, `bytes`, `count`…), for documentation.
    pub unit: &'static str,
    /// Label names, in spec order.
    pub labels: &'static [&'static str],
    /// Histogram bucket upper bounds, ascending (empty for other kinds).
    pub buckets: &'static [f64],
}

/// One of the runtime's own metrics: its name and label names, from the spec
/// (the metric with the matching `role:`), so the runtime never names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfMetric {
    /// Metric name.
    pub name: &'static str,
    /// Label names, in the order the runtime gives values (see [`SelfMetrics`]).
    pub labels: &'static [&'static str],
}

/// The runtime's self-metrics, generated as `obspec_generated::SELF_METRICS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfMetrics {
    /// Log lines dropped because the writer's queue was full; label: the reason.
    pub log_dropped: SelfMetric,
    /// Log keys or values dropped or redacted; label: the reason.
    pub log_redacted: SelfMetric,
    /// Open-label values folded into `other`; labels: the metric, the label.
    pub label_overflow: SelfMetric,
    /// Requests limited by the rate limiter's shared overflow bucket (their
    /// tenant found the table full of active tenants); no labels.
    pub limit_overflow: SelfMetric,
}

static SELF_METRICS: std::sync::OnceLock<&'static SelfMetrics> = std::sync::OnceLock::new();

/// Declares the self-metric names for the process (the first call wins; a
/// log plane declares its schema's when built). Until then, label overflows
/// fold into `other` without being counted.
pub fn set_self_metrics(m: &'static SelfMetrics) {
    let _ = SELF_METRICS.set(m);
}

/// The self-metric names declared for the process, if any.
pub fn self_metrics() -> Option<&'static SelfMetrics> {
    SELF_METRICS.get().copied()
}

static METADATA: ::metrics::Metadata<'static> =
    ::metrics::Metadata::new("obspec", ::metrics::Level::INFO, Some(module_path!()));

impl SelfMetric {
    /// The `metrics` key of this metric with `values` for its labels, in order.
    pub fn key(&self, values: &[&'static str]) -> ::metrics::Key {
        let labels: Vec<::metrics::Label> =
            self.labels.iter().zip(values).map(|(k, v)| ::metrics::Label::from_static_parts(k, v)).collect();
        ::metrics::Key::from_parts(self.name, labels)
    }

    /// This counter with `values` for its labels, from the installed recorder.
    pub fn counter(&self, values: &[&'static str]) -> ::metrics::Counter {
        register_counter(&self.key(values))
    }
}

/// The counter `key` (built once, e.g. by [`SelfMetric::key`]) from the
/// recorder in force (a local one, else the global one).
pub(crate) fn register_counter(key: &::metrics::Key) -> ::metrics::Counter {
    ::metrics::with_recorder(|r| r.register_counter(key, &METADATA))
}

/// Buckets of a histogram the spec does not declare (the Prometheus client defaults).
pub const DEFAULT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
