//! The spec's flags at run time (blueprint 09 §5.2): one table, one handle.
//!
//! The spec compiler generates a [`FlagTable`] (`obspec_generated::FLAGS`):
//! every flag's name, type, default, bounds, environment variable and help.
//! [`Flags`] holds the value in force of each, in atomics, so the log plane,
//! the HTTP layers and chaos light read them without locking; they all share
//! one `Arc<Flags>`.
//!
//! Values come from, in order of precedence: a value set at run time
//! ([`Flags::set`], `/_reload?stage=`), the flag's environment variable (named
//! in the table, e.g. `OBSPEC_SAMPLING_SPIKE`), the flags file, the default.
//! The file holds any of the table's flags, one `name = value` per line (`#`
//! starts a comment):
//!
//! ```text
//! sampling.spike = on
//! chaos.ratio = 2%
//! sampling.overrides = {"/v1/rooms/:room_id": 0.05}
//! ```
//!
//! [`Flags::reload`] (called by `/_reload` and by the poller of
//! [`Flags::spawn_poller`]) re-reads every source and applies all of it or
//! nothing: an unknown name, or a value of the wrong type or outside its
//! bounds, keeps every previous value and is reported as
//! `file:line: flag X: value Y is outside [min, max]`.
//!
//! The runtime never names a flag: it asks for a [`FlagRole`] (the spec says
//! which flag plays it); a flag without a role is the application's, read by
//! name with [`Flags::get`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use tracing::level_filters::LevelFilter;

/// What the runtime does with a flag (the spec's `role:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagRole {
    /// Success sampling rate of the log plane (ratio).
    SamplingSuccess,
    /// Spike mode of the log plane (bool).
    SamplingSpike,
    /// Per-route / per-tool success sampling rates (rate map).
    SamplingOverrides,
    /// Lowest level of events written (enum of tracing level names).
    LogLevel,
    /// Chaos light on or off (bool).
    ChaosLight,
    /// Fraction of requests chaos light delays (ratio).
    ChaosRatio,
    /// Shortest chaos delay (millis).
    ChaosDelayMin,
    /// Longest chaos delay (millis).
    ChaosDelayMax,
    /// Blue/green stage served, switched by `/_reload?stage=` (enum).
    Stage,
}

/// A flag's type, default and bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FlagKind {
    /// On or off.
    Bool {
        /// Default.
        default: bool,
    },
    /// A fraction in `min..=max`.
    Ratio {
        /// Default.
        default: f64,
        /// Lowest allowed.
        min: f64,
        /// Highest allowed.
        max: f64,
    },
    /// One of `values`.
    Enum {
        /// Allowed values.
        values: &'static [&'static str],
        /// Index of the default in `values`.
        default: usize,
    },
    /// Whole milliseconds in `min..=max`.
    Millis {
        /// Default.
        default: u64,
        /// Lowest allowed.
        min: u64,
        /// Highest allowed.
        max: u64,
    },
    /// Names (route templates or tool names) to rates in `0..=max`.
    RateMap {
        /// Highest rate allowed.
        max: f64,
        /// Default entries.
        default: &'static [(&'static str, f64)],
    },
}

/// One flag of the spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagDef {
    /// Dotted name, the key in the flags file (`sampling.spike`).
    pub name: &'static str,
    /// Environment variable (`OBSPEC_SAMPLING_SPIKE`).
    pub env: &'static str,
    /// What it does.
    pub help: &'static str,
    /// Type, default and bounds.
    pub kind: FlagKind,
    /// What the runtime does with it, if anything.
    pub role: Option<FlagRole>,
}

/// Every flag of the spec, generated as `obspec_generated::FLAGS`.
#[derive(Debug)]
pub struct FlagTable {
    /// Prefix of every environment variable, derived from the project's name.
    pub env_prefix: &'static str,
    /// The flags, in spec order.
    pub flags: &'static [FlagDef],
}

impl FlagTable {
    /// The index of the flag called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.flags.iter().position(|f| f.name == name)
    }

    /// The index of the flag playing `role`.
    pub fn index_of_role(&self, role: FlagRole) -> Option<usize> {
        self.flags.iter().position(|f| f.role == Some(role))
    }

    /// The flag playing `role`.
    pub fn by_role(&self, role: FlagRole) -> Option<&'static FlagDef> {
        let flags: &'static [FlagDef] = self.flags;
        flags.iter().find(|f| f.role == Some(role))
    }

    /// The flag name closest to `name` (for "did you mean").
    pub fn closest(&self, name: &str) -> Option<&'static str> {
        self.flags.iter().map(|f| (edit_distance(name, f.name), f.name)).min().map(|(_, n)| n)
    }
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Rates of a rate-map flag, in the order given.
pub type RateMap = Vec<(Box<str>, f64)>;

