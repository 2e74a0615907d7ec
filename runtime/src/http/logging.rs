//! One log line per request through the server-blind log plane: the fields
//! holding the roles route, method, ok, err_token, status, latency, bytes in
//! and out, trace id and correlation (the spec names them). The plane decides
//! sampling (errors always kept, successes at the configured rate,
//! consistently per trace-id) before anything is formatted. A role no field
//! holds is skipped.

use crate::http::index::TraceEntry;
use crate::http::route::{OVERFLOW, UNMATCHED};
use crate::log::{Emitted, FieldSlot, LogFieldType, LogPlane, LogRole, LogSchema};

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
    /// Finds the fields holding each role in `schema` (the route, method,
    /// outcome, error token and trace-id also by their type).
    pub fn resolve(schema: &LogSchema) -> Self {
        let by = |role: LogRole, ty: LogFieldType| schema.role(role).or_else(|| schema.role_slot(ty));
        Self {
            route: by(LogRole::Route, LogFieldType::Route),
            method: by(LogRole::Method, LogFieldType::Method),
            ok: by(LogRole::Ok, LogFieldType::Outcome),
            err_token: by(LogRole::ErrToken, LogFieldType::ErrorToken),
            code: schema.role(LogRole::Status),
            latency_ms: schema.role(LogRole::Latency),
            bytes_in: schema.role(LogRole::BytesIn),
            bytes_out: schema.role(LogRole::BytesOut),
            trace_id: by(LogRole::TraceId, LogFieldType::TraceId),
            correlation_id: schema.role(LogRole::Correlation),
        }
    }
}

/// Writes the request's line on `plane`. Every value but the correlation ID
/// is a `&'static str` or a number, only noted until the sampler decides
/// (from the outcome, the error token and the trace-id); the correlation ID
/// is copied only into a line that is kept. As for any typed line, a
/// sampled-out line validates none of its values.
pub fn log_request(plane: &LogPlane, slots: &RequestLogSlots, e: &TraceEntry, correlation_id: &str) -> Emitted {
    let mut line = plane.line();
    if let Some(s) = slots.route
        && e.route != UNMATCHED
        && e.route != OVERFLOW
    {
        line.str_static(s, e.route);
    }
    if let Some(s) = slots.method {
        line.str_static(s, e.method);
    }
    if let Some(s) = slots.ok {
        line.bool(s, e.ok);
    }
    if let (Some(s), Some(t)) = (slots.err_token, e.err_token) {
        line.str_static(s, t);
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
        line.trace(e.trace_id);
    }
    line.emit_late(slots.correlation_id.map(|s| (s, correlation_id)))
}
