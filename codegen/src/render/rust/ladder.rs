//! The degradation ladders of the generated crate (`pub mod ladders`): one
//! constant table per `ladders[]` item (§4), each step with its limit, the
//! load from which it applies and, past the first, its value of the counting
//! metric's closed label.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use super::metrics::{label_enum_name, variant_name};
use crate::model::{LadderTrigger, Spec};

fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

/// `pub mod ladders` (nothing for a spec without ladders).
pub fn tokens(spec: &Spec) -> TokenStream {
    if spec.ladders.is_empty() {
        return TokenStream::new();
    }
    let tables = spec.ladders.iter().map(|l| {
        let name = ident(&l.name.to_uppercase());
        let enum_name = ident(&label_enum_name(&l.label));
        let steps = l.steps.iter().enumerate().map(|(i, s)| {
            let (n, limit, from) = (&s.name, s.limit, s.from_load);
            let label = if i == 0 {
                quote!(::core::option::Option::None)
            } else {
                let v = ident(&variant_name(&l.label, &s.name));
                quote!(::core::option::Option::Some(super::metrics::#enum_name::#v))
            };
            quote!(LadderStep { name: #n, limit: #limit, from_load: #from, label: #label })
        });
        let trigger = match l.trigger {
            LadderTrigger::Concurrency => quote!(Trigger::Concurrency),
        };
        let (lname, comp, metric, help) = (&l.name, &l.component, &l.metric, &l.help);
        let doc =
            format!("Ladder `{}` of `{}`: {} Counted by `{}{{{}}}`.", l.name, l.component, l.help, l.metric, l.label);
        quote! {
            #[doc = #doc]
            pub static #name: Ladder = Ladder {
                name: #lname,
                component: #comp,
                help: #help,
                trigger: #trigger,
                metric: #metric,
                steps: &[#(#steps),*],
            };
        }
    });
    let all: Vec<Ident> = spec.ladders.iter().map(|l| ident(&l.name.to_uppercase())).collect();
    let n = all.len();
    // The label enum of the first ladder types the table (validation requires
    // every ladder to count by the same closed label).
    let label_ty = {
        let e = ident(&label_enum_name(&spec.ladders[0].label));
        quote!(super::metrics::#e)
    };
    quote! {
        /// Degradation ladders (§4, `ladders[]`): the more of the trigger is in
        /// use, the fewer items an answer holds. A degraded answer says so and
        /// increments the ladder's counter with its step's `label`.
        pub mod ladders {
            /// What moves a ladder.
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub enum Trigger {
                /// The share of the concurrency limit in flight (this request included), 0..=1.
                Concurrency,
            }

            /// One step of a ladder.
            #[derive(Debug, Clone, Copy, PartialEq)]
            pub struct LadderStep {
                /// The step's name.
                pub name: &'static str,
                /// Most items an answer holds at this step.
                pub limit: u32,
                /// Load from which the step applies (0 for the first).
                pub from_load: f64,
                /// The counting metric's label value (None: the normal step, not counted).
                pub label: ::core::option::Option<#label_ty>,
            }

            /// A ladder: its steps by increasing load, the first the normal answer.
            #[derive(Debug, Clone, Copy, PartialEq)]
            pub struct Ladder {
                /// Identifier.
                pub name: &'static str,
                /// The component that degrades.
                pub component: &'static str,
                /// What degrades.
                pub help: &'static str,
                /// What moves it.
                pub trigger: Trigger,
                /// The counter of degraded answers.
                pub metric: &'static str,
                /// The steps.
                pub steps: &'static [LadderStep],
            }

            impl Ladder {
                /// The index of the step for `load` (the last whose `from_load` it reaches).
                pub fn step_at(&self, load: f64) -> usize {
                    self.steps.iter().rposition(|s| load >= s.from_load).unwrap_or(0)
                }
            }

            #(#tables)*

            /// Every ladder, in spec order.
            pub static ALL: [&Ladder; #n] = [#(&#all),*];
        }
    }
}
