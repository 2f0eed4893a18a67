//! `filter_derive`: the row filters and derived date columns a lake pipeline needs before
//! a SQL transform exists, done with Arrow kernels on whole batches.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_plugin_api::arrow::array::{
    make_array, Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, Scalar,
    StringArray,
};
use ferry_plugin_api::arrow::buffer::NullBuffer;
use ferry_plugin_api::arrow::compute::kernels::boolean::and;
use ferry_plugin_api::arrow::compute::kernels::cmp::{gt_eq, neq};
use ferry_plugin_api::arrow::compute::{cast, filter_record_batch};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::{Component, Context, Error, Output, Result, Transform, MAIN_PORT};
use schemars::JsonSchema;
use serde::Deserialize;

/// Options of `filter_derive`. Filters apply first, then derived columns are appended.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterDeriveOptions {
    /// Drop rows where any of these columns is null, or an empty string.
    #[serde(default)]
    pub not_empty: Vec<String>,
    /// Drop rows where a numeric column is null or below the bound: `{ value = 0 }`.
    #[serde(default)]
    pub at_least: BTreeMap<String, i64>,
    /// Replace each STRUCT column by its fields, named `<struct>_<field>` (recursively),
    /// e.g. for CSV, which has no nested values.
    #[serde(default)]
    pub flatten: bool,
    /// New DATE columns from TIMESTAMP columns (the UTC calendar date): `{ date = "timestamp" }`.
    #[serde(default)]
    pub date_from: BTreeMap<String, String>,
}

pub struct FilterDerive {
    o: FilterDeriveOptions,
    /// The input's schema, when known before any data.
    input: Option<SchemaRef>,
}

impl Component for FilterDerive {
    const NAME: &'static str = "filter_derive";
    const DESCRIPTION: &'static str =
        "Drops rows with null/empty or too-small values and adds DATE columns from timestamps.";
    type Options = FilterDeriveOptions;

    fn create(o: FilterDeriveOptions, ctx: &Context) -> Result<Self> {
        ctx.check_columns("not_empty", o.not_empty.iter().map(String::as_str))?;
        ctx.check_columns("at_least", o.at_least.keys().map(String::as_str))?;
        ctx.check_columns("date_from", o.date_from.values().map(String::as_str))?;
        let input = ctx.input_schema().cloned();
        Ok(Self { o, input })
    }

    /// The input's schema with the DATE columns appended (unknown when flattening).
    fn output_schema(&self, port: &str) -> Option<SchemaRef> {
        let input = self
            .input
            .as_ref()
            .filter(|_| port == MAIN_PORT && !self.o.flatten)?;
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        let dates = self
            .o
            .date_from
            .keys()
            .map(|name| Field::new(name, DataType::Date32, true));
        fields.extend(dates);
        Some(Arc::new(Schema::new(fields)))
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str, option: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::msg(format!("{option}: column '{name}' is not in the rows")))
}

impl FilterDerive {
    fn mask(&self, batch: &RecordBatch) -> Result<Option<BooleanArray>> {
        let mut mask: Option<BooleanArray> = None;
        let mut add = |m: BooleanArray| -> Result<()> {
            mask = Some(match mask.take() {
                Some(prev) => and(&prev, &m)?,
                None => m,
            });
            Ok(())
        };
        for name in &self.o.not_empty {
            let col = column(batch, name, "not_empty")?;
            match col.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                    let empty = cast(&StringArray::from(vec![""]), col.data_type())?;
                    add(neq(col, &Scalar::new(empty))?)?; // null stays null: dropped
                }
                _ => add(ferry_plugin_api::arrow::compute::is_not_null(col)?)?,
            }
        }
        for (name, bound) in &self.o.at_least {
            let col = column(batch, name, "at_least")?;
            let bound = cast(&Int64Array::from(vec![*bound]), col.data_type())
                .map_err(|e| Error::msg(format!("at_least: column '{name}': {e}")))?;
            add(gt_eq(col, &Scalar::new(bound))?)?;
        }
        Ok(mask)
    }
}

