//! The wall clock, in Vietnam's time zone (UTC+7, no daylight saving). Only the processes (the
//! `kyso` CLI and the server) read it; the libraries below are given the time.

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
    // der's DateTime does the calendar (years 1970–9999).
    let t = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs.max(0) as u64)).unwrap_or(der::DateTime::INFINITY);
    LocalTime {
        year: t.year() as i32,
        month: t.month() as u32,
        day: t.day() as u32,
        hour: t.hour() as u32,
        minute: t.minutes() as u32,
        second: t.seconds() as u32,
    }
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
    let field = |v: i64| u8::try_from(v).ok();
    let t = der::DateTime::new(u16::try_from(y).ok()?, field(m)?, field(day)?, field(hh)?, field(mm)?, field(ss)?).ok()?;
    Some(t.unix_duration().as_secs())
}

/// Unix seconds as ISO 8601 UTC: `2026-11-29T10:30:05Z`.
pub fn iso_utc(unix: u64) -> String {
    let t = from_unix(unix as i64);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
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
