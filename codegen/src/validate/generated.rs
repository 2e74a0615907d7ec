//! Every expression obspec generates must pass the same PromQL checker as the spec's own.

use super::Cx;
use crate::promql;

pub(super) fn check(cx: &mut Cx<'_>) {
    for (what, expr) in crate::lower::lower(cx.spec).exprs() {
        for p in promql::check(&expr, &cx.cat) {
            let loc = cx.spec.project.loc.clone();
            cx.err(
                &loc,
                format!("the generated {what} does not check: {}", p.message),
                format!("this is an obspec bug for `{expr}`; please report it ({})", p.help),
            );
        }
    }
}
