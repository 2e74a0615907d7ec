//! UTC calendar arithmetic for timestamps and daily rotation, without a date crate.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC calendar day, counted in days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDay(pub u32);

impl UtcDay {
    /// The day of `t` (times before 1970 map to day 0).
    pub fn of(t: SystemTime) -> Self {
        let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Self(u32::try_from(secs / 86_400).unwrap_or(u32::MAX))
    }

    /// The day `year-month-day`.
    pub fn from_ymd(year: u32, month: u32, day: u32) -> Self {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(year) - i64::from(month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Self(u32::try_from(era * 146_097 + doe - 719_468).unwrap_or(0))
    }

    /// `(year, month, day)` of this day.
    pub fn ymd(self) -> (u32, u32, u32) {
        // Howard Hinnant's civil_from_days, for non-negative day counts.
        let z = self.0 + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + u32::from(m <= 2);
        (y, m, d)
    }
}

/// Appends `t` as RFC 3339 UTC with milliseconds (`2026-01-03T12:34:56.789Z`)
/// and returns its day.
#[cfg(test)]
pub fn write_rfc3339(out: &mut Vec<u8>, t: SystemTime) -> UtcDay {
    let (b, day) = rfc3339(t);
    out.extend_from_slice(&b);
    day
}

/// `t` as RFC 3339 UTC with milliseconds, and its day. The date and time up to
/// the second are formatted once per second per thread (lines of the same
/// second only write their milliseconds).
pub fn rfc3339(t: SystemTime) -> ([u8; 24], UtcDay) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (last, mut b, mut day) = LAST_SECOND.with(Cell::get);
    if last != secs {
        day = seconds(&mut b, secs);
        LAST_SECOND.with(|c| c.set((secs, b, day)));
    }
    put(&mut b[20..23], d.subsec_millis());
    (b, day)
}

thread_local! {
    /// The last second [`rfc3339`] formatted on this thread: `(seconds since
    /// the epoch, its text with `.000Z`, its day)`.
    static LAST_SECOND: Cell<(u64, [u8; 24], UtcDay)> = const { Cell::new((u64::MAX, [0; 24], UtcDay(0))) };
}

/// Writes `secs` (since the epoch) as `yyyy-mm-ddThh:mm:ss.000Z` into `b`; its day.
fn seconds(b: &mut [u8; 24], secs: u64) -> UtcDay {
    let day = UtcDay(u32::try_from(secs / 86_400).unwrap_or(u32::MAX));
    let (y, mo, da) = day.ymd();
    let sod = secs % 86_400;
    put(&mut b[0..4], y);
    b[4] = b'-';
    put(&mut b[5..7], mo);
    b[7] = b'-';
    put(&mut b[8..10], da);
    b[10] = b'T';
    put(&mut b[11..13], u32::try_from(sod / 3600).unwrap_or(0));
    b[13] = b':';
    put(&mut b[14..16], u32::try_from(sod % 3600 / 60).unwrap_or(0));
    b[16] = b':';
    put(&mut b[17..19], u32::try_from(sod % 60).unwrap_or(0));
    b[19] = b'.';
    put(&mut b[20..23], 0);
    b[23] = b'Z';
    day
}

/// Writes `v` as zero-padded decimal filling `dst`.
fn put(dst: &mut [u8], mut v: u32) {
    for c in dst.iter_mut().rev() {
        *c = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn civil_round_trip() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2026, 1, 3), (2026, 12, 31), (2100, 3, 1)] {
            assert_eq!(UtcDay::from_ymd(y, m, d).ymd(), (y, m, d));
        }
        assert_eq!(UtcDay::from_ymd(1970, 1, 2), UtcDay(1));
    }

    #[test]
    fn rfc3339() {
        let t = UNIX_EPOCH + Duration::from_millis(1_767_443_696_789);
        let mut out = Vec::new();
        let day = write_rfc3339(&mut out, t);
        assert_eq!(std::str::from_utf8(&out).ok(), Some("2026-01-03T12:34:56.789Z"));
        assert_eq!(day.ymd(), (2026, 1, 3));
        // The same second again (cached), the next millisecond, the next second and day.
        for (ms, text) in [
            (1_767_443_696_001, "2026-01-03T12:34:56.001Z"),
            (1_767_443_696_999, "2026-01-03T12:34:56.999Z"),
            (1_767_443_697_000, "2026-01-03T12:34:57.000Z"),
            (1_767_484_800_000, "2026-01-04T00:00:00.000Z"),
            (1_767_443_696_789, "2026-01-03T12:34:56.789Z"),
        ] {
            let (b, day) = super::rfc3339(UNIX_EPOCH + Duration::from_millis(ms));
            assert_eq!(std::str::from_utf8(&b).ok(), Some(text));
            assert_eq!(day, UtcDay(u32::try_from(ms / 86_400_000).unwrap_or(0)));
        }
    }
}
