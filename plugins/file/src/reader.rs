//! Reading one file's records, per format, a bounded number at a time.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use ferry_plugin_api::arrow::array::{ArrayRef, RecordBatch, StringArray};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use ferry_plugin_api::sdk::decode::{
    CsvDecoder, CsvOptions, DateTimeFormats, EncodingErrors, JsonDecoder, JsonOptions,
    ParallelDecoder,
};
use ferry_plugin_api::sdk::threads::Workers;
use ferry_plugin_api::sdk::{Error, ErrorContext, Output, Result};

use crate::charset::{decode, Charset, Invalid};
use crate::columnar::Parquet;
use crate::corrupt::{CorruptColumn, Salvaged};
use crate::split::{Cursor, Syntax};
use crate::stable::Snapshot;

/// Why a file was not read to its end.
#[derive(Debug)]
pub enum Failure {
    /// It is not there (removed since it was listed): the OS's reason.
    Missing(String),
    /// It cannot be read as its format: damaged, truncated, empty Parquet, not the
    /// format its name says, a column of a type the schema cannot read, an I/O error.
    Unreadable(String),
    /// Anything else, e.g. a rejected record under `errors.tolerance = "none"`.
    Fatal(Error),
}

impl Failure {
    /// An I/O error opening or reading the file.
    pub fn io(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => Failure::Missing(e.to_string()),
            _ => Failure::Unreadable(e.to_string()),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Fatal(e)
    }
}

/// How a file's bytes become rows.
#[derive(Clone, Debug)]
pub enum Format {
    Text {
        format: TextFormat,
        /// Longer records are rejected without being decoded.
        max_record_bytes: usize,
        /// The threads that decode a poll's records.
        decoders: Workers,
        /// What the files are written in (none: UTF-8).
        encoding: Option<Charset>,
        /// The schema's column for malformed records' text, if it has one.
        corrupt: Option<CorruptColumn>,
    },
    /// With a schema, columns are picked by name and cast to it.
    Parquet(Option<SchemaRef>),
}

/// Formats read from a file's bytes record by record.
#[derive(Clone, Debug)]
pub enum TextFormat {
    /// JSON lines, or one array of objects; `multi_line`: top-level values that may span
    /// lines, as Spark's `multiLine`.
    Json {
        schema: SchemaRef,
        multi_line: bool,
        datetimes: DateTimeFormats,
        options: JsonOptions,
        /// What ends a record instead of a newline, without `multi_line`.
        line_sep: Option<Vec<u8>>,
    },
    Csv {
        schema: SchemaRef,
        datetimes: DateTimeFormats,
        /// Skip each file's first line that is not a comment.
        header: bool,
        /// Unless set, a file whose header does not name the schema's columns is refused.
        enforce_schema: bool,
        /// What ends a record instead of a line end.
        line_sep: Option<Vec<u8>>,
        options: Box<CsvOptions>,
    },
}

/// An open file being read record by record.
pub struct FileReader {
    path: String,
    /// Its size and modification time when it was admitted.
    pub admitted: Snapshot,
    records: Records,
    /// The column that names the file, if asked for.
    file_column: Option<String>,
    /// Rows emitted and records rejected so far.
    pub rows: usize,
    pub rejected: usize,
}

enum Records {
    Text(Text),
    Parquet(Parquet),
}

impl FileReader {
    /// Opens `path` past its first `skip` records; a text file is read only as far as
    /// the size it was `admitted` with.
    pub fn open(
        format: &Format,
        path: &str,
        skip: u64,
        file_column: Option<&str>,
        admitted: Snapshot,
    ) -> Result<Self, Failure> {
        let records = match format {
            Format::Parquet(schema) => Records::Parquet(Parquet::open(path, skip, schema.clone())?),
            Format::Text {
                format,
                max_record_bytes,
                decoders,
                encoding,
                corrupt,
            } => Records::Text(Text::open(
                format,
                (*max_record_bytes, decoders),
                *encoding,
                corrupt.clone(),
                (path, skip),
                admitted,
            )?),
        };
        Ok(Self {
            path: path.to_string(),
            admitted,
            records,
            file_column: file_column.map(str::to_string),
            rows: 0,
            rejected: 0,
        })
    }

