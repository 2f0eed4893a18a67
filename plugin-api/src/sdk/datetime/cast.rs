//! DATE and TIMESTAMP text read without a pattern, by the rules of Spark's string cast
//! (what its CSV and JSON readers fall back to when no `dateFormat`/`timestampFormat` is
//! set): surrounding whitespace is ignored; a date is `[+-]yyyy[-[m]m[-[d]d]]` with a
//! year of 4 to 7 digits (`2012` and `2012-01` are the first day); a time follows a space
//! or `T` as `[h]h[:[m]m[:[s]s[.fraction]]]`; a zone may follow the time, with or without
//! a space: `Z`, an offset (`+1`, `+01`, `+0130`, `+01:30`, `+01:30:15`), `UTC`/`GMT`/`UT`
//! with or without an offset, a region (`Europe/Paris`) or one of Java's short ids
//! (`PST`). A DATE ignores whatever follows the day after a space or `T`. A value
//! without a zone is UTC, as everywhere in ferry (Spark uses the session time zone).
//!
//! Where Spark would alter a value, the text is refused instead: digits of a second finer
//! than a microsecond (Spark drops them) unless they are zeros, and a time without a date
//! (Spark dates it the day it is read, so a replay would read another value).

use chrono::{LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::Mismatch;

/// Java's `ZoneId.SHORT_IDS`, which Spark accepts as zones.
const SHORT_IDS: [(&str, &str); 28] = [
    ("ACT", "Australia/Darwin"),
    ("AET", "Australia/Sydney"),
    ("AGT", "America/Argentina/Buenos_Aires"),
    ("ART", "Africa/Cairo"),
    ("AST", "America/Anchorage"),
    ("BET", "America/Sao_Paulo"),
    ("BST", "Asia/Dhaka"),
    ("CAT", "Africa/Harare"),
    ("CNT", "America/St_Johns"),
    ("CST", "America/Chicago"),
    ("CTT", "Asia/Shanghai"),
    ("EAT", "Africa/Addis_Ababa"),
    ("ECT", "Europe/Paris"),
    ("IET", "America/Indiana/Indianapolis"),
    ("IST", "Asia/Kolkata"),
    ("JST", "Asia/Tokyo"),
    ("MIT", "Pacific/Apia"),
    ("NET", "Asia/Yerevan"),
    ("NST", "Pacific/Auckland"),
    ("PLT", "Asia/Karachi"),
    ("PNT", "America/Phoenix"),
    ("PRT", "America/Puerto_Rico"),
    ("PST", "America/Los_Angeles"),
    ("SST", "Pacific/Guadalcanal"),
    ("VST", "Asia/Ho_Chi_Minh"),
    ("EST", "-05:00"),
    ("MST", "-07:00"),
    ("HST", "-10:00"),
];

/// `text` as microseconds since the Unix epoch. With `zoned` false (TIMESTAMP_NTZ) a
/// zone in the text is refused, as Spark refuses it.
pub fn timestamp_micros(text: &str, zoned: bool) -> Result<i64, Mismatch> {
    match common_layout(text.as_bytes(), zoned) {
        Some(micros) => Ok(micros),
        None => any_layout(text, zoned),
    }
}

/// The layout most timestamps come in, `yyyy-mm-ddThh:mm:ss[.f{1,6}][Z]` (or a space for
/// the `T`), read at fixed positions: the value [`any_layout`] gives, found without its
/// scanner, or `None` for anything else (which `any_layout` then reads or refuses).
fn common_layout(text: &[u8], zoned: bool) -> Option<i64> {
    let body = match text.split_last() {
        Some((b'Z', body)) if zoned => body,
        _ => text,
    };
    let (fields, fraction) = body.split_at_checked(19)?;
    if !matches!(
        fields,
        [
            _,
            _,
            _,
            _,
            b'-',
            _,
            _,
            b'-',
            _,
            _,
            b'T' | b' ',
            _,
            _,
            b':',
            _,
            _,
            b':',
            _,
            _
        ]
    ) {
        return None;
    }
    let digit = |i: usize| {
        fields[i]
            .is_ascii_digit()
            .then(|| u32::from(fields[i] - b'0'))
    };
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let year = two(0)? * 100 + two(2)?;
    let (month, day) = (two(5)?, two(8)?);
    let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
    let micros = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=6).contains(&digits.len()) => {
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            number(digits) * 10u32.pow(6 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = NaiveTime::from_hms_micro_opt(hour, minute, second, micros)?;
    Some(NaiveDateTime::new(date, time).and_utc().timestamp_micros())
}

/// [`timestamp_micros`] for any layout Spark's cast reads.
fn any_layout(text: &str, zoned: bool) -> Result<i64, Mismatch> {
    let mut s = Scanner::new(text.trim());
    if s.peek() == Some(b'T') {
        return Err(mismatch("a time without a date"));
    }
    let date = s.date()?;
    let time = match s.next() {
        None => NaiveTime::MIN,
        Some(b' ' | b'T') => s.time()?,
        Some(_) => return Err(mismatch("expected a space or 'T' after the date")),
    };
    let local = NaiveDateTime::new(date, time);
    let zone = s.rest().trim_start();
    if zone.is_empty() {
        return Ok(local.and_utc().timestamp_micros());
    }
    if !zoned {
        return Err(mismatch("a TIMESTAMP_NTZ has no time zone"));
    }
    utc_micros(local, zone)
}

/// `text` as days since 1970-01-01.
pub fn date_days(text: &str) -> Result<i32, Mismatch> {
    let mut s = Scanner::new(text.trim());
    let date = s.date()?;
    if !matches!(s.next(), None | Some(b' ' | b'T')) {
        return Err(mismatch("expected a space or 'T' after the date"));
    }
    let days = date.signed_duration_since(NaiveDate::default()).num_days();
    i32::try_from(days).map_err(|_| mismatch("out of range"))
}

fn mismatch(why: &str) -> Mismatch {
    Mismatch(why.to_string())
}

/// Reads a text byte by byte.
struct Scanner<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Scanner<'t> {
    fn new(text: &'t str) -> Self {
        Self { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.pos += usize::from(found);
        found
    }

    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    /// The digits at the cursor, `min` to `max` of them, as a number and their count.
    fn digits(&mut self, min: usize, max: usize, what: &str) -> Result<(u32, usize), Mismatch> {
        let run = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if run < min || run > max {
            let want = match min == max {
                true => format!("{min}"),
                false => format!("{min} to {max}"),
            };
            return Err(Mismatch(format!("expected {want} digits of {what}")));
        }
        let digits = &self.text.as_bytes()[self.pos..self.pos + run];
        self.pos += run;
        Ok((number(digits), run))
    }

    fn date(&mut self) -> Result<NaiveDate, Mismatch> {
        let negative = match self.peek() {
            Some(b'-') => true,
            Some(b'+') => false,
            _ => return self.unsigned_date(false),
        };
        self.pos += 1;
        self.unsigned_date(negative)
    }

    fn unsigned_date(&mut self, negative: bool) -> Result<NaiveDate, Mismatch> {
        let (year, _) = (self.digits(4, 7, "the year"))
            .map_err(|_| mismatch("does not start with a year of 4 to 7 digits"))?;
        let year = i32::try_from(year).map_err(|_| mismatch("year out of range"))?;
        let year = if negative { -year } else { year };
        let (mut month, mut day) = (1, 1);
        if self.eat(b'-') {
            month = self.digits(1, 2, "the month")?.0;
            if self.eat(b'-') {
                day = self.digits(1, 2, "the day")?.0;
            }
        }
        NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| mismatch("no such date"))
    }

    /// `[h]h[:[m]m[:[s]s[.fraction]]]`; fraction digits past the sixth must be zeros.
    fn time(&mut self) -> Result<NaiveTime, Mismatch> {
        let hour = self.digits(1, 2, "the hour")?.0;
        let (mut minute, mut second, mut micros) = (0, 0, 0);
        if self.eat(b':') {
            minute = self.digits(1, 2, "the minute")?.0;
            if self.eat(b':') {
                second = self.digits(1, 2, "the second")?.0;
                if self.eat(b'.') {
                    micros = self.fraction()?;
                }
            }
        }
        NaiveTime::from_hms_micro_opt(hour, minute, second, micros)
            .ok_or_else(|| mismatch("no such time of day"))
    }

    fn fraction(&mut self) -> Result<u32, Mismatch> {
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let text = &self.text.as_bytes()[self.pos..self.pos + digits];
        self.pos += digits;
        let (kept, finer) = text.split_at(digits.min(6));
        if finer.iter().any(|&b| b != b'0') {
            return Err(mismatch("finer than the microseconds a TIMESTAMP holds"));
        }
        Ok(number(kept) * 10u32.pow(6 - kept.len() as u32))
    }
}

/// ASCII digits (at most 9 of them, as every caller takes) as a number.
fn number(digits: &[u8]) -> u32 {
    (digits.iter()).fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

/// The instant of `local` in `zone`. In a time zone's gap (a spring-forward hour) the
/// time moves forward by the gap; in an overlap the earlier offset wins (Java's rules).
fn utc_micros(local: NaiveDateTime, zone: &str) -> Result<i64, Mismatch> {
    // The wall time read as UTC, less the zone's offset east of UTC.
    let wall = local.and_utc().timestamp_micros();
    if let Some(seconds) = fixed_offset(zone) {
        return Ok(wall - i64::from(seconds) * 1_000_000);
    }
    let tz = region(zone).ok_or_else(|| Mismatch(format!("unknown time zone '{zone}'")))?;
    let instant = match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t,
        LocalResult::None => {
            // The offset before the gap, applied to the wall time, lands after it.
            let before = tz.offset_from_utc_datetime(&(local - chrono::Duration::days(1)));
            let seconds = before.fix().local_minus_utc();
            return Ok(wall - i64::from(seconds) * 1_000_000);
        }
    };
    Ok(instant.timestamp_micros())
}

/// `Z`, an offset, or `UTC`/`GMT`/`UT` with an optional offset, as seconds east of UTC.
fn fixed_offset(zone: &str) -> Option<i32> {
    if zone == "Z" {
        return Some(0);
    }
    let offset = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|prefix| zone.strip_prefix(prefix))
        .unwrap_or(zone);
    match offset {
        "" if offset.len() < zone.len() => Some(0),
        _ => signed_offset(offset),
    }
}

