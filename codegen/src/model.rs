//! The serde model of the spec: what a YAML file under `spec/` may contain.
//!
//! Every struct derives `JsonSchema`, so `cargo xtask gen` publishes a JSON
//! Schema that editors use for completion. Unknown keys are not rejected by
//! serde here (that would stop at the first one); the loader collects every
//! unknown key with `serde_ignored` and reports them all, and the schema marks
//! every object `additionalProperties: false` for editors.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::load::Loc;

/// One YAML file of the spec. Every section is optional so the spec can be
/// split across files; the loader merges them into a [`Spec`].
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SpecFile {
    /// Project-wide settings (one file only).
    pub project: Option<Project>,
    /// Blueprint contradictions and how the spec resolves each.
    #[serde(default)]
    pub resolutions: Vec<Resolution>,
    /// Services that emit telemetry.
    #[serde(default)]
    pub components: Vec<Component>,
    /// Label definitions shared by metrics.
    #[serde(default)]
    pub labels: Vec<LabelDef>,
    /// Prometheus metrics.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// The closed ErrorToken vocabulary.
    #[serde(default)]
    pub error_tokens: Vec<ErrorTokenDef>,
    /// The server-blind log plane (one file only).
    pub logs: Option<LogPlane>,
    /// Audit trails (one file only).
    pub trails: Option<TrailPlane>,
    /// Service level objectives.
    #[serde(default)]
    pub slos: Vec<Slo>,
    /// Alerts beyond the SLO burn-rate alerts.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// Grafana dashboards.
    #[serde(default)]
    pub dashboards: Vec<Dashboard>,
    /// Safe-ops feature flags.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Deployment profiles: where each component is scraped (e.g. `local`).
    #[serde(default)]
    pub environments: Vec<Environment>,
    /// Degradation ladders (§4): what a component sheds under load.
    #[serde(default)]
    pub ladders: Vec<Ladder>,
}

/// The whole spec, merged from every file, in file order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Spec {
    /// Project-wide settings.
    pub project: Project,
    /// Blueprint contradictions and their resolution.
    pub resolutions: Vec<Resolution>,
    /// Services that emit telemetry.
    pub components: Vec<Component>,
    /// Label definitions shared by metrics.
    pub labels: Vec<LabelDef>,
    /// Prometheus metrics.
    pub metrics: Vec<Metric>,
    /// The closed ErrorToken vocabulary.
    pub error_tokens: Vec<ErrorTokenDef>,
    /// The server-blind log plane.
    pub logs: LogPlane,
    /// Audit trails.
    pub trails: TrailPlane,
    /// Service level objectives.
    pub slos: Vec<Slo>,
    /// Alerts beyond the SLO burn-rate alerts.
    pub alerts: Vec<Alert>,
    /// Grafana dashboards.
    pub dashboards: Vec<Dashboard>,
    /// Safe-ops feature flags.
    pub flags: Vec<Flag>,
    /// Deployment profiles.
    pub environments: Vec<Environment>,
    /// Degradation ladders.
    pub ladders: Vec<Ladder>,
}

/// Project-wide settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Project {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Short name, used in generated identifiers.
    pub name: String,
    /// The document this spec encodes.
    pub blueprint: String,
    /// Maximum worst-case series count of one metric (product of its label bounds).
    pub cardinality_budget: u64,
    /// Maximum length of an ID (tenant, session_id, correlation_id…) in logs and trails.
    pub id_max_len: u32,
    /// Base URL of the generated catalogue, used for alert `runbook_url`s.
    pub catalogue_url: String,
    /// Retention of metrics in the Prometheus TSDB, in days.
    pub metrics_retention_days: u32,
    /// Alertmanager address Prometheus sends alerts to (`host:port`).
    pub alertmanager: String,
    /// Default scrape interval.
    pub scrape_interval: Duration,
    /// Where the PrometheusRule objects go and the labels a `ruleSelector` matches.
    #[serde(default)]
    pub prometheus_operator: PrometheusOperator,
}

/// The Prometheus Operator's view of the rules: namespace and `ruleSelector` labels.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PrometheusOperator {
    /// Kubernetes namespace of the PrometheusRule objects (none: the one applied to).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Labels on every PrometheusRule, matched by the Prometheus object's `ruleSelector`.
    #[serde(default)]
    pub rule_labels: std::collections::BTreeMap<String, String>,
}

/// A duration in Prometheus notation (`30s`, `5m`, `1h`, `30d`).
pub type Duration = String;

/// A contradiction or gap in the source document and what the spec decided.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Resolution {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Stable identifier (`R01`…), referenced from `note:` fields.
    pub id: String,
    /// Sections of the source document involved.
    pub blueprint: String,
    /// What the source document says that cannot be encoded as is.
    pub problem: String,
    /// What the spec does instead, and why.
    pub decision: String,
}

/// How a component exposes its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Exposition {
    /// Native Prometheus text exposition, scraped directly.
    Prometheus,
    /// OTLP/HTTP push to the collector, which exposes it to Prometheus.
    Otlp,
}

