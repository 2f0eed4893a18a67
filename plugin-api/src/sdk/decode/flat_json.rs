//! The fast path for the common JSON record: one flat object, strict JSON with no
//! escape and no nested value, into a schema whose columns are all read as text (STRING
//! columns, and the integer, date and timestamp columns that are converted from their
//! text afterwards). Each record is checked and cut into its columns' values in one
//! pass, which is what the general path does in three: the strictness scan, arrow-rs's
//! tape and its column decoders. A call with any record this path does not take whole
//! goes to the general path, so the rows are always the ones that path gives.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, NullBufferBuilder, RecordBatch, StringArray};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, SchemaRef};

use super::exact::is_json_number;
use super::lenient::{plain_words, token_len};

/// A schema whose columns are all text.
pub(super) struct FlatJson {
    schema: SchemaRef,
    names: Vec<Box<[u8]>>,
}

/// A column's value in the record being read: where its text is, or null.
#[derive(Clone)]
enum Slot {
    Missing,
    Null,
    Text(Range<usize>),
}

impl FlatJson {
    /// The fast path for `wire` (the schema as the decoder reads it), if it has one:
    /// every column a nullable STRING.
    pub(super) fn new(wire: &SchemaRef) -> Option<Self> {
        let fields = wire.fields();
        if fields.is_empty() || fields.iter().any(|f| *f.data_type() != DataType::Utf8) {
            return None;
        }
        Some(Self {
            schema: wire.clone(),
            names: fields.iter().map(|f| f.name().as_bytes().into()).collect(),
        })
    }

    /// The rows of `records`, or `None` if any of them needs the general path.
    pub(super) fn decode(&self, records: &[&[u8]]) -> Option<RecordBatch> {
        let mut columns: Vec<Column> = (self.schema.fields().iter())
            .map(|f| Column::with_capacity(records.len(), f.is_nullable()))
            .collect();
        let mut slots = vec![Slot::Missing; self.names.len()];
        for record in records {
            slots.fill(Slot::Missing);
            self.read(record, &mut slots)?;
            for (column, slot) in columns.iter_mut().zip(&slots) {
                column.push(record, slot)?;
            }
        }
        let arrays = columns.into_iter().map(Column::finish);
        let arrays = arrays.collect::<Option<Vec<ArrayRef>>>()?;
        RecordBatch::try_new(self.schema.clone(), arrays).ok()
    }

    /// Cuts `record`, one object, into `slots`; `None` if it is anything else, or has
    /// an escape, a nested value, a boolean in a column or a column twice.
    fn read(&self, record: &[u8], slots: &mut [Slot]) -> Option<()> {
        let mut at = Scan {
            bytes: record,
            i: 0,
        };
        at.space();
        at.expect(b'{')?;
        at.space();
        if at.peek() == Some(b'}') {
            at.i += 1;
            return at.end();
        }
        // Columns usually come in the schema's order: each name is tried first against
        // the one after the last found.
        let mut next = 0;
        loop {
            at.expect(b'"')?;
            let name = at.plain_string()?;
            at.space();
            at.expect(b':')?;
            at.space();
            let column = self.column(&record[name], next);
            let value = at.value(column.is_some())?;
            if let Some(c) = column {
                if !matches!(slots[c], Slot::Missing) {
                    return None;
                }
                slots[c] = value;
                next = c + 1;
            }
            at.space();
            match at.take()? {
                b',' => at.space(),
                b'}' => return at.end(),
                _ => return None,
            }
        }
    }

    /// The column named `name`, trying `likely` first.
    fn column(&self, name: &[u8], likely: usize) -> Option<usize> {
        if self.names.get(likely).is_some_and(|n| **n == *name) {
            return Some(likely);
        }
        self.names.iter().position(|n| **n == *name)
    }
}

/// A position in a record.
struct Scan<'a> {
    bytes: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    fn take(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.take()? == byte).then_some(())
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Only space is left.
    fn end(&mut self) -> Option<()> {
        self.space();
        (self.i == self.bytes.len()).then_some(())
    }

    /// The text of the string whose opening quote was just taken, if it has no escape
    /// and no control character; past its closing quote.
    fn plain_string(&mut self) -> Option<Range<usize>> {
        let start = self.i;
        loop {
            self.i += plain_words(&self.bytes[self.i..]);
            match self.take()? {
                b'"' => return Some(start..self.i - 1),
                b'\\' | 0..=0x1f => return None,
                _ => {}
            }
        }
    }

    /// A string, number or null, as a column's slot; a boolean only where no column
    /// takes it (`in_column` false), where it is checked and dropped.
    fn value(&mut self, in_column: bool) -> Option<Slot> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.plain_string().map(Slot::Text)
            }
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                self.i += token_len(&self.bytes[start..]);
                is_json_number(&self.bytes[start..self.i]).then_some(Slot::Text(start..self.i))
            }
            b'n' => self.literal(b"null").map(|()| Slot::Null),
            b't' if !in_column => self.literal(b"true").map(|()| Slot::Null),
            b'f' if !in_column => self.literal(b"false").map(|()| Slot::Null),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let len = token_len(&self.bytes[self.i..]);
        let found = &self.bytes[self.i..self.i + len] == word;
        self.i += len;
        found.then_some(())
    }
}

