//! The Core API's routes: rooms, links, login, media presign and the tenant
//! summary. Handlers answer JSON or a [`CoreError`] (an ErrorToken answer);
//! nothing a client sends is logged, labelled or put in a trail except IDs.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{HeaderMap, StatusCode};
use obspec::http::{Limits, RouteExt};
use obspec::service::TrailSink;
use obspec_generated::ErrorToken;
use obspec_generated::metrics;
use obspec_generated::routes::CoreRoute;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::{Db, DbOp};
use crate::ladder::Ladder;
use crate::media::Media;
use crate::obs::{
    AccessDenied, AppendLink, AuthMethod, CoreError, DenyReason, LinkKind, LoginMin, MediaOp, PresignMin, bytes_class,
};
use crate::webhook::{LinkEvent, Webhooks};

/// What a room event records (`type` of `GET /v1/rooms/{room_id}/events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomEventType {
    /// The room was created (always `seq` 1).
    RoomCreated,
    /// A link was appended (`link_id` names it).
    LinkAppended,
}

impl RoomEventType {
    /// The stored (and wire) form.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomEventType::RoomCreated => "room_created",
            RoomEventType::LinkAppended => "link_appended",
        }
    }
}

/// Appends the next event of `room_id` on `c` (inside the transaction of the change).
fn append_event(
    c: &rusqlite::Connection,
    room_id: &str,
    tenant: &str,
    ty: RoomEventType,
    link_id: Option<&str>,
    created_ms: i64,
) -> rusqlite::Result<i64> {
    let seq: i64 =
        c.query_row("SELECT coalesce(max(seq), 0) + 1 FROM room_events WHERE room_id = ?1", [room_id], |r| r.get(0))?;
    c.execute(
        "INSERT INTO room_events (room_id, seq, tenant, type, link_id, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![room_id, seq, tenant, ty.as_str(), link_id, created_ms],
    )?;
    Ok(seq)
}

/// The header naming the caller's tenant (set by the policy proxy).
pub const TENANT_HEADER: &str = "x-tenant-id";

/// Longest room title accepted (characters).
pub const TITLE_MAX_CHARS: usize = 200;

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct App {
    /// The database.
    pub db: Db,
    /// Audit trails.
    pub trails: TrailSink,
    /// Webhook deliveries.
    pub webhooks: Webhooks,
    /// Media signer.
    pub media: Media,
    /// `(tenant, key)` pairs `/v1/auth/login` accepts.
    pub api_keys: Arc<[(String, String)]>,
    /// The limits (their in-flight count drives the degradation ladder).
    pub limits: Arc<Limits>,
    /// The list degradation ladder.
    pub ladder: Ladder,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A fresh ID: `prefix` and 16 hex digits.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{:016x}", obspec::http::trace::random_u64())
}

/// IDs accepted in paths and bodies: 1 to 64 of `[A-Za-z0-9_-]` (also the trail's tenant shape).
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn tenant(h: &HeaderMap) -> Result<String, CoreError> {
    h.get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|t| is_id(t))
        .map(str::to_owned)
        .ok_or(CoreError::Unauthenticated)
}

fn id(s: &str) -> Result<String, CoreError> {
    if is_id(s) { Ok(s.to_owned()) } else { Err(CoreError::Invalid) }
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, CoreError> {
    b.map(|Json(v)| v).map_err(|_| CoreError::Invalid)
}

/// The routes (without layers).
pub fn routes(app: App) -> Router {
    Router::new()
        .spec_route(CoreRoute::Rooms, post(create_room).get(list_rooms))
        .spec_route(CoreRoute::RoomsRoomId, get(get_room))
        .spec_route(CoreRoute::RoomsRoomIdEvents, get(list_events))
        .spec_route(CoreRoute::Links, post(append_link).get(list_links))
        .spec_route(CoreRoute::AuthLogin, post(login))
        .spec_route(CoreRoute::MediaPresign, post(presign))
        .spec_route(CoreRoute::TenantsTenantId, get(get_tenant))
        .not_found_fallback::<ErrorToken>()
        .with_state(app)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRoom {
    title: String,
}

async fn create_room(
    State(app): State<App>,
    headers: HeaderMap,
    b: Result<Json<NewRoom>, JsonRejection>,
) -> Result<Response, CoreError> {
    let tenant = tenant(&headers)?;
    let NewRoom { title } = body(b)?;
    if title.chars().count() > TITLE_MAX_CHARS || title.trim().is_empty() {
        return Err(CoreError::Invalid);
    }
    let room_id = new_id("r_");
    let created_ms = now_ms();
    let (r, t, tt) = (room_id.clone(), tenant, title.clone());
    app.db
        .run(DbOp::RoomsInsert, move |c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO rooms (id, tenant, title, created_ms) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![r, t, tt, created_ms],
            )?;
            append_event(&tx, &r, &t, RoomEventType::RoomCreated, None, created_ms)?;
            tx.commit()
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"room_id": room_id, "title": title, "created_ms": created_ms})))
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    limit: Option<usize>,
    room_id: Option<String>,
}

