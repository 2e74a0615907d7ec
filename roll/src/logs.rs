//! Checksum sidecars for the server-blind log plane: one small JSON document per
//! day at `logs-manifests/yyyy/mm/dd.json` listing each rolled
//! `logs/yyyy/mm/dd/<component>.ndjson` with its size and BLAKE3.
//!
//! Logs are not audit trails: the sidecar is neither signed nor chained. It lets
//! the roll prove each upload by reading it back, and lets `prune` delete only days
//! whose objects still match what was rolled.

use std::collections::BTreeMap;

use obspec_trail::Date;
use obspec_trail::canonical::{self, Object, Value};

use crate::error::{Error, Result};

/// The `type` of a log-day sidecar.
pub const LOG_DAY_TYPE: &str = "obspec-roll/log-day";

/// The `/`-separated path of a day's log sidecar in the store.
pub fn sidecar_path(date: Date) -> String {
    format!("logs-manifests/{}.json", date.path())
}

/// One rolled log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// File size.
    pub bytes: u64,
    /// BLAKE3 of the file.
    pub blake3: [u8; 32],
}

/// A day's log sidecar: every rolled file of the day by path (`logs/yyyy/mm/dd/<component>.ndjson`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDay {
    /// The day.
    pub date: Date,
    /// Files by path.
    pub files: BTreeMap<String, LogFile>,
}

impl LogDay {
    /// An empty sidecar for a day.
    pub fn new(date: Date) -> LogDay {
        LogDay { date, files: BTreeMap::new() }
    }

    /// The stored bytes: canonical JSON (JCS) and a newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut files = Vec::new();
        for (path, f) in &self.files {
            let bytes = i64::try_from(f.bytes).map_err(|_| Error::Config(format!("{path}: too large")))?;
            files.push(Value::Object(
                Object::new()
                    .with("path", path.as_str())
                    .with("bytes", bytes)
                    .with("blake3", obspec_trail::hex::encode(&f.blake3)),
            ));
        }
        let o = Object::new()
            .with("type", LOG_DAY_TYPE)
            .with("v", 1)
            .with("date", self.date.to_string())
            .with("files", Value::Array(files));
        let mut b = canonical::to_jcs(&Value::Object(o), 4)?;
        b.push(b'\n');
        Ok(b)
    }

    /// Parses what [`LogDay::to_bytes`] writes.
    pub fn parse(bytes: &[u8]) -> Result<LogDay> {
        let bad = |m: &str| Error::Conflict(format!("log sidecar: {m}"));
        let body = bytes.strip_suffix(b"\n").ok_or_else(|| bad("must end with a newline"))?;
        let v = canonical::parse_with_depth(body, 4)?;
        let o = v.as_object().ok_or_else(|| bad("must be an object"))?;
        if o.get("type").and_then(Value::as_str) != Some(LOG_DAY_TYPE) || o.get("v") != Some(&Value::Int(1)) {
            return Err(bad("not a version 1 log-day sidecar"));
        }
        let date = o.get("date").and_then(Value::as_str).and_then(Date::parse).ok_or_else(|| bad("bad `date`"))?;
        let Some(Value::Array(items)) = o.get("files") else { return Err(bad("`files` must be an array")) };
        let mut day = LogDay::new(date);
        for item in items {
            let f = item.as_object().ok_or_else(|| bad("file entry must be an object"))?;
            let path = f.get("path").and_then(Value::as_str).ok_or_else(|| bad("bad `path`"))?;
            let bytes = f
                .get("bytes")
                .and_then(Value::as_int)
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| bad("bad `bytes`"))?;
            let blake3 = f
                .get("blake3")
                .and_then(Value::as_str)
                .and_then(obspec_trail::hex::decode::<32>)
                .ok_or_else(|| bad("bad `blake3`"))?;
            if !path.starts_with(&format!("logs/{}/", date.path())) || !path.ends_with(".ndjson") {
                return Err(bad(&format!("{path} is not a log file of {date}")));
            }
            day.files.insert(path.to_owned(), LogFile { bytes, blake3 });
        }
        if day.to_bytes()? != bytes {
            return Err(bad("not in canonical form"));
        }
        Ok(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let d = Date::parse("2026-05-01").unwrap();
        let mut day = LogDay::new(d);
        day.files.insert("logs/2026/05/01/core.ndjson".into(), LogFile { bytes: 3, blake3: [7; 32] });
        let b = day.to_bytes().unwrap();
        assert_eq!(LogDay::parse(&b).unwrap(), day);
        assert!(LogDay::parse(&b[..b.len() - 1]).is_err());
        assert_eq!(sidecar_path(d), "logs-manifests/2026/05/01.json");
    }
}
