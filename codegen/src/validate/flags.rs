//! Checks of the `flags` section: names and defaults of the right type within bounds.

use super::Cx;
use crate::model::*;
use crate::names;

pub(super) fn check(cx: &mut Cx<'_>) {
    let spec = cx.spec;
    cx.unique("flag", spec.flags.iter().map(|f| (f.name.as_str(), f.loc.key("name"))));
    for (f, loc) in spec.flags.iter().map(|x| (x, &x.loc)) {
        if !names::is_flag_name(&f.name) {
            cx.err(
                &loc.key("name"),
                format!("flag name `{}` is not dotted snake case", f.name),
                "write e.g. `sampling.spike`",
            );
        }
        let dloc = loc.key("default");
        match f.ty {
            FlagType::Bool if !f.default.is_boolean() => {
                cx.err(&dloc, "a bool flag's default must be true or false", "write `default: false`")
            }
            FlagType::Ratio => match f.default.as_f64() {
                Some(d) if f.min.unwrap_or(0.0) <= d && d <= f.max.unwrap_or(1.0) => {}
                _ => cx.err(
                    &dloc,
                    "a ratio flag's default must be a number within min..=max",
                    "write e.g. `default: 0.01`",
                ),
            },
            FlagType::Enum if !f.default.as_str().is_some_and(|d| f.values.iter().any(|v| v == d)) => {
                cx.err(
                    &dloc,
                    "an enum flag's default must be one of its values",
                    format!("use one of: {}", f.values.join(", ")),
                );
            }
            FlagType::Millis => match f.default.as_u64() {
                Some(d) if f.min.unwrap_or(0.0) <= d as f64 && d as f64 <= f.max.unwrap_or(f64::MAX) => {}
                _ => cx.err(
                    &dloc,
                    "a millis flag's default must be a whole number within min..=max",
                    "write e.g. `default: 120`",
                ),
            },
            FlagType::RateMap => {
                let max = f.max.unwrap_or(1.0);
                let ok = f
                    .default
                    .as_object()
                    .is_some_and(|m| m.values().all(|v| v.as_f64().is_some_and(|r| (0.0..=max).contains(&r))));
                if !ok {
                    cx.err(
                        &dloc,
                        "a rate_map flag's default must map names to rates within 0..=max",
                        "write e.g. `default: {}`",
                    );
                }
            }
            _ => {}
        }
    }
}
