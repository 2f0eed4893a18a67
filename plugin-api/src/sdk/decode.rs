//! Raw records (file lines, Kafka values, socket lines) decoded into a schema's
//! [`RecordBatch`]; a record that does not fit is rejected on its own, with the reason.
//!
//! Each call feeds every record to one arrow-rs decoder and flushes once; only if that
//! fails does it narrow down to the bad records, with a fresh decoder after each error.

mod columns;
mod csv_options;
mod exact;
mod flat_json;
mod floats;
mod lenient;
mod nested;
mod parallel;
mod salvage;
mod spark_csv;
mod tokenize;

use std::borrow::Cow;
use std::collections::BTreeMap;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::{concat_batches, filter, take_record_batch};
use arrow::datatypes::{DataType, FieldRef, SchemaRef};
use arrow::error::ArrowError;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::datetime::DateTimePattern;
use super::ddl::data_type_to_ddl;
use columns::Columns;
pub use csv_options::{
    spark_delimiter, CsvOptions, EncodingErrors, Locale, UnescapedQuoteHandling,
};
pub use exact::{excerpt, EXCERPT_CHARS};
use flat_json::FlatJson;
pub use lenient::JsonOptions;
use lenient::{Refused, Shape};
use nested::NestedValues;
pub use parallel::{ParallelDecoder, RecordDecoder};
use salvage::Salvager;
use spark_csv::SparkCsv;

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

/// How dates and times are written. Spark's `timestampFormat` and `dateFormat`: the
/// patterns of top-level TIMESTAMP (not TIMESTAMP_NTZ) and DATE columns; a column without
/// one is read by Spark's string-cast rules (`sdk::datetime::cast`). And, for JSON, the unit of a number in a TIMESTAMP column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DateTimeFormats {
    /// For TIMESTAMP columns; a value without an offset is UTC.
    pub timestamp: Option<DateTimePattern>,
    /// For DATE columns.
    pub date: Option<DateTimePattern>,
    /// JSON: what a number in a TIMESTAMP column without a pattern counts since the epoch.
    pub timestamp_unit: TimestampUnit,
}

/// What a JSON number in a TIMESTAMP column counts since 1970-01-01T00:00:00Z. Spark
/// reads seconds and has no option for other units.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum TimestampUnit {
    /// Seconds, as Spark reads them; a fraction is kept to the microsecond.
    #[default]
    #[serde(rename = "s")]
    Seconds,
    /// Milliseconds.
    #[serde(rename = "ms")]
    Milliseconds,
    /// Microseconds, the precision of a TIMESTAMP.
    #[serde(rename = "us")]
    Microseconds,
}

impl TimestampUnit {
    /// The power of ten that turns this unit into microseconds.
    fn micros_exponent(self) -> i32 {
        match self {
            Self::Seconds => 6,
            Self::Milliseconds => 3,
            Self::Microseconds => 0,
        }
    }

    /// The unit's name in reasons.
    fn name(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Milliseconds => "milliseconds",
            Self::Microseconds => "microseconds",
        }
    }
}

/// Decodes JSON records: each an object (one row) or an array of objects (a row each).
///
/// Missing fields are null and unknown ones ignored; numbers and booleans are accepted as
/// strings. A value is read exactly or its record rejected: an integer column takes a
/// JSON integer within its range (not 1.5, 1e3 or 2^63); a number in a TIMESTAMP column
/// is time since the epoch in [`DateTimeFormats::timestamp_unit`] (seconds by default,
/// as Spark reads it), kept to the microsecond or refused; a DATE or TIMESTAMP_NTZ
/// column takes strings by Spark's string-cast rules (or in the [`DateTimeFormats`]
/// given), never a number; a number that is not valid JSON (`01`) rejects its record
/// wherever it is, unless [`JsonOptions`] allow it. An object, array or number read into
/// a STRING field is its JSON text, as written (Spark's rule).
pub struct JsonDecoder {
    /// For records that are flat, plain objects, when every column is read as text.
    flat: Option<FlatJson>,
    engine: Engine<Json>,
    columns: Columns,
    options: JsonOptions,
    /// Where the schema keeps JSON text or has floats.
    row: Shape,
    /// Whether the schema has FLOAT or DOUBLE values.
    floats: bool,
    formats: DateTimeFormats,
    salvager: Option<Salvager<JsonDecoder>>,
}

impl JsonDecoder {
    /// A decoder into `schema`, reading dates and timestamps by Spark's string-cast rules
    /// and the JSON syntax Spark reads by default.
    pub fn new(schema: SchemaRef) -> Self {
        Self::with_formats(schema, &DateTimeFormats::default())
    }

    /// A decoder into `schema`, reading dates and timestamps in `formats`.
    pub fn with_formats(schema: SchemaRef, formats: &DateTimeFormats) -> Self {
        Self::with_options(schema, formats, JsonOptions::default())
    }

    /// A decoder into `schema`, reading dates and timestamps in `formats` and the JSON
    /// syntax `options` allow.
    pub fn with_options(
        schema: SchemaRef,
        formats: &DateTimeFormats,
        options: JsonOptions,
    ) -> Self {
        let columns = Columns::new(schema.clone(), formats, "field", true);
        let json = Json {
            schema: columns.wire.clone(),
            nested: NestedValues::new(schema.fields()),
            declared: schema.clone(),
        };
        Self {
            flat: FlatJson::new(&columns.wire),
            engine: Engine::new(json),
            columns,
            options,
            row: Shape::row(schema.fields()),
            floats: schema
                .fields()
                .iter()
                .any(|f| floats::has_floats(f.data_type())),
            formats: formats.clone(),
            salvager: None,
        }
    }

    /// Spark's PERMISSIVE row for `record`, which [`decode`](Self::decode) rejected: each
    /// top-level column's value if that column alone reads from the record, else null.
    /// A record that is not JSON, or is an array (rows, not one row), is all nulls.
    pub fn salvage(&mut self, record: &[u8]) -> Vec<ArrayRef> {
        let schema = self.columns.schema().clone();
        if record.trim_ascii_start().first() != Some(&b'{') {
            return salvage::nulls(&schema);
        }
        let (formats, options) = (&self.formats, self.options);
        let salvager = self.salvager.get_or_insert_with(|| {
            Salvager::new(&schema, |s| Self::with_options(s, formats, options))
        });
        salvager.row(&schema, |d| d.decode(&[record]).ok().map(|d| d.batch))
    }

