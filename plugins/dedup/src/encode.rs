//! Rows as bytes, in arrow's row format: the key columns of each row (equal bytes, equal
//! values, nulls included), and with `keep = "earliest"` whole rows held in state and
//! decoded when they are emitted. The format depends only on the column types, so bytes
//! written before a restart decode after it.

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::arrow::json::LineDelimitedWriter;
use ferry_plugin_api::arrow::row::{RowConverter, Rows, SortField};
use ferry_plugin_api::sdk::{Error, Result};

/// The key columns of a batch's rows.
pub struct KeyRows(Rows);

impl KeyRows {
    pub fn of(batch: &RecordBatch, keys: &[String]) -> Result<Self> {
        let schema = batch.schema();
        let mut columns = Vec::with_capacity(keys.len());
        let mut fields = Vec::with_capacity(keys.len());
        for key in keys {
            let index = schema
                .index_of(key)
                .map_err(|_| Error::msg(format!("keys: no column '{key}' in the rows")))?;
            columns.push(batch.column(index).clone());
            fields.push(SortField::new(schema.field(index).data_type().clone()));
        }
        let converter = RowConverter::new(fields)?;
        Ok(Self(converter.convert_columns(&columns)?))
    }

    pub fn row(&self, i: usize) -> Vec<u8> {
        self.0.row(i).as_ref().to_vec()
    }
}

/// Whole rows of one schema, to bytes and back.
pub struct RowCodec {
    schema: SchemaRef,
    converter: RowConverter,
}

/// A batch's rows encoded by a [`RowCodec`].
pub struct WholeRows(Rows);

impl WholeRows {
    pub fn row(&self, i: usize) -> Vec<u8> {
        self.0.row(i).as_ref().to_vec()
    }
}

impl RowCodec {
    pub fn new(schema: SchemaRef) -> Result<Self> {
        let fields = schema.fields().iter();
        let fields = fields
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        Ok(Self {
            converter: RowConverter::new(fields)?,
            schema,
        })
    }

    pub fn encode(&self, batch: &RecordBatch) -> Result<WholeRows> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(Error::msg(format!(
                "the rows' schema changed from the declared one ({:?} to {:?})",
                self.schema,
                batch.schema()
            )));
        }
        Ok(WholeRows(self.converter.convert_columns(batch.columns())?))
    }

    pub fn decode(&self, rows: &[Vec<u8>]) -> Result<RecordBatch> {
        let parser = self.converter.parser();
        let parsed = rows.iter().map(|r| parser.parse(r));
        let columns = self.converter.convert_rows(parsed)?;
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// Row `i` as a JSON line, for a rejected row's `raw`.
pub fn row_as_json(batch: &RecordBatch, i: usize) -> Result<Vec<u8>> {
    let mut writer = LineDelimitedWriter::new(Vec::new());
    writer.write(&batch.slice(i, 1))?;
    writer.finish()?;
    Ok(writer.into_inner())
}
