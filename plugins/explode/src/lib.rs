//! `explode`: one row per element of an ARRAY column, or per piece of a STRING column
//! split by a regular expression — Spark's `explode(col)` and `explode(split(col, p))`,
//! the step a word count needs before it groups by word.

use std::sync::Arc;

use ferry_plugin_api::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringBuilder, UInt32Array, UInt32Builder,
};
use ferry_plugin_api::arrow::compute::{cast, take};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::{Component, Context, Error, Output, Result, Transform, MAIN_PORT};
use regex::Regex;
use schemars::JsonSchema;
use serde::Deserialize;

#[cfg(test)]
mod tests;

/// Options of `explode`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplodeOptions {
    /// The column whose elements become rows: an ARRAY column, or a STRING column when
    /// `split` is set.
    pub column: String,
    /// Split the STRING column by this regular expression first, as Spark's
    /// `split(column, pattern)`: every piece is kept, empty ones included.
    #[serde(default)]
    pub split: Option<String>,
    /// Name of the element column, which takes the exploded column's place. Default: the
    /// exploded column's own name.
    #[serde(default, rename = "as")]
    pub as_name: Option<String>,
    /// Keep a row whose value is null or an empty array, with a null element (Spark's
    /// `explode_outer`). Default: such a row yields no rows, as Spark's `explode`.
    #[serde(default)]
    pub outer: bool,
}

pub struct Explode {
    column: String,
    split: Option<Regex>,
    name: String,
    outer: bool,
    input: Option<SchemaRef>,
}

impl Component for Explode {
    const NAME: &'static str = "explode";
    const DESCRIPTION: &'static str =
        "A row per element of an ARRAY column, or per piece of a STRING column split by a pattern.";
    type Options = ExplodeOptions;

    fn create(o: ExplodeOptions, ctx: &Context) -> Result<Self> {
        ctx.check_columns("column", [o.column.as_str()])?;
        let split = match &o.split {
            Some(p) => {
                Some(Regex::new(p).map_err(|e| Error::msg(format!("split: pattern '{p}': {e}")))?)
            }
            None => None,
        };
        let explode = Self {
            name: o.as_name.clone().unwrap_or_else(|| o.column.clone()),
            column: o.column,
            split,
            outer: o.outer,
            input: ctx.input_schema().cloned(),
        };
        if let Some(input) = &explode.input {
            explode.output_fields(input)?;
        }
        Ok(explode)
    }

    fn output_schema(&self, port: &str) -> Option<SchemaRef> {
        let input = self.input.as_ref().filter(|_| port == MAIN_PORT)?;
        Some(Arc::new(Schema::new(self.output_fields(input).ok()?)))
    }
}

impl Explode {
    /// The input's fields with the exploded column replaced by its element column.
    fn output_fields(&self, input: &Schema) -> Result<Vec<FieldRef>> {
        let (at, field) = input.column_with_name(&self.column).ok_or_else(|| {
            Error::msg(format!("column: no column '{}' in the rows", self.column))
        })?;
        let element = Arc::new(Field::new(&self.name, self.element_type(field)?, true));
        let mut fields = input.fields().to_vec();
        fields[at] = element;
        Ok(fields)
    }

    fn element_type(&self, field: &Field) -> Result<DataType> {
        let column = &self.column;
        match (field.data_type(), &self.split) {
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, Some(_)) => {
                Ok(DataType::Utf8)
            }
            (DataType::List(item) | DataType::LargeList(item), None) => {
                Ok(item.data_type().clone())
            }
            (other, Some(_)) => Err(Error::msg(format!(
                "column: '{column}' is {other}; split needs a STRING column"
            ))),
            (other, None) => Err(Error::msg(format!(
                "column: '{column}' is {other}; explode needs an ARRAY column, or a STRING \
                 column with split"
            ))),
        }
    }

    /// For each output row, the input row it comes from, and its element.
    fn elements(&self, column: &ArrayRef) -> Result<(UInt32Array, ArrayRef)> {
        match &self.split {
            Some(pattern) => self.split_strings(column, pattern),
            None => self.list_elements(column),
        }
    }

    fn split_strings(&self, column: &ArrayRef, pattern: &Regex) -> Result<(UInt32Array, ArrayRef)> {
        let column = cast(column, &DataType::Utf8)?;
        let strings = column.as_string::<i32>();
        let mut parents = UInt32Builder::with_capacity(strings.len());
        let mut pieces = StringBuilder::with_capacity(strings.len(), strings.value_data().len());
        for (row, value) in strings.iter().enumerate() {
            let row = row_index(row)?;
            match value {
                Some(text) => {
                    for piece in pattern.split(text) {
                        parents.append_value(row);
                        pieces.append_value(piece);
                    }
                }
                None if self.outer => {
                    parents.append_value(row);
                    pieces.append_null();
                }
                None => {}
            }
        }
        Ok((parents.finish(), Arc::new(pieces.finish())))
    }

    fn list_elements(&self, column: &ArrayRef) -> Result<(UInt32Array, ArrayRef)> {
        let (offsets, values): (Vec<usize>, &ArrayRef) = match column.data_type() {
            DataType::List(_) => {
                let list = column.as_list::<i32>();
                let offsets = list.value_offsets().iter().map(|&o| o as usize).collect();
                (offsets, list.values())
            }
            DataType::LargeList(_) => {
                let list = column.as_list::<i64>();
                let offsets = list.value_offsets().iter().map(|&o| o as usize).collect();
                (offsets, list.values())
            }
            other => return Err(Error::msg(format!("column '{}' is {other}", self.column))),
        };
        let mut parents = UInt32Builder::with_capacity(values.len());
        let mut positions = UInt32Builder::with_capacity(values.len());
        for row in 0..column.len() {
            let span = offsets[row]..offsets[row + 1];
            if column.is_valid(row) && !span.is_empty() {
                for at in span {
                    parents.append_value(row_index(row)?);
                    positions.append_value(row_index(at)?);
                }
            } else if self.outer {
                parents.append_value(row_index(row)?);
                positions.append_null();
            }
        }
        Ok((parents.finish(), take(values, &positions.finish(), None)?))
    }
}

fn row_index(i: usize) -> Result<u32> {
    u32::try_from(i).map_err(|_| Error::msg("explode: more than 2^32 elements in one batch"))
}

impl Transform for Explode {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let schema = batch.schema();
        let fields = self.output_fields(&schema)?;
        let at = schema.index_of(&self.column)?;
        let (parents, elements) = self.elements(batch.column(at))?;
        let mut columns = Vec::with_capacity(fields.len());
        for (i, column) in batch.columns().iter().enumerate() {
            columns.push(if i == at {
                elements.clone()
            } else {
                take(column, &parents, None)?
            });
        }
        out.emit(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?)
    }
}

export_plugin! {
    sources: [],
    transforms: [Explode],
    sinks: [],
}
