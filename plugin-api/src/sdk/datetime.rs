//! Spark datetime patterns (`timestampFormat`, `dateFormat`): `yyyy-MM-dd HH:mm:ss`,
//! `dd/MM/yyyy`, `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` … translated once into tokens, then used
//! to read values into TIMESTAMP (µs since the epoch, UTC) and DATE (days) columns.
//!
//! Parsing follows Spark 3+ (java.time's `DateTimeFormatter`, case-insensitive): a
//! letter's count sets its digits (`M`: 1–2, `MM`: exactly 2), `yy` is 2000–2099,
//! `SSS` takes 1 to 3 fraction digits, `[...]` is an optional section, text in quotes is
//! literal, fields missing from the pattern default to 1970-01-01 00:00:00, and the whole
//! value must match. A value without an offset is UTC, as everywhere in ferry (Spark
//! uses the session time zone). chrono checks the calendar (no 2023-02-29).

pub mod cast;

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

use super::decode::{excerpt, EXCERPT_CHARS};

/// The letters this module reads; any other ASCII letter outside quotes is refused.
const SUPPORTED: &str = "y M L d D E a h K k H m s S X x Z";

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A Spark datetime pattern, checked and translated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateTimePattern {
    pattern: String,
    tokens: Vec<Token>,
}

/// Why a pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid datetime pattern '{pattern}': {problem}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Why a value did not match its pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// Text matched as it is, ignoring ASCII case.
    Literal(String),
    /// Between `min` and `max` digits.
    Number {
        field: Field,
        min: usize,
        max: usize,
    },
    /// `yy`: two digits, a year from 2000 to 2099.
    Year2,
    /// `S`…: 1 to `max` digits of a fraction of a second.
    Fraction {
        max: usize,
    },
    /// `MMM` (`Jan`) or `MMMM` (`January`).
    MonthName {
        long: bool,
    },
    /// `EEE` (`Mon`) or `EEEE` (`Monday`).
    WeekdayName {
        long: bool,
    },
    /// `a`: AM or PM.
    AmPm,
    Offset(Offset),
    /// `[...]`: used if it matches, skipped if not.
    Optional(Vec<Token>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    DayOfYear,
    /// `H`: 0–23.
    Hour,
    /// `h`: 1–12.
    ClockHourOfAmPm,
    /// `K`: 0–11.
    HourOfAmPm,
    /// `k`: 1–24, 24 being midnight.
    ClockHour,
    Minute,
    Second,
}

/// How a zone offset is written: `X`, `XX`, `XXX`, `XXXX`, `XXXXX`, `x`…, `Z`….
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Offset {
    /// `Z` stands for +00:00 (the `X` letters).
    z: bool,
    /// `+01:30` rather than `+0130`.
    colon: bool,
    /// Minutes must be given (else optional).
    minutes: bool,
    /// Seconds may follow the minutes.
    seconds: bool,
}

impl DateTimePattern {
    /// Checks and translates a Spark pattern such as `"yyyy-MM-dd HH:mm:ss"`.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let fail = |problem: String| PatternError {
            pattern: pattern.to_string(),
            problem,
        };
        let tokens = tokenize(pattern).map_err(fail)?;
        Ok(Self {
            pattern: pattern.to_string(),
            tokens,
        })
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// `text` as microseconds since the Unix epoch, UTC.
    pub fn parse_timestamp_micros(&self, text: &str) -> Result<i64, Mismatch> {
        let fields = self.fields(text)?;
        if fields.nanosecond.is_some_and(|n| n % 1000 != 0) {
            return Err(Mismatch("more precise than a microsecond".into()));
        }
        let local = NaiveDateTime::new(fields.date()?, fields.time()?);
        let micros = local.and_utc().timestamp_micros();
        Ok(micros - i64::from(fields.offset.unwrap_or(0)) * 1_000_000)
    }

    /// `text` as days since 1970-01-01.
    pub fn parse_date_days(&self, text: &str) -> Result<i32, Mismatch> {
        let date = self.fields(text)?.date()?;
        let days = date.signed_duration_since(NaiveDate::default()).num_days();
        i32::try_from(days).map_err(|_| Mismatch("date out of range".into()))
    }

    /// `micros` (since the Unix epoch, UTC) written in this pattern, as Spark's
    /// `date_format` writes it in a UTC session: an offset is `Z` or `+00:00`.
    pub fn format_micros(&self, micros: i64) -> Result<String, Mismatch> {
        let time = chrono::DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| Mismatch(format!("{micros} µs is out of range")))?
            .naive_utc();
        let mut text = String::new();
        format_tokens(&self.tokens, &time, &mut text);
        Ok(text)
    }

    fn fields(&self, text: &str) -> Result<Fields, Mismatch> {
        let mut fields = Fields::default();
        let rest = parse(&self.tokens, text, &mut fields)?;
        if !rest.is_empty() {
            let rest = excerpt(rest.as_bytes(), EXCERPT_CHARS);
            return Err(Mismatch(format!("unexpected '{rest}' at the end")));
        }
        Ok(fields)
    }
}