/// A flag's value in force.
#[derive(Debug, Clone, PartialEq)]
pub enum FlagValue {
    /// A bool flag.
    Bool(bool),
    /// A ratio flag.
    Ratio(f64),
    /// An enum flag.
    Enum(&'static str),
    /// A millis flag.
    Millis(u64),
    /// A rate-map flag.
    RateMap(Arc<RateMap>),
}

/// Why flags were not (re)loaded: every problem, one per line, each naming
/// its source (`path:line` or the environment variable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagError(pub Vec<String>);

impl std::fmt::Display for FlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for FlagError {}

/// Where flags are read from.
#[derive(Debug, Clone, Default)]
pub struct FlagSource {
    env: bool,
    file: Option<PathBuf>,
}

impl FlagSource {
    /// No source: the defaults (and values set at run time) only.
    pub fn none() -> Self {
        Self::default()
    }

    /// The environment variables the table names.
    pub fn env() -> Self {
        Self { env: true, file: None }
    }

    /// Also the flags file at `path` (a missing file sets nothing).
    pub fn with_file(mut self, path: impl AsRef<Path>) -> Self {
        self.file = Some(path.as_ref().to_owned());
        self
    }
}

/// A parsed value, before it is stored.
#[derive(Debug, Clone)]
enum Parsed {
    Scalar(u64),
    Map(Arc<RateMap>),
}

/// The flags in force; share one `Arc<Flags>` between the log plane, the
/// layers and the ops endpoints.
pub struct Flags {
    table: &'static FlagTable,
    scalars: Box<[AtomicU64]>,
    maps: Box<[ArcSwap<RateMap>]>,
    pinned: Box<[AtomicBool]>,
    /// The `log_level` flag as a [`LevelFilter`] code (see [`level_code`]).
    level: AtomicU8,
    generation: AtomicU64,
    source: Mutex<FlagSource>,
    last_error: Mutex<Option<FlagError>>,
}

impl std::fmt::Debug for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (i, d) in self.table.flags.iter().enumerate() {
            m.entry(&d.name, &self.value_at(i));
        }
        m.finish()
    }
}

fn level_code(l: LevelFilter) -> u8 {
    match l {
        LevelFilter::OFF => 0,
        LevelFilter::ERROR => 1,
        LevelFilter::WARN => 2,
        LevelFilter::INFO => 3,
        LevelFilter::DEBUG => 4,
        _ => 5,
    }
}

