//! The Policy-Proxy of blueprint 09, built on obspec: a reverse proxy in
//! front of Core that evaluates an ABAC policy per request ([`policy`]),
//! applies the rate buckets and the concurrency limit, forwards to the
//! current stage's upstream ([`proxy`]), and switches blue/green on an
//! audited `/_reload?stage=next`.
//!
//! Every decision moves `policy_eval_total{decision}` and appends a
//! `policy.eval_min` trail (bits, decision); a denial also appends
//! `access.denied_min` (reason, token). `/_health` shows the buckets.
//! Requests without a tenant are trailed on the `--ops-tenant` stream.
//!
//! `policy-proxy --help` lists every flag and its environment variable.

pub mod config;
pub mod obs;
pub mod policy;
pub mod proxy;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::Request;
use obspec::flags::{FlagSource, Flags};
use obspec::http::limits::Permit;
use obspec::http::ops::{self, Ops};
use obspec::http::{
    ApiError, BodyLimitLayer, LimitLayer, Limits, ObservabilityLayer, Rate, Rejection, RouteExt, TraceIndex,
};
use obspec::log::LogPlane;
use obspec::service::{ServeOptions, Shutdown, TrailSink};
use obspec_generated::metrics::{self, Decision};
use obspec_generated::routes::PolicyProxyRoute;
use obspec_generated::{ErrorToken, FLAGS, LOG_SCHEMA};
use serde_json::json;

pub use config::Config;
use obs::{AccessDenied, EvalMin};
use policy::Attributes;

/// The component name (spec `components[].name`, log `component`).
pub const COMPONENT: &str = obspec_generated::Component::PolicyProxy.as_str();

/// A start-up failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The policy denied it with this token.
    Denied(ErrorToken),
    /// A bucket or the concurrency limit turned it away.
    Limited(Rejection),
}

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct App {
    /// Settings.
    pub cfg: Arc<Config>,
    /// Upstream client.
    pub client: proxy::Upstream,
    /// Buckets and concurrency limit.
    pub limits: Arc<Limits>,
    /// Maps limit rejections onto ErrorTokens.
    pub limit_errors: LimitLayer<ErrorToken>,
    /// Audit trails.
    pub trails: TrailSink,
    /// The flags in force (the stage).
    pub flags: Arc<Flags>,
}

impl App {
    /// The trail stream of a request: its tenant, else the ops stream.
    fn stream<'a>(&'a self, a: &'a Attributes) -> &'a str {
        a.tenant.as_deref().unwrap_or(&self.cfg.ops_tenant)
    }

    fn record(&self, a: &Attributes, d: Decision) {
        metrics::policy_eval_total(d).increment(1);
        self.trails.submit(self.stream(a), &EvalMin { bits: a.bits, decision: d.as_str() });
    }

    /// Evaluates the policy, then the limits; records the decision.
    pub fn decide(&self, a: &Attributes) -> Result<Permit, Refusal> {
        if let Err(denial) = policy::evaluate(a.bits) {
            self.record(a, Decision::Deny);
            self.trails.submit(self.stream(a), &AccessDenied { reason: denial.reason, err_token: denial.token });
            return Err(Refusal::Denied(denial.token));
        }
        match self.limits.check(a.tenant.as_deref(), a.session_type.map(|s| s.as_str())) {
            Ok(p) => {
                self.record(a, Decision::Allow);
                Ok(p)
            }
            Err(r) => {
                let d = match r {
                    Rejection::RateLimit { .. } => Decision::RateLimit,
                    Rejection::Backpressure { .. } => Decision::Backpressure,
                };
                self.record(a, d);
                Err(Refusal::Limited(r))
            }
        }
    }

    /// The ErrorToken answer of a refusal.
    pub fn refuse(&self, r: Refusal) -> Response {
        match r {
            Refusal::Denied(t) => ApiError::<ErrorToken>::new(t).into_response(),
            Refusal::Limited(r) => self.limit_errors.error(r).into_response(),
        }
    }

