//! The vocabulary tables the runtime takes as data: the server-blind log
//! schema (`obspec::log::LogSchema`, each field with its role), the runtime's
//! self-metric names (`SELF_METRICS`) and the `TokenInfo` impl that lets
//! `obspec::http` answer with the spec's ErrorTokens, looked up by role.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::model::{LabelKind, LogFieldType, LogRole, MetricRole, Spec, TokenRole};
use crate::roles;

fn field_type(ty: LogFieldType) -> Ident {
    let name = match ty {
        LogFieldType::Timestamp => "Timestamp",
        LogFieldType::Component => "Component",
        LogFieldType::Id => "Id",
        LogFieldType::TraceId => "TraceId",
        LogFieldType::Route => "Route",
        LogFieldType::Method => "Method",
        LogFieldType::Name => "Name",
        LogFieldType::Bool => "Bool",
        LogFieldType::Outcome => "Outcome",
        LogFieldType::ErrorToken => "ErrorToken",
        LogFieldType::HttpStatus => "HttpStatus",
        LogFieldType::Count => "Count",
        // Validation rejects free text before rendering; map it to the
        // strictest shape so nothing could ever pass through.
        LogFieldType::Text => "Bool",
    };
    Ident::new(name, Span::call_site())
}

fn log_role(r: LogRole) -> Ident {
    let name = match r {
        LogRole::Ts => "Ts",
        LogRole::Component => "Component",
        LogRole::Route => "Route",
        LogRole::Method => "Method",
        LogRole::Tool => "Tool",
        LogRole::Ok => "Ok",
        LogRole::ErrToken => "ErrToken",
        LogRole::Status => "Status",
        LogRole::Latency => "Latency",
        LogRole::BytesIn => "BytesIn",
        LogRole::BytesOut => "BytesOut",
        LogRole::TraceId => "TraceId",
        LogRole::Correlation => "Correlation",
    };
    Ident::new(name, Span::call_site())
}

fn token_role(r: TokenRole) -> Ident {
    let name = match r {
        TokenRole::Unauthenticated => "Unauthenticated",
        TokenRole::AccessDenied => "AccessDenied",
        TokenRole::InvalidInput => "InvalidInput",
        TokenRole::NotFound => "NotFound",
        TokenRole::Unavailable => "Unavailable",
        TokenRole::RateLimit => "RateLimit",
        TokenRole::Backpressure => "Backpressure",
        TokenRole::PayloadTooLarge => "PayloadTooLarge",
    };
    Ident::new(name, Span::call_site())
}