/// A service that emits telemetry.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Component {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Identifier, also the `component` log field value and scrape job name.
    pub name: String,
    /// Human title.
    pub title: String,
    /// Metric name prefix(es) of this component's domain.
    pub domains: Vec<String>,
    /// How metrics leave the component.
    pub exposition: Exposition,
    /// Scrape targets (`host:port`) Prometheus uses for this component.
    pub targets: Vec<String>,
    /// Path Prometheus scrapes.
    pub metrics_path: String,
    /// HTTP endpoints the component serves.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Route templates the component serves (values of the `route` label and log field).
    #[serde(default)]
    pub routes: Vec<String>,
    /// Trail kinds the component emits.
    #[serde(default)]
    pub trails: Vec<String>,
    /// Largest request body the component reads, in bytes (default 1 MiB): a
    /// larger body is answered with the `payload_too_large` token before it is read.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// `components[].max_body_bytes` when the spec does not say: 1 MiB.
fn default_max_body_bytes() -> u64 {
    1 << 20
}

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointAuth {
    /// Anyone who can reach the port.
    None,
    /// Requires the ops token.
    OpsToken,
}

/// An HTTP endpoint of a component.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Endpoint {
    /// Path template (`/_trace/:id`).
    pub path: String,
    /// What it is for.
    pub purpose: String,
    /// Who may call it.
    pub auth: EndpointAuth,
    /// Trail kind emitted on each call, when the endpoint is auditable.
    #[serde(default)]
    pub audit: Option<String>,
}

/// The kind of set a label's values form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabelKind {
    /// A closed set listed in `values`: the label is a Rust enum.
    Closed,
    /// The ErrorToken vocabulary, plus `none` for "no error".
    ErrorToken,
    /// An open set bounded by `max_values`: values past the bound fold into `other`.
    Open,
}

/// A label shared by metrics.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LabelDef {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Prometheus label name.
    pub name: String,
    /// What the label means.
    pub help: String,
    /// Closed, ErrorToken or open.
    pub kind: LabelKind,
    /// Every allowed value (`closed` only).
    #[serde(default)]
    pub values: Vec<String>,
    /// Value used when there is no error (`error_token` only, for example `NONE`).
    #[serde(default)]
    pub none: Option<String>,
    /// Maximum distinct values kept (`open` only).
    #[serde(default)]
    pub max_values: Option<u64>,
    /// The label's previous name: while it is set, every emitter writes the
    /// label under both names with the same value (queries on either keep
    /// working, and no series is added) and `cargo xtask diff` counts the
    /// rename as compatible. Needs `deprecated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Last day (`YYYY-MM-DD`, UTC) the old name is written; after it
    /// validation warns to delete `renamed_from`, which stops writing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// Values of this `closed` label renamed: while an entry is set, Prometheus
    /// stores the new value under the old one (scrape relabelling, so queries
    /// outside the repository keep working and no series is split or counted
    /// twice), every generated query matches both, and `cargo xtask diff`
    /// counts the rename as compatible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renamed_values: Vec<ValueRename>,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// A renamed value of a closed label (`labels[].renamed_values[]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ValueRename {
    /// The value's new name: one of the label's `values`, what emitters write.
    pub value: String,
    /// The value's previous name: what Prometheus stores while the rename lasts.
    pub renamed_from: String,
    /// Last day (`YYYY-MM-DD`, UTC) the old value is stored; after it
    /// validation warns to delete the entry, which makes Prometheus store the
    /// new value.
    pub deprecated: Option<String>,
}

/// Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Monotonic counter.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Bucketed distribution.
    Histogram,
}

/// The unit of a metric, in Prometheus base units where possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Seconds (base unit of time).
    Seconds,
    /// Milliseconds (not a base unit: needs an exception).
    Milliseconds,
    /// Bytes.
    Bytes,
    /// Number of requests, calls, events… (no suffix).
    Count,
    /// A ratio between 0 and 1.
    Ratio,
}

impl Unit {
    /// The name suffix Prometheus conventions expect for this unit, if any.
    pub fn suffix(self) -> Option<&'static str> {
        match self {
            Unit::Seconds => Some("seconds"),
            Unit::Milliseconds => Some("ms"),
            Unit::Bytes => Some("bytes"),
            Unit::Ratio => Some("ratio"),
            Unit::Count => None,
        }
    }

    /// The Grafana unit id for this unit.
    pub fn grafana(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Bytes => "bytes",
            Unit::Count => "short",
            Unit::Ratio => "percentunit",
        }
    }
}

/// A naming rule a metric may be exempted from, with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NamingRule {
    /// Counters end in `_total`.
    CounterTotal,
    /// The name carries the suffix of its unit and no other unit's.
    UnitSuffix,
}

/// An explicit, reasoned exception to a naming rule.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NamingException {
    /// The rule waived.
    pub rule: NamingRule,
    /// Why.
    pub reason: String,
}

