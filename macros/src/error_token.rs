//! `#[derive(ErrorToken)]`: maps every variant of an error enum onto a token
//! of the spec's vocabulary, through an exhaustive match.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Data, DeriveInput, Ident, LitStr};

use crate::spec::{self, list};

/// Expands the derive.
pub fn expand(input: &DeriveInput) -> TokenStream {
    let name = &input.ident;
    let settings = match spec::settings(&input.attrs) {
        Ok(s) => s,
        Err(e) => return e.into_compile_error(),
    };
    let vocab = settings.vocab.clone().map_or_else(|| quote!(::obspec_generated), |p| quote!(#p));
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let wrap = |body: TokenStream| {
        quote! {
            impl #impl_g #name #ty_g #where_g {
                /// The ErrorToken this error is reported as.
                pub fn error_token(&self) -> #vocab::ErrorToken {
                    #body
                }
            }

            impl #impl_g ::core::convert::From<&#name #ty_g> for #vocab::ErrorToken #where_g {
                fn from(e: &#name #ty_g) -> Self {
                    e.error_token()
                }
            }
        }
    };
    match body(input, &settings, &vocab) {
        Ok(body) => wrap(body),
        Err(e) => {
            let err = e.into_compile_error();
            let fallback = wrap(quote!(#vocab::ErrorToken::FALLBACK));
            quote!(#err #fallback)
        }
    }
}

fn token_of(attrs: &[syn::Attribute]) -> Option<syn::Result<(String, Span)>> {
    let attr = attrs.iter().find(|a| a.path().is_ident("token"))?;
    Some(attr.parse_args_with(|p: syn::parse::ParseStream<'_>| {
        if p.peek(LitStr) {
            let l: LitStr = p.parse()?;
            Ok((l.value(), l.span()))
        } else {
            let i: Ident = p.parse()?;
            Ok((i.to_string(), i.span()))
        }
    }))
}

fn body(input: &DeriveInput, settings: &spec::Settings, vocab: &TokenStream) -> syn::Result<TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(input.ident.span(), "ErrorToken can only be derived for an enum"));
    };
    let spec = spec::load(settings.spec.as_ref())?;
    let tokens = &spec.loaded.spec.error_tokens;
    let vocabulary = list(tokens.iter().map(|t| t.token.as_str()));
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let mut arms = Vec::new();
    for v in &data.variants {
        let vname = &v.ident;
        match token_of(&v.attrs) {
            None => push(syn::Error::new(
                vname.span(),
                format!(
                    "variant `{vname}` has no `#[token(…)]`: every variant must map onto the ErrorToken vocabulary\n= help: add one of: {vocabulary}"
                ),
            )),
            Some(Err(e)) => push(e),
            Some(Ok((tok, span))) => match tokens.iter().find(|t| t.token == tok) {
                Some(t) => {
                    let variant = Ident::new(&obspec_codegen::render::rust::camel(&t.token), Span::call_site());
                    let name = &input.ident;
                    arms.push(quote!(#name::#vname { .. } => #vocab::ErrorToken::#variant));
                }
                None => push(syn::Error::new(
                    span,
                    format!("`{tok}` is not in the ErrorToken vocabulary\n= help: the vocabulary is: {vocabulary}"),
                )),
            },
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let track = spec.track;
    let matched = if arms.is_empty() { quote!(match *self {}) } else { quote!(match self { #(#arms,)* }) };
    Ok(quote! {
        #track
        #matched
    })
}
