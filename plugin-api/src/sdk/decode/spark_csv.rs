//! CSV records read by Spark's rules ([`CsvOptions`]): each record is cut into fields by
//! the [`Tokenizer`], the fields are turned into what Spark reads them as (null, the
//! empty value, NaN and infinities, plain decimals), and written out again as one
//! canonical CSV line (comma, every value quoted, quotes doubled) for the arrow-rs
//! decoder, so the values are parsed and checked exactly as on the fast path. STRING
//! columns are taken from the fields themselves, as arrow-rs cannot tell an empty
//! string from null.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;

use super::columns::Columns;
use super::csv_options::{CsvOptions, Locale};
use super::exact::{decimal_places, excerpt, not_utf8, EXCERPT_CHARS};
use super::tokenize::{Field, Tokenizer};
use super::{Csv, Decoded, Engine, Undecodable};
use crate::sdk::ddl::data_type_to_ddl;

/// How a column's field is turned into the canonical text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A STRING column: kept aside, the canonical line only says whether it is null.
    Text,
    /// FLOAT or DOUBLE: `nan_value` and the infinities.
    Float,
    /// DECIMAL: written in the locale.
    Decimal,
    /// Anything else: as it is.
    Other,
}

/// The records of one call that take this path, read into canonical lines.
#[derive(Default)]
struct Prepared {
    lines: Vec<Vec<u8>>,
    /// For each line, the index of the record it came from.
    sources: Vec<usize>,
    /// For each line, its STRING columns' values, in column order.
    texts: Vec<Vec<Option<String>>>,
    rejected: Vec<Undecodable>,
}

/// Reads records by Spark's rules.
pub(super) struct SparkCsv {
    pub(super) options: CsvOptions,
    tokenizer: Tokenizer,
    /// The schema asked for.
    declared: SchemaRef,
    kinds: Vec<Kind>,
    /// arrow-rs on the canonical lines.
    canonical: Engine<Csv>,
}

impl SparkCsv {
    pub(super) fn new(options: CsvOptions, declared: SchemaRef, wire: SchemaRef) -> Self {
        let bytes = |c: char| c.to_string().into_bytes();
        let tokenizer = Tokenizer {
            delimiter: options.delimiter.clone().into_bytes(),
            quote: options.quote.map(bytes),
            escape: options.escape.map(bytes),
            trim_leading: options.ignore_leading_white_space,
            trim_trailing: options.ignore_trailing_white_space,
            unescaped_quotes: options.unescaped_quote_handling,
        };
        let kinds = (declared.fields().iter())
            .map(|f| match f.data_type() {
                DataType::Utf8 => Kind::Text,
                DataType::Float16 | DataType::Float32 | DataType::Float64 => Kind::Float,
                DataType::Decimal128(..) | DataType::Decimal256(..) => Kind::Decimal,
                _ => Kind::Other,
            })
            .collect();
        let canonical = Engine::new(Csv::new(wire, b',', b'"'));
        Self {
            options,
            tokenizer,
            declared,
            kinds,
            canonical,
        }
    }

    /// Whether arrow-rs reads a record as these options do when it holds no quote: its
    /// fields are then the text between one-byte delimiters, nulls the empty ones.
    pub(super) fn fast_delimiter(&self) -> Option<(u8, u8)> {
        let o = &self.options;
        let byte = |c: char| u8::try_from(c).ok().filter(u8::is_ascii);
        let delimiter = match o.delimiter.as_bytes() {
            [d] => Some(*d),
            _ => None,
        };
        let plain = o.null_value.is_empty()
            && !o.ignore_leading_white_space
            && !o.ignore_trailing_white_space
            && o.nan_value == "NaN"
            && o.positive_inf == "Inf"
            && o.negative_inf == "-Inf"
            && o.locale == Locale::default();
        Some((delimiter?, byte(o.quote?)?)).filter(|_| plain)
    }

    /// The field names of a header record, as read.
    pub(super) fn header(&self, record: &[u8]) -> Result<Vec<String>, String> {
        let fields = self
            .tokenizer
            .fields(record)
            .map_err(|e| e.why.to_string())?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Ok(fields
            .iter()
            .map(|f| match f {
                Field::Unquoted(b) => text(b),
                Field::Quoted(b) => text(b),
                Field::Skipped => String::new(),
            })
            .collect())
    }

