//! `#[derive(TrailData)]`: the struct's fields must be exactly the `data`
//! fields of its trail kind, with ID, list, enum, counter and bool types only.

use std::collections::BTreeMap;

use obspec_codegen::model::{TrailField, TrailFieldType};
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::spec::{self, list};
use crate::ty::{Shape, shape};

fn expected(ty: TrailFieldType) -> &'static str {
    match ty {
        TrailFieldType::Id => "`String` or `&str`",
        TrailFieldType::Route | TrailFieldType::Name => "`&str` (no `String`: trails hold no free text)",
        TrailFieldType::IdList => "`Vec<String>`, `Vec<&str>` or `&[String]`",
        TrailFieldType::Enum => {
            "`&str` (checked against the kind's values) or an enum implementing `obspec::event::TrailEnum`"
        }
        TrailFieldType::Counter | TrailFieldType::Bits => "`u64`, `u32`, `u16` or `u8`",
        TrailFieldType::Bool => "`bool`",
        TrailFieldType::ErrorToken => "`ErrorToken`",
        TrailFieldType::Text => "nothing: free text is never allowed in a trail",
    }
}

/// The `TrailValue` expression for `self.<field>`, or `None` when the type does not fit.
fn value(def: &TrailField, shape: &Shape, access: &TokenStream) -> Option<TokenStream> {
    let name = &def.name;
    Some(match (def.ty, shape) {
        (TrailFieldType::Id, Shape::Str | Shape::String) => quote!(::obspec::event::TrailValue::Str(&#access)),
        (TrailFieldType::Route | TrailFieldType::Name, Shape::Str) => {
            quote!(::obspec::event::TrailValue::Str(#access))
        }
        (TrailFieldType::IdList, Shape::List(inner)) if matches!(**inner, Shape::Str | Shape::String) => {
            quote!(::obspec::event::TrailValue::List(#access.iter().map(|s| &**s).collect()))
        }
        (TrailFieldType::Enum, Shape::Str) => {
            let values = &def.values;
            quote!(::obspec::event::__check_enum(#name, #access, &[#(#values),*])?)
        }
        (TrailFieldType::Enum, Shape::Other(_)) => {
            let values = &def.values;
            quote!(::obspec::event::__check_enum(#name, ::obspec::event::TrailEnum::as_trail_str(&#access), &[#(#values),*])?)
        }
        (TrailFieldType::Counter | TrailFieldType::Bits, Shape::Uint(n)) if n == "u64" => {
            quote!(::obspec::event::__check_counter(#name, #access)?)
        }
        (TrailFieldType::Counter | TrailFieldType::Bits, Shape::Uint(n))
            if matches!(n.as_str(), "u8" | "u16" | "u32") =>
        {
            quote!(::obspec::event::TrailValue::U64(::core::convert::From::from(#access)))
        }
        (TrailFieldType::Bool, Shape::Bool) => quote!(::obspec::event::TrailValue::Bool(#access)),
        (TrailFieldType::ErrorToken, Shape::Token) => quote!(::obspec::event::TrailValue::Str(#access.as_str())),
        _ => return None,
    })
}

fn kind_attr(input: &DeriveInput) -> syn::Result<LitStr> {
    let mut kind = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("trail")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("kind") {
                kind = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(meta.error("expected `kind = \"domain.name\"`"))
            }
        })?;
    }
    kind.ok_or_else(|| {
        syn::Error::new(input.ident.span(), "TrailData needs the trail kind: add #[trail(kind = \"domain.name\")]")
    })
}

/// Expands the derive.
pub fn expand(input: &DeriveInput) -> TokenStream {
    let name = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    match body(input) {
        Ok((kind, body)) => quote! {
            impl #impl_g ::obspec::event::TrailData for #name #ty_g #where_g {
                const KIND: &'static str = #kind;
                fn trail_data(&self) -> ::core::result::Result<
                    ::std::vec::Vec<(&'static str, ::obspec::event::TrailValue<'_>)>,
                    ::obspec::event::TrailError,
                > {
                    #body
                }
            }
        },
        Err(e) => {
            let err = e.into_compile_error();
            quote! {
                #err
                impl #impl_g ::obspec::event::TrailData for #name #ty_g #where_g {
                    const KIND: &'static str = "";
                    fn trail_data(&self) -> ::core::result::Result<
                        ::std::vec::Vec<(&'static str, ::obspec::event::TrailValue<'_>)>,
                        ::obspec::event::TrailError,
                    > {
                        ::core::result::Result::Ok(::std::vec::Vec::new())
                    }
                }
            }
        }
    }
}

fn body(input: &DeriveInput) -> syn::Result<(String, TokenStream)> {
    let settings = spec::settings(&input.attrs)?;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => &f.named,
            _ => return Err(syn::Error::new(input.ident.span(), "TrailData needs a struct with named fields")),
        },
        _ => return Err(syn::Error::new(input.ident.span(), "TrailData can only be derived for a struct")),
    };
    let kind_lit = kind_attr(input)?;
    let spec = spec::load(settings.spec.as_ref())?;
    let kinds = &spec.loaded.spec.trails.kinds;
    let kind_name = kind_lit.value();
    let Some(kind) = kinds.iter().find(|k| k.kind == kind_name) else {
        return Err(syn::Error::new(
            kind_lit.span(),
            format!(
                "`{kind_name}` is not a trail kind of the spec\n= help: the kinds are: {}",
                list(kinds.iter().map(|k| k.kind.as_str()))
            ),
        ));
    };
    let data_names = list(kind.data.iter().map(|d| d.name.as_str()));
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    // Sorted by key: the canonical (JCS) order of the `data` object.
    let mut entries: BTreeMap<String, TokenStream> = BTreeMap::new();
    for f in fields {
        let Some(ident) = &f.ident else { continue };
        let fname = ident.to_string();
        let fname = fname.strip_prefix("r#").unwrap_or(&fname).to_owned();
        let Some(def) = kind.data.iter().find(|d| d.name == fname) else {
            push(syn::Error::new(
                ident.span(),
                format!(
                    "`{fname}` is not a data field of trail kind `{kind_name}`\n= help: its fields are: {data_names}"
                ),
            ));
            continue;
        };
        let s = shape(&f.ty);
        let access = quote!(self.#ident);
        if s == Shape::String && def.ty != TrailFieldType::Id {
            push(syn::Error::new(
                f.ty.span(),
                format!(
                    "`{fname}` has type `{}` in the spec: a `String` would let free text into the trail\n= help: use {}",
                    format!("{:?}", def.ty).to_lowercase(),
                    expected(def.ty)
                ),
            ));
            continue;
        }
        match value(def, &s, &access) {
            Some(v) => {
                let key = &def.name;
                entries.insert(def.name.clone(), quote!((#key, #v)));
            }
            None => push(syn::Error::new(
                f.ty.span(),
                format!(
                    "trail field `{fname}` has type `{}` in the spec: expected {}",
                    format!("{:?}", def.ty).to_lowercase(),
                    expected(def.ty)
                ),
            )),
        }
    }
    let present: Vec<String> = fields.iter().filter_map(|f| f.ident.as_ref().map(ToString::to_string)).collect();
    let missing: Vec<&str> =
        kind.data.iter().map(|d| d.name.as_str()).filter(|n| !present.iter().any(|p| p == n)).collect();
    if !missing.is_empty() {
        push(syn::Error::new(
            input.ident.span(),
            format!(
                "trail kind `{kind_name}` needs field(s) {} that `{}` lacks\n= help: its fields are: {data_names}",
                list(missing.iter().copied()),
                input.ident
            ),
        ));
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let track = spec.track;
    let entries = entries.values();
    Ok((
        kind_name,
        quote! {
            #track
            ::core::result::Result::Ok(::std::vec![#(#entries),*])
        },
    ))
}
