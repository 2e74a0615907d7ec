//! `#[derive(LogEvent)]`: every field must be in the log allow-list with a
//! compatible type; forbidden and unknown names are errors at the field.

use obspec_codegen::model::{LogField, LogFieldType};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::spec::{self, list};
use crate::ty::{Shape, shape};

fn expected(ty: LogFieldType) -> &'static str {
    match ty {
        LogFieldType::Id | LogFieldType::Route | LogFieldType::Method | LogFieldType::Name => "`&str` or `String`",
        LogFieldType::TraceId => "`&str`, `String` (32 hex digits) or `u128`",
        LogFieldType::Bool | LogFieldType::Outcome => "`bool`",
        LogFieldType::ErrorToken => "`ErrorToken`",
        LogFieldType::HttpStatus => "`u16`",
        LogFieldType::Count => "`u64`, `u32`, `u16`, `u8` or `usize`",
        LogFieldType::Timestamp | LogFieldType::Component | LogFieldType::Text => "nothing",
    }
}

/// The statement setting one field from `v` (a reference to the value), or
/// `None` when the type does not fit.
fn setter(ty: LogFieldType, shape: &Shape, slot: &TokenStream) -> Option<TokenStream> {
    Some(match (ty, shape) {
        (
            LogFieldType::Id | LogFieldType::Route | LogFieldType::Method | LogFieldType::Name | LogFieldType::TraceId,
            Shape::Str | Shape::String,
        ) => quote!(line.str(#slot, v);),
        (LogFieldType::TraceId, Shape::Uint(n)) if n == "u128" => quote!(line.trace(*v);),
        (LogFieldType::Bool | LogFieldType::Outcome, Shape::Bool) => quote!(line.bool(#slot, *v);),
        (LogFieldType::ErrorToken, Shape::Token) => quote!(line.str(#slot, v.as_str());),
        (LogFieldType::HttpStatus, Shape::Uint(n)) if n == "u16" => {
            quote!(line.u64(#slot, ::core::convert::From::from(*v));)
        }
        (LogFieldType::Count, Shape::Uint(n)) if matches!(n.as_str(), "u8" | "u16" | "u32" | "u64") => {
            quote!(line.u64(#slot, ::core::convert::From::from(*v));)
        }
        (LogFieldType::Count, Shape::Uint(n)) if n == "usize" => quote!(line.u64(#slot, *v as u64);),
        _ => return None,
    })
}

/// Expands the derive.
pub fn expand(input: &DeriveInput) -> TokenStream {
    let name = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let fallback = quote! {
        impl #impl_g ::obspec::event::LogEvent for #name #ty_g #where_g {
            fn fill(&self, _line: &mut ::obspec::log::LogLine<'_>) {}
        }
    };
    match body(input) {
        Ok(body) => quote! {
            impl #impl_g ::obspec::event::LogEvent for #name #ty_g #where_g {
                #[allow(clippy::cast_possible_truncation)]
                fn fill(&self, line: &mut ::obspec::log::LogLine<'_>) {
                    #body
                }
            }
        },
        Err(e) => {
            let err = e.into_compile_error();
            quote!(#err #fallback)
        }
    }
}

fn body(input: &DeriveInput) -> syn::Result<TokenStream> {
    let settings = spec::settings(&input.attrs)?;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => &f.named,
            _ => return Err(syn::Error::new(input.ident.span(), "LogEvent needs a struct with named fields")),
        },
        _ => return Err(syn::Error::new(input.ident.span(), "LogEvent can only be derived for a struct")),
    };
    let spec = spec::load(settings.spec.as_ref())?;
    let log = &spec.loaded.spec.logs;
    let allowed: Vec<&LogField> = log
        .fields
        .iter()
        .filter(|f| !matches!(f.ty, LogFieldType::Timestamp | LogFieldType::Component | LogFieldType::Text))
        .collect();
    let allowed_names = list(allowed.iter().map(|f| f.name.as_str()));
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let mut stmts = Vec::new();
    for f in fields {
        let Some(ident) = &f.ident else { continue };
        let fname = ident.to_string();
        let fname = fname.strip_prefix("r#").unwrap_or(&fname);
        let Some((index, def)) = log.fields.iter().enumerate().find(|(_, d)| d.name == fname) else {
            let msg = match obspec_codegen::names::forbidden_match(fname, &log.forbidden) {
                Some(word) => format!(
                    "`{fname}` is a forbidden log field (`{word}`): the log plane is server-blind and never records content\n= help: allowed fields: {allowed_names}"
                ),
                None => format!("`{fname}` is not in the log allow-list\n= help: allowed fields: {allowed_names}"),
            };
            push(syn::Error::new(ident.span(), msg));
            continue;
        };
        if matches!(def.ty, LogFieldType::Timestamp | LogFieldType::Component | LogFieldType::Text) {
            push(syn::Error::new(
                ident.span(),
                format!(
                    "`{fname}` is written by the log plane itself, not by events\n= help: allowed fields: {allowed_names}"
                ),
            ));
            continue;
        }
        let slot_index = u8::try_from(index).unwrap_or(u8::MAX);
        let slot = quote!(::obspec::log::FieldSlot::new(#slot_index));
        let s = shape(&f.ty);
        let (inner, optional) = match s {
            Shape::Option(inner) => (*inner, true),
            other => (other, false),
        };
        let Some(set) = setter(def.ty, &inner, &slot) else {
            push(syn::Error::new(
                f.ty.span(),
                format!(
                    "log field `{fname}` has type `{}` in the spec: expected {} (optionally in `Option<…>`)",
                    format!("{:?}", def.ty).to_lowercase(),
                    expected(def.ty)
                ),
            ));
            continue;
        };
        stmts.push(if optional {
            quote_spanned!(f.ty.span()=> if let ::core::option::Option::Some(v) = &self.#ident { #set })
        } else {
            quote_spanned!(f.ty.span()=> { let v = &self.#ident; #set })
        });
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let track = spec.track;
    Ok(quote! {
        #track
        #(#stmts)*
    })
}
