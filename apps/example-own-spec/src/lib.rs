//! `oven`: an example service that keeps **its own spec** (`spec/` next to
//! this crate's `Cargo.toml`, a vocabulary unrelated to the blueprint's) and
//! adopts obspec through `obspec_macros::spec!` instead of the
//! `obspec-generated` crate.
//!
//! [`obs`] expands the spec into the same items `obspec-generated` holds for
//! the repository's spec: the `ErrorToken` enum, typed metric emitters, the
//! log schema and the flag table. The derives find the same `spec/` (the
//! first one above `CARGO_MANIFEST_DIR`), so `#[derive(LogEvent)]` checks
//! field names against this spec's log allow-list and `#[derive(ErrorToken)]`
//! maps onto this spec's tokens (`#[obspec(vocab = "crate::obs")]`).
//!
//! One route, `GET /v1/loaves/{loaf_id}`, behind the runtime's layers
//! (observability, per-baker rate limit), plus the ops endpoints (`/_health`,
//! `/metrics`); `oven --help` lists the flags.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::{Arg, ArgAction, Command, value_parser};
use http::HeaderMap;
use obspec::event::LogEvent;
use obspec::flags::{FlagSource, Flags};
use obspec::http::ops::{self, Ops};
use obspec::http::{ApiError, Limits, ObservabilityLayer, Rate, RequestMetrics, TraceIndex};
use obspec::log::LogPlane;
use obspec::service::{ServeOptions, Shutdown};

pub mod obs {
    //! This service's vocabulary, expanded from `spec/` at compile time
    //! (editing the spec rebuilds it). The path is relative to this crate's
    //! `CARGO_MANIFEST_DIR` (an absolute path works too); an invalid spec
    //! fails the build with every diagnostic, located `file:line:col`.
    obspec_macros::spec!("spec");
}

use obs::ErrorToken;
use obs::metrics::{Method, Status};

/// The component name (spec `components[].name`).
pub const COMPONENT: &str = "oven";

/// The header naming the caller (the rate limit's tenant).
pub const BAKER_HEADER: &str = "x-tenant-id";

/// A start-up failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a lookup fails, in this spec's ErrorToken vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, obspec_macros::ErrorToken)]
#[obspec(vocab = "crate::obs")]
pub enum OvenError {
    /// The loaf ID is malformed.
    #[token(BAD_REQUEST)]
    Malformed,
    /// No baker named.
    #[token(NO_CREDENTIALS)]
    NoBaker,
    /// No such loaf (or route).
    #[token(NO_SUCH_LOAF)]
    Missing,
}

impl IntoResponse for OvenError {
    fn into_response(self) -> Response {
        ApiError::new(self.error_token()).into_response()
    }
}

/// Log line of a lookup: IDs and a counter only (field names from this spec).
#[derive(Debug, obspec_macros::LogEvent)]
pub struct LoafLooked<'a> {
    /// Who asked.
    pub baker: &'a str,
    /// The loaf.
    pub loaf: &'a str,
    /// Racks it takes.
    pub racks: u64,
}

/// `oven_requests_total{path,method,status}` and `oven_request_seconds{path}`,
/// fed by the observability layer for every request.
#[derive(Debug, Clone, Copy, Default)]
pub struct OvenMetrics;

impl RequestMetrics for OvenMetrics {
    fn record(&self, route: &str, method: &http::Method, status: u16, latency: Duration) {
        if let (Some(v), Some(s)) = (Method::from_value(method.as_str()), Status::from_number(u64::from(status))) {
            obs::metrics::oven_requests_total_row(route).get(v, s).increment(1);
        }
        obs::metrics::oven_request_seconds(route).record(latency.as_secs_f64());
    }
}

/// Settings (`oven --help`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (port 0: any free port; printed on stdout line 1).
    pub listen: SocketAddr,
    /// Root of the daily log files; stdout when unset.
    pub log_dir: Option<PathBuf>,
    /// The loaves, `id=racks`.
    pub loaves: Vec<(String, u64)>,
    /// Requests per second per baker.
    pub rate: u32,
    /// Burst per baker.
    pub burst: u32,
}

