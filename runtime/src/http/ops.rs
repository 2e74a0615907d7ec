//! The ops endpoints (blueprint 09 §5.1) as a `Router` a service merges:
//!
//! | path | |
//! |---|---|
//! | `GET /_health` | liveness and readiness JSON with a snapshot of the rate buckets; 503 when not ready |
//! | `GET /metrics`, `GET /_metrics` | the recorder's Prometheus exposition |
//! | `GET /_trace/{id}` | allow-listed metadata of recent requests of a trace (ops token) |
//! | `POST /_reload?stage=next` | re-reads the flags and switches the stage (ops token, audited) |
//!
//! The ops token is sent in `x-ops-token` (configurable) and compared in
//! constant time. Without a configured token the protected endpoints answer
//! the token of role `access_denied`; every other error is also a role's
//! token (`unauthenticated`, `invalid_input`, `not_found`, `unavailable`).
//! JSON keys that name log fields (`/_trace` entries, the component) are the
//! log schema's names for the roles. Merge this router *outside* the observability layer
//! (`app.layer(obs).merge(ops::router(ops))`) so scrapes and probes are not
//! logged as traffic.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use subtle::ConstantTimeEq;

use crate::flags::Flags;
use crate::http::error::{ApiError, ErrorInfo, TokenInfo, TokenRole};
use crate::http::index::TraceIndex;
use crate::http::limits::Limits;
use crate::http::trace::{RequestIds, parse_trace_id};
use crate::log::{LogPlane, LogRole, LogSchema};

/// What `/_reload` did, for the audit trail (kind `ops.reload`, data `stage`
/// and `ok`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadEvent {
    /// The stage requested (one of the stage flag's values).
    pub stage: &'static str,
    /// The stage served before.
    pub previous: &'static str,
    /// Whether the switch happened (false: the flags could not be re-read,
    /// and nothing changed).
    pub ok: bool,
}

type Hook = Arc<dyn Fn(&ReloadEvent) + Send + Sync>;
type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// State of the ops endpoints; build with [`Ops::builder`].
#[derive(Clone)]
pub struct Ops {
    component: &'static str,
    index: Option<Arc<TraceIndex>>,
    limits: Option<Arc<Limits>>,
    ready: Arc<AtomicBool>,
    flags: Option<Arc<Flags>>,
    schema: Option<&'static LogSchema>,
    token: Option<Arc<[u8]>>,
    token_header: HeaderName,
    render: Render,
    on_reload: Option<Hook>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Ops").field(&self.component).field(&self.token.as_ref().map(|_| "[token set]")).finish()
    }
}

/// Configures [`Ops`].
#[derive(Debug)]
pub struct OpsBuilder(Ops);

impl OpsBuilder {
    /// The recent-request index the observability layer fills.
    pub fn trace_index(mut self, index: Arc<TraceIndex>) -> Self {
        self.0.index = Some(index);
        self
    }

    /// The limits whose buckets `/_health` shows.
    pub fn limits(mut self, limits: Arc<Limits>) -> Self {
        self.0.limits = Some(limits);
        self
    }

    /// The readiness flag (default: ready).
    pub fn ready(mut self, ready: Arc<AtomicBool>) -> Self {
        self.0.ready = ready;
        self
    }

    /// The flags in force (shared with the log plane and the chaos layer);
    /// `/_reload` re-reads their sources and switches their stage.
    pub fn flags(mut self, flags: Arc<Flags>) -> Self {
        self.0.flags = Some(flags);
        self
    }

    /// The log schema whose field names key `/_trace` entries (default: the
    /// log plane's, or the global plane's).
    pub fn schema(mut self, schema: &'static LogSchema) -> Self {
        self.0.schema = Some(schema);
        self
    }

    /// The log plane: its schema keys `/_trace` entries, and its flags are
    /// the ones `/_reload` re-reads unless [`OpsBuilder::flags`] is given.
    pub fn log_plane(mut self, plane: LogPlane) -> Self {
        self.0.schema = self.0.schema.or(Some(plane.schema()));
        if self.0.flags.is_none() {
            self.0.flags = plane.flags().cloned();
        }
        self
    }

