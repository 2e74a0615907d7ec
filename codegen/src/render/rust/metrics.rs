//! The typed metric emitters of the generated crate (`pub mod metrics`): one
//! enum per closed label, one function per metric returning a cached handle of
//! the `metrics` facade, the spec's metric table and `install`.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use super::camel;
use crate::model::{LabelDef, LabelKind, Metric, MetricKind, Spec, Unit};
use crate::names;
use crate::promql;

/// Names a generated label enum must not take: they would shadow the prelude.
const RESERVED: &[&str] = &["Ok", "Err", "Some", "None", "Option", "Result", "Box", "Vec", "String", "ErrorToken"];

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let",
    "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type",
    "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// A snake-case identifier, raw when it is a keyword.
pub fn snake_ident(s: &str) -> Ident {
    if KEYWORDS.contains(&s) { Ident::new_raw(s, Span::call_site()) } else { Ident::new(s, Span::call_site()) }
}

fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

/// The Rust enum name of a closed label.
pub fn label_enum_name(label: &str) -> String {
    let c = camel(label);
    if RESERVED.contains(&c.as_str()) { format!("{c}Label") } else { c }
}

/// The variant name of a closed label value (`GET` → `Get`, `503` → `S503`).
pub fn variant_name(label: &str, value: &str) -> String {
    let c = camel(value);
    match c.chars().next() {
        Some(ch) if ch.is_ascii_digit() => {
            let prefix = if matches!(label, "code" | "status") { "S" } else { "V" };
            format!("{prefix}{c}")
        }
        Some(_) => c,
        None => "Empty".to_owned(),
    }
}

fn is_bool(l: &LabelDef) -> bool {
    l.kind == LabelKind::Closed
        && l.values.len() == 2
        && l.values.iter().any(|v| v == "true")
        && l.values.iter().any(|v| v == "false")
}

fn unit_word(u: Unit) -> &'static str {
    match u {
        Unit::Seconds => "seconds",
        Unit::Milliseconds => "milliseconds",
        Unit::Bytes => "bytes",
        Unit::Count => "count",
        Unit::Ratio => "ratio",
    }
}

/// How one label appears in an emitter's signature and cell index.
struct LabelCode {
    name: String,
    param: Ident,
    ty: TokenStream,
    /// Closed-label count of values (None for open labels).
    card: Option<usize>,
    /// Index expression (closed only).
    index: TokenStream,
    /// `&'static str` value expression (closed only).
    value: TokenStream,
    max_values: u64,
}

/// The label whose values are route templates: typed by the component's route enum.
pub const ROUTE_LABEL: &str = "route";