/// A Prometheus metric.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Metric {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Metric family name.
    pub name: String,
    /// Component that emits it and owns it (its domain prefix).
    pub component: String,
    /// Other components that emit the same series (`component` stays the
    /// owner; none of them may give it a `route` label).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<String>,
    /// Prometheus type.
    pub kind: MetricKind,
    /// Unit of the value.
    pub unit: Unit,
    /// `# HELP` text.
    pub help: String,
    /// Label names (defined under `labels:`).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Histogram bucket upper bounds, in the metric's unit.
    #[serde(default)]
    pub buckets: Vec<f64>,
    /// The name the source document uses, when the spec had to change it.
    #[serde(default)]
    pub blueprint_name: Option<String>,
    /// Naming rules this metric is exempt from.
    #[serde(default)]
    pub exceptions: Vec<NamingException>,
    /// The runtime self-metric this is (the runtime emits it under this name).
    #[serde(default)]
    pub role: Option<MetricRole>,
    /// The metric's previous name: while it is set, `gen` emits alias
    /// recording rules both ways between the two names (`rules/aliases.yml`)
    /// and `cargo xtask diff` counts the rename as compatible. Needs `deprecated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Last day (`YYYY-MM-DD`, UTC) the old name is served by the alias; after
    /// it validation warns to delete `renamed_from`, which drops the alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// A metric the obspec runtime itself emits; the spec names it and its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricRole {
    /// Log lines dropped because the writer's queue was full (counter, labels: reason).
    LogDropped,
    /// Log keys or values dropped or redacted (counter, labels: reason).
    LogRedacted,
    /// Open-label values folded into `other` (counter, labels: metric, label).
    LabelOverflow,
    /// Requests limited by the shared overflow bucket because their tenant found
    /// the rate limiter's table full of active tenants (counter, no labels).
    LimitOverflow,
}

impl MetricRole {
    /// Every role; each is held by exactly one metric.
    pub const ALL: [MetricRole; 4] =
        [MetricRole::LogDropped, MetricRole::LogRedacted, MetricRole::LabelOverflow, MetricRole::LimitOverflow];

    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricRole::LogDropped => "log_dropped",
            MetricRole::LogRedacted => "log_redacted",
            MetricRole::LabelOverflow => "label_overflow",
            MetricRole::LimitOverflow => "limit_overflow",
        }
    }

    /// How many labels the runtime gives it, and what they mean.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            MetricRole::LogDropped | MetricRole::LogRedacted => &["reason"],
            MetricRole::LabelOverflow => &["metric", "label"],
            MetricRole::LimitOverflow => &[],
        }
    }
}

/// Whether an ErrorToken response carries `retry_after_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// Never.
    None,
    /// When the server knows it.
    Optional,
    /// Always (BACKPRESSURE, RATE_LIMIT).
    Required,
}

/// One token of the closed ErrorToken vocabulary.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ErrorTokenDef {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// The token, `SCREAMING_SNAKE_CASE`.
    pub token: String,
    /// HTTP status code of the response.
    pub http_status: u16,
    /// JSON-RPC / MCP error code (optional: services without JSON-RPC leave it out).
    #[serde(default)]
    pub jsonrpc_code: Option<i32>,
    /// Whether the client may retry the same request.
    pub retryable: bool,
    /// Whether `retry_after_ms` is sent.
    pub retry_after: RetryAfter,
    /// What it means for a caller.
    pub help: String,
    /// The token used when an error is not mapped or a handler panics.
    #[serde(default)]
    pub fallback: bool,
    /// What the runtime answers with this token (each role is held by exactly one token).
    #[serde(default)]
    pub role: Option<TokenRole>,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// A situation the runtime answers with an ErrorToken; the spec says which token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    /// No or bad credentials (ops token missing or wrong).
    Unauthenticated,
    /// Valid credentials but no permission (no ops token configured).
    AccessDenied,
    /// The request is malformed (bad trace id, bad stage).
    InvalidInput,
    /// Nothing to show (unknown trace id).
    NotFound,
    /// The service is draining or the flags could not be re-read.
    Unavailable,
    /// A rate-limit bucket is empty (needs `retry_after: required`).
    RateLimit,
    /// The concurrency limit is reached (needs `retry_after: required`).
    Backpressure,
    /// The request body is over the size limit.
    PayloadTooLarge,
}

impl TokenRole {
    /// Every role, each of which exactly one token must hold.
    pub const ALL: [TokenRole; 8] = [
        TokenRole::Unauthenticated,
        TokenRole::AccessDenied,
        TokenRole::InvalidInput,
        TokenRole::NotFound,
        TokenRole::Unavailable,
        TokenRole::RateLimit,
        TokenRole::Backpressure,
        TokenRole::PayloadTooLarge,
    ];

    /// The spec spelling (`rate_limit`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRole::Unauthenticated => "unauthenticated",
            TokenRole::AccessDenied => "access_denied",
            TokenRole::InvalidInput => "invalid_input",
            TokenRole::NotFound => "not_found",
            TokenRole::Unavailable => "unavailable",
            TokenRole::RateLimit => "rate_limit",
            TokenRole::Backpressure => "backpressure",
            TokenRole::PayloadTooLarge => "payload_too_large",
        }
    }
}

