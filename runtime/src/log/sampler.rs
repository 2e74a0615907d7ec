//! The keep/drop decision, taken on validated slots before any formatting.
//!
//! Errors (outcome `false` or an error token present) use the error rate (100%
//! by spec); successes use the first matching override, else the success rate,
//! raised to the spike rate while spike mode is on. The coin is a hash of the
//! trace-id when the line has one, so every line of a trace shares one decision;
//! otherwise a thread-local PRNG. Rates live behind an [`ArcSwap`] so flags can
//! change at run time while the hot path pays one atomic load.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;

use crate::flags::{FlagRole, Flags};
use crate::log::record::{Compiled, Record, Val};
use crate::log::schema::{LogFieldType, LogRole};
use crate::log::validate;

/// `rate` maps to a threshold on the top 53 bits of the coin; `ONE` keeps all.
const ONE: u64 = 1 << 53;

fn threshold(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * ONE as f64).round() as u64
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Index(u16),
    Bytes(Box<[u8]>),
}

#[derive(Debug, Clone)]
struct Override {
    slot: u8,
    key: Key,
    t: u64,
}

/// Compiled rates.
#[derive(Debug, Clone)]
pub(crate) struct Rates {
    success: u64,
    error: u64,
    spike_on: bool,
    spike: u64,
    overrides: Vec<Override>,
}

/// The effective rates, as probabilities, for inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveRates {
    /// Success rate outside spike mode.
    pub success: f64,
    /// Error rate.
    pub error: f64,
    /// Spike mode on.
    pub spike_on: bool,
    /// Success floor while spike mode is on.
    pub spike: f64,
    /// `(field, value, rate)` overrides in match order.
    pub overrides: Vec<(String, String, f64)>,
}

impl Rates {
    /// Builds rates from the spec defaults and the flags in force (the flags
    /// playing `sampling_success`, `sampling_spike` and `sampling_overrides`);
    /// flag rates are capped at `max_override`. A rate-map key is a route
    /// template of the schema, else a tool name (the field with role `tool`);
    /// keys that match neither are reported.
    pub fn compile(c: &Compiled, flags: Option<&Flags>) -> (Self, Vec<String>) {
        let d = &c.schema.sampling;
        let cap = |r: f64| r.min(d.max_override);
        let mut warnings = Vec::new();
        let mut overrides = Vec::new();
        let route_slot = c.schema.role(LogRole::Route).or_else(|| c.schema.role_slot(LogFieldType::Route)).map(|s| s.0);
        let tool_slot = c.schema.role(LogRole::Tool).map(|s| s.0);
        let map = flags.and_then(|f| f.rate_map_role(FlagRole::SamplingOverrides));
        let flag_ovs = map.iter().flat_map(|m| m.iter()).map(|(k, r)| {
            let slot = if validate::index_of(c.schema.routes, k).is_some() { route_slot } else { tool_slot };
            (slot, &**k, cap(*r))
        });
        let spec_ovs = d.overrides.iter().map(|o| (c.schema.slot(o.field).map(|s| s.0), o.value, cap(o.rate)));
        for (slot, value, rate) in flag_ovs.chain(spec_ovs) {
            let key = match slot.map(|s| c.types[s as usize]) {
                Some(LogFieldType::Route) => validate::index_of(c.schema.routes, value).map(Key::Index),
                Some(LogFieldType::Name) if validate::is_name(value) => Some(Key::Bytes(value.as_bytes().into())),
                _ => None,
            };
            match (slot, key) {
                (Some(slot), Some(key)) => overrides.push(Override { slot, key, t: threshold(rate) }),
                _ => warnings.push(format!("sampling override {value}: no such route or tool")),
            }
        }
        let success = flags.and_then(|f| f.ratio_role(FlagRole::SamplingSuccess)).map_or(d.success, cap);
        let rates = Self {
            success: threshold(success),
            error: threshold(d.error),
            spike_on: flags.is_some_and(|f| f.bool_role(FlagRole::SamplingSpike)),
            spike: threshold(d.spike),
            overrides,
        };
        (rates, warnings)
    }

