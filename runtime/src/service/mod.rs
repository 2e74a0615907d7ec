//! Running an obspec service (feature `service`): the pieces every binary of
//! `apps/` needs around its `Router`, so none of them re-implements them.
//!
//! - [`serve`]: bind (port 0 allowed), announce the bound address on stdout
//!   line 1, serve until SIGTERM/SIGINT, then stop accepting, mark the
//!   service not ready, drain in-flight requests (bounded) and return, so the
//!   caller can flush its log plane and trails and exit 0;
//! - [`trail`]: [`TrailSink`], the audit-trail writer handle a service shares
//!   between handlers: a `#[derive(TrailData)]` value in, a durable record
//!   (`audit/yyyy/mm/dd/<tenant>.ndjson`) out.
//!
//! A sketch, not compiled (`cfg`, `app`, `ops`, `plane` and `trails` are a
//! service's own; `apps/core/src/main.rs` is the real wiring):
//!
//! ```ignore
//! let listener = obspec::service::bind(cfg.listen).await?;
//! obspec::service::announce(&listener)?;
//! let shutdown = Shutdown::new();
//! obspec::service::serve(listener, app, ServeOptions::new(shutdown).ready(ops.ready_flag().clone())).await?;
//! plane.shutdown();
//! trails.close();
//! ```

pub mod serve;
pub mod trail;

pub use serve::{ServeOptions, Shutdown, Tasks, announce, bind, serve, shutdown_signal};
pub use trail::{TrailSink, TrailWriteError, trail_config, utc_timestamp};
