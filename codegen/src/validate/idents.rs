//! Names that become Rust identifiers in the generated crate: each must be a
//! valid identifier after the renderer's transformation ([`names::camel`] for
//! types and variants, the name itself for functions and parameters), and
//! distinct from its siblings after it, or `gen` would write code that does
//! not compile (or fail to write it at all).

use std::collections::BTreeMap;

use super::Cx;
use crate::load::Loc;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    for l in &spec.labels {
        if names::is_label_name(&l.name)
            && let Some(p) = names::rust_ident_problem(&l.name)
        {
            cx.err(
                &l.loc.key("name"),
                format!("label `{}` names a parameter of the generated emitters: {p}", l.name),
                "use a lower snake case name such as `method`",
            );
        }
        if l.kind == LabelKind::Closed {
            variants(
                cx,
                &format!("closed label `{}`", l.name),
                l.values.iter().map(String::as_str),
                &l.loc.key("values"),
            );
        }
    }
    for m in &spec.metrics {
        if names::is_metric_name(&m.name)
            && let Some(p) = names::rust_ident_problem(&m.name)
        {
            cx.err(
                &m.loc.key("name"),
                format!("metric `{}` names a generated emitter function: {p}", m.name),
                "use a lower snake case name such as `api_jobs_total`",
            );
        }
    }
    for c in &spec.components {
        for (i, r) in c.routes.iter().enumerate() {
            let bad = r.split('/').map(|s| s.trim_start_matches([':', '*'])).find(|s| {
                !s.is_empty() && !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            });
            if let Some(seg) = bad {
                cx.err(
                    &c.loc.key("routes").index(i),
                    format!("route `{r}`: segment `{seg}` cannot become part of a Rust enum variant"),
                    "write segments of ASCII letters and digits separated by `_`, `-` or `.`, with `:name` for parameters",
                );
            }
        }
    }
    distinct(cx, "components", spec.components.iter().map(|c| (c.name.as_str(), c.loc.key("name"))));
    distinct(cx, "ErrorTokens", spec.error_tokens.iter().map(|t| (t.token.as_str(), t.loc.key("token"))));
    distinct(
        cx,
        "closed labels",
        spec.labels.iter().filter(|l| l.kind == LabelKind::Closed).map(|l| (l.name.as_str(), l.loc.key("name"))),
    );
    for (i, k) in spec.trails.kinds.iter().enumerate() {
        for (j, f) in k.data.iter().enumerate() {
            if f.ty == TrailFieldType::Enum {
                let at = spec.trails.loc.key("kinds").index(i).key("data").index(j).key("values");
                variants(cx, &format!("trail data field `{}`", f.name), f.values.iter().map(String::as_str), &at);
            }
        }
    }
}

/// Each value of a closed set (at `loc[i]`) becomes an enum variant.
fn variants<'v>(cx: &mut Cx<'_>, what: &str, values: impl Iterator<Item = &'v str>, loc: &Loc) {
    let mut items = Vec::new();
    for (i, v) in values.enumerate() {
        match names::variant_value_problem(v) {
            Some(p) => cx.err(
                &loc.index(i),
                format!("{what}: {p}"),
                "write values of ASCII letters and digits, words separated by `_`, `-` or `.`",
            ),
            None => items.push((v, loc.index(i))),
        }
    }
    distinct(cx, &format!("{what}: values"), items);
}

/// Reports names that differ but become the same generated type or variant name.
fn distinct<'n>(cx: &mut Cx<'_>, what: &str, items: impl IntoIterator<Item = (&'n str, Loc)>) {
    let mut seen: BTreeMap<String, (&str, Loc)> = BTreeMap::new();
    for (name, loc) in items {
        let key = names::camel(name);
        match seen.get(&key) {
            Some((first, at)) if *first != name => {
                let first_at = cx.at(at);
                cx.err(
                    &loc,
                    format!("{what} `{name}` and `{first}` both become the Rust name `{key}`"),
                    format!("`{first}` is at {first_at}; rename one so their words differ"),
                );
            }
            Some(_) => {}
            None => {
                seen.insert(key, (name, loc));
            }
        }
    }
}
