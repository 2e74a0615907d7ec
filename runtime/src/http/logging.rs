//! One log line per request through the server-blind log plane: route
//! template, method, ok, err_token, code, latency_ms, bytes_in, bytes_out,
//! trace_id and correlation_id. The plane decides sampling (errors always
//! kept, successes at the configured rate, consistently per trace-id) before
//! anything is formatted. Fields the schema does not declare are skipped.

use crate::http::index::TraceEntry;
use crate::http::route::{OVERFLOW, UNMATCHED};
use crate::http::trace::RequestIds;
use crate::log::{Emitted, FieldSlot, LogFieldType, LogPlane, LogSchema};

/// The schema slots of the request fields, resolved once per plane.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLogSlots {
    route: Option<FieldSlot>,
    method: Option<FieldSlot>,
    ok: Option<FieldSlot>,
    err_token: Option<FieldSlot>,
    code: Option<FieldSlot>,
    latency_ms: Option<FieldSlot>,
    bytes_in: Option<FieldSlot>,
    bytes_out: Option<FieldSlot>,
    trace_id: Option<FieldSlot>,
    correlation_id: Option<FieldSlot>,
}

impl RequestLogSlots {
    /// Finds the fields in `schema`: roles by type (route, method, outcome,
    /// error token, trace-id) or by their usual names, the rest by name.
    pub fn resolve(schema: &LogSchema) -> Self {
        let by = |ty: LogFieldType, name: &str| schema.role_slot(ty).or_else(|| schema.slot(name));
        Self {
            route: by(LogFieldType::Route, "route"),
            method: by(LogFieldType::Method, "method"),
            ok: by(LogFieldType::Outcome, "ok"),
            err_token: by(LogFieldType::ErrorToken, "err_token"),
            code: schema.slot("code"),
            latency_ms: schema.slot("latency_ms"),
            bytes_in: schema.slot("bytes_in"),
            bytes_out: schema.slot("bytes_out"),
            trace_id: by(LogFieldType::TraceId, "trace_id"),
            correlation_id: schema.slot("correlation_id"),
        }
    }
}

/// Writes the request's line on `plane`.
pub fn log_request(plane: &LogPlane, slots: &RequestLogSlots, e: &TraceEntry, ids: &RequestIds) -> Emitted {
    let mut line = plane.line();
    if let Some(s) = slots.route
        && e.route != UNMATCHED
        && e.route != OVERFLOW
    {
        line.str(s, e.route);
    }
    if let Some(s) = slots.method {
        line.str(s, e.method);
    }
    if let Some(s) = slots.ok {
        line.bool(s, e.ok);
    }
    if let (Some(s), Some(t)) = (slots.err_token, e.err_token) {
        line.str(s, t);
    }
    if let Some(s) = slots.code {
        line.u64(s, u64::from(e.code));
    }
    if let Some(s) = slots.latency_ms {
        line.u64(s, e.latency_ms);
    }
    if let (Some(s), Some(n)) = (slots.bytes_in, e.bytes_in) {
        line.u64(s, n);
    }
    if let (Some(s), Some(n)) = (slots.bytes_out, e.bytes_out) {
        line.u64(s, n);
    }
    if slots.trace_id.is_some() {
        line.trace(ids.trace.trace_id);
    }
    if let Some(s) = slots.correlation_id {
        line.str(s, ids.correlation_id.as_str());
    }
    line.emit()
}