impl Transform for FilterDerive {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let batch = match self.mask(&batch)? {
            Some(mask) => filter_record_batch(&batch, &mask)?,
            None => batch,
        };
        let batch = if self.o.flatten {
            flatten(&batch)?
        } else {
            batch
        };
        if self.o.date_from.is_empty() {
            return out.emit(batch);
        }
        let schema = batch.schema();
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut columns = batch.columns().to_vec();
        for (new, from) in &self.o.date_from {
            let col = column(&batch, from, "date_from")?;
            if !matches!(
                col.data_type(),
                DataType::Timestamp(_, _) | DataType::Date64
            ) {
                return Err(Error::msg(format!(
                    "date_from: column '{from}' is {}, not a TIMESTAMP",
                    col.data_type()
                )));
            }
            columns.push(cast(col, &DataType::Date32)?);
            fields.push(Field::new(new, DataType::Date32, true));
        }
        out.emit(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?)
    }
}

/// Struct columns replaced by their fields, `<struct>_<field>`; a null struct gives
/// null fields.
fn flatten(batch: &RecordBatch) -> Result<RecordBatch> {
    fn push(
        name: &str,
        field: &Field,
        col: &ArrayRef,
        fields: &mut Vec<Field>,
        cols: &mut Vec<ArrayRef>,
    ) {
        match col.as_struct_opt() {
            Some(s) => {
                for (i, child) in s.fields().iter().enumerate() {
                    let mut c = s.column(i).clone();
                    if let Some(nulls) = s.nulls() {
                        // A null parent makes its fields null.
                        let merged = NullBuffer::union(Some(nulls), c.nulls());
                        c = make_array(
                            c.to_data()
                                .into_builder()
                                .nulls(merged)
                                .build()
                                .expect("same length"),
                        );
                    }
                    push(&format!("{name}_{}", child.name()), child, &c, fields, cols);
                }
            }
            None => {
                fields.push(Field::new(name, field.data_type().clone(), true));
                cols.push(col.clone());
            }
        }
    }
    let schema = batch.schema();
    let (mut fields, mut cols) = (Vec::new(), Vec::new());
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        push(f.name(), f, c, &mut fields, &mut cols);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

export_plugin! {
    sources: [],
    transforms: [FilterDerive],
    sinks: [],
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_plugin_api::arrow::array::TimestampMicrosecondArray;
    use ferry_plugin_api::arrow::datatypes::Date32Type;
    use ferry_plugin_api::sdk::{parse_options, Collected};

    #[test]
    fn filters_then_derives() {
        let ts =
            TimestampMicrosecondArray::from(vec![0, 86_400_000_000, 1, 2]).with_timezone("UTC");
        let batch = RecordBatch::try_from_iter(vec![
            (
                "event_type",
                Arc::new(StringArray::from(vec![
                    Some("A"),
                    Some("B"),
                    Some(""),
                    None,
                ])) as ArrayRef,
            ),
            (
                "value",
                Arc::new(Int64Array::from(vec![Some(1), Some(0), Some(5), Some(5)])) as ArrayRef,
            ),
            ("timestamp", Arc::new(ts) as ArrayRef),
        ])
        .unwrap();
        let o = parse_options(r#"{"not_empty": ["event_type"], "at_least": {"value": 1}, "date_from": {"date": "timestamp"}}"#).unwrap();
        let mut t = FilterDerive { o, input: None };
        let mut out = Collected::default();
        t.process("in", batch, &mut out.output()).unwrap();
        let b = &out.main()[0];
        assert_eq!(b.num_rows(), 1);
        assert_eq!(
            b.column_by_name("date")
                .unwrap()
                .as_primitive::<Date32Type>()
                .value(0),
            0
        );
    }
}
