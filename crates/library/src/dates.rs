//! Library days: civil dates in Vietnam time as day numbers (days since 1970-01-01), written
//! `YYYY-MM-DD` in the database so that text order is date order on both databases.

use kyso_clock::{CivilTime, VIETNAM_OFFSET_SECS, days_from_civil};

/// The day number of `unix` seconds in Vietnam.
pub fn day_of(unix: i64) -> i64 {
    (unix + VIETNAM_OFFSET_SECS).div_euclid(86_400)
}

pub fn iso(day: i64) -> String {
    let t = CivilTime::from_unix(day * 86_400, 0);
    format!("{:04}-{:02}-{:02}", t.year, t.month, t.day)
}

/// `YYYY-MM-DD` → day number.
pub fn parse(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let (y, m, d): (i32, u32, u32) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if !(1900..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m, d);
    (iso(day) == format!("{y:04}-{m:02}-{d:02}")).then_some(day)
}

/// `dd/mm/yyyy`, as the desk and the registers show dates.
pub fn display(iso_date: &str) -> String {
    match parse(iso_date) {
        Some(day) => CivilTime::from_unix(day * 86_400, 0).date(),
        None => iso_date.to_string(),
    }
}

/// The due day of a loan of `loan_days` open days from `from`: days in `closed` (the library's
/// holidays) do not count, and the due day itself is an open day (Koha's "calendar" mode).
pub fn due_after(from: i64, loan_days: i64, closed: &std::collections::HashSet<i64>) -> i64 {
    let mut day = from;
    let mut counted = 0;
    // A year of holidays in a row is a data error, not a reason to loop forever.
    let mut guard = 0;
    while counted < loan_days && guard < 3660 {
        day += 1;
        guard += 1;
        if !closed.contains(&day) {
            counted += 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_impossible_ones_are_refused() {
        let d = parse("2027-02-28").unwrap();
        assert_eq!(iso(d), "2027-02-28");
        assert_eq!(iso(d + 1), "2027-03-01");
        assert!(parse("2027-02-29").is_none());
        assert!(parse("2027-13-01").is_none());
        assert_eq!(display("2027-02-05"), "05/02/2027");
    }

    #[test]
    fn holidays_do_not_count_towards_a_loan() {
        let start = parse("2027-02-01").unwrap();
        let tet: std::collections::HashSet<i64> = (parse("2027-02-05").unwrap()..=parse("2027-02-13").unwrap()).collect();
        assert_eq!(iso(due_after(start, 14, &Default::default())), "2027-02-15");
        // 3 open days before Tết (2-4), 9 closed, then 11 more: 2027-02-24.
        assert_eq!(iso(due_after(start, 14, &tet)), "2027-02-24");
    }
}
