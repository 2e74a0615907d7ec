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

/// The value open labels fold into past their bound.
pub const OVERFLOW_METRIC: &str = "obspec_label_overflow_total";

/// The self-metric counting values folded into `other`; the recorder always declares it.
pub const OVERFLOW: MetricDesc = MetricDesc {
    name: OVERFLOW_METRIC,
    kind: MetricKind::Counter,
    help: "Label values folded into \"other\" because an open label reached its max_values bound.",
    unit: "count",
    labels: &["metric", "label"],
    buckets: &[],
};

/// Buckets of a histogram the spec does not declare (the Prometheus client defaults).
pub const DEFAULT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
