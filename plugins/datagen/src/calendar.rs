//! UTC calendar arithmetic for the text the generators write (`2018-10-12`,
//! `21/Nov/2026:20:31:49 +0000`): days since the Unix epoch to a civil date, without a
//! date-time dependency or per-row allocation.

use std::fmt;

const MICROS_PER_DAY: i64 = 86_400_000_000;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A civil (proleptic Gregorian) date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self { year, month, day }
    }
}

/// `yyyy-MM-dd`, the form Spark's `to_date` reads by default.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A UTC instant written as Apache's common log format writes it.
pub struct LogTime(pub i64);

/// `21/Nov/2026:20:31:49 +0000`
impl fmt::Display for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = Date::from_days(self.0.div_euclid(MICROS_PER_DAY));
        let secs = self.0.rem_euclid(MICROS_PER_DAY) / 1_000_000;
        let month = MONTHS[date.month as usize - 1];
        write!(
            f,
            "{:02}/{month}/{:04}:{:02}:{:02}:{:02} +0000",
            date.day,
            date.year,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_days_to_dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(13_655).to_string(), "2007-05-22");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
        assert_eq!(Date::from_days(-1).to_string(), "1969-12-31");
    }

    #[test]
    fn writes_apache_time() {
        // 2026-11-21T20:31:49Z
        let micros = 1_795_293_109_000_000;
        assert_eq!(LogTime(micros).to_string(), "21/Nov/2026:20:31:49 +0000");
    }
}