/// The type and shape of an allowed log field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogFieldType {
    /// RFC 3339 UTC timestamp with milliseconds.
    Timestamp,
    /// A component name of the spec.
    Component,
    /// An opaque ID (`[A-Za-z0-9._:-]`, bounded length).
    Id,
    /// A W3C trace id (32 lowercase hex).
    TraceId,
    /// A route template of the spec.
    Route,
    /// An HTTP method of the `method` label.
    Method,
    /// A short lowercase identifier (tool or node name).
    Name,
    /// `true` or `false`.
    Bool,
    /// The request's success flag: `false` makes the line an error, always kept.
    Outcome,
    /// A token of the ErrorToken vocabulary.
    ErrorToken,
    /// HTTP status, 100–599.
    HttpStatus,
    /// A non-negative integer count or measure.
    Count,
    /// Free text: never allowed, present so the validator can say so.
    Text,
}

/// One field of the closed log allow-list.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LogField {
    /// Field name.
    pub name: String,
    /// Value type and shape.
    #[serde(rename = "type")]
    pub ty: LogFieldType,
    /// What it holds.
    pub help: String,
    /// What the runtime writes into it (each role is held by at most one field).
    #[serde(default)]
    pub role: Option<LogRole>,
}

/// A value the runtime writes into a log line; the spec says which field holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogRole {
    /// The event time (type `timestamp`).
    Ts,
    /// The emitting component (type `component`).
    Component,
    /// The matched route template (type `route`).
    Route,
    /// The HTTP method (type `method`).
    Method,
    /// The MCP tool name, for per-tool sampling (type `name`).
    Tool,
    /// The request's success flag (type `outcome`).
    Ok,
    /// The ErrorToken of a failure (type `error_token`).
    ErrToken,
    /// The HTTP status returned (type `http_status`).
    Status,
    /// Handling time in milliseconds (type `count`).
    Latency,
    /// Request body size (type `count`).
    BytesIn,
    /// Response body size (type `count`).
    BytesOut,
    /// The W3C trace id (type `trace_id`).
    TraceId,
    /// The correlation ID (type `id`).
    Correlation,
}

impl LogRole {
    /// Every role.
    pub const ALL: [LogRole; 13] = [
        LogRole::Ts,
        LogRole::Component,
        LogRole::Route,
        LogRole::Method,
        LogRole::Tool,
        LogRole::Ok,
        LogRole::ErrToken,
        LogRole::Status,
        LogRole::Latency,
        LogRole::BytesIn,
        LogRole::BytesOut,
        LogRole::TraceId,
        LogRole::Correlation,
    ];

    /// The spec spelling (`bytes_in`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogRole::Ts => "ts",
            LogRole::Component => "component",
            LogRole::Route => "route",
            LogRole::Method => "method",
            LogRole::Tool => "tool",
            LogRole::Ok => "ok",
            LogRole::ErrToken => "err_token",
            LogRole::Status => "status",
            LogRole::Latency => "latency",
            LogRole::BytesIn => "bytes_in",
            LogRole::BytesOut => "bytes_out",
            LogRole::TraceId => "trace_id",
            LogRole::Correlation => "correlation",
        }
    }

    /// The field type a field holding this role must have.
    pub fn field_type(self) -> LogFieldType {
        match self {
            LogRole::Ts => LogFieldType::Timestamp,
            LogRole::Component => LogFieldType::Component,
            LogRole::Route => LogFieldType::Route,
            LogRole::Method => LogFieldType::Method,
            LogRole::Tool => LogFieldType::Name,
            LogRole::Ok => LogFieldType::Outcome,
            LogRole::ErrToken => LogFieldType::ErrorToken,
            LogRole::Status => LogFieldType::HttpStatus,
            LogRole::Latency | LogRole::BytesIn | LogRole::BytesOut => LogFieldType::Count,
            LogRole::TraceId => LogFieldType::TraceId,
            LogRole::Correlation => LogFieldType::Id,
        }
    }
}

/// A per-route or per-tool sampling override.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SamplingOverride {
    /// Route template (exclusive with `tool`).
    #[serde(default)]
    pub route: Option<String>,
    /// Tool name (exclusive with `route`).
    #[serde(default)]
    pub tool: Option<String>,
    /// Success sampling rate for it.
    pub success: f64,
}

/// Log sampling.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Sampling {
    /// Fraction of successful requests logged.
    pub success: f64,
    /// Fraction of failed requests logged.
    pub error: f64,
    /// Success rate while spike mode is on.
    pub spike: f64,
    /// Flag that turns spike mode on.
    pub spike_flag: String,
    /// Highest rate an override or spike may set.
    pub max_override: f64,
    /// Default overrides, adjustable at run time through flags.
    #[serde(default)]
    pub overrides: Vec<SamplingOverride>,
}

