//! Top-level columns that the format decoders read as text (the `wire` schema) and that
//! are then converted here, value by value, into their declared type: every DATE,
//! TIMESTAMP and TIMESTAMP_NTZ column (by its Spark pattern, or else by Spark's
//! string-cast rules, which arrow-rs's parsers do not follow), and in JSON the integer
//! columns, whose arrow-rs conversions are not exact (1.5 into BIGINT is 1, a number into
//! TIMESTAMP is microseconds, a number into DATE is days). A value that does not convert
//! exactly rejects its record.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, Date32Array, Int16Array, Int32Array, Int64Array, Int8Array,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;

use super::exact::{excerpt, is_json_number, scaled_integer, Inexact, EXCERPT_CHARS};
use super::{DateTimeFormats, Decoded, Kept, TimestampUnit};
use crate::sdk::datetime::{self, DateTimePattern, Mismatch};
use crate::sdk::ddl::data_type_to_ddl;

/// How one text column becomes its declared type.
#[derive(Clone, Debug)]
enum Conversion {
    /// A TIMESTAMP or DATE column written in a Spark pattern; the option that set it.
    Pattern(DateTimePattern, &'static str),
    /// JSON, an integer column: a JSON integer (or a string of one), within the type's
    /// range. Spark's JSON reader refuses a fraction or exponent here too.
    Integer,
    /// JSON, a TIMESTAMP column: a number is time since the epoch in the unit (Spark:
    /// seconds), a string is read by Spark's string-cast rules.
    Timestamp(TimestampUnit),
    /// JSON, a TIMESTAMP_NTZ or DATE column: a string read by Spark's string-cast rules;
    /// a number is refused, as Spark refuses it.
    JsonText,
    /// CSV, a DATE, TIMESTAMP or TIMESTAMP_NTZ column: Spark's string-cast rules.
    Cast,
}

/// The converted columns of a schema.
pub(super) struct Columns {
    /// The schema asked for.
    schema: SchemaRef,
    /// `schema` with the converted columns as nullable-as-declared strings.
    pub(super) wire: SchemaRef,
    columns: Vec<(usize, Conversion)>,
    /// How reasons name a column: "field" (JSON) or "column" (CSV).
    noun: &'static str,
}

impl Columns {
    /// The columns of `schema` to convert: the patterned ones, and with `json` the ones
    /// whose arrow-rs JSON conversion is not exact.
    pub(super) fn new(
        schema: SchemaRef,
        formats: &DateTimeFormats,
        noun: &'static str,
        json: bool,
    ) -> Self {
        let mut columns = Vec::new();
        let fields = schema.fields().iter().enumerate().map(|(i, field)| {
            match conversion(field.data_type(), formats, json) {
                Some(conversion) => {
                    columns.push((i, conversion));
                    let text = Field::new(field.name(), DataType::Utf8, field.is_nullable());
                    Arc::new(text)
                }
                None => field.clone(),
            }
        });
        let wire = Schema::new_with_metadata(fields.collect::<Vec<_>>(), schema.metadata().clone());
        Self {
            wire: Arc::new(wire),
            schema,
            columns,
            noun,
        }
    }

