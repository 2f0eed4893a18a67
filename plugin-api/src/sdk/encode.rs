//! A [`RecordBatch`] encoded row by row — JSON objects, CSV lines or a raw column's bytes
//! — for sinks that write one message or one line per row (Kafka, sockets).

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use schemars::JsonSchema;
use serde::Deserialize;

/// The `format` option of a sink that writes one message or line per row.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A JSON object per row, keyed by column name; null fields are left out.
    #[default]
    Json,
    /// The row's values as a CSV line, in column order (no header).
    Csv,
    /// The bytes of one STRING or BINARY column.
    Raw,
}

impl Format {
    /// The row encoding, `raw` sending `raw_column`.
    pub fn rows(self, raw_column: impl Into<String>) -> RowFormat {
        match self {
            Format::Json => RowFormat::Json,
            Format::Csv => RowFormat::Csv {
                delimiter: b',',
                quote: b'"',
            },
            Format::Raw => RowFormat::Raw {
                column: raw_column.into(),
            },
        }
    }
}

/// How each row is encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowFormat {
    /// One JSON object per row, keyed by column name; null fields are left out.
    /// Timestamps are ISO-8601 strings.
    Json,
    /// One CSV line per row (no header, no line terminator), fields in column order.
    Csv {
        /// The field delimiter.
        delimiter: u8,
        /// The quote character.
        quote: u8,
    },
    /// The bytes of one string or binary column; a null is a row without a value.
    Raw {
        /// The column's name.
        column: String,
    },
}

/// The encoded rows of one batch, in one buffer.
#[derive(Debug, Default)]
pub struct EncodedRows {
    data: Vec<u8>,
    /// Each row's byte range in `data`, or `None` for a null raw value.
    rows: Vec<Option<(usize, usize)>>,
}