/// Where log lines go.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LogDestination {
    /// `file`, `stdout`, `loki` or `object_store`.
    pub kind: String,
    /// Path or key layout, with `{yyyy}`, `{mm}`, `{dd}`, `{component}` placeholders.
    #[serde(default)]
    pub layout: Option<String>,
    /// Whether a deployment may leave it out.
    #[serde(default)]
    pub optional: bool,
    /// What it is for.
    pub purpose: String,
}

/// The server-blind log plane.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LogPlane {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// The closed allow-list of fields.
    pub fields: Vec<LogField>,
    /// Names that must never appear as a field or key, in any case or spelling.
    pub forbidden: Vec<String>,
    /// Sampling rates.
    pub sampling: Sampling,
    /// Destinations.
    pub destinations: Vec<LogDestination>,
    /// Days logs are kept.
    pub retention_days: u32,
}

/// The type of a trail `data` field: IDs, enums and counters only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrailFieldType {
    /// An opaque ID.
    Id,
    /// A route template of the spec.
    Route,
    /// A list of opaque IDs.
    IdList,
    /// A short lowercase identifier (tool name, route template…).
    Name,
    /// One value of the closed set in `values`.
    Enum,
    /// A non-negative integer below 2^53.
    Counter,
    /// A bit set, as an integer below 2^53.
    Bits,
    /// `true` or `false`.
    Bool,
    /// A token of the ErrorToken vocabulary.
    ErrorToken,
    /// Free text: never allowed, present so the validator can say so.
    Text,
}

/// One field of a trail kind's `data` object.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TrailField {
    /// Field name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: TrailFieldType,
    /// Allowed values (`enum` only).
    #[serde(default)]
    pub values: Vec<String>,
    /// What it holds.
    pub help: String,
}

/// A trail kind.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TrailKind {
    /// `domain.name_min`.
    pub kind: String,
    /// What the record attests.
    pub help: String,
    /// Its `data` fields.
    pub data: Vec<TrailField>,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// When trail records are signed.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SigningPolicy {
    /// Signature algorithm (`ed25519`).
    pub algorithm: String,
    /// Hash the records are chained and signed over (`blake3`).
    pub hash: String,
    /// Day manifests are always signed.
    pub sign_manifests: bool,
    /// Tenants may opt in to a signature on every record.
    pub per_record_opt_in: bool,
}

/// Trail retention: the days a tenant policy may choose, and the default.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TrailRetention {
    /// Shortest a tenant policy may choose.
    pub min_days: u32,
    /// Longest a tenant policy may choose.
    pub max_days: u32,
    /// Default when a tenant has no policy.
    pub default_days: u32,
}

/// The audit-trail plane.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TrailPlane {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Canonical order of a record's top-level keys.
    pub key_order: Vec<String>,
    /// Object layout of the day files.
    pub layout: String,
    /// What one hash chain covers.
    pub stream: String,
    /// The `scope` field whose value names a record's stream: one hash chain
    /// per value per UTC day (the trail runtime keys streams on `scope.tenant`).
    #[serde(default = "default_stream_key")]
    pub stream_key: String,
    /// Signing.
    pub signing: Option<SigningPolicy>,
    /// Retention.
    pub retention: Option<TrailRetention>,
    /// The kinds.
    pub kinds: Vec<TrailKind>,
    /// Version of the trail schema (kinds and data fields), bound into every
    /// stream's genesis hash: a breaking change to a kind (a data field removed
    /// or retyped) needs a bump, which `cargo xtask diff` checks (default 1).
    #[serde(default = "default_trail_schema_version")]
    pub schema_version: u32,
}

fn default_trail_schema_version() -> u32 {
    1
}

fn default_stream_key() -> String {
    "tenant".to_owned()
}

/// The SLI of a ratio SLO: bad events over all events.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RatioSli {
    /// PromQL selector of the bad events counter.
    pub errors: String,
    /// PromQL selector of all events.
    pub total: String,
}

/// The SLI of a latency SLO: requests slower than a bucket edge.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LatencySli {
    /// PromQL selector of the histogram (family name, optional matchers).
    pub histogram: String,
    /// Threshold in the histogram's unit; must be a bucket edge.
    pub threshold: f64,
}

/// A service level objective.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Slo {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Identifier, kebab-case (`checkout-latency`).
    pub name: String,
    /// Component it belongs to.
    pub component: String,
    /// What it promises, in words.
    pub description: String,
    /// Fraction of good events (0.99).
    pub objective: f64,
    /// SLO period: a rolling window (`30d`) or `calendar_month` (UTC months).
    pub period: Duration,
    /// Ratio SLI (exclusive with `latency`).
    #[serde(default)]
    pub ratio: Option<RatioSli>,
    /// Latency SLI (exclusive with `ratio`).
    #[serde(default)]
    pub latency: Option<LatencySli>,
    /// Least request rate (per second, over the long window) for a page to fire.
    pub min_rate: f64,
    /// Burn-rate tiers switched on or off (all on unless set to `false`).
    #[serde(default)]
    pub tiers: BurnTiers,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// The `period` of an SLO whose error budget is counted per calendar month (UTC).