impl fmt::Display for DateTimePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// Splits a pattern into tokens: letter runs, quoted or other literals, `[...]` groups.
fn tokenize(pattern: &str) -> Result<Vec<Token>, String> {
    // The groups being built: the pattern itself, then each open `[`.
    let mut groups: Vec<Vec<Token>> = vec![Vec::new()];
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            '\'' => Token::Literal(quoted(&mut chars)?),
            '[' => {
                groups.push(Vec::new());
                continue;
            }
            ']' => {
                let group = groups.pop().filter(|_| !groups.is_empty());
                Token::Optional(group.ok_or("']' without '['")?)
            }
            c if c.is_ascii_alphabetic() => {
                let mut count = 1;
                while chars.next_if_eq(&c).is_some() {
                    count += 1;
                }
                letters(c, count)?
            }
            c => Token::Literal(c.to_string()),
        };
        let group = groups.last_mut().expect("the pattern's own group");
        match (group.last_mut(), token) {
            // Neighbouring literals are one, so that a value is matched in fewer steps.
            (Some(Token::Literal(last)), Token::Literal(next)) => last.push_str(&next),
            (_, token) => group.push(token),
        }
    }
    match groups.len() {
        1 => Ok(groups.pop().expect("one group")),
        _ => Err("'[' without ']'".into()),
    }
}

/// The text of a quoted literal after its opening quote; `''` is a quote, in or out.
fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut text = String::new();
    if chars.next_if_eq(&'\'').is_some() {
        return Ok("'".into());
    }
    loop {
        match chars.next() {
            None => return Err("unterminated quoted text".into()),
            Some('\'') if chars.next_if_eq(&'\'').is_some() => text.push('\''),
            Some('\'') => return Ok(text),
            Some(c) => text.push(c),
        }
    }
}

/// The token for `count` repetitions of pattern letter `c`.
fn letters(c: char, count: usize) -> Result<Token, String> {
    let number = |field, min, max| Token::Number { field, min, max };
    let pair = |field| match count {
        1 => Ok(number(field, 1, 2)),
        2 => Ok(number(field, 2, 2)),
        _ => Err(too_many(c, count)),
    };
    let offset = |z, style: usize| {
        let (colon, minutes, seconds) = match style {
            1 => (false, false, false),
            2 => (false, true, false),
            3 => (true, true, false),
            4 => (false, true, true),
            5 => (true, true, true),
            _ => return Err(too_many(c, count)),
        };
        Ok(Token::Offset(Offset {
            z,
            colon,
            minutes,
            seconds,
        }))
    };
    match c {
        'y' if count == 2 => Ok(Token::Year2),
        'y' => Ok(number(Field::Year, count, count.max(4))),
        'M' | 'L' => match count {
            3 | 4 => Ok(Token::MonthName { long: count == 4 }),
            _ => pair(Field::Month),
        },
        'd' => pair(Field::Day),
        'D' if count <= 3 => Ok(number(Field::DayOfYear, count, 3)),
        'E' if count <= 4 => Ok(Token::WeekdayName { long: count == 4 }),
        'a' if count == 1 => Ok(Token::AmPm),
        'H' => pair(Field::Hour),
        'h' => pair(Field::ClockHourOfAmPm),
        'K' => pair(Field::HourOfAmPm),
        'k' => pair(Field::ClockHour),
        'm' => pair(Field::Minute),
        's' => pair(Field::Second),
        'S' if count <= 9 => Ok(Token::Fraction { max: count }),
        'X' => offset(true, count),
        'x' => offset(false, count),
        // `Z`–`ZZZ` are +HHMM; `ZZZZZ` is `XXXXX` (`ZZZZ`, "GMT+08:00", is not supported).
        'Z' if count <= 3 => offset(false, 2),
        'Z' if count == 5 => offset(true, 5),
        'D' | 'E' | 'a' | 'S' | 'Z' => Err(too_many(c, count)),
        _ => Err(format!(
            "pattern letter '{c}' is not supported (supported: {SUPPORTED}; quote literal text, e.g. 'T')"
        )),
    }
}

