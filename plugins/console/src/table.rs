//! Table mode: a batch rendered the way Spark's console sink shows it.

use std::sync::Arc;

use ferry_plugin_api::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema};
use ferry_plugin_api::arrow::util::display::{ArrayFormatter, FormatOptions};
use ferry_plugin_api::arrow::util::pretty::pretty_format_batches;
use ferry_plugin_api::sdk::Result;

/// Cells longer than this are cut when truncating, as in Spark.
const MAX_CELL: usize = 20;
const RULE: &str = "-------------------------------------------";

/// The text printed for batch number `index`: a header, the first `num_rows` rows as an
/// aligned table, and a note when rows were left out.
pub fn render(batch: &RecordBatch, index: u64, num_rows: usize, truncate: bool) -> Result<String> {
    let shown = batch.slice(0, num_rows.min(batch.num_rows()));
    let table = pretty_format_batches(&[as_text(&shown, truncate)?])?;
    let mut text = format!("{RULE}\nBatch: {index}\n{RULE}\n{table}\n");
    if shown.num_rows() < batch.num_rows() {
        let unit = if num_rows == 1 { "row" } else { "rows" };
        text.push_str(&format!("only showing top {num_rows} {unit}\n"));
    }
    text.push('\n');
    Ok(text)
}

/// Every column formatted as strings (nulls as `null`), cut to Spark's width if asked.
fn as_text(batch: &RecordBatch, truncate: bool) -> Result<RecordBatch> {
    let options = FormatOptions::default()
        .with_null("null")
        .with_display_error(true);
    let columns = batch
        .columns()
        .iter()
        .map(|column| text_column(column.as_ref(), &options, truncate))
        .collect::<Result<Vec<_>>>()?;
    let fields: Vec<Field> = (batch.schema().fields().iter())
        .map(|f| Field::new(f.name(), DataType::Utf8, false))
        .collect();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn text_column(column: &dyn Array, options: &FormatOptions, truncate: bool) -> Result<ArrayRef> {
    let formatter = ArrayFormatter::try_new(column, options)?;
    let cells = (0..column.len()).map(|row| {
        let cell = formatter.value(row).to_string();
        if truncate {
            cut(cell)
        } else {
            cell
        }
    });
    Ok(Arc::new(StringArray::from_iter_values(cells)))
}

/// Spark's rule: longer than 20 characters becomes the first 17 and `...`.
fn cut(cell: String) -> String {
    match cell.char_indices().nth(MAX_CELL) {
        Some(_) => {
            let end = cell.char_indices().nth(MAX_CELL - 3).map_or(0, |(i, _)| i);
            format!("{}...", &cell[..end])
        }
        None => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_long_cells_like_spark() {
        assert_eq!(cut("a".repeat(20)), "a".repeat(20));
        assert_eq!(cut("é".repeat(21)), format!("{}...", "é".repeat(17)));
    }
}
