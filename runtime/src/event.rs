//! The traits `obspec-macros` derives: [`LogEvent`] (a struct whose fields are
//! all in the log allow-list, written through the typed [`LogLine`]) and
//! [`TrailData`] (a struct matching one trail kind's `data` schema).
//!
//! The derives check names and types against the spec at compile time; the
//! values are still checked at run time (the log plane validates every value,
//! [`TrailData::trail_data`] checks enum values and counter ranges).

use crate::log::{Emitted, LogLine};

/// A struct of allowed log fields (`#[derive(obspec_macros::LogEvent)]`).
pub trait LogEvent {
    /// Sets every field of `self` on `line`.
    fn fill(&self, line: &mut LogLine<'_>);

    /// Writes `self` as one line on the installed global log plane.
    fn emit(&self) -> Emitted {
        let mut line = crate::log::line();
        self.fill(&mut line);
        line.emit()
    }
}

/// One value of a trail record's `data` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailValue<'a> {
    /// An ID, name, route, enum value or ErrorToken.
    Str(&'a str),
    /// A list of IDs.
    List(Vec<&'a str>),
    /// A counter or bit set, below 2^53.
    U64(u64),
    /// A boolean.
    Bool(bool),
}

impl TrailValue<'_> {
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            TrailValue::Str(s) => serde_json::Value::from(*s),
            TrailValue::List(l) => serde_json::Value::from(l.clone()),
            TrailValue::U64(n) => serde_json::Value::from(*n),
            TrailValue::Bool(b) => serde_json::Value::from(*b),
        }
    }
}

/// Why a trail `data` object could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailError {
    /// An enum field holds a value its kind does not list.
    NotInEnum {
        /// Field name.
        field: &'static str,
        /// The allowed values.
        allowed: &'static [&'static str],
    },
    /// A counter or bit set is 2^53 or more (not exact in JSON numbers).
    TooLarge {
        /// Field name.
        field: &'static str,
    },
}

impl std::fmt::Display for TrailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrailError::NotInEnum { field, allowed } => {
                write!(f, "trail field `{field}` must be one of {}", allowed.join(", "))
            }
            TrailError::TooLarge { field } => write!(f, "trail field `{field}` must be below 2^53"),
        }
    }
}

impl std::error::Error for TrailError {}

/// A Rust enum used for a trail `enum` field: its wire value.
pub trait TrailEnum {
    /// The value as written in the trail.
    fn as_trail_str(&self) -> &'static str;
}

/// The largest integer a trail counter may hold (2^53 - 1).
pub const TRAIL_MAX_COUNTER: u64 = (1 << 53) - 1;

/// A struct matching a trail kind's `data` schema (`#[derive(obspec_macros::TrailData)]`).
pub trait TrailData {
    /// The trail kind (`office.tool_call`).
    const KIND: &'static str;

    /// The `data` fields, keys in sorted (canonical) order.
    fn trail_data(&self) -> Result<Vec<(&'static str, TrailValue<'_>)>, TrailError>;

    /// The `data` object as JSON, keys in sorted order.
    fn trail_json(&self) -> Result<serde_json::Value, TrailError> {
        let mut map = serde_json::Map::new();
        for (k, v) in self.trail_data()? {
            map.insert(k.to_owned(), v.to_json());
        }
        Ok(serde_json::Value::Object(map))
    }
}

/// Checks a trail enum value against its allowed values (used by derived code).
#[doc(hidden)]
pub fn __check_enum<'a>(
    field: &'static str,
    value: &'a str,
    allowed: &'static [&'static str],
) -> Result<TrailValue<'a>, TrailError> {
    if allowed.contains(&value) { Ok(TrailValue::Str(value)) } else { Err(TrailError::NotInEnum { field, allowed }) }
}

/// Checks a trail counter against 2^53 (used by derived code).
#[doc(hidden)]
pub fn __check_counter(field: &'static str, value: u64) -> Result<TrailValue<'static>, TrailError> {
    if value <= TRAIL_MAX_COUNTER { Ok(TrailValue::U64(value)) } else { Err(TrailError::TooLarge { field }) }
}
