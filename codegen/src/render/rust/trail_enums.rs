//! The trail `enum` fields of the generated crate (`pub mod trails`): per
//! trail kind a module (`core.append_link` → `trails::core_append_link`), per
//! `enum` field an enum of its values (`LinkKind::Reference`), implementing
//! `obspec::event::TrailEnum`, so a `#[derive(TrailData)]` struct takes it
//! and no value is typed as a literal.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::camel;
use super::metrics::{snake_ident, variant_name};
use crate::model::{Spec, TrailField, TrailFieldType};

fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

/// The module of a trail kind (`core.append_link` → `core_append_link`).
pub fn kind_module(kind: &str) -> String {
    kind.replace(['.', '-'], "_")
}

fn field_enum(kind: &str, f: &TrailField) -> TokenStream {
    let name = ident(&camel(&f.name));
    let variants: Vec<Ident> = f.values.iter().map(|v| ident(&variant_name(&f.name, v))).collect();
    let values = &f.values;
    let docs: Vec<String> = f.values.iter().map(|v| format!("`{v}`")).collect();
    let doc = format!("Values of `{kind}.{}`: {}", f.name, f.help);
    let n = variants.len();
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum #name {
            #( #[doc = #docs] #variants, )*
        }

        impl #name {
            /// Every value, in spec order.
            pub const ALL: [#name; #n] = [#(#name::#variants),*];

            /// The value as written in the trail.
            pub const fn as_str(self) -> &'static str {
                match self { #(#name::#variants => #values,)* }
            }

            /// Parses a value.
            pub fn from_value(s: &str) -> ::core::option::Option<#name> {
                match s { #(#values => ::core::option::Option::Some(#name::#variants),)* _ => ::core::option::Option::None }
            }
        }

        impl ::obspec::event::TrailEnum for #name {
            fn as_trail_str(&self) -> &'static str {
                self.as_str()
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for #name {
            type Err = super::UnknownValue;
            fn from_str(s: &str) -> ::core::result::Result<#name, Self::Err> {
                #name::from_value(s).ok_or(super::UnknownValue)
            }
        }
    }
}

/// `pub mod trails`: the trail plane's canonical key order and kinds (the
/// trail writer's configuration) and the `enum` fields' enums.
pub fn tokens(spec: &Spec) -> TokenStream {
    let kinds: Vec<TokenStream> = spec
        .trails
        .kinds
        .iter()
        .filter(|k| k.data.iter().any(|f| f.ty == TrailFieldType::Enum))
        .map(|k| {
            let m = snake_ident(&kind_module(&k.kind));
            let doc = format!("The `enum` fields of trail `{}`: {}", k.kind, k.help);
            let enums = k.data.iter().filter(|f| f.ty == TrailFieldType::Enum).map(|f| field_enum(&k.kind, f));
            quote! {
                #[doc = #doc]
                pub mod #m {
                    #(#enums)*
                }
            }
        })
        .collect();
    let key_order = &spec.trails.key_order;
    let n_keys = key_order.len();
    let kind_names: Vec<&str> = spec.trails.kinds.iter().map(|k| k.kind.as_str()).collect();
    let n_kinds = kind_names.len();
    let schema_version = spec.trails.schema_version;
    quote! {
        /// The audit-trail plane: the writer's configuration (canonical key
        /// order, kinds) and the `enum` fields as enums, one module per trail kind.
        pub mod trails {
            /// Canonical order of a record's top-level keys (`trails.key_order`):
            /// open the trail writer with it (`obspec::service::TrailSink::open_with`).
            pub const KEY_ORDER: [&str; #n_keys] = [#(#key_order),*];

            /// The trail schema version (`trails.schema_version`), bound into each
            /// stream's genesis (`obspec_trail::chain::genesis_versioned`).
            pub const SCHEMA_VERSION: u32 = #schema_version;

            /// Every trail kind, in spec order.
            pub const KINDS: [&str; #n_kinds] = [#(#kind_names),*];

            /// A string that is none of a trail field's values.
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct UnknownValue;

            impl ::core::fmt::Display for UnknownValue {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str("not a value of the trail field")
                }
            }

            impl ::std::error::Error for UnknownValue {}

            #(#kinds)*
        }
    }
}