fn too_many(c: char, count: usize) -> String {
    format!("'{}' has too many letters", c.to_string().repeat(count))
}

/// What a value's tokens have given so far.
#[derive(Clone, Debug, Default)]
struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: Option<u32>,
    /// 0–11, from `h` or `K`.
    hour_of_am_pm: Option<u32>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    nanosecond: Option<u32>,
    weekday: Option<Weekday>,
    /// Seconds east of UTC.
    offset: Option<i32>,
}

/// Sets `slot`, unless a different value was already given for it.
fn set<T: PartialEq + Copy>(slot: &mut Option<T>, value: T) -> Result<(), Mismatch> {
    match slot.replace(value) {
        Some(old) if old != value => Err(Mismatch("conflicting values for one field".into())),
        _ => Ok(()),
    }
}

impl Fields {
    fn set_number(&mut self, field: Field, n: u32) -> Result<(), Mismatch> {
        let out_of_range = || Mismatch(format!("{n} is out of range"));
        match field {
            Field::Year => set(&mut self.year, n as i32),
            Field::Month => set(&mut self.month, n),
            Field::Day => set(&mut self.day, n),
            Field::DayOfYear => set(&mut self.day_of_year, n),
            Field::Hour => set(&mut self.hour, n),
            Field::ClockHourOfAmPm if (1..=12).contains(&n) => set(&mut self.hour_of_am_pm, n % 12),
            Field::HourOfAmPm if n < 12 => set(&mut self.hour_of_am_pm, n),
            Field::ClockHour if (1..=24).contains(&n) => set(&mut self.hour, n % 24),
            Field::Minute => set(&mut self.minute, n),
            Field::Second => set(&mut self.second, n),
            Field::ClockHourOfAmPm | Field::HourOfAmPm | Field::ClockHour => Err(out_of_range()),
        }
    }

    /// The date, with Spark's defaults for what the pattern leaves out.
    fn date(&self) -> Result<NaiveDate, Mismatch> {
        let invalid = || Mismatch("not a valid date".into());
        let year = self.year.unwrap_or(1970);
        let date = match (self.day_of_year, self.month, self.day) {
            (Some(ordinal), month, day) => {
                let date = NaiveDate::from_yo_opt(year, ordinal).ok_or_else(invalid)?;
                let agrees =
                    month.is_none_or(|m| m == date.month()) && day.is_none_or(|d| d == date.day());
                agrees.then_some(date).ok_or_else(invalid)?
            }
            (None, month, day) => {
                NaiveDate::from_ymd_opt(year, month.unwrap_or(1), day.unwrap_or(1))
                    .ok_or_else(invalid)?
            }
        };
        match self.weekday {
            Some(weekday) if weekday != date.weekday() => Err(Mismatch(format!(
                "{date} is not a {}",
                WEEKDAYS[weekday.num_days_from_monday() as usize]
            ))),
            _ => Ok(date),
        }
    }

    /// The time of day; an `h` hour without `a` is AM, as in Spark.
    fn time(&self) -> Result<NaiveTime, Mismatch> {
        let hour = match (self.hour, self.hour_of_am_pm, self.pm) {
            (Some(hour), None, Some(pm)) if (hour >= 12) != pm => {
                return Err(Mismatch(format!("hour {hour} contradicts AM/PM")));
            }
            (Some(hour), None, _) => hour,
            (None, Some(h), pm) => h + if pm == Some(true) { 12 } else { 0 },
            (None, None, _) => 0,
            (Some(_), Some(_), _) => {
                return Err(Mismatch("two hours of different kinds".into()));
            }
        };
        let (minute, second) = (self.minute.unwrap_or(0), self.second.unwrap_or(0));
        let nano = self.nanosecond.unwrap_or(0);
        NaiveTime::from_hms_nano_opt(hour, minute, second, nano)
            .ok_or_else(|| Mismatch("not a valid time of day".into()))
    }
}

