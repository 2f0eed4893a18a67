//! Checks on raw record bytes that arrow-rs's readers do not make, so that a value is
//! read exactly as written or its record is rejected: JSON number syntax, exact decimal
//! scaling, CSV quoting and UTF-8 per field, and escaped excerpts for reasons and logs.

/// Characters of record text quoted in a reason or log line.
pub const EXCERPT_CHARS: usize = 80;

/// `bytes` as text for a log line or reason: control characters (NUL, newlines, escape
/// codes) escaped as `\0`, `\n`, `\u{1b}`, bytes that are not UTF-8 as `\xff`, and cut
/// after `max_chars` characters with a trailing `…`, so a record can neither forge log
/// lines nor flood them.
pub fn excerpt(bytes: &[u8], max_chars: usize) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if chars == max_chars {
                return out + "…";
            }
            match c {
                '\0' => out.push_str("\\0"),
                c if c.is_control() => out.extend(c.escape_debug()),
                c => out.push(c),
            }
            chars += 1;
        }
        for b in chunk.invalid() {
            if chars == max_chars {
                return out + "…";
            }
            out.push_str(&format!("\\x{b:02x}"));
            chars += 1;
        }
    }
    out
}

/// Whether `text` is a number as JSON (RFC 8259) writes one: no leading zeros, no `+`,
/// digits on both sides of a `.`, digits after an exponent.
pub fn is_json_number(text: &[u8]) -> bool {
    let digits = |i: &mut usize| {
        let start = *i;
        while text.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    let mut i = usize::from(text.first() == Some(&b'-'));
    match text.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => _ = digits(&mut i),
        _ => return false,
    }
    if text.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        i += usize::from(matches!(text.get(i), Some(b'+' | b'-')));
        if !digits(&mut i) {
            return false;
        }
    }
    i == text.len()
}

/// Why a number cannot be held exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inexact {
    /// It has a fractional part.
    Fraction,
    /// Its magnitude is beyond an i64.
    Range,
}

/// `text`, a valid JSON number, times 10^`shift`, exactly: an i64, or why not. Computed
/// on the decimal digits, never through a float, so `1.000001` seconds is exactly
/// 1000001 µs and `1.0000001` is refused rather than rounded.
pub fn scaled_integer(text: &str, shift: i32) -> Result<i64, Inexact> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    let trailing_zeros = (digits.len() - significant.len()) as i64;
    // A huge exponent is out of range (or below a unit) whatever the digits.
    let exponent: i64 = exponent.parse().unwrap_or(if exponent.starts_with('-') {
        i64::MIN / 2
    } else {
        i64::MAX / 2
    });
    let scale = exponent + trailing_zeros - fraction.len() as i64 + i64::from(shift);
    if scale < 0 {
        return Err(Inexact::Fraction);
    }
    if significant.len() > 19 || scale > 18 {
        return Err(Inexact::Range);
    }
    let value: i128 = significant.parse().map_err(|_| Inexact::Range)?;
    let value = value * 10i128.pow(scale as u32);
    i64::try_from(if negative { -value } else { value }).map_err(|_| Inexact::Range)
}

/// What is wrong with one field of a CSV record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadField {
    /// The field's index, from 0.
    pub column: usize,
    /// Why, without the column's name.
    pub why: String,
}

/// The first field of a CSV `record` that is not written by the one quoting rule ferry
/// reads (RFC 4180: a field is either quoted whole, with the quote doubled inside, or
/// holds no quote), or whose bytes are not UTF-8. arrow-rs's reader would drop the
/// quotes of `"a"b` and read `ab`, and blame a later column for bad bytes. A quoted field
/// left open is not reported here: the decoder rejects it as unterminated.
/// `value` checks each field's text (without its quotes) further, by column.
pub fn bad_csv_field(
    record: &[u8],
    delimiter: u8,
    quote: u8,
    value: impl Fn(usize, &[u8]) -> Option<String>,
) -> Option<BadField> {
    let (mut start, mut column) = (0, 0);
    loop {
        let (end, why, text) = match record.get(start) {
            Some(&b) if b == quote => {
                let (end, why) = quoted_field_end(record, start, delimiter, quote)?;
                let text = record.get(start + 1..end.saturating_sub(1)).unwrap_or(&[]);
                (end, why, text)
            }
            _ => {
                let (end, why) = unquoted_field_end(record, start, delimiter, quote);
                (end, why, &record[start..end])
            }
        };
        let why = (why.or_else(|| not_utf8(&record[start..end]))).or_else(|| value(column, text));
        if let Some(why) = why {
            return Some(BadField { column, why });
        }
        if end >= record.len() {
            return None;
        }
        (start, column) = (end + 1, column + 1);
    }
}

