//! Run-time sampling flags (blueprint §5.2 "feature-flags via KV/env") read from
//! environment variables and/or a small `key = value` file.
//!
//! Keys (file form; the environment form is `PREFIX` + the key upper-cased,
//! default prefix `OBSPEC_LOG_`):
//!
//! ```text
//! # Spike mode: raise the success rate to the spike rate.
//! spike = on
//! # Success rate outside spike mode.
//! success = 0.02
//! spike_rate = 0.1
//! # Per-field overrides: <field> <value> <rate>; repeat the key or separate with ';'.
//! override = route /v1/rooms/:id 0.5
//! override = tool search 0.2; tool embed 0.0
//! ```
//!
//! Environment values win over the file for scalar keys; environment overrides
//! come before file overrides (the first matching override wins).

use std::path::{Path, PathBuf};

/// Flags as read from a [`FlagSource`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplingFlags {
    /// Spike mode on: successes are kept at least at the spike rate.
    pub spike: bool,
    /// Success rate replacing the spec's (capped at `max_override`).
    pub success: Option<f64>,
    /// Spike rate replacing the spec's (capped at `max_override`).
    pub spike_rate: Option<f64>,
    /// Per-field success rates, first match wins.
    pub overrides: Vec<FlagOverride>,
}

/// A run-time success rate for lines whose `field` equals `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagOverride {
    /// A Route or Name field, e.g. `route` or `tool`.
    pub field: String,
    /// The exact value.
    pub value: String,
    /// Success rate in `0..=1` (capped at `max_override`).
    pub rate: f64,
}

/// A malformed flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagError(pub String);

impl std::fmt::Display for FlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "log sampling flags: {}", self.0)
    }
}

impl std::error::Error for FlagError {}

/// Where flags come from.
#[derive(Debug, Clone, Default)]
pub struct FlagSource {
    env_prefix: Option<String>,
    file: Option<PathBuf>,
}

impl FlagSource {
    /// No source: the spec's defaults only.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads environment variables `OBSPEC_LOG_SPIKE`, `OBSPEC_LOG_SUCCESS`,
    /// `OBSPEC_LOG_SPIKE_RATE`, `OBSPEC_LOG_OVERRIDE`.
    pub fn env() -> Self {
        Self::default().with_env_prefix("OBSPEC_LOG_")
    }

    /// Reads environment variables with another prefix.
    pub fn with_env_prefix(mut self, prefix: &str) -> Self {
        self.env_prefix = Some(prefix.to_owned());
        self
    }

    /// Also reads `path` (a missing file means no flags from it).
    pub fn with_file(mut self, path: impl AsRef<Path>) -> Self {
        self.file = Some(path.as_ref().to_owned());
        self
    }

    /// Reads every source now.
    pub fn load(&self) -> Result<SamplingFlags, FlagError> {
        let mut file_flags = SamplingFlags::default();
        if let Some(path) = &self.file {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    for (n, line) in text.lines().enumerate() {
                        let line = line.trim();
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        let (k, v) = line
                            .split_once('=')
                            .ok_or_else(|| FlagError(format!("{}:{}: expected key = value", path.display(), n + 1)))?;
                        apply(&mut file_flags, k.trim(), v.trim())
                            .map_err(|e| FlagError(format!("{}:{}: {}", path.display(), n + 1, e.0)))?;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(FlagError(format!("{}: {e}", path.display()))),
            }
        }
        let mut flags = SamplingFlags::default();
        if let Some(prefix) = &self.env_prefix {
            for key in ["spike", "success", "spike_rate", "override"] {
                let var = format!("{prefix}{}", key.to_ascii_uppercase());
                if let Ok(v) = std::env::var(&var) {
                    apply(&mut flags, key, v.trim()).map_err(|e| FlagError(format!("{var}: {}", e.0)))?;
                }
            }
        }
        let env_spike = self.env_prefix.as_ref().is_some_and(|p| std::env::var(format!("{p}SPIKE")).is_ok());
        if !env_spike {
            flags.spike = file_flags.spike;
        }
        flags.success = flags.success.or(file_flags.success);
        flags.spike_rate = flags.spike_rate.or(file_flags.spike_rate);
        flags.overrides.extend(file_flags.overrides);
        Ok(flags)
    }
}

fn apply(flags: &mut SamplingFlags, key: &str, v: &str) -> Result<(), FlagError> {
    match key {
        "spike" => {
            flags.spike = match v.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => true,
                "off" | "false" | "0" | "no" | "" => false,
                _ => return Err(FlagError(format!("spike: {v:?} is not on/off"))),
            }
        }
        "success" => flags.success = Some(rate(v)?),
        "spike_rate" => flags.spike_rate = Some(rate(v)?),
        "override" => {
            for item in v.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                let parts: Vec<&str> = item.split_whitespace().collect();
                let [field, value, r] = parts.as_slice() else {
                    return Err(FlagError(format!("override {item:?}: expected <field> <value> <rate>")));
                };
                flags.overrides.push(FlagOverride {
                    field: (*field).to_owned(),
                    value: (*value).to_owned(),
                    rate: rate(r)?,
                });
            }
        }
        other => return Err(FlagError(format!("unknown key {other:?}"))),
    }
    Ok(())
}

fn rate(v: &str) -> Result<f64, FlagError> {
    let r: f64 = v.trim_end_matches('%').parse().map_err(|_| FlagError(format!("{v:?} is not a rate")))?;
    let r = if v.ends_with('%') { r / 100.0 } else { r };
    if (0.0..=1.0).contains(&r) { Ok(r) } else { Err(FlagError(format!("{v:?} is outside 0..=1"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_env() {
        let dir = std::env::temp_dir().join(format!("obspec-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let path = dir.join("flags.conf");
        std::fs::write(&path, "# c\nspike = on\nsuccess = 2%\noverride = route /v1/rooms/:id 0.5; tool search 0.2\n")
            .ok();
        let src = FlagSource::none().with_env_prefix("OBSPEC_TEST_FLAGS_UNSET_").with_file(&path);
        let f = src.load().ok();
        assert_eq!(
            f,
            Some(SamplingFlags {
                spike: true,
                success: Some(0.02),
                spike_rate: None,
                overrides: vec![
                    FlagOverride { field: "route".into(), value: "/v1/rooms/:id".into(), rate: 0.5 },
                    FlagOverride { field: "tool".into(), value: "search".into(), rate: 0.2 },
                ],
            })
        );
        std::fs::write(&path, "succes = 1\n").ok();
        assert!(src.load().is_err());
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(src.load(), Ok(SamplingFlags::default()));
    }
}
