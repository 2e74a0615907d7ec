//! The safe-ops flags of `spec/flags.yaml` that the HTTP stack acts on
//! (blueprint 09 §5.2): `chaos.light`, `chaos.ratio`, `chaos.delay_min_ms`,
//! `chaos.delay_max_ms`, `deploy.stage` and `log.level`, read from the
//! environment (`OBSPEC_` + the name upper-cased with `.` as `_`, e.g.
//! `OBSPEC_CHAOS_LIGHT`) and/or a `key = value` file. Keys of other flags in
//! the file (sampling, read by the log plane's [`crate::log::FlagSource`]) are
//! ignored. The values live in atomics, so layers read them without locking.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};

/// Served stage (`deploy.stage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The current deployment.
    Current,
    /// The next deployment (blue/green).
    Next,
}

impl Stage {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Current => "current",
            Stage::Next => "next",
        }
    }

    /// Parses a flag value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "current" => Some(Stage::Current),
            "next" => Some(Stage::Next),
            _ => None,
        }
    }
}

/// `log.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Errors only.
    Error = 0,
    /// Warnings and errors.
    Warn = 1,
    /// Default.
    Info = 2,
    /// Everything.
    Debug = 3,
}

impl LogLevel {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    /// Parses a flag value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "error" => Some(LogLevel::Error),
            "warn" => Some(LogLevel::Warn),
            "info" => Some(LogLevel::Info),
            "debug" => Some(LogLevel::Debug),
            _ => None,
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            3 => LogLevel::Debug,
            _ => LogLevel::Info,
        }
    }
}

/// Flag values as read (None: not set, keep the default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpsFlagValues {
    /// `chaos.light`.
    pub chaos_light: Option<bool>,
    /// `chaos.ratio` (0..=0.05).
    pub chaos_ratio: Option<f64>,
    /// `chaos.delay_min_ms` (0..=5000).
    pub chaos_delay_min_ms: Option<u32>,
    /// `chaos.delay_max_ms` (0..=5000).
    pub chaos_delay_max_ms: Option<u32>,
    /// `deploy.stage`.
    pub stage: Option<Stage>,
    /// `log.level`.
    pub log_level: Option<LogLevel>,
}

/// A malformed flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsFlagError(pub String);

impl std::fmt::Display for OpsFlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ops flags: {}", self.0)
    }
}

impl std::error::Error for OpsFlagError {}

const KEYS: [&str; 6] =
    ["chaos.light", "chaos.ratio", "chaos.delay_min_ms", "chaos.delay_max_ms", "deploy.stage", "log.level"];

/// Where ops flags come from.
#[derive(Debug, Clone, Default)]
pub struct OpsFlagSource {
    env_prefix: Option<String>,
    file: Option<PathBuf>,
}

impl OpsFlagSource {
    /// No source: the spec's defaults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Environment variables `OBSPEC_CHAOS_LIGHT`, `OBSPEC_DEPLOY_STAGE`, …
    pub fn env() -> Self {
        Self { env_prefix: Some("OBSPEC_".to_owned()), file: None }
    }

    /// Environment variables with another prefix.
    pub fn with_env_prefix(mut self, prefix: &str) -> Self {
        self.env_prefix = Some(prefix.to_owned());
        self
    }

    /// Also reads `path` (missing: no flags from it); environment values win.
    pub fn with_file(mut self, path: impl AsRef<Path>) -> Self {
        self.file = Some(path.as_ref().to_owned());
        self
    }

    /// Reads every source now.
    pub fn load(&self) -> Result<OpsFlagValues, OpsFlagError> {
        let mut v = OpsFlagValues::default();
        if let Some(path) = &self.file {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    for (n, line) in text.lines().enumerate() {
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        let Some((k, val)) = line.split_once('=') else { continue };
                        if KEYS.contains(&k.trim()) {
                            apply(&mut v, k.trim(), val.trim())
                                .map_err(|e| OpsFlagError(format!("{}:{}: {}", path.display(), n + 1, e.0)))?;
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(OpsFlagError(format!("{}: {e}", path.display()))),
            }
        }
        if let Some(prefix) = &self.env_prefix {
            for key in KEYS {
                let var = format!("{prefix}{}", key.replace('.', "_").to_ascii_uppercase());
                if let Ok(val) = std::env::var(&var) {
                    apply(&mut v, key, val.trim()).map_err(|e| OpsFlagError(format!("{var}: {}", e.0)))?;
                }
            }
        }
        if let (Some(lo), Some(hi)) = (v.chaos_delay_min_ms, v.chaos_delay_max_ms)
            && lo > hi
        {
            return Err(OpsFlagError(format!("chaos.delay_min_ms {lo} > chaos.delay_max_ms {hi}")));
        }
        Ok(v)
    }
}

fn apply(v: &mut OpsFlagValues, key: &str, s: &str) -> Result<(), OpsFlagError> {
    let millis = |s: &str| -> Result<u32, OpsFlagError> {
        s.trim_end_matches("ms")
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|&n| n <= 5000)
            .ok_or_else(|| OpsFlagError(format!("{key}: {s:?} is not a delay in 0..=5000 ms")))
    };
    match key {
        "chaos.light" => {
            v.chaos_light = Some(match s.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => true,
                "off" | "false" | "0" | "no" | "" => false,
                _ => return Err(OpsFlagError(format!("{key}: {s:?} is not on/off"))),
            })
        }
        "chaos.ratio" => {
            let r: f64 =
                s.trim_end_matches('%').parse().map_err(|_| OpsFlagError(format!("{key}: {s:?} is not a ratio")))?;
            let r = if s.ends_with('%') { r / 100.0 } else { r };
            if !(0.0..=0.05).contains(&r) {
                return Err(OpsFlagError(format!("{key}: {s:?} is outside 0..=0.05")));
            }
            v.chaos_ratio = Some(r);
        }
        "chaos.delay_min_ms" => v.chaos_delay_min_ms = Some(millis(s)?),
        "chaos.delay_max_ms" => v.chaos_delay_max_ms = Some(millis(s)?),
        "deploy.stage" => {
            v.stage = Some(Stage::parse(s).ok_or_else(|| OpsFlagError(format!("{key}: {s:?} is not current/next")))?)
        }
        "log.level" => {
            v.log_level = Some(LogLevel::parse(s).ok_or_else(|| OpsFlagError(format!("{key}: {s:?} is not a level")))?)
        }
        _ => {}
    }
    Ok(())
}