    /// The schema asked for.
    pub(super) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Converts the text columns of `decoded`; rejects the records with a value that
    /// does not convert (all of their rows: a JSON array record is one record).
    pub(super) fn convert(
        &self,
        decoded: Decoded,
        records: &[&[u8]],
    ) -> Result<Decoded, ArrowError> {
        if self.columns.is_empty() {
            return Ok(decoded);
        }
        let Decoded {
            batch,
            rejected,
            row_sources,
        } = decoded;
        let mut columns = batch.columns().to_vec();
        // The first reason found for each failing record, by record index.
        let mut failed = BTreeMap::new();
        for (i, conversion) in &self.columns {
            let field = self.schema.field(*i);
            let was_string = |row| json_string_at(records, &row_sources, row, field.name());
            let (converted, failures) = convert_column(&columns[*i], field, conversion, was_string);
            for (row, why) in failures {
                let reason = format!("{} '{}': {why}", self.noun, field.name());
                failed.entry(row_sources[row]).or_insert(reason);
            }
            columns[*i] = converted;
        }
        // The batch is built after the failed rows are gone: a failed value is null,
        // which a NOT NULL column refuses.
        let kept = Kept {
            columns,
            row_sources,
            rejected,
        };
        kept.without(failed, records, self.schema.clone())
    }
}

/// How a column of `data_type` is converted, if it is read as text.
fn conversion(data_type: &DataType, formats: &DateTimeFormats, json: bool) -> Option<Conversion> {
    let pattern = match data_type {
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => {
            formats.timestamp.clone().map(|p| (p, "timestamp_format"))
        }
        DataType::Date32 => formats.date.clone().map(|p| (p, "date_format")),
        _ => None,
    };
    if let Some((pattern, option)) = pattern {
        return Some(Conversion::Pattern(pattern, option));
    }
    match data_type {
        DataType::Timestamp(TimeUnit::Microsecond, _) | DataType::Date32 if !json => {
            Some(Conversion::Cast)
        }
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 if json => {
            Some(Conversion::Integer)
        }
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => {
            Some(Conversion::Timestamp(formats.timestamp_unit))
        }
        DataType::Timestamp(TimeUnit::Microsecond, None) | DataType::Date32 => {
            Some(Conversion::JsonText)
        }
        _ => None,
    }
}

/// `column`'s texts converted into `field`'s type, and the rows that did not convert,
/// with why.
/// `was_string(row)` says whether a JSON value that reads as a number was written as a
/// string (`"2012"`, a year) rather than a number (`2012`, seconds).
fn convert_column(
    column: &ArrayRef,
    field: &Field,
    conversion: &Conversion,
    was_string: impl Fn(usize) -> bool,
) -> (ArrayRef, Vec<(usize, String)>) {
    let data_type = field.data_type();
    let mut failures = Vec::new();
    let values = column
        .as_string::<i32>()
        .iter()
        .enumerate()
        .map(|(row, text)| {
            let text = text?;
            let datetime = matches!(conversion, Conversion::Timestamp(_) | Conversion::JsonText);
            // Parsing the record is only worth it for the rare number in a datetime column.
            let number = is_json_number(text.as_bytes()) && !(datetime && was_string(row));
            convert_value(text, data_type, conversion, number)
                .map_err(|why| failures.push((row, why)))
                .ok()
        });
    let values: Vec<Option<i64>> = values.collect();
    (build(data_type, values), failures)
}

/// One text as the value (days, microseconds, the integer) of `data_type`, or why not.
/// The reason is only built for a value that fails: this runs for every value.
fn convert_value(
    text: &str,
    data_type: &DataType,
    conversion: &Conversion,
    number: bool,
) -> Result<i64, String> {
    let mismatch = |why: &str| {
        let expected = data_type_to_ddl(data_type);
        format!("expected {expected}, got {}{why}", shown(text, number))
    };
    match conversion {
        Conversion::Pattern(pattern, option) => {
            let parsed = match data_type {
                DataType::Date32 => pattern.parse_date_days(text).map(i64::from),
                _ => pattern.parse_timestamp_micros(text),
            };
            parsed.map_err(|e| {
                let text = excerpt(text.as_bytes(), EXCERPT_CHARS);
                format!("'{text}' does not match {option} '{pattern}': {}", e.0)
            })
        }
        Conversion::Integer => integer(text, data_type).map_err(|why| mismatch(&detail(why))),
        Conversion::Timestamp(unit) if number => epoch_micros(text, *unit)
            .map_err(|why| mismatch(&format!(" ({} since the epoch: {why})", unit.name()))),
        Conversion::JsonText if number => {
            let expected = data_type_to_ddl(data_type);
            let example = example(data_type);
            Err(mismatch(&format!(
                " (a JSON number is not a {expected}: write it as a string, e.g. \"{example}\")"
            )))
        }
        _ => cast(text, data_type).map_err(|why| mismatch(&format!(" ({why})"))),
    }
}

/// Whether row `row`'s field `name` is a JSON string in its record (the record's
/// `n`th object, for a record that is an array of them). Only asked of the rare value
/// that reads as a number in a DATE or TIMESTAMP column, so parsing the record is fine.
fn json_string_at(records: &[&[u8]], row_sources: &[usize], row: usize, name: &str) -> bool {
    let source = row_sources[row];
    let nth = row_sources[..row]
        .iter()
        .rev()
        .take_while(|s| **s == source)
        .count();
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(records[source]) else {
        return false;
    };
    let object = match &value {
        serde_json::Value::Array(items) => items.get(nth),
        one => Some(one),
    };
    matches!(
        object.and_then(|o| o.get(name)),
        Some(serde_json::Value::String(_))
    )
}

/// `why` in parentheses, if there is one.
fn detail(why: Option<&str>) -> String {
    why.map(|why| format!(" ({why})")).unwrap_or_default()
}

/// A JSON integer text as `data_type`; the error says why when it is more than "not an
/// integer at all".
fn integer(text: &str, data_type: &DataType) -> Result<i64, Option<&'static str>> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let number = is_json_number(text.as_bytes());
        return Err(number.then_some("not an integer"));
    }
    let out_of_range = Some("out of range");
    // Only digits are left: the parse fails only out of range.
    let value: i64 = text.parse().map_err(|_| out_of_range)?;
    let fits = match data_type {
        DataType::Int8 => i8::try_from(value).is_ok(),
        DataType::Int16 => i16::try_from(value).is_ok(),
        DataType::Int32 => i32::try_from(value).is_ok(),
        _ => true,
    };
    fits.then_some(value).ok_or(out_of_range)
}