    /// Decodes `records` (none a comment, all UTF-8 as far as the options want), with
    /// `columns` converting the wire columns.
    pub(super) fn decode(
        &mut self,
        records: &[&[u8]],
        columns: &Columns,
    ) -> Result<Decoded, ArrowError> {
        let mut prepared = Prepared::default();
        for (index, record) in records.iter().enumerate() {
            match self.line(record) {
                Ok((line, texts)) => {
                    prepared.lines.push(line);
                    prepared.sources.push(index);
                    prepared.texts.push(texts);
                }
                Err(reason) => prepared.rejected.push(Undecodable {
                    index,
                    raw: record.to_vec(),
                    reason,
                }),
            }
        }
        let lines: Vec<&[u8]> = prepared.lines.iter().map(Vec::as_slice).collect();
        let decoded = self.canonical.decode(&lines, Vec::new())?;
        let decoded = columns.convert(decoded, &lines)?;
        let batch = self.with_texts(decoded.batch, &decoded.row_sources, &prepared.texts)?;
        let sources = &prepared.sources;
        let mut rejected = prepared.rejected;
        rejected.extend(decoded.rejected.into_iter().map(|r| Undecodable {
            index: sources[r.index],
            raw: records[sources[r.index]].to_vec(),
            reason: r.reason,
        }));
        rejected.sort_by_key(|r| r.index);
        Ok(Decoded {
            batch,
            rejected,
            row_sources: decoded.row_sources.iter().map(|&i| sources[i]).collect(),
        })
    }

    /// `record` written again with exactly `columns` fields, as Spark's PERMISSIVE mode
    /// reads it: missing fields are null (empty), extra ones dropped. Quoted fields are
    /// quoted again with the options' quote and escape. None if it cannot be cut into
    /// fields.
    pub(super) fn fitted(&self, record: &[u8], columns: usize) -> Option<Vec<u8>> {
        let fields = self.tokenizer.fields(record).ok()?;
        let delimiter = self.options.delimiter.as_bytes();
        let mut out = Vec::with_capacity(record.len());
        for i in 0..columns {
            if i > 0 {
                out.extend_from_slice(delimiter);
            }
            match fields.get(i) {
                Some(Field::Unquoted(text)) => out.extend_from_slice(text),
                Some(Field::Quoted(text)) => self.requote(&mut out, text)?,
                Some(Field::Skipped) | None => {}
            }
        }
        Some(out)
    }

    /// `text` as a quoted field: each quote and escape in it escaped.
    fn requote(&self, out: &mut Vec<u8>, text: &[u8]) -> Option<()> {
        let quote = self.tokenizer.quote.as_deref()?;
        let escape = self.tokenizer.escape.as_deref();
        out.extend_from_slice(quote);
        let mut at = 0;
        while at < text.len() {
            let special = [Some(quote), escape]
                .into_iter()
                .flatten()
                .find(|s| text[at..].starts_with(s));
            if let Some(special) = special {
                out.extend_from_slice(escape?);
                out.extend_from_slice(special);
                at += special.len();
            } else {
                out.push(text[at]);
                at += 1;
            }
        }
        out.extend_from_slice(quote);
        Some(())
    }