    /// Errs only if the schema has a type the JSON reader does not support.
    ///
    /// A record that is not strict JSON is rewritten into it first (or rejected, if the
    /// options do not allow what it has); a record the decoder refuses is tried once
    /// more with its objects and arrays in STRING fields as text. Rejected records carry
    /// their bytes as given.
    pub fn decode(&mut self, records: &[&[u8]]) -> Result<Decoded, ArrowError> {
        let flat = self.flat.as_ref().and_then(|flat| flat.decode(records));
        if let Some(batch) = flat {
            let row_sources = (0..records.len()).collect();
            let decoded = Decoded {
                batch,
                rejected: Vec::new(),
                row_sources,
            };
            return self.columns.convert(decoded, records);
        }
        let mut prepared = self.prepare(records);
        let mut decoded = (self.engine).decode(&prepared.slices(), prepared.refused.clone())?;
        if self.texts_for_containers(&decoded, records, &mut prepared) {
            decoded = (self.engine).decode(&prepared.slices(), prepared.refused.clone())?;
        }
        if self.floats {
            decoded = self.check_non_finite(decoded, records, &prepared.rewritten)?;
        }
        for r in &mut decoded.rejected {
            r.raw = records[r.index].to_vec();
        }
        self.columns.convert(decoded, records)
    }
}

/// Records as the arrow-rs decoder is given them.
struct Prepared<'a> {
    /// Each record, or the strict JSON it was rewritten into.
    records: Vec<Cow<'a, [u8]>>,
    /// Which records were not strict, and so went through the tokenizer.
    rewritten: Vec<bool>,
    /// The records the tokenizer refused, in input order.
    refused: Vec<Undecodable>,
}

impl Prepared<'_> {
    fn slices(&self) -> Vec<&[u8]> {
        self.records.iter().map(|r| r.as_ref()).collect()
    }
}

impl JsonDecoder {
    /// Strict records as they are, the others rewritten into strict JSON or refused.
    fn prepare<'a>(&self, records: &[&'a [u8]]) -> Prepared<'a> {
        let mut prepared = Prepared {
            records: Vec::with_capacity(records.len()),
            rewritten: vec![false; records.len()],
            refused: Vec::new(),
        };
        for (index, &record) in records.iter().enumerate() {
            if lenient::is_strict(record) {
                prepared.records.push(Cow::Borrowed(record));
                continue;
            }
            prepared.rewritten[index] = true;
            let json = match lenient::rewrite(record, &self.options, &self.row) {
                // Only comments: no rows.
                Ok(r) if r.json.is_empty() => Cow::Borrowed(&b"[]"[..]),
                Ok(r) => Cow::Owned(r.json),
                // Malformed JSON the decoder refuses, in its own words.
                Err(Refused::Plain) => Cow::Borrowed(record),
                Err(Refused::Because(reason)) => {
                    let raw = record.to_vec();
                    prepared.refused.push(Undecodable { index, raw, reason });
                    Cow::Borrowed(record)
                }
            };
            prepared.records.push(json);
        }
        prepared
    }

    /// Rewrites the strict records `decoded` rejected that have an object or array in a
    /// STRING field, with it as text; whether there were any.
    fn texts_for_containers(
        &self,
        decoded: &Decoded,
        records: &[&[u8]],
        prepared: &mut Prepared,
    ) -> bool {
        let mut any = false;
        for r in decoded
            .rejected
            .iter()
            .filter(|r| !prepared.rewritten[r.index])
        {
            let text = lenient::rewrite(records[r.index], &self.options, &self.row);
            if let Some(text) = text.ok().filter(|t| t.containers_as_text) {
                prepared.records[r.index] = Cow::Owned(text.json);
                any = true;
            }
        }
        any
    }

    /// Rejects the records whose NaN or infinite values were written other than as
    /// Spark reads them (the rewritten records were checked as they were rewritten).
    fn check_non_finite(
        &self,
        decoded: Decoded,
        records: &[&[u8]],
        rewritten: &[bool],
    ) -> Result<Decoded, ArrowError> {
        let mut rows = vec![false; decoded.batch.num_rows()];
        for column in decoded.batch.columns() {
            floats::mark_non_finite(column, &Some, &mut rows);
        }
        let mut failed = BTreeMap::new();
        for (row, _) in rows.iter().enumerate().filter(|(_, &marked)| marked) {
            let index = decoded.row_sources[row];
            if rewritten[index] || failed.contains_key(&index) {
                continue;
            }
            let checked = lenient::rewrite(records[index], &self.options, &self.row);
            if let Err(Refused::Because(reason)) = checked {
                failed.insert(index, reason);
            }
        }
        if failed.is_empty() {
            return Ok(decoded);
        }
        let Decoded {
            batch,
            rejected,
            row_sources,
        } = decoded;
        let columns = batch.columns().to_vec();
        let kept = Kept {
            columns,
            row_sources,
            rejected,
        };
        kept.without(failed, records, batch.schema())
    }
}

/// Decoded rows as columns, before their batch is built.
struct Kept {
    columns: Vec<ArrayRef>,
    /// For each row, the index of the record it came from.
    row_sources: Vec<usize>,
    rejected: Vec<Undecodable>,
}

impl Kept {
    /// The batch of `schema` without the rows of the records in `failed` (by index, with
    /// the reason), which join `rejected` in input order.
    fn without(
        mut self,
        failed: BTreeMap<usize, String>,
        records: &[&[u8]],
        schema: SchemaRef,
    ) -> Result<Decoded, ArrowError> {
        if !failed.is_empty() {
            let keep: BooleanArray = (self.row_sources.iter())
                .map(|source| Some(!failed.contains_key(source)))
                .collect();
            let kept = self.columns.iter().map(|column| filter(column, &keep));
            self.columns = kept.collect::<Result<_, _>>()?;
            self.row_sources
                .retain(|source| !failed.contains_key(source));
            self.rejected
                .extend(failed.into_iter().map(|(index, reason)| Undecodable {
                    index,
                    raw: records[index].to_vec(),
                    reason,
                }));
            self.rejected.sort_by_key(|r| r.index);
        }
        let rows = RecordBatchOptions::new().with_row_count(Some(self.row_sources.len()));
        Ok(Decoded {
            batch: RecordBatch::try_new_with_options(schema, self.columns, &rows)?,
            rejected: self.rejected,
            row_sources: self.row_sources,
        })
    }
}

