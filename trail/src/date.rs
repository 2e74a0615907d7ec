//! Calendar days (UTC) and RFC 3339 timestamps, without a date library.

use std::fmt;

/// A day of the proleptic Gregorian calendar, the unit of a trail stream and a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// Builds a date, or `None` when it does not exist (or the year is outside 1..=9999).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        (day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD` strictly.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        Date::new(i32::try_from(year).ok()?, month, day)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u32 {
        self.day
    }

    /// The directory of this day below a prefix: `yyyy/mm/dd`.
    pub fn path(self) -> String {
        format!("{:04}/{:02}/{:02}", self.year, self.month, self.day)
    }

    /// The next day.
    pub fn succ(self) -> Date {
        from_days(to_days(self) + 1)
    }

    /// The previous day.
    pub fn pred(self) -> Date {
        from_days(to_days(self) - 1)
    }

    /// Today in UTC according to the system clock.
    pub fn today_utc() -> Date {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        from_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    /// Every day from `from` to `to` inclusive (empty when `from > to`).
    pub fn range(from: Date, to: Date) -> impl Iterator<Item = Date> {
        let (a, b) = (to_days(from), to_days(to));
        (a..=b).map(from_days)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Checks an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fraction]Z` and returns its day.
pub fn parse_timestamp(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b.last() != Some(&b'Z') {
        return None;
    }
    let date = Date::parse(s.get(0..10)?)?;
    let (h, m, sec) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let rest = &b[19..b.len() - 1];
    match rest {
        [] => {}
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            digits(frac)?;
        }
        _ => return None,
    }
    Some(date)
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn to_days(d: Date) -> i64 {
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(d.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`to_days`], clamped to the supported years.
fn from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date {
        year: i32::try_from(year.clamp(1, 9999)).unwrap_or(1),
        month: u32::try_from(month).unwrap_or(1),
        day: u32::try_from(day).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_step() {
        let d = Date::parse("2024-02-28").unwrap();
        assert_eq!(d.succ().to_string(), "2024-02-29");
        assert_eq!(d.succ().succ().to_string(), "2024-03-01");
        assert_eq!(Date::parse("2025-01-01").unwrap().pred().to_string(), "2024-12-31");
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2023-2-01"), None);
        assert_eq!(d.path(), "2024/02/28");
        let days: Vec<_> = Date::range(d, d.succ().succ()).collect();
        assert_eq!(days.len(), 3);
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("2026-05-01T12:00:00.123Z").map(|d| d.to_string()), Some("2026-05-01".into()));
        assert!(parse_timestamp("2026-05-01T12:00:00Z").is_some());
        assert!(parse_timestamp("2026-05-01T24:00:00Z").is_none());
        assert!(parse_timestamp("2026-05-01T12:00:00+01:00").is_none());
        assert!(parse_timestamp("2026-05-01T12:00:00.Z").is_none());
    }
}
