//! The components and their routes in the generated crate: a `Component`
//! enum (`components[].name`) and, per component with routes, a route enum
//! (`CoreRoute::Rooms`, …) whose templates are the spec's, with the axum 0.8
//! path of each (`/v1/rooms/:room_id` → `/v1/rooms/{room_id}`), implementing
//! `obspec::http::SpecRoute` so `obspec::http::RouteExt` mounts a router from
//! it and an undeclared route does not compile.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::camel;
use crate::model::{Component, Spec};

fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

/// The name of a component's route enum (`core` → `CoreRoute`).
pub fn route_enum_name(component: &str) -> String {
    format!("{}Route", camel(component))
}

/// The axum 0.8 form of a spec template: `:name` → `{name}`, `*name` → `{*name}`.
pub fn axum_path(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match (seg.strip_prefix(':'), seg.strip_prefix('*')) {
            (Some(n), _) => format!("{{{n}}}"),
            (_, Some(n)) => format!("{{*{n}}}"),
            _ => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_version(seg: &str) -> bool {
    seg.strip_prefix('v').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

fn words(template: &str, keep_version: bool) -> String {
    let segs: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let skip = usize::from(!keep_version && segs.first().is_some_and(|s| is_version(s)) && segs.len() > 1);
    let name: String = segs[skip..].iter().map(|s| camel(s.trim_start_matches([':', '*']))).collect();
    if name.is_empty() { "Root".to_owned() } else { name }
}

/// The variant names of a component's routes: the template's segments in
/// `UpperCamelCase` (parameters included, a leading `/v1` left out unless
/// two routes would then share a name): `/v1/rooms/:room_id/events` →
/// `RoomsRoomIdEvents`.
pub fn variant_names(routes: &[String]) -> Vec<String> {
    let short: Vec<String> = routes.iter().map(|r| words(r, false)).collect();
    let unique = short.iter().enumerate().all(|(i, a)| short.iter().skip(i + 1).all(|b| a != b));
    if unique { short } else { routes.iter().map(|r| words(r, true)).collect() }
}

fn route_enum(c: &Component) -> TokenStream {
    let name = ident(&route_enum_name(&c.name));
    let names = variant_names(&c.routes);
    let variants: Vec<Ident> = names.iter().map(|n| ident(n)).collect();
    let templates: Vec<&str> = c.routes.iter().map(String::as_str).collect();
    let paths: Vec<String> = c.routes.iter().map(|r| axum_path(r)).collect();
    let docs: Vec<String> = c.routes.iter().map(|r| format!("`{r}`")).collect();
    let doc = format!("The routes of component `{}` (`components[].routes`), the values of its `route` label.", c.name);
    let n = variants.len();
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum #name {
            #( #[doc = #docs] #variants, )*
        }

        impl #name {
            /// Every route, in spec order.
            pub const ALL: [#name; #n] = [#(#name::#variants),*];

            /// The spec's template, the `route` label and log value.
            pub const fn template(self) -> &'static str {
                match self { #(#name::#variants => #templates,)* }
            }

            /// The axum 0.8 path (`{param}` segments).
            pub const fn axum_path(self) -> &'static str {
                match self { #(#name::#variants => #paths,)* }
            }

            /// The route of a spec template (a string match, no hashing).
            pub fn from_template(s: &str) -> ::core::option::Option<#name> {
                match s { #(#templates => ::core::option::Option::Some(#name::#variants),)* _ => ::core::option::Option::None }
            }
        }

        impl ::obspec::http::SpecRoute for #name {
            fn template(self) -> &'static str {
                #name::template(self)
            }

            fn axum_path(self) -> &'static str {
                #name::axum_path(self)
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.template())
            }
        }
    }
}

/// The `Component` enum and `pub mod routes`.
pub fn tokens(spec: &Spec) -> TokenStream {
    let variants: Vec<Ident> = spec.components.iter().map(|c| ident(&camel(&c.name))).collect();
    let names: Vec<&str> = spec.components.iter().map(|c| c.name.as_str()).collect();
    let docs: Vec<String> = spec.components.iter().map(|c| format!("`{}`: {}.", c.name, c.title)).collect();
    let routes: Vec<TokenStream> = spec
        .components
        .iter()
        .map(|c| {
            let t = &c.routes;
            quote!(&[#(#t),*])
        })
        .collect();
    let metrics: Vec<TokenStream> = spec
        .components
        .iter()
        .map(|c| {
            let m: Vec<&str> = spec.metrics.iter().filter(|m| m.emitted_by(&c.name)).map(|m| m.name.as_str()).collect();
            quote!(&[#(#m),*])
        })
        .collect();
    let body_limits: Vec<proc_macro2::Literal> =
        spec.components.iter().map(|c| proc_macro2::Literal::u64_unsuffixed(c.max_body_bytes)).collect();
    let n = variants.len();
    let enums = spec.components.iter().filter(|c| !c.routes.is_empty()).map(route_enum);
    quote! {
        /// The components of the spec (`components[].name`, the log `component` value).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Component {
            #( #[doc = #docs] #variants, )*
        }

        impl Component {
            /// Every component, in spec order.
            pub const ALL: [Component; #n] = [#(Component::#variants),*];

            /// The component's name.
            pub const fn as_str(self) -> &'static str {
                match self { #(Component::#variants => #names,)* }
            }

            /// The component of a name.
            pub fn from_name(s: &str) -> ::core::option::Option<Component> {
                match s { #(#names => ::core::option::Option::Some(Component::#variants),)* _ => ::core::option::Option::None }
            }

            /// The spec templates of its routes, in spec order.
            pub const fn routes(self) -> &'static [&'static str] {
                match self { #(Component::#variants => #routes,)* }
            }

            /// The largest request body it reads, in bytes (`components[].max_body_bytes`):
            /// give it to `obspec::http::BodyLimitLayer`.
            pub const fn max_body_bytes(self) -> u64 {
                match self { #(Component::#variants => #body_limits,)* }
            }

            /// The names of the metrics it emits (`metrics[].component` or `also_in`), in spec order:
            /// its `/metrics` holds these families and no other of the spec.
            pub const fn metrics(self) -> &'static [&'static str] {
                match self { #(Component::#variants => #metrics,)* }
            }
        }

        impl ::core::fmt::Display for Component {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// The route enums, one per component with routes: mount them with
        /// `obspec::http::RouteExt::spec_route`; emitters with a `route` label
        /// take the component's enum (`None`: no route matched).
        pub mod routes {
            #(#enums)*
        }
    }
}
