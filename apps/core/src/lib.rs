//! The Core API of blueprint 09, built on obspec: Axum + SQLite, rooms and
//! links, login, media presign and webhook deliveries, with the generated
//! emitters, the server-blind log plane, ErrorToken answers, per-tenant rate
//! limits, the ops endpoints, audit trails and graceful shutdown.
//!
//! `core --help` lists every flag and its environment variable.

pub mod api;
pub mod config;
pub mod db;
pub mod ladder;
pub mod media;
pub mod obs;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use obspec::flags::{FlagSource, Flags};
use obspec::http::ops::{self, Ops};
use obspec::http::{BodyLimitLayer, Limits, ObservabilityLayer, Rate, TraceIndex};
use obspec::log::LogPlane;
use obspec::service::{ServeOptions, Shutdown, TrailSink};
use obspec_generated::{ErrorToken, FLAGS, LOG_SCHEMA};

pub use config::Config;

/// The component name (spec `components[].name`, log `component`).
pub const COMPONENT: &str = obspec_generated::Component::Core.as_str();

/// A start-up failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn log_plane(cfg: &Config, flags: &Arc<Flags>) -> Result<LogPlane, BoxError> {
    let b = LogPlane::builder(&LOG_SCHEMA, COMPONENT).flags(Arc::clone(flags));
    let b = match &cfg.log_dir {
        Some(dir) => b.file(dir.clone()),
        None => b.stdout(),
    };
    Ok(b.build()?)
}

/// Runs the service until SIGTERM/SIGINT, then drains and flushes.
pub async fn run(cfg: Config) -> Result<(), BoxError> {
    // reqwest (webhooks) and object_store use rustls with the ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Every series of the component's fully closed metrics starts at zero.
    obspec_generated::metrics::install_for(COMPONENT)?;
    let mut flag_source = FlagSource::env();
    if let Some(f) = &cfg.flags_file {
        flag_source = flag_source.with_file(f);
    }
    let flags = Arc::new(Flags::load(&FLAGS, flag_source)?);
    let plane = log_plane(&cfg, &flags)?;
    let _ = obspec::log::install(plane.clone());
    let trails = TrailSink::open_with(
        &cfg.trail_dir,
        &obspec_generated::trails::KEY_ORDER,
        obspec_generated::trails::SCHEMA_VERSION,
    )?;
    let db = db::Db::open(&cfg.db)?;
    let shutdown = Shutdown::new();

    let rate = Rate::per_second(cfg.tenant_rate, cfg.tenant_burst);
    // The tenant is the `x-tenant-id` header the gateway in front sets (an
    // explicit opt-in: the limits trust no header by default).
    let mut limits = Limits::builder().tenant_rate(rate).tenant_key(obspec::http::HeaderKey::new(api::TENANT_HEADER));
    // Every session type of the spec gets its own bucket (and its own
    // `core_quota_exceeded_total{session_type}`), at the tenant's rate.
    for s in obspec_generated::metrics::SessionType::ALL {
        limits = limits.session_rate(s.as_str(), rate);
    }
    let limits = limits
        .max_concurrency(cfg.max_concurrency)
        .backpressure_retry_after(cfg.backpressure_retry)
        .metrics(obs::CoreLimitMetrics)
        .build();
    let index = Arc::new(TraceIndex::default());

    let webhooks = webhook::Webhooks::new(
        webhook::WebhookSettings {
            dests: cfg.webhooks.clone(),
            attempts: cfg.webhook_attempts,
            backoff: cfg.webhook_backoff,
            timeout: cfg.webhook_timeout,
        },
        trails.clone(),
        db.clone(),
        shutdown.clone(),
    )?;
    // Deliveries a crash or a SIGTERM interrupted continue now.
    webhooks.resume().await.map_err(|e| format!("cannot resume webhook deliveries: {}", e.error_token().as_str()))?;
    let media = media::Media::new(media::S3Settings {
        bucket: cfg.s3_bucket.clone(),
        region: cfg.s3_region.clone(),
        endpoint: cfg.s3_endpoint.clone(),
        access_key_id: cfg.s3_access_key_id.clone(),
        secret_access_key: cfg.s3_secret_access_key.clone(),
        ttl: cfg.presign_ttl,
    })?;
    let app = api::App {
        db,
        trails: trails.clone(),
        webhooks: webhooks.clone(),
        media,
        api_keys: cfg.api_keys.clone().into(),
        limits: Arc::clone(&limits),
        ladder: ladder::Ladder::new(ladder::default_rungs(), cfg.max_concurrency),
    };

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

    // One observability service per route: trace context, limits, chaos,
    // metrics, the log line and the trace index.
    let observe = ObservabilityLayer::<ErrorToken>::builder()
        .metrics(obs::CoreRequestMetrics)
        .trace_index(index)
        .limits(Arc::clone(&limits))?
        .chaos(flags)
        .build();
    let router: Router = api::routes(app)
        // A body over the spec's bound is answered before it is read (inside the
        // observability layer, so the refusal is logged and counted).
        .layer(BodyLimitLayer::<ErrorToken>::new(obspec_generated::Component::Core.max_body_bytes()))
        .layer(observe)
        .merge(ops::router::<ErrorToken>(ops));

    let listener = obspec::service::bind(cfg.listen).await?;
    obspec::service::announce(&listener)?;
    obspec::service::serve(
        listener,
        router,
        ServeOptions::new(shutdown.clone()).ready(ready).drain_timeout(cfg.drain_timeout),
    )
    .await?;
    shutdown.trigger();
    webhooks.wait_idle(cfg.drain_timeout).await;
    plane.flush(Duration::from_secs(5));
    plane.shutdown();
    Ok(())
}
