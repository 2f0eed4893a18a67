//! Raw records (file lines, Kafka values, socket lines) decoded into a schema's
//! [`RecordBatch`]; a record that does not fit is rejected on its own, with the reason.
//!
//! Each call feeds every record to one arrow-rs decoder and flushes once; only if that
//! fails does it narrow down to the bad records, with a fresh decoder after each error.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanArray, Date32Array, RecordBatch, RecordBatchOptions, StringArray,
    TimestampMicrosecondArray,
};
use arrow::compute::{concat_batches, filter};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use serde_json::Value;

use super::datetime::DateTimePattern;
use super::ddl::data_type_to_ddl;

/// Rows per internal batch; larger inputs are decoded in several and concatenated.
const BATCH_ROWS: usize = 8192;

/// A record that could not be decoded, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Undecodable {
    /// The record's index in the input.
    pub index: usize,
    /// The record's exact bytes.
    pub raw: Vec<u8>,
    /// Why it was refused, naming the field or column at fault where one is.
    pub reason: String,
}

/// What a list of records decoded to.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The rows of the records that decoded, in input order.
    pub batch: RecordBatch,
    /// The records that did not, in input order.
    pub rejected: Vec<Undecodable>,
    /// For each row of `batch`, the index of the record it came from.
    pub row_sources: Vec<usize>,
}

/// Spark's `timestampFormat` and `dateFormat`: the patterns that top-level TIMESTAMP
/// (not TIMESTAMP_NTZ) and DATE columns are written in. A column without one is read as
/// the decoder reads it by default (ISO 8601).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DateTimeFormats {
    /// For TIMESTAMP columns; a value without an offset is UTC.
    pub timestamp: Option<DateTimePattern>,
    /// For DATE columns.
    pub date: Option<DateTimePattern>,
}

/// Decodes JSON records: each an object (one row) or an array of objects (a row each).
///
/// Missing fields are null and unknown ones ignored; numbers and booleans are accepted as
/// strings; ISO-8601 strings decode into TIMESTAMP and DATE columns, or strings in the
/// [`DateTimeFormats`] given.
pub struct JsonDecoder {
    engine: Engine<Json>,
    texts: Texts,
}

impl JsonDecoder {
    /// A decoder into `schema`, reading dates and timestamps as ISO 8601.
    pub fn new(schema: SchemaRef) -> Self {
        Self::with_formats(schema, &DateTimeFormats::default())
    }

    /// A decoder into `schema`, reading dates and timestamps in `formats`.
    pub fn with_formats(schema: SchemaRef, formats: &DateTimeFormats) -> Self {
        let texts = Texts::new(schema, formats, "field");
        let schema = texts.wire.clone();
        Self {
            engine: Engine::new(Json { schema }),
            texts,
        }
    }

    /// Errs only if the schema has a type the JSON reader does not support.
    pub fn decode(&mut self, records: &[&[u8]]) -> Result<Decoded, ArrowError> {
        let decoded = self.engine.decode(records)?;
        self.texts.parse(decoded, records)
    }
}

/// Decodes CSV records (data lines, no header) into the schema's columns, in order.
/// Empty fields are null.
pub struct CsvDecoder {
    engine: Engine<Csv>,
    texts: Texts,
}

impl CsvDecoder {
    /// A decoder into `schema`, reading dates and timestamps as ISO 8601.
    pub fn new(schema: SchemaRef, delimiter: u8, quote: u8) -> Self {
        Self::with_formats(schema, delimiter, quote, &DateTimeFormats::default())
    }

    /// A decoder into `schema`, reading dates and timestamps in `formats`.
    pub fn with_formats(
        schema: SchemaRef,
        delimiter: u8,
        quote: u8,
        formats: &DateTimeFormats,
    ) -> Self {
        let texts = Texts::new(schema, formats, "column");
        let schema = texts.wire.clone();
        Self {
            engine: Engine::new(Csv {
                schema,
                delimiter,
                quote,
            }),
            texts,
        }
    }

    /// Errs only if the schema has a type the CSV reader does not support.
    pub fn decode(&mut self, records: &[&[u8]]) -> Result<Decoded, ArrowError> {
        let decoded = self.engine.decode(records)?;
        self.texts.parse(decoded, records)
    }
}