/// Writes `time` as `tokens` say; an optional section is always written.
fn format_tokens(tokens: &[Token], time: &NaiveDateTime, out: &mut String) {
    use std::fmt::Write;
    for token in tokens {
        let _ = match token {
            Token::Literal(text) => write!(out, "{text}"),
            Token::Number { field, min, .. } => {
                write!(out, "{:0width$}", field_value(*field, time), width = *min)
            }
            Token::Year2 => write!(out, "{:02}", time.year().rem_euclid(100)),
            Token::Fraction { max } => {
                let nanos = format!("{:09}", time.nanosecond());
                write!(out, "{}", &nanos[..(*max).min(9)])
            }
            Token::MonthName { long } => {
                let name = MONTHS[time.month0() as usize];
                write!(out, "{}", if *long { name } else { &name[..3] })
            }
            Token::WeekdayName { long } => {
                let name = WEEKDAYS[time.weekday().num_days_from_monday() as usize];
                write!(out, "{}", if *long { name } else { &name[..3] })
            }
            Token::AmPm => write!(out, "{}", if time.hour() < 12 { "AM" } else { "PM" }),
            Token::Offset(offset) => write!(out, "{}", format_utc_offset(offset)),
            Token::Optional(inner) => {
                format_tokens(inner, time, out);
                Ok(())
            }
        };
    }
}

fn field_value(field: Field, time: &NaiveDateTime) -> i64 {
    let hour = time.hour();
    i64::from(match field {
        Field::Year => return i64::from(time.year()),
        Field::Month => time.month(),
        Field::Day => time.day(),
        Field::DayOfYear => time.ordinal(),
        Field::Hour => hour,
        Field::ClockHourOfAmPm => (hour + 11) % 12 + 1,
        Field::HourOfAmPm => hour % 12,
        Field::ClockHour => (hour + 23) % 24 + 1,
        Field::Minute => time.minute(),
        Field::Second => time.second(),
    })
}

/// UTC as an offset letter writes it: `Z` for `X`…, else zeros.
fn format_utc_offset(offset: &Offset) -> &'static str {
    match (offset.z, offset.colon, offset.minutes) {
        (true, _, _) => "Z",
        (false, true, _) => "+00:00",
        (false, false, true) => "+0000",
        (false, false, false) => "+00",
    }
}

/// Matches `tokens` at the start of `text`; returns the rest.
fn parse<'t>(
    tokens: &[Token],
    mut text: &'t str,
    fields: &mut Fields,
) -> Result<&'t str, Mismatch> {
    for token in tokens {
        text = match token {
            Token::Optional(inner) => {
                let mut tried = fields.clone();
                match parse(inner, text, &mut tried) {
                    Ok(rest) => {
                        *fields = tried;
                        rest
                    }
                    Err(_) => text,
                }
            }
            token => parse_one(token, text, fields)?,
        };
    }
    Ok(text)
}

fn parse_one<'t>(token: &Token, text: &'t str, fields: &mut Fields) -> Result<&'t str, Mismatch> {
    match token {
        Token::Literal(literal) => match prefix(text, literal) {
            Some(rest) => Ok(rest),
            None => Err(Mismatch(format!("expected '{literal}' {}", at(text)))),
        },
        Token::Number { field, min, max } => {
            let (n, rest) = digits(text, *min, *max)?;
            fields.set_number(*field, n)?;
            Ok(rest)
        }
        Token::Year2 => {
            let (n, rest) = digits(text, 2, 2)?;
            set(&mut fields.year, 2000 + n as i32)?;
            Ok(rest)
        }
        Token::Fraction { max } => {
            let (n, rest) = digits(text, 1, *max)?;
            let scale = 10u32.pow((9 - (text.len() - rest.len())) as u32);
            set(&mut fields.nanosecond, n * scale)?;
            Ok(rest)
        }
        Token::MonthName { long } => {
            let (index, rest) = name(text, &MONTHS, *long, "a month name")?;
            set(&mut fields.month, index as u32 + 1)?;
            Ok(rest)
        }
        Token::WeekdayName { long } => {
            let (index, rest) = name(text, &WEEKDAYS, *long, "a weekday name")?;
            let weekday = Weekday::try_from(index as u8).expect("0 to 6");
            set(&mut fields.weekday, weekday)?;
            Ok(rest)
        }
        Token::AmPm => {
            let (index, rest) = name(text, &["AM", "PM"], true, "AM or PM")?;
            set(&mut fields.pm, index == 1)?;
            Ok(rest)
        }
        Token::Offset(style) => {
            let (seconds, rest) = offset(text, style)?;
            set(&mut fields.offset, seconds)?;
            Ok(rest)
        }
        Token::Optional(_) => unreachable!("parse handles optional sections"),
    }
}

