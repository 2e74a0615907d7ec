//! The vocabulary tables the runtime takes as data: the server-blind log
//! schema (`obspec::log::LogSchema`) and the `TokenInfo` impl that lets
//! `obspec::http` answer with the spec's ErrorTokens.

use std::collections::BTreeSet;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::model::{LabelKind, LogFieldType, Spec};

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

/// `pub static LOG_SCHEMA` and `impl TokenInfo for ErrorToken`.
pub fn tokens(spec: &Spec) -> TokenStream {
    let logs = &spec.logs;
    let fields = logs.fields.iter().map(|f| {
        let name = &f.name;
        let ty = field_type(f.ty);
        quote! { ::obspec::log::LogField { name: #name, ty: ::obspec::log::LogFieldType::#ty } }
    });
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
            (Some(r), _) => ("route", r.as_str()),
            (_, Some(t)) => ("tool", t.as_str()),
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
        };

        impl ::obspec::http::TokenInfo for ErrorToken {
            const FALLBACK: Self = ErrorToken::FALLBACK;
            const ALL: &'static [Self] = &ErrorToken::ALL;
            fn as_str(self) -> &'static str {
                ErrorToken::as_str(self)
            }
            fn http_status(self) -> u16 {
                ErrorToken::http_status(self)
            }
            fn jsonrpc_code(self) -> i32 {
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