pub const CALENDAR_MONTH: &str = "calendar_month";

impl Slo {
    /// Whether the budget is counted per calendar month ([`CALENDAR_MONTH`]) rather than over a rolling window.
    pub fn is_calendar(&self) -> bool {
        self.period == CALENDAR_MONTH
    }

    /// The period as prose: `30d`, or `the calendar month (UTC)`.
    pub fn period_text(&self) -> String {
        if self.is_calendar() { "the calendar month (UTC)".to_owned() } else { self.period.clone() }
    }

    /// The period in seconds; a calendar month counts as 30 days (the burn-rate factors' calibration).
    pub fn period_secs(&self) -> Option<u64> {
        if self.is_calendar() { Some(30 * 86_400) } else { crate::names::duration_seconds(&self.period) }
    }
}

/// One multi-window burn-rate tier of an SLO; its `burn_tier` label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BurnTier {
    /// Page on 2% of the budget spent in 1h (5m/1h windows).
    PageFast,
    /// Page on 5% of the budget spent in 6h (30m/6h windows).
    PageSlow,
    /// Ticket on 10% of the budget spent in 1d (2h/1d windows).
    TicketFast,
    /// Ticket on 10% of the budget spent in 3d (6h/3d windows).
    TicketSlow,
}

impl BurnTier {
    /// Every tier, fastest page first.
    pub const ALL: [BurnTier; 4] = [BurnTier::PageFast, BurnTier::PageSlow, BurnTier::TicketFast, BurnTier::TicketSlow];

    /// The `burn_tier` label value and spec key (`page-fast`).
    pub fn as_str(self) -> &'static str {
        match self {
            BurnTier::PageFast => "page-fast",
            BurnTier::PageSlow => "page-slow",
            BurnTier::TicketFast => "ticket-fast",
            BurnTier::TicketSlow => "ticket-slow",
        }
    }
}

fn tier_on() -> bool {
    true
}

/// Which burn-rate tiers of an SLO are generated: `tiers: { ticket-slow: false }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields)]
pub struct BurnTiers {
    /// The 5m/1h page.
    #[serde(default = "tier_on")]
    pub page_fast: bool,
    /// The 30m/6h page.
    #[serde(default = "tier_on")]
    pub page_slow: bool,
    /// The 2h/1d ticket.
    #[serde(default = "tier_on")]
    pub ticket_fast: bool,
    /// The 6h/3d ticket.
    #[serde(default = "tier_on")]
    pub ticket_slow: bool,
}

impl Default for BurnTiers {
    fn default() -> Self {
        Self { page_fast: true, page_slow: true, ticket_fast: true, ticket_slow: true }
    }
}

impl BurnTiers {
    /// Whether `tier` is generated.
    pub fn enabled(&self, tier: BurnTier) -> bool {
        match tier {
            BurnTier::PageFast => self.page_fast,
            BurnTier::PageSlow => self.page_slow,
            BurnTier::TicketFast => self.ticket_fast,
            BurnTier::TicketSlow => self.ticket_slow,
        }
    }
}

/// Alert severity, which Alertmanager routes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Wake someone up.
    Page,
    /// Look at it in working hours.
    Ticket,
}

/// A window and the threshold that must be crossed over it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WindowThreshold {
    /// Range of the rate (`5m`).
    pub window: Duration,
    /// Threshold.
    pub threshold: f64,
}

/// How an alert's expression is built. Every variant but `expr` is built
/// by obspec from the spec; `expr` is type-checked against the spec.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    /// A histogram quantile above a threshold over all the windows.
    QuantileAbove {
        /// Histogram selector.
        histogram: String,
        /// Quantile (0.99).
        quantile: f64,
        /// Threshold in the histogram's unit.
        threshold: f64,
        /// Windows that must all exceed it.
        windows: Vec<Duration>,
        /// Least request rate (per second) over each window for the quantile to count.
        #[serde(default)]
        min_rate: Option<f64>,
    },
    /// A ratio of two counters above a threshold over any of the windows.
    RatioAbove {
        /// Bad events selector.
        errors: String,
        /// All events selector.
        total: String,
        /// Fires when any window exceeds its threshold.
        any_of: Vec<WindowThreshold>,
        /// Least rate of `total` (per second) for the alert to fire.
        min_rate: f64,
    },
    /// A counter's rate per label value jumping above a multiple of its baseline.
    Spike {
        /// Counter selector.
        counter: String,
        /// Labels to compare per value (`tenant`).
        by: Vec<String>,
        /// Short window.
        window: Duration,
        /// Baseline window.
        baseline: Duration,
        /// How many times the baseline rate counts as a spike.
        factor: f64,
        /// Least rate (per second) for a spike to count.
        min_rate: f64,
    },
    /// A gauge at or above a threshold.
    GaugeAtLeast {
        /// Gauge selector.
        gauge: String,
        /// Threshold.
        threshold: f64,
    },
    /// A hand-written PromQL expression, type-checked against the spec.
    Expr {
        /// The expression.
        expr: String,
    },
}