async fn list_rooms(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, CoreError> {
    let tenant = tenant(&headers)?;
    let Query(q) = q.map_err(|_| CoreError::Invalid)?;
    if q.room_id.is_some() {
        return Err(CoreError::Invalid);
    }
    let step = app.ladder.step(&app.limits);
    let limit = step.clamp(q.limit);
    let rows = app
        .db
        .run(DbOp::RoomsList, move |c| {
            let mut st = c.prepare(
                "SELECT id, title, created_ms FROM rooms WHERE tenant = ?1 ORDER BY created_ms DESC, id LIMIT ?2",
            )?;
            let rows = st.query_map(rusqlite::params![tenant, i64::try_from(limit + 1).unwrap_or(i64::MAX)], |r| {
                Ok(json!({"room_id": r.get::<_, String>(0)?, "title": r.get::<_, String>(1)?, "created_ms": r.get::<_, i64>(2)?}))
            })?;
            rows.collect::<rusqlite::Result<Vec<Value>>>()
        })
        .await?;
    Ok(Json(step.page("rooms", rows, limit)).into_response())
}

async fn get_room(
    State(app): State<App>,
    headers: HeaderMap,
    Path(room_id): Path<String>,
) -> Result<Response, CoreError> {
    let tenant = tenant(&headers)?;
    let room_id = id(&room_id)?;
    let row = app
        .db
        .run(DbOp::RoomsGet, move |c| {
            let mut st = c.prepare(
                "SELECT r.id, r.title, r.created_ms, (SELECT count(*) FROM links l WHERE l.room_id = r.id)
                 FROM rooms r WHERE r.id = ?1 AND r.tenant = ?2",
            )?;
            let mut rows = st.query_map(rusqlite::params![room_id, tenant], |r| {
                Ok(json!({
                    "room_id": r.get::<_, String>(0)?,
                    "title": r.get::<_, String>(1)?,
                    "created_ms": r.get::<_, i64>(2)?,
                    "links": r.get::<_, i64>(3)?,
                }))
            })?;
            rows.next().transpose()
        })
        .await?;
    row.map(|r| Json(r).into_response()).ok_or(CoreError::Missing)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLink {
    room_id: String,
    target_id: String,
    #[serde(with = "crate::obs::wire")]
    kind: LinkKind,
}

async fn append_link(
    State(app): State<App>,
    headers: HeaderMap,
    b: Result<Json<NewLink>, JsonRejection>,
) -> Result<Response, CoreError> {
    let tenant = tenant(&headers)?;
    let NewLink { room_id, target_id, kind } = body(b)?;
    let (room_id, target_id) = (id(&room_id)?, id(&target_id)?);
    let link_id = new_id("l_");
    let created_ms = now_ms();
    let kind_str = obspec::event::TrailEnum::as_trail_str(&kind);
    let ev = LinkEvent { link_id: link_id.clone(), room_id: room_id.clone(), target_id: target_id.clone() };
    let (e, t, dests) = (ev.clone(), tenant.clone(), app.webhooks.dest_ids());
    // The link, its room event and its webhook deliveries commit together.
    let deliveries = app
        .db
        .run(DbOp::LinksInsert, move |c| {
            let tx = c.unchecked_transaction()?;
            let inserted = tx.execute(
                "INSERT INTO links (id, tenant, room_id, target_id, kind, created_ms)
                 SELECT ?1, ?2, id, ?4, ?5, ?6 FROM rooms WHERE id = ?3 AND tenant = ?2",
                rusqlite::params![e.link_id, t, e.room_id, e.target_id, kind_str, created_ms],
            )?;
            if inserted == 0 {
                return Ok(None);
            }
            append_event(&tx, &e.room_id, &t, RoomEventType::LinkAppended, Some(&e.link_id), created_ms)?;
            let deliveries = crate::webhook::enqueue(&tx, &dests, &t, &e)?;
            tx.commit()?;
            Ok(Some(deliveries))
        })
        .await?
        .ok_or(CoreError::Missing)?;
    app.trails
        .append(&tenant, &AppendLink { link_id: &link_id, target_id: &target_id, link_kind: kind })
        .await
        .map_err(|_| CoreError::Internal)?;
    app.webhooks.start(deliveries);
    Ok((
        StatusCode::CREATED,
        Json(json!({"link_id": link_id, "room_id": room_id, "target_id": target_id, "kind": kind.as_str(), "created_ms": created_ms})),
    )
        .into_response())
}

async fn list_links(
    State(app): State<App>,
    headers: HeaderMap,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, CoreError> {
    let tenant = tenant(&headers)?;
    let Query(q) = q.map_err(|_| CoreError::Invalid)?;
    let room_id = id(q.room_id.as_deref().ok_or(CoreError::Invalid)?)?;
    let step = app.ladder.step(&app.limits);
    let limit = step.clamp(q.limit);
    let rows = app
        .db
        .run(DbOp::LinksList, move |c| {
            let exists: bool = c
                .prepare("SELECT 1 FROM rooms WHERE id = ?1 AND tenant = ?2")?
                .exists(rusqlite::params![room_id, tenant])?;
            if !exists {
                return Ok(None);
            }
            let mut st = c.prepare(
                "SELECT id, target_id, kind, created_ms FROM links WHERE room_id = ?1 AND tenant = ?2
                 ORDER BY created_ms DESC, id LIMIT ?3",
            )?;
            let rows =
                st.query_map(rusqlite::params![room_id, tenant, i64::try_from(limit + 1).unwrap_or(i64::MAX)], |r| {
                    Ok(json!({
                        "link_id": r.get::<_, String>(0)?,
                        "target_id": r.get::<_, String>(1)?,
                        "kind": r.get::<_, String>(2)?,
                        "created_ms": r.get::<_, i64>(3)?,
                    }))
                })?;
            rows.collect::<rusqlite::Result<Vec<Value>>>().map(Some)
        })
        .await?
        .ok_or(CoreError::Missing)?;
    Ok(Json(step.page("links", rows, limit)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventParams {
    /// Only events with a greater `seq` (a cursor: the last `seq` seen).
    after: Option<u64>,
    limit: Option<usize>,
}

/// `GET /v1/rooms/{room_id}/events?after=N&limit=M`: the room's events in
/// `seq` order, oldest first, from `after` (exclusive); `next_after` is the
/// cursor of the next page and `truncated` says whether there is one. The
/// page size follows the degradation ladder like every list.
async fn list_events(
    State(app): State<App>,
    headers: HeaderMap,
    Path(room_id): Path<String>,
    q: Result<Query<EventParams>, QueryRejection>,
) -> Result<Response, CoreError> {
    let tenant = tenant(&headers)?;
    let room_id = id(&room_id)?;
    let Query(q) = q.map_err(|_| CoreError::Invalid)?;
    let after = i64::try_from(q.after.unwrap_or(0)).map_err(|_| CoreError::Invalid)?;
    let step = app.ladder.step(&app.limits);
    let limit = step.clamp(q.limit);
    let rows = app
        .db
        .run(DbOp::RoomEventsList, move |c| {
            let exists: bool = c
                .prepare("SELECT 1 FROM rooms WHERE id = ?1 AND tenant = ?2")?
                .exists(rusqlite::params![room_id, tenant])?;
            if !exists {
                return Ok(None);
            }
            let mut st = c.prepare(
                "SELECT seq, type, link_id, created_ms FROM room_events
                 WHERE room_id = ?1 AND tenant = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4",
            )?;
            let rows = st.query_map(
                rusqlite::params![room_id, tenant, after, i64::try_from(limit + 1).unwrap_or(i64::MAX)],
                |r| {
                    Ok(json!({
                        "seq": r.get::<_, i64>(0)?,
                        "type": r.get::<_, String>(1)?,
                        "link_id": r.get::<_, Option<String>>(2)?,
                        "created_ms": r.get::<_, i64>(3)?,
                    }))
                },
            )?;
            rows.collect::<rusqlite::Result<Vec<Value>>>().map(Some)
        })
        .await?
        .ok_or(CoreError::Missing)?;
    let next_after = rows.iter().take(limit).next_back().and_then(|e| e["seq"].as_i64()).unwrap_or(after);
    let mut page = step.page("events", rows, limit);
    page["next_after"] = next_after.into();
    Ok(Json(page).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    api_key: String,
}

/// The answer of `/v1/auth/login`.
#[derive(Debug, serde::Serialize)]
struct LoginAnswer {
    session_token: String,
    tenant: String,
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Response, CoreError> {
    let tenant = tenant(&headers)?;
    let LoginBody { api_key } = body(b)?;
    let ok = app
        .api_keys
        .iter()
        .filter(|(t, _)| *t == tenant)
        .fold(false, |acc, (_, k)| acc | same(k.as_bytes(), api_key.as_bytes()));
    let _ = app.trails.append(&tenant, &LoginMin { auth_method: AuthMethod::ApiKey, ok }).await;
    if !ok {
        let denied = AccessDenied { reason: DenyReason::NoSession, err_token: ErrorToken::Unauthenticated };
        let _ = app.trails.append(&tenant, &denied).await;
        return Err(CoreError::Unauthenticated);
    }
    let token = format!("{}{}", new_id("s_"), new_id(""));
    let (tk, t, now) = (token.clone(), tenant.clone(), now_ms());
    app.db
        .run(DbOp::SessionsInsert, move |c| {
            c.execute(
                "INSERT INTO sessions (token, tenant, created_ms) VALUES (?1, ?2, ?3)",
                rusqlite::params![tk, t, now],
            )
        })
        .await?;
    Ok(Json(LoginAnswer { session_token: token, tenant }).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresignBody {
    #[serde(with = "crate::obs::wire")]
    op: MediaOp,
    bytes: u64,
    object_id: Option<String>,
}

async fn presign(
    State(app): State<App>,
    headers: HeaderMap,
    b: Result<Json<PresignBody>, JsonRejection>,
) -> Result<Response, CoreError> {
    let r = presign_inner(&app, &headers, b).await;
    metrics::media_presign_total(r.is_ok()).increment(1);
    r
}

async fn presign_inner(
    app: &App,
    headers: &HeaderMap,
    b: Result<Json<PresignBody>, JsonRejection>,
) -> Result<Response, CoreError> {
    let tenant = tenant(headers)?;
    let PresignBody { op, bytes, object_id } = body(b)?;
    let object_id = match (op, object_id) {
        (MediaOp::Put, None) => new_id("m_"),
        (_, Some(o)) => id(&o)?,
        (MediaOp::Get, None) => return Err(CoreError::Invalid),
    };
    let url = app.media.presign(op, &format!("{tenant}/{object_id}")).await?;
    let _ = app.trails.append(&tenant, &PresignMin { bytes_class: bytes_class(bytes), op }).await;
    Ok(Json(json!({"url": url, "object_id": object_id, "expires_in_s": app.media.ttl().as_secs()})).into_response())
}

async fn get_tenant(
    State(app): State<App>,
    headers: HeaderMap,
    Path(tenant_id): Path<String>,
) -> Result<Response, CoreError> {
    let tenant = tenant(&headers)?;
    let tenant_id = id(&tenant_id)?;
    if tenant_id != tenant {
        let _ = app
            .trails
            .append(&tenant, &AccessDenied { reason: DenyReason::Scope, err_token: ErrorToken::AccessDenied })
            .await;
        return Err(CoreError::Denied);
    }
    let t = tenant.clone();
    let (rooms, links) = app
        .db
        .run(DbOp::TenantsSummary, move |c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM rooms WHERE tenant = ?1), (SELECT count(*) FROM links WHERE tenant = ?1)",
                rusqlite::params![t],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
        })
        .await?;
    Ok(Json(json!({"tenant_id": tenant, "rooms": rooms, "links": links})).into_response())
}
