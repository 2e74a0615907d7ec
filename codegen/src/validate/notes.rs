//! Checks of `resolutions` and every `note:` citing one (`R07`).

use std::collections::BTreeSet;

use super::Cx;
use crate::load::Loc;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("resolution", spec.resolutions.iter().map(|r| (r.id.as_str(), r.loc.key("id"))));
    let ids: BTreeSet<&str> = spec.resolutions.iter().map(|r| r.id.as_str()).collect();
    let mut notes: Vec<(&str, Loc)> = Vec::new();
    fn push<'s>(notes: &mut Vec<(&'s str, Loc)>, items: impl Iterator<Item = (&'s Option<String>, Loc)>) {
        for (n, l) in items {
            if let Some(n) = n {
                notes.push((n.as_str(), l.key("note")));
            }
        }
    }
    push(&mut notes, spec.components.iter().map(|c| (&c.note, c.loc.clone())));
    push(&mut notes, spec.labels.iter().map(|c| (&c.note, c.loc.clone())));
    push(&mut notes, spec.metrics.iter().map(|c| (&c.note, c.loc.clone())));
    push(&mut notes, spec.error_tokens.iter().map(|c| (&c.note, c.loc.clone())));
    push(&mut notes, spec.slos.iter().map(|c| (&c.note, c.loc.clone())));
    push(&mut notes, spec.alerts.iter().map(|c| (&c.note, c.loc.clone())));
    push(&mut notes, spec.flags.iter().map(|c| (&c.note, c.loc.clone())));
    for (i, k) in spec.trails.kinds.iter().enumerate() {
        if let Some(n) = &k.note {
            notes.push((n.as_str(), cx.spec.trails.loc.key("kinds").index(i).key("note")));
        }
    }
    for (note, loc) in notes {
        for cited in names::cited_resolutions(note) {
            if !ids.contains(cited.as_str()) {
                cx.err(
                    &loc,
                    format!("the note cites resolution `{cited}`, which does not exist"),
                    "add it under `resolutions:` or fix the id",
                );
            }
        }
    }
}
