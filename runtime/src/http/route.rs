//! Route templates for labels: axum's [`MatchedPath`] (`/v1/rooms/{room_id}`)
//! in the spec's form (`/v1/rooms/:room_id`), interned so every later use is a
//! `&'static str`. Raw paths are never used.

use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

use axum::extract::MatchedPath;

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The route label once more than [`MAX_TEMPLATES`] distinct templates were seen.
pub const OVERFLOW: &str = "other";

/// Most distinct templates interned per process (a router has a fixed set).
pub const MAX_TEMPLATES: usize = 1024;

type Map = HashMap<Box<str>, &'static str, foldhash::fast::RandomState>;

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
pub fn route_label(matched: Option<&MatchedPath>) -> &'static str {
    match matched {
        Some(m) => intern(m.as_str()),
        None => UNMATCHED,
    }
}

/// Interns the spec form of an axum template.
pub fn intern(axum_path: &str) -> &'static str {
    let lock = INTERNED.get_or_init(|| RwLock::new(Map::default()));
    if let Some(s) = lock.read().unwrap_or_else(PoisonError::into_inner).get(axum_path) {
        return s;
    }
    let mut w = lock.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = w.get(axum_path) {
        return s;
    }
    if w.len() >= MAX_TEMPLATES {
        return OVERFLOW;
    }
    let s: &'static str = Box::leak(spec_template(axum_path).into_boxed_str());
    w.insert(axum_path.into(), s);
    s
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