/// The columns read as text and then parsed with a [`DateTimeFormats`] pattern: the
/// format decoders see them as strings (the `wire` schema), and a value that does not
/// match rejects its record.
struct Texts {
    /// The schema asked for.
    schema: SchemaRef,
    /// `schema` with the patterned columns as nullable-as-declared strings.
    wire: SchemaRef,
    /// Each patterned column's index, pattern and option name.
    columns: Vec<(usize, DateTimePattern, &'static str)>,
    /// How reasons name a column: "field" (JSON) or "column" (CSV).
    noun: &'static str,
}

impl Texts {
    fn new(schema: SchemaRef, formats: &DateTimeFormats, noun: &'static str) -> Self {
        let mut columns = Vec::new();
        let fields = schema.fields().iter().enumerate().map(|(i, field)| {
            let pattern = match field.data_type() {
                DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => {
                    formats.timestamp.clone().map(|p| (p, "timestamp_format"))
                }
                DataType::Date32 => formats.date.clone().map(|p| (p, "date_format")),
                _ => None,
            };
            match pattern {
                Some((pattern, option)) => {
                    columns.push((i, pattern, option));
                    Arc::new(Field::new(
                        field.name(),
                        DataType::Utf8,
                        field.is_nullable(),
                    ))
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

    /// Parses the patterned columns of `decoded`; rejects the records with a value that
    /// does not match (all of their rows: a JSON array record is one record).
    fn parse(&self, decoded: Decoded, records: &[&[u8]]) -> Result<Decoded, ArrowError> {
        if self.columns.is_empty() {
            return Ok(decoded);
        }
        let Decoded {
            batch,
            mut rejected,
            mut row_sources,
        } = decoded;
        let mut columns = batch.columns().to_vec();
        // The first reason found for each failing record, by record index.
        let mut failed = BTreeMap::new();
        for (i, pattern, option) in &self.columns {
            let texts = columns[*i].as_string::<i32>();
            let field = self.schema.field(*i);
            let (parsed, failures) = parse_column(texts, field, pattern);
            for (row, text, why) in failures {
                let text: String = text.chars().take(80).collect();
                let (noun, name) = (self.noun, field.name());
                let reason =
                    format!("{noun} '{name}': '{text}' does not match {option} '{pattern}': {why}");
                failed.entry(row_sources[row]).or_insert(reason);
            }
            columns[*i] = parsed;
        }
        if !failed.is_empty() {
            // Before the batch is built: a failed value is null, which a NOT NULL column
            // refuses.
            let keep: BooleanArray = (row_sources.iter())
                .map(|source| Some(!failed.contains_key(source)))
                .collect();
            let kept = columns.iter().map(|column| filter(column, &keep));
            columns = kept.collect::<Result<_, _>>()?;
            row_sources.retain(|source| !failed.contains_key(source));
            rejected.extend(failed.into_iter().map(|(index, reason)| Undecodable {
                index,
                raw: records[index].to_vec(),
                reason,
            }));
            rejected.sort_by_key(|r| r.index);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(row_sources.len()));
        let batch = RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)?;
        Ok(Decoded {
            batch,
            rejected,
            row_sources,
        })
    }
}

/// `texts` parsed with `pattern` into `field`'s type (TIMESTAMP or DATE), and the rows
/// whose text did not match, with the text and why.
fn parse_column<'a>(
    texts: &'a StringArray,
    field: &Field,
    pattern: &DateTimePattern,
) -> (ArrayRef, Vec<(usize, &'a str, String)>) {
    let mut failures = Vec::new();
    let mut each = |parse: &dyn Fn(&str) -> Result<i64, String>| -> Vec<Option<i64>> {
        (texts.iter().enumerate())
            .map(|(row, text)| {
                let text = text?;
                parse(text)
                    .map_err(|why| failures.push((row, text, why)))
                    .ok()
            })
            .collect()
    };
    let array: ArrayRef = match field.data_type() {
        DataType::Date32 => {
            let days = each(&|t| pattern.parse_date_days(t).map(i64::from).map_err(|e| e.0));
            let days = days.into_iter().map(|d| d.map(|d| d as i32));
            Arc::new(Date32Array::from_iter(days))
        }
        data_type => {
            let micros = each(&|t| pattern.parse_timestamp_micros(t).map_err(|e| e.0));
            let DataType::Timestamp(_, zone) = data_type else {
                unreachable!("only TIMESTAMP and DATE columns have a pattern")
            };
            Arc::new(TimestampMicrosecondArray::from(micros).with_timezone_opt(zone.clone()))
        }
    };
    (array, failures)
}

/// An arrow-rs push decoder.
trait Push {
    fn push(&mut self, buf: &[u8]) -> Result<usize, ArrowError>;
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError>;
    /// Rows buffered since the last flush.
    fn buffered(&self) -> usize;
}

impl Push for arrow::json::reader::Decoder {
    fn push(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        self.decode(buf)
    }

    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        arrow::json::reader::Decoder::flush(self)
    }

    fn buffered(&self) -> usize {
        self.len()
    }
}

impl Push for arrow::csv::reader::Decoder {
    fn push(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        self.decode(buf)
    }

    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        arrow::csv::reader::Decoder::flush(self)
    }

    fn buffered(&self) -> usize {
        BATCH_ROWS - self.capacity()
    }
}

/// Feeds all of `buf`, flushing full batches into `out`; returns the rows it started.
fn feed_all(
    d: &mut impl Push,
    mut buf: &[u8],
    out: &mut Vec<RecordBatch>,
) -> Result<usize, ArrowError> {
    let mut rows = 0;
    loop {
        let before = d.buffered();
        let read = d.push(buf)?;
        rows += d.buffered() - before;
        buf = &buf[read..];
        if buf.is_empty() {
            return Ok(rows);
        }
        out.extend(d.flush()?);
    }
}

/// What differs between the formats.
trait Format {
    type Decoder: Push;
    fn schema(&self) -> &SchemaRef;
    fn build(&self) -> Result<Self::Decoder, ArrowError>;
    /// Feeds one record; errs unless it ends exactly at a row boundary. Returns its rows.
    fn feed(
        &self,
        d: &mut Self::Decoder,
        record: &[u8],
        out: &mut Vec<RecordBatch>,
    ) -> Result<usize, ArrowError>;
    /// The reason to give for a record the decoder refused with `error`.
    fn explain(&self, record: &[u8], error: ArrowError) -> String;
}

/// Decodes records in one go, or, if that fails, in halves down to the bad records.
struct Engine<F: Format> {
    format: F,
    /// Kept between calls; dropped after an error so that decoding starts clean.
    decoder: Option<F::Decoder>,
}

/// What one `decode` call has gathered so far.
#[derive(Default)]
struct Parts {
    batches: Vec<RecordBatch>,
    rejected: Vec<Undecodable>,
    row_sources: Vec<usize>,
}

impl<F: Format> Engine<F> {
    fn new(format: F) -> Self {
        Self {
            format,
            decoder: None,
        }
    }

    fn decode(&mut self, records: &[&[u8]]) -> Result<Decoded, ArrowError> {
        let mut parts = Parts::default();
        self.decode_range(records, 0, &mut parts)?;
        let batch = match parts.batches.len() {
            1 => parts.batches.swap_remove(0),
            _ => concat_batches(self.format.schema(), &parts.batches)?,
        };
        Ok(Decoded {
            batch,
            rejected: parts.rejected,
            row_sources: parts.row_sources,
        })
    }

    /// Decodes `records` (the first being input record `first`) with one decoder; if that
    /// fails, each half on its own, until a failing single record is rejected. A few bad
    /// records thus cost a few times the clean path, not a flush per record.
    fn decode_range(
        &mut self,
        records: &[&[u8]],
        first: usize,
        parts: &mut Parts,
    ) -> Result<(), ArrowError> {
        let mut decoder = self.take_decoder()?;
        let kept = (parts.batches.len(), parts.row_sources.len());
        let Err(error) = self.decode_all(&mut decoder, records, first, parts) else {
            self.decoder = Some(decoder);
            return Ok(());
        };
        parts.batches.truncate(kept.0);
        parts.row_sources.truncate(kept.1);
        if let [record] = records {
            let reason = self.format.explain(record, error);
            let raw = record.to_vec();
            parts.rejected.push(Undecodable {
                index: first,
                raw,
                reason,
            });
            return Ok(());
        }
        let (left, right) = records.split_at(records.len() / 2);
        self.decode_range(left, first, parts)?;
        self.decode_range(right, first + left.len(), parts)
    }

    fn decode_all(
        &self,
        d: &mut F::Decoder,
        records: &[&[u8]],
        first: usize,
        parts: &mut Parts,
    ) -> Result<(), ArrowError> {
        for (index, record) in records.iter().enumerate() {
            let rows = self.format.feed(d, record, &mut parts.batches)?;
            parts
                .row_sources
                .extend(std::iter::repeat_n(first + index, rows));
        }
        parts.batches.extend(d.flush()?);
        Ok(())
    }

    fn take_decoder(&mut self) -> Result<F::Decoder, ArrowError> {
        match self.decoder.take() {
            Some(decoder) => Ok(decoder),
            None => self.format.build(),
        }
    }
}

/// The message inside an arrow-rs error, without its "Json error: " style prefix.
fn message(error: ArrowError) -> String {
    match error {
        ArrowError::JsonError(m) | ArrowError::CsvError(m) | ArrowError::ParseError(m) => m,
        other => other.to_string(),
    }
}

struct Json {
    schema: SchemaRef,
}

impl Format for Json {
    type Decoder = arrow::json::reader::Decoder;

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn build(&self) -> Result<Self::Decoder, ArrowError> {
        arrow::json::ReaderBuilder::new(self.schema.clone())
            .with_batch_size(BATCH_ROWS)
            .with_coerce_primitive(true)
            .with_flatten(true)
            .build_decoder()
    }

    fn feed(
        &self,
        d: &mut Self::Decoder,
        record: &[u8],
        out: &mut Vec<RecordBatch>,
    ) -> Result<usize, ArrowError> {
        // Checking the ends keeps a truncated record from running on into the next one.
        let body = record.trim_ascii();
        let ends = (body.first(), body.last());
        let object = ends == (Some(&b'{'), Some(&b'}'));
        if !object && ends != (Some(&b'['), Some(&b']')) {
            return Err(ArrowError::JsonError("not a JSON object or array".into()));
        }
        let rows = feed_all(d, body, out)?;
        if d.has_partial_record() || (object && rows != 1) {
            return Err(ArrowError::JsonError("not a single JSON value".into()));
        }
        Ok(rows)
    }

    fn explain(&self, record: &[u8], error: ArrowError) -> String {
        let value: Value = match serde_json::from_slice(record) {
            Ok(value) => value,
            Err(e) => return format!("malformed JSON: {e}"),
        };
        let rows = match &value {
            Value::Array(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        };
        rows.iter()
            .find_map(|row| self.explain_row(row))
            .unwrap_or_else(|| message(error))
    }
}

impl Json {
    fn explain_row(&self, row: &Value) -> Option<String> {
        let Value::Object(object) = row else {
            return Some(format!("expected a JSON object, got {}", json_kind(row)));
        };
        self.schema.fields().iter().find_map(|field| {
            let name = field.name();
            match object.get(name).unwrap_or(&Value::Null) {
                Value::Null if field.is_nullable() => None,
                Value::Null => Some(format!("field '{name}' is NOT NULL but missing or null")),
                value if json_fits(field, value) => None,
                value => {
                    let expected = data_type_to_ddl(field.data_type());
                    let got: String = value.to_string().chars().take(80).collect();
                    Some(format!("field '{name}': expected {expected}, got {got}"))
                }
            }
        })
    }
}

/// Whether arrow-rs decodes `value` into `field`.
fn json_fits(field: &FieldRef, value: &Value) -> bool {
    let decoder = arrow::json::ReaderBuilder::new_with_field(field.clone())
        .with_coerce_primitive(true)
        .build_decoder();
    decoder
        .and_then(|mut d| {
            d.serialize(std::slice::from_ref(value))?;
            d.flush()
        })
        .is_ok()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A record that ends inside quotes (and so would swallow the next one).
const UNTERMINATED: &str = "unterminated quoted field";

struct Csv {
    schema: SchemaRef,
    delimiter: u8,
    quote: u8,
}

impl Csv {
    fn builder(&self) -> arrow::csv::ReaderBuilder {
        arrow::csv::ReaderBuilder::new(self.schema.clone())
            .with_header(false)
            .with_delimiter(self.delimiter)
            .with_quote(self.quote)
            .with_batch_size(BATCH_ROWS)
    }

    /// Names the first column of `record` that is empty but NOT NULL or does not parse.
    fn explain_column(
        &self,
        record: &[u8],
        index: usize,
        column: &FieldRef,
        text: &[u8],
    ) -> Option<String> {
        let name = column.name();
        if text.is_empty() {
            return (!column.is_nullable())
                .then(|| format!("column '{name}' is NOT NULL but empty"));
        }
        let mut d = self.builder().with_projection(vec![index]).build_decoder();
        let fits = self
            .feed(&mut d, record, &mut Vec::new())
            .and_then(|_| d.flush());
        fits.is_err().then(|| {
            let text = String::from_utf8_lossy(text);
            let expected = data_type_to_ddl(column.data_type());
            format!("column '{name}': cannot parse '{text}' as {expected}")
        })
    }
}

impl Format for Csv {
    type Decoder = arrow::csv::reader::Decoder;

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn build(&self) -> Result<Self::Decoder, ArrowError> {
        Ok(self.builder().build_decoder())
    }

    fn feed(
        &self,
        d: &mut Self::Decoder,
        record: &[u8],
        out: &mut Vec<RecordBatch>,
    ) -> Result<usize, ArrowError> {
        let rows = feed_all(d, record, out)? + feed_all(d, b"\n", out)?;
        match rows {
            0 => Err(ArrowError::CsvError(UNTERMINATED.into())),
            rows => Ok(rows),
        }
    }

    fn explain(&self, record: &[u8], error: ArrowError) -> String {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(self.delimiter)
            .quote(self.quote)
            .from_reader(record);
        let texts = match reader.byte_records().next() {
            None => return "empty record".into(),
            Some(Err(e)) => return format!("malformed CSV: {e}"),
            Some(Ok(texts)) => texts,
        };
        if matches!(&error, ArrowError::CsvError(m) if m == UNTERMINATED) {
            return UNTERMINATED.into();
        }
        let columns = self.schema.fields();
        if texts.len() != columns.len() {
            return format!("expected {} columns, got {}", columns.len(), texts.len());
        }
        let mut pairs = columns.iter().zip(texts.iter()).enumerate();
        pairs
            .find_map(|(i, (column, text))| self.explain_column(record, i, column, text))
            .unwrap_or_else(|| message(error))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Date32Type, Int64Type, TimestampMicrosecondType};
    use arrow::util::pretty::pretty_format_batches;

    use super::*;
    use crate::sdk::ddl::parse_ddl;

    fn schema(ddl: &str) -> SchemaRef {
        Arc::new(parse_ddl(ddl).unwrap())
    }

    fn json(ddl: &str, records: &[&str]) -> Decoded {
        let records: Vec<&[u8]> = records.iter().map(|r| r.as_bytes()).collect();
        JsonDecoder::new(schema(ddl)).decode(&records).unwrap()
    }

    fn csv(ddl: &str, records: &[&str]) -> Decoded {
        let records: Vec<&[u8]> = records.iter().map(|r| r.as_bytes()).collect();
        CsvDecoder::new(schema(ddl), b',', b'"')
            .decode(&records)
            .unwrap()
    }

    fn table(batch: &RecordBatch) -> String {
        pretty_format_batches(std::slice::from_ref(batch))
            .unwrap()
            .to_string()
    }

    fn reasons(decoded: &Decoded) -> Vec<(usize, &str)> {
        decoded
            .rejected
            .iter()
            .map(|r| (r.index, r.reason.as_str()))
            .collect()
    }

    fn longs(batch: &RecordBatch, column: usize) -> Vec<Option<i64>> {
        batch
            .column(column)
            .as_primitive::<Int64Type>()
            .iter()
            .collect()
    }

    #[test]
    fn json_objects_fill_missing_fields_with_null_and_ignore_extras() {
        let d = json(
            "id BIGINT, name STRING",
            &[
                r#"{"id": 1, "name": "a", "extra": true}"#,
                r#"{"id": 2}"#,
                r#"{"name": 7}"#,
            ],
        );
        assert!(d.rejected.is_empty());
        assert_eq!(longs(&d.batch, 0), [Some(1), Some(2), None]);
        let names = d.batch.column(1).as_string::<i32>();
        assert_eq!(
            names.iter().collect::<Vec<_>>(),
            [Some("a"), None, Some("7")]
        );
        assert_eq!(d.row_sources, [0, 1, 2]);
    }

    #[test]
    fn json_array_records_give_a_row_per_element() {
        let d = json(
            "id BIGINT",
            &[
                r#"[{"id": 1}, {"id": 2}]"#,
                r#"{"id": 3}"#,
                "[]",
                r#" [{"id": 4}] "#,
            ],
        );
        assert!(d.rejected.is_empty());
        assert_eq!(longs(&d.batch, 0), [Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(d.row_sources, [0, 0, 1, 3]);
    }

    #[test]
    fn bad_json_records_are_rejected_and_the_rest_kept_in_order() {
        let records = [
            r#"{"value": 1}"#,
            r#"{"value": "abc"}"#,
            r#"{"value": 2"#,
            r#"{"value": 3}"#,
            "42",
            r#"[{"value": 4}, "x"]"#,
            r#"{"value": 5} {"value": 6}"#,
            r#"[{"value": 7}"#,
            r#"{"value": 8}"#,
            "",
        ];
        let d = json("value BIGINT", &records);
        assert_eq!(longs(&d.batch, 0), [Some(1), Some(3), Some(8)]);
        assert_eq!(d.row_sources, [0, 3, 8]);
        assert_eq!(
            reasons(&d),
            [
                (1, r#"field 'value': expected BIGINT, got "abc""#),
                (
                    2,
                    "malformed JSON: EOF while parsing an object at line 1 column 11"
                ),
                (4, "expected a JSON object, got a number"),
                (5, "expected a JSON object, got a string"),
                (6, "malformed JSON: trailing characters at line 1 column 14"),
                (
                    7,
                    "malformed JSON: EOF while parsing a list at line 1 column 13"
                ),
                (
                    9,
                    "malformed JSON: EOF while parsing a value at line 1 column 0"
                ),
            ]
        );
        assert_eq!(d.rejected[1].raw, records[2].as_bytes());
    }

    #[test]
    fn scattered_bad_records_are_all_found() {
        let records: Vec<String> = (0..100)
            .map(|i| match i {
                _ if i % 7 == 3 => format!(r#"{{"v": "bad{i}"}}"#),
                _ if i % 11 == 5 => format!(r#"{{"v": {i}"#),
                _ => format!(r#"{{"v": {i}}}"#),
            })
            .collect();
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        let d = json("v BIGINT", &records);
        let good: Vec<usize> = (0..100).filter(|i| i % 7 != 3 && i % 11 != 5).collect();
        let bad: Vec<usize> = (0..100).filter(|i| !good.contains(i)).collect();
        assert_eq!(d.row_sources, good);
        let values: Vec<_> = good.iter().map(|&i| Some(i as i64)).collect();
        assert_eq!(longs(&d.batch, 0), values);
        let rejected: Vec<usize> = d.rejected.iter().map(|r| r.index).collect();
        assert_eq!(rejected, bad);
        assert!(json("v BIGINT", &[]).batch.num_rows() == 0);
    }

    #[test]
    fn json_decoder_recovers_for_the_next_call() {
        let mut decoder = JsonDecoder::new(schema("v BIGINT"));
        let bad = decoder.decode(&[b"{\"v\": ", b"{\"v\": 1}"]).unwrap();
        assert_eq!((bad.batch.num_rows(), bad.rejected.len()), (1, 1));
        let good = decoder.decode(&[b"{\"v\": 2}", b"{\"v\": 3}"]).unwrap();
        assert_eq!(longs(&good.batch, 0), [Some(2), Some(3)]);
    }

    #[test]
    fn json_decodes_timestamps_dates_and_nested_types() {
        let d = json(
            "ts TIMESTAMP, local TIMESTAMP_NTZ, day DATE, tags ARRAY<STRING>, geo STRUCT<lat: DOUBLE, lon: DOUBLE>, m MAP<STRING, BIGINT>, amount DECIMAL(10,2)",
            &[
                r#"{"ts": "2024-01-01T00:00:00.123Z", "local": "2024-01-01 00:00:00", "day": "2024-01-01",
                    "tags": ["a", "b"], "geo": {"lat": 1.5, "lon": -2}, "m": {"k": 1}, "amount": "12.34"}"#,
                r#"{"ts": "2024-01-01 00:00:00"}"#,
            ],
        );
        assert!(d.rejected.is_empty(), "{:?}", d.rejected);
        let ts = d.batch.column(0).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), 1_704_067_200_123_000);
        assert_eq!(ts.value(1), 1_704_067_200_000_000);
        assert_eq!(
            d.batch.column(2).as_primitive::<Date32Type>().value(0),
            19_723
        );
        let expected = "\
+--------------------------+---------------------+------------+--------+-----------------------+--------+--------+
| ts                       | local               | day        | tags   | geo                   | m      | amount |
+--------------------------+---------------------+------------+--------+-----------------------+--------+--------+
| 2024-01-01T00:00:00.123Z | 2024-01-01T00:00:00 | 2024-01-01 | [a, b] | {lat: 1.5, lon: -2.0} | {k: 1} | 12.34  |
| 2024-01-01T00:00:00Z     |                     |            |        |                       |        |        |
+--------------------------+---------------------+------------+--------+-----------------------+--------+--------+";
        assert_eq!(table(&d.batch), expected);
    }

    #[test]
    fn json_nested_mismatches_and_not_null_are_explained() {
        let d = json(
            "id BIGINT NOT NULL, geo STRUCT<lat: DOUBLE>",
            &[
                r#"{"geo": {"lat": 1}}"#,
                r#"{"id": 1, "geo": {"lat": "north"}}"#,
                r#"{"id": 2}"#,
            ],
        );
        assert_eq!(d.row_sources, [2]);
        assert_eq!(
            reasons(&d),
            [
                (0, "field 'id' is NOT NULL but missing or null"),
                (
                    1,
                    r#"field 'geo': expected STRUCT<lat: DOUBLE>, got {"lat":"north"}"#
                ),
            ]
        );
    }

    #[test]
    fn large_inputs_come_back_as_one_batch() {
        let records: Vec<String> = (0..BATCH_ROWS as i64 * 2 + 5)
            .map(|i| format!("{{\"n\": {i}}}"))
            .collect();
        let records: Vec<&[u8]> = records.iter().map(|r| r.as_bytes()).collect();
        let d = JsonDecoder::new(schema("n BIGINT"))
            .decode(&records)
            .unwrap();
        assert_eq!(d.batch.num_rows(), records.len());
        assert_eq!(d.row_sources.len(), records.len());
        let last = d
            .batch
            .column(0)
            .as_primitive::<Int64Type>()
            .value(records.len() - 1);
        assert_eq!(last, records.len() as i64 - 1);
    }

    #[test]
    fn csv_decodes_quoted_fields_and_empty_as_null() {
        let d = csv(
            "id BIGINT, text STRING, ts TIMESTAMP",
            &[
                r#"1,"a, b",2024-01-01T00:00:00Z"#,
                r#"2,"say ""hi""",2024-01-01 00:00:01"#,
                "3,,",
            ],
        );
        assert!(d.rejected.is_empty(), "{:?}", d.rejected);
        let text = d.batch.column(1).as_string::<i32>();
        assert_eq!(
            text.iter().collect::<Vec<_>>(),
            [Some("a, b"), Some("say \"hi\""), None]
        );
        assert!(d.batch.column(2).is_null(2));
        assert_eq!(d.row_sources, [0, 1, 2]);
    }

    #[test]
    fn csv_takes_other_delimiters_and_quotes() {
        let mut decoder = CsvDecoder::new(schema("a STRING, b INT"), b';', b'\'');
        let d = decoder.decode(&[b"'x;y';1", b"z;2"]).unwrap();
        let a = d.batch.column(0).as_string::<i32>();
        assert_eq!(a.iter().collect::<Vec<_>>(), [Some("x;y"), Some("z")]);
    }

    #[test]
    fn bad_csv_records_are_rejected_and_the_rest_kept_in_order() {
        let d = csv(
            "id BIGINT, value BIGINT NOT NULL, day DATE",
            &[
                "1,10,2024-01-01",
                "2,abc,2024-01-01",
                "3,30",
                "4,\"40,2024-01-01",
                "5,50,2024-01-05",
                "6,,2024-01-01",
                "7,70,someday",
                "",
                "8,80,",
                "9,90,2024-01-09\n",
            ],
        );
        assert_eq!(longs(&d.batch, 0), [Some(1), Some(5), Some(8), Some(9)]);
        assert_eq!(d.row_sources, [0, 4, 8, 9]);
        assert_eq!(
            reasons(&d),
            [
                (1, "column 'value': cannot parse 'abc' as BIGINT"),
                (2, "expected 3 columns, got 2"),
                (3, "unterminated quoted field"),
                (5, "column 'value' is NOT NULL but empty"),
                (6, "column 'day': cannot parse 'someday' as DATE"),
                (7, "empty record"),
            ]
        );
    }

    fn formats(timestamp: Option<&str>, date: Option<&str>) -> DateTimeFormats {
        let pattern = |p: &str| DateTimePattern::new(p).unwrap();
        DateTimeFormats {
            timestamp: timestamp.map(pattern),
            date: date.map(pattern),
        }
    }

    #[test]
    fn json_timestamps_and_dates_in_spark_patterns() {
        let f = formats(Some("dd/MM/yyyy HH:mm[:ss]"), Some("dd.MM.yyyy"));
        let mut decoder = JsonDecoder::with_formats(
            schema("id BIGINT, ts TIMESTAMP, local TIMESTAMP_NTZ, day DATE"),
            &f,
        );
        let records: [&[u8]; 5] = [
            br#"{"id": 1, "ts": "05/03/2024 14:07:09", "local": "2024-03-05 14:07:09", "day": "05.03.2024"}"#,
            br#"[{"id": 2, "ts": "05/03/2024 14:07"}, {"id": 3, "ts": "2024-03-05 14:07:09"}]"#,
            br#"{"id": 4, "day": "2024-03-05"}"#,
            br#"{"id": 5}"#,
            br#"{"id": 6, "ts": 1709647629}"#,
        ];
        let d = decoder.decode(&records).unwrap();
        let expected = "\
+----+----------------------+---------------------+------------+
| id | ts                   | local               | day        |
+----+----------------------+---------------------+------------+
| 1  | 2024-03-05T14:07:09Z | 2024-03-05T14:07:09 | 2024-03-05 |
| 5  |                      |                     |            |
+----+----------------------+---------------------+------------+";
        assert_eq!(table(&d.batch), expected);
        assert_eq!(d.row_sources, [0, 3]);
        assert_eq!(
            reasons(&d),
            [
                (1, "field 'ts': '2024-03-05 14:07:09' does not match timestamp_format 'dd/MM/yyyy HH:mm[:ss]': expected '/' at '24-03-05 14:07:09'"),
                (2, "field 'day': '2024-03-05' does not match date_format 'dd.MM.yyyy': expected '.' at '24-03-05'"),
                (4, "field 'ts': '1709647629' does not match timestamp_format 'dd/MM/yyyy HH:mm[:ss]': expected '/' at '09647629'"),
            ]
        );
        assert_eq!(d.rejected[0].raw, records[1]);
        // The decoder is reusable, and a clean call rejects nothing.
        let d = decoder
            .decode(&[br#"{"id": 7, "ts": "01/01/1970 00:00"}"#])
            .unwrap();
        let ts = d.batch.column(1).as_primitive::<TimestampMicrosecondType>();
        assert_eq!((ts.value(0), d.rejected.len()), (0, 0));
        assert_eq!(
            d.batch.schema(),
            schema("id BIGINT, ts TIMESTAMP, local TIMESTAMP_NTZ, day DATE")
        );
    }

    #[test]
    fn csv_timestamps_and_dates_in_spark_patterns() {
        let f = formats(Some("yyyy-MM-dd'T'HH:mm:ss.SSSXXX"), Some("dd/MM/yyyy"));
        let s = schema("id BIGINT, ts TIMESTAMP NOT NULL, day DATE");
        let mut decoder = CsvDecoder::with_formats(s, b',', b'"', &f);
        let d = decoder
            .decode(&[
                b"1,2024-03-05T16:07:09.5+02:00,05/03/2024",
                b"2,2024-03-05 14:07:09,05/03/2024",
                b"3,,",
                b"4,2024-03-05T14:07:09.000Z,2024-03-05",
                b"5,2024-03-05T14:07:09Z,",
            ])
            .unwrap();
        let ts = d.batch.column(1).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.values().to_vec(), [1_709_647_629_500_000]);
        assert_eq!(
            d.batch.column(2).as_primitive::<Date32Type>().value(0),
            19_787
        );
        assert_eq!(
            reasons(&d),
            [
                (1, "column 'ts': '2024-03-05 14:07:09' does not match timestamp_format 'yyyy-MM-dd'T'HH:mm:ss.SSSXXX': expected 'T' at ' 14:07:09'"),
                (2, "column 'ts' is NOT NULL but empty"),
                (3, "column 'day': '2024-03-05' does not match date_format 'dd/MM/yyyy': expected '/' at '24-03-05'"),
                (4, "column 'ts': '2024-03-05T14:07:09Z' does not match timestamp_format 'yyyy-MM-dd'T'HH:mm:ss.SSSXXX': expected '.' at 'Z'"),
            ]
        );
    }
}