    /// The ops token protecting `/_trace` and `/_reload`.
    pub fn token(mut self, token: impl AsRef<[u8]>) -> Self {
        let t = token.as_ref();
        self.0.token = (!t.is_empty()).then(|| Arc::from(t));
        self
    }

    /// The header carrying the ops token (default `x-ops-token`).
    pub fn token_header(mut self, name: HeaderName) -> Self {
        self.0.token_header = name;
        self
    }

    /// The `/metrics` body (default: [`crate::metrics::render`], the installed recorder).
    pub fn render(mut self, f: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.0.render = Arc::new(f);
        self
    }

    /// Called with every authenticated reload (wire it to the trail writer).
    pub fn on_reload(mut self, f: impl Fn(&ReloadEvent) + Send + Sync + 'static) -> Self {
        self.0.on_reload = Some(Arc::new(f));
        self
    }

    /// The state.
    pub fn build(mut self) -> Ops {
        if self.0.schema.is_none() {
            self.0.schema = crate::log::global().map(LogPlane::schema);
        }
        self.0
    }
}

impl Ops {
    /// Starts configuring the ops endpoints of `component`.
    pub fn builder(component: &'static str) -> OpsBuilder {
        OpsBuilder(Ops {
            component,
            index: None,
            limits: None,
            ready: Arc::new(AtomicBool::new(true)),
            flags: None,
            schema: None,
            token: None,
            token_header: HeaderName::from_static("x-ops-token"),
            render: Arc::new(crate::metrics::render),
            on_reload: None,
        })
    }

    /// The readiness flag.
    pub fn ready_flag(&self) -> &Arc<AtomicBool> {
        &self.ready
    }

    /// The flags in force, if given.
    pub fn flags(&self) -> Option<&Arc<Flags>> {
        self.flags.as_ref()
    }

    fn check_token<T: TokenInfo>(&self, headers: &HeaderMap) -> Result<(), ApiError<T>> {
        let Some(expected) = &self.token else {
            return Err(ApiError::new(T::for_role(TokenRole::AccessDenied)));
        };
        let given = headers.get(&self.token_header).map_or(&[][..], HeaderValue::as_bytes);
        if bool::from(given.ct_eq(expected)) {
            Ok(())
        } else {
            Err(ApiError::new(T::for_role(TokenRole::Unauthenticated)))
        }
    }

    fn health<T: TokenInfo>(&self) -> Response {
        let ready = self.ready.load(Ordering::Acquire);
        let mut m = serde_json::Map::new();
        if let Some(k) = self.schema.and_then(|s| s.role_name(LogRole::Component)) {
            m.insert(k.to_owned(), self.component.into());
        }
        m.insert("live".to_owned(), true.into());
        m.insert("ready".to_owned(), ready.into());
        if let Some(f) = &self.flags {
            m.insert("stage".to_owned(), f.stage().map_or(serde_json::Value::Null, Into::into));
            m.insert("chaos_light".to_owned(), f.chaos_light().into());
        }
        m.insert("limits".to_owned(), self.limits.as_ref().map_or(serde_json::Value::Null, |l| l.snapshot()));
        let mut resp = json(if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, &m.into());
        if !ready {
            // A readiness probe's answer, kept as is by the error-token layer.
            let t = T::for_role(TokenRole::Unavailable);
            resp.extensions_mut().insert(ErrorInfo {
                token: t.as_str(),
                status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
                retry_after_ms: None,
                complete: true,
            });
        }
        resp
    }