/// A text column being filled.
struct Column {
    offsets: Vec<i32>,
    values: Vec<u8>,
    nulls: NullBufferBuilder,
    nullable: bool,
}

impl Column {
    fn with_capacity(rows: usize, nullable: bool) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            offsets,
            values: Vec::new(),
            nulls: NullBufferBuilder::new(rows),
            nullable,
        }
    }

    /// `None` for a null in a NOT NULL column, or text outgrowing 32-bit offsets.
    fn push(&mut self, record: &[u8], slot: &Slot) -> Option<()> {
        match slot {
            Slot::Text(range) => {
                self.values.extend_from_slice(&record[range.clone()]);
                self.nulls.append_non_null();
            }
            Slot::Missing | Slot::Null if self.nullable => self.nulls.append_null(),
            Slot::Missing | Slot::Null => return None,
        }
        self.offsets.push(i32::try_from(self.values.len()).ok()?);
        Some(())
    }

    /// The column; `None` if its text is not UTF-8 (the general path says where).
    fn finish(mut self) -> Option<ArrayRef> {
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        let values = Buffer::from_vec(self.values);
        let array = StringArray::try_new(offsets, values, self.nulls.finish()).ok()?;
        Some(Arc::new(array))
    }
}

#[cfg(test)]
mod tests {
    use arrow::util::pretty::pretty_format_batches;

    use super::super::{Decoded, JsonDecoder};
    use crate::sdk::ddl::parse_ddl;

    const DDL: &str = "s STRING, i INT, b BIGINT, d DATE, t TIMESTAMP, n STRING NOT NULL";

    fn decoded(records: &[&str], fast: bool) -> (Decoded, bool) {
        let mut decoder = JsonDecoder::new(parse_ddl(DDL).unwrap().into());
        let bytes: Vec<&[u8]> = records.iter().map(|r| r.as_bytes()).collect();
        let took = decoder.flat.as_ref().unwrap().decode(&bytes).is_some();
        if !fast {
            decoder.flat = None;
        }
        (decoder.decode(&bytes).unwrap(), took)
    }

    fn shown(d: &Decoded) -> String {
        let rows = pretty_format_batches(std::slice::from_ref(&d.batch)).unwrap();
        format!("{rows}\n{:?}\n{:?}", d.rejected, d.row_sources)
    }

    /// Whatever the fast path takes, it reads as the general path does; what it does not
    /// take, the general path reads (it gives way for the whole call).
    #[test]
    fn reads_what_it_takes_as_the_general_path_does() {
        let taken = [
            r#"{"s": "a", "i": 1, "b": -20, "d": "2024-02-29", "t": "2024-01-01T00:00:01.5Z", "n": "x"}"#,
            r#"  {"n":"y","s":"ünï","i":null,"extra":"z"}"#,
            r#"{"n": "", "s": 12.50e1, "i": 2147483648, "b": "7"}"#,
            r#"{"n": "z", "t": 1700000000, "d": 19000, "flag": true, "gone": null}"#,
            "{\"n\":\"w\",\t\"i\" : 3 ,\"s\":\"a long string that is longer than a word or two\"}\r",
            r#"{"n": "v", "i": 1.5, "b": 9223372036854775808}"#,
        ];
        let given_way = [
            r#"{"n": "e", "s": "esc\"aped"}"#,
            r#"{"n": "o", "s": {"nested": 1}}"#,
            r#"{"n": "m", "more": [1, 2]}"#,
            r#"{"n": "l", "i": 01}"#,
            r#"{"n": "b", "s": true}"#,
            r#"{"n": "d", "n": "twice"}"#,
            r#"{"s": "no n"}"#,
            r#"{"n": "q", 's': 'single'}"#,
            r#"[{"n": "array"}]"#,
            r#"{"n": "t"} trailing"#,
            r#"{"n": "c", "s": "tab	inside"}"#,
            r#"{"n": "u", "i": NaN}"#,
            r#"{"n": "x""#,
            "",
        ];
        for record in taken {
            let (fast, took) = decoded(&[record], true);
            assert!(took, "{record}");
            assert_eq!(
                shown(&fast),
                shown(&decoded(&[record], false).0),
                "{record}"
            );
        }
        for record in given_way {
            let (fast, took) = decoded(&[record], true);
            assert!(!took, "{record}");
            assert_eq!(
                shown(&fast),
                shown(&decoded(&[record], false).0),
                "{record}"
            );
        }
        let all: Vec<&str> = taken.iter().chain(&given_way).copied().collect();
        assert_eq!(
            shown(&decoded(&all, true).0),
            shown(&decoded(&all, false).0)
        );
    }
}
