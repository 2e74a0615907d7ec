//! Checks of the `error_tokens` section: names, HTTP statuses, retry hints, the fallback.

use super::Cx;
use crate::load::Loc;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("ErrorToken", spec.error_tokens.iter().map(|t| (t.token.as_str(), t.loc.key("token"))));
    let codes: Vec<(String, Loc)> = spec
        .error_tokens
        .iter()
        .map(|x| (x, &x.loc))
        .filter_map(|(t, l)| t.jsonrpc_code.map(|c| (c.to_string(), l.key("jsonrpc_code"))))
        .collect();
    cx.unique("JSON-RPC error code", codes.iter().map(|(c, l)| (c.as_str(), l.clone())));
    for (t, loc) in spec.error_tokens.iter().map(|x| (x, &x.loc)) {
        if !names::is_screaming_snake(&t.token) {
            cx.err(
                &loc.key("token"),
                format!("ErrorToken `{}` is not SCREAMING_SNAKE_CASE", t.token),
                "use upper-case letters, digits and `_`",
            );
        }
        if !(400..=599).contains(&t.http_status) {
            cx.err(
                &loc.key("http_status"),
                format!("HTTP status {} is not an error status", t.http_status),
                "use a 4xx or 5xx status",
            );
        }
        if t.retry_after == RetryAfter::Required && !t.retryable {
            cx.err(
                &loc.key("retry_after"),
                format!("`{}` requires `retry_after_ms` but is not retryable", t.token),
                "set `retryable: true`, or `retry_after: none`",
            );
        }
    }
    let fallbacks = spec.error_tokens.iter().filter(|t| t.fallback).count();
    if fallbacks != 1 && !spec.error_tokens.is_empty() {
        let loc = spec.error_tokens.first().map(|x| x.loc.clone()).unwrap_or_default();
        cx.err(
            &loc,
            format!("{fallbacks} ErrorTokens are marked `fallback: true`"),
            "mark exactly one (the internal error token) as the fallback for panics and unmapped errors",
        );
    }
    // Which tokens the runtime answers with is checked by role, in `crate::roles`.
}