/// Where in the value a mismatch is: the text left there.
fn at(text: &str) -> String {
    match text {
        "" => "at the end".into(),
        // Escaped and cut: the text is record data, quoted into reasons and logs.
        text => format!("at '{}'", excerpt(text.as_bytes(), EXCERPT_CHARS)),
    }
}

/// `text` after `literal`, ignoring ASCII case (Spark's parser is case-insensitive).
fn prefix<'t>(text: &'t str, literal: &str) -> Option<&'t str> {
    let head = text.get(..literal.len())?;
    head.eq_ignore_ascii_case(literal)
        .then(|| &text[literal.len()..])
}

/// The number written with `min` to `max` ASCII digits at the start of `text`.
fn digits(text: &str, min: usize, max: usize) -> Result<(u32, &str), Mismatch> {
    let len = (text.bytes().take(max))
        .take_while(u8::is_ascii_digit)
        .count();
    if len < min {
        let wanted = match min == max {
            true => format!("{min}"),
            false => format!("{min} to {max}"),
        };
        return Err(Mismatch(format!("expected {wanted} digits {}", at(text))));
    }
    let n = text[..len].parse().expect("at most 9 ASCII digits");
    Ok((n, &text[len..]))
}

/// Which of `names` (or their first three letters, unless `long`) starts `text`.
fn name<'t>(
    text: &'t str,
    names: &[&str],
    long: bool,
    what: &str,
) -> Result<(usize, &'t str), Mismatch> {
    let found = names.iter().enumerate().find_map(|(i, full)| {
        let name = if long { full } else { &full[..3] };
        prefix(text, name).map(|rest| (i, rest))
    });
    found.ok_or_else(|| Mismatch(format!("expected {what} {}", at(text))))
}

