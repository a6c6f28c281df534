//! The wall clock, in Vietnam's time zone (UTC+7, no daylight saving). Only binaries read it.

use kyso_pdf::Object;

pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

const OFFSET_MINUTES: i32 = 7 * 60;

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub fn now_vietnam() -> LocalTime {
    from_unix(unix_now() as i64 + OFFSET_MINUTES as i64 * 60)
}

fn from_unix(secs: i64) -> LocalTime {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + if month <= 2 { 1 } else { 0 }) as i32;
    LocalTime { year, month, day, hour: (rem / 3600) as u32, minute: (rem % 3600 / 60) as u32, second: (rem % 60) as u32 }
}

impl LocalTime {
    /// As Vietnamese documents write it: `29/11/2026 14:03:05 +07:00`.
    pub fn display(&self) -> String {
        format!("{:02}/{:02}/{:04} {:02}:{:02}:{:02} +07:00", self.day, self.month, self.year, self.hour, self.minute, self.second)
    }

    pub fn pdf_date(&self) -> Object {
        kyso_pdf::fields::pdf_date(self.year, self.month, self.day, self.hour, self.minute, self.second, OFFSET_MINUTES)
    }
}

/// Seconds since the epoch for `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn parse_utc(s: &str) -> Option<u64> {
    let (date, time) = s.split_once('T').unwrap_or((s, "00:00:00Z"));
    let d: Vec<i64> = date.split('-').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let t: Vec<i64> = time.trim_end_matches('Z').split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    let (&[y, m, day], &[hh, mm, ss]) = (d.as_slice(), t.as_slice()) else { return None };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (H. Hinnant), the inverse of `from_unix`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        let t = super::from_unix(1_795_960_985 + 7 * 3600);
        assert_eq!(t.display(), "29/11/2026 21:03:05 +07:00"); // 14:03:05 UTC
        assert_eq!(super::from_unix(0).display(), "01/01/1970 00:00:00 +07:00");
        assert_eq!(super::parse_utc("2026-11-29T14:03:05Z"), Some(1_795_960_985));
        assert_eq!(super::parse_utc("1970-01-01"), Some(0));
        assert_eq!(super::parse_utc("2026-13-01"), None);
    }
}
