//! `kyso-clock`: the one place that reads the wall clock. Libraries below the processes are given
//! a [`Clock`] (or the time itself), so tests run on a [`FixedClock`] they can move forward.
//!
//! Vietnam keeps UTC+7 all year (no daylight saving), so local time is a fixed offset.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicI64, Ordering};

/// Vietnam's offset from UTC, in seconds.
pub const VIETNAM_OFFSET_SECS: i64 = 7 * 3600;

/// A source of the current time, in Unix seconds.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        unix_now() as i64
    }
}

/// A clock that stands still until told to move: for tests of deadlines, lockouts and expiry.
#[derive(Debug)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(unix: i64) -> Self {
        FixedClock(AtomicI64::new(unix))
    }

    pub fn set(&self, unix: i64) {
        self.0.store(unix, Ordering::SeqCst);
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Seconds since the Unix epoch, from the system clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A civil date and time (proleptic Gregorian calendar).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Days since 1970-01-01 → (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

/// (year, month, day) → days since 1970-01-01; Howard Hinnant's `days_from_civil`.
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y as i64 - 1 } else { y as i64 };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl CivilTime {
    /// The civil time of `unix` seconds shifted by `offset_secs`.
    pub fn from_unix(unix: i64, offset_secs: i64) -> Self {
        let t = unix + offset_secs;
        let (year, month, day) = civil_from_days(t.div_euclid(86_400));
        let s = t.rem_euclid(86_400);
        CivilTime { year, month, day, hour: (s / 3600) as u32, minute: (s % 3600 / 60) as u32, second: (s % 60) as u32 }
    }

    /// Vietnam's local time at `unix`.
    pub fn vietnam(unix: i64) -> Self {
        Self::from_unix(unix, VIETNAM_OFFSET_SECS)
    }

    /// As Vietnamese documents write it: `29/11/2026 14:03:05 +07:00` (for Vietnam time).
    pub fn display(&self) -> String {
        format!("{:02}/{:02}/{:04} {:02}:{:02}:{:02} +07:00", self.day, self.month, self.year, self.hour, self.minute, self.second)
    }

    /// `dd/mm/yyyy`.
    pub fn date(&self) -> String {
        format!("{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }

    /// `dd/mm/yyyy HH:MM`.
    pub fn date_time(&self) -> String {
        format!("{:02}/{:02}/{:04} {:02}:{:02}", self.day, self.month, self.year, self.hour, self.minute)
    }
}

/// `dd/mm/yyyy HH:MM` in Vietnam time, for pages and reports.
pub fn vietnam_date_time(unix: i64) -> String {
    CivilTime::vietnam(unix).date_time()
}

/// `dd/mm/yyyy` in Vietnam time.
pub fn vietnam_date(unix: i64) -> String {
    CivilTime::vietnam(unix).date()
}

/// Seconds since the epoch for `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn parse_utc(s: &str) -> Option<u64> {
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00:00Z"));
    let d: Vec<i64> = date.split('-').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let t: Vec<i64> = time.trim_end_matches('Z').split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let (&[y, m, day], &[hh, mm, ss]) = (d.as_slice(), t.as_slice()) else { return None };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(0..24).contains(&hh) || !(0..60).contains(&mm) || !(0..61).contains(&ss) {
        return None;
    }
    let days_in_month = days_from_civil(if m == 12 { y as i32 + 1 } else { y as i32 }, if m == 12 { 1 } else { m as u32 + 1 }, 1)
        - days_from_civil(y as i32, m as u32, 1);
    if day < 1 || day > days_in_month {
        return None;
    }
    let days = days_from_civil(y as i32, m as u32, day as u32);
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as u64)
}

/// A `YYYY-MM-DD` date (as an HTML date input sends it) at 00:00 Vietnam time, in Unix seconds.
pub fn parse_vietnam_date(s: &str) -> Option<i64> {
    parse_utc(s).map(|u| u as i64 - VIETNAM_OFFSET_SECS)
}

/// Unix seconds as ISO 8601 UTC: `2026-11-29T10:30:05Z`.
pub fn iso_utc(unix: u64) -> String {
    let t = CivilTime::from_unix(unix as i64, 0);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let t = CivilTime::vietnam(1_795_960_985);
        assert_eq!(t.display(), "29/11/2026 21:03:05 +07:00"); // 14:03:05 UTC
        assert_eq!(CivilTime::vietnam(0).display(), "01/01/1970 07:00:00 +07:00");
        assert_eq!(parse_utc("2026-11-29T14:03:05Z"), Some(1_795_960_985));
        assert_eq!(parse_utc("1970-01-01"), Some(0));
        assert_eq!(parse_utc("2026-13-01"), None);
        assert_eq!(parse_utc("2026-02-29"), None);
        assert_eq!(parse_utc("2028-02-29"), Some(days_from_civil(2028, 2, 29) as u64 * 86_400));
        assert_eq!(iso_utc(1_795_960_985), "2026-11-29T14:03:05Z");
        assert_eq!(vietnam_date(parse_vietnam_date("2026-09-05").unwrap()), "05/09/2026");
    }

    #[test]
    fn round_trip_over_centuries() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(100);
        assert_eq!(c.now(), 100);
        c.advance(50);
        assert_eq!(c.now(), 150);
    }
}
