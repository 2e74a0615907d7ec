//! Checks of the `environments` section: deployment profiles whose scrape
//! config `gen` renders (`render::local`).
//!
//! Each profile has a unique name, a valid scrape interval, `host:port`
//! addresses for its Prometheus, Alertmanager, OTLP receiver and every
//! target, targets that name components of the spec, an OTLP receiver when
//! it scrapes an OTLP component, no address used twice, and a sensible time
//! compression factor.

use std::collections::BTreeMap;

use super::Cx;
use crate::diag::Diagnostic;
use crate::load::{Loc, SourceMap};
use crate::model::{Environment, Exposition, Spec};
use crate::names;

/// The largest accepted `time_compression` (one hour becomes one second).
pub const MAX_TIME_COMPRESSION: u32 = 3600;

/// Splits `host:port`; `None` when the host is empty or the port is not 1–65535.
pub fn split_addr(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':'));
    host_ok.then_some((host, port))
}

/// Every problem of the `environments` section; one of [`super::CHECKS`].
pub(super) fn check(cx: &mut Cx<'_>) {
    let (spec, sm, out) = (cx.spec, cx.sm, &mut cx.out);
    let mut names_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, env) in spec.environments.iter().enumerate() {
        let loc = &env.loc;
        if !names::is_snake(&env.name) && !names::is_kebab(&env.name) {
            out.push(sm.diag(
                &loc.key("name"),
                format!("environment name `{}` is not snake_case or kebab-case", env.name),
                "use lower-case letters, digits and `_` or `-` (it names a directory under infra/observability/)",
            ));
        }
        if let Some(first) = names_seen.insert(&env.name, i) {
            out.push(sm.diag(
                &loc.key("name"),
                format!("environment `{}` is defined twice (also environments[{first}])", env.name),
                "give each environment a unique name",
            ));
        }
        check_env(spec, sm, env, loc, out);
    }
}

fn check_env(spec: &Spec, sm: &SourceMap, env: &Environment, loc: &Loc, out: &mut Vec<Diagnostic>) {
    if names::duration_seconds(&env.scrape_interval).is_none() {
        out.push(sm.diag(
            &loc.key("scrape_interval"),
            format!("`{}` is not a Prometheus duration", env.scrape_interval),
            "write a duration such as `1s`, `5s` or `15s`",
        ));
    }
    if let Some(k) = env.time_compression
        && !(1..=MAX_TIME_COMPRESSION).contains(&k)
    {
        out.push(sm.diag(
            &loc.key("time_compression"),
            format!("time_compression {k} is outside 1..={MAX_TIME_COMPRESSION}"),
            "use a factor such as 10 (5m windows become 30s) or remove the key",
        ));
    }
    let mut addrs: Vec<(String, Loc, &str)> = vec![
        ("prometheus".to_owned(), loc.key("prometheus"), env.prometheus.as_str()),
        ("alertmanager".to_owned(), loc.key("alertmanager"), env.alertmanager.as_str()),
    ];
    if let Some(r) = &env.receiver {
        addrs.push(("receiver".to_owned(), loc.key("receiver"), r.as_str()));
    }
    if let Some(o) = &env.otlp {
        addrs.push(("OTLP receiver".to_owned(), loc.key("otlp"), o.as_str()));
    }
    for (component, addr) in &env.targets {
        let at = loc.key("targets").key(component);
        if !spec.components.iter().any(|c| &c.name == component) {
            let known: Vec<&str> = spec.components.iter().map(|c| c.name.as_str()).collect();
            out.push(sm.diag_key(
                &at,
                format!("environment `{}` has a target for `{component}`, which is not a component", env.name),
                format!("use one of the components: {}", known.join(", ")),
            ));
        }
        if env.otlp.is_none()
            && spec.components.iter().any(|c| &c.name == component && c.exposition == Exposition::Otlp)
        {
            out.push(sm.diag_key(
                &at,
                format!(
                    "environment `{}` scrapes the OTLP component `{component}` but names no OTLP receiver",
                    env.name
                ),
                "add `otlp: host:port` (where the component sends; its target is that receiver's Prometheus exporter)",
            ));
        }
        addrs.push((format!("target of `{component}`"), at, addr.as_str()));
    }
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for (what, at, addr) in &addrs {
        if split_addr(addr).is_none() {
            out.push(sm.diag(
                at,
                format!("the {what} address `{addr}` is not `host:port`"),
                "write an address such as `127.0.0.1:19100` (port 1–65535)",
            ));
        }
        if let Some(other) = seen.insert(addr, what.clone()) {
            out.push(sm.diag(
                at,
                format!("the {what} address `{addr}` is also the {other} address"),
                "give every process of the environment its own port",
            ));
        }
    }
    if env.targets.is_empty() {
        out.push(sm.diag(
            &loc.key("targets"),
            format!("environment `{}` has no targets", env.name),
            "map at least one component to its `host:port`",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::split_addr;

    #[test]
    fn addresses_need_a_host_and_a_port() {
        assert_eq!(split_addr("127.0.0.1:19100"), Some(("127.0.0.1", 19100)));
        assert_eq!(split_addr("core:9100"), Some(("core", 9100)));
        assert_eq!(split_addr("127.0.0.1"), None);
        assert_eq!(split_addr(":9100"), None);
        assert_eq!(split_addr("127.0.0.1:0"), None);
        assert_eq!(split_addr("127.0.0.1:70000"), None);
        assert_eq!(split_addr("a b:1"), None);
    }
}
