//! `GET /v1/rooms/{room_id}/ws?session_id=S[&last_seq=N]`: a room's events
//! over a WebSocket.
//!
//! The server first sends `{"type":"hello","room_seq":…,"replayed":…,"truncated":…}`,
//! then every kept event with `seq > last_seq` (at most `--history`, in
//! order), then live events, never one twice. A client message
//! `{"type":"brief_update"|"state_change","delta_count":n,"data":…}` becomes
//! the room's next event (broadcast to every socket of the room, the sender
//! included); a malformed one gets `{"type":"error","err":"INVALID_INPUT"}`.
//!
//! **Reconnect time** (`office_ws_reconnect_duration_seconds`, observed in
//! `session` below): from the moment the server sees a session's socket end
//! (close frame, error, EOF, or the server's own close on lag or shutdown) to
//! the moment a new socket of the same `session_id` in the same room,
//! carrying `last_seq`, is upgraded and its replay starts, also across a
//! restart: see [`crate::reconnect`] for how a drop outlives the process and
//! what is measured after a crash (from the new server's start).

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use obspec::event::LogEvent;
use obspec_generated::metrics;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::obs::{EventMin, EventType, OfficeError, SessionEnded};
use crate::{App, is_id, tenant};

/// Query of the WebSocket route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsParams {
    session_id: String,
    last_seq: Option<u64>,
}

