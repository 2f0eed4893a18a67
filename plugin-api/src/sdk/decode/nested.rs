//! JSON values that arrow-rs would convert inexactly where columns.rs does not reach:
//! inside STRUCT, ARRAY and MAP values (1.5 into an integer field is 1, a number into a
//! TIMESTAMP field is microseconds, into a DATE field days) and in DECIMAL columns at any
//! depth (12.345 into DECIMAL(10,2) is 12.35). A record of a schema with such fields is
//! walked, byte by byte along the schema, before decoding, and rejected if a value would
//! change. The walk reads numbers from their text, so nothing goes through a float.

use arrow::datatypes::{DataType, Fields};

use super::exact::{excerpt, scaled_integer, Inexact, EXCERPT_CHARS};
use crate::sdk::ddl::data_type_to_ddl;

/// What the values at one place of the schema must satisfy.
#[derive(Debug)]
enum Rule {
    /// An integer (a JSON integer, or a string holding one) within `min..=max`.
    Integer {
        min: i64,
        max: i64,
        ddl: String,
    },
    /// No JSON number: its unit would be guessed.
    NoNumber {
        ddl: String,
        why: &'static str,
    },
    /// At most `scale` digits after the point.
    Decimal {
        scale: i32,
        ddl: String,
    },
    List(Box<Rule>),
    Struct(Vec<(String, Rule)>),
    /// The rule for a map's values.
    Map(Box<Rule>),
}

/// The checks for a schema's records; `None` from [`NestedValues::new`] when the
/// schema has nothing arrow-rs would convert inexactly, so such records are not walked.
#[derive(Debug)]
pub(super) struct NestedValues {
    fields: Vec<(String, Rule)>,
}

impl NestedValues {
    pub(super) fn new(fields: &Fields) -> Option<Self> {
        let fields = rules(fields, false);
        (!fields.is_empty()).then_some(Self { fields })
    }

    /// Why `record` (an object, or an array of objects) must be rejected, if it must.
    /// Malformed JSON is left to the decoder, which explains it.
    pub(super) fn check(&self, record: &[u8]) -> Option<String> {
        let mut walk = Walk {
            bytes: record,
            at: 0,
            bad: None,
        };
        let walked = match walk.peek() {
            Some(b'[') => walk.array(&mut |walk, _| walk.object(&self.fields, "")),
            _ => walk.object(&self.fields, ""),
        };
        let whole = walked.is_ok() && walk.peek().is_none();
        walk.bad.filter(|_| whole)
    }
}

/// The rules of `fields`; top-level (`nested` false) integer, TIMESTAMP and DATE columns
/// have none here, since columns.rs converts them.
fn rules(fields: &Fields, nested: bool) -> Vec<(String, Rule)> {
    let rules = fields.iter().filter_map(|f| {
        let rule = rule(f.data_type(), nested)?;
        Some((f.name().clone(), rule))
    });
    rules.collect()
}

