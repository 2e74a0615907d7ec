//! The Office room service of blueprint 09 (RoomDO-like), built on obspec:
//! a WebSocket per room with per-room `seq`, replay on reconnect and
//! persistence across `kill -9` ([`rooms`], [`ws`]); an MCP endpoint with a
//! per-room concurrency cap ([`mcp`]); trails of IDs, types and counters only.
//!
//! `office --help` lists every flag and its environment variable.

pub mod config;
pub mod mcp;
pub mod obs;
pub mod reconnect;
pub mod rooms;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::HeaderMap;
use obspec::flags::{FlagSource, Flags};
use obspec::http::ops::{self, Ops};
use obspec::http::{ApiError, BodyLimitLayer, Limits, ObservabilityLayer, RouteExt, TraceIndex};
use obspec::log::LogPlane;
use obspec::service::{ServeOptions, Shutdown, Tasks, TrailSink};
use obspec_generated::routes::OfficeRoute;
use obspec_generated::{ErrorToken, FLAGS, LOG_SCHEMA};

pub use config::Config;
use obs::OfficeError;

/// The component name (spec `components[].name`, log `component`).
pub const COMPONENT: &str = obspec_generated::Component::Office.as_str();

/// A start-up failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct App {
    /// Settings.
    pub cfg: Arc<Config>,
    /// Rooms and their events.
    pub rooms: rooms::Rooms,
    /// Audit trails.
    pub trails: TrailSink,
    /// The shutdown trigger (sessions close on it).
    pub shutdown: Shutdown,
    /// WebSocket sessions running.
    pub tasks: Tasks,
    /// Sessions dropped and not yet resumed (also across a restart).
    pub drops: Arc<reconnect::Drops>,
    /// Tool durations, for `retry_after_ms`.
    pub durations: Arc<mcp::Durations>,
}

impl IntoResponse for OfficeError {
    fn into_response(self) -> Response {
        ApiError::new(self.error_token()).into_response()
    }
}

/// IDs accepted for rooms, sessions and references: 1 to 64 of `[A-Za-z0-9_-]`.
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The caller's tenant (`x-tenant-id`).
pub fn tenant(h: &HeaderMap) -> Result<String, OfficeError> {
    h.get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .filter(|t| is_id(t))
        .map(str::to_owned)
        .ok_or(OfficeError::Unauthenticated)
}

/// The routes (without layers).
pub fn routes(app: App) -> Router {
    Router::new()
        .spec_route(OfficeRoute::RoomsRoomIdWs, get(ws::ws))
        .spec_route(OfficeRoute::Mcp, post(mcp::mcp))
        .not_found_fallback::<ErrorToken>()
        .with_state(app)
}

/// Runs the service until SIGTERM/SIGINT, then closes sessions, drains and flushes.
pub async fn run(cfg: Config) -> Result<(), BoxError> {
    // Every series of the component's fully closed metrics starts at zero.
    obspec_generated::metrics::install_for(COMPONENT)?;
    let mut flag_source = FlagSource::env();
    if let Some(f) = &cfg.flags_file {
        flag_source = flag_source.with_file(f);
    }
    let flags = Arc::new(Flags::load(&FLAGS, flag_source)?);
    let b = LogPlane::builder(&LOG_SCHEMA, COMPONENT).flags(Arc::clone(&flags));
    let plane = match &cfg.log_dir {
        Some(d) => b.file(d.clone()),
        None => b.stdout(),
    }
    .build()?;
    let _ = obspec::log::install(plane.clone());
    let trails = TrailSink::open_with(
        &cfg.trail_dir,
        &obspec_generated::trails::KEY_ORDER,
        obspec_generated::trails::SCHEMA_VERSION,
    )?;
    let rooms = rooms::Rooms::open(&cfg.db, cfg.history)?;
    // This is "the server's start" reconnects after a crash are timed from.
    let drops = Arc::new(
        reconnect::Drops::load(&rooms)
            .await
            .map_err(|e| format!("cannot load the dropped sessions: {}", e.error_token().as_str()))?,
    );
    let shutdown = Shutdown::new();
    let tasks = Tasks::new();

    let limits = Limits::builder().max_concurrency(cfg.max_concurrency).build();
    let index = Arc::new(TraceIndex::default());
    let mut ops = Ops::builder(COMPONENT)
        .trace_index(Arc::clone(&index))
        .limits(Arc::clone(&limits))
        .flags(Arc::clone(&flags))
        .log_plane(plane.clone());
    if let Some(t) = &cfg.ops_token {
        ops = ops.token(t);
    }
    let (reload_trails, ops_tenant) = (trails.clone(), cfg.ops_tenant.clone());
    let ops =
        ops.on_reload(move |e| reload_trails.submit(&ops_tenant, &obs::Reload { stage: e.stage, ok: e.ok })).build();
    let ready = Arc::clone(ops.ready_flag());

    let drain = cfg.drain_timeout;
    let listen = cfg.listen;
    let app = App {
        cfg: Arc::new(cfg),
        rooms,
        trails,
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
        drops,
        durations: Arc::default(),
    };
    let observe = ObservabilityLayer::<ErrorToken>::builder()
        .metrics(obs::OfficeRequestMetrics)
        .trace_index(index)
        .limits(Arc::clone(&limits))?
        .chaos(flags)
        // JSON-RPC errors name the request's correlation ID in their data.
        .request_ids()
        .build();
    let router = routes(app)
        // A body over the spec's bound is answered before it is read.
        .layer(BodyLimitLayer::<ErrorToken>::new(obspec_generated::Component::Office.max_body_bytes()))
        .layer(observe)
        .merge(ops::router::<ErrorToken>(ops));

    let listener = obspec::service::bind(listen).await?;
    obspec::service::announce(&listener)?;
    obspec::service::serve(listener, router, ServeOptions::new(shutdown.clone()).ready(ready).drain_timeout(drain))
        .await?;
    shutdown.trigger();
    tasks.wait_idle(drain).await;
    plane.flush(Duration::from_secs(5));
    plane.shutdown();
    Ok(())
}
