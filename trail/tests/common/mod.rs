//! Helpers shared by the integration tests (included with `mod common;`).

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use obspec_trail::Date;
use obspec_trail::canonical::{Object, Record, TrailConfig};
use obspec_trail::chain::{self, ChainHead};

/// A valid record for `tenant` on `date`, without `meta` or `sig`.
pub fn record(id: &str, tenant: &str, date: &str) -> Record {
    Record::new()
        .with("id", id)
        .with("ts", format!("{date}T08:00:00.000Z"))
        .with("kind", "policy.eval_min")
        .with("scope", Object::new().with("tenant", tenant))
        .with("actor", Object::new().with("id", "u-7").with("type", "user"))
        .with("data", Object::new().with("decision", "allow").with("bits", 5))
}

/// Checks a stream file end to end and returns its record ids in order.
pub fn chain_ids(path: &Path, tenant: &str, date: Date) -> Vec<String> {
    let cfg = TrailConfig::blueprint_default();
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "{} is torn", path.display());
    let mut head = ChainHead::genesis(tenant, date);
    let mut ids = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).enumerate() {
        let info = chain::inspect_line(&cfg, line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        head.advance(tenant, date, &info).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        ids.push(info.header.id);
    }
    ids
}