fn rule(data_type: &DataType, nested: bool) -> Option<Rule> {
    let ddl = || data_type_to_ddl(data_type);
    let integer = |min, max| {
        Some(Rule::Integer {
            min,
            max,
            ddl: ddl(),
        })
    };
    match data_type {
        DataType::Int8 if nested => integer(i8::MIN.into(), i8::MAX.into()),
        DataType::Int16 if nested => integer(i16::MIN.into(), i16::MAX.into()),
        DataType::Int32 if nested => integer(i32::MIN.into(), i32::MAX.into()),
        DataType::Int64 if nested => integer(i64::MIN, i64::MAX),
        DataType::Timestamp(..) if nested => Some(Rule::NoNumber {
            ddl: ddl(),
            why: "a number inside a STRUCT, ARRAY or MAP is not read as a time; write an ISO 8601 string",
        }),
        DataType::Date32 if nested => Some(Rule::NoNumber {
            ddl: ddl(),
            why: "a number is not a date",
        }),
        DataType::Decimal128(_, scale) | DataType::Decimal256(_, scale) => Some(Rule::Decimal {
            scale: i32::from(*scale),
            ddl: ddl(),
        }),
        DataType::List(item) | DataType::LargeList(item) => {
            rule(item.data_type(), true).map(|r| Rule::List(Box::new(r)))
        }
        DataType::Struct(fields) => {
            let fields = rules(fields, true);
            (!fields.is_empty()).then_some(Rule::Struct(fields))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                rule(kv[1].data_type(), true).map(|r| Rule::Map(Box::new(r)))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A walk stops at JSON that is not valid: the decoder will say why.
struct Malformed;

type Step = Result<(), Malformed>;

/// A position in a record's bytes, and the first value found that would change: it is
/// reported only if the record is valid JSON to its end.
struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
    bad: Option<String>,
}

impl<'a> Walk<'a> {
    fn peek(&mut self) -> Option<u8> {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Step {
        if self.peek() != Some(byte) {
            return Err(Malformed);
        }
        self.at += 1;
        Ok(())
    }

    /// An object whose members named in `fields` are checked; `path` names it.
    fn object(&mut self, fields: &[(String, Rule)], path: &str) -> Step {
        self.members(&mut |walk, key| {
            let rule = fields.iter().find(|(name, _)| *name == key);
            match rule {
                Some((name, rule)) => walk.value(Some(rule), &join(path, name)),
                None => walk.value(None, ""),
            }
        })
    }

    /// Calls `member` with each key of an object, positioned at its value.
    fn members(&mut self, member: &mut dyn FnMut(&mut Self, String) -> Step) -> Step {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            member(self, key)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(Malformed),
            }
        }
    }

    /// Calls `item` with each element's index, positioned at it.
    fn array(&mut self, item: &mut dyn FnMut(&mut Self, usize) -> Step) -> Step {
        self.expect(b'[')?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        for index in 0.. {
            item(self, index)?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => break,
                _ => return Err(Malformed),
            }
        }
        self.at += 1;
        Ok(())
    }

    /// One value, checked against `rule` (skipped without one).
    fn value(&mut self, rule: Option<&Rule>, path: &str) -> Step {
        match (self.peek(), rule) {
            (Some(b'{'), Some(Rule::Struct(fields))) => self.object(fields, path),
            (Some(b'{'), Some(Rule::Map(values))) => {
                self.members(&mut |walk, key| walk.value(Some(values), &format!("{path}['{key}']")))
            }
            (Some(b'['), Some(Rule::List(item))) => {
                self.array(&mut |walk, index| walk.value(Some(item), &format!("{path}[{index}]")))
            }
            (Some(b'{'), _) => self.members(&mut |walk, _| walk.value(None, "")),
            (Some(b'['), _) => self.array(&mut |walk, _| walk.value(None, "")),
            (Some(b'"'), rule) => {
                let text = self.string()?;
                if let Some(rule) = rule {
                    self.note(leaf(rule, &text, true, path));
                }
                Ok(())
            }
            (Some(_), rule) => {
                let start = self.at;
                let len = self.bytes[start..]
                    .iter()
                    .take_while(|b| !matches!(b, b',' | b']' | b'}') && !b.is_ascii_whitespace())
                    .count();
                self.at += len;
                let token =
                    std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| Malformed)?;
                match (rule, token) {
                    (_, "null" | "true" | "false") | (None, _) => {}
                    (Some(rule), number) => self.note(leaf(rule, number, false, path)),
                }
                Ok(())
            }
            (None, _) => Err(Malformed),
        }
    }

    fn note(&mut self, bad: Option<String>) {
        if self.bad.is_none() {
            self.bad = bad;
        }
    }

    /// A string's text, unescaped.
    fn string(&mut self) -> Result<String, Malformed> {
        if self.peek() != Some(b'"') {
            return Err(Malformed);
        }
        let start = self.at;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            match self.bytes.get(i) {
                None => return Err(Malformed),
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        self.at = i + 1;
        let quoted = &self.bytes[start..self.at];
        if escaped {
            serde_json::from_slice(quoted).map_err(|_| Malformed)
        } else {
            let inner = &quoted[1..quoted.len() - 1];
            String::from_utf8(inner.to_vec()).map_err(|_| Malformed)
        }
    }
}

/// `parent.name`, or `name` at the top.
fn join(parent: &str, name: &str) -> String {
    match parent {
        "" => name.to_string(),
        parent => format!("{parent}.{name}"),
    }
}

/// Why a number or string (`quoted`) breaks a leaf rule, if it does.
fn leaf(rule: &Rule, text: &str, quoted: bool, path: &str) -> Option<String> {
    let bad = |ddl: &str, why: &str| {
        let shown = match quoted {
            true => format!("\"{text}\""),
            false => text.to_string(),
        };
        let got = excerpt(shown.as_bytes(), EXCERPT_CHARS);
        Some(format!("field '{path}': expected {ddl}, got {got}{why}"))
    };
    match rule {
        Rule::Integer { min, max, ddl } => match integer(text) {
            Ok(n) if (*min..=*max).contains(&n) => None,
            Err(Inexact::Fraction) => bad(ddl, " (not an integer)"),
            _ => bad(ddl, " (out of range)"),
        },
        Rule::NoNumber { ddl, why } if !quoted => bad(ddl, &format!(" ({why})")),
        Rule::Decimal { scale, ddl } if decimal_places_exceed(text, *scale) => {
            bad(ddl, &format!(" (more than {scale} digits after the point)"))
        }
        _ => None,
    }
}

