//! The log vocabulary as plain, const-constructible data.
//!
//! The spec compiler generates one `static` of [`LogSchema`] per project, so every
//! type here holds only `&'static` slices, `&'static str`, numbers and enums:
//!
//! ```
//! use obspec::log::{LogField, LogFieldType, LogRole, LogSchema, SamplingDefaults};
//! use obspec::metrics::{SelfMetric, SelfMetrics};
//! static SELF: SelfMetrics = SelfMetrics {
//!     log_dropped: SelfMetric { name: "demo_log_dropped_total", labels: &["reason"] },
//!     log_redacted: SelfMetric { name: "demo_log_redacted_total", labels: &["reason"] },
//!     label_overflow: SelfMetric { name: "demo_label_overflow_total", labels: &["metric", "label"] },
//!     limit_overflow: SelfMetric { name: "demo_limit_overflow_total", labels: &[] },
//! };
//! pub static LOG_SCHEMA: LogSchema = LogSchema {
//!     fields: &[
//!         LogField { name: "at", ty: LogFieldType::Timestamp, role: Some(LogRole::Ts) },
//!         LogField { name: "svc", ty: LogFieldType::Component, role: Some(LogRole::Component) },
//!         LogField { name: "path", ty: LogFieldType::Route, role: Some(LogRole::Route) },
//!         LogField { name: "success", ty: LogFieldType::Outcome, role: Some(LogRole::Ok) },
//!     ],
//!     forbidden: &["payload", "prompt"],
//!     routes: &["/v1/rooms/:id"],
//!     error_tokens: &["BACKPRESSURE"],
//!     components: &["core"],
//!     methods: &["GET", "POST"],
//!     id_max_len: 64,
//!     sampling: SamplingDefaults {
//!         success: 0.01, error: 1.0, spike: 0.10, max_override: 0.5, overrides: &[],
//!     },
//!     self_metrics: &SELF,
//! };
//! assert!(LOG_SCHEMA.validate().is_ok());
//! ```
//!
//! The runtime never hard-codes field names: it asks for a [`LogRole`] ("the
//! latency", "the correlation ID"), which the spec gives to at most one field.

use crate::log::fold;

/// Most fields a schema may declare; a line keeps one fixed-size slot per field.
pub const MAX_FIELDS: usize = 32;

/// Longest accepted value of a [`LogFieldType::Name`] field.
pub const NAME_MAX_LEN: usize = 64;

/// The closed vocabulary of the log plane, generated from the project's spec.
#[derive(Debug)]
pub struct LogSchema {
    /// Allowed fields, in the key order lines are written with.
    pub fields: &'static [LogField],
    /// Names that must never appear as a key (matched after [`fold::fold_name`]).
    pub forbidden: &'static [&'static str],
    /// Route templates a [`LogFieldType::Route`] value must equal exactly.
    pub routes: &'static [&'static str],
    /// The closed ErrorToken vocabulary.
    pub error_tokens: &'static [&'static str],
    /// Components allowed to emit; the component itself is chosen at init.
    /// An empty list accepts any name of shape [`LogFieldType::Name`].
    pub components: &'static [&'static str],
    /// HTTP (or RPC) methods a [`LogFieldType::Method`] value must equal.
    pub methods: &'static [&'static str],
    /// Longest accepted [`LogFieldType::Id`] value.
    pub id_max_len: usize,
    /// Sampling rates from the spec; flags may change them at run time.
    pub sampling: SamplingDefaults,
    /// The names of the plane's self-metrics (dropped lines, redactions).
    pub self_metrics: &'static crate::metrics::SelfMetrics,
}

/// One allowed field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogField {
    /// The exact key (ASCII) written in the line.
    pub name: &'static str,
    /// The shape every value must have.
    pub ty: LogFieldType,
    /// What the runtime writes into it, if anything.
    pub role: Option<LogRole>,
}