/// Where the quoted field starting at `start` ends (its closing quote's successor), and
/// what is wrong with it; `None` if it is never closed.
fn quoted_field_end(
    record: &[u8],
    start: usize,
    delimiter: u8,
    quote: u8,
) -> Option<(usize, Option<String>)> {
    let mut i = start + 1;
    loop {
        i += record[i..].iter().position(|&b| b == quote)? + 1;
        if record.get(i) != Some(&quote) {
            break;
        }
        i += 1;
    }
    match record.get(i) {
        None => Some((i, None)),
        Some(&b) if b == delimiter => Some((i, None)),
        Some(_) => {
            let end = field_end(record, i, delimiter);
            let why = format!(
                "text after the closing quote in '{}'",
                excerpt(&record[start..end], EXCERPT_CHARS)
            );
            Some((end, Some(why + QUOTE_HINT)))
        }
    }
}

fn unquoted_field_end(
    record: &[u8],
    start: usize,
    delimiter: u8,
    quote: u8,
) -> (usize, Option<String>) {
    let end = field_end(record, start, delimiter);
    let text = &record[start..end];
    let why = text.contains(&quote).then(|| {
        let text = excerpt(text, EXCERPT_CHARS);
        format!("quote character inside the unquoted field '{text}'{QUOTE_HINT}")
    });
    (end, why)
}

/// How to write a field with a quote in it.
const QUOTE_HINT: &str =
    "; a field with a quote must be quoted whole, the quote doubled: \"a\"\"b\"";

fn field_end(record: &[u8], from: usize, delimiter: u8) -> usize {
    let len = record[from..].iter().position(|&b| b == delimiter);
    len.map_or(record.len(), |len| from + len)
}