/// An integer written without fraction or exponent (Spark's rule for integer fields).
fn integer(text: &str) -> Result<i64, Inexact> {
    if text.contains(['.', 'e', 'E']) || !super::exact::is_json_number(text.as_bytes()) {
        return Err(Inexact::Fraction);
    }
    scaled_integer(text, 0)
}

/// Whether a number's text has non-zero digits beyond `scale` places; text that is not
/// a number is the decoder's to refuse.
fn decimal_places_exceed(text: &str, scale: i32) -> bool {
    super::exact::is_json_number(text.as_bytes())
        && scaled_integer(text, scale) == Err(Inexact::Fraction)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::sdk::ddl::parse_ddl;

    fn check(ddl: &str, record: &str) -> Option<String> {
        let schema = Arc::new(parse_ddl(ddl).unwrap());
        NestedValues::new(schema.fields())
            .unwrap()
            .check(record.as_bytes())
    }

    #[test]
    fn schemas_without_inexact_fields_are_not_walked() {
        let schema = parse_ddl("id BIGINT, ts TIMESTAMP, tags ARRAY<STRING>").unwrap();
        assert!(NestedValues::new(schema.fields()).is_none());
    }

    #[test]
    fn nested_integers_must_be_integers_in_range() {
        let ddl = "s STRUCT<n: BIGINT>, l ARRAY<TINYINT>, m MAP<STRING, INT>";
        assert_eq!(
            check(
                ddl,
                r#"{"s": {"n": 1}, "l": [1, "2", null], "m": {"k": -3}}"#
            ),
            None
        );
        assert_eq!(
            check(ddl, r#"{"s": {"n": 1.5}}"#).unwrap(),
            "field 's.n': expected BIGINT, got 1.5 (not an integer)"
        );
        assert_eq!(
            check(ddl, r#"{"l": [1, 1e2]}"#).unwrap(),
            "field 'l[1]': expected TINYINT, got 1e2 (not an integer)"
        );
        assert_eq!(
            check(ddl, r#"{"l": [300]}"#).unwrap(),
            "field 'l[0]': expected TINYINT, got 300 (out of range)"
        );
        assert_eq!(
            check(ddl, r#"{"m": {"a\"b": "2.5"}}"#).unwrap(),
            r#"field 'm['a"b']': expected INT, got "2.5" (not an integer)"#
        );
    }

    #[test]
    fn nested_times_refuse_numbers_and_decimals_refuse_extra_places() {
        let ddl = "s STRUCT<t: TIMESTAMP, d: DATE>, a DECIMAL(10,2), l ARRAY<DECIMAL(5,1)>";
        assert_eq!(
            check(
                ddl,
                r#"{"s": {"t": "2024-01-01T00:00:00Z", "d": "2024-01-01"}, "a": 12.30}"#
            ),
            None
        );
        assert_eq!(
            check(ddl, r#"{"s": {"t": 5}}"#).unwrap(),
            "field 's.t': expected TIMESTAMP, got 5 (a number inside a STRUCT, ARRAY or MAP is not read as a time; write an ISO 8601 string)"
        );
        assert_eq!(
            check(ddl, r#"{"s": {"d": 5}}"#).unwrap(),
            "field 's.d': expected DATE, got 5 (a number is not a date)"
        );
        assert_eq!(
            check(ddl, r#"{"a": 12.345}"#).unwrap(),
            "field 'a': expected DECIMAL(10,2), got 12.345 (more than 2 digits after the point)"
        );
        assert_eq!(
            check(ddl, r#"{"a": "1.0000000000000000001"}"#).unwrap(),
            "field 'a': expected DECIMAL(10,2), got \"1.0000000000000000001\" (more than 2 digits after the point)"
        );
        assert_eq!(check(ddl, r#"{"l": [1.5, 2E-1, 1.50]}"#), None);
        assert!(check(ddl, r#"{"l": [1.55]}"#).is_some());
    }

    #[test]
    fn arrays_of_rows_extra_fields_and_malformed_json() {
        let ddl = "s STRUCT<n: INT>";
        let rows = r#"[{"s": {"n": 1}, "x": {"n": 1.5}}, {"s": {"n": 2.5}}]"#;
        assert_eq!(
            check(ddl, rows).unwrap(),
            "field 's.n': expected INT, got 2.5 (not an integer)"
        );
        assert_eq!(check(ddl, r#"{"s": {"n": 1.5"#), None);
        assert_eq!(check(ddl, r#"{"s": [1.5]}"#), None);
    }
}
