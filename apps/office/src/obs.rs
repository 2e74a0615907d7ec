//! The Office vocabulary, all from the spec: trail records and log lines
//! through the derives, errors through `#[derive(ErrorToken)]`, metrics
//! through the generated emitters. Only IDs, types and counters.

use obspec_generated::ErrorToken;

/// Every way an Office call fails, mapped onto the ErrorToken vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, obspec_macros::ErrorToken)]
pub enum OfficeError {
    /// Malformed request, parameters or message.
    #[token(INVALID_INPUT)]
    Invalid,
    /// No tenant.
    #[token(UNAUTHENTICATED)]
    Unauthenticated,
    /// Unknown JSON-RPC method or tool.
    #[token(UNSUPPORTED)]
    Unsupported,
    /// The room's tool-call slots are all busy.
    #[token(BACKPRESSURE)]
    Busy,
    /// The service is draining.
    #[token(UNAVAILABLE)]
    Draining,
    /// Storage failed.
    #[token(INTERNAL)]
    Internal,
}

pub use obspec_generated::trails::office_event::EventType;

/// Serde of a generated trail enum as its wire value, for API bodies
/// (`#[serde(with = "crate::obs::wire")]`).
pub mod wire {
    use obspec::event::TrailEnum;

    /// Writes the value as its trail string.
    pub fn serialize<T: TrailEnum, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_trail_str())
    }

    /// Reads one of the field's values.
    pub fn deserialize<'de, T: std::str::FromStr, D: serde::Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(|_| serde::de::Error::custom("not a value of the field"))
    }
}

/// Trail `office.event`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "office.event")]
pub struct EventMin {
    /// What happened.
    pub event_type: EventType,
    /// Entries changed (as the client declared).
    pub delta_count: u64,
    /// The room's sequence number after the change.
    pub brief_version: u64,
}

/// Trail `office.tool_call`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "office.tool_call")]
pub struct ToolCallMin<'a> {
    /// Tool name (one of the service's tools).
    pub tool: &'a str,
    /// Number of arguments.
    pub arg_count: u64,
    /// The IDs the arguments referenced.
    pub arg_ids: Vec<String>,
    /// Billable upstream calls.
    pub cost_calls: u64,
    /// Whether it succeeded.
    pub ok: bool,
}

/// Trail `office.handover`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "office.handover")]
pub struct HandoverMin<'a> {
    /// ID of the (client-encrypted) summary blob.
    pub summary_id: &'a str,
    /// Events covered (the room's sequence number at handover).
    pub events_count: u64,
    /// References carried over.
    pub refs_count: u64,
}

/// Trail `ops.reload`.
#[derive(Debug, obspec_macros::TrailData)]
#[trail(kind = "ops.reload")]
pub struct Reload {
    /// Stage requested.
    pub stage: &'static str,
    /// Whether the switch happened.
    pub ok: bool,
}

/// Log line of one tool call.
#[derive(Debug, obspec_macros::LogEvent)]
pub struct ToolCalled<'a> {
    /// Caller's tenant.
    pub tenant: &'a str,
    /// Tool name.
    pub tool: &'a str,
    /// Whether it succeeded.
    pub ok: bool,
    /// Its error token.
    pub err_token: Option<ErrorToken>,
    /// Handling time.
    pub latency_ms: u64,
    /// Billable upstream calls.
    pub cost_calls: u64,
}

/// Log line of a WebSocket session's end (counters only).
#[derive(Debug, obspec_macros::LogEvent)]
pub struct SessionEnded<'a> {
    /// Tenant.
    pub tenant: &'a str,
    /// The client's session ID.
    pub session_id: &'a str,
    /// Messages received.
    pub bytes_in: u64,
    /// Events sent (replayed and live).
    pub bytes_out: u64,
    /// Whether the session ended cleanly.
    pub ok: bool,
}

/// `office_http_requests_total{route,method,code}` and
/// `office_http_request_duration_seconds{route}` for every request (R43).
#[derive(Debug, Clone, Copy, Default)]
pub struct OfficeRequestMetrics;

impl obspec::http::RequestMetrics for OfficeRequestMetrics {
    fn record(&self, route: &str, method: &http::Method, status: u16, latency: std::time::Duration) {
        use obspec_generated::metrics::{self, Code, Method};
        // The route enum indexes the series (None: no route matched).
        let route = obspec_generated::routes::OfficeRoute::from_template(route);
        if let (Some(m), Some(c)) = (Method::from_value(method.as_str()), Code::from_number(u64::from(status))) {
            metrics::office_http_requests_total(route, m, c).increment(1);
        }
        metrics::office_http_request_duration_seconds(route).record(latency.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use obspec::event::TrailData;

    use super::*;

    #[test]
    fn every_event_type_is_in_the_spec() {
        for t in EventType::ALL {
            EventMin { event_type: t, delta_count: 1, brief_version: 2 }.trail_data().expect("event type");
        }
    }
}