    fn effective(&self, c: &Compiled) -> EffectiveRates {
        let p = |t: u64| t as f64 / ONE as f64;
        EffectiveRates {
            success: p(self.success),
            error: p(self.error),
            spike_on: self.spike_on,
            spike: p(self.spike),
            overrides: self
                .overrides
                .iter()
                .map(|o| {
                    let field = c.schema.fields.get(o.slot as usize).map_or("", |f| f.name);
                    let value = match &o.key {
                        Key::Index(i) => c.schema.routes.get(*i as usize).copied().unwrap_or("").to_owned(),
                        Key::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                    };
                    (field.to_owned(), value, p(o.t))
                })
                .collect(),
        }
    }
}

/// The sampler of one plane. The scalar thresholds are mirrored in atomics so
/// the common case (no overrides) reads no shared pointer at all.
#[derive(Debug)]
pub(crate) struct Sampler {
    rates: ArcSwap<Rates>,
    success: AtomicU64,
    error: AtomicU64,
    /// The spike floor, 0 while spike mode is off.
    spike: AtomicU64,
    has_overrides: AtomicBool,
}

impl Sampler {
    pub fn new(rates: Rates) -> Self {
        let s = Self {
            rates: ArcSwap::from_pointee(rates.clone()),
            success: AtomicU64::new(0),
            error: AtomicU64::new(0),
            spike: AtomicU64::new(0),
            has_overrides: AtomicBool::new(false),
        };
        s.mirror(&rates);
        s
    }

    fn mirror(&self, r: &Rates) {
        self.success.store(r.success, Ordering::Relaxed);
        self.error.store(r.error, Ordering::Relaxed);
        self.spike.store(if r.spike_on { r.spike } else { 0 }, Ordering::Relaxed);
        self.has_overrides.store(!r.overrides.is_empty(), Ordering::Release);
    }

    pub fn set(&self, rates: Rates) {
        self.mirror(&rates);
        self.rates.store(std::sync::Arc::new(rates));
    }

    pub fn effective(&self, c: &Compiled) -> EffectiveRates {
        self.rates.load().effective(c)
    }

    /// Keep this line?
    #[inline]
    pub fn keep(&self, c: &Compiled, rec: &Record) -> bool {
        let t = if rec.is_error(c) {
            self.error.load(Ordering::Relaxed)
        } else {
            let mut t = self.success.load(Ordering::Relaxed);
            if self.has_overrides.load(Ordering::Acquire) {
                let r = self.rates.load();
                for o in &r.overrides {
                    let v = rec.vals[o.slot as usize];
                    let hit = match (&o.key, v) {
                        (Key::Index(i), Val::Index(j)) => *i == j,
                        (Key::Bytes(b), Val::Scratch(..)) => **b == *rec.bytes(v),
                        _ => false,
                    };
                    if hit {
                        t = o.t;
                        break;
                    }
                }
            }
            t.max(self.spike.load(Ordering::Relaxed))
        };
        Self::flip(t, rec.trace_id(c))
    }

    /// The decision from the outcome and the trace-id alone, before any value
    /// is validated; `None` when sampling overrides are in force (they match
    /// on a validated route or tool, so only [`Sampler::keep`] can decide).
    #[inline]
    pub fn keep_early(&self, is_error: bool, trace: Option<u128>) -> Option<bool> {
        let t = if is_error {
            self.error.load(Ordering::Relaxed)
        } else {
            if self.has_overrides.load(Ordering::Acquire) {
                return None;
            }
            self.success.load(Ordering::Relaxed).max(self.spike.load(Ordering::Relaxed))
        };
        Some(Self::flip(t, trace))
    }

    /// Keeps with threshold `t`: the trace's coin, else a per-thread one.
    #[inline]
    fn flip(t: u64, trace: Option<u128>) -> bool {
        if t >= ONE {
            return true;
        }
        if t == 0 {
            return false;
        }
        let coin = match trace {
            Some(trace) => trace_coin(trace),
            None => rng(),
        };
        (coin >> 11) < t
    }
}

/// The coin of a trace: a mix of all 128 bits, so a trace's lines share it.
#[inline]
pub fn trace_coin(trace: u128) -> u64 {
    splitmix((trace as u64) ^ splitmix((trace >> 64) as u64))
}

#[inline]
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A per-thread splitmix64 stream, seeded from the thread's stack address and
/// the clock on first use.
#[inline]
fn rng() -> u64 {
    RNG.with(|s| {
        let mut x = s.get();
        if x == 0 {
            let local = 0u8;
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
            x = splitmix(now ^ (&local as *const u8 as u64)) | 1;
        }
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        s.set(x);
        splitmix(x)
    })
}