/// A zone offset at the start of `text`, in seconds east of UTC.
fn offset<'t>(text: &'t str, style: &Offset) -> Result<(i32, &'t str), Mismatch> {
    if style.z {
        if let Some(rest) = prefix(text, "Z") {
            return Ok((0, rest));
        }
    }
    let sign = match text.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(Mismatch(format!("expected a zone offset {}", at(text)))),
    };
    let (hours, mut rest) = digits(&text[1..], 2, 2)?;
    let part = |rest: &mut &'t str, required: bool| -> Result<u32, Mismatch> {
        let separated = match style.colon {
            true => rest.strip_prefix(':'),
            false => Some(*rest),
        };
        match separated.map(|r| digits(r, 2, 2)) {
            Some(Ok((n, tail))) => {
                *rest = tail;
                Ok(n)
            }
            Some(Err(e)) if required => Err(e),
            None if required => Err(Mismatch(format!("expected ':' {}", at(rest)))),
            _ => Ok(0),
        }
    };
    let minutes = part(&mut rest, style.minutes)?;
    let seconds = if style.seconds {
        part(&mut rest, false)?
    } else {
        0
    };
    if hours > 18 || minutes > 59 || seconds > 59 {
        return Err(Mismatch("zone offset out of range".into()));
    }
    Ok((sign * (hours * 3600 + minutes * 60 + seconds) as i32, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(pattern: &str, text: &str) -> Result<i64, String> {
        let pattern = DateTimePattern::new(pattern).map_err(|e| e.to_string())?;
        pattern.parse_timestamp_micros(text).map_err(|e| e.0)
    }

    fn days(pattern: &str, text: &str) -> Result<i32, String> {
        let pattern = DateTimePattern::new(pattern).unwrap();
        pattern.parse_date_days(text).map_err(|e| e.0)
    }

    /// 2024-03-05T14:07:09Z in µs.
    const T: i64 = 1_709_647_629_000_000;

    #[test]
    fn formats_as_spark_date_format_does_in_utc() {
        let format = |p: &str, t: i64| DateTimePattern::new(p).unwrap().format_micros(t).unwrap();
        assert_eq!(format("yyyy-MM-dd HH:mm:ss", T), "2024-03-05 14:07:09");
        assert_eq!(format("d/M/yy h:mm a", T), "5/3/24 2:07 PM");
        assert_eq!(format("EEE, dd MMM yyyy", T), "Tue, 05 Mar 2024");
        assert_eq!(format("EEEE MMMM D", T), "Tuesday March 65");
        assert_eq!(format("HH:mm:ss.SSSXXX", T + 120_000), "14:07:09.120Z");
        assert_eq!(
            format("yyyy-MM-dd'T'HH:mm:ssxxx", T),
            "2024-03-05T14:07:09+00:00"
        );
        assert_eq!(format("yyyy-MM-dd", -86_400_000_000), "1969-12-31");
    }

    #[test]
    fn common_timestamp_patterns() {
        assert_eq!(micros("yyyy-MM-dd HH:mm:ss", "2024-03-05 14:07:09"), Ok(T));
        assert_eq!(micros("dd/MM/yyyy HH:mm:ss", "05/03/2024 14:07:09"), Ok(T));
        assert_eq!(micros("yyyyMMddHHmmss", "20240305140709"), Ok(T));
        assert_eq!(micros("d/M/yy H:m:s", "5/3/24 14:7:9"), Ok(T));
        let iso = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
        assert_eq!(micros(iso, "2024-03-05T14:07:09.123Z"), Ok(T + 123_000));
        assert_eq!(micros(iso, "2024-03-05T16:07:09.5+02:00"), Ok(T + 500_000));
        assert_eq!(micros(iso, "2024-03-05t10:37:09.000-03:30"), Ok(T));
        assert_eq!(
            micros("MMM d, yyyy h:mm:ss a", "Mar 5, 2024 2:07:09 PM"),
            Ok(T)
        );
        assert_eq!(
            micros(
                "EEEE, MMMM dd yyyy HH:mm:ss",
                "tuesday, MARCH 05 2024 14:07:09"
            ),
            Ok(T)
        );
        assert_eq!(
            micros("yyyy-MM-dd HH:mm:ss.SSSSSS", "2024-03-05 14:07:09.000001"),
            Ok(T + 1)
        );
        assert_eq!(
            micros("yyyy-MM-dd HH:mm:ssZ", "2024-03-05 15:07:09+0100"),
            Ok(T)
        );
        assert_eq!(
            micros("yyyy-MM-dd HH:mm:ssX", "2024-03-05 15:07:09+01"),
            Ok(T)
        );
        assert_eq!(
            micros("yyyy-MM-dd HH:mm:ssxx", "2024-03-05 15:37:09+0130"),
            Ok(T)
        );
        assert_eq!(micros("yyyy-DDD kk:mm:ss", "2024-065 14:07:09"), Ok(T));
        assert_eq!(
            micros("yyyy-MM-dd kk:mm", "2024-03-05 24:00"),
            Ok(T - 50_829_000_000)
        );
        assert_eq!(
            micros("yyyy-MM-dd hh:mm:ss", "2024-03-05 12:07:09"),
            Ok(T - 50_400_000_000)
        );
    }

    #[test]
    fn optional_sections_quotes_and_defaults() {
        let p = "yyyy-MM-dd[ HH:mm[:ss]]";
        assert_eq!(micros(p, "2024-03-05 14:07:09"), Ok(T));
        assert_eq!(micros(p, "2024-03-05 14:07"), Ok(T - 9_000_000));
        assert_eq!(micros(p, "2024-03-05"), Ok(T - 50_829_000_000));
        assert_eq!(
            micros("'at' HH 'o''clock'", "AT 14 o'clock"),
            Ok(50_400_000_000)
        );
        assert_eq!(micros("HH''mm", "14'07"), Ok(50_820_000_000));
        assert_eq!(micros("MM-dd", "01-02"), Ok(86_400_000_000));
    }

    #[test]
    fn values_that_do_not_match_are_refused_with_the_reason() {
        let p = "yyyy-MM-dd HH:mm:ss";
        assert_eq!(
            micros(p, "2024-3-05 14:07:09"),
            Err("expected 2 digits at '3-05 14:07:09'".into())
        );
        assert_eq!(
            micros(p, "2024-03-05T14:07:09"),
            Err("expected ' ' at 'T14:07:09'".into())
        );
        assert_eq!(
            micros(p, "2024-03-05 14:07:09.5"),
            Err("unexpected '.5' at the end".into())
        );
        assert_eq!(
            micros(p, "2023-02-29 00:00:00"),
            Err("not a valid date".into())
        );
        assert_eq!(
            micros(p, "2024-03-05 24:00:00"),
            Err("not a valid time of day".into())
        );
        assert_eq!(
            micros("yyyy-MM-dd HH:mm:ss.SSS", "2024-03-05 14:07:09.1234"),
            Err("unexpected '4' at the end".into())
        );
        assert_eq!(
            micros("EEE yyyy-MM-dd", "Mon 2024-03-05"),
            Err("2024-03-05 is not a Monday".into())
        );
        assert_eq!(micros("hh a", "13 PM"), Err("13 is out of range".into()));
        assert_eq!(
            micros("HH a", "09 PM"),
            Err("hour 9 contradicts AM/PM".into())
        );
        assert_eq!(
            micros("HHX", "09+19"),
            Err("zone offset out of range".into())
        );
        assert_eq!(
            micros("HHXXX", "09+0100"),
            Err("expected ':' at '00'".into())
        );
        assert_eq!(
            micros("HHxxx", "09Z"),
            Err("expected a zone offset at 'Z'".into())
        );
        let nanos = micros("HH:mm:ss.SSSSSSSSS", "00:00:00.123456789");
        assert_eq!(nanos, Err("more precise than a microsecond".into()));
    }

    #[test]
    fn bad_patterns_are_refused() {
        let err = |p: &str| DateTimePattern::new(p).unwrap_err().to_string();
        assert_eq!(
            err("yyyy-MM-ddTHH"),
            "invalid datetime pattern 'yyyy-MM-ddTHH': pattern letter 'T' is not supported \
             (supported: y M L d D E a h K k H m s S X x Z; quote literal text, e.g. 'T')"
        );
        assert_eq!(
            err("yyyy-MMMMM"),
            "invalid datetime pattern 'yyyy-MMMMM': 'MMMMM' has too many letters"
        );
        assert_eq!(
            err("ddd"),
            "invalid datetime pattern 'ddd': 'ddd' has too many letters"
        );
        assert_eq!(
            err("yyyy'T"),
            "invalid datetime pattern 'yyyy'T': unterminated quoted text"
        );
        assert_eq!(
            err("yyyy[MM"),
            "invalid datetime pattern 'yyyy[MM': '[' without ']'"
        );
        assert_eq!(
            err("yyyy]"),
            "invalid datetime pattern 'yyyy]': ']' without '['"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(days("yyyy-MM-dd", "1970-01-02"), Ok(1));
        assert_eq!(days("dd/MM/yyyy", "01/01/2024"), Ok(19_723));
        assert_eq!(days("dd/MM/yyyy", "31/12/1969"), Ok(-1));
        assert_eq!(days("yyyy-MM-dd HH:mm", "2024-01-01 23:59"), Ok(19_723));
        assert_eq!(days("d MMMM yyyy", "1 january 2024"), Ok(19_723));
        assert_eq!(
            days("dd/MM/yyyy", "2024-01-01"),
            Err("expected '/' at '24-01-01'".into())
        );
    }

    #[test]
    fn mismatches_quote_the_text_escaped_and_cut() {
        assert_eq!(
            days("yyyy-MM-dd", "2024-01-01\n\u{1b}[2J"),
            Err("unexpected '\\n\\u{1b}[2J' at the end".into())
        );
        let long = format!("01/{}", "x".repeat(200));
        let expected = format!("expected 2 digits at '{}…'", "x".repeat(80));
        assert_eq!(days("dd/MM/yyyy", &long), Err(expected));
    }
}
