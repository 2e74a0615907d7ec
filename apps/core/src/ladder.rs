//! The degradation ladder of list endpoints (blueprint 09 §4: "truncate refs
//! 100 → 40 → 10", declared in the spec as `ladders: list_refs`): the more of
//! the concurrency limit is in use (this request included), the fewer items a
//! list returns. The response says so (`degraded: {level, limit}`), so a
//! client can retry silently and show the degradation, and every degraded
//! answer increments `core_degraded_responses_total{step}`.

use std::sync::Arc;

use obspec::http::Limits;
use obspec_generated::ladders::{self, LadderStep};
use obspec_generated::metrics::{self, Step as StepLabel};
use serde_json::{Value, json};

/// One rung: lists return at most `limit` items once the in-flight share of
/// the concurrency limit reaches `min_load`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rung {
    /// Items returned at most.
    pub limit: usize,
    /// In-flight requests over the concurrency limit, 0..=1, from which it applies.
    pub min_load: f64,
    /// Its value of the counter's `step` label (None: the normal rung).
    pub label: Option<StepLabel>,
}

impl From<&LadderStep> for Rung {
    fn from(s: &LadderStep) -> Self {
        Self { limit: usize::try_from(s.limit).unwrap_or(usize::MAX), min_load: s.from_load, label: s.label }
    }
}

/// The ladder (rungs in order of increasing load).
#[derive(Debug, Clone)]
pub struct Ladder {
    rungs: Arc<[Rung]>,
    max_concurrency: usize,
}

/// The rung chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Index of the rung (0: not degraded).
    pub level: usize,
    /// Items returned at most.
    pub limit: usize,
    /// The rung's `step` label (None: not degraded).
    pub label: Option<StepLabel>,
}

impl Ladder {
    /// A ladder over `rungs` (the first is the normal limit) for a service
    /// admitting `max_concurrency` requests at once.
    pub fn new(rungs: impl Into<Arc<[Rung]>>, max_concurrency: usize) -> Self {
        Self { rungs: rungs.into(), max_concurrency: max_concurrency.max(1) }
    }

    /// The rung for the load of `limits` now.
    pub fn step(&self, limits: &Limits) -> Step {
        let load = limits.in_flight() as f64 / self.max_concurrency as f64;
        self.step_at(load)
    }

    /// The rung for `load`.
    pub fn step_at(&self, load: f64) -> Step {
        let mut out = Step { level: 0, limit: self.rungs.first().map_or(usize::MAX, |r| r.limit), label: None };
        for (level, r) in self.rungs.iter().enumerate() {
            if load >= r.min_load {
                out = Step { level, limit: r.limit, label: r.label };
            }
        }
        out
    }
}

impl Step {
    /// The page size for a request asking for `requested` items.
    pub fn clamp(&self, requested: Option<usize>) -> usize {
        requested.unwrap_or(self.limit).clamp(1, self.limit)
    }

    /// The list answer: `{<key>: first limit rows, truncated, degraded}` where
    /// `rows` holds up to `limit + 1` rows (one more tells truncation). A
    /// degraded answer is counted in `core_degraded_responses_total{step}`.
    pub fn page(&self, key: &str, mut rows: Vec<Value>, limit: usize) -> Value {
        if let Some(step) = self.label {
            metrics::core_degraded_responses_total(step).increment(1);
        }
        let truncated = rows.len() > limit;
        rows.truncate(limit);
        let degraded = if self.level == 0 { Value::Null } else { json!({"level": self.level, "limit": self.limit}) };
        let mut m = serde_json::Map::new();
        m.insert(key.to_owned(), Value::Array(rows));
        m.insert("truncated".to_owned(), truncated.into());
        m.insert("degraded".to_owned(), degraded);
        m.into()
    }
}

/// The spec's ladder (`ladders: list_refs`): 100 items, 40 from half the
/// concurrency limit, 10 from 90 %.
pub fn default_rungs() -> Vec<Rung> {
    ladders::LIST_REFS.steps.iter().map(Rung::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_ladder_degrades_at_its_loads() {
        let l = Ladder::new(default_rungs(), 10);
        let steps = ladders::LIST_REFS.steps;
        assert!(steps.len() >= 2);
        for (i, s) in steps.iter().enumerate() {
            let at = l.step_at(s.from_load);
            assert_eq!((at.level, at.limit, at.label), (i, s.limit as usize, s.label), "{}", s.name);
        }
        assert_eq!(l.step_at(0.0).label, None, "the normal rung is not counted");
        assert!(steps.windows(2).all(|w| w[1].limit < w[0].limit), "each rung returns fewer items");
    }
}
