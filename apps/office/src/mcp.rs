//! `POST /mcp`: a JSON-RPC 2.0 (MCP) endpoint with a few deterministic tools.
//!
//! Methods: `initialize`, `tools/list`, `tools/call` (`{name, arguments}`);
//! notifications (no `id`) get `202 Accepted`. Every tool takes `room_id`;
//! each room runs at most `--room-concurrency` calls at once, and a call over
//! the cap gets `BACKPRESSURE` with `retry_after_ms` = the time until the
//! first running call of the room is expected to end (its declared duration
//! for `wait`, the tool's moving average otherwise).
//!
//! Each call moves `office_mcp_call_total{tool,ok,err}` and
//! `office_mcp_call_duration_seconds{tool}`, appends an `office.tool_call`
//! trail (tool, argument count, argument IDs, cost, ok) and logs one line.
//! Argument values other than IDs never leave the handler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use obspec::event::LogEvent;
use obspec::http::{ApiError, RequestIds};
use obspec_generated::ErrorToken;
use obspec_generated::metrics::{self, Tool as ToolLabel};
use serde_json::{Value, json};

use crate::obs::{HandoverMin, OfficeError, ToolCallMin, ToolCalled};
use crate::{App, is_id, tenant};

/// The tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `{room_id}` → the room's sequence number and events kept.
    RoomStats,
    /// `{room_id, values: [int]}` → their sum.
    Sum,
    /// `{room_id, ms}` → waits `ms` (at most `--max-wait-ms`).
    Wait,
    /// `{room_id, summary_id, refs: [id]}` → hands the room over: a `handover`
    /// event in the room and an `office.handover` trail.
    Handover,
}

impl Tool {
    /// Every tool.
    pub const ALL: [Tool; 4] = [Tool::RoomStats, Tool::Sum, Tool::Wait, Tool::Handover];

    /// The tool's value of the spec's closed `tool` label.
    pub fn label(self) -> ToolLabel {
        match self {
            Tool::RoomStats => ToolLabel::RoomStats,
            Tool::Sum => ToolLabel::Sum,
            Tool::Wait => ToolLabel::Wait,
            Tool::Handover => ToolLabel::Handover,
        }
    }

    /// The tool's name (its `tool` label and trail value).
    pub fn name(self) -> &'static str {
        self.label().as_str()
    }

    fn parse(s: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == s)
    }

    fn describe(self) -> Value {
        let (desc, props, req): (&str, Value, Value) = match self {
            Tool::RoomStats => ("The room's sequence number and the number of events kept.", json!({}), json!([])),
            Tool::Sum => (
                "Adds integers.",
                json!({"values": {"type": "array", "items": {"type": "integer"}, "maxItems": 1000}}),
                json!(["values"]),
            ),
            Tool::Wait => {
                ("Waits a number of milliseconds.", json!({"ms": {"type": "integer", "minimum": 0}}), json!(["ms"]))
            }
            Tool::Handover => (
                "Hands the room over with a (client-encrypted) summary blob and references.",
                json!({"summary_id": {"type": "string"}, "refs": {"type": "array", "items": {"type": "string"}}}),
                json!(["summary_id"]),
            ),
        };
        let mut props = props;
        if let Some(p) = props.as_object_mut() {
            p.insert("room_id".to_owned(), json!({"type": "string"}));
        }
        let mut required = vec![json!("room_id")];
        required.extend(req.as_array().cloned().unwrap_or_default());
        json!({"name": self.name(), "description": desc, "inputSchema": {"type": "object", "properties": props, "required": required}})
    }
}

/// Moving averages of each tool's duration (µs), for `retry_after_ms`.
#[derive(Debug, Default)]
pub struct Durations([AtomicU64; 4]);

impl Durations {
    fn expected(&self, t: Tool) -> Duration {
        Duration::from_micros(self.0[t as usize].load(Ordering::Relaxed).max(1000))
    }

