//! TypeScript emitters for components that push OTLP (`exposition: otlp`):
//! `apps/<component>/obs/otlp_client.ts`, one typed function per metric of
//! the component, a server-blind log helper, and OTLP/HTTP JSON encoding with
//! batching and an explicit `flush()`.
//!
//! Closed labels are string-literal unions (booleans for `true`/`false`
//! labels), so a wrong metric, label or label value fails `tsc --strict`;
//! open labels are `string`, admitted first-come up to `max_values` per
//! metric and label and folded into `other` past it, the rule of the Rust
//! emitters (`obspec::metrics::OpenFamily`).
//!
//! OTLP is encoded directly rather than through the OpenTelemetry JS SDK: the
//! SDK's periodic reader and batch processors export on `setTimeout`/
//! `setInterval`, and a Worker has no timers between requests (work left after
//! the response is cancelled unless handed to `ctx.waitUntil`). A hand-written
//! encoder of the few OTLP/JSON messages used here has no dependency, no
//! bundling step, and exports exactly when the Worker says so.

use std::fmt::Write as _;

use crate::model::{LabelDef, LabelKind, LogFieldType, LogRole, Metric, MetricKind, MetricRole, Spec, Unit};
use crate::names;
use crate::names::camel;
use crate::output::GeneratedFile;
use crate::render::header;

/// The file name under each OTLP component's `obs/` directory.
pub const FILE: &str = "otlp_client.ts";

/// The directory (relative to the output root) a component's client is written to.
pub fn dir_of(component: &str) -> String {
    format!("apps/{component}/obs")
}

/// The directories this renderer owns for a spec: `apps/<c>/obs` of every OTLP component.
pub fn owned_dirs(spec: &Spec) -> Vec<String> {
    spec.components.iter().filter(|c| c.exposition == crate::model::Exposition::Otlp).map(|c| dir_of(&c.name)).collect()
}

/// Renders the client of every component with `exposition: otlp`.
pub fn render(spec: &Spec, sources: &[String]) -> Vec<GeneratedFile> {
    spec.components
        .iter()
        .filter(|c| c.exposition == crate::model::Exposition::Otlp)
        .map(|c| GeneratedFile {
            path: format!("{}/{FILE}", dir_of(&c.name)),
            contents: client(spec, &c.name, sources),
        })
        .collect()
}

fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn union(values: &[String]) -> String {
    if values.is_empty() { "never".to_owned() } else { values.iter().map(|v| lit(v)).collect::<Vec<_>>().join(" | ") }
}

/// UCUM unit of a spec unit, as OTLP carries it.
pub fn ucum(u: Unit) -> &'static str {
    match u {
        Unit::Seconds => "s",
        Unit::Milliseconds => "ms",
        Unit::Bytes => "By",
        Unit::Count | Unit::Ratio => "1",
    }
}

fn is_bool(l: &LabelDef) -> bool {
    l.kind == LabelKind::Closed && l.values.len() == 2 && l.values.iter().all(|v| v == "true" || v == "false")
}

fn type_name(label: &str) -> String {
    let c = camel(label);
    if matches!(c.as_str(), "Ok" | "Error" | "Route" | "Record" | "Map" | "Set" | "ErrorToken") {
        format!("{c}Label")
    } else {
        c
    }
}

/// The TypeScript type of a label's value.
fn label_ty(l: &LabelDef) -> String {
    match l.kind {
        LabelKind::Open => "string".to_owned(),
        LabelKind::ErrorToken => "ErrorToken | null".to_owned(),
        LabelKind::Closed if is_bool(l) => "boolean".to_owned(),
        LabelKind::Closed => type_name(&l.name),
    }
}

fn num(v: f64) -> String {
    names::fmt_float(v)
}

fn kind_word(k: MetricKind) -> &'static str {
    match k {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
    }
}

fn role_metric(spec: &Spec, role: MetricRole) -> Option<&Metric> {
    spec.metrics.iter().find(|m| m.role == Some(role))
}

fn interface_name(m: &Metric) -> String {
    format!("{}Labels", camel(&m.name))
}