/// Whether arrow-rs reads `record` as Spark's rules do: no escape in it, and every quote
/// opening a field and closing it just before a delimiter or the end, with text between
/// (a quoted empty field is Spark's `emptyValue`, which arrow-rs does not know).
fn plainly_quoted(record: &[u8], path: FastPath) -> bool {
    let Some(first) = memchr::memchr(path.quote, record) else {
        return true;
    };
    let mut buf = [0; 4];
    let escape = path.escape.map(|e| &*e.encode_utf8(&mut buf));
    let escaped = match escape.map(str::as_bytes) {
        Some(&[byte]) => memchr::memchr(byte, record).is_some(),
        Some(e) => record.windows(e.len()).any(|w| w == e),
        None => false,
    };
    if escaped {
        return false;
    }
    let mut at = first;
    loop {
        let opens = at == 0 || record[at - 1] == path.delimiter;
        let Some(length) = memchr::memchr(path.quote, &record[at + 1..]) else {
            return false;
        };
        let close = at + 1 + length;
        match record.get(close + 1) {
            _ if !opens || length == 0 => return false,
            None => return true,
            Some(&d) if d == path.delimiter => {}
            Some(_) => return false,
        }
        match memchr::memchr(path.quote, &record[close + 1..]) {
            Some(next) => at = close + 1 + next,
            None => return true,
        }
    }
}

/// Decodes CSV records (data lines, no header) into the schema's columns, in order.
///
/// Made with [`CsvDecoder::with_options`], it reads as Spark reads CSV with those
/// options (see [`CsvOptions`]). Made with [`CsvDecoder::new`], by RFC 4180 strictly:
/// empty fields are null, and a field is quoted whole (`"a, ""b"""`) or holds no quote
/// character; one with a quote elsewhere (`"a"b`, `a"b"c`) rejects its record.
/// Either way a field that is not UTF-8, or does not parse as its column's type, rejects
/// its record, naming the column.
pub struct CsvDecoder {
    /// arrow-rs on the records as written.
    engine: Engine<Csv>,
    columns: Columns,
    /// Spark's rules; none: RFC 4180, strictly.
    spark: Option<Box<Spark>>,
    formats: DateTimeFormats,
    salvager: Option<Salvager<CsvDecoder>>,
}

/// A decoder's Spark rules, and how records may take the fast path.
struct Spark {
    csv: SparkCsv,
    /// None when arrow-rs cannot read records as the options do.
    fast: Option<FastPath>,
}

/// The one-byte delimiter and quote with which arrow-rs reads records as the options do,
/// when their quotes are plain (see [`plainly_quoted`]); and the escape.
#[derive(Clone, Copy)]
struct FastPath {
    delimiter: u8,
    quote: u8,
    escape: Option<char>,
}