    /// `record` as a canonical line, and its STRING values; or why it is rejected.
    fn line(&self, record: &[u8]) -> Result<(Vec<u8>, Vec<Option<String>>), String> {
        let name = |i: usize| match self.declared.fields().get(i) {
            Some(f) => format!("column '{}'", f.name()),
            None => format!("column {} (beyond the schema)", i + 1),
        };
        let fields = self.tokenizer.fields(record).map_err(|e| {
            let field = excerpt(&record[e.field], EXCERPT_CHARS);
            format!("{}: {} in '{field}'", name(e.column), e.why)
        })?;
        if fields.len() != self.kinds.len() {
            let expected = self.kinds.len();
            return Err(format!("expected {expected} columns, got {}", fields.len()));
        }
        let mut line = Vec::with_capacity(record.len() + 3 * fields.len());
        let mut texts = Vec::new();
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            let value = self
                .value(field)
                .map_err(|why| format!("{}: {why}", name(i)))?;
            let canonical = match (self.kinds[i], value) {
                (Kind::Text, value) => {
                    let null = value.is_none();
                    texts.push(value.map(Cow::into_owned));
                    // Any non-empty text: arrow-rs only has to see that it is not null.
                    (!null).then_some(Cow::Borrowed("s"))
                }
                (_, None) => None,
                (kind, Some(text)) => Some(self.canonical_value(kind, i, text)?),
            };
            // A null is an empty quoted field, so a line never is empty (arrow-rs would
            // not read an empty line as a row of one null).
            quoted(&mut line, canonical.as_deref().unwrap_or_default());
        }
        Ok((line, texts))
    }

    /// What a field reads as, before its column's type: `None` is null.
    fn value<'a>(&self, field: Field<'a>) -> Result<Option<Cow<'a, str>>, String> {
        let o = &self.options;
        let text: Cow<'a, [u8]> = match field {
            Field::Unquoted(b"") | Field::Skipped => return Ok(self.non_null(&o.null_value)),
            Field::Quoted(b) if b.is_empty() => return Ok(self.non_null(&o.empty_value)),
            Field::Unquoted(b) => Cow::Borrowed(b),
            Field::Quoted(b) => b,
        };
        let text = match text {
            Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).map_err(|_| bad_utf8(b))?),
            Cow::Owned(b) => Cow::Owned(String::from_utf8(b).map_err(|e| bad_utf8(e.as_bytes()))?),
        };
        Ok((text != o.null_value.as_str()).then_some(text))
    }

    /// `text` as a value, or null if it is the null value.
    fn non_null<'a>(&self, text: &str) -> Option<Cow<'a, str>> {
        (text != self.options.null_value).then(|| Cow::Owned(text.to_string()))
    }

    /// A non-null, non-STRING value as arrow-rs is to read it.
    fn canonical_value<'a>(
        &self,
        kind: Kind,
        column: usize,
        text: Cow<'a, str>,
    ) -> Result<Cow<'a, str>, String> {
        let o = &self.options;
        let unparsable = || {
            let field = &self.declared.fields()[column];
            let ddl = data_type_to_ddl(field.data_type());
            let text = excerpt(text.as_bytes(), EXCERPT_CHARS);
            format!("column '{}': cannot parse '{text}' as {ddl}", field.name())
        };
        // arrow-rs would read an empty field as null.
        if text.is_empty() {
            return Err(unparsable());
        }
        Ok(match kind {
            Kind::Float if text == o.nan_value => Cow::Borrowed("NaN"),
            Kind::Float if text == o.positive_inf => Cow::Borrowed("inf"),
            Kind::Float if text == o.negative_inf => Cow::Borrowed("-inf"),
            Kind::Decimal => {
                let plain = o.locale.plain_decimal(&text);
                // Refused here, so the reason shows the text as written.
                if decimal_places(plain.as_bytes()).is_none() {
                    return Err(unparsable());
                }
                Cow::Owned(plain)
            }
            _ => text,
        })
    }

    /// `batch` with its STRING columns holding the values kept aside.
    fn with_texts(
        &self,
        batch: RecordBatch,
        row_sources: &[usize],
        texts: &[Vec<Option<String>>],
    ) -> Result<RecordBatch, ArrowError> {
        let mut columns = batch.columns().to_vec();
        let text_columns = (self.kinds.iter().enumerate()).filter(|(_, k)| **k == Kind::Text);
        for (slot, (i, _)) in text_columns.enumerate() {
            let values = row_sources.iter().map(|&line| texts[line][slot].as_deref());
            columns[i] = Arc::new(values.collect::<StringArray>()) as ArrayRef;
        }
        RecordBatch::try_new(batch.schema(), columns)
    }
}

/// Why `field`, which is not UTF-8, is refused.
fn bad_utf8(field: &[u8]) -> String {
    not_utf8(field).unwrap_or_default()
}