/// A JSON number of `unit`s since the epoch, as microseconds, exactly.
fn epoch_micros(text: &str, unit: TimestampUnit) -> Result<i64, &'static str> {
    scaled_integer(text, unit.micros_exponent()).map_err(|inexact| match inexact {
        Inexact::Fraction => "finer than the microseconds a TIMESTAMP holds",
        Inexact::Range => "out of range",
    })
}

/// A DATE or TIMESTAMP text without a pattern, by Spark's string-cast rules.
fn cast(text: &str, data_type: &DataType) -> Result<i64, Mismatch> {
    match data_type {
        DataType::Date32 => datetime::cast::date_days(text).map(i64::from),
        DataType::Timestamp(_, zone) => datetime::cast::timestamp_micros(text, zone.is_some()),
        other => unreachable!("{other} columns are not read by the datetime cast"),
    }
}

/// A value as a reason shows it: a number or boolean bare, anything else as a JSON
/// string (so control characters come out escaped), cut short.
fn shown(text: &str, number: bool) -> String {
    let bare = number || text == "true" || text == "false";
    let json = match bare {
        true => text.to_string(),
        false => serde_json::Value::from(text).to_string(),
    };
    excerpt(json.as_bytes(), EXCERPT_CHARS)
}

fn example(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Date32 => "2024-03-05",
        _ => "2024-03-05 14:07:09",
    }
}

/// An array of `data_type` from values already checked to fit it.
fn build(data_type: &DataType, values: Vec<Option<i64>>) -> ArrayRef {
    let values = values.into_iter();
    match data_type {
        DataType::Int8 => Arc::new(values.map(|v| v.map(|v| v as i8)).collect::<Int8Array>()),
        DataType::Int16 => Arc::new(values.map(|v| v.map(|v| v as i16)).collect::<Int16Array>()),
        DataType::Int32 => Arc::new(values.map(|v| v.map(|v| v as i32)).collect::<Int32Array>()),
        DataType::Int64 => Arc::new(values.collect::<Int64Array>()),
        DataType::Date32 => Arc::new(values.map(|v| v.map(|v| v as i32)).collect::<Date32Array>()),
        DataType::Timestamp(_, zone) => {
            let micros: TimestampMicrosecondArray = values.collect();
            Arc::new(micros.with_timezone_opt(zone.clone()))
        }
        other => unreachable!("{other} columns are not converted from text"),
    }
}