    /// The stage served now and its upstream.
    fn upstream(&self) -> (&'static str, &http::Uri) {
        let stage = self.flags.stage().unwrap_or_default();
        // The first value of the stage flag is the current stage (blue); any other is the next (green).
        let is_current = self.flags.stages().first().is_none_or(|s| *s == stage);
        (stage, if is_current { &self.cfg.upstream } else { &self.cfg.upstream_next })
    }
}

async fn eval(State(app): State<App>, req: Request<Body>) -> Response {
    let a = policy::attributes(req.method(), req.uri().path(), req.headers());
    match app.decide(&a) {
        Ok(_permit) => axum::Json(json!({"decision": Decision::Allow.as_str(), "bits": a.bits})).into_response(),
        Err(refused) => app.refuse(refused),
    }
}

async fn forward(State(app): State<App>, req: Request<Body>) -> Response {
    let a = policy::attributes(req.method(), req.uri().path(), req.headers());
    let permit = match app.decide(&a) {
        Ok(p) => p,
        Err(refused) => return app.refuse(refused),
    };
    let (stage, base) = app.upstream();
    let tenant = a.tenant.as_deref().unwrap_or_default();
    let resp = proxy::forward(&app.client, base, stage, tenant, app.cfg.upstream_timeout, req).await;
    drop(permit);
    resp
}

/// The routes of the spec's `policy_proxy`: its own (`PolicyProxyRoute::Eval`,
/// evaluates without forwarding) and the Core routes it forwards to the
/// upstream (anything else is `NOT_FOUND` here).
pub fn routes(app: App) -> Router {
    let mut r = Router::new();
    for route in PolicyProxyRoute::ALL {
        r = match route {
            PolicyProxyRoute::Eval => r.spec_route(route, any(eval)),
            _ => r.spec_route(route, any(forward)),
        };
    }
    r.not_found_fallback::<ErrorToken>().with_state(app)
}

/// Runs the proxy until SIGTERM/SIGINT, then drains and flushes.
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
    let shutdown = Shutdown::new();

    let rate = Rate::per_second(cfg.tenant_rate, cfg.tenant_burst);
    // The tenant header is trusted explicitly (the limits trust none by default).
    let mut limits =
        Limits::builder().tenant_rate(rate).tenant_key(obspec::http::HeaderKey::new(policy::TENANT_HEADER));
    for s in metrics::SessionType::ALL {
        limits = limits.session_rate(s.as_str(), rate);
    }
    let limits = limits.max_concurrency(cfg.max_concurrency).backpressure_retry_after(cfg.backpressure_retry).build();
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

    let (listen, drain) = (cfg.listen, cfg.drain_timeout);
    let app = App {
        cfg: Arc::new(cfg),
        client: proxy::client(),
        limit_errors: LimitLayer::<ErrorToken>::new(Arc::clone(&limits))?,
        limits,
        trails,
        flags: Arc::clone(&flags),
    };
    let observe = ObservabilityLayer::<ErrorToken>::builder()
        .metrics(obs::PolicyProxyRequestMetrics)
        .trace_index(index)
        .chaos(flags)
        // The proxy continues each caller's trace upstream (a child `traceparent`).
        .request_ids()
        .build();
    let router = routes(app)
        // A body over the spec's bound is answered before it is read or forwarded.
        .layer(BodyLimitLayer::<ErrorToken>::new(obspec_generated::Component::PolicyProxy.max_body_bytes()))
        .layer(observe)
        .merge(ops::router::<ErrorToken>(ops));

    let listener = obspec::service::bind(listen).await?;
    obspec::service::announce(&listener)?;
    obspec::service::serve(listener, router, ServeOptions::new(shutdown).ready(ready).drain_timeout(drain)).await?;
    plane.flush(Duration::from_secs(5));
    plane.shutdown();
    Ok(())
}

#[cfg(test)]
mod tests {
    use obspec::http::route::spec_template;
    use obspec_generated::routes::CoreRoute;

    use super::*;

    #[test]
    fn every_route_has_the_spec_template_and_every_core_route_is_forwarded() {
        for r in PolicyProxyRoute::ALL {
            assert_eq!(spec_template(r.axum_path()), r.template());
        }
        for r in CoreRoute::ALL {
            assert!(PolicyProxyRoute::from_template(r.template()).is_some(), "{r} is not forwarded");
        }
    }
}
