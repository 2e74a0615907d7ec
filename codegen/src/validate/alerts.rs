//! Checks of the `alerts` section: names, durations and each rule's metrics.

use super::Cx;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("alert", spec.alerts.iter().map(|a| (a.name.as_str(), a.loc.key("name"))));
    for (a, loc) in spec.alerts.iter().map(|x| (x, &x.loc)) {
        if !names::is_upper_camel(&a.name) {
            cx.err(
                &loc.key("name"),
                format!("alert name `{}` is not UpperCamelCase", a.name),
                "write it like `GatewayLatencyP99High`",
            );
        }
        cx.component_known(&a.component, &loc.key("component"));
        cx.duration(&a.for_, &loc.key("for"));
        let rloc = loc.key("rule");
        match &a.rule {
            AlertRule::QuantileAbove { histogram, quantile, windows, .. } => {
                let r = rloc.key("quantile_above");
                if let Some(m) = cx.selector(histogram, &r.key("histogram"))
                    && m.kind != MetricKind::Histogram
                {
                    cx.err(
                        &r.key("histogram"),
                        format!("`{}` is not a histogram", m.name),
                        "quantiles need a histogram",
                    );
                }
                if !(*quantile > 0.0 && *quantile < 1.0) {
                    cx.err(&r.key("quantile"), "the quantile is not between 0 and 1", "write e.g. 0.99");
                }
                for (i, w) in windows.iter().enumerate() {
                    cx.duration(w, &r.key("windows").index(i));
                }
            }
            AlertRule::RatioAbove { errors, total, any_of, .. } => {
                let r = rloc.key("ratio_above");
                cx.selector(errors, &r.key("errors"));
                cx.selector(total, &r.key("total"));
                for (i, w) in any_of.iter().enumerate() {
                    cx.duration(&w.window, &r.key("any_of").index(i).key("window"));
                }
            }
            AlertRule::Spike { counter, by, window, baseline, .. } => {
                let r = rloc.key("spike");
                if let Some(m) = cx.selector(counter, &r.key("counter")) {
                    for (i, l) in by.iter().enumerate() {
                        if !m.labels.contains(l) {
                            cx.err(
                                &r.key("by").index(i),
                                format!("`{}` has no label `{l}`", m.name),
                                format!("`{}` has: {}", m.name, m.labels.join(", ")),
                            );
                        }
                    }
                }
                cx.duration(window, &r.key("window"));
                cx.duration(baseline, &r.key("baseline"));
            }
            AlertRule::GaugeAtLeast { gauge, .. } => {
                let r = rloc.key("gauge_at_least");
                if let Some(m) = cx.selector(gauge, &r.key("gauge"))
                    && m.kind != MetricKind::Gauge
                {
                    cx.err(
                        &r.key("gauge"),
                        format!("`{}` is not a gauge", m.name),
                        "use a gauge, or a `ratio_above`/`spike` rule for counters",
                    );
                }
            }
            AlertRule::Expr { expr } => cx.promql(expr, &rloc.key("expr").key("expr")),
        }
    }
}