fn command() -> Command {
    let arg = |name: &'static str, env: &'static str, help: &'static str| {
        Arg::new(name).long(name).env(env).help(help).action(ArgAction::Set)
    };
    Command::new("oven")
        .about("Example service with its own obspec spec: GET /v1/loaves/{loaf_id}")
        .arg(
            arg("listen", "OVEN_LISTEN", "Address to bind; port 0 picks one (printed on stdout line 1)")
                .default_value("127.0.0.1:8090")
                .value_parser(value_parser!(SocketAddr)),
        )
        .arg(
            arg("log-dir", "OVEN_LOG_DIR", "Root of the daily log files (default: stdout)")
                .value_parser(value_parser!(PathBuf)),
        )
        .arg(
            Arg::new("loaf")
                .long("loaf")
                .env("OVEN_LOAVES")
                .help("A loaf, id=racks (repeat or comma-separate)")
                .action(ArgAction::Append)
                .value_delimiter(',')
                .default_value("rye=2,spelt=1"),
        )
        .arg(
            arg("rate", "OVEN_RATE", "Requests per second per baker")
                .default_value("20")
                .value_parser(value_parser!(u32)),
        )
        .arg(arg("burst", "OVEN_BURST", "Burst per baker").default_value("40").value_parser(value_parser!(u32)))
}

impl Config {
    /// Parses the process arguments and environment (exits on `--help` or an error).
    pub fn from_args() -> Self {
        let m = command().get_matches();
        let mut loaves = Vec::new();
        for s in m.get_many::<String>("loaf").into_iter().flatten().filter(|s| !s.is_empty()) {
            match s.split_once('=').and_then(|(id, n)| Some((id, n.parse::<u64>().ok()?))) {
                Some((id, n)) if is_id(id) => loaves.push((id.to_owned(), n)),
                _ => command().error(clap::error::ErrorKind::ValueValidation, "--loaf: expected id=racks").exit(),
            }
        }
        Self {
            listen: m.get_one::<SocketAddr>("listen").copied().unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            log_dir: m.get_one::<PathBuf>("log-dir").cloned(),
            loaves,
            rate: m.get_one::<u32>("rate").copied().unwrap_or(1),
            burst: m.get_one::<u32>("burst").copied().unwrap_or(1),
        }
    }
}

/// Loaf IDs: 1 to 32 of `[a-z0-9_-]` (the spec's `id_max_len`).
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

type Loaves = Arc<HashMap<String, u64>>;

/// The answer of `GET /v1/loaves/{loaf_id}`.
#[derive(Debug, serde::Serialize)]
struct LoafAnswer {
    loaf_id: String,
    racks: u64,
}

async fn loaf(State(loaves): State<Loaves>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, OvenError> {
    let baker =
        headers.get(BAKER_HEADER).and_then(|v| v.to_str().ok()).filter(|b| is_id(b)).ok_or(OvenError::NoBaker)?;
    if !is_id(&id) {
        return Err(OvenError::Malformed);
    }
    let racks = *loaves.get(&id).ok_or(OvenError::Missing)?;
    LoafLooked { baker, loaf: &id, racks }.emit();
    Ok(Json(LoafAnswer { loaf_id: id, racks }).into_response())
}

/// The route (without layers).
pub fn routes(loaves: Vec<(String, u64)>) -> Router {
    Router::new()
        .route("/v1/loaves/{loaf_id}", get(loaf))
        .fallback(|| async { OvenError::Missing })
        .with_state(Arc::new(loaves.into_iter().collect::<HashMap<_, _>>()))
}

/// Runs the service until SIGTERM/SIGINT, then drains and flushes.
pub async fn run(cfg: Config) -> Result<(), BoxError> {
    obs::metrics::install()?;
    let flags = Arc::new(Flags::load(&obs::FLAGS, FlagSource::env())?);
    let b = LogPlane::builder(&obs::LOG_SCHEMA, COMPONENT).flags(Arc::clone(&flags));
    let plane = match &cfg.log_dir {
        Some(d) => b.file(d.clone()),
        None => b.stdout(),
    }
    .build()?;
    let _ = obspec::log::install(plane.clone());
    // The baker header names the tenant, trusted explicitly.
    let limits = Limits::builder()
        .tenant_rate(Rate::per_second(cfg.rate, cfg.burst))
        .tenant_key(obspec::http::HeaderKey::new(BAKER_HEADER))
        .build();
    let index = Arc::new(TraceIndex::default());
    let ops = Ops::builder(COMPONENT)
        .trace_index(Arc::clone(&index))
        .limits(Arc::clone(&limits))
        .flags(flags)
        .log_plane(plane.clone())
        .build();
    let ready = Arc::clone(ops.ready_flag());
    let router = routes(cfg.loaves)
        .layer(
            ObservabilityLayer::<ErrorToken>::builder().metrics(OvenMetrics).trace_index(index).limits(limits)?.build(),
        )
        .merge(ops::router::<ErrorToken>(ops));
    let listener = obspec::service::bind(cfg.listen).await?;
    obspec::service::announce(&listener)?;
    let shutdown = Shutdown::new();
    obspec::service::serve(listener, router, ServeOptions::new(shutdown).ready(ready)).await?;
    plane.flush(Duration::from_secs(5));
    plane.shutdown();
    Ok(())
}
