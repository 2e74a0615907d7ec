//! HTTP pieces for Axum services (blueprint 09 §4, §5, §6.3, §12):
//!
//! - [`error`]: [`TokenInfo`] (the ErrorToken vocabulary, implemented by the
//!   generated enum) and [`ApiError`], the HTTP and JSON-RPC error answers;
//! - [`ObservabilityLayer`] (in [`layer`], built from [`metrics`], [`logging`]
//!   and [`error_token`]): trace context and correlation ID, ErrorToken on
//!   fail (panics included), per-route metrics, one log line per request and
//!   the recent-request index, and (when given them) the limits and chaos
//!   light, all in one service;
//! - [`limits`]: token buckets per tenant and session type and a concurrency
//!   limit, answering the `rate_limit` / `backpressure` role tokens with
//!   `retry_after_ms`;
//! - [`body_limit`]: request bodies under a size and a time bound, answering
//!   the `payload_too_large` role token before a body is read whole;
//! - [`chaos`]: chaos light, off unless its flag is on ([`crate::flags`]);
//! - [`ops`]: `/_health`, `/metrics`, `/_metrics`, `/_trace/{id}`, `/_reload`;
//! - [`routes`]: [`RouteExt`] mounts a router from a generated route enum,
//!   [`not_found`] is the `not_found` fallback.
//!
//! A sketch (not compiled: `CoreMetrics`, `auth`, `events` and `trail` are a
//! service's own; `apps/core/src/lib.rs` is the real wiring):
//!
//! ```ignore
//! let index = Arc::new(TraceIndex::default());
//! let flags = Arc::new(Flags::load(&obspec_generated::FLAGS, FlagSource::env().with_file("flags.conf"))?);
//! let plane = LogPlane::builder(&obspec_generated::LOG_SCHEMA, "core").flags(flags.clone()).build()?;
//! let limits = Limits::builder().tenant_rate(Rate::per_second(50, 100)).tenant_key(auth::tenant_of).max_concurrency(256)
//!     .metrics(CoreLimitMetrics).build();
//! let app = Router::new()
//!     .route("/v1/rooms/{room_id}/events", post(events))
//!     // One service per route does trace context, limits, chaos, metrics and the log line
//!     // (`LimitLayer` and `ChaosLayer` are the same pieces as layers of their own).
//!     .layer(ObservabilityLayer::<ErrorToken>::builder().metrics(CoreMetrics).trace_index(index.clone())
//!         .limits(limits.clone())?.chaos(flags.clone()).build())
//!     .merge(ops::router::<ErrorToken>(Ops::builder("core").trace_index(index).limits(limits).log_plane(plane)
//!         .flags(flags).token(ops_token).on_reload(|e| trail.write_reload(e)).build()));
//! ```

pub mod body_limit;
pub mod chaos;
pub mod error;
pub mod error_token;
pub mod index;
pub mod layer;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod route;
pub mod routes;
pub mod trace;

pub use body_limit::BodyLimitLayer;
pub use chaos::ChaosLayer;
pub use error::{ApiError, ErrorInfo, TokenInfo, TokenRole};
pub use index::{TraceEntry, TraceIndex};
pub use layer::ObservabilityLayer;
pub use limits::{HeaderKey, KeyExtractor, LimitLayer, LimitMetrics, Limits, Rate, Rejection};
pub use metrics::RequestMetrics;
pub use ops::{Ops, ReloadEvent};
pub use routes::{RouteExt, SpecRoute, not_found};
pub use trace::{CorrelationId, RequestIds, TraceContext};
