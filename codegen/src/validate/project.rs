//! Checks of the `project` section: budgets, ID length, scrape interval.

use super::Cx;

pub(super) fn check(cx: &mut Cx<'_>) {
    let p = &cx.spec.project;
    let loc = cx.spec.project.loc.clone();
    if p.cardinality_budget == 0 {
        cx.err(
            &loc.key("cardinality_budget"),
            "the cardinality budget is 0",
            "set the most series one metric may have, e.g. 5000",
        );
    }
    if p.id_max_len == 0 {
        cx.err(
            &loc.key("id_max_len"),
            "`id_max_len` is 0",
            "set the longest ID a log line or trail may carry, e.g. 64",
        );
    }
    if !p.scrape_interval.is_empty() {
        cx.duration(&p.scrape_interval.clone(), &loc.key("scrape_interval"));
    }
}