    /// Reads up to `max` records into `out`; returns how many, 0 at the end of the file.
    pub fn read(&mut self, max: usize, out: &mut Output<'_>) -> Result<usize, Failure> {
        let (consumed, batches) = match &mut self.records {
            Records::Text(text) => {
                let (consumed, rejected, batches) = text.read(max, &self.path, out)?;
                self.rejected += rejected;
                (consumed, batches)
            }
            Records::Parquet(parquet) => {
                let (consumed, batch) = parquet.read(max, out)?;
                (consumed, batch.into_iter().collect())
            }
        };
        for batch in batches {
            self.rows += batch.num_rows();
            out.emit(match &self.file_column {
                Some(name) => with_file_column(batch, name, &self.path)?,
                None => batch,
            })?;
        }
        Ok(consumed)
    }

    /// The line of the last record, unterminated, that was not read because the file
    /// had changed by then: it may have been cut off mid-write.
    pub fn held_back(&self) -> Option<usize> {
        match &self.records {
            Records::Text(text) => text.held_back,
            Records::Parquet(_) => None,
        }
    }
}

/// JSON or CSV: the whole file in memory, cut into records as they are read.
struct Text {
    data: Vec<u8>,
    cursor: Cursor,
    decoder: TextDecoder,
    max_record_bytes: usize,
    /// Where the last line starts when the data does not end with a newline: a record
    /// reaching into it is one only if the file is still as admitted (a complete file),
    /// else it may be a line cut off mid-write. `None` once that was checked.
    tail: Option<usize>,
    admitted: Snapshot,
    /// The line of the record in the tail that was not read: the file had changed.
    held_back: Option<usize>,
    /// Bytes the file's encoding does not allow, by where they are in `data`, the last
    /// first: each rejects the record that holds it.
    invalid: Vec<Invalid>,
    /// The schema's column for malformed records' text.
    corrupt: Option<CorruptColumn>,
}

enum TextDecoder {
    Json(Box<ParallelDecoder<JsonDecoder>>),
    Csv(Box<ParallelDecoder<CsvDecoder>>),
}

