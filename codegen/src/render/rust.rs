//! The Rust renderer: one function from the spec to a token stream, used both
//! by `cargo xtask gen` (formatted with `prettyplease` into `generated/src/lib.rs`)
//! and by the `obspec_macros::spec!` macro, so the two cannot disagree.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

mod flags;
mod ladder;
pub mod metrics;
pub mod routes;
mod trail_enums;
mod vocab;

use super::header;
use crate::model::{RetryAfter, Spec};
use crate::output::GeneratedFile;

/// Where the generated crate's source is written.
pub const PATH: &str = "generated/src/lib.rs";

/// The spec-name → Rust-name rule lives in [`crate::names::camel`], which
/// validation also uses to check that every generated name is an identifier.
pub use crate::names::camel;

fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

/// The whole generated module as tokens.
pub fn tokens(spec: &Spec) -> TokenStream {
    let error_token = error_token_enum(spec);
    let metric_names = metric_name_consts(spec);
    let metrics = metrics::module(spec);
    let vocab = vocab::tokens(spec);
    let flags = flags::tokens(spec);
    let routes = routes::tokens(spec);
    let ladders = ladder::tokens(spec);
    let trails = trail_enums::tokens(spec);
    quote! {
        #error_token
        #routes
        #metric_names
        #metrics
        #vocab
        #flags
        #ladders
        #trails
    }
}

fn error_token_enum(spec: &Spec) -> TokenStream {
    let variants: Vec<Ident> = spec.error_tokens.iter().map(|t| ident(&camel(&t.token))).collect();
    let docs: Vec<String> = spec
        .error_tokens
        .iter()
        .map(|t| match t.jsonrpc_code {
            Some(c) => format!("{} HTTP {}, JSON-RPC {c}.", t.help, t.http_status),
            None => format!("{} HTTP {}.", t.help, t.http_status),
        })
        .collect();
    let strs: Vec<&str> = spec.error_tokens.iter().map(|t| t.token.as_str()).collect();
    let statuses: Vec<u16> = spec.error_tokens.iter().map(|t| t.http_status).collect();
    let codes: Vec<TokenStream> = spec
        .error_tokens
        .iter()
        .map(|t| match t.jsonrpc_code {
            Some(c) => quote!(::core::option::Option::Some(#c)),
            None => quote!(::core::option::Option::None),
        })
        .collect();
    let retryable: Vec<bool> = spec.error_tokens.iter().map(|t| t.retryable).collect();
    let required: Vec<bool> = spec.error_tokens.iter().map(|t| t.retry_after == RetryAfter::Required).collect();
    let allowed: Vec<bool> = spec.error_tokens.iter().map(|t| t.retry_after != RetryAfter::None).collect();
    let n = variants.len();
    let fallback = spec
        .error_tokens
        .iter()
        .find(|t| t.fallback)
        .map(|t| ident(&camel(&t.token)))
        .unwrap_or_else(|| format_ident!("Internal"));
    quote! {
        /// The closed ErrorToken vocabulary (§0, §4). Every API and MCP error maps onto one of these.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorToken {
            #( #[doc = #docs] #variants, )*
        }

        impl ErrorToken {
            /// Every token, in spec order.
            pub const ALL: [ErrorToken; #n] = [#(ErrorToken::#variants),*];
            /// The token used for panics and unmapped errors.
            pub const FALLBACK: ErrorToken = ErrorToken::#fallback;

            /// The token as it appears on the wire and in the `err` label.
            pub const fn as_str(self) -> &'static str {
                match self { #(ErrorToken::#variants => #strs,)* }
            }

            /// HTTP status of the response.
            pub const fn http_status(self) -> u16 {
                match self { #(ErrorToken::#variants => #statuses,)* }
            }

            /// JSON-RPC / MCP error code, if the spec gives one.
            pub const fn jsonrpc_code(self) -> ::core::option::Option<i32> {
                match self { #(ErrorToken::#variants => #codes,)* }
            }

            /// Whether the client may retry the same request.
            pub const fn retryable(self) -> bool {
                match self { #(ErrorToken::#variants => #retryable,)* }
            }

            /// Whether the response must carry `retry_after_ms`.
            pub const fn retry_after_required(self) -> bool {
                match self { #(ErrorToken::#variants => #required,)* }
            }

            /// Whether the response may carry `retry_after_ms`.
            pub const fn retry_after_allowed(self) -> bool {
                match self { #(ErrorToken::#variants => #allowed,)* }
            }

            /// Parses a token from its wire form.
            pub fn from_wire(s: &str) -> Option<ErrorToken> {
                match s { #(#strs => Some(ErrorToken::#variants),)* _ => None }
            }
        }

        impl ::core::fmt::Display for ErrorToken {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    }
}

fn metric_name_consts(spec: &Spec) -> TokenStream {
    let items = spec.metrics.iter().map(|m| {
        let name = ident(&m.name.to_uppercase());
        let value = &m.name;
        let doc = format!("`{}` ({:?}, {:?}): {}", m.name, m.kind, m.unit, m.help);
        quote! { #[doc = #doc] pub const #name: &str = #value; }
    });
    let all: Vec<&str> = spec.metrics.iter().map(|m| m.name.as_str()).collect();
    let n = all.len();
    quote! {
        /// The name of every metric of the spec.
        pub mod metric_names {
            #(#items)*
            /// Every metric name, in spec order.
            pub const ALL: [&str; #n] = [#(#all),*];
        }
    }
}

/// Formats tokens as a Rust file.
pub fn format(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        // Unreachable for tokens built by this module; keep the raw form so the
        // compiler, not the generator, reports the problem.
        Err(_) => tokens.to_string(),
    }
}

/// Renders `generated/src/lib.rs`.
pub fn render_file(spec: &Spec, sources: &[String]) -> GeneratedFile {
    let doc =
        format!("Typed emitters and vocabulary generated from the obspec spec ({}).", header::sources_list(sources));
    let body = tokens(spec);
    let file = quote! {
        #![doc = #doc]
        #body
    };
    let contents = format!("{}{}", header::rust_comment(sources), format(file));
    GeneratedFile { path: PATH.to_owned(), contents }
}
