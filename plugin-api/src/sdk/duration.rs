//! Human durations in config: `"5s"`, `"100ms"`, `"3 minutes"`, `"1h30m"`, `"1.5s"`.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration \"{input}\": {problem}")]
pub struct DurationError {
    /// The string as written.
    pub input: String,
    /// What is wrong with it.
    pub problem: String,
}

const NANOS: [(&str, u128); 7] = [
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Parses a sequence of `<number><unit>` parts (`"1h30m"`, `"1.5 s"`); a bare `"0"` is zero.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let fail = |problem: String| DurationError {
        input: s.to_string(),
        problem,
    };
    let text = s.trim();
    if text.starts_with('-') {
        return Err(fail("negative durations are not allowed".into()));
    }
    if text.is_empty() {
        return Err(fail("empty (write e.g. 5s, 100ms or 1h30m)".into()));
    }
    if text.bytes().all(|b| b == b'0') {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, tail) = part(rest).map_err(&fail)?;
        total = total.saturating_add(nanos);
        rest = tail.trim_start();
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| fail("too large".into()))?;
    Ok(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// Parses one `<number> <unit>` from the front of `s`: its nanoseconds and the rest.
fn part(s: &str) -> Result<(u128, &str), String> {
    let num_end = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(num_end);
    if num.is_empty() {
        return Err(format!("expected a number at '{s}'"));
    }
    let rest = rest.trim_start();
    let unit_end = rest
        .find(|c: char| !c.is_alphabetic())
        .unwrap_or(rest.len());
    let (unit, rest) = rest.split_at(unit_end);
    if unit.is_empty() {
        return Err(format!(
            "missing unit after '{num}' (e.g. {num}s or {num}ms)"
        ));
    }
    let scale = unit_nanos(unit)
        .ok_or_else(|| format!("unknown unit '{unit}' (use ns, us, ms, s, m, h or d)"))?;
    Ok((scaled(num, scale)?, rest))
}

fn unit_nanos(unit: &str) -> Option<u128> {
    let canonical = match unit.to_lowercase().as_str() {
        "d" | "day" | "days" => "d",
        "h" | "hr" | "hrs" | "hour" | "hours" => "h",
        "m" | "min" | "mins" | "minute" | "minutes" => "m",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => "ms",
        "us" | "µs" | "μs" | "micro" | "micros" | "microsecond" | "microseconds" => "us",
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => "ns",
        _ => return None,
    };
    NANOS.iter().find(|(u, _)| *u == canonical).map(|(_, n)| *n)
}

/// `num` (digits with an optional fraction) times `scale` nanoseconds, exactly.
fn scaled(num: &str, scale: u128) -> Result<u128, String> {
    let bad = || format!("'{num}' is not a number");
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(bad());
    }
    let int: u128 = match int {
        "" => 0,
        i => i.parse().map_err(|_| bad())?,
    };
    // Digits past the 18th cannot matter at nanosecond resolution.
    let frac = &frac[..frac.len().min(18)];
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    let whole = int.checked_mul(scale).ok_or("too large")?;
    Ok(whole + frac_value * scale / 10u128.pow(frac.len() as u32))
}

/// A [`Duration`] written as a human string in config (`"5s"`, `"1h30m"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    /// Writes the shortest exact form, e.g. `1h30m`, `1s500ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut left = self.0.as_nanos();
        if left == 0 {
            return f.write_str("0s");
        }
        for (unit, nanos) in NANOS {
            if left >= nanos {
                write!(f, "{}{unit}", left / nanos)?;
                left %= nanos;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map(Self).map_err(de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for HumanDuration {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "HumanDuration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration: a number and a unit (ns, us, ms, s, m, h, d), e.g. \"5s\", \"100ms\", \"3 minutes\", \"1h30m\".",
            "examples": ["5s", "100ms", "1h30m"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Duration {
        parse_duration(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(s: &str) -> String {
        parse_duration(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("100ms"), Duration::from_millis(100));
        assert_eq!(ok("3 minutes"), Duration::from_secs(180));
        assert_eq!(ok("1 minute"), Duration::from_secs(60));
        assert_eq!(ok("2h"), Duration::from_secs(7200));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("1h 30m"), Duration::from_secs(5400));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("250 millis"), Duration::from_millis(250));
        assert_eq!(ok("10 seconds"), Duration::from_secs(10));
        assert_eq!(ok("1 day"), Duration::from_secs(86_400));
        assert_eq!(ok("500us"), Duration::from_micros(500));
        assert_eq!(ok("500µs"), Duration::from_micros(500));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok(" 0s "), Duration::ZERO);
        assert_eq!(ok("0.25h"), Duration::from_secs(900));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("5S"), Duration::from_secs(5));
    }

    #[test]
    fn refuses_bad_input_with_the_reason() {
        assert_eq!(
            err("-5s"),
            "invalid duration \"-5s\": negative durations are not allowed"
        );
        assert_eq!(
            err("5"),
            "invalid duration \"5\": missing unit after '5' (e.g. 5s or 5ms)"
        );
        assert_eq!(
            err("5 parsecs"),
            "invalid duration \"5 parsecs\": unknown unit 'parsecs' (use ns, us, ms, s, m, h or d)"
        );
        assert!(err("").contains("empty"));
        assert!(err("abc").contains("expected a number at 'abc'"));
        assert!(err("1.2.3s").contains("'1.2.3' is not a number"));
        assert!(err("1h30").contains("missing unit after '30'"));
        assert!(err("99999999999999999999999d").contains("too large"));
    }

    #[test]
    fn human_duration_round_trips_through_serde() {
        let d: HumanDuration = serde_json::from_str("\"1h30m\"").unwrap();
        assert_eq!(d, HumanDuration(Duration::from_secs(5400)));
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"1h30m\"");
        let d = HumanDuration(Duration::from_millis(1500));
        assert_eq!(d.to_string(), "1s500ms");
        assert_eq!(ok(&d.to_string()), d.0);
        assert_eq!(HumanDuration::default().to_string(), "0s");
        let e = serde_json::from_str::<HumanDuration>("\"5x\"").unwrap_err();
        assert!(e.to_string().contains("unknown unit 'x'"), "{e}");
    }

    #[test]
    fn json_schema_is_a_described_string() {
        let schema = schemars::schema_for!(HumanDuration);
        assert_eq!(schema.get("type").unwrap(), "string");
        assert!(schema
            .get("description")
            .unwrap()
            .as_str()
            .unwrap()
            .contains("1h30m"));
    }
}