/// The flags in force; shared by the chaos layer and the ops endpoints.
#[derive(Debug)]
pub struct OpsFlags {
    chaos_light: AtomicBool,
    chaos_ratio_ppm: AtomicU32,
    chaos_min_ms: AtomicU32,
    chaos_max_ms: AtomicU32,
    stage: AtomicU8,
    log_level: AtomicU8,
}

impl Default for OpsFlags {
    /// The spec's defaults: chaos off, 1%, 120–300 ms, stage `current`, level `info`.
    fn default() -> Self {
        Self {
            chaos_light: AtomicBool::new(false),
            chaos_ratio_ppm: AtomicU32::new(10_000),
            chaos_min_ms: AtomicU32::new(120),
            chaos_max_ms: AtomicU32::new(300),
            stage: AtomicU8::new(0),
            log_level: AtomicU8::new(LogLevel::Info as u8),
        }
    }
}

impl OpsFlags {
    /// Defaults overridden by `v`.
    pub fn from_values(v: &OpsFlagValues) -> Self {
        let f = Self::default();
        f.apply(v, true);
        f
    }

    /// Applies what `v` sets; the stage only when `with_stage` (a reload keeps
    /// the stage `/_reload` chose).
    pub fn apply(&self, v: &OpsFlagValues, with_stage: bool) {
        if let Some(b) = v.chaos_light {
            self.chaos_light.store(b, Ordering::Relaxed);
        }
        if let Some(r) = v.chaos_ratio {
            self.chaos_ratio_ppm.store((r * 1e6).round() as u32, Ordering::Relaxed);
        }
        if let Some(n) = v.chaos_delay_min_ms {
            self.chaos_min_ms.store(n, Ordering::Relaxed);
        }
        if let Some(n) = v.chaos_delay_max_ms {
            self.chaos_max_ms.store(n, Ordering::Relaxed);
        }
        if let (Some(s), true) = (v.stage, with_stage) {
            self.set_stage(s);
        }
        if let Some(l) = v.log_level {
            self.log_level.store(l as u8, Ordering::Relaxed);
        }
    }

    /// Turns chaos light on or off.
    pub fn set_chaos_light(&self, on: bool) {
        self.chaos_light.store(on, Ordering::Relaxed);
    }

    /// Sets the chaos ratio (clamped to the spec's 0..=0.05).
    pub fn set_chaos_ratio(&self, r: f64) {
        self.chaos_ratio_ppm.store((r.clamp(0.0, 0.05) * 1e6).round() as u32, Ordering::Relaxed);
    }

    /// Whether chaos light is on.
    pub fn chaos_light(&self) -> bool {
        self.chaos_light.load(Ordering::Relaxed)
    }

    /// The chaos ratio in parts per million.
    pub fn chaos_ratio_ppm(&self) -> u32 {
        self.chaos_ratio_ppm.load(Ordering::Relaxed)
    }

    /// The chaos delay range in milliseconds.
    pub fn chaos_delay_ms(&self) -> (u32, u32) {
        let lo = self.chaos_min_ms.load(Ordering::Relaxed);
        let hi = self.chaos_max_ms.load(Ordering::Relaxed);
        (lo.min(hi), hi.max(lo))
    }

    /// The served stage.
    pub fn stage(&self) -> Stage {
        if self.stage.load(Ordering::Acquire) == 1 { Stage::Next } else { Stage::Current }
    }

    /// Switches the served stage; returns the previous one.
    pub fn set_stage(&self, s: Stage) -> Stage {
        let prev = self.stage.swap(u8::from(s == Stage::Next), Ordering::AcqRel);
        if prev == 1 { Stage::Next } else { Stage::Current }
    }

    /// `log.level`.
    pub fn log_level(&self) -> LogLevel {
        LogLevel::from_u8(self.log_level.load(Ordering::Relaxed))
    }
}