fn code_level(c: u8) -> LevelFilter {
    match c {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

fn default_of(kind: &FlagKind) -> Parsed {
    match *kind {
        FlagKind::Bool { default } => Parsed::Scalar(u64::from(default)),
        FlagKind::Ratio { default, .. } => Parsed::Scalar(default.to_bits()),
        FlagKind::Enum { default, .. } => Parsed::Scalar(default as u64),
        FlagKind::Millis { default, .. } => Parsed::Scalar(default),
        FlagKind::RateMap { default, .. } => {
            Parsed::Map(Arc::new(default.iter().map(|(k, v)| (Box::<str>::from(*k), *v)).collect()))
        }
    }
}

/// `[min, max]` as written in messages.
fn bounds(min: impl std::fmt::Display, max: impl std::fmt::Display) -> String {
    format!("[{min}, {max}]")
}

fn parse_ratio(s: &str) -> Option<f64> {
    let (num, pct) = match s.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (s, false),
    };
    let v: f64 = num.parse().ok()?;
    let v = if pct { v / 100.0 } else { v };
    v.is_finite().then_some(v)
}

/// Parses `text` as a value of `def`; the message names the flag and the value.
fn parse_value(def: &FlagDef, text: &str) -> Result<Parsed, String> {
    let text = text.trim();
    let name = def.name;
    match def.kind {
        FlagKind::Bool { .. } => match text.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => Ok(Parsed::Scalar(1)),
            "false" | "off" | "0" | "no" => Ok(Parsed::Scalar(0)),
            _ => Err(format!("flag {name}: value {text} is not true or false")),
        },
        FlagKind::Ratio { min, max, .. } => match parse_ratio(text) {
            Some(v) if (min..=max).contains(&v) => Ok(Parsed::Scalar(v.to_bits())),
            Some(_) => Err(format!("flag {name}: value {text} is outside {}", bounds(min, max))),
            None => Err(format!("flag {name}: value {text} is not a ratio")),
        },
        FlagKind::Millis { min, max, .. } => {
            let num = text.strip_suffix("ms").map_or(text, str::trim);
            match num.parse::<u64>() {
                Ok(v) if (min..=max).contains(&v) => Ok(Parsed::Scalar(v)),
                Ok(_) => Err(format!("flag {name}: value {text} is outside {}", bounds(min, max))),
                Err(_) => Err(format!("flag {name}: value {text} is not a whole number of milliseconds")),
            }
        }
        FlagKind::Enum { values, .. } => match values.iter().position(|v| *v == text) {
            Some(i) => Ok(Parsed::Scalar(i as u64)),
            None => Err(format!("flag {name}: value {text} is not one of {}", values.join(", "))),
        },
        FlagKind::RateMap { max, .. } => {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|_| format!("flag {name}: value {text} is not a JSON object of rates"))?;
            let Some(obj) = v.as_object() else {
                return Err(format!("flag {name}: value {text} is not a JSON object of rates"));
            };
            let mut map = RateMap::with_capacity(obj.len());
            for (k, r) in obj {
                match r.as_f64() {
                    Some(r) if (0.0..=max).contains(&r) && !k.is_empty() => map.push((k.as_str().into(), r)),
                    _ => return Err(format!("flag {name}: value {k}={r} is outside {}", bounds(0, max))),
                }
            }
            Ok(Parsed::Map(Arc::new(map)))
        }
    }
}

impl Flags {
    /// Every flag at its default.
    pub fn defaults(table: &'static FlagTable) -> Self {
        let n = table.flags.len();
        let f = Self {
            table,
            scalars: (0..n).map(|_| AtomicU64::new(0)).collect(),
            maps: (0..n).map(|_| ArcSwap::from_pointee(RateMap::new())).collect(),
            pinned: (0..n).map(|_| AtomicBool::new(false)).collect(),
            level: AtomicU8::new(level_code(LevelFilter::TRACE)),
            generation: AtomicU64::new(0),
            source: Mutex::new(FlagSource::none()),
            last_error: Mutex::new(None),
        };
        for (i, d) in table.flags.iter().enumerate() {
            f.store(i, default_of(&d.kind));
        }
        f
    }

    /// The defaults overridden by `source`, which [`Flags::reload`] re-reads.
    pub fn load(table: &'static FlagTable, source: FlagSource) -> Result<Self, FlagError> {
        let f = Self::defaults(table);
        *f.source.lock().unwrap_or_else(PoisonError::into_inner) = source;
        f.reload()?;
        Ok(f)
    }