    fn observe(&self, t: Tool, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let cell = &self.0[t as usize];
        let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
            Some(if old == 0 { us } else { (old.saturating_mul(7) + us) / 8 })
        });
    }
}

fn rpc_error(id: Value, e: ApiError<ErrorToken>, ids: Option<&RequestIds>) -> Value {
    let e = match ids {
        Some(i) => e.correlation_id(i.correlation_id),
        None => e,
    };
    e.to_jsonrpc(id)
}

fn ok(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// The endpoint.
pub async fn mcp(
    State(app): State<App>,
    headers: HeaderMap,
    ids: Option<Extension<RequestIds>>,
    body: Bytes,
) -> Response {
    let ids = ids.map(|Extension(i)| i);
    let answer = |v: Value| axum::Json(v).into_response();
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return answer(rpc_error(Value::Null, OfficeError::Invalid.into(), ids.as_ref()));
    };
    let id = req.get("id").cloned();
    let method = req.get("method").and_then(Value::as_str);
    if req.get("jsonrpc").and_then(Value::as_str) != Some("2.0") || method.is_none() {
        return answer(rpc_error(id.unwrap_or(Value::Null), OfficeError::Invalid.into(), ids.as_ref()));
    }
    let Some(id) = id else {
        return StatusCode::ACCEPTED.into_response();
    };
    let params = req.get("params").cloned().unwrap_or(Value::Null);
    let out = match method.unwrap_or_default() {
        "initialize" => ok(
            id,
            json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": crate::COMPONENT, "version": env!("CARGO_PKG_VERSION")}}),
        ),
        "tools/list" => ok(id, json!({"tools": Tool::ALL.iter().map(|t| t.describe()).collect::<Vec<_>>()})),
        "tools/call" => match call(&app, &headers, &params).await {
            Ok(v) => ok(
                id,
                json!({"content": [{"type": "text", "text": v.to_string()}], "structuredContent": v, "isError": false}),
            ),
            Err(e) => rpc_error(id, e, ids.as_ref()),
        },
        _ => rpc_error(id, OfficeError::Unsupported.into(), ids.as_ref()),
    };
    answer(out)
}

impl From<OfficeError> for ApiError<ErrorToken> {
    fn from(e: OfficeError) -> Self {
        ApiError::new(e.error_token())
    }
}

async fn call(app: &App, headers: &HeaderMap, params: &Value) -> Result<Value, ApiError<ErrorToken>> {
    let start = Instant::now();
    let name = params.get("name").and_then(Value::as_str).unwrap_or_default();
    let Some(tool) = Tool::parse(name) else {
        // A name the service does not define never becomes a label value.
        metrics::office_mcp_call_total(ToolLabel::Other, false, Some(ErrorToken::Unsupported)).increment(1);
        return Err(OfficeError::Unsupported.into());
    };
    let tenant = tenant(headers).ok();
    let args = params.get("arguments").cloned().unwrap_or_else(|| json!({}));
    let r = match &tenant {
        None => Err(OfficeError::Unauthenticated.into()),
        Some(t) => run(app, t, tool, &args).await,
    };
    let elapsed = start.elapsed();
    let err = r.as_ref().err().map(ApiError::token);
    metrics::office_mcp_call_total(tool.label(), err.is_none(), err).increment(1);
    metrics::office_mcp_call_duration_seconds(tool.label()).record(elapsed.as_secs_f64());
    if let Some(t) = &tenant {
        let arg_count = args.as_object().map_or(0, |o| o.len() as u64);
        let call =
            ToolCallMin { tool: tool.name(), arg_count, arg_ids: arg_ids(&args), cost_calls: 0, ok: err.is_none() };
        app.trails.submit(t, &call);
        ToolCalled {
            tenant: t,
            tool: tool.name(),
            ok: err.is_none(),
            err_token: err,
            latency_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            cost_calls: 0,
        }
        .emit();
    }
    r
}