/// Appends `text` to `line` quoted, with its quotes doubled.
fn quoted(line: &mut Vec<u8>, text: &str) {
    line.push(b'"');
    for part in text.split_inclusive('"') {
        line.extend_from_slice(part.as_bytes());
        if part.ends_with('"') {
            line.push(b'"');
        }
    }
    line.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::AsArray;
    use arrow::datatypes::{Date32Type, Decimal128Type, Float64Type, Int32Type};
    use arrow::util::pretty::pretty_format_batches;

    use crate::sdk::datetime::DateTimePattern;
    use crate::sdk::ddl::parse_ddl;
    use crate::sdk::decode::{
        CsvDecoder, CsvOptions, DateTimeFormats, Decoded, EncodingErrors, UnescapedQuoteHandling,
    };

    fn decode(ddl: &str, options: &CsvOptions, records: &[&[u8]]) -> Decoded {
        let schema = Arc::new(parse_ddl(ddl).unwrap());
        let formats = DateTimeFormats::default();
        let mut decoder = CsvDecoder::with_options(schema, options, &formats).unwrap();
        decoder.decode(records).unwrap()
    }

    fn table(d: &Decoded) -> String {
        pretty_format_batches(std::slice::from_ref(&d.batch))
            .unwrap()
            .to_string()
    }

    fn reasons(d: &Decoded) -> Vec<(usize, &str)> {
        (d.rejected.iter())
            .map(|r| (r.index, r.reason.as_str()))
            .collect()
    }

    #[test]
    fn null_and_empty_values_as_spark_reads_them() {
        let options = CsvOptions {
            null_value: "NULL".into(),
            ..CsvOptions::default()
        };
        let d = decode(
            "id INT, text STRING, n INT",
            &options,
            &[
                b"1,NULL,NULL",
                br#"2,"NULL","3""#,
                b"3,,",
                br#"4,"","#,
                br#"5,x,"""#,
                b"6, NULL,7",
            ],
        );
        let texts = d.batch.column(1).as_string::<i32>();
        assert_eq!(
            texts.iter().collect::<Vec<_>>(),
            [None, None, None, Some(""), Some(" NULL")]
        );
        let n = d.batch.column(2).as_primitive::<Int32Type>();
        assert_eq!(
            n.iter().collect::<Vec<_>>(),
            [None, Some(3), None, None, Some(7)]
        );
        assert_eq!(d.row_sources, [0, 1, 2, 3, 5]);
        assert_eq!(reasons(&d), [(4, "column 'n': cannot parse '' as INT")]);
        // By default a quoted empty field is null too, and emptyValue replaces it.
        let d = decode("t STRING", &CsvOptions::default(), &[b"\"\"", b""]);
        assert_eq!(d.batch.column(0).null_count(), 2);
        let options = CsvOptions {
            empty_value: "EMPTY".into(),
            ..CsvOptions::default()
        };
        let d = decode("t STRING", &options, &[b"\"\"", b""]);
        let texts = d.batch.column(0).as_string::<i32>();
        assert_eq!(texts.iter().collect::<Vec<_>>(), [Some("EMPTY"), None]);
    }

    #[test]
    fn special_floats_and_decimals_in_the_locale() {
        let options = CsvOptions {
            delimiter: ";".into(),
            nan_value: "nan".into(),
            positive_inf: "+inf".into(),
            ..CsvOptions::default()
        };
        let d = decode(
            "d DOUBLE, m DECIMAL(10,2)",
            &options,
            &[
                b"nan;1",
                b"+inf;\"80,000.65\"",
                b"-Inf;1,2,3",
                b"NaN;1.2.3",
                b"1;1,000.001",
                b"1;1,x",
            ],
        );
        let d0 = d.batch.column(0).as_primitive::<Float64Type>();
        assert!(d0.value(0).is_nan());
        assert_eq!(d0.values()[1..], [f64::INFINITY, f64::NEG_INFINITY]);
        let m = d.batch.column(1).as_primitive::<Decimal128Type>();
        assert_eq!(m.values().to_vec(), [100, 8_000_065, 12_300]);
        assert_eq!(d.row_sources, [0, 1, 2]);
        assert_eq!(
            reasons(&d),
            [
                (3, "column 'm': cannot parse '1.2.3' as DECIMAL(10,2)"),
                (4, "column 'm': '1000.001' has more digits after the point than DECIMAL(10,2) keeps (it is not rounded)"),
                (5, "column 'm': cannot parse '1,x' as DECIMAL(10,2)"),
            ]
        );
    }

    #[test]
    fn fast_and_tokenized_records_come_back_in_order() {
        let records: [&[u8]; 6] = [
            b"1,plain",
            br#"2,"quoted \"q\"""#,
            b"x,bad",
            br#"4,"a"b"#,
            br#""5",five"#,
            b"6,caf\xe9",
        ];
        let d = decode("id INT, t STRING", &CsvOptions::default(), &records);
        let expected = r#"+----+------------+
| id | t          |
+----+------------+
| 1  | plain      |
| 2  | quoted "q" |
| 4  | "a"b       |
| 5  | five       |
+----+------------+"#;
        assert_eq!(table(&d), expected);
        assert_eq!(d.row_sources, [0, 1, 3, 4]);
        assert_eq!(
            reasons(&d),
            [
                (2, "column 'id': cannot parse 'x' as INT"),
                (5, "column 't': invalid UTF-8 (byte 4 of the field: e9)"),
            ]
        );
        assert_eq!(d.rejected[1].raw, records[5]);
        let replace = CsvOptions {
            encoding_errors: EncodingErrors::Replace,
            ..CsvOptions::default()
        };
        let d = decode("id INT, t STRING", &replace, &records[5..]);
        let texts = d.batch.column(1).as_string::<i32>();
        assert_eq!(texts.value(0), "caf\u{FFFD}");
    }

    #[test]
    fn comments_are_skipped_and_bad_quoting_names_its_column() {
        let options = CsvOptions {
            comment: Some('#'),
            unescaped_quote_handling: UnescapedQuoteHandling::RaiseError,
            ..CsvOptions::default()
        };
        let d = decode(
            "id INT, t STRING",
            &options,
            &[
                b"#1,x",
                br#"2,"a"b"#,
                br#"3,"open"#,
                b"4",
                b"5,a,b",
                b" #6,y",
            ],
        );
        assert_eq!(d.batch.num_rows(), 0);
        assert_eq!(
            reasons(&d),
            [
                (1, "column 't': a quote inside a quoted field that is neither escaped nor followed by the delimiter in '\"a\"b'"),
                (2, "column 't': unterminated quoted field in '\"open'"),
                (3, "expected 2 columns, got 1"),
                (4, "expected 2 columns, got 3"),
                (5, "column 'id': cannot parse ' #6' as INT"),
            ]
        );
    }

    #[test]
    fn not_null_strings_refuse_null() {
        let options = CsvOptions {
            delimiter: "||".into(),
            ..CsvOptions::default()
        };
        let d = decode("id INT, t STRING NOT NULL", &options, &[b"1||", b"2||x"]);
        assert_eq!(d.row_sources, [1]);
        assert_eq!(reasons(&d), [(0, "column 't' is NOT NULL but empty")]);
    }

    #[test]
    fn headers_are_checked_against_the_schema_case_aside() {
        let schema = Arc::new(parse_ddl("id INT, name STRING").unwrap());
        let formats = DateTimeFormats::default();
        let d = CsvDecoder::with_options(schema, &CsvOptions::default(), &formats).unwrap();
        assert_eq!(d.check_header(b"ID,\"Name\""), Ok(()));
        assert_eq!(
            d.check_header(b"id,nme"),
            Err("column 2 is 'nme' in the header but 'name' in the schema".into())
        );
        assert_eq!(
            d.check_header(b"id"),
            Err("the header has 1 columns, the schema 2".into())
        );
    }

    #[test]
    fn patterned_dates_read_from_tokenized_fields() {
        let schema = Arc::new(parse_ddl("id INT, day DATE").unwrap());
        let formats = DateTimeFormats {
            date: Some(DateTimePattern::new("dd/MM/yyyy").unwrap()),
            ..DateTimeFormats::default()
        };
        let options = CsvOptions {
            delimiter: "þ".into(),
            ..CsvOptions::default()
        };
        let mut decoder = CsvDecoder::with_options(schema, &options, &formats).unwrap();
        let d = decoder
            .decode(&[
                "1þ\"05/03/2024\"".as_bytes(),
                "2þ2024-03-05".as_bytes(),
                b"3\xc3\xbe",
            ])
            .unwrap();
        let days = d.batch.column(1).as_primitive::<Date32Type>();
        assert_eq!(days.iter().collect::<Vec<_>>(), [Some(19_787), None]);
        assert_eq!(d.row_sources, [0, 2]);
        assert_eq!(
            reasons(&d),
            [(1, "column 'day': '2024-03-05' does not match date_format 'dd/MM/yyyy': expected '/' at '24-03-05'")]
        );
    }
}