    /// The table these flags follow.
    pub fn table(&self) -> &'static FlagTable {
        self.table
    }

    /// Bumped on every change; readers that derive state from the flags
    /// (the log plane's sampler) rebuild it when it moves.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The problem of the last failed reload, until one succeeds.
    pub fn last_error(&self) -> Option<FlagError> {
        self.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn store(&self, i: usize, v: Parsed) {
        match v {
            Parsed::Scalar(x) => {
                if let Some(a) = self.scalars.get(i) {
                    a.store(x, Ordering::Release);
                }
            }
            Parsed::Map(m) => {
                if let Some(a) = self.maps.get(i) {
                    a.store(m);
                }
            }
        }
        if let Some(d) = self.table.flags.get(i)
            && d.role == Some(FlagRole::LogLevel)
            && let FlagKind::Enum { values, .. } = d.kind
        {
            let idx = self.scalars.get(i).map_or(0, |a| a.load(Ordering::Acquire));
            let name = usize::try_from(idx).ok().and_then(|k| values.get(k)).copied().unwrap_or("");
            let level = name.parse::<LevelFilter>().unwrap_or(LevelFilter::TRACE);
            self.level.store(level_code(level), Ordering::Release);
        }
    }

    /// Reads the sources into one staged value per flag, or every problem.
    fn read_sources(&self) -> Result<Vec<Option<Parsed>>, FlagError> {
        let src = self.source.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let n = self.table.flags.len();
        let mut from_file: Vec<Option<Parsed>> = vec![None; n];
        let mut from_env: Vec<Option<Parsed>> = vec![None; n];
        let mut errs = Vec::new();
        if let Some(path) = &src.file {
            match std::fs::read_to_string(path) {
                Ok(text) => self.parse_file(path, &text, &mut from_file, &mut errs),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => errs.push(format!("{}: {e}", path.display())),
            }
        }
        if src.env {
            for (i, d) in self.table.flags.iter().enumerate() {
                if let Ok(v) = std::env::var(d.env) {
                    match parse_value(d, &v) {
                        Ok(p) => from_env[i] = Some(p),
                        Err(e) => errs.push(format!("{}: {e}", d.env)),
                    }
                }
            }
        }
        if !errs.is_empty() {
            return Err(FlagError(errs));
        }
        Ok(from_env.into_iter().zip(from_file).map(|(e, f)| e.or(f)).collect())
    }

    fn parse_file(&self, path: &Path, text: &str, out: &mut [Option<Parsed>], errs: &mut Vec<String>) {
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), n + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                errs.push(format!("{at}: expected `name = value`"));
                continue;
            };
            let k = k.trim();
            let Some(i) = self.table.index(k) else {
                let hint = self.table.closest(k).map(|c| format!("; did you mean `{c}`?")).unwrap_or_default();
                errs.push(format!("{at}: unknown flag `{k}`{hint}"));
                continue;
            };
            let Some(def) = self.table.flags.get(i) else { continue };
            match parse_value(def, v) {
                Ok(p) => {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(p);
                    }
                }
                Err(e) => errs.push(format!("{at}: {e}")),
            }
        }
    }

    /// Re-reads every source and applies it, all or nothing: on any problem
    /// every flag keeps its value and the problems are returned (and kept
    /// for [`Flags::last_error`]). Values set at run time stay in force.
    pub fn reload(&self) -> Result<(), FlagError> {
        let staged = match self.read_sources() {
            Ok(s) => s,
            Err(e) => {
                *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.clone());
                return Err(e);
            }
        };
        let mut changed = false;
        for (i, (d, v)) in self.table.flags.iter().zip(staged).enumerate() {
            if self.pinned.get(i).is_some_and(|p| p.load(Ordering::Acquire)) {
                continue;
            }
            let v = v.unwrap_or_else(|| default_of(&d.kind));
            changed |= self.differs(i, &v);
            self.store(i, v);
        }
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = None;
        if changed {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    fn differs(&self, i: usize, v: &Parsed) -> bool {
        match v {
            Parsed::Scalar(x) => self.scalars.get(i).is_some_and(|a| a.load(Ordering::Acquire) != *x),
            Parsed::Map(m) => self.maps.get(i).is_some_and(|a| **a.load() != **m),
        }
    }

    /// Sets flag `name` from its text form, in force until the process ends
    /// (reloads keep it). Errors name the flag and the value.
    pub fn set(&self, name: &str, text: &str) -> Result<(), FlagError> {
        let Some(i) = self.table.index(name) else {
            let hint = self.table.closest(name).map(|c| format!("; did you mean `{c}`?")).unwrap_or_default();
            return Err(FlagError(vec![format!("unknown flag `{name}`{hint}")]));
        };
        let def = &self.table.flags[i];
        let v = parse_value(def, text).map_err(|e| FlagError(vec![e]))?;
        if let Some(p) = self.pinned.get(i) {
            p.store(true, Ordering::Release);
        }
        self.store(i, v);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Sets the flag playing `role` (see [`Flags::set`]); an error when no flag plays it.
    pub fn set_role(&self, role: FlagRole, text: &str) -> Result<(), FlagError> {
        match self.table.by_role(role) {
            Some(d) => self.set(d.name, text),
            None => Err(FlagError(vec![format!("no flag plays the role {role:?}")])),
        }
    }

    fn value_at(&self, i: usize) -> Option<FlagValue> {
        let d = self.table.flags.get(i)?;
        let x = self.scalars.get(i)?.load(Ordering::Acquire);
        Some(match d.kind {
            FlagKind::Bool { .. } => FlagValue::Bool(x != 0),
            FlagKind::Ratio { .. } => FlagValue::Ratio(f64::from_bits(x)),
            FlagKind::Enum { values, .. } => FlagValue::Enum(usize::try_from(x).ok().and_then(|k| values.get(k))?),
            FlagKind::Millis { .. } => FlagValue::Millis(x),
            FlagKind::RateMap { .. } => FlagValue::RateMap(self.maps.get(i)?.load_full()),
        })
    }

    /// The value in force of flag `name`.
    pub fn get(&self, name: &str) -> Option<FlagValue> {
        self.value_at(self.table.index(name)?)
    }

    /// The value in force of the flag playing `role`.
    pub fn get_role(&self, role: FlagRole) -> Option<FlagValue> {
        self.value_at(self.table.index_of_role(role)?)
    }

    fn scalar_role(&self, role: FlagRole) -> Option<u64> {
        let i = self.table.index_of_role(role)?;
        Some(self.scalars.get(i)?.load(Ordering::Acquire))
    }

    /// A bool flag playing `role` (false when no flag plays it).
    pub fn bool_role(&self, role: FlagRole) -> bool {
        self.scalar_role(role).is_some_and(|x| x != 0)
    }

    /// A ratio flag playing `role`.
    pub fn ratio_role(&self, role: FlagRole) -> Option<f64> {
        self.scalar_role(role).map(f64::from_bits)
    }

    /// A millis flag playing `role`.
    pub fn millis_role(&self, role: FlagRole) -> Option<u64> {
        self.scalar_role(role)
    }

    /// The rates of the rate-map flag playing `role`.
    pub fn rate_map_role(&self, role: FlagRole) -> Option<Arc<RateMap>> {
        let i = self.table.index_of_role(role)?;
        Some(self.maps.get(i)?.load_full())
    }

    /// Whether chaos light is on.
    pub fn chaos_light(&self) -> bool {
        self.bool_role(FlagRole::ChaosLight)
    }

    /// The chaos ratio in parts per million (0 when no flag plays it).
    pub fn chaos_ratio_ppm(&self) -> u32 {
        self.ratio_role(FlagRole::ChaosRatio).map_or(0, |r| (r.clamp(0.0, 1.0) * 1e6).round() as u32)
    }

    /// The chaos delay range in milliseconds, ordered.
    pub fn chaos_delay_ms(&self) -> (u64, u64) {
        let lo = self.millis_role(FlagRole::ChaosDelayMin).unwrap_or(0);
        let hi = self.millis_role(FlagRole::ChaosDelayMax).unwrap_or(lo);
        (lo.min(hi), hi.max(lo))
    }

    /// The stages the stage flag allows (empty when no flag plays the role).
    pub fn stages(&self) -> &'static [&'static str] {
        match self.table.by_role(FlagRole::Stage).map(|d| d.kind) {
            Some(FlagKind::Enum { values, .. }) => values,
            _ => &[],
        }
    }

    /// The stage served.
    pub fn stage(&self) -> Option<&'static str> {
        let x = self.scalar_role(FlagRole::Stage)?;
        self.stages().get(usize::try_from(x).ok()?).copied()
    }

    /// Switches the served stage (kept across reloads); returns the previous
    /// one, or `None` when `stage` is not a stage.
    pub fn set_stage(&self, stage: &str) -> Option<&'static str> {
        let prev = self.stage()?;
        let name = self.table.by_role(FlagRole::Stage)?.name;
        self.set(name, stage).ok()?;
        Some(prev)
    }

    /// The most verbose level written (TRACE when no flag plays `log_level`).
    pub fn log_level(&self) -> LevelFilter {
        code_level(self.level.load(Ordering::Relaxed))
    }

    /// Re-reads the sources every `interval` on a background thread until the
    /// returned handle (or the last `Arc`) is dropped. A failed reload keeps
    /// the previous values; see [`Flags::last_error`].
    pub fn spawn_poller(self: &Arc<Self>, interval: Duration) -> std::io::Result<FlagPoller> {
        let weak: Weak<Flags> = Arc::downgrade(self);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let handle = std::thread::Builder::new().name("obspec-flags".to_owned()).spawn(move || {
            while !stop2.load(Ordering::Acquire) {
                std::thread::park_timeout(interval);
                if stop2.load(Ordering::Acquire) {
                    break;
                }
                match weak.upgrade() {
                    Some(flags) => drop(flags.reload()),
                    None => break,
                }
            }
        })?;
        Ok(FlagPoller { stop, handle: Some(handle) })
    }
}

/// Stops the flag poller thread when dropped.
#[derive(Debug)]
pub struct FlagPoller {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for FlagPoller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}