/// How many digits a number written `[+-]digits[.digits][e[+-]digits]` has after the
/// point once trailing zeros are dropped and the exponent applied (`1.50` has 1, `1.5e-2`
/// has 3, `15e1` has -1); `None` if `text` is not written so.
pub fn decimal_places(text: &[u8]) -> Option<i64> {
    let text = text
        .strip_prefix(b"-")
        .or(text.strip_prefix(b"+"))
        .unwrap_or(text);
    let (mantissa, exponent) = match text.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(e) => (&text[..e], Some(&text[e + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = match mantissa.iter().position(|&b| b == b'.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &[][..]),
    };
    let digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let unsigned = e.strip_prefix(b"-").or(e.strip_prefix(b"+")).unwrap_or(e);
            if unsigned.is_empty() || !digits(unsigned) {
                return None;
            }
            std::str::from_utf8(e).ok()?.parse().ok()?
        }
    };
    let significant = fraction
        .iter()
        .rposition(|&b| b != b'0')
        .map_or(0, |i| i + 1);
    Some(significant as i64 - exponent)
}

/// Why `field` is not UTF-8, if it is not: where, and the bad bytes.
pub(super) fn not_utf8(field: &[u8]) -> Option<String> {
    let error = std::str::from_utf8(field).err()?;
    let at = error.valid_up_to();
    let bad = &field[at..at + error.error_len().unwrap_or(field.len() - at)];
    let bad: Vec<String> = bad.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!(
        "invalid UTF-8 (byte {} of the field: {})",
        at + 1,
        bad.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_escape_control_bytes_and_stop_at_the_limit() {
        assert_eq!(
            excerpt(b"a\0b\nc\x1b[31m\"d\\", 80),
            "a\\0b\\nc\\u{1b}[31m\"d\\"
        );
        assert_eq!(excerpt(b"ok \xff\xfe end", 80), "ok \\xff\\xfe end");
        assert_eq!(excerpt("héllo wörld".as_bytes(), 5), "héllo…");
        assert_eq!(excerpt(b"abc", 3), "abc");
        assert_eq!(excerpt(b"\xff\xff\xff\xff", 2), "\\xff\\xff…");
    }

    #[test]
    fn json_number_syntax_is_rfc_8259() {
        let valid = [
            "0", "-0", "7", "-12", "1.5", "0.25", "1e3", "1E+3", "2.5e-7", "10",
        ];
        for text in valid {
            assert!(is_json_number(text.as_bytes()), "{text}");
        }
        let invalid = [
            "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "1.5.5", "1-2", "",
        ];
        for text in invalid {
            assert!(!is_json_number(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn decimal_places_count_significant_fraction_digits() {
        let places = |t: &str| decimal_places(t.as_bytes());
        assert_eq!(places("1.50"), Some(1));
        assert_eq!(places("-12.345"), Some(3));
        assert_eq!(places("+7"), Some(0));
        assert_eq!(places(".5"), Some(1));
        assert_eq!(places("5."), Some(0));
        assert_eq!(places("1.5e-2"), Some(3));
        assert_eq!(places("15E1"), Some(-1));
        assert_eq!(places("1,5"), None);
        assert_eq!(places("."), None);
        assert_eq!(places("1e"), None);
        assert_eq!(places("abc"), None);
    }

    #[test]
    fn a_field_check_sees_each_fields_text_without_quotes() {
        let check = |column: usize, text: &[u8]| {
            (column == 1 && text == b"x,y").then(|| "seen".to_string())
        };
        let b = bad_csv_field(b"\"x,y\",\"x,y\"", b',', b'"', check).unwrap();
        assert_eq!((b.column, b.why.as_str()), (1, "seen"));
    }

    #[test]
    fn scaling_is_exact_or_refused() {
        assert_eq!(scaled_integer("1.5", 6), Ok(1_500_000));
        assert_eq!(scaled_integer("-1.000001", 6), Ok(-1_000_001));
        assert_eq!(scaled_integer("1.0000001", 6), Err(Inexact::Fraction));
        assert_eq!(scaled_integer("1.50000000000", 6), Ok(1_500_000));
        assert_eq!(scaled_integer("1709647629", 6), Ok(1_709_647_629_000_000));
        assert_eq!(scaled_integer("1.7e9", 6), Ok(1_700_000_000_000_000));
        assert_eq!(scaled_integer("0.000", 0), Ok(0));
        assert_eq!(scaled_integer("9223372036854775807", 0), Ok(i64::MAX));
        assert_eq!(scaled_integer("-9223372036854775808", 0), Ok(i64::MIN));
        assert_eq!(
            scaled_integer("9223372036854775808", 0),
            Err(Inexact::Range)
        );
        assert_eq!(
            scaled_integer("-9223372036854775809", 0),
            Err(Inexact::Range)
        );
        assert_eq!(scaled_integer("9223372036854776", 3), Err(Inexact::Range));
        assert_eq!(scaled_integer("1e400", 0), Err(Inexact::Range));
        assert_eq!(scaled_integer("1e-400", 0), Err(Inexact::Fraction));
        assert_eq!(scaled_integer("0e99999999999999999999", 0), Ok(0));
    }

    #[test]
    fn csv_fields_quoted_whole_or_without_quotes() {
        let bad = |r: &[u8]| bad_csv_field(r, b',', b'"', |_, _| None);
        assert_eq!(bad(br#"1,"a, b","say ""hi""",,x"#), None);
        assert_eq!(bad(br#"1,"unterminated"#), None);
        let b = bad(br#"1,"a"b,c"#).unwrap();
        assert_eq!(b.column, 1);
        assert!(
            b.why
                .starts_with(r#"text after the closing quote in '"a"b'; "#),
            "{}",
            b.why
        );
        let b = bad(br#"1,x,a"b"c"#).unwrap();
        assert_eq!(b.column, 2);
        assert!(
            b.why
                .starts_with(r#"quote character inside the unquoted field 'a"b"c'"#),
            "{}",
            b.why
        );
    }

    #[test]
    fn csv_fields_with_invalid_utf8_are_named() {
        let b = bad_csv_field(b"1,ok,caf\xe9,2", b',', b'"', |_, _| None).unwrap();
        assert_eq!(
            b,
            BadField {
                column: 2,
                why: "invalid UTF-8 (byte 4 of the field: e9)".into()
            }
        );
        let b = bad_csv_field(b"\"\xff\",1", b',', b'"', |_, _| None).unwrap();
        assert_eq!(
            (b.column, b.why.as_str()),
            (0, "invalid UTF-8 (byte 2 of the field: ff)")
        );
    }
}
