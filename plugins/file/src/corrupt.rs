//! Spark's `columnNameOfCorruptRecord`: a STRING column of the schema that, under the
//! PERMISSIVE mode, turns a malformed record into a row instead of a dead letter — each
//! column that reads from the record kept, the others null, and the record's text in
//! this column (null on every well-formed row).

use std::sync::Arc;

use ferry_plugin_api::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use ferry_plugin_api::arrow::compute::interleave;
use ferry_plugin_api::arrow::datatypes::{DataType, Schema, SchemaRef};
use ferry_plugin_api::sdk::{Error, Result};

/// Spark's default name for the column.
pub const DEFAULT_NAME: &str = "_corrupt_record";

/// The schema's corrupt-record column.
#[derive(Clone, Debug)]
pub struct CorruptColumn {
    /// Where it is in the schema.
    index: usize,
    /// The schema, with it.
    schema: SchemaRef,
    /// Malformed records become rows (PERMISSIVE); else they stay dead letters and the
    /// column is always null.
    pub keep: bool,
}

/// A malformed record read the PERMISSIVE way.
pub struct Salvaged {
    /// Its place among the records decoded with it.
    pub index: usize,
    /// One value per decoded column.
    pub columns: Vec<ArrayRef>,
    pub text: String,
}

impl CorruptColumn {
    /// The column `name` (else [`DEFAULT_NAME`]) if `schema` has it, and the schema the
    /// decoders read (without it). A `name` given but not in the schema, a column that is
    /// not STRING, or (when records are `keep`t) a NOT NULL column is refused: a
    /// malformed record's row needs nulls.
    pub fn find(
        schema: &SchemaRef,
        name: Option<&str>,
        keep: bool,
    ) -> Result<(SchemaRef, Option<Self>)> {
        let option = "column_name_of_corrupt_record";
        let Ok(index) = schema.index_of(name.unwrap_or(DEFAULT_NAME)) else {
            return match name {
                Some(name) => Err(Error::msg(format!(
                    "{option}: the schema has no column '{name}'; add `{name} STRING` to it"
                ))),
                None => Ok((schema.clone(), None)),
            };
        };
        let column = schema.field(index);
        if column.data_type() != &DataType::Utf8 {
            return Err(Error::msg(format!(
                "{option}: column '{}' must be a STRING to hold the records' text",
                column.name()
            )));
        }
        let mut fields = schema.fields().to_vec();
        fields.remove(index);
        let not_null = fields.iter().find(|f| !f.is_nullable());
        if let Some(field) = not_null.filter(|_| keep) {
            return Err(Error::msg(format!(
                "{option}: column '{}' is NOT NULL, but the row of a malformed record has nulls",
                field.name()
            )));
        }
        let decoded = Schema::new_with_metadata(fields, schema.metadata().clone());
        let corrupt = Self {
            index,
            schema: schema.clone(),
            keep,
        };
        Ok((Arc::new(decoded), Some(corrupt)))
    }

    /// The rows of `batch` (from records `sources`) and `salvaged`, in record order,
    /// with this column inserted: null for `batch`'s rows, the text for the others.
    pub fn merge(
        &self,
        batch: RecordBatch,
        sources: &[usize],
        salvaged: Vec<Salvaged>,
    ) -> Result<RecordBatch> {
        // (array, row) for each output row: array 0 is `batch`, array 1 + k salvaged[k].
        let mut order: Vec<(usize, usize, usize)> = (sources.iter().enumerate())
            .map(|(row, &source)| (source, 0, row))
            .collect();
        order.extend((salvaged.iter().enumerate()).map(|(k, s)| (s.index, k + 1, 0)));
        order.sort_unstable();
        let picks: Vec<(usize, usize)> = order.iter().map(|&(_, a, r)| (a, r)).collect();
        let mut columns = Vec::with_capacity(batch.num_columns() + 1);
        for c in 0..batch.num_columns() {
            let mut arrays: Vec<&dyn Array> = vec![batch.column(c).as_ref()];
            arrays.extend(salvaged.iter().map(|s| s.columns[c].as_ref()));
            columns.push(interleave(&arrays, &picks)?);
        }
        let texts: StringArray = (order.iter())
            .map(|&(_, a, _)| (a > 0).then(|| salvaged[a - 1].text.as_str()))
            .collect();
        columns.insert(self.index, Arc::new(texts) as ArrayRef);
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use ferry_plugin_api::arrow::array::{Int32Array, StringArray};
    use ferry_plugin_api::arrow::util::pretty::pretty_format_batches;
    use ferry_plugin_api::sdk::ddl::parse_ddl;

    use super::*;

    fn schema(ddl: &str) -> SchemaRef {
        Arc::new(parse_ddl(ddl).unwrap())
    }

    fn refusal(ddl: &str, name: Option<&str>) -> String {
        CorruptColumn::find(&schema(ddl), name, true)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_column_that_cannot_hold_corrupt_records_is_refused_by_name() {
        assert_eq!(
            refusal("id INT", Some("bad")),
            "column_name_of_corrupt_record: the schema has no column 'bad'; add `bad STRING` to it"
        );
        assert_eq!(
            refusal("id INT, _corrupt_record INT", None),
            "column_name_of_corrupt_record: column '_corrupt_record' must be a STRING to hold the records' text"
        );
        assert_eq!(
            refusal("id INT NOT NULL, _corrupt_record STRING", None),
            "column_name_of_corrupt_record: column 'id' is NOT NULL, but the row of a malformed record has nulls"
        );
        let (decoded, corrupt) = CorruptColumn::find(&schema("id INT"), None, true).unwrap();
        assert_eq!((decoded.fields().len(), corrupt.is_none()), (1, true));
    }

    #[test]
    fn salvaged_rows_go_between_the_decoded_ones_in_record_order() {
        let ddl = "id INT, _corrupt_record STRING, n INT";
        let (decoded, corrupt) = CorruptColumn::find(&schema(ddl), None, true).unwrap();
        let ids = Arc::new(Int32Array::from(vec![1, 4]));
        let ns = Arc::new(Int32Array::from(vec![10, 40]));
        let batch = RecordBatch::try_new(decoded, vec![ids, ns]).unwrap();
        let row = |index, id: Option<i32>, text: &str| Salvaged {
            index,
            columns: vec![
                Arc::new(Int32Array::from(vec![id])) as ArrayRef,
                Arc::new(Int32Array::from(vec![None::<i32>])),
            ],
            text: text.into(),
        };
        let salvaged = vec![row(0, None, "x"), row(2, Some(3), "3,y")];
        let merged = corrupt.unwrap().merge(batch, &[1, 3], salvaged).unwrap();
        let texts: &StringArray = merged.column(1).as_any().downcast_ref().unwrap();
        assert_eq!(
            texts.iter().collect::<Vec<_>>(),
            [Some("x"), None, Some("3,y"), None]
        );
        let table = pretty_format_batches(&[merged]).unwrap().to_string();
        assert!(table.contains("| 3  | 3,y             |    |"), "{table}");
        assert!(table.contains("| 4  |                 | 40 |"), "{table}");
    }
}