/// An alert beyond the SLO burn-rate alerts.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Alert {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Alert name, `UpperCamelCase`.
    pub name: String,
    /// Component it belongs to.
    pub component: String,
    /// Routing severity.
    pub severity: Severity,
    /// How long the condition must hold.
    #[serde(rename = "for")]
    pub for_: Duration,
    /// One-line summary.
    pub summary: String,
    /// What is happening and what to check.
    pub description: String,
    /// How the expression is built.
    pub rule: AlertRule,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// Grafana panel type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PanelType {
    /// Time series graph.
    Timeseries,
    /// Single value.
    Stat,
    /// Bar gauge (rankings).
    Bargauge,
    /// Table.
    Table,
}

/// A PromQL query of a panel.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PanelQuery {
    /// PromQL expression (type-checked against the spec).
    pub expr: String,
    /// Legend format (`{{tool}}`).
    pub legend: String,
}

/// A threshold line on a panel.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PanelThreshold {
    /// Value, in the panel's unit (exclusive with `slo`).
    #[serde(default)]
    pub value: Option<f64>,
    /// Take the value from this SLO (its latency threshold or error budget).
    #[serde(default)]
    pub slo: Option<String>,
    /// Colour (`red`, `orange`…).
    pub color: String,
}

/// A dashboard panel.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Panel {
    /// Title.
    pub title: String,
    /// Visualisation.
    #[serde(rename = "type")]
    pub ty: PanelType,
    /// Grafana unit id (`s`, `percentunit`, `reqps`…).
    pub unit: String,
    /// Width in grid columns (of 24).
    pub width: u32,
    /// Height in grid rows.
    pub height: u32,
    /// Queries.
    pub queries: Vec<PanelQuery>,
    /// Threshold lines.
    #[serde(default)]
    pub thresholds: Vec<PanelThreshold>,
    /// What the panel shows.
    #[serde(default)]
    pub description: Option<String>,
}

/// A row of panels.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DashboardRow {
    /// Row title.
    pub title: String,
    /// Panels, laid out left to right, wrapping at 24 columns.
    pub panels: Vec<Panel>,
}

/// A Grafana dashboard.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Dashboard {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// File stem under `grafana/dashboards/` (`00-executive`).
    pub file: String,
    /// Title.
    pub title: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Open labels offered as template variables (`tenant`, `route`, `tool`).
    #[serde(default)]
    pub variables: Vec<String>,
    /// Add one row per SLO (objective, budget remaining, burn rate).
    #[serde(default)]
    pub slo_rows: bool,
    /// Default time range (`now-24h`).
    pub time_from: String,
    /// Refresh interval (`1m`).
    pub refresh: String,
    /// Rows.
    pub rows: Vec<DashboardRow>,
}

/// Type of a flag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagType {
    /// On or off.
    Bool,
    /// A fraction between `min` and `max`.
    Ratio,
    /// One of `values`.
    Enum,
    /// A whole number of milliseconds between `min` and `max`.
    Millis,
    /// A map from route template or tool name to a sampling rate (at most `max`).
    RateMap,
}

/// What the runtime does with a flag; the spec says which flag plays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagRole {
    /// Success sampling rate of the log plane (`ratio`).
    SamplingSuccess,
    /// Spike mode of the log plane (`bool`; `logs.sampling.spike_flag` names it).
    SamplingSpike,
    /// Per-route / per-tool success sampling rates (`rate_map`).
    SamplingOverrides,
    /// Lowest level of events written (`enum` of tracing levels).
    LogLevel,
    /// Chaos light on or off (`bool`).
    ChaosLight,
    /// Fraction of requests chaos light delays (`ratio`).
    ChaosRatio,
    /// Shortest chaos delay (`millis`).
    ChaosDelayMin,
    /// Longest chaos delay (`millis`).
    ChaosDelayMax,
    /// Blue/green stage served, switched by `/_reload?stage=` (`enum`).
    Stage,
}

impl FlagRole {
    /// Every role; each is held by at most one flag.
    pub const ALL: [FlagRole; 9] = [
        FlagRole::SamplingSuccess,
        FlagRole::SamplingSpike,
        FlagRole::SamplingOverrides,
        FlagRole::LogLevel,
        FlagRole::ChaosLight,
        FlagRole::ChaosRatio,
        FlagRole::ChaosDelayMin,
        FlagRole::ChaosDelayMax,
        FlagRole::Stage,
    ];

    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagRole::SamplingSuccess => "sampling_success",
            FlagRole::SamplingSpike => "sampling_spike",
            FlagRole::SamplingOverrides => "sampling_overrides",
            FlagRole::LogLevel => "log_level",
            FlagRole::ChaosLight => "chaos_light",
            FlagRole::ChaosRatio => "chaos_ratio",
            FlagRole::ChaosDelayMin => "chaos_delay_min",
            FlagRole::ChaosDelayMax => "chaos_delay_max",
            FlagRole::Stage => "stage",
        }
    }

    /// The flag type a flag playing this role must have.
    pub fn flag_type(self) -> FlagType {
        match self {
            FlagRole::SamplingSuccess | FlagRole::ChaosRatio => FlagType::Ratio,
            FlagRole::SamplingSpike | FlagRole::ChaosLight => FlagType::Bool,
            FlagRole::SamplingOverrides => FlagType::RateMap,
            FlagRole::LogLevel | FlagRole::Stage => FlagType::Enum,
            FlagRole::ChaosDelayMin | FlagRole::ChaosDelayMax => FlagType::Millis,
        }
    }
}