fn label_code(spec: &Spec, component: &str, name: &str) -> Option<LabelCode> {
    let l = spec.labels.iter().find(|l| l.name == name)?;
    let param = snake_ident(&l.name);
    let routes = spec.components.iter().find(|c| c.name == component).map_or(0, |c| c.routes.len());
    if l.name == ROUTE_LABEL && routes > 0 {
        // The component's routes are closed: index by its route enum (None: unmatched).
        let e = ident(&super::routes::route_enum_name(component));
        return Some(LabelCode {
            name: l.name.clone(),
            ty: quote!(::core::option::Option<super::routes::#e>),
            card: Some(routes + 1),
            index: quote!(match #param { ::core::option::Option::None => 0usize, ::core::option::Option::Some(r) => 1usize + r as usize }),
            value: quote!(match #param { ::core::option::Option::None => ::obspec::http::route::UNMATCHED, ::core::option::Option::Some(r) => r.template() }),
            param,
            max_values: 0,
        });
    }
    Some(match l.kind {
        LabelKind::Open => LabelCode {
            name: l.name.clone(),
            param,
            ty: quote!(&str),
            card: None,
            index: TokenStream::new(),
            value: TokenStream::new(),
            max_values: l.max_values.unwrap_or(0),
        },
        LabelKind::ErrorToken => {
            let none = l.none.clone().unwrap_or_else(|| "NONE".to_owned());
            LabelCode {
                name: l.name.clone(),
                ty: quote!(::core::option::Option<super::ErrorToken>),
                card: Some(spec.error_tokens.len() + 1),
                index: quote!(match #param { ::core::option::Option::None => 0usize, ::core::option::Option::Some(t) => 1usize + t as usize }),
                value: quote!(match #param { ::core::option::Option::None => #none, ::core::option::Option::Some(t) => t.as_str() }),
                param,
                max_values: 0,
            }
        }
        LabelKind::Closed if is_bool(l) => {
            let t = l.values.iter().position(|v| v == "true").unwrap_or(0);
            let f = l.values.iter().position(|v| v == "false").unwrap_or(1);
            LabelCode {
                name: l.name.clone(),
                ty: quote!(bool),
                card: Some(2),
                index: quote!(if #param { #t } else { #f }),
                value: quote!(if #param { "true" } else { "false" }),
                param,
                max_values: 0,
            }
        }
        LabelKind::Closed => {
            let e = ident(&label_enum_name(&l.name));
            LabelCode {
                name: l.name.clone(),
                ty: quote!(#e),
                card: Some(l.values.len()),
                index: quote!(#param as usize),
                value: quote!(#param.as_str()),
                param,
                max_values: 0,
            }
        }
    })
}

fn label_enum(l: &LabelDef) -> TokenStream {
    let name = ident(&label_enum_name(&l.name));
    let variants: Vec<Ident> = l.values.iter().map(|v| ident(&variant_name(&l.name, v))).collect();
    let values = &l.values;
    let docs: Vec<String> = l.values.iter().map(|v| format!("`{}=\"{v}\"`", l.name)).collect();
    let doc = format!("Values of the closed label `{}`: {}", l.name, l.help);
    let n = variants.len();
    // A label whose every value is a number (HTTP status codes) also parses
    // from the number, so a service need not format it first.
    let numbers: Option<Vec<u64>> =
        l.values.iter().map(|v| v.parse::<u64>().ok().filter(|n| n.to_string() == *v)).collect();
    let from_number = numbers.map(|numbers| {
        let lits = numbers.iter().map(|n| Literal::u64_unsuffixed(*n));
        quote! {
            /// The value of a number (an HTTP status, say), without formatting it.
            pub const fn from_number(n: u64) -> ::core::option::Option<#name> {
                match n { #(#lits => ::core::option::Option::Some(#name::#variants),)* _ => ::core::option::Option::None }
            }
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum #name {
            #( #[doc = #docs] #variants, )*
        }

        impl #name {
            /// Every value, in spec order.
            pub const ALL: [#name; #n] = [#(#name::#variants),*];

            /// The label value as exposed.
            pub const fn as_str(self) -> &'static str {
                match self { #(#name::#variants => #values,)* }
            }

            /// Parses a label value.
            pub fn from_value(s: &str) -> ::core::option::Option<#name> {
                match s { #(#values => ::core::option::Option::Some(#name::#variants),)* _ => ::core::option::Option::None }
            }

            #from_number
        }
    }
}

/// SLO names whose SLI selects this metric.
fn slos_of(spec: &Spec, metric: &str) -> Vec<String> {
    spec.slos
        .iter()
        .filter(|s| {
            let mut sels: Vec<&str> = Vec::new();
            if let Some(r) = &s.ratio {
                sels.push(&r.errors);
                sels.push(&r.total);
            }
            if let Some(l) = &s.latency {
                sels.push(&l.histogram);
            }
            sels.iter().any(|sel| {
                promql::parse_selector(sel)
                    .is_ok_and(|(name, _)| names::metric_family(&name) == metric || name == metric)
            })
        })
        .map(|s| s.name.clone())
        .collect()
}

fn metric_docs(spec: &Spec, m: &Metric, labels: &[LabelCode]) -> Vec<String> {
    let mut docs = vec![
        format!("`{}`: {}", m.name, m.help),
        String::new(),
        if m.also_in.is_empty() {
            format!("{:?}, unit: {}, component: `{}`.", m.kind, unit_word(m.unit), m.component)
        } else {
            let also: Vec<String> = m.also_in.iter().map(|c| format!("`{c}`")).collect();
            format!(
                "{:?}, unit: {}, component: `{}` (also {}).",
                m.kind,
                unit_word(m.unit),
                m.component,
                also.join(", ")
            )
        },
    ];
    if !labels.is_empty() {
        let parts: Vec<String> = labels
            .iter()
            .map(|l| match l.card {
                Some(n) if l.name == ROUTE_LABEL && l.max_values == 0 && !is_closed_def(spec, &l.name) => {
                    format!("`{}` (the component's {} routes, or unmatched)", l.name, n - 1)
                }
                Some(n) => format!("`{}` (closed, {n} values)", l.name),
                None => format!("`{}` (open, at most {} values, then `other`)", l.name, l.max_values),
            })
            .collect();
        docs.push(format!("Labels: {}.", parts.join(", ")));
    }
    if !m.buckets.is_empty() {
        let b: Vec<String> = m.buckets.iter().map(|b| names::fmt_float(*b)).collect();
        docs.push(format!("Buckets: {}.", b.join(", ")));
    }
    let slos = slos_of(spec, &m.name);
    if !slos.is_empty() {
        let s: Vec<String> = slos.iter().map(|s| format!("`{s}`")).collect();
        docs.push(format!("SLOs: {}.", s.join(", ")));
    }
    if let Some(n) = &m.note {
        docs.push(format!("Note: {n}."));
    }
    docs
}

fn emitter(spec: &Spec, m: &Metric) -> TokenStream {
    let labels: Vec<LabelCode> = m.labels.iter().filter_map(|l| label_code(spec, &m.component, l)).collect();
    let handle = match m.kind {
        MetricKind::Counter => quote!(::obspec::metrics::Counter),
        MetricKind::Gauge => quote!(::obspec::metrics::Gauge),
        MetricKind::Histogram => quote!(::obspec::metrics::Histogram),
    };
    let fn_name = snake_ident(&m.name);
    let name = &m.name;
    let docs = metric_docs(spec, m, &labels);
    let closed: Vec<&LabelCode> = labels.iter().filter(|l| l.card.is_some()).collect();
    let open: Vec<&LabelCode> = labels.iter().filter(|l| l.card.is_none()).collect();
    let cells: usize = closed.iter().map(|l| l.card.unwrap_or(1)).product();
    // Row-major index over the closed labels, in spec order.
    let mut terms: Vec<TokenStream> = Vec::new();
    let mut stride = 1usize;
    for l in closed.iter().rev() {
        let idx = &l.index;
        terms.push(if stride == 1 { quote!(#idx) } else { quote!((#idx) * #stride) });
        stride *= l.card.unwrap_or(1);
    }
    terms.reverse();
    let index = if terms.is_empty() { quote!(0usize) } else { quote!(#(#terms)+*) };
    let closed_params: Vec<&Ident> = closed.iter().map(|l| &l.param).collect();
    let closed_tys: Vec<&TokenStream> = closed.iter().map(|l| &l.ty).collect();
    // A renamed label is written under its old name too, with the same value
    // (`rename.rs`), while the spec keeps `renamed_from`.
    let label_values: Vec<TokenStream> = labels
        .iter()
        .flat_map(|l| {
            let alias = crate::rename::label_alias(spec, &l.name);
            std::iter::once(l.name.as_str()).chain(alias).map(|n| {
                if l.card.is_some() {
                    let v = &l.value;
                    quote!(::obspec::metrics::Label::from_static_parts(#n, #v))
                } else {
                    let i = open.iter().position(|o| o.name == l.name).unwrap_or(0);
                    quote!(::obspec::metrics::open_label(#n, open, #i))
                }
            })
        })
        .collect();
    if open.is_empty() {
        return quote! {
            #( #[doc = #docs] )*
            #[inline]
            pub fn #fn_name(#(#closed_params: #closed_tys),*) -> &'static #handle {
                static FAMILY: ::obspec::metrics::ClosedFamily<#handle, #cells> = ::obspec::metrics::ClosedFamily::new(#name);
                FAMILY.get(#index, || ::std::vec![#(#label_values),*])
            }
        };
    }
    let row_ty = format_ident!("{}Row", camel(&m.name));
    let row_fn = format_ident!("{}_row", m.name);
    let open_params: Vec<&Ident> = open.iter().map(|l| &l.param).collect();
    let open_names: Vec<&str> = open.iter().map(|l| l.name.as_str()).collect();
    let open_max: Vec<u64> = open.iter().map(|l| l.max_values).collect();
    let all_params: Vec<&Ident> = labels.iter().map(|l| &l.param).collect();
    let all_tys: Vec<&TokenStream> = labels.iter().map(|l| &l.ty).collect();
    let row_doc = format!(
        "The handles of `{}` for one value of its open label(s), resolved once: keep it to skip the open-label lookup on the hot path.",
        m.name
    );
    let row_fn_doc = format!(
        "Resolves the open label(s) of `{}` ({}); values past the bound fold into `other`.",
        m.name,
        open_names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    );
    let get_doc = format!("The `{}` handle for these closed labels.", m.name);
    quote! {
        #[doc = #row_doc]
        #[derive(Debug, Clone, Copy)]
        pub struct #row_ty(&'static ::obspec::metrics::Row<#handle>);

        impl #row_ty {
            #[doc = #get_doc]
            #[inline]
            pub fn get(self, #(#closed_params: #closed_tys),*) -> &'static #handle {
                self.0.get(#index, |open| ::std::vec![#(#label_values),*])
            }
        }

        #[doc = #row_fn_doc]
        #[inline]
        pub fn #row_fn(#(#open_params: &str),*) -> #row_ty {
            static FAMILY: ::obspec::metrics::OpenFamily<#handle> = ::obspec::metrics::OpenFamily::new(
                #name,
                &[#(::obspec::metrics::OpenLabel { name: #open_names, max_values: #open_max }),*],
                #cells,
            );
            #row_ty(FAMILY.row(&[#(#open_params),*]))
        }

        #( #[doc = #docs] )*
        #[inline]
        pub fn #fn_name(#(#all_params: #all_tys),*) -> &'static #handle {
            #row_fn(#(#open_params),*).get(#(#closed_params),*)
        }
    }
}

fn is_closed_def(spec: &Spec, label: &str) -> bool {
    spec.labels.iter().any(|d| d.name == label && d.kind != LabelKind::Open)
}

/// Whether every label of `m` is closed (or ErrorToken), so its series can be listed.
fn all_closed(spec: &Spec, m: &Metric) -> bool {
    m.labels.iter().all(|l| spec.labels.iter().any(|d| &d.name == l && d.kind != LabelKind::Open))
}

/// The statements registering every series of a fully closed metric at zero:
/// one loop per label over its values, the emitter called innermost.
fn preinit(spec: &Spec, m: &Metric) -> Option<TokenStream> {
    if !all_closed(spec, m) {
        return None;
    }
    let labels: Vec<LabelCode> = m.labels.iter().filter_map(|l| label_code(spec, &m.component, l)).collect();
    let fn_name = snake_ident(&m.name);
    let params: Vec<&Ident> = labels.iter().map(|l| &l.param).collect();
    let mut body = quote!(let _ = #fn_name(#(#params),*););
    for l in labels.iter().rev() {
        let p = &l.param;
        let def = spec.labels.iter().find(|d| d.name == l.name)?;
        let values = match def.kind {
            LabelKind::ErrorToken => quote!(
                ::core::iter::once(::core::option::Option::None)
                    .chain(super::ErrorToken::ALL.into_iter().map(::core::option::Option::Some))
            ),
            LabelKind::Closed if is_bool(def) => quote!([true, false]),
            LabelKind::Closed => {
                let e = ident(&label_enum_name(&l.name));
                quote!(#e::ALL)
            }
            LabelKind::Open => return None,
        };
        body = quote!(for #p in #values { #body });
    }
    Some(body)
}

fn desc(m: &Metric) -> TokenStream {
    let name = &m.name;
    let kind = match m.kind {
        MetricKind::Counter => quote!(Counter),
        MetricKind::Gauge => quote!(Gauge),
        MetricKind::Histogram => quote!(Histogram),
    };
    let help = &m.help;
    let unit = unit_word(m.unit);
    let labels = &m.labels;
    let buckets = &m.buckets;
    quote! {
        ::obspec::metrics::MetricDesc {
            name: #name,
            kind: ::obspec::metrics::MetricKind::#kind,
            help: #help,
            unit: #unit,
            labels: &[#(#labels),*],
            buckets: &[#(#buckets),*],
        }
    }
}

/// The `pub mod metrics` of the generated crate.
pub fn module(spec: &Spec) -> TokenStream {
    let used: Vec<&LabelDef> = spec
        .labels
        .iter()
        .filter(|l| {
            l.kind == LabelKind::Closed && !is_bool(l) && spec.metrics.iter().any(|m| m.labels.contains(&l.name))
        })
        .collect();
    let enums = used.iter().map(|l| label_enum(l));
    let emitters = spec.metrics.iter().map(|m| emitter(spec, m));
    let descs = spec.metrics.iter().map(desc);
    let n = spec.metrics.len();
    // Per component: a service pre-creates its own series only, never another component's.
    let mut comps: Vec<&str> = spec.components.iter().map(|c| c.name.as_str()).collect();
    for m in &spec.metrics {
        for c in std::iter::once(&m.component).chain(&m.also_in) {
            if !comps.contains(&c.as_str()) {
                comps.push(c);
            }
        }
    }
    let arms: Vec<TokenStream> = comps
        .iter()
        .map(|c| {
            let body: Vec<TokenStream> =
                spec.metrics.iter().filter(|m| m.emitted_by(c)).filter_map(|m| preinit(spec, m)).collect();
            quote!(#c => { #(#body)* true })
        })
        .collect();
    let preinit_rows: Vec<TokenStream> = spec
        .metrics
        .iter()
        .filter(|m| all_closed(spec, m))
        .flat_map(|m| {
            let n = &m.name;
            std::iter::once(&m.component).chain(&m.also_in).map(move |c| quote!((#c, #n)))
        })
        .collect();
    let n_preinit = preinit_rows.len();
    quote! {
        /// Typed metric emitters (§1.2), one function per metric of the spec.
        ///
        /// Each returns a handle of the `metrics` facade, registered once per label
        /// combination against the recorder installed at first use (install
        /// [`install`](crate::metrics::install) or any `metrics` recorder first) and then cached: closed labels
        /// are enums indexing a fixed array, open labels (`&str`) are bounded and fold
        /// into `other` past their `max_values`.
        ///
        /// A `route` label of a component with routes takes the component's route
        /// enum (`Some(routes::<Component>Route::…)`, `None` when no route matched).
        #[rustfmt::skip]
        pub mod metrics {
            #(#enums)*

            /// Every metric of the spec (help, type, labels, buckets), for the recorder.
            pub static METRICS: [::obspec::metrics::MetricDesc; #n] = [#(#descs),*];

            /// `(component, metric)` of every metric whose labels are all closed:
            /// [`install_for`] the component creates each of its series at zero.
            /// Metrics with an open label (route, tool, tenant…) start empty.
            pub static PREINITIALISED: [(&str, &str); #n_preinit] = [#(#preinit_rows),*];

            /// Installs obspec's recorder with the spec's metrics as the global
            /// `metrics` recorder; serve [`render`] on `/metrics`. Creates no series:
            /// a service should use [`install_for`] its component.
            pub fn install() -> ::core::result::Result<::obspec::metrics::Exporter, ::obspec::metrics::InstallError> {
                ::obspec::metrics::install(&METRICS)
            }

            /// [`install`], then [`preinitialise`] the component's series.
            pub fn install_for(component: &str) -> ::core::result::Result<::obspec::metrics::Exporter, ::obspec::metrics::InstallError> {
                let exporter = install()?;
                preinitialise(component);
                ::core::result::Result::Ok(exporter)
            }

            /// Registers at zero, in the installed recorder, every series of the
            /// component's [`PREINITIALISED`] metrics: every combination of their
            /// closed labels (ErrorToken labels with every token and the none value),
            /// so "no error yet" reads 0 rather than absent and `rate()` counts the
            /// first one. Returns false, registering nothing, for an unknown component.
            pub fn preinitialise(component: &str) -> bool {
                match component {
                    #(#arms)*
                    _ => false,
                }
            }

            /// The Prometheus text exposition of the installed recorder (the `/metrics` body).
            pub fn render() -> ::std::string::String {
                ::obspec::metrics::render()
            }

            #(#emitters)*
        }
    }
}
