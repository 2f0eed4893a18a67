//! Hive-style partitioning: rows split by the values of the `partition_by` columns into
//! `col=value/` folders, with values escaped so that no value can leave the lake.

use std::collections::HashMap;
use std::sync::Arc;

use ferry_plugin_api::arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array};
use ferry_plugin_api::arrow::compute::take_record_batch;
use ferry_plugin_api::arrow::datatypes::{Schema, SchemaRef};
use ferry_plugin_api::arrow::row::{RowConverter, SortField};
use ferry_plugin_api::arrow::util::display::{ArrayFormatter, FormatOptions};
use ferry_plugin_api::sdk::{Error, Result};

/// The folder name Hive, Spark and pyarrow use for a null (or empty) partition value.
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Longest folder name most file systems accept.
const MAX_NAME: usize = 255;

/// Escapes a partition column name or value the way Hive does (`%XX` for `/`, `:`, `=`,
/// `%`, control characters …). `..` cannot escape either: a folder is always `col=value`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let needs = matches!(
            c,
            '\0'..='\u{1f}'
                | '"'
                | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\u{7f}'
                | '{'
                | '['
                | ']'
                | '^'
        );
        if needs {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The folder `col=value` for one partition value (`None` = null).
pub fn folder(column: &str, value: Option<&str>) -> Result<String> {
    let value = match value {
        None | Some("") => DEFAULT_PARTITION.to_string(),
        Some(v) => escape(v),
    };
    let name = format!("{}={value}", escape(column));
    if name.len() > MAX_NAME {
        return Err(Error::msg(format!(
            "partition folder name is longer than {MAX_NAME} bytes: {}...",
            &name[..name.char_indices().nth(60).map_or(name.len(), |(i, _)| i)]
        )));
    }
    Ok(name)
}

/// One partition's share of a batch.
pub struct Part {
    /// `date=2024-01-01/channel=web`, relative to the lake's path.
    pub dir: String,
    /// The rows, without the partition columns.
    pub batch: RecordBatch,
}

/// Splits batches by the partition columns (which are dropped from the rows, as in Hive).
pub struct Partitioner {
    columns: Vec<String>,
}

impl Partitioner {
    pub fn new(columns: Vec<String>) -> Result<Self> {
        for c in &columns {
            if c.starts_with('_') || c.starts_with('.') || c.is_empty() {
                return Err(Error::msg(format!(
                    "partition_by: column '{c}' would name folders that Spark, DuckDB and pyarrow skip (names starting with '_' or '.')"
                )));
            }
        }
        Ok(Self { columns })
    }

    pub fn split(&self, batch: RecordBatch) -> Result<Vec<Part>> {
        if self.columns.is_empty() {
            return Ok(vec![Part {
                dir: String::new(),
                batch,
            }]);
        }
        let schema = batch.schema();
        let mut keys: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        let mut key_idx = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let i = schema.index_of(c).map_err(|_| {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                Error::msg(format!(
                    "partition column '{c}' is not in the rows (columns: {})",
                    names.join(", ")
                ))
            })?;
            keys.push(batch.column(i).clone());
            key_idx.push(i);
        }
        let data_idx: Vec<usize> = (0..schema.fields().len())
            .filter(|i| !key_idx.contains(i))
            .collect();
        let data = batch.project(&data_idx)?;
        let converter = RowConverter::new(
            keys.iter()
                .map(|k| SortField::new(k.data_type().clone()))
                .collect(),
        )?;
        let rows = converter.convert_columns(&keys)?;
        // Group rows by key; consecutive equal keys (the usual case: a date column of
        // rows in time order) skip the hash lookup.
        let mut groups: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut index: HashMap<_, usize> = HashMap::new();
        let mut last: Option<usize> = None;
        for i in 0..batch.num_rows() {
            let row = rows.row(i);
            let g = match last {
                Some(g) if rows.row(groups[g].0) == row => g,
                _ => *index.entry(row).or_insert_with(|| {
                    groups.push((i, Vec::new()));
                    groups.len() - 1
                }),
            };
            groups[g].1.push(i as u32);
            last = Some(g);
        }
        let options = FormatOptions::default();
        let formatters = keys
            .iter()
            .map(|k| ArrayFormatter::try_new(k.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        let mut parts = Vec::with_capacity(groups.len());
        let single = groups.len() == 1;
        for (first, indices) in groups {
            let mut dir = String::new();
            for (k, column) in self.columns.iter().enumerate() {
                let value =
                    (!keys[k].is_null(first)).then(|| formatters[k].value(first).to_string());
                if !dir.is_empty() {
                    dir.push('/');
                }
                dir.push_str(&folder(column, value.as_deref())?);
            }
            let batch = if single {
                data.clone()
            } else {
                take_record_batch(&data, &UInt32Array::from(indices))?
            };
            parts.push(Part { dir, batch });
        }
        Ok(parts)
    }
}

/// The schema files are written with: every column nullable and without metadata, so
/// that batches differing only in those never start a new file.
pub fn file_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                f.as_ref()
                    .clone()
                    .with_nullable(true)
                    .with_metadata(std::collections::HashMap::new())
            })
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_plugin_api::arrow::array::{Int64Array, StringArray};
    use ferry_plugin_api::arrow::datatypes::{DataType, Field};

    #[test]
    fn values_never_leave_the_lake() {
        assert_eq!(folder("d", Some("../x")).unwrap(), "d=..%2Fx");
        assert_eq!(folder("d", Some("..")).unwrap(), "d=..");
        assert_eq!(folder("d", Some("a\0b")).unwrap(), "d=a%00b");
        assert_eq!(
            folder("d", Some("")).unwrap(),
            "d=__HIVE_DEFAULT_PARTITION__"
        );
        assert_eq!(folder("d", None).unwrap(), "d=__HIVE_DEFAULT_PARTITION__");
        assert_eq!(folder("a/b", Some("k=v")).unwrap(), "a%2Fb=k%3Dv");
        assert_eq!(
            folder("t", Some("2024-01-01 10:00")).unwrap(),
            "t=2024-01-01 10%3A00"
        );
        assert!(folder("d", Some(&"x".repeat(300))).is_err());
    }

    #[test]
    fn splits_by_key_and_drops_key_columns() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("b"),
                    Some("a"),
                    None,
                ])),
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
            ],
        )
        .unwrap();
        let parts = Partitioner::new(vec!["k".into()])
            .unwrap()
            .split(batch)
            .unwrap();
        let dirs: Vec<_> = parts
            .iter()
            .map(|p| (p.dir.as_str(), p.batch.num_rows()))
            .collect();
        assert_eq!(
            dirs,
            [("k=a", 2), ("k=b", 1), ("k=__HIVE_DEFAULT_PARTITION__", 1)]
        );
        assert_eq!(parts[0].batch.num_columns(), 1);
        assert!(Partitioner::new(vec!["_x".into()]).is_err());
    }
}