fn self_metric(spec: &Spec, role: MetricRole) -> TokenStream {
    let (name, labels): (&str, Vec<&str>) = match roles::metric_for(spec, role) {
        Some(m) => (m.name.as_str(), m.labels.iter().map(String::as_str).collect()),
        // Validation requires every role; keep the tokens well-formed regardless.
        None => ("", Vec::new()),
    };
    quote! { ::obspec::metrics::SelfMetric { name: #name, labels: &[#(#labels),*] } }
}

/// `pub static LOG_SCHEMA`, `pub static SELF_METRICS` and `impl TokenInfo for ErrorToken`.
pub fn tokens(spec: &Spec) -> TokenStream {
    let logs = &spec.logs;
    let fields = logs.fields.iter().map(|f| {
        let name = &f.name;
        let ty = field_type(f.ty);
        let role = match f.role {
            Some(r) => {
                let r = log_role(r);
                quote!(::core::option::Option::Some(::obspec::log::LogRole::#r))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! { ::obspec::log::LogField { name: #name, ty: ::obspec::log::LogFieldType::#ty, role: #role } }
    });
    let tool_field = roles::log_field_for(spec, LogRole::Tool).map_or("", |f| f.name.as_str());
    let route_field = roles::log_field_for(spec, LogRole::Route)
        .or_else(|| logs.fields.iter().find(|f| f.ty == LogFieldType::Route))
        .map_or("", |f| f.name.as_str());
    let role_arms = TokenRole::ALL.iter().map(|r| {
        let role = token_role(*r);
        let value = match roles::token_for(spec, *r) {
            Some(t) => {
                let v = Ident::new(&super::camel(&t.token), Span::call_site());
                quote!(ErrorToken::#v)
            }
            None => quote!(ErrorToken::FALLBACK),
        };
        quote! { ::obspec::http::TokenRole::#role => #value }
    });
    let dropped = self_metric(spec, MetricRole::LogDropped);
    let redacted = self_metric(spec, MetricRole::LogRedacted);
    let overflow = self_metric(spec, MetricRole::LabelOverflow);
    let limit_overflow = self_metric(spec, MetricRole::LimitOverflow);
    let forbidden = &logs.forbidden;
    let routes: BTreeSet<&str> = spec.components.iter().flat_map(|c| c.routes.iter().map(String::as_str)).collect();
    let routes = routes.into_iter();
    let tokens = spec.error_tokens.iter().map(|t| t.token.as_str());
    let components = spec.components.iter().map(|c| c.name.as_str());
    let methods: Vec<&str> = spec
        .labels
        .iter()
        .find(|l| l.name == "method" && l.kind == LabelKind::Closed)
        .map(|l| l.values.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let id_max_len = spec.project.id_max_len as usize;
    let s = &logs.sampling;
    let (success, error, spike, max_override) = (s.success, s.error, s.spike, s.max_override);
    let overrides = s.overrides.iter().map(|o| {
        let (field, value) = match (&o.route, &o.tool) {
            (Some(r), _) => (route_field, r.as_str()),
            (_, Some(t)) => (tool_field, t.as_str()),
            _ => ("", ""),
        };
        let rate = o.success;
        quote! { ::obspec::log::SamplingOverride { field: #field, value: #value, rate: #rate } }
    });
    quote! {
        /// The server-blind log plane's vocabulary (§2): the closed field list with
        /// a shape per field, the forbidden names, routes, tokens and sampling.
        pub static LOG_SCHEMA: ::obspec::log::LogSchema = ::obspec::log::LogSchema {
            fields: &[#(#fields),*],
            forbidden: &[#(#forbidden),*],
            routes: &[#(#routes),*],
            error_tokens: &[#(#tokens),*],
            components: &[#(#components),*],
            methods: &[#(#methods),*],
            id_max_len: #id_max_len,
            sampling: ::obspec::log::SamplingDefaults {
                success: #success,
                error: #error,
                spike: #spike,
                max_override: #max_override,
                overrides: &[#(#overrides),*],
            },
            self_metrics: &SELF_METRICS,
        };

        /// The names of the runtime's own metrics (the spec's metrics with a `role`).
        pub static SELF_METRICS: ::obspec::metrics::SelfMetrics = ::obspec::metrics::SelfMetrics {
            log_dropped: #dropped,
            log_redacted: #redacted,
            label_overflow: #overflow,
            limit_overflow: #limit_overflow,
        };

        impl ::obspec::http::TokenInfo for ErrorToken {
            const FALLBACK: Self = ErrorToken::FALLBACK;
            const ALL: &'static [Self] = &ErrorToken::ALL;
            fn for_role(role: ::obspec::http::TokenRole) -> Self {
                match role { #(#role_arms,)* }
            }
            fn as_str(self) -> &'static str {
                ErrorToken::as_str(self)
            }
            fn http_status(self) -> u16 {
                ErrorToken::http_status(self)
            }
            fn jsonrpc_code(self) -> ::core::option::Option<i32> {
                ErrorToken::jsonrpc_code(self)
            }
            fn retry_after_required(self) -> bool {
                ErrorToken::retry_after_required(self)
            }
            fn retry_after_allowed(self) -> bool {
                ErrorToken::retry_after_allowed(self)
            }
            fn from_wire(s: &str) -> Option<Self> {
                ErrorToken::from_wire(s)
            }
        }
    }
}