/// The ID-shaped values among the arguments (`room_id`, `summary_id`, `refs`).
fn arg_ids(args: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["room_id", "summary_id"] {
        if let Some(s) = args.get(key).and_then(Value::as_str).filter(|s| is_id(s)) {
            out.push(s.to_owned());
        }
    }
    if let Some(refs) = args.get("refs").and_then(Value::as_array) {
        out.extend(refs.iter().filter_map(Value::as_str).filter(|s| is_id(s)).map(str::to_owned));
    }
    out
}

fn id_arg(args: &Value, key: &str) -> Result<String, OfficeError> {
    args.get(key).and_then(Value::as_str).filter(|s| is_id(s)).map(str::to_owned).ok_or(OfficeError::Invalid)
}

async fn run(app: &App, tenant: &str, tool: Tool, args: &Value) -> Result<Value, ApiError<ErrorToken>> {
    if app.shutdown.is_triggered() {
        return Err(OfficeError::Draining.into());
    }
    let room_id = id_arg(args, "room_id")?;
    let wait_ms = match tool {
        Tool::Wait => {
            let ms = args.get("ms").and_then(Value::as_u64).ok_or(OfficeError::Invalid)?;
            Some(Duration::from_millis(ms).min(app.cfg.max_wait))
        }
        _ => None,
    };
    let room = app.rooms.room(&room_id).await?;
    let expected = wait_ms.unwrap_or_else(|| app.durations.expected(tool));
    let _slot = room.try_call(app.cfg.room_concurrency, expected).map_err(|left| {
        let ms = u64::try_from(left.as_micros().div_ceil(1000)).unwrap_or(u64::MAX).max(1);
        ApiError::with_retry_after(OfficeError::Busy.error_token(), ms)
    })?;
    let start = Instant::now();
    let out = match tool {
        Tool::RoomStats => {
            let (seq, kept) = room.stats().await;
            json!({"room_seq": seq, "kept": kept})
        }
        Tool::Sum => {
            let values = args.get("values").and_then(Value::as_array).ok_or(OfficeError::Invalid)?;
            if values.len() > 1000 {
                return Err(OfficeError::Invalid.into());
            }
            let mut total: i64 = 0;
            for v in values {
                total = total.checked_add(v.as_i64().ok_or(OfficeError::Invalid)?).ok_or(OfficeError::Invalid)?;
            }
            json!({"total": total})
        }
        Tool::Wait => {
            let d = wait_ms.unwrap_or_default();
            tokio::time::sleep(d).await;
            json!({"waited_ms": d.as_millis() as u64})
        }
        Tool::Handover => {
            let summary_id = id_arg(args, "summary_id")?;
            let refs: Vec<String> = match args.get("refs") {
                None => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().filter(|s| is_id(s)).map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or(OfficeError::Invalid)?,
                Some(_) => return Err(OfficeError::Invalid.into()),
            };
            let (covered, _) = room.stats().await;
            let (sid, n) = (summary_id.clone(), refs.len());
            let ev = app
                .rooms
                .append(
                    &room_id,
                    move |seq| json!({"seq": seq, "type": "handover", "summary_id": sid, "refs_count": n}),
                )
                .await?;
            let h = HandoverMin { summary_id: &summary_id, events_count: covered, refs_count: refs.len() as u64 };
            app.trails.append(tenant, &h).await.map_err(|_| OfficeError::Internal)?;
            json!({"handover_seq": ev.seq, "events_count": covered})
        }
    };
    app.durations.observe(tool, start.elapsed());
    Ok(out)
}

#[cfg(test)]
mod tool_label_tests {
    use super::*;

    #[test]
    fn the_tools_are_the_spec_tool_label_but_other() {
        let mine: Vec<ToolLabel> = Tool::ALL.iter().map(|t| t.label()).collect();
        let spec: Vec<ToolLabel> = ToolLabel::ALL.into_iter().filter(|l| *l != ToolLabel::Other).collect();
        assert_eq!(mine, spec, "a tool the spec's `tool` label lacks, or one it declares that Office does not serve");
        assert!(Tool::ALL.iter().all(|t| Tool::parse(t.name()) == Some(*t)));
    }
}