impl EncodedRows {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i`'s bytes; `None` when it is a null raw value.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.rows[i].map(|(start, end)| &self.data[start..end])
    }

    /// Every row in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&[u8]>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

impl RowFormat {
    /// Checks that `schema` can be encoded (for raw: the column exists and holds strings
    /// or bytes), so a pipeline fails at start rather than at its first row.
    pub fn check(&self, schema: &arrow::datatypes::Schema) -> Result<(), ArrowError> {
        let RowFormat::Raw { column } = self else {
            return Ok(());
        };
        let field = schema.field_with_name(column).map_err(|_| {
            ArrowError::SchemaError(format!(
                "format \"raw\" needs a column '{column}'; the input has {}",
                names(schema)
            ))
        })?;
        match field.data_type() {
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView => Ok(()),
            other => Err(ArrowError::SchemaError(format!(
                "format \"raw\" needs column '{column}' to be STRING or BINARY, not {}",
                super::ddl::data_type_to_ddl(other)
            ))),
        }
    }

    /// Encodes every row of `batch`.
    pub fn encode(&self, batch: &RecordBatch) -> Result<EncodedRows, ArrowError> {
        match self {
            RowFormat::Json => encode_json(batch),
            RowFormat::Csv { delimiter, quote } => encode_csv(batch, *delimiter, *quote),
            RowFormat::Raw { column } => {
                self.check(&batch.schema())?;
                encode_raw(batch.column_by_name(column).expect("checked"))
            }
        }
    }
}

fn names(schema: &arrow::datatypes::Schema) -> String {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    format!("[{}]", names.join(", "))
}

/// JSON lines: a newline inside a value is always escaped, so lines are rows.
fn encode_json(batch: &RecordBatch) -> Result<EncodedRows, ArrowError> {
    let mut writer = arrow::json::LineDelimitedWriter::new(Vec::new());
    writer.write(batch)?;
    writer.finish()?;
    let data = writer.into_inner();
    let mut rows = Vec::with_capacity(batch.num_rows());
    let mut start = 0;
    for (i, _) in data.iter().enumerate().filter(|(_, &b)| b == b'\n') {
        rows.push(Some((start, i)));
        start = i + 1;
    }
    Ok(EncodedRows { data, rows })
}

/// CSV: a line break ends a row only outside quotes (a quoted field may hold one).
fn encode_csv(batch: &RecordBatch, delimiter: u8, quote: u8) -> Result<EncodedRows, ArrowError> {
    let mut writer = arrow::csv::WriterBuilder::new()
        .with_header(false)
        .with_delimiter(delimiter)
        .with_quote(quote)
        .build(Vec::new());
    writer.write(batch)?;
    let data = writer.into_inner();
    let mut rows = Vec::with_capacity(batch.num_rows());
    let (mut start, mut quoted) = (0, false);
    for (i, &b) in data.iter().enumerate() {
        if b == quote {
            quoted = !quoted;
        } else if b == b'\n' && !quoted {
            let end = if i > start && data[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            rows.push(Some((start, end)));
            start = i + 1;
        }
    }
    Ok(EncodedRows { data, rows })
}

fn encode_raw(column: &dyn Array) -> Result<EncodedRows, ArrowError> {
    let mut out = EncodedRows::default();
    let mut push = |value: Option<&[u8]>| match value {
        Some(bytes) => {
            let start = out.data.len();
            out.data.extend_from_slice(bytes);
            out.rows.push(Some((start, out.data.len())));
        }
        None => out.rows.push(None),
    };
    match column.data_type() {
        DataType::Utf8 => column
            .as_string::<i32>()
            .iter()
            .for_each(|v| push(v.map(str::as_bytes))),
        DataType::LargeUtf8 => column
            .as_string::<i64>()
            .iter()
            .for_each(|v| push(v.map(str::as_bytes))),
        DataType::Utf8View => column
            .as_string_view()
            .iter()
            .for_each(|v| push(v.map(str::as_bytes))),
        DataType::Binary => column.as_binary::<i32>().iter().for_each(push),
        DataType::LargeBinary => column.as_binary::<i64>().iter().for_each(push),
        DataType::BinaryView => column.as_binary_view().iter().for_each(push),
        other => {
            return Err(ArrowError::SchemaError(format!(
                "a raw value must be STRING or BINARY, not {other}"
            )))
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{BinaryArray, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), Some(2), None])),
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("two\nlines, \"q\""),
                    None,
                ])),
            ],
        )
        .unwrap()
    }

    fn rows(encoded: &EncodedRows) -> Vec<Option<String>> {
        encoded
            .iter()
            .map(|r| r.map(|b| String::from_utf8(b.to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn json_is_one_object_per_row() {
        let encoded = RowFormat::Json.encode(&batch()).unwrap();
        assert_eq!(
            rows(&encoded),
            vec![
                Some(r#"{"id":1,"name":"a"}"#.to_string()),
                Some(r#"{"id":2,"name":"two\nlines, \"q\""}"#.to_string()),
                Some("{}".to_string()),
            ]
        );
    }

    #[test]
    fn csv_keeps_quoted_line_breaks_in_their_row() {
        let format = RowFormat::Csv {
            delimiter: b',',
            quote: b'"',
        };
        let encoded = format.encode(&batch()).unwrap();
        assert_eq!(
            rows(&encoded),
            vec![
                Some("1,a".to_string()),
                Some("2,\"two\nlines, \"\"q\"\"\"".to_string()),
                Some(",".to_string()),
            ]
        );
    }

    #[test]
    fn raw_takes_one_column_and_keeps_nulls() {
        let format = RowFormat::Raw {
            column: "name".into(),
        };
        let encoded = format.encode(&batch()).unwrap();
        assert_eq!(encoded.get(0), Some(&b"a"[..]));
        assert_eq!(encoded.get(2), None);
        let binary = RecordBatch::try_from_iter([(
            "value",
            Arc::new(BinaryArray::from(vec![&b"\xff\x00"[..]])) as _,
        )])
        .unwrap();
        let raw = RowFormat::Raw {
            column: "value".into(),
        };
        assert_eq!(raw.encode(&binary).unwrap().get(0), Some(&b"\xff\x00"[..]));
    }

    #[test]
    fn raw_refuses_a_missing_or_numeric_column() {
        let missing = RowFormat::Raw {
            column: "value".into(),
        };
        let err = missing.check(&batch().schema()).unwrap_err().to_string();
        assert!(
            err.contains("needs a column 'value'; the input has [id, name]"),
            "{err}"
        );
        let numeric = RowFormat::Raw {
            column: "id".into(),
        };
        let err = numeric.check(&batch().schema()).unwrap_err().to_string();
        assert!(err.contains("STRING or BINARY, not BIGINT"), "{err}");
    }
}
