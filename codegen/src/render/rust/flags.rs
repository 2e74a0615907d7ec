//! The flag table the runtime reads (`obspec::flags::FlagTable`): every flag's
//! name, environment variable (derived from the project's name), type,
//! default, bounds, role and help, plus one name constant per flag for
//! application code.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::model::{Flag, FlagRole, FlagType, Spec};
use crate::roles;

fn role(r: FlagRole) -> Ident {
    let name = match r {
        FlagRole::SamplingSuccess => "SamplingSuccess",
        FlagRole::SamplingSpike => "SamplingSpike",
        FlagRole::SamplingOverrides => "SamplingOverrides",
        FlagRole::LogLevel => "LogLevel",
        FlagRole::ChaosLight => "ChaosLight",
        FlagRole::ChaosRatio => "ChaosRatio",
        FlagRole::ChaosDelayMin => "ChaosDelayMin",
        FlagRole::ChaosDelayMax => "ChaosDelayMax",
        FlagRole::Stage => "Stage",
    };
    Ident::new(name, Span::call_site())
}

/// A bound as a whole number of milliseconds (validation keeps them whole and non-negative).
fn millis(v: f64) -> u64 {
    if v.is_finite() && v >= 0.0 { v.round() as u64 } else { u64::MAX }
}

fn kind(f: &Flag) -> TokenStream {
    match f.ty {
        FlagType::Bool => {
            let d = f.default.as_bool().unwrap_or(false);
            quote!(::obspec::flags::FlagKind::Bool { default: #d })
        }
        FlagType::Ratio => {
            let (d, min, max) = (f.default.as_f64().unwrap_or(0.0), f.min.unwrap_or(0.0), f.max.unwrap_or(1.0));
            quote!(::obspec::flags::FlagKind::Ratio { default: #d, min: #min, max: #max })
        }
        FlagType::Enum => {
            let values = &f.values;
            let d = f.default.as_str().and_then(|d| f.values.iter().position(|v| v == d)).unwrap_or(0);
            quote!(::obspec::flags::FlagKind::Enum { values: &[#(#values),*], default: #d })
        }
        FlagType::Millis => {
            let d = f.default.as_u64().unwrap_or(0);
            let min = millis(f.min.unwrap_or(0.0));
            let max = f.max.map_or(u64::MAX, millis);
            quote!(::obspec::flags::FlagKind::Millis { default: #d, min: #min, max: #max })
        }
        FlagType::RateMap => {
            let max = f.max.unwrap_or(1.0);
            let entries = f
                .default
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0))).collect::<Vec<_>>())
                .unwrap_or_default();
            let keys = entries.iter().map(|(k, _)| k);
            let rates = entries.iter().map(|(_, r)| r);
            quote!(::obspec::flags::FlagKind::RateMap { max: #max, default: &[#((#keys, #rates)),*] })
        }
    }
}

/// `pub static FLAGS` and `pub mod flag_names`.
pub fn tokens(spec: &Spec) -> TokenStream {
    let project = &spec.project.name;
    let prefix = roles::env_prefix(project);
    let defs = spec.flags.iter().map(|f| {
        let name = &f.name;
        let env = roles::flag_env(project, &f.name);
        let help = &f.help;
        let kind = kind(f);
        let role = match f.role {
            Some(r) => {
                let r = role(r);
                quote!(::core::option::Option::Some(::obspec::flags::FlagRole::#r))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! { ::obspec::flags::FlagDef { name: #name, env: #env, help: #help, kind: #kind, role: #role } }
    });
    let consts = spec.flags.iter().map(|f| {
        let ident = Ident::new(&f.name.replace('.', "_").to_uppercase(), Span::call_site());
        let name = &f.name;
        let doc = format!("`{}` (env `{}`): {}", f.name, roles::flag_env(project, &f.name), f.help);
        quote! { #[doc = #doc] pub const #ident: &str = #name; }
    });
    quote! {
        /// The spec's flags (§5.2): what `obspec::flags::Flags` reads from the
        /// environment and the flags file.
        pub static FLAGS: ::obspec::flags::FlagTable = ::obspec::flags::FlagTable {
            env_prefix: #prefix,
            flags: &[#(#defs),*],
        };

        /// The name of every flag, for application code reading its own flags.
        pub mod flag_names {
            #(#consts)*
        }
    }
}