/// `+h`, `+hh`, `+hhmm`, `+hh:mm`, `+hhmmss`, `+hh:mm:ss` (or `-`), at most 18 hours.
fn signed_offset(text: &str) -> Option<i32> {
    let (sign, body) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let parts: Vec<&str> = match body.contains(':') {
        true => body.split(':').collect(),
        false if body.len() <= 2 => vec![body],
        false => (0..body.len())
            .step_by(2)
            .map(|i| body.get(i..i + 2))
            .collect::<Option<_>>()?,
    };
    let valid = parts.len() <= 3
        && parts.iter().enumerate().all(|(i, p)| {
            p.bytes().all(|b| b.is_ascii_digit()) && (p.len() == 2 || (i == 0 && p.len() == 1))
        });
    if !valid || (parts.len() > 1 && parts[0].len() != 2) {
        return None;
    }
    let mut units = parts.iter().map(|p| p.parse::<i32>().unwrap_or(99));
    let (h, m, s) = (
        units.next()?,
        units.next().unwrap_or(0),
        units.next().unwrap_or(0),
    );
    let seconds = h * 3600 + m * 60 + s;
    (m < 60 && s < 60 && seconds <= 18 * 3600).then_some(sign * seconds)
}

/// A region id (`Europe/Paris`) or one of Java's short ids.
fn region(zone: &str) -> Option<Tz> {
    let id = (SHORT_IDS.iter())
        .find(|(short, _)| *short == zone)
        .map_or(zone, |(_, id)| id);
    id.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_layout_reads_what_any_layout_reads() {
        // A deterministic spread of texts near the common layout, valid and not.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut fast = 0;
        for _ in 0..200_000 {
            let fraction = match next(9) {
                0 => String::new(),
                7 => ".".to_string(),
                n => format!(".{:0width$}", next(10u64.pow(n as u32)), width = n as usize),
            };
            let text = format!(
                "{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}{fraction}{}",
                next(10_000),
                next(14),
                next(33),
                ["T", " ", "t"][next(3) as usize],
                next(26),
                next(62),
                next(62),
                ["", "Z", "z", " "][next(4) as usize],
            );
            for zoned in [true, false] {
                if let Some(micros) = common_layout(text.as_bytes(), zoned) {
                    fast += 1;
                    assert_eq!(Ok(micros), any_layout(&text, zoned), "{text}");
                }
            }
        }
        // About a fifth of the texts are valid and in the layout, each read twice.
        assert!(fast > 50_000, "{fast} read by the common layout");
        assert_eq!(common_layout(b"2024-01-02T03:04:05.678Z", false), None);
    }

    fn ts(text: &str) -> String {
        match timestamp_micros(text, true) {
            Ok(micros) => chrono::DateTime::from_timestamp_micros(micros)
                .unwrap()
                .naive_utc()
                .to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn timestamps_read_as_spark_casts_them() {
        // Each expectation is what Spark 4 read from the same text in a UTC session.
        let cases = [
            ("2012", "2012-01-01 00:00:00"),
            ("2012-01", "2012-01-01 00:00:00"),
            ("2012-1-2", "2012-01-02 00:00:00"),
            (" 2012-01-02 ", "2012-01-02 00:00:00"),
            ("+2012-01-02", "2012-01-02 00:00:00"),
            ("2012-01-02 03", "2012-01-02 03:00:00"),
            ("2012-01-02T3", "2012-01-02 03:00:00"),
            ("2012-01-02 03:04", "2012-01-02 03:04:00"),
            ("2012-01-02 3:4:5", "2012-01-02 03:04:05"),
            ("2012-01-02T03:04:05.", "2012-01-02 03:04:05"),
            ("2012-01-02 03:04:05.123456", "2012-01-02 03:04:05.123456"),
            ("2012-01-02T03:04:05.1234560", "2012-01-02 03:04:05.123456"),
            ("2012-01-02T03:04:05.1-08:00", "2012-01-02 11:04:05.100"),
            ("2012-01-02T03:04:05Z", "2012-01-02 03:04:05"),
            ("2012-01-02T03:04:05+01", "2012-01-02 02:04:05"),
            ("2012-01-02T03:04:05+1", "2012-01-02 02:04:05"),
            ("2012-01-02T03:04:05+0100", "2012-01-02 02:04:05"),
            ("2012-01-02T03:04:05 +01:00", "2012-01-02 02:04:05"),
            (
                "2012-01-02T03:04:05.123+01:00:30",
                "2012-01-02 02:03:35.123",
            ),
            ("2012-01-02 03:04:05 UTC", "2012-01-02 03:04:05"),
            ("2012-01-02T03:04:05UTC+01:00", "2012-01-02 02:04:05"),
            ("2012-01-02T03:04:05GMT+1", "2012-01-02 02:04:05"),
            (
                "2012-01-02T03:04:05America/Los_Angeles",
                "2012-01-02 11:04:05",
            ),
            ("2012-01-02T03:04:05 PST", "2012-01-02 11:04:05"),
            ("2012-01-02T03:04:05CET", "2012-01-02 02:04:05"),
            ("2012-03-25T02:30:00 Europe/Paris", "2012-03-25 01:30:00"),
            ("2012-10-28T02:30:00 Europe/Paris", "2012-10-28 00:30:00"),
            ("-2012-01-02", "-2012-01-02 00:00:00"),
        ];
        for (text, expected) in cases {
            assert_eq!(ts(text), expected, "{text}");
        }
    }

    #[test]
    fn what_spark_refuses_or_would_alter_is_refused() {
        for text in [
            "2012-01-02T",
            "2012-01-02 junk",
            "2012-13-01",
            "2012-02-30",
            "2012-01-02T24:00:00",
            "2012-01-02T03:04:60",
            "123-01-02",
            "2012/01/02",
            "2012-001",
            "20120102",
            "03:04:05",
            "T03:04:05",
            "2012-01-02T03:04:05.1234567",
            "2012-01-02T03:04:05 Mars/Base",
            "2012-01-02T03:04:05+19",
        ] {
            assert!(ts(text).starts_with("error"), "{text}: {}", ts(text));
        }
        let ntz = timestamp_micros("2012-01-02T03:04:05Z", false);
        assert_eq!(ntz.unwrap_err().0, "a TIMESTAMP_NTZ has no time zone");
    }

    #[test]
    fn dates_ignore_what_follows_the_day() {
        let day = |text| date_days(text).map_err(|e| e.0);
        assert_eq!(day("2012"), Ok(15340));
        assert_eq!(day("2012-01-02T"), Ok(15341));
        assert_eq!(day("2012-01-02 junk"), Ok(15341));
        assert_eq!(day("2012-01-02T03:04:05Z"), Ok(15341));
        assert!(day("03:04:05").is_err());
        assert!(day("2012-02-30").is_err());
        assert!(day("2012-01-02x").is_err());
    }
}