impl Text {
    /// Reads `path` as far as it was `admitted`, decoded to UTF-8 from its `encoding`,
    /// past its first `skip` records.
    fn open(
        format: &TextFormat,
        (max_record_bytes, workers): (usize, &Workers),
        encoding: Option<Charset>,
        corrupt: Option<CorruptColumn>,
        (path, skip): (&str, u64),
        admitted: Snapshot,
    ) -> Result<Self, Failure> {
        let mut data = Vec::new();
        let file = File::open(path).map_err(Failure::io)?;
        // Bytes written after the admission are not read: they may end mid-record.
        (file.take(admitted.size).read_to_end(&mut data)).map_err(Failure::io)?;
        let decoded = decode(path, data, encoding).map_err(Failure::Unreadable)?;
        let (data, mut invalid) = (decoded.text, decoded.invalid);
        let (cursor, decoder) = match format {
            TextFormat::Json {
                schema,
                multi_line,
                datetimes,
                options,
                line_sep,
            } => {
                let syntax = Syntax {
                    single_quotes: options.allow_single_quotes,
                    comments: options.allow_comments,
                };
                let cursor = match multi_line {
                    true => Cursor::documents(&data, syntax),
                    false => Cursor::json(&data, syntax, line_sep.as_deref()),
                };
                let decoder = ParallelDecoder::new(workers.clone(), || {
                    JsonDecoder::with_options(schema.clone(), datetimes, *options)
                });
                (cursor, TextDecoder::Json(Box::new(decoder)))
            }
            TextFormat::Csv {
                schema,
                datetimes,
                line_sep,
                options,
                ..
            } => {
                if options.encoding_errors == EncodingErrors::Replace {
                    // The decoded text holds U+FFFD where they were.
                    invalid.clear();
                }
                let decoder = ParallelDecoder::try_new(workers.clone(), || {
                    CsvDecoder::with_options(schema.clone(), options, datetimes)
                });
                let decoder = decoder.map_err(|e| Failure::Fatal(Error::msg(e)))?;
                let cursor = match line_sep {
                    Some(separator) => Cursor::separated(&data, separator),
                    None => Cursor::lines(&data),
                };
                (cursor, TextDecoder::Csv(Box::new(decoder)))
            }
        };
        invalid.reverse();
        let separator = match format {
            TextFormat::Csv {
                line_sep: Some(separator),
                ..
            }
            | TextFormat::Json {
                line_sep: Some(separator),
                multi_line: false,
                ..
            } => separator.as_slice(),
            _ => b"\n",
        };
        let tail = (!data.is_empty() && !data.ends_with(separator)).then(|| {
            let last = data.windows(separator.len()).rposition(|w| w == separator);
            last.map_or(0, |i| i + separator.len())
        });
        let mut text = Self {
            data,
            cursor,
            decoder,
            max_record_bytes,
            tail,
            admitted,
            held_back: None,
            invalid,
            corrupt,
        };
        if let TextFormat::Csv {
            header: true,
            enforce_schema,
            ..
        } = format
        {
            text.skip_header(*enforce_schema)?;
        }
        for _ in 0..skip {
            text.cursor.next(&text.data);
        }
        Ok(text)
    }

    /// Passes the CSV header, the first line that is not a comment; unless
    /// `enforce_schema`, refuses the file if it does not name the schema's columns.
    fn skip_header(&mut self, enforce_schema: bool) -> Result<(), Failure> {
        let TextDecoder::Csv(decoder) = &self.decoder else {
            return Ok(());
        };
        let decoder = decoder.first();
        while let Some(record) = self.cursor.next(&self.data) {
            let bytes = &self.data[record.bytes];
            if decoder.is_comment(bytes) {
                continue;
            }
            if !enforce_schema {
                decoder.check_header(bytes).map_err(|e| {
                    Failure::Unreadable(format!(
                        "its CSV header does not match the schema (enforce_schema = false): {e}"
                    ))
                })?;
            }
            break;
        }
        Ok(())
    }