fn client(spec: &Spec, component: &str, sources: &[String]) -> String {
    let metrics: Vec<&Metric> = spec.metrics.iter().filter(|m| m.component == component).collect();
    let label = |n: &str| spec.labels.iter().find(|l| l.name == n);
    let mut o = String::new();
    let _ = writeln!(o, "// @generated {}", header::text(sources));
    let _ = write!(
        o,
        r#"/**
 * Typed OTLP/HTTP emitters of component `{component}`: one function per metric
 * of the spec, and a server-blind log helper.
 *
 * - A wrong metric, label or closed label value does not compile under
 *   `tsc --strict`. Open labels take any string: each admits its first
 *   `max_values` values per metric and folds later ones into `other`, counted
 *   by the label-overflow self-metric (the Rust emitters' rule).
 * - Counters are cumulative (OTLP `AggregationTemporality` CUMULATIVE),
 *   histograms have the spec's explicit buckets, gauges keep their last value.
 * - Nothing is sent in the background: a Worker has no timers between requests,
 *   and work left after the response is cancelled unless handed to
 *   `ctx.waitUntil`. Call `ctx.waitUntil(obs.flush())` at the end of every
 *   request: it posts the metrics (all series, cumulative, when any changed)
 *   and the buffered log records as OTLP/JSON to `<endpoint>/v1/metrics` and
 *   `<endpoint>/v1/logs`, in batches of at most `maxBatch` records.
 * - OTLP is encoded here directly, not with the OpenTelemetry JS SDK: the SDK
 *   exports from `setInterval`/`setTimeout` timers, which a Worker does not run
 *   between requests; this encoder has no dependency and exports exactly when
 *   `flush()` is called.
 * - Logs carry only the spec's allowed fields, typed; at run time a key outside
 *   the allow-list or a value of the wrong shape is dropped (and counted), and
 *   no record has a body.
 */

/** The component these emitters belong to (`service.name`, log `component`). */
export const COMPONENT = {comp_lit};

/** The value an open label takes past its bound. */
export const OTHER = "other";

"#,
        comp_lit = lit(component)
    );

    // Closed label types used by the component's metrics or its log fields.
    let mut used: Vec<&LabelDef> = Vec::new();
    for m in &metrics {
        for l in m.labels.iter().filter_map(|n| label(n)) {
            if l.kind == LabelKind::Closed && !is_bool(l) && !used.iter().any(|u| u.name == l.name) {
                used.push(l);
            }
        }
    }
    let uses_method_field = spec.logs.fields.iter().any(|f| f.ty == LogFieldType::Method);
    if uses_method_field
        && let Some(l) = label("method")
        && !used.iter().any(|u| u.name == "method")
    {
        used.push(l);
    }
    for l in &used {
        let _ = writeln!(o, "/** Values of the closed label `{}`: {} */", l.name, l.help);
        let t = type_name(&l.name);
        let _ = writeln!(o, "export type {t} = {};", union(&l.values));
        let vals: Vec<String> = l.values.iter().map(|v| lit(v)).collect();
        let _ = writeln!(o, "/** Every value of `{}`, in spec order. */", l.name);
        let _ = writeln!(o, "export const {}_VALUES: readonly {t}[] = [{}];", l.name.to_uppercase(), vals.join(", "));
        let _ = writeln!(o, "/** Whether `v` is a value of `{}`. */", l.name);
        let _ = writeln!(
            o,
            "export function is{t}(v: string): v is {t} {{\n  return ({}_VALUES as readonly string[]).includes(v);\n}}\n",
            l.name.to_uppercase()
        );
    }
    let tokens: Vec<String> = spec.error_tokens.iter().map(|t| t.token.clone()).collect();
    let _ = writeln!(o, "/** The ErrorToken vocabulary. */");
    let _ = writeln!(o, "export type ErrorToken = {};\n", union(&tokens));
    let by_name: Vec<String> = tokens.iter().map(|t| format!("  {t}: {},", lit(t))).collect();
    let _ = writeln!(
        o,
        "/** Every ErrorToken by name, for code that answers with a token of its own (as Rust code names `ErrorToken::…`); the runtime's answers go by role (`ERROR_ROLE`). */"
    );
    let _ = writeln!(
        o,
        "export const ERROR_TOKEN = {{\n{}\n}} as const satisfies Readonly<Record<ErrorToken, ErrorToken>>;\n",
        by_name.join("\n")
    );
    let mut routes: Vec<String> = spec.components.iter().flat_map(|c| c.routes.iter().cloned()).collect();
    routes.sort();
    routes.dedup();
    let _ = writeln!(o, "/** Route templates of the spec (the `route` log field). */");
    let _ = writeln!(o, "export type RouteTemplate = {};\n", union(&routes));
    let own: Vec<String> =
        spec.components.iter().filter(|c| c.name == component).flat_map(|c| c.routes.iter().map(|r| lit(r))).collect();
    let _ = writeln!(o, "/** The route templates of component `{component}`, in spec order. */");
    let _ = writeln!(o, "export const COMPONENT_ROUTES: readonly RouteTemplate[] = [{}];\n", own.join(", "));
    let statuses: Vec<String> =
        spec.error_tokens.iter().map(|t| format!("  {}: {},", t.token, t.http_status)).collect();
    let _ = writeln!(o, "/** The HTTP status each ErrorToken answers with. */");
    let _ = writeln!(
        o,
        "export const ERROR_STATUS: Readonly<Record<ErrorToken, number>> = {{\n{}\n}};\n",
        statuses.join("\n")
    );
    // Code answers by role, as the Rust runtime does (`TokenInfo::for_role`), so a
    // renamed token changes no caller.
    let mut roles: Vec<String> =
        spec.error_tokens.iter().filter(|t| t.fallback).map(|t| format!("  fallback: {},", lit(&t.token))).collect();
    for role in crate::model::TokenRole::ALL {
        if let Some(t) = spec.error_tokens.iter().find(|t| t.role == Some(role)) {
            roles.push(format!("  {}: {},", role.as_str(), lit(&t.token)));
        }
    }
    let _ = writeln!(o, "/** The ErrorToken that plays each role of the spec (`error_tokens[].role`, `fallback`). */");
    let _ = writeln!(
        o,
        "export const ERROR_ROLE = {{\n{}\n}} as const satisfies Readonly<Record<string, ErrorToken>>;\n",
        roles.join("\n")
    );

    // Label interfaces.
    for m in &metrics {
        if m.labels.is_empty() {
            continue;
        }
        let _ = writeln!(o, "/** Labels of `{}`. */", m.name);
        let _ = writeln!(o, "export interface {} {{", interface_name(m));
        for l in m.labels.iter().filter_map(|n| label(n)) {
            let bound = match l.kind {
                LabelKind::Open => format!(" Open: at most {} values, then `other`.", l.max_values.unwrap_or(0)),
                _ => String::new(),
            };
            let _ = writeln!(o, "  /** {}{bound} */", l.help);
            let _ = writeln!(o, "  readonly {}: {};", l.name, label_ty(l));
        }
        let _ = writeln!(o, "}}\n");
    }

    // The metric table.
    let _ = writeln!(o, "/** Metric kinds as the encoder knows them. */");
    let _ = writeln!(o, "type Kind = \"counter\" | \"gauge\" | \"histogram\";\n");
    let _ = writeln!(o, "interface MetricDesc {{");
    let _ = writeln!(
        o,
        "  readonly name: string;\n  readonly kind: Kind;\n  readonly unit: string;\n  readonly help: string;"
    );
    let _ = writeln!(o, "  /** Label names in spec order, with the bound of open ones (0 for closed). */");
    let _ = writeln!(o, "  readonly labels: readonly (readonly [string, number])[];");
    let _ = writeln!(
        o,
        "  /** Renamed labels, `[new, old]`: also written under the old name until the deprecation ends. */"
    );
    let _ = writeln!(o, "  readonly aliases?: readonly (readonly [string, string])[];");
    let _ = writeln!(o, "  readonly buckets: readonly number[];\n}}\n");
    let mut table: Vec<&Metric> = metrics.clone();
    for role in [MetricRole::LabelOverflow, MetricRole::LogRedacted, MetricRole::LogDropped] {
        if let Some(m) = role_metric(spec, role)
            && !table.iter().any(|t| t.name == m.name)
        {
            table.push(m);
        }
    }
    let _ =
        writeln!(o, "/** Every metric this client can emit, from the spec (its own, then obspec's self-metrics). */");
    let _ = writeln!(o, "export const METRICS: readonly MetricDesc[] = [");
    for m in &table {
        let labels: Vec<String> = m
            .labels
            .iter()
            .map(|n| {
                let bound = label(n).filter(|l| l.kind == LabelKind::Open).and_then(|l| l.max_values).unwrap_or(0);
                format!("[{}, {bound}]", lit(n))
            })
            .collect();
        // A renamed label is also written under its old name, with the value
        // the new one gets after folding (`rename.rs`).
        let aliases: Vec<String> = m
            .labels
            .iter()
            .filter_map(|n| crate::rename::label_alias(spec, n).map(|old| format!(", [{}, {}]", lit(n), lit(old))))
            .collect();
        let aliases =
            if aliases.is_empty() { String::new() } else { format!(", aliases: [{}]", &aliases.concat()[2..]) };
        let buckets: Vec<String> = m.buckets.iter().map(|b| num(*b)).collect();
        let _ = writeln!(
            o,
            "  {{ name: {}, kind: {}, unit: {}, help: {}, labels: [{}], buckets: [{}]{aliases} }},",
            lit(&m.name),
            lit(kind_word(m.kind)),
            lit(ucum(m.unit)),
            lit(&m.help),
            labels.join(", "),
            buckets.join(", ")
        );
    }
    let _ = writeln!(o, "];\n");
    let role_name = |r: MetricRole| role_metric(spec, r).map_or("null".to_owned(), |m| lit(&m.name));
    let _ = writeln!(o, "const OVERFLOW_METRIC: string | null = {};", role_name(MetricRole::LabelOverflow));
    let _ = writeln!(o, "const REDACTED_METRIC: string | null = {};", role_name(MetricRole::LogRedacted));
    let _ = writeln!(o, "const DROPPED_METRIC: string | null = {};", role_name(MetricRole::LogDropped));
    let none = spec
        .labels
        .iter()
        .find(|l| l.kind == LabelKind::ErrorToken)
        .and_then(|l| l.none.clone())
        .unwrap_or_else(|| "NONE".to_owned());
    let uses_token =
        metrics.iter().any(|m| m.labels.iter().any(|n| label(n).is_some_and(|l| l.kind == LabelKind::ErrorToken)));
    if uses_token {
        let _ = writeln!(o, "const ERROR_TOKEN_NONE = {};", lit(&none));
    }
    o.push('\n');

    // Log fields.
    o.push_str("/**\n * The fields a log record may carry: the spec's allow-list. The `ts` and\n * `component` role fields are written by the helper itself.\n */\n");
    let _ = writeln!(o, "export interface LogFields {{");
    let mut shapes: Vec<String> = Vec::new();
    for f in &spec.logs.fields {
        if matches!(f.role, Some(LogRole::Ts) | Some(LogRole::Component)) {
            continue;
        }
        let ty = match f.ty {
            LogFieldType::Timestamp | LogFieldType::Component | LogFieldType::Text => "never",
            LogFieldType::Id | LogFieldType::TraceId | LogFieldType::Name => "string",
            LogFieldType::Route => "RouteTemplate",
            LogFieldType::Method => {
                if label("method").is_some() {
                    "Method"
                } else {
                    "string"
                }
            }
            LogFieldType::Bool | LogFieldType::Outcome => "boolean",
            LogFieldType::ErrorToken => "ErrorToken",
            LogFieldType::HttpStatus | LogFieldType::Count => "number",
        };
        let shape = match f.ty {
            LogFieldType::Timestamp | LogFieldType::Component | LogFieldType::Text => "never",
            LogFieldType::Id => "id",
            LogFieldType::TraceId => "trace_id",
            LogFieldType::Name => "name",
            LogFieldType::Route => "route",
            LogFieldType::Method => "method",
            LogFieldType::Bool | LogFieldType::Outcome => "bool",
            LogFieldType::ErrorToken => "error_token",
            LogFieldType::HttpStatus => "http_status",
            LogFieldType::Count => "count",
        };
        shapes.push(format!("  {}: {},", f.name, lit(shape)));
        let _ = writeln!(o, "  /** {} */", f.help);
        let _ = writeln!(o, "  readonly {}?: {ty};", f.name);
    }
    let _ = writeln!(o, "}}\n");
    let _ = writeln!(
        o,
        "type Shape = \"id\" | \"trace_id\" | \"name\" | \"route\" | \"method\" | \"bool\" | \"error_token\" | \"http_status\" | \"count\" | \"never\";\n"
    );
    let _ = writeln!(o, "/** The shape each allowed field's value must have. */");
    let _ = writeln!(o, "const FIELD_SHAPES: Readonly<Record<string, Shape>> = {{\n{}\n}};\n", shapes.join("\n"));
    let forbidden: Vec<String> = spec.logs.forbidden.iter().map(|s| lit(s)).collect();
    let _ = writeln!(o, "/** Names that must never be a key. */");
    let _ = writeln!(o, "const FORBIDDEN: ReadonlySet<string> = new Set([{}]);\n", forbidden.join(", "));
    let route_lits: Vec<String> = routes.iter().map(|r| lit(r)).collect();
    let _ = writeln!(o, "const ROUTES: ReadonlySet<string> = new Set([{}]);", route_lits.join(", "));
    let method_lits: Vec<String> =
        label("method").map(|l| l.values.iter().map(|v| lit(v)).collect()).unwrap_or_default();
    let _ = writeln!(o, "const METHODS: ReadonlySet<string> = new Set([{}]);", method_lits.join(", "));
    let token_lits: Vec<String> = tokens.iter().map(|t| lit(t)).collect();
    let _ = writeln!(o, "const TOKENS: ReadonlySet<string> = new Set([{}]);", token_lits.join(", "));
    let _ = writeln!(o, "const ID_MAX_LEN = {};", spec.project.id_max_len);
    let name_of =
        |r: LogRole| spec.logs.fields.iter().find(|f| f.role == Some(r)).map_or("null".to_owned(), |f| lit(&f.name));
    let _ = writeln!(o, "const FIELD_COMPONENT: string | null = {};", name_of(LogRole::Component));
    let _ = writeln!(o, "const FIELD_OK: string | null = {};", name_of(LogRole::Ok));
    let s = &spec.logs.sampling;
    let overrides: Vec<String> = s
        .overrides
        .iter()
        .filter_map(|ov| {
            let (field, value) = match (&ov.route, &ov.tool) {
                (Some(r), _) => (name_of(LogRole::Route), r),
                (None, Some(t)) => (name_of(LogRole::Tool), t),
                (None, None) => return None,
            };
            Some(format!("[{field}, {}, {}]", lit(value), num(ov.success)))
        })
        .collect();
    let _ = writeln!(o, "/** Default sampling: successes, errors, and per-route/tool success overrides. */");
    let _ = writeln!(
        o,
        "const SAMPLING = {{ success: {}, error: {}, overrides: [{}] as readonly (readonly [string | null, string, number])[] }};\n",
        num(s.success),
        num(s.error),
        overrides.join(", ")
    );

    o.push_str(RUNTIME);

    // The typed client.
    o.push_str("\n/** The typed emitters of the component: one method per metric of the spec. */\nexport class Obs extends OtlpClient {\n");
    o.push_str(
        "  /** A client; every series of the fully closed metrics starts at zero (as `install_for` does in Rust). */\n",
    );
    o.push_str("  constructor(opts: ObsOptions) {\n    super(opts);\n");
    for m in &metrics {
        for combo in closed_combos(spec, m) {
            let pairs: Vec<String> = combo.iter().map(|(k, v)| format!("{k}: {}", lit(v))).collect();
            let _ = writeln!(o, "    this.touch({}, {{ {} }});", lit(&m.name), pairs.join(", "));
        }
    }
    o.push_str("  }\n\n");
    for m in &metrics {
        let labels: Vec<&LabelDef> = m.labels.iter().filter_map(|n| label(n)).collect();
        let pairs: Vec<String> = labels
            .iter()
            .map(|l| {
                let v = match l.kind {
                    LabelKind::Open => format!("labels.{}", l.name),
                    LabelKind::ErrorToken => format!("labels.{} ?? ERROR_TOKEN_NONE", l.name),
                    LabelKind::Closed if is_bool(l) => format!("labels.{} ? \"true\" : \"false\"", l.name),
                    LabelKind::Closed => format!("labels.{}", l.name),
                };
                format!("{}: {v}", l.name)
            })
            .collect();
        let args = if labels.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", pairs.join(", ")) };
        let lab_param = if labels.is_empty() { String::new() } else { format!("labels: {}, ", interface_name(m)) };
        let (param, doc_verb, call) = match m.kind {
            MetricKind::Counter => ("by = 1", "Adds `by` (default 1) to", "add"),
            MetricKind::Gauge => ("value: number", "Sets", "set"),
            MetricKind::Histogram => ("value: number", "Observes `value` in", "observe"),
        };
        let mut doc = format!("{doc_verb} `{}`: {} ({}, unit `{}`", m.name, m.help, kind_word(m.kind), ucum(m.unit));
        if !m.buckets.is_empty() {
            let b: Vec<String> = m.buckets.iter().map(|b| num(*b)).collect();
            let _ = write!(doc, ", buckets {}", b.join(", "));
        }
        doc.push_str(").");
        let _ = writeln!(o, "  /** {doc} */");
        let _ = writeln!(o, "  {}({lab_param}{param}): void {{", m.name);
        let v = if m.kind == MetricKind::Counter { "by" } else { "value" };
        let _ = writeln!(o, "    this.{call}({}, {args}, {v});", lit(&m.name));
        let _ = writeln!(o, "  }}\n");
    }
    o.push_str("  /** Logs one server-blind record: only the spec's fields, each of its shape. */\n");
    o.push_str(
        "  log(fields: LogFields): void {\n    this.logRecord(fields as Readonly<Record<string, unknown>>);\n  }\n}\n",
    );
    o
}

/// Every combination of label values of a metric whose labels are all closed
/// (none for a metric with an open label; one empty combination without labels).
fn closed_combos(spec: &Spec, m: &Metric) -> Vec<Vec<(String, String)>> {
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for n in &m.labels {
        let Some(l) = spec.labels.iter().find(|l| &l.name == n) else { return Vec::new() };
        let values: Vec<String> = match l.kind {
            LabelKind::Open => return Vec::new(),
            LabelKind::ErrorToken => std::iter::once(l.none.clone().unwrap_or_else(|| "NONE".to_owned()))
                .chain(spec.error_tokens.iter().map(|t| t.token.clone()))
                .collect(),
            LabelKind::Closed => l.values.clone(),
        };
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((n.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    combos
}

/// The component-independent part of the client: state, folding, encoding, export.
const RUNTIME: &str = r#"
/** Options of a client. */
export interface ObsOptions {
  /** OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318` (`/v1/metrics` and `/v1/logs` are appended). */
  readonly endpoint: string;
  /** Most records (data points or log records) in one request; default 512. */
  readonly maxBatch?: number;
  /** Most log records kept between flushes; older ones are dropped and counted. Default 2048. */
  readonly maxQueue?: number;
  /** Success sampling rate, overriding the spec's (errors are always kept). */
  readonly sampleSuccess?: number;
  /** Extra request headers (e.g. an authorisation header for the collector). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The fetch to export with; default the global one. */
  readonly fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Clock in milliseconds since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** Random source in [0, 1) for sampling; default `Math.random`. */
  readonly random?: () => number;
}

type Attr = { key: string; value: { stringValue: string } | { boolValue: boolean } | { intValue: string } };

interface Series {
  readonly attrs: Attr[];
  value: number;
  counts: number[];
  sum: number;
  count: number;
}

interface Family {
  readonly desc: MetricDesc;
  readonly series: Map<string, Series>;
  /** Admitted values of each open label, by label name. */
  readonly admitted: Map<string, Set<string>>;
}

interface LogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  attributes: Attr[];
}

const DESCS: ReadonlyMap<string, MetricDesc> = new Map(METRICS.map((d) => [d.name, d]));

function nanos(ms: number): string {
  return `${BigInt(Math.trunc(ms)) * 1000000n}`;
}

function shapeOk(shape: Shape, v: unknown): boolean {
  switch (shape) {
    case "id":
      return typeof v === "string" && v.length > 0 && v.length <= ID_MAX_LEN && /^[A-Za-z0-9._:-]+$/.test(v);
    case "trace_id":
      return typeof v === "string" && /^[0-9a-f]{32}$/.test(v) && !/^0+$/.test(v);
    case "name":
      return typeof v === "string" && v.length <= 64 && /^[a-z0-9][a-z0-9_.-]*$/.test(v);
    case "route":
      return typeof v === "string" && ROUTES.has(v);
    case "method":
      return typeof v === "string" && METHODS.has(v);
    case "bool":
      return typeof v === "boolean";
    case "error_token":
      return typeof v === "string" && TOKENS.has(v);
    case "http_status":
      return typeof v === "number" && Number.isInteger(v) && v >= 100 && v <= 599;
    case "count":
      return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
    case "never":
      return false;
  }
}

function attr(key: string, v: unknown): Attr {
  if (typeof v === "boolean") return { key, value: { boolValue: v } };
  if (typeof v === "number") return { key, value: { intValue: `${v}` } };
  return { key, value: { stringValue: String(v) } };
}

/**
 * The untyped core of the emitters: cumulative series, open-label folding, log
 * buffering and OTLP/JSON export. Use the typed [`Obs`] subclass.
 */
export class OtlpClient {
  private readonly families = new Map<string, Family>();
  private logs: LogRecord[] = [];
  private dirty = false;
  private readonly start: number;
  private inflight: Promise<void> = Promise.resolve();
  private readonly opts: ObsOptions;

  constructor(opts: ObsOptions) {
    this.opts = opts;
    this.start = this.now();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private family(name: string): Family | undefined {
    let f = this.families.get(name);
    if (f) return f;
    const desc = DESCS.get(name);
    if (!desc) return undefined;
    f = { desc, series: new Map(), admitted: new Map() };
    this.families.set(name, f);
    return f;
  }

  /** The series of `name` for these label values, open labels folded. */
  private series(name: string, labels: Readonly<Record<string, string>>): Series | undefined {
    const f = this.family(name);
    if (!f) return undefined;
    const attrs: Attr[] = [];
    for (const [label, bound] of f.desc.labels) {
      let v = labels[label] ?? OTHER;
      if (bound > 0) {
        let set = f.admitted.get(label);
        if (!set) {
          set = new Set();
          f.admitted.set(label, set);
        }
        if (!set.has(v)) {
          if (set.size < bound) {
            set.add(v);
          } else {
            v = OTHER;
            if (OVERFLOW_METRIC !== null && name !== OVERFLOW_METRIC) this.add(OVERFLOW_METRIC, { metric: name, label }, 1);
          }
        }
      }
      attrs.push({ key: label, value: { stringValue: v } });
      const alias = f.desc.aliases?.find(([to]) => to === label);
      if (alias) attrs.push({ key: alias[1], value: { stringValue: v } });
    }
    const key = attrs.map((a) => ("stringValue" in a.value ? a.value.stringValue : "")).join("\u0000");
    let s = f.series.get(key);
    if (!s) {
      s = { attrs, value: 0, counts: new Array(f.desc.buckets.length + 1).fill(0), sum: 0, count: 0 };
      f.series.set(key, s);
    }
    return s;
  }

  /** Creates a series at zero (or leaves it as it is), so it is exported before its first event. */
  protected touch(name: string, labels: Readonly<Record<string, string>>): void {
    if (this.series(name, labels)) this.dirty = true;
  }

  /** Adds `by` to a counter (ignored unless finite and non-negative). */
  protected add(name: string, labels: Readonly<Record<string, string>>, by: number): void {
    if (!Number.isFinite(by) || by < 0) return;
    const s = this.series(name, labels);
    if (!s) return;
    s.value += by;
    this.dirty = true;
  }

  /** Sets a gauge. */
  protected set(name: string, labels: Readonly<Record<string, string>>, value: number): void {
    if (!Number.isFinite(value)) return;
    const s = this.series(name, labels);
    if (!s) return;
    s.value = value;
    this.dirty = true;
  }

  /** Observes a value in a histogram's explicit buckets (`le` semantics). */
  protected observe(name: string, labels: Readonly<Record<string, string>>, value: number): void {
    if (!Number.isFinite(value)) return;
    const f = this.family(name);
    const s = this.series(name, labels);
    if (!f || !s) return;
    let i = 0;
    while (i < f.desc.buckets.length && value > (f.desc.buckets[i] ?? Infinity)) i++;
    s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
    this.dirty = true;
  }

  /** Keeps the allowed, well-shaped fields of a record, sampled, for the next flush. */
  protected logRecord(fields: Readonly<Record<string, unknown>>): void {
    const attrs: Attr[] = [];
    if (FIELD_COMPONENT !== null) attrs.push(attr(FIELD_COMPONENT, COMPONENT));
    for (const [key, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      const shape = FIELD_SHAPES[key];
      if (shape === undefined || !Object.prototype.hasOwnProperty.call(FIELD_SHAPES, key)) {
        this.redacted(FORBIDDEN.has(key.toLowerCase()) ? "forbidden" : "unknown");
        continue;
      }
      if (!shapeOk(shape, v)) {
        this.redacted("invalid");
        continue;
      }
      attrs.push(attr(key, v));
    }
    const failed = FIELD_OK !== null && fields[FIELD_OK] === false;
    let rate = failed ? SAMPLING.error : (this.opts.sampleSuccess ?? SAMPLING.success);
    if (!failed && this.opts.sampleSuccess === undefined) {
      for (const [field, value, r] of SAMPLING.overrides) {
        if (field !== null && fields[field] === value) rate = r;
      }
    }
    if (rate < 1 && (this.opts.random ?? Math.random)() >= rate) return;
    const t = nanos(this.now());
    this.logs.push({ timeUnixNano: t, observedTimeUnixNano: t, severityNumber: failed ? 17 : 9, severityText: failed ? "ERROR" : "INFO", attributes: attrs });
    const max = this.opts.maxQueue ?? 2048;
    if (this.logs.length > max) {
      const dropped = this.logs.length - max;
      this.logs.splice(0, dropped);
      if (DROPPED_METRIC !== null) this.add(DROPPED_METRIC, { reason: "queue_full" }, dropped);
    }
  }

  private redacted(reason: string): void {
    if (REDACTED_METRIC !== null) this.add(REDACTED_METRIC, { reason }, 1);
  }

  /** Log records waiting for the next flush. */
  get pendingLogs(): number {
    return this.logs.length;
  }

  /** The OTLP/JSON `ExportMetricsServiceRequest` bodies of the current state (cumulative), in batches. */
  metricsPayloads(): string[] {
    const now = nanos(this.now());
    const start = nanos(this.start);
    const max = this.opts.maxBatch ?? 512;
    const bodies: string[] = [];
    let metrics: unknown[] = [];
    let points = 0;
    const push = (m: unknown, n: number): void => {
      if (points > 0 && points + n > max) {
        bodies.push(this.envelope("resourceMetrics", "scopeMetrics", "metrics", metrics));
        metrics = [];
        points = 0;
      }
      metrics.push(m);
      points += n;
    };
    for (const f of this.families.values()) {
      const d = f.desc;
      const all = [...f.series.values()];
      for (let i = 0; i < all.length; i += max) {
        const chunk = all.slice(i, i + max);
        const base = { name: d.name, description: d.help, unit: d.unit };
        if (d.kind === "counter") {
          const dataPoints = chunk.map((s) => ({ attributes: s.attrs, startTimeUnixNano: start, timeUnixNano: now, asDouble: s.value }));
          push({ ...base, sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints } }, chunk.length);
        } else if (d.kind === "gauge") {
          const dataPoints = chunk.map((s) => ({ attributes: s.attrs, timeUnixNano: now, asDouble: s.value }));
          push({ ...base, gauge: { dataPoints } }, chunk.length);
        } else {
          const dataPoints = chunk.map((s) => ({
            attributes: s.attrs,
            startTimeUnixNano: start,
            timeUnixNano: now,
            count: `${s.count}`,
            sum: s.sum,
            bucketCounts: s.counts.map((c) => `${c}`),
            explicitBounds: d.buckets,
          }));
          push({ ...base, histogram: { aggregationTemporality: 2, dataPoints } }, chunk.length);
        }
      }
    }
    if (metrics.length > 0) bodies.push(this.envelope("resourceMetrics", "scopeMetrics", "metrics", metrics));
    return bodies;
  }

  private envelope(resource: string, scope: string, items: string, list: unknown[]): string {
    return JSON.stringify({
      [resource]: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: COMPONENT } }] },
          [scope]: [{ scope: { name: "obspec" }, [items]: list }],
        },
      ],
    });
  }

  /**
   * Exports what changed: the metrics (every series, cumulative) when any
   * changed since the last flush, and the buffered log records, in batches of
   * `maxBatch`. Never rejects; a failed export keeps the records (bounded by
   * `maxQueue`) and marks the metrics for the next flush. Concurrent calls are
   * serialised. Hand it to `ctx.waitUntil`.
   */
  flush(): Promise<void> {
    this.inflight = this.inflight.then(() => this.flushNow());
    return this.inflight;
  }

  private async flushNow(): Promise<void> {
    const doFetch = this.opts.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
    const headers = { "content-type": "application/json", ...(this.opts.headers ?? {}) };
    const post = async (path: string, body: string): Promise<boolean> => {
      try {
        const r = await doFetch(`${this.opts.endpoint.replace(/\/$/, "")}${path}`, { method: "POST", headers, body });
        await r.arrayBuffer();
        return r.ok;
      } catch {
        return false;
      }
    };
    const logs = this.logs;
    this.logs = [];
    const max = this.opts.maxBatch ?? 512;
    const failed: LogRecord[] = [];
    for (let i = 0; i < logs.length; i += max) {
      const chunk = logs.slice(i, i + max);
      if (!(await post("/v1/logs", this.envelope("resourceLogs", "scopeLogs", "logRecords", chunk)))) failed.push(...chunk);
    }
    if (failed.length > 0) {
      this.logs = failed.concat(this.logs).slice(-(this.opts.maxQueue ?? 2048));
    }
    if (this.dirty) {
      this.dirty = false;
      for (const body of this.metricsPayloads()) {
        if (!(await post("/v1/metrics", body))) this.dirty = true;
      }
    }
  }
}
"#;
