//! The metric plane's runtime (blueprint 09 §1.2): what the generated typed
//! emitters sit on.
//!
//! - [`ObspecRecorder`] implements [`::metrics::Recorder`], so any code using the
//!   `metrics` facade records into it; counters and gauges are `Arc<AtomicU64>`,
//!   histograms are [`BucketHistogram`]s with the buckets the spec declares,
//!   sharded per thread (no shared compare-and-swap when threads contend).
//! - [`render`] writes the Prometheus text exposition (`# HELP`/`# TYPE` from
//!   the spec, histograms as `_bucket`/`_sum`/`_count`).
//! - [`ClosedFamily`] and [`OpenFamily`] cache handles per label combination,
//!   so a typed emitter is an index and an atomic add; open labels are bounded
//!   and values past the bound fold into [`OTHER`], counted by the spec's
//!   `label_overflow` self-metric ([`SelfMetrics`]).
//!
//! The runtime takes the spec as data ([`MetricDesc`] tables the generated
//! crate defines) and never hard-codes a metric.

mod desc;
mod exposition;
mod family;
mod histogram;
mod recorder;

pub(crate) use desc::register_counter;
pub use desc::{DEFAULT_BUCKETS, MetricDesc, MetricKind, SelfMetric, SelfMetrics, self_metrics, set_self_metrics};
pub use exposition::CONTENT_TYPE;
pub use family::{ClosedFamily, Handle, OTHER, OpenFamily, OpenLabel, Row, open_label};
pub use histogram::{BucketHistogram, HistogramSnapshot, shards as histogram_shards};
pub use recorder::{Exporter, InstallError, ObspecRecorder, exporter, install, render};

pub use ::metrics::{Counter, Gauge, Histogram, Label};

/// The `metrics` facade crate, for generated code (not a stable API).
#[doc(hidden)]
pub use ::metrics as __facade;