/// The upgrade handler.
pub async fn ws(
    State(app): State<App>,
    Path(room_id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<WsParams>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, OfficeError> {
    let tenant = tenant(&headers)?;
    let Query(q) = q.map_err(|_| OfficeError::Invalid)?;
    if !is_id(&room_id) || !is_id(&q.session_id) {
        return Err(OfficeError::Invalid);
    }
    if app.shutdown.is_triggered() {
        return Err(OfficeError::Draining);
    }
    let upgrade = upgrade.map_err(|_| OfficeError::Invalid)?;
    let max = app.cfg.max_message_bytes;
    Ok(upgrade
        .max_message_size(max)
        .on_upgrade(move |socket| session(app, room_id, q.session_id, q.last_seq, tenant, socket))
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEvent {
    #[serde(rename = "type", with = "crate::obs::wire")]
    ty: EventType,
    #[serde(default)]
    delta_count: u64,
    #[serde(default)]
    data: Value,
}

/// A sequenced event as clients receive it.
#[derive(Debug, serde::Serialize)]
struct RoomEvent<'a> {
    seq: u64,
    #[serde(rename = "type", with = "crate::obs::wire")]
    ty: EventType,
    /// The session that sent it.
    session_id: &'a str,
    data: Value,
}

enum End {
    /// The client went away (close frame, error, EOF): counts as a drop.
    Client,
    /// The server closed it (shutdown, lag).
    Server,
}

async fn send(socket: &mut WebSocket, text: &str, out: &mut u64) -> bool {
    *out += text.len() as u64;
    socket.send(Message::Text(text.into())).await.is_ok()
}

async fn session(
    app: App,
    room_id: String,
    session_id: String,
    last_seq: Option<u64>,
    tenant: String,
    mut socket: WebSocket,
) {
    let _counted = app.tasks.enter();
    // Reconnect time: from the drop the server saw (in this process, or in the
    // one before a restart; after a crash, from this server's start) to this
    // resume. The session is recorded open first, so a crash from here on
    // still leaves a trace of it (crate::reconnect).
    if let Some(d) = app.drops.opened(&room_id, &session_id, last_seq.is_some()).await {
        metrics::office_ws_reconnect_duration_seconds().record(d.as_secs_f64());
    }
    let (mut bytes_in, mut bytes_out) = (0u64, 0u64);
    let sub = match app.rooms.subscribe(&room_id, last_seq.unwrap_or(0)).await {
        Ok(s) => s,
        Err(e) => {
            let _ = send(
                &mut socket,
                &json!({"type": "error", "err": e.error_token().as_str()}).to_string(),
                &mut bytes_out,
            )
            .await;
            app.drops.dropped(&room_id, &session_id).await;
            return;
        }
    };
    app.trails.submit(&tenant, &EventMin { event_type: EventType::Join, delta_count: 0, brief_version: sub.room_seq });
    let hello =
        json!({"type": "hello", "room_seq": sub.room_seq, "replayed": sub.replay.len(), "truncated": sub.truncated});
    let mut last_sent = last_seq.unwrap_or(0);
    let mut ok = send(&mut socket, &hello.to_string(), &mut bytes_out).await;
    for ev in &sub.replay {
        if !ok {
            break;
        }
        ok = send(&mut socket, &ev.json, &mut bytes_out).await;
        last_sent = ev.seq;
    }
    let mut live = sub.live;
    let stopped = app.shutdown.wait();
    tokio::pin!(stopped);
    let end = if !ok {
        End::Client
    } else {
        loop {
            tokio::select! {
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        bytes_in += t.len() as u64;
                        if !client_event(&app, &room_id, &session_id, &tenant, t.as_str(), &mut socket, &mut bytes_out).await {
                            break End::Client;
                        }
                    }
                    Some(Ok(Message::Binary(b))) => {
                        bytes_in += b.len() as u64;
                        let err = json!({"type": "error", "err": OfficeError::Invalid.error_token().as_str()});
                        if !send(&mut socket, &err.to_string(), &mut bytes_out).await {
                            break End::Client;
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break End::Client,
                },
                ev = live.recv() => match ev {
                    Ok(ev) if ev.seq > last_sent => {
                        last_sent = ev.seq;
                        if !send(&mut socket, &ev.json, &mut bytes_out).await {
                            break End::Client;
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        // Too slow: the client reconnects with last_seq and gets the rest.
                        let frame = CloseFrame { code: close_code::AGAIN, reason: "".into() };
                        let _ = socket.send(Message::Close(Some(frame))).await;
                        break End::Server;
                    }
                    Err(RecvError::Closed) => break End::Server,
                },
                () = &mut stopped => {
                    let frame = CloseFrame { code: close_code::RESTART, reason: "".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    break End::Server;
                }
            }
        }
    };
    let clean = matches!(end, End::Server);
    // Every end is a drop the session may resume from (a SIGTERM's close
    // included: the drop is durable before the process exits).
    app.drops.dropped(&room_id, &session_id).await;
    let room_seq = match app.rooms.room(&room_id).await {
        Ok(r) => r.stats().await.0,
        Err(_) => last_sent,
    };
    app.trails.submit(&tenant, &EventMin { event_type: EventType::Leave, delta_count: 0, brief_version: room_seq });
    SessionEnded { tenant: &tenant, session_id: &session_id, bytes_in, bytes_out, ok: clean }.emit();
}

/// Handles one client message; false when the socket is gone.
async fn client_event(
    app: &App,
    room_id: &str,
    session_id: &str,
    tenant: &str,
    text: &str,
    socket: &mut WebSocket,
    out: &mut u64,
) -> bool {
    let parsed = serde_json::from_str::<ClientEvent>(text)
        .ok()
        .filter(|e| matches!(e.ty, EventType::BriefUpdate | EventType::StateChange));
    let Some(ev) = parsed else {
        let err = json!({"type": "error", "err": OfficeError::Invalid.error_token().as_str()});
        return send(socket, &err.to_string(), out).await;
    };
    let (ty, sid) = (ev.ty, session_id.to_owned());
    let appended =
        app.rooms.append(room_id, move |seq| json!(RoomEvent { seq, ty, session_id: &sid, data: ev.data })).await;
    match appended {
        Ok(e) => {
            app.trails.submit(tenant, &EventMin { event_type: ty, delta_count: ev.delta_count, brief_version: e.seq });
            true
        }
        Err(e) => send(socket, &json!({"type": "error", "err": e.error_token().as_str()}).to_string(), out).await,
    }
}
