//! Lookup tables for stream-static joins: files read once into memory (again when they
//! change, with `reload`), registered under their names.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};
use ferry_plugin_api::sdk::ddl::parse_ddl;
use ferry_plugin_api::sdk::{Error, Result};
use schemars::JsonSchema;
use serde::Deserialize;

/// A lookup table's file(s) and how to read them.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    /// A file, or a folder of files of the one format.
    pub path: String,
    /// How the files are written.
    pub format: TableFormat,
    /// The columns, as Spark DDL (`"country_id INT, name STRING"`). Default: read from
    /// the files (Parquet's own schema; CSV and JSON inferred).
    #[serde(default)]
    pub schema: Option<String>,
    /// csv: whether each file starts with a header line.
    #[serde(default = "yes")]
    pub header: bool,
    /// Read the files again, before the next batch, once they have changed (checked at
    /// each checkpoint). Default: read once, when the pipeline starts.
    #[serde(default)]
    pub reload: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    Csv,
    Parquet,
    Json,
}

/// What a table's files looked like when read: each file's path, length and mtime.
type Version = Vec<(String, u64, Option<SystemTime>)>;

pub struct Tables {
    options: BTreeMap<String, TableOptions>,
    read: BTreeMap<String, Version>,
}

impl Tables {
    /// Checks the options (schemas parse, paths exist).
    pub fn new(options: BTreeMap<String, TableOptions>) -> Result<Self> {
        for (name, table) in &options {
            if let Some(ddl) = &table.schema {
                parse_ddl(ddl).map_err(|e| Error::msg(format!("tables.{name}.schema: {e}")))?;
            }
            version(&table.path).map_err(|e| Error::msg(format!("tables.{name}.path: {e}")))?;
        }
        Ok(Self {
            options,
            read: BTreeMap::new(),
        })
    }

    /// Reads every table into memory and registers it in `ctx`.
    pub async fn register(&self, ctx: &SessionContext) -> Result<()> {
        for (name, table) in &self.options {
            let (schema, batches) = read(ctx, table)
                .await
                .map_err(|e| Error::msg(format!("tables.{name}: {}: {e}", table.path)))?;
            let memory = MemTable::try_new(schema, vec![batches])
                .map_err(|e| Error::msg(format!("tables.{name}: {e}")))?;
            ctx.deregister_table(name.as_str())
                .map_err(|e| Error::msg(e.to_string()))?;
            ctx.register_table(name.as_str(), Arc::new(memory))
                .map_err(|e| Error::msg(e.to_string()))?;
        }
        Ok(())
    }

    /// Notes the files' current versions; true if a `reload` table changed since the
    /// last call (the first call only notes them).
    pub fn changed(&mut self) -> Result<bool> {
        let mut changed = false;
        for (name, table) in self.options.iter().filter(|(_, t)| t.reload) {
            let now =
                version(&table.path).map_err(|e| Error::msg(format!("tables.{name}: {e}")))?;
            let before = self.read.insert(name.clone(), now.clone());
            changed |= before.is_some_and(|b| b != now);
        }
        Ok(changed)
    }

    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }
}

async fn read(
    ctx: &SessionContext,
    table: &TableOptions,
) -> datafusion::error::Result<(SchemaRef, Vec<RecordBatch>)> {
    let schema = (table.schema.as_deref()).map(|ddl| parse_ddl(ddl).expect("checked in new"));
    let path = table.path.as_str();
    let frame = match table.format {
        TableFormat::Csv => {
            let mut options = CsvReadOptions::new().has_header(table.header);
            if let Some(schema) = &schema {
                options = options.schema(schema);
            }
            ctx.read_csv(path, options.file_extension(extension(path, ".csv")))
                .await?
        }
        TableFormat::Json => {
            let mut options = JsonReadOptions::default();
            if let Some(schema) = &schema {
                options = options.schema(schema);
            }
            ctx.read_json(path, options.file_extension(extension(path, ".json")))
                .await?
        }
        TableFormat::Parquet => {
            let mut options = ParquetReadOptions::default();
            if let Some(schema) = &schema {
                options = options.schema(schema);
            }
            ctx.read_parquet(path, options.file_extension(extension(path, ".parquet")))
                .await?
        }
    };
    let schema = Arc::new(frame.schema().as_arrow().clone());
    Ok((schema, frame.collect().await?))
}

/// A file is read whatever its name ends with; a folder's files by their extension.
fn extension<'a>(path: &str, default: &'a str) -> &'a str {
    match Path::new(path).is_dir() {
        true => default,
        false => "",
    }
}

fn version(path: &str) -> std::io::Result<Version> {
    let path = Path::new(path);
    let files: Vec<_> = match path.is_dir() {
        true => std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect(),
        false => vec![path.to_path_buf()],
    };
    let mut version = Vec::with_capacity(files.len());
    for file in files {
        let meta = std::fs::metadata(&file)?;
        version.push((file.display().to_string(), meta.len(), meta.modified().ok()));
    }
    version.sort();
    Ok(version)
}