/// A value the runtime writes into a line; the spec says which field holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogRole {
    /// The event time.
    Ts,
    /// The emitting component.
    Component,
    /// The matched route template.
    Route,
    /// The HTTP method.
    Method,
    /// The MCP tool name (per-tool sampling overrides).
    Tool,
    /// The request's success flag.
    Ok,
    /// The ErrorToken of a failure.
    ErrToken,
    /// The HTTP status returned.
    Status,
    /// Handling time in milliseconds.
    Latency,
    /// Request body size.
    BytesIn,
    /// Response body size.
    BytesOut,
    /// The W3C trace id.
    TraceId,
    /// The correlation ID.
    Correlation,
}

/// The shape of a field's value; no type admits free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFieldType {
    /// RFC 3339 UTC time of the line; always written by the plane, never by callers.
    Timestamp,
    /// The emitting component; always written by the plane, never by callers.
    Component,
    /// An opaque ID: `[A-Za-z0-9._:-]`, 1..=`id_max_len` characters.
    Id,
    /// A W3C trace-id: 32 lowercase hex digits, not all zero. Sampling is
    /// consistent per trace-id. At most one per schema.
    TraceId,
    /// One of [`LogSchema::routes`] exactly. At most one per schema; may carry
    /// sampling overrides.
    Route,
    /// One of [`LogSchema::methods`] exactly. At most one per schema.
    Method,
    /// A lowercase name `[a-z0-9][a-z0-9_.-]*`, up to 64 characters (tool, node);
    /// may carry sampling overrides.
    Name,
    /// `true` or `false`.
    Bool,
    /// The request's success flag: `false` makes the line an error (always kept).
    /// At most one per schema.
    Outcome,
    /// One of [`LogSchema::error_tokens`]; its presence makes the line an error.
    /// At most one per schema.
    ErrorToken,
    /// An HTTP status code, 100..=599.
    HttpStatus,
    /// A non-negative integer.
    Count,
}

impl LogFieldType {
    /// True for the types a schema may declare at most once (a role).
    pub const fn is_role(self) -> bool {
        matches!(
            self,
            Self::Timestamp
                | Self::Component
                | Self::TraceId
                | Self::Route
                | Self::Method
                | Self::Outcome
                | Self::ErrorToken
        )
    }
}

/// Sampling rates (probabilities in `0.0..=1.0`) from the spec.
#[derive(Debug, Clone, Copy)]
pub struct SamplingDefaults {
    /// Rate for successful lines (blueprint: 1%).
    pub success: f64,
    /// Rate for error lines (blueprint: 100%).
    pub error: f64,
    /// Success rate while spike mode is on (blueprint: 10%).
    pub spike: f64,
    /// Ceiling for any per-route/per-name override.
    pub max_override: f64,
    /// Spec-level overrides; run-time flags take precedence.
    pub overrides: &'static [SamplingOverride],
}

/// A success rate for lines whose `field` (a Route or Name field) equals `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingOverride {
    /// Field name, e.g. `"route"` or `"tool"`.
    pub field: &'static str,
    /// Exact value, e.g. `"/v1/rooms/:id"` or `"search"`.
    pub value: &'static str,
    /// Success rate, capped at [`SamplingDefaults::max_override`].
    pub rate: f64,
}

/// Index of a field in [`LogSchema::fields`], used by typed emitters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldSlot(pub(crate) u8);

impl FieldSlot {
    /// The slot of the `index`-th schema field (generated code knows the order).
    pub const fn new(index: u8) -> Self {
        Self(index)
    }

