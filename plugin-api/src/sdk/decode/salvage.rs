//! Spark's PERMISSIVE rows: for a record its decoder rejected, each top-level column's
//! value if that column alone reads from the record, else null (Spark keeps such
//! partial results, and puts the record's text in `columnNameOfCorruptRecord`).
//!
//! Column `i` is tried with a decoder of the same options whose schema has column `i`
//! as declared and every other column as STRING, which takes any text (and in JSON any
//! value, as its JSON text): the record reads into it exactly when column `i` does.

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

/// Per-column decoders, made the first time a record is salvaged.
pub(super) struct Salvager<D> {
    decoders: Vec<D>,
}

impl<D> Salvager<D> {
    /// One decoder per column of `schema`, by `make(schema keeping column i)`.
    pub(super) fn new(schema: &Schema, make: impl Fn(SchemaRef) -> D) -> Self {
        let decoders = (0..schema.fields().len())
            .map(|i| make(keeping(schema, i)))
            .collect();
        Self { decoders }
    }

    /// The row of `schema` for `record`: each column from its decoder's one-row answer
    /// (`decode` gives the rows), else null.
    pub(super) fn row(
        &mut self,
        schema: &Schema,
        mut decode: impl FnMut(&mut D) -> Option<RecordBatch>,
    ) -> Vec<ArrayRef> {
        let fields = schema.fields().iter().zip(&mut self.decoders).enumerate();
        fields
            .map(|(i, (field, decoder))| match decode(decoder) {
                Some(batch) if batch.num_rows() == 1 => batch.column(i).clone(),
                _ => new_null_array(field.data_type(), 1),
            })
            .collect()
    }
}

/// `schema` with column `keep` as declared and every other a STRING, all nullable.
fn keeping(schema: &Schema, keep: usize) -> SchemaRef {
    let fields = schema.fields().iter().enumerate().map(|(i, f)| {
        let data_type = match i == keep {
            true => f.data_type().clone(),
            false => DataType::Utf8,
        };
        Field::new(f.name(), data_type, true)
    });
    Arc::new(Schema::new(fields.collect::<Vec<_>>()))
}

/// A row of nulls for every column of `schema`.
pub(super) fn nulls(schema: &Schema) -> Vec<ArrayRef> {
    (schema.fields().iter())
        .map(|f| new_null_array(f.data_type(), 1))
        .collect()
}