    fn metrics(&self) -> Response {
        let mut resp = Response::new(Body::from((self.render)()));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(crate::metrics::CONTENT_TYPE));
        resp
    }

    fn trace<T: TokenInfo>(&self, headers: &HeaderMap, id: &str) -> Result<Response, ApiError<T>> {
        self.check_token::<T>(headers)?;
        let trace_id = parse_trace_id(id).ok_or_else(|| ApiError::new(T::for_role(TokenRole::InvalidInput)))?;
        let schema = self.schema.ok_or_else(|| ApiError::new(T::for_role(TokenRole::Unavailable)))?;
        let found = self.index.as_ref().map(|i| i.lookup(trace_id)).unwrap_or_default();
        if found.is_empty() {
            return Err(ApiError::new(T::for_role(TokenRole::NotFound)));
        }
        let mut m = serde_json::Map::new();
        if let Some(k) = schema.role_name(LogRole::TraceId) {
            m.insert(k.to_owned(), id.into());
        }
        m.insert("requests".to_owned(), found.iter().map(|e| e.to_json(schema)).collect::<Vec<_>>().into());
        Ok(json(StatusCode::OK, &m.into()))
    }

    fn reload<T: TokenInfo>(&self, headers: &HeaderMap, uri: &Uri) -> Result<Response, ApiError<T>> {
        self.check_token::<T>(headers)?;
        let invalid = || ApiError::new(T::for_role(TokenRole::InvalidInput));
        let flags = self.flags.as_ref().ok_or_else(|| ApiError::new(T::for_role(TokenRole::Unavailable)))?;
        let asked =
            uri.query().unwrap_or("").split('&').find_map(|kv| kv.strip_prefix("stage=")).ok_or_else(invalid)?;
        let stage = flags.stages().iter().copied().find(|s| *s == asked).ok_or_else(invalid)?;
        let previous = flags.stage().ok_or_else(invalid)?;
        let ok = flags.reload().is_ok();
        if ok {
            flags.set_stage(stage);
        }
        if let Some(hook) = &self.on_reload {
            hook(&ReloadEvent { stage, previous, ok });
        }
        if !ok {
            return Err(ApiError::new(T::for_role(TokenRole::Unavailable)));
        }
        let mut m = serde_json::Map::new();
        if let Some(k) = self.schema.and_then(|s| s.role_name(LogRole::Ok)) {
            m.insert(k.to_owned(), true.into());
        }
        m.insert("stage".to_owned(), stage.into());
        m.insert("previous".to_owned(), previous.into());
        Ok(json(StatusCode::OK, &m.into()))
    }
}

/// The answer of a protected endpoint: an error gets the request's
/// correlation ID in its body, and both carry `traceparent` and
/// `x-correlation-id` (the ops router sits outside the observability layer;
/// inside it, the layer's IDs are used).
fn answer<T: TokenInfo>(ids: Option<RequestIds>, headers: &HeaderMap, r: Result<Response, ApiError<T>>) -> Response {
    let ids = ids.unwrap_or_else(|| RequestIds::from_headers(headers));
    let mut resp = match r {
        Ok(resp) => resp,
        Err(e) => e.correlation_id(ids.correlation_id).into_response(),
    };
    ids.write_headers(resp.headers_mut());
    resp
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response {
    let mut resp = Response::new(Body::from(v.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// The ops endpoints over `ops`, answering errors with the vocabulary `T`.
pub fn router<T: TokenInfo>(ops: Ops) -> Router {
    let ops = Arc::new(ops);
    let (h, m1, m2, t, r) = (Arc::clone(&ops), Arc::clone(&ops), Arc::clone(&ops), Arc::clone(&ops), ops);
    Router::new()
        .route("/_health", get(move || async move { h.health::<T>() }))
        .route("/metrics", get(move || async move { m1.metrics() }))
        .route("/_metrics", get(move || async move { m2.metrics() }))
        .route(
            "/_trace/{id}",
            get(move |ids: Option<Extension<RequestIds>>, headers: HeaderMap, Path(id): Path<String>| async move {
                answer(ids.map(|e| e.0), &headers, t.trace::<T>(&headers, &id))
            }),
        )
        .route(
            "/_reload",
            post(move |ids: Option<Extension<RequestIds>>, headers: HeaderMap, uri: Uri| async move {
                answer(ids.map(|e| e.0), &headers, r.reload::<T>(&headers, &uri))
            }),
        )
}