    /// The index into [`LogSchema::fields`].
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Why a schema was rejected by [`LogSchema::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid log schema: {}", self.0)
    }
}

impl std::error::Error for SchemaError {}

impl LogSchema {
    /// This vocabulary with another success sampling rate and no sampling
    /// overrides (for tests and benches: `LOG_SCHEMA.with_success(1.0)`).
    pub const fn with_success(&self, success: f64) -> LogSchema {
        LogSchema {
            fields: self.fields,
            forbidden: self.forbidden,
            routes: self.routes,
            error_tokens: self.error_tokens,
            components: self.components,
            methods: self.methods,
            id_max_len: self.id_max_len,
            sampling: SamplingDefaults { success, overrides: &[], ..self.sampling },
            self_metrics: self.self_metrics,
        }
    }

    /// This vocabulary keeping every line: every sampling rate 1.0, no
    /// overrides (for tests of what lines hold).
    pub const fn keep_all(&self) -> LogSchema {
        let mut s = self.with_success(1.0);
        s.sampling.error = 1.0;
        s.sampling.spike = 1.0;
        s.sampling.max_override = 1.0;
        s
    }

    /// The slot of the field called `name`, if allowed.
    pub fn slot(&self, name: &str) -> Option<FieldSlot> {
        self.fields.iter().position(|f| f.name == name).and_then(|i| u8::try_from(i).ok()).map(FieldSlot)
    }

    /// The slot of the field holding `role`.
    pub fn role(&self, role: LogRole) -> Option<FieldSlot> {
        self.fields.iter().position(|f| f.role == Some(role)).and_then(|i| u8::try_from(i).ok()).map(FieldSlot)
    }

    /// The name of the field holding `role`.
    pub fn role_name(&self, role: LogRole) -> Option<&'static str> {
        let fields: &'static [LogField] = self.fields;
        fields.iter().find(|f| f.role == Some(role)).map(|f| f.name)
    }

    /// The slot of the (single) field of role type `ty`.
    pub fn role_slot(&self, ty: LogFieldType) -> Option<FieldSlot> {
        self.fields.iter().position(|f| f.ty == ty).and_then(|i| u8::try_from(i).ok()).map(FieldSlot)
    }

    /// Checks every rule the runtime relies on and returns all violations.
    ///
    /// Every string written verbatim into a line (names, routes, tokens, methods)
    /// must need no JSON escaping, so the writer can copy it as is.
    pub fn validate(&self) -> Result<(), Vec<SchemaError>> {
        let mut errs = Vec::new();
        let mut err = |m: String| errs.push(SchemaError(m));
        if self.fields.len() > MAX_FIELDS {
            err(format!("{} fields, at most {MAX_FIELDS}", self.fields.len()));
        }
        for (i, f) in self.fields.iter().enumerate() {
            if !is_plain_key(f.name) {
                err(format!("field name {:?} must match [a-z][a-z0-9_]*", f.name));
            }
            if self.fields[..i].iter().any(|g| g.name == f.name) {
                err(format!("field {:?} declared twice", f.name));
            }
            if f.ty.is_role() && self.fields[..i].iter().any(|g| g.ty == f.ty) {
                err(format!("field {:?}: at most one field of type {:?}", f.name, f.ty));
            }
            if f.role.is_some() && self.fields[..i].iter().any(|g| g.role == f.role) {
                err(format!("field {:?}: another field holds role {:?}", f.name, f.role));
            }
            if fold::is_forbidden_name(f.name, self.forbidden) {
                err(format!("allowed field {:?} folds to a forbidden name", f.name));
            }
        }
        for list in [self.routes, self.error_tokens, self.methods, self.components] {
            for s in list {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') {
                    err(format!("value {s:?} must be non-empty printable ASCII without quotes"));
                }
            }
        }
        for s in self.components {
            if !crate::log::validate::is_name(s) {
                err(format!("component {s:?} must be a lowercase name"));
            }
        }
        if self.id_max_len == 0 {
            err("id_max_len must be at least 1".to_owned());
        }
        let s = &self.sampling;
        for (what, r) in
            [("success", s.success), ("error", s.error), ("spike", s.spike), ("max_override", s.max_override)]
        {
            if !(0.0..=1.0).contains(&r) {
                err(format!("sampling.{what} = {r} is outside 0..=1"));
            }
        }
        for o in s.overrides {
            match self.fields.iter().find(|f| f.name == o.field) {
                Some(f) if f.ty == LogFieldType::Route => {
                    if !self.routes.contains(&o.value) {
                        err(format!("override route {:?} is not a route", o.value));
                    }
                }
                Some(f) if f.ty == LogFieldType::Name => {
                    if !crate::log::validate::is_name(o.value) {
                        err(format!("override value {:?} is not a name", o.value));
                    }
                }
                _ => err(format!("override field {:?} must be a Route or Name field", o.field)),
            }
            if !(0.0..=1.0).contains(&o.rate) {
                err(format!("override rate {} is outside 0..=1", o.rate));
            }
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
}

/// A key that needs no JSON escaping and is not a look-alike of anything.
fn is_plain_key(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_lowercase())
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}