/// A safe-ops feature flag, read from the environment or a file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Flag {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Dotted name (`sampling.spike`); the env var is the project's prefix
    /// (the project name upper-cased, then `_`) + the name in upper snake case.
    pub name: String,
    /// What it does.
    pub help: String,
    /// Value type.
    #[serde(rename = "type")]
    pub ty: FlagType,
    /// Default value, of the flag's type.
    pub default: serde_json::Value,
    /// Lowest allowed (`ratio`, `millis`).
    #[serde(default)]
    pub min: Option<f64>,
    /// Highest allowed (`ratio`, `millis`, and each rate of a `rate_map`).
    #[serde(default)]
    pub max: Option<f64>,
    /// Allowed values (`enum` only).
    #[serde(default)]
    pub values: Vec<String>,
    /// What the runtime does with it (none: an application flag).
    #[serde(default)]
    pub role: Option<FlagRole>,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// A deployment profile (`environments[]`): where each component listens in
/// one environment. `gen` renders its own Prometheus config from it, under
/// `infra/observability/<name>/`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Environment {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Identifier (`local`), also the directory of its rendered files.
    pub name: String,
    /// What the profile is for.
    pub title: String,
    /// Scrape and rule-evaluation interval of the profile's Prometheus.
    pub scrape_interval: String,
    /// `host:port` the profile's Prometheus listens on.
    pub prometheus: String,
    /// `host:port` of the profile's Alertmanager.
    pub alertmanager: String,
    /// `host:port` of the webhook receiver: when set, `gen` also renders the
    /// profile's `alertmanager.yml`, the generated one with every webhook
    /// pointed there (so local runs never post to the production placeholder).
    #[serde(default)]
    pub receiver: Option<String>,
    /// Scrape target (`host:port`) of each component the profile runs, by component name.
    pub targets: std::collections::BTreeMap<String, String>,
    /// `host:port` of the profile's OTLP/HTTP receiver, where the OTLP
    /// components (`exposition: otlp`) send; their target is then where that
    /// receiver's Prometheus exporter is scraped (locally `obspec-tools
    /// live-check --otlp <this> --expose <target>` stands in for the collector).
    #[serde(default)]
    pub otlp: Option<String>,
    /// When set, `gen` also renders a time-compressed variant of the spec's
    /// `alerts` (ranges, offsets and `for:` divided by this factor) and a
    /// Prometheus config loading it, for short test runs.
    #[serde(default)]
    pub time_compression: Option<u32>,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

/// A degradation ladder (`ladders[]`, blueprint §4: "truncate refs 100 → 40 →
/// 10"): the more of the component's concurrency limit is in use, the fewer
/// items its list answers return. Each step past the first is a value of the
/// counting metric's label, so every degraded answer is counted by step.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Ladder {
    /// Where the item was written; set by the loader, not part of the YAML.
    #[serde(skip)]
    pub loc: Loc,
    /// Identifier (`list_refs`), also the generated table's name.
    pub name: String,
    /// The component that degrades.
    pub component: String,
    /// What degrades.
    pub help: String,
    /// What moves the ladder.
    pub trigger: LadderTrigger,
    /// Counter of degraded answers (the component's), labelled by step.
    pub metric: String,
    /// The metric's closed label whose values are the degraded steps' names.
    #[serde(default = "default_ladder_label")]
    pub label: String,
    /// The steps, by increasing load; the first is the normal answer.
    pub steps: Vec<LadderStep>,
    /// Blueprint reference or resolution id.
    #[serde(default)]
    pub note: Option<String>,
}

fn default_ladder_label() -> String {
    "step".to_owned()
}

/// What moves a [`Ladder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LadderTrigger {
    /// The share of the concurrency limit in flight (this request included), 0..=1.
    Concurrency,
}

/// One step of a [`Ladder`].
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LadderStep {
    /// Identifier (`normal`, `reduced`, …), the label value of a degraded step.
    pub name: String,
    /// Most items an answer holds at this step.
    pub limit: u32,
    /// Load (per the trigger, 0..=1) from which the step applies; 0 for the first.
    pub from_load: f64,
}

impl Metric {
    /// Whether `component` emits it (its owner or one of `also_in`).
    pub fn emitted_by(&self, component: &str) -> bool {
        self.component == component || self.also_in.iter().any(|c| c == component)
    }
}