impl CsvDecoder {
    /// A decoder into `schema`, reading dates and timestamps by Spark's string-cast rules.
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
        let columns = Columns::new(schema, formats, "column", false);
        let schema = columns.wire.clone();
        Self {
            engine: Engine::new(Csv::new(schema, delimiter, quote)),
            columns,
            spark: None,
            formats: formats.clone(),
            salvager: None,
        }
    }

    /// A decoder into `schema` reading as Spark does with `options`, and dates and
    /// timestamps in `formats`. Errs naming an option that cannot work.
    pub fn with_options(
        schema: SchemaRef,
        options: &CsvOptions,
        formats: &DateTimeFormats,
    ) -> Result<Self, String> {
        options.check()?;
        let columns = Columns::new(schema.clone(), formats, "column", false);
        let csv = SparkCsv::new(options.clone(), schema, columns.wire.clone());
        let fast = csv.fast_delimiter();
        let (delimiter, quote) = fast.unwrap_or((b',', b'"'));
        Ok(Self {
            engine: Engine::new(Csv::new(columns.wire.clone(), delimiter, quote)),
            columns,
            spark: Some(Box::new(Spark {
                csv,
                fast: fast.map(|(delimiter, quote)| FastPath {
                    delimiter,
                    quote,
                    escape: options.escape,
                }),
            })),
            formats: formats.clone(),
            salvager: None,
        })
    }

    /// Spark's PERMISSIVE row for `record`, which [`decode`](Self::decode) rejected: its
    /// fields (missing ones null, extra ones dropped), each column's value if it alone
    /// reads, else null. All nulls for a record that cannot be cut into fields, or from
    /// a decoder made without options.
    pub fn salvage(&mut self, record: &[u8]) -> Vec<ArrayRef> {
        let schema = self.columns.schema().clone();
        let Some(spark) = self.spark.as_deref() else {
            return salvage::nulls(&schema);
        };
        let Some(fitted) = spark.csv.fitted(record, schema.fields().len()) else {
            return salvage::nulls(&schema);
        };
        let options = spark.csv.options.clone();
        let formats = &self.formats;
        let salvager = self.salvager.get_or_insert_with(|| {
            Salvager::new(&schema, |s| {
                Self::with_options(s, &options, formats).expect("options checked once already")
            })
        });
        salvager.row(&schema, |d| d.decode(&[&fitted]).ok().map(|d| d.batch))
    }

    /// Errs only if the schema has a type the CSV reader does not support.
    pub fn decode(&mut self, records: &[&[u8]]) -> Result<Decoded, ArrowError> {
        if let Some(spark) = self.spark.as_deref() {
            let replace = spark.csv.options.encoding_errors == EncodingErrors::Replace;
            return self.decode_spark(records, replace, spark.fast);
        }
        let decoded = self.engine.decode(records, Vec::new())?;
        self.columns.convert(decoded, records)
    }

    /// Whether `record` is a comment, which decodes to nothing: it starts with the
    /// `comment` character.
    pub fn is_comment(&self, record: &[u8]) -> bool {
        let comment = self.spark.as_ref().and_then(|s| s.csv.options.comment);
        comment.is_some_and(|c| record.starts_with(c.encode_utf8(&mut [0; 4]).as_bytes()))
    }

    /// Spark's check of a header under `enforceSchema = false`: it has the schema's
    /// column names, in order, case aside. Errs saying where it differs. A decoder made
    /// without options (RFC 4180) checks nothing.
    pub fn check_header(&self, record: &[u8]) -> Result<(), String> {
        let Some(spark) = &self.spark else {
            return Ok(());
        };
        let names = spark.csv.header(record)?;
        let schema = self.columns.schema();
        let expected: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        if names.len() != expected.len() {
            return Err(format!(
                "the header has {} columns, the schema {}",
                names.len(),
                expected.len()
            ));
        }
        let differs = names.iter().zip(&expected).enumerate();
        for (i, (name, wanted)) in differs {
            if name.to_lowercase() != wanted.to_lowercase() {
                return Err(format!(
                    "column {} is '{name}' in the header but '{wanted}' in the schema",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    /// Which records take the fast path (their quotes, if any, plain) and which the
    /// tokenizer; comments take neither.
    fn route(&self, texts: &[Cow<[u8]>], path: Option<FastPath>) -> (Vec<usize>, Vec<usize>) {
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for (i, text) in texts.iter().enumerate() {
            if self.is_comment(text) {
                continue;
            }
            match path {
                Some(path) if plainly_quoted(text, path) => fast.push(i),
                _ => slow.push(i),
            }
        }
        (fast, slow)
    }

    /// Spark's rules: comments skipped, records without a quote on the fast path when
    /// the options allow, the rest (and whatever the fast path refuses) tokenized.
    /// `replace`: bytes that are not UTF-8 read as U+FFFD; `path`: how arrow-rs reads the
    /// records that may take the fast path.
    fn decode_spark(
        &mut self,
        records: &[&[u8]],
        replace: bool,
        path: Option<FastPath>,
    ) -> Result<Decoded, ArrowError> {
        let texts: Vec<Cow<[u8]>> = (records.iter())
            .map(|r| match replace {
                true => lossy(r),
                false => Cow::Borrowed(*r),
            })
            .collect();
        let (fast, mut slow) = self.route(&texts, path);
        let mut parts = Vec::new();
        if !fast.is_empty() {
            let subset: Vec<&[u8]> = fast.iter().map(|&i| &*texts[i]).collect();
            let decoded = self.engine.decode(&subset, Vec::new())?;
            let mut decoded = self.columns.convert(decoded, &subset)?;
            // What arrow-rs refuses may still read by Spark's rules (`1,234.5`).
            slow.extend(decoded.rejected.drain(..).map(|r| fast[r.index]));
            slow.sort_unstable();
            parts.push((decoded, fast));
        }
        if let (false, Some(spark)) = (slow.is_empty(), self.spark.as_mut()) {
            let subset: Vec<&[u8]> = slow.iter().map(|&i| &*texts[i]).collect();
            parts.push((spark.csv.decode(&subset, &self.columns)?, slow));
        }
        merge(self.columns.schema(), parts, records)
    }
}

/// `record` with each sequence that is not UTF-8 as U+FFFD.
fn lossy(record: &[u8]) -> Cow<'_, [u8]> {
    match String::from_utf8_lossy(record) {
        Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    }
}

/// The parts of one call's records, each decoded with the indices of its records, as one
/// [`Decoded`]: rows in record order, rejections with their raw `records`.
fn merge(
    schema: &SchemaRef,
    parts: Vec<(Decoded, Vec<usize>)>,
    records: &[&[u8]],
) -> Result<Decoded, ArrowError> {
    let (mut batches, mut sources, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
    for (decoded, indices) in parts {
        sources.extend(decoded.row_sources.iter().map(|&i| indices[i]));
        rejected.extend(decoded.rejected.into_iter().map(|r| Undecodable {
            index: indices[r.index],
            raw: records[indices[r.index]].to_vec(),
            reason: r.reason,
        }));
        batches.push(decoded.batch);
    }
    rejected.sort_by_key(|r| r.index);
    let mut batch = match batches.len() {
        1 => batches.swap_remove(0),
        _ => concat_batches(schema, &batches)?,
    };
    if !sources.is_sorted() {
        let mut order: Vec<u32> = (0..sources.len() as u32).collect();
        order.sort_by_key(|&row| sources[row as usize]);
        batch = take_record_batch(&batch, &UInt32Array::from(order.clone()))?;
        sources = order.iter().map(|&row| sources[row as usize]).collect();
    }
    Ok(Decoded {
        batch,
        rejected,
        row_sources: sources,
    })
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
    /// Why `record` must be rejected before decoding, for what the decoder would read
    /// inexactly rather than refuse.
    fn check(&self, record: &[u8]) -> Option<String>;
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

    /// Decodes `records` but the ones already `refused` (in input order).
    fn decode(
        &mut self,
        records: &[&[u8]],
        mut refused: Vec<Undecodable>,
    ) -> Result<Decoded, ArrowError> {
        let mut parts = Parts::default();
        let given: Vec<usize> = refused.iter().map(|r| r.index).collect();
        let mut given = given.into_iter().peekable();
        for (index, record) in records.iter().enumerate() {
            if given.next_if_eq(&index).is_some() {
                continue;
            }
            if let Some(reason) = self.format.check(record) {
                let raw = record.to_vec();
                refused.push(Undecodable { index, raw, reason });
            }
        }
        refused.sort_by_key(|r| r.index);
        if refused.is_empty() {
            self.decode_range(records, 0, &mut parts)?;
        } else {
            self.decode_checked(records, refused, &mut parts)?;
        }
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

    /// Decodes the records not `refused` and maps the results back to input indices.
    fn decode_checked(
        &mut self,
        records: &[&[u8]],
        refused: Vec<Undecodable>,
        parts: &mut Parts,
    ) -> Result<(), ArrowError> {
        let mut refused = refused.into_iter().peekable();
        let (mut kept, mut indices) = (Vec::new(), Vec::new());
        for (index, record) in records.iter().enumerate() {
            match refused.peek() {
                Some(r) if r.index == index => parts.rejected.extend(refused.next()),
                _ => {
                    kept.push(*record);
                    indices.push(index);
                }
            }
        }
        let mut decoded = Parts::default();
        self.decode_range(&kept, 0, &mut decoded)?;
        parts.batches = decoded.batches;
        let sources = decoded.row_sources.iter().map(|&i| indices[i]);
        parts.row_sources = sources.collect();
        let rejected = decoded.rejected.into_iter().map(|mut r| {
            r.index = indices[r.index];
            r
        });
        parts.rejected.extend(rejected);
        parts.rejected.sort_by_key(|r| r.index);
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
    /// What the decoder reads: the declared schema with some columns as text.
    schema: SchemaRef,
    /// The schema asked for, whose types reasons name.
    declared: SchemaRef,
    /// Checks for the values arrow-rs converts inexactly that columns.rs does not see.
    nested: Option<NestedValues>,
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
        let rows = if object {
            feed_all(d, body, out)?
        } else {
            // A top-level array is a row per element; arrow-rs reads objects only.
            let mut rows = 0;
            for element in array_elements(body)? {
                if element.first() != Some(&b'{') || element.last() != Some(&b'}') {
                    return Err(ArrowError::JsonError(
                        "array element is not an object".into(),
                    ));
                }
                rows += feed_all(d, element, out)?;
            }
            rows
        };
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

    fn check(&self, record: &[u8]) -> Option<String> {
        self.nested.as_ref()?.check(record)
    }
}

impl Json {
    fn explain_row(&self, row: &Value) -> Option<String> {
        let Value::Object(object) = row else {
            return Some(format!("expected a JSON object, got {}", json_kind(row)));
        };
        let fields = self.schema.fields().iter().zip(self.declared.fields());
        fields.into_iter().find_map(|(field, declared)| {
            let name = field.name();
            match object.get(name).unwrap_or(&Value::Null) {
                Value::Null if field.is_nullable() => None,
                Value::Null => Some(format!("field '{name}' is NOT NULL but missing or null")),
                value if json_fits(field, value) => None,
                value => {
                    let expected = data_type_to_ddl(declared.data_type());
                    let got = excerpt(value.to_string().as_bytes(), EXCERPT_CHARS);
                    Some(format!("field '{name}': expected {expected}, got {got}"))
                }
            }
        })
    }
}

/// The elements of the JSON array `body` (`[` … `]`), each trimmed: split at the commas
/// outside strings and nested values.
fn array_elements(body: &[u8]) -> Result<Vec<&[u8]>, ArrowError> {
    let inner = &body[1..body.len() - 1];
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, 0);
    let mut elements = Vec::new();
    for (i, &b) in inner.iter().enumerate() {
        if in_string {
            (escaped, in_string) = match (escaped, b) {
                (true, _) => (false, true),
                (false, b'\\') => (true, true),
                (false, b'"') => (false, false),
                _ => (false, true),
            };
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                elements.push(inner[start..i].trim_ascii());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim_ascii();
    if !(last.is_empty() && elements.is_empty()) {
        elements.push(last);
    }
    if elements.iter().any(|e| e.is_empty()) {
        return Err(ArrowError::JsonError("empty array element".into()));
    }
    Ok(elements)
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
    /// Per column, a DECIMAL's scale: arrow-rs would drop the digits beyond it.
    scales: Vec<Option<i64>>,
}

impl Csv {
    fn new(schema: SchemaRef, delimiter: u8, quote: u8) -> Self {
        let scales = (schema.fields().iter())
            .map(|f| match f.data_type() {
                DataType::Decimal128(_, scale) | DataType::Decimal256(_, scale) => {
                    Some(i64::from(*scale))
                }
                _ => None,
            })
            .collect();
        Self {
            schema,
            delimiter,
            quote,
            scales,
        }
    }

    /// Why a DECIMAL column's `text` cannot be held exactly: it has digits beyond the
    /// scale, which arrow-rs would drop (Spark would round them).
    fn inexact_decimal(&self, column: usize, text: &[u8]) -> Option<String> {
        let scale = (*self.scales.get(column)?)?;
        let places = exact::decimal_places(text)?;
        (places > scale).then(|| {
            let ddl = data_type_to_ddl(self.schema.field(column).data_type());
            let text = excerpt(text, EXCERPT_CHARS);
            format!("'{text}' has more digits after the point than {ddl} keeps (it is not rounded)")
        })
    }

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
            let text = excerpt(text, EXCERPT_CHARS);
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

    fn check(&self, record: &[u8]) -> Option<String> {
        // Most records have neither a quote nor a byte beyond ASCII: one fast scan each.
        let plain = !record.contains(&self.quote) && record.is_ascii();
        let decimals = self.scales.iter().any(Option::is_some);
        if plain && !decimals {
            return None;
        }
        let value = |column, text: &[u8]| self.inexact_decimal(column, text);
        let bad = exact::bad_csv_field(record, self.delimiter, self.quote, value)?;
        let name = match self.schema.fields().get(bad.column) {
            Some(field) => format!("column '{}'", field.name()),
            None => format!("column {} (beyond the schema)", bad.column + 1),
        };
        Some(format!("{name}: {}", bad.why))
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

    #[test]
    fn only_plainly_quoted_records_take_the_fast_path() {
        let path = FastPath {
            delimiter: b',',
            quote: b'"',
            escape: Some('\\'),
        };
        let plain = |r: &str| plainly_quoted(r.as_bytes(), path);
        for fast in ["1,a,b", "\"a\",2", "1,\"de,lta\"", "\"a\",\"b\",\"c\""] {
            assert!(plain(fast), "{fast}");
        }
        for slow in [
            "1,\"\"",
            "1,\"a\"\"b\"",
            "1,\"a\"b",
            "1,a\"b",
            "1, \"a\"",
            "1,\"a\\\"b\"",
            "1,\"open",
        ] {
            assert!(!plain(slow), "{slow}");
        }
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
                (6, "column 'day': expected DATE, got \"someday\" (does not start with a year of 4 to 7 digits)"),
                (7, "empty record"),
            ]
        );
    }

    fn formats(timestamp: Option<&str>, date: Option<&str>) -> DateTimeFormats {
        let pattern = |p: &str| DateTimePattern::new(p).unwrap();
        DateTimeFormats {
            timestamp: timestamp.map(pattern),
            date: date.map(pattern),
            ..DateTimeFormats::default()
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

    #[test]
    fn json_integers_are_exact_or_rejected() {
        let d = json(
            "id INT, n BIGINT, t TINYINT",
            &[
                r#"{"id": 1, "n": 9223372036854775807, "t": -128}"#,
                r#"{"id": 2, "n": 1.5}"#,
                r#"{"id": 3, "n": 9223372036854775808}"#,
                r#"{"id": 4, "n": -9223372036854775809}"#,
                r#"{"id": 5, "t": 300}"#,
                r#"{"id": 6, "n": 1e3}"#,
                r#"{"id": 7, "n": 1.0}"#,
                r#"{"id": 8, "n": 01}"#,
                r#"{"id": 9, "other": -01.5}"#,
                r#"{"id": 10, "n": "-9223372036854775808", "t": "127"}"#,
                r#"{"id": 2147483648}"#,
            ],
        );
        let expected = "\
+----+----------------------+------+
| id | n                    | t    |
+----+----------------------+------+
| 1  | 9223372036854775807  | -128 |
| 10 | -9223372036854775808 | 127  |
+----+----------------------+------+";
        assert_eq!(table(&d.batch), expected);
        assert_eq!(d.row_sources, [0, 9]);
        assert_eq!(
            reasons(&d),
            [
                (1, "field 'n': expected BIGINT, got 1.5 (not an integer)"),
                (
                    2,
                    "field 'n': expected BIGINT, got 9223372036854775808 (out of range)"
                ),
                (
                    3,
                    "field 'n': expected BIGINT, got -9223372036854775809 (out of range)"
                ),
                (4, "field 't': expected TINYINT, got 300 (out of range)"),
                (5, "field 'n': expected BIGINT, got 1e3 (not an integer)"),
                (6, "field 'n': expected BIGINT, got 1.0 (not an integer)"),
                (
                    7,
                    "malformed JSON: invalid number at line 1 column 17 ('01')"
                ),
                (
                    8,
                    "malformed JSON: invalid number at line 1 column 22 ('-01.5')"
                ),
                (
                    10,
                    "field 'id': expected INT, got 2147483648 (out of range)"
                ),
            ]
        );
    }

    #[test]
    fn json_integers_in_arrays_of_rows_reject_the_whole_record() {
        let d = json(
            "n SMALLINT",
            &[r#"[{"n": 1}, {"n": 2.5}]"#, r#"[{"n": 3}]"#],
        );
        assert_eq!(longs_i16(&d.batch), [Some(3)]);
        assert_eq!(d.row_sources, [1]);
        assert_eq!(
            reasons(&d),
            [(0, "field 'n': expected SMALLINT, got 2.5 (not an integer)")]
        );
    }

    fn longs_i16(batch: &RecordBatch) -> Vec<Option<i16>> {
        let column = batch
            .column(0)
            .as_primitive::<arrow::datatypes::Int16Type>();
        column.iter().collect()
    }

    fn micros(batch: &RecordBatch, column: usize) -> Vec<Option<i64>> {
        let column = batch
            .column(column)
            .as_primitive::<TimestampMicrosecondType>();
        column.iter().collect()
    }

    #[test]
    fn json_numbers_for_timestamps_are_epoch_seconds_kept_to_the_microsecond() {
        let d = json(
            "id INT, ts TIMESTAMP",
            &[
                r#"{"id": 1, "ts": 1709647629}"#,
                r#"{"id": 2, "ts": 1.5}"#,
                r#"{"id": 3, "ts": -0.000001}"#,
                r#"{"id": 4, "ts": 1.0000001}"#,
                r#"{"id": 5, "ts": 1e300}"#,
                r#"{"id": 6, "ts": "2024-03-05T14:07:09.123456Z"}"#,
                r#"{"id": 7, "ts": "2024-03-05T14:07:09.1234567Z"}"#,
                r#"{"id": 8, "ts": "yesterday"}"#,
                r#"{"id": 9, "ts": 1.7e9}"#,
            ],
        );
        assert_eq!(
            micros(&d.batch, 1),
            [
                Some(1_709_647_629_000_000),
                Some(1_500_000),
                Some(-1),
                Some(1_709_647_629_123_456),
                Some(1_700_000_000_000_000)
            ]
        );
        assert_eq!(d.row_sources, [0, 1, 2, 5, 8]);
        assert_eq!(
            reasons(&d),
            [
                (3, "field 'ts': expected TIMESTAMP, got 1.0000001 (seconds since the epoch: finer than the microseconds a TIMESTAMP holds)"),
                (4, "field 'ts': expected TIMESTAMP, got 1e300 (seconds since the epoch: out of range)"),
                (6, r#"field 'ts': expected TIMESTAMP, got "2024-03-05T14:07:09.1234567Z" (finer than the microseconds a TIMESTAMP holds)"#),
                (
                    7,
                    r#"field 'ts': expected TIMESTAMP, got "yesterday" (does not start with a year of 4 to 7 digits)"#,
                ),
            ]
        );
    }

    #[test]
    fn timestamp_unit_sets_what_a_json_number_counts() {
        let records: [&[u8]; 4] = [
            br#"{"ts": 1709647629123}"#,
            br#"{"ts": 1.5}"#,
            br#"{"ts": 0.5}"#,
            br#"{"ts": 10000000000000000}"#,
        ];
        let decode = |unit| {
            let formats = DateTimeFormats {
                timestamp_unit: unit,
                ..DateTimeFormats::default()
            };
            let mut decoder = JsonDecoder::with_formats(schema("ts TIMESTAMP"), &formats);
            decoder.decode(&records).unwrap()
        };
        let ms = decode(TimestampUnit::Milliseconds);
        assert_eq!(
            micros(&ms.batch, 0),
            [Some(1_709_647_629_123_000), Some(1_500), Some(500)]
        );
        assert_eq!(reasons(&ms), [(3, "field 'ts': expected TIMESTAMP, got 10000000000000000 (milliseconds since the epoch: out of range)")]);
        let us = decode(TimestampUnit::Microseconds);
        assert_eq!(
            micros(&us.batch, 0),
            [Some(1_709_647_629_123), Some(10_000_000_000_000_000)]
        );
        assert_eq!(
            reasons(&us),
            [
                (1, "field 'ts': expected TIMESTAMP, got 1.5 (microseconds since the epoch: finer than the microseconds a TIMESTAMP holds)"),
                (2, "field 'ts': expected TIMESTAMP, got 0.5 (microseconds since the epoch: finer than the microseconds a TIMESTAMP holds)"),
            ]
        );
        let s = decode(TimestampUnit::Seconds);
        assert_eq!(micros(&s.batch, 0)[1..], [Some(1_500_000), Some(500_000)]);
        assert_eq!(reasons(&s), [(3, "field 'ts': expected TIMESTAMP, got 10000000000000000 (seconds since the epoch: out of range)")]);
        let unit: TimestampUnit = serde_json::from_str("\"ms\"").unwrap();
        assert_eq!(unit, TimestampUnit::Milliseconds);
    }

    #[test]
    fn json_numbers_are_not_dates_or_local_timestamps() {
        let d = json(
            "day DATE, local TIMESTAMP_NTZ",
            &[
                r#"{"day": 19723}"#,
                r#"{"local": 0}"#,
                r#"{"day": "2024-01-01", "local": "2024-01-01 10:00:00"}"#,
            ],
        );
        assert_eq!(d.row_sources, [2]);
        assert_eq!(
            d.batch.column(0).as_primitive::<Date32Type>().value(0),
            19_723
        );
        assert_eq!(
            reasons(&d),
            [
                (
                    0,
                    r#"field 'day': expected DATE, got 19723 (a JSON number is not a DATE: write it as a string, e.g. "2024-03-05")"#
                ),
                (
                    1,
                    r#"field 'local': expected TIMESTAMP_NTZ, got 0 (a JSON number is not a TIMESTAMP_NTZ: write it as a string, e.g. "2024-03-05 14:07:09")"#
                ),
            ]
        );
    }

    #[test]
    fn json_reasons_escape_and_cut_the_value() {
        let long = format!(r#"{{"n": "{}\u0000"}}"#, "x".repeat(100));
        let d = json("n BIGINT", &[r#"{"n": "a\nb"}"#, &long]);
        assert_eq!(
            d.rejected[0].reason,
            r#"field 'n': expected BIGINT, got "a\nb""#
        );
        let reason = &d.rejected[1].reason;
        assert_eq!(
            reason,
            &format!(r#"field 'n': expected BIGINT, got "{}…"#, "x".repeat(79))
        );
    }

    #[test]
    fn csv_fields_with_a_quote_inside_are_rejected_not_rewritten() {
        let d = csv(
            "id BIGINT, text STRING",
            &[
                r#"1,"a"b"#,
                r#"2,a"b"c"#,
                r#"3,"a ""quoted"" word""#,
                r#"4,plain"#,
                r#""5"x,y"#,
            ],
        );
        let text = d.batch.column(1).as_string::<i32>();
        assert_eq!(
            text.iter().collect::<Vec<_>>(),
            [Some(r#"a "quoted" word"#), Some("plain")]
        );
        assert_eq!(d.row_sources, [2, 3]);
        let hint = r#"; a field with a quote must be quoted whole, the quote doubled: "a""b""#;
        assert_eq!(
            reasons(&d),
            [
                (
                    0,
                    format!(r#"column 'text': text after the closing quote in '"a"b'{hint}"#)
                        .as_str()
                ),
                (
                    1,
                    format!(
                        r#"column 'text': quote character inside the unquoted field 'a"b"c'{hint}"#
                    )
                    .as_str()
                ),
                (
                    4,
                    format!(r#"column 'id': text after the closing quote in '"5"x'{hint}"#)
                        .as_str()
                ),
            ]
        );
    }

    #[test]
    fn csv_invalid_utf8_names_its_column() {
        let records: [&[u8]; 3] = [b"1,caf\xe9,2", b"2,ok,3", b"x\xff,ok,4"];
        let mut decoder = CsvDecoder::new(schema("id BIGINT, name STRING, n INT"), b',', b'"');
        let d = decoder.decode(&records).unwrap();
        assert_eq!(longs(&d.batch, 0), [Some(2)]);
        assert_eq!(
            reasons(&d),
            [
                (0, "column 'name': invalid UTF-8 (byte 4 of the field: e9)"),
                (2, "column 'id': invalid UTF-8 (byte 2 of the field: ff)"),
            ]
        );
        assert_eq!(d.rejected[0].raw, records[0]);
    }

    #[test]
    fn csv_decimals_keep_every_digit_or_are_rejected() {
        let d = csv(
            "id INT, m DECIMAL(10,2)",
            &[
                "1,1.5",
                "2,1.234",
                "3,\"-1.2300\"",
                "4,1.235e1",
                "5,1.23e-1",
                "6,x",
            ],
        );
        let m = d
            .batch
            .column(1)
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(m.values().to_vec(), [150, -123, 1235]);
        assert_eq!(d.row_sources, [0, 2, 3]);
        let inexact =
            "has more digits after the point than DECIMAL(10,2) keeps (it is not rounded)";
        assert_eq!(
            reasons(&d),
            [
                (1, format!("column 'm': '1.234' {inexact}").as_str()),
                (4, format!("column 'm': '1.23e-1' {inexact}").as_str()),
                (5, "column 'm': cannot parse 'x' as DECIMAL(10,2)"),
            ]
        );
    }

    #[test]
    fn csv_numbers_are_parsed_exactly() {
        let d = csv(
            "t TINYINT, n BIGINT",
            &[
                "1.5,1",
                "300,2",
                "-128,01",
                "127,9223372036854775808",
                "1,2.0",
            ],
        );
        assert_eq!(longs(&d.batch, 1), [Some(1)]);
        assert_eq!(d.row_sources, [2]);
        assert_eq!(
            reasons(&d),
            [
                (0, "column 't': cannot parse '1.5' as TINYINT"),
                (1, "column 't': cannot parse '300' as TINYINT"),
                (
                    3,
                    "column 'n': cannot parse '9223372036854775808' as BIGINT"
                ),
                (4, "column 'n': cannot parse '2.0' as BIGINT"),
            ]
        );
    }

    #[test]
    fn json_non_numeric_numbers_are_floats_only() {
        let d = json(
            "id INT, d DOUBLE, f FLOAT, s STRING, n INT, dec DECIMAL(5,2), a ARRAY<DOUBLE>",
            &[
                r#"{"id": 1, "d": NaN, "f": -Infinity, "s": NaN}"#,
                r#"{"id": 2, "d": Infinity, "f": +Infinity, "a": [NaN, 1.5]}"#,
                r#"{"id": 3, "n": NaN}"#,
                r#"{"id": 4, "dec": Infinity}"#,
                r#"{"id": 5, "d": "-Infinity"}"#,
            ],
        );
        assert_eq!(d.row_sources, [0, 1, 4]);
        let doubles = d
            .batch
            .column(1)
            .as_primitive::<arrow::datatypes::Float64Type>();
        assert!(doubles.value(0).is_nan());
        assert_eq!(
            (doubles.value(1), doubles.value(2)),
            (f64::INFINITY, f64::NEG_INFINITY)
        );
        let floats = d
            .batch
            .column(2)
            .as_primitive::<arrow::datatypes::Float32Type>();
        assert_eq!(
            (floats.value(0), floats.value(1)),
            (f32::NEG_INFINITY, f32::INFINITY)
        );
        assert_eq!(d.batch.column(3).as_string::<i32>().value(0), "NaN");
        assert_eq!(
            reasons(&d),
            [
                (2, r#"field 'n': expected INT, got "NaN""#),
                (3, r#"field 'dec': expected DECIMAL(5,2), got "Infinity""#),
            ]
        );
        assert_eq!(d.rejected[0].raw, br#"{"id": 3, "n": NaN}"#);
    }

    #[test]
    fn json_objects_and_arrays_in_string_fields_are_their_text() {
        let d = json(
            "id INT, s STRING, l ARRAY<STRING>",
            &[
                r#"{"id": 1, "s": {"b": 2,  "a" : [1, 2.50]}}"#,
                r#"{"id": 2, "l": [1, "a", {"b": 2}, [3, 4], true, null, 1.50e3]}"#,
                r#"{"id": 3, "s": "plain"}"#,
                r#"{"id": 4, "s": ['x', NaN]}"#,
                r#"{"id": 5, "s": {"a": 1}, "l": 7}"#,
            ],
        );
        assert_eq!(d.row_sources, [0, 1, 2, 3]);
        let texts = d.batch.column(1).as_string::<i32>();
        assert_eq!(
            texts.iter().collect::<Vec<_>>(),
            [
                Some(r#"{"b": 2,  "a" : [1, 2.50]}"#),
                None,
                Some("plain"),
                Some("['x', NaN]")
            ]
        );
        let items = d.batch.column(2).as_list::<i32>().value(1);
        let items: Vec<_> = items.as_string::<i32>().iter().collect();
        assert_eq!(
            items,
            [
                Some("1"),
                Some("a"),
                Some(r#"{"b": 2}"#),
                Some("[3, 4]"),
                Some("true"),
                None,
                Some("1.50e3")
            ]
        );
        assert_eq!(d.rejected[0].raw, br#"{"id": 5, "s": {"a": 1}, "l": 7}"#);
    }

    #[test]
    fn json_options_allow_what_spark_allows() {
        let options = JsonOptions {
            allow_comments: true,
            allow_unquoted_field_names: true,
            allow_numeric_leading_zeros: true,
            ..JsonOptions::default()
        };
        let s = schema("id BIGINT, n INT, s STRING");
        let mut decoder = JsonDecoder::with_options(s, &DateTimeFormats::default(), options);
        let records: [&[u8]; 4] = [
            b"{id: 1, n: 007, s: 0012} // note",
            b"// only a comment",
            br#"{"id": 3, "s": "a\qb"}"#,
            b"/* x */ [{id: 4}, {id: 5}]",
        ];
        let d = decoder.decode(&records).unwrap();
        assert_eq!(
            table(&d.batch),
            "\
+----+---+------+
| id | n | s    |
+----+---+------+
| 1  | 7 | 0012 |
| 4  |   |      |
| 5  |   |      |
+----+---+------+"
        );
        assert_eq!(d.row_sources, [0, 3, 3]);
        assert_eq!(
            reasons(&d),
            [(
                2,
                r"malformed JSON: unknown escape '\q' (allowed with allow_backslash_escaping_any_character) at line 1 column 18"
            )]
        );
        assert_eq!(d.rejected[0].raw, records[2]);
    }

    #[test]
    fn json_strings_read_as_nan_or_infinity_only_as_spark_writes_them() {
        let d = json(
            "id INT, d DOUBLE, st STRUCT<f: FLOAT>, l ARRAY<DOUBLE>",
            &[
                r#"{"id": 1, "d": "+INF", "st": {"f": "-Infinity"}, "l": ["NaN", 1.5]}"#,
                r#"{"id": 2, "d": "inf"}"#,
                r#"{"id": 3, "st": {"f": "nan"}}"#,
                r#"{"id": 4, "l": [2.5, "-NaN"]}"#,
                r#"{"id": 5, "l": [1.5], "d": 'Inf'}"#,
                r#"{"id": 6, "d": "1.5", "l": [2, -0.0]}"#,
            ],
        );
        assert_eq!(d.row_sources, [0, 5]);
        let named =
            "NaN and the infinities are written NaN, Infinity, +Infinity, -Infinity, +INF or -INF";
        assert_eq!(
            reasons(&d),
            [
                (
                    1,
                    format!(r#"field 'd': expected DOUBLE, got "inf" ({named})"#).as_str()
                ),
                (
                    2,
                    format!(r#"field 'st.f': expected FLOAT, got "nan" ({named})"#).as_str()
                ),
                (
                    3,
                    format!(r#"field 'l': expected DOUBLE, got "-NaN" ({named})"#).as_str()
                ),
                (
                    4,
                    format!(r#"field 'd': expected DOUBLE, got "Inf" ({named})"#).as_str()
                ),
            ]
        );
        let d = json(
            "m MAP<STRING, DOUBLE>, l ARRAY<ARRAY<DOUBLE>>",
            &[
                r#"{"m": {"a": 1, "b": "Infinity"}, "l": [[], ["-INF"]]}"#,
                r#"{"m": {"a": 2, "b": "-inf"}}"#,
                r#"{"l": [[1], [], [2, "NAN"]]}"#,
            ],
        );
        assert_eq!(d.row_sources, [0]);
        assert_eq!(
            reasons(&d),
            [
                (
                    1,
                    format!(r#"field 'm.b': expected DOUBLE, got "-inf" ({named})"#).as_str()
                ),
                (
                    2,
                    format!(r#"field 'l': expected DOUBLE, got "NAN" ({named})"#).as_str()
                ),
            ]
        );
        let off = JsonOptions {
            allow_non_numeric_numbers: false,
            ..JsonOptions::default()
        };
        let mut decoder =
            JsonDecoder::with_options(schema("d DOUBLE"), &DateTimeFormats::default(), off);
        let d = decoder
            .decode(&[br#"{"d": "NaN"}"#, br#"{"d": "2"}"#])
            .unwrap();
        assert_eq!(d.row_sources, [1]);
        assert_eq!(
            reasons(&d),
            [(
                0,
                r#"field 'd': expected DOUBLE, got "NaN" (allowed with allow_non_numeric_numbers)"#
            )]
        );
    }
}
