//! The server-blind log plane (blueprint 09 §2): a closed vocabulary of fields
//! ([`LogSchema`], generated from the spec), a tracing layer and a typed line
//! builder that both validate every value, sampling decided before formatting,
//! a non-blocking writer with daily rotation, and a scanner for forbidden
//! content.

pub mod fold;
mod layer;
mod line;
mod plane;
mod record;
mod sampler;
pub mod scan;
mod schema;
mod time;
pub mod validate;
mod writer;

pub use layer::ServerBlindLayer;
pub use line::{LogLine, line};
pub use plane::{BuildError, Emitted, LogPlane, LogPlaneBuilder, LogStats, global, install};
pub use record::{REDACTED, Reason};
pub use sampler::{EffectiveRates, trace_coin};
pub use schema::{
    FieldSlot, LogField, LogFieldType, LogRole, LogSchema, MAX_FIELDS, NAME_MAX_LEN, SamplingDefaults,
    SamplingOverride, SchemaError,
};
pub use time::UtcDay;
pub use writer::{FileSink, LineSink, MemorySink, QUEUE_FULL, StdoutSink, WriteSink};
