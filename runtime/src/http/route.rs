//! Route templates for labels: axum's [`MatchedPath`] (`/v1/rooms/{room_id}`)
//! in the spec's form (`/v1/rooms/:room_id`), interned so every later use is a
//! `&'static str`. Raw paths are never used.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

use axum::extract::MatchedPath;

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The route label once more than [`MAX_TEMPLATES`] distinct templates were seen.
pub const OVERFLOW: &str = "other";

/// Most distinct templates interned per process (a router has a fixed set).
pub const MAX_TEMPLATES: usize = 1024;

/// Axum template → (the same, leaked, and its spec form).
type Map = HashMap<Box<str>, (&'static str, &'static str), foldhash::fast::RandomState>;

static INTERNED: OnceLock<RwLock<Map>> = OnceLock::new();

/// The spec form of an axum template: `{name}` becomes `:name` and `{*rest}`
/// becomes `*rest`.
pub fn spec_template(axum_path: &str) -> String {
    let mut out = String::with_capacity(axum_path.len());
    let mut rest = axum_path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match name.strip_prefix('*') {
                    Some(n) => {
                        out.push('*');
                        out.push_str(n);
                    }
                    None => {
                        out.push(':');
                        out.push_str(name);
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The interned spec template of `matched` ([`UNMATCHED`] for `None`).
///
/// A router keeps one shared string per template and hands every request a
/// clone, so the string's address finds the label in a per-thread cache;
/// a hit is confirmed by comparing the text, so a reused address is never
/// mistaken for another template.
pub fn route_label(matched: Option<&MatchedPath>) -> &'static str {
    let Some(m) = matched else { return UNMATCHED };
    let path = m.as_str();
    let addr = path.as_ptr() as usize;
    let i = (addr >> 4 ^ addr >> 10) % RECENT;
    RECENT_TEMPLATES.with(|r| {
        let (a, template, label) = r[i].get();
        if a == addr && template == path {
            return label;
        }
        match lookup(path) {
            Some((template, label)) => {
                r[i].set((addr, template, label));
                label
            }
            None => OVERFLOW,
        }
    })
}

const RECENT: usize = 64;

thread_local! {
    /// `(address of the router's template string, the template, its label)`.
    static RECENT_TEMPLATES: [Cell<(usize, &'static str, &'static str)>; RECENT] =
        const { [const { Cell::new((0, "", "")) }; RECENT] };
}

/// Interns the spec form of an axum template.
pub fn intern(axum_path: &str) -> &'static str {
    lookup(axum_path).map_or(OVERFLOW, |(_, label)| label)
}

/// The interned `(axum template, spec form)` of `axum_path`; `None` once
/// [`MAX_TEMPLATES`] others are interned.
fn lookup(axum_path: &str) -> Option<(&'static str, &'static str)> {
    let lock = INTERNED.get_or_init(|| RwLock::new(Map::default()));
    if let Some(s) = lock.read().unwrap_or_else(PoisonError::into_inner).get(axum_path) {
        return Some(*s);
    }
    let mut w = lock.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = w.get(axum_path) {
        return Some(*s);
    }
    if w.len() >= MAX_TEMPLATES {
        return None;
    }
    let template: &'static str = Box::leak(axum_path.into());
    let label: &'static str = Box::leak(spec_template(axum_path).into_boxed_str());
    w.insert(axum_path.into(), (template, label));
    Some((template, label))
}

/// The method's label: the standard methods, else `OTHER`.
pub fn method_label(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}
