//! Rows as bytes, in arrow's row format, for operator state: equal bytes are equal
//! values (nulls equal), the bytes sort as the values do, and they decode back into
//! columns. The format depends only on the column types, so bytes a run wrote before a
//! restart decode after it, given the same schema.

use arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::json::LineDelimitedWriter;
use arrow::row::{RowConverter, Rows, SortField};

use super::{Error, Result};

/// Encodes columns of fixed types to row bytes and back.
pub struct RowCodec {
    types: Vec<DataType>,
    converter: RowConverter,
}

impl RowCodec {
    /// A codec for columns of these types, in this order.
    pub fn new(types: Vec<DataType>) -> Result<Self> {
        let fields = types.iter().map(|t| SortField::new(t.clone())).collect();
        Ok(Self {
            converter: RowConverter::new(fields)?,
            types,
        })
    }

    /// A codec for every column of `schema`.
    pub fn for_schema(schema: &SchemaRef) -> Result<Self> {
        Self::new(
            schema
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect(),
        )
    }

    /// The rows of `columns` (of the codec's types, in its order).
    pub fn encode(&self, columns: &[ArrayRef]) -> Result<EncodedRows> {
        let types = columns.iter().map(|c| c.data_type());
        if !types.eq(self.types.iter()) {
            let got: Vec<&DataType> = columns.iter().map(|c| c.data_type()).collect();
            return Err(Error::msg(format!(
                "columns of types {got:?}, where {:?} were declared",
                self.types
            )));
        }
        if columns.is_empty() {
            return Ok(EncodedRows(None));
        }
        Ok(EncodedRows(Some(self.converter.convert_columns(columns)?)))
    }

    /// Columns holding `rows`, bytes that [`EncodedRows::row`] gave.
    pub fn decode<'a>(&self, rows: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<ArrayRef>> {
        let parser = self.converter.parser();
        let rows = rows.into_iter().map(|r| parser.parse(r));
        Ok(self.converter.convert_rows(rows)?)
    }
}

impl RowCodec {
    /// As [`decode`](Self::decode), with an all-null row wherever `rows` has `None` (an
    /// outer join's missing side, an aggregate without a value).
    pub fn decode_or_null(&self, rows: &[Option<&[u8]>]) -> Result<Vec<ArrayRef>> {
        let decoded = self.decode(rows.iter().flatten().copied())?;
        let mut next = 0u32;
        let indices: UInt32Array = (rows.iter())
            .map(|r| {
                r.map(|_| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        let taken = decoded.iter().map(|c| take(c, &indices, None));
        Ok(taken.collect::<std::result::Result<_, _>>()?)
    }
}

/// A batch's rows encoded by a [`RowCodec`]. `None` for no columns (a window without
/// `group_by`): arrow cannot tell how many rows no columns have and makes none, while
/// every row's key is then the same empty one.
pub struct EncodedRows(Option<Rows>);

impl EncodedRows {
    /// Row `i`'s bytes.
    pub fn row(&self, i: usize) -> &[u8] {
        self.0.as_ref().map_or(&[], |rows| rows.row(i).data())
    }
}

/// The columns of `batch` named `names`, in that order; an error names the option and
/// the column missing.
pub fn columns(batch: &RecordBatch, option: &str, names: &[String]) -> Result<Vec<ArrayRef>> {
    let schema = batch.schema();
    let column = |name: &String| {
        let i = schema
            .index_of(name)
            .map_err(|_| Error::msg(format!("{option}: no column '{name}' in the rows")))?;
        Ok(batch.column(i).clone())
    };
    names.iter().map(column).collect()
}

/// The rows of `batch`'s columns named `names` (keys, say), encoded for their types.
pub fn encode_columns(batch: &RecordBatch, option: &str, names: &[String]) -> Result<EncodedRows> {
    let columns = columns(batch, option, names)?;
    let types = columns.iter().map(|c| c.data_type().clone()).collect();
    RowCodec::new(types)?.encode(&columns)
}

/// Row `i` of `batch` as a JSON line: a rejected row's `raw`.
pub fn row_as_json(batch: &RecordBatch, i: usize) -> Result<Vec<u8>> {
    let mut writer = LineDelimitedWriter::new(Vec::new());
    writer.write(&batch.slice(i, 1))?;
    writer.finish()?;
    Ok(writer.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray, Int64Array, StringArray};
    use arrow::datatypes::Int64Type;

    use super::*;

    #[test]
    fn rows_round_trip_compare_equal_with_nulls_and_sort_as_values() {
        let codec = RowCodec::new(vec![DataType::Utf8, DataType::Int64]).unwrap();
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("b"), None, Some("a"), None]));
        let n: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 2]));
        let rows = codec.encode(&[text, n]).unwrap();
        assert_eq!(rows.row(1), rows.row(3));
        assert!(rows.row(2) < rows.row(0));
        let back = codec.decode([rows.row(2), rows.row(1)]).unwrap();
        assert_eq!(back[0].as_string::<i32>().value(0), "a");
        assert!(back[0].is_null(1));
        assert_eq!(back[1].as_primitive::<Int64Type>().values(), &[3, 2]);
    }

    #[test]
    fn no_columns_make_one_empty_key_for_every_row() {
        let codec = RowCodec::new(Vec::new()).unwrap();
        let rows = codec.encode(&[]).unwrap();
        assert_eq!((rows.row(0), rows.row(7)), (&[][..], &[][..]));
        assert!(codec.decode([rows.row(0)]).unwrap().is_empty());
    }

    #[test]
    fn columns_of_other_types_are_refused() {
        let codec = RowCodec::new(vec![DataType::Int64]).unwrap();
        let text: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        let err = codec.encode(&[text]).err().unwrap().to_string();
        assert!(err.contains("Utf8") && err.contains("Int64"), "{err}");
    }
}