    /// Decodes up to `max` records; rejected ones go to `out` as `path:line`, in file
    /// order (under `errors.tolerance = "none"` the first is the one that fails the task).
    /// Returns how many records were read and rejected, and the rows (a batch per decode
    /// thread's run).
    fn read(
        &mut self,
        max: usize,
        path: &str,
        out: &mut Output<'_>,
    ) -> Result<(usize, usize, Vec<RecordBatch>)> {
        // `lines` has every record read; `records` the ones to decode, and `ordinals`
        // their place among all of them.
        let (mut lines, mut records, mut ordinals) = (Vec::new(), Vec::new(), Vec::new());
        let mut rejects = Vec::new();
        while lines.len() < max && self.held_back.is_none() {
            let Some(record) = self.cursor.next(&self.data) else {
                break;
            };
            if self.tail.is_some_and(|tail| record.bytes.end > tail) {
                if Snapshot::of(path).is_ok_and(|now| now == self.admitted) {
                    self.tail = None;
                } else {
                    self.held_back = Some(record.line);
                    break;
                }
            }
            let invalid = first_invalid(&mut self.invalid, &record.bytes);
            let bytes = &self.data[record.bytes];
            if matches!(&self.decoder, TextDecoder::Csv(d) if d.first().is_comment(bytes)) {
                // Skipped whole, whatever it holds.
            } else if bytes.len() > self.max_record_bytes {
                rejects.push(self.oversized(lines.len(), bytes));
            } else if let Some(Invalid { reason, line, .. }) = invalid {
                rejects.push((lines.len(), line, reason));
            } else {
                ordinals.push(lines.len());
                records.push(bytes);
            }
            lines.push(record.line);
        }
        let mut batches = Vec::new();
        if !records.is_empty() {
            let runs = match &mut self.decoder {
                TextDecoder::Json(d) => d.decode(&records),
                TextDecoder::Csv(d) => d.decode(&records),
            };
            for decoded in runs.with_context(|| format!("decoding '{path}'"))? {
                let mut salvaged = Vec::new();
                for r in decoded.rejected {
                    match self.salvage(r.index, &r.raw) {
                        Some(row) => salvaged.push(row),
                        None => rejects.push((ordinals[r.index], r.raw, r.reason)),
                    }
                }
                batches.push(match &self.corrupt {
                    Some(c) => c.merge(decoded.batch, &decoded.row_sources, salvaged)?,
                    None => decoded.batch,
                });
            }
        }
        rejects.sort_by_key(|(ordinal, ..)| *ordinal);
        let count = rejects.len();
        for (ordinal, raw, reason) in rejects {
            out.reject(raw, reason, format!("{path}:{}", lines[ordinal]))?;
        }
        Ok((lines.len(), count, batches))
    }

    /// A malformed record (the `index`th decoded) as Spark's PERMISSIVE row, if the
    /// schema has a corrupt-record column that keeps them and the record is text.
    fn salvage(&mut self, index: usize, raw: &[u8]) -> Option<Salvaged> {
        if !self.corrupt.as_ref()?.keep {
            return None;
        }
        let text = std::str::from_utf8(raw).ok()?.to_string();
        let columns = match &mut self.decoder {
            TextDecoder::Json(d) => d.first_mut().salvage(raw),
            TextDecoder::Csv(d) => d.first_mut().salvage(raw),
        };
        Some(Salvaged {
            index,
            columns,
            text,
        })
    }

    /// The rejection of a record longer than `max_record_bytes`, with its first
    /// `max_record_bytes` bytes: whole, it could be too large for the dead-letter sink (a
    /// Kafka message, say) and fail the pipeline over a record the limit keeps out.
    fn oversized(&self, ordinal: usize, bytes: &[u8]) -> (usize, Vec<u8>, String) {
        let (size, max) = (bytes.len(), self.max_record_bytes);
        let reason = format!(
            "record of {size} bytes is longer than max_record_bytes ({max}); \
             the rejected bytes are its first {max}"
        );
        (ordinal, bytes[..max].to_vec(), reason)
    }
}

/// The first bytes invalid in the file's encoding within `record`, taken from
/// `invalid` (last first) with any before it, which were in records skipped (a CSV
/// header, or records consumed before a restart).
fn first_invalid(invalid: &mut Vec<Invalid>, record: &Range<usize>) -> Option<Invalid> {
    let mut found = None;
    while invalid.last().is_some_and(|i| i.at < record.end) {
        let next = invalid.pop().filter(|i| i.at >= record.start);
        found = found.or(next);
    }
    found
}

/// Appends a Utf8 column `name` holding `path` on every row.
fn with_file_column(batch: RecordBatch, name: &str, path: &str) -> Result<RecordBatch> {
    let paths: ArrayRef = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
        path,
        batch.num_rows(),
    )));
    let mut columns = batch.columns().to_vec();
    columns.push(paths);
    let schema = with_path_field(&batch.schema(), name);
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// `schema` with the file path column `name` appended.
pub fn with_path_field(schema: &Schema, name: &str) -> SchemaRef {
    let mut fields = schema.fields().to_vec();
    fields.push(Arc::new(Field::new(name, DataType::Utf8, false)));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
