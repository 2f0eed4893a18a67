//! A lake folder as a table: exactly the files its commit log (`_ferry_log/`) publishes.
//!
//! The lake sink renames a file into place before it writes the epoch's manifest, and
//! keeps unpublished files under `_ferry_staging/`, so listing the folder could read a
//! half-published epoch. Only the manifests say which files are in the lake.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{plan_err, Column, DataFusionError, Result as DfResult, ScalarValue};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{provider_as_source, ViewTable};
use datafusion::logical_expr::{cast, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use ferry_plugin_api::sdk::ddl::parse_ddl;
use serde::Deserialize;

const LOG: &str = "_ferry_log";
/// Hive's folder name for a null or empty partition value.
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// One committed epoch's entry in `_ferry_log/`.
#[derive(Deserialize)]
struct Manifest {
    format: String,
    #[serde(default)]
    partition_by: Vec<String>,
    schema: String,
    #[serde(default)]
    committed_at_ms: u64,
    files: Vec<PublishedFile>,
}

#[derive(Deserialize)]
struct PublishedFile {
    path: String,
}

/// What the commit log says a lake holds.
pub struct Lake {
    root: PathBuf,
    /// The newest entry's columns, partition columns included.
    schema: Schema,
    partition_by: Vec<String>,
    /// Published files by (partition folder, format), paths relative to `root`.
    groups: BTreeMap<(String, String), Vec<String>>,
}

impl Lake {
    /// Reads every manifest of the lake at `root`.
    pub fn open(root: &Path) -> Result<Lake> {
        let manifests = read_log(root)?;
        let newest = manifests
            .iter()
            .max_by_key(|m| m.committed_at_ms)
            .with_context(|| format!("lake {} has no published epoch yet", root.display()))?;
        let schema = parse_ddl(&newest.schema)
            .map_err(|e| anyhow::anyhow!("lake {}: its schema: {e}", root.display()))?;
        let partition_by = newest.partition_by.clone();
        let mut groups: BTreeMap<_, Vec<String>> = BTreeMap::new();
        for m in &manifests {
            for f in &m.files {
                let folder = f.path.rsplit_once('/').map_or("", |(dir, _)| dir);
                groups
                    .entry((folder.to_string(), m.format.clone()))
                    .or_default()
                    .push(f.path.clone());
            }
        }
        Ok(Lake {
            root: root.to_path_buf(),
            schema,
            partition_by,
            groups,
        })
    }

    /// The lake as one table: a scan of each partition folder's published files, with
    /// the folder's partition values as typed columns, all unioned.
    pub fn table(&self) -> Result<Arc<dyn TableProvider>> {
        let mut plans = Vec::new();
        for ((folder, format), files) in &self.groups {
            plans.push(self.partition_plan(folder, format, files)?);
        }
        let mut plans = plans.into_iter();
        let first = plans.next().expect("a published epoch lists files");
        let plan = plans.try_fold(LogicalPlanBuilder::from(first), |b, p| b.union(p))?;
        Ok(Arc::new(ViewTable::new(plan.build()?, None)))
    }

    fn partition_plan(&self, folder: &str, format: &str, files: &[String]) -> Result<LogicalPlan> {
        let values = partition_values(folder, &self.partition_by)
            .with_context(|| format!("lake {}: folder {folder}", self.root.display()))?;
        let data = self.file_schema();
        let urls = files
            .iter()
            .map(|f| file_url(&self.root.join(f)))
            .collect::<Result<Vec<_>>>()?;
        let options = ListingOptions::new(file_format(format)?).with_file_extension("");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(data.clone());
        let scan = Arc::new(ListingTable::try_new(config)?);
        let mut columns: Vec<Expr> = data
            .fields()
            .iter()
            .map(|f| Expr::Column(Column::new_unqualified(f.name())))
            .collect();
        for (name, value) in self.partition_by.iter().zip(values) {
            let typed = cast(lit(ScalarValue::Utf8(value)), self.partition_type(name));
            columns.push(typed.alias(name));
        }
        let builder = LogicalPlanBuilder::scan("lake", provider_as_source(scan), None)?;
        Ok(builder.project(columns)?.build()?)
    }

    /// The columns inside the files: partition columns live in the folder names only.
    fn file_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .filter(|f| !self.partition_by.contains(f.name()))
            .map(|f| f.as_ref().clone())
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// A partition column's type from the schema; a column the schema lacks is text.
    fn partition_type(&self, name: &str) -> DataType {
        self.schema
            .field_with_name(name)
            .map_or(DataType::Utf8, |f| f.data_type().clone())
    }
}

/// Every manifest under `root/_ferry_log/`, checking that each listed file is there.
fn read_log(root: &Path) -> Result<Vec<Manifest>> {
    let log = root.join(LOG);
    if !log.is_dir() {
        match root.is_dir() {
            true => bail!(
                "{} is not a ferry lake: it has no {LOG}/ folder (lakes are written by the lake sink)",
                root.display()
            ),
            false => bail!("lake {}: no such folder", root.display()),
        }
    }
    let mut manifests = Vec::new();
    for entry in std::fs::read_dir(&log).with_context(|| format!("listing {}", log.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // `.name.tmp` is a manifest still being written.
        if !name.ends_with(".manifest") || name.starts_with('.') {
            continue;
        }
        let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let m: Manifest =
            serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
        if let Some(f) = m.files.iter().find(|f| !root.join(&f.path).is_file()) {
            bail!("{} lists {}, which is missing", path.display(), f.path);
        }
        manifests.push(m);
    }
    Ok(manifests)
}

/// The values `col=value/…` of a partition folder, in `partition_by` order (None: null).
fn partition_values(folder: &str, partition_by: &[String]) -> Result<Vec<Option<String>>> {
    let parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() != partition_by.len() {
        bail!(
            "expected the partition folders {}",
            partition_by.join("=…/")
        );
    }
    parts
        .iter()
        .zip(partition_by)
        .map(|(part, col)| match part.split_once('=') {
            Some((name, NULL_PARTITION)) if name == col => Ok(None),
            Some((name, value)) if name == col => Ok(Some(unescape(value))),
            _ => bail!("'{part}' is not a folder of partition column '{col}'"),
        })
        .collect()
}

/// Undoes Hive's `%XX` escaping of partition values.
fn unescape(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = value.get(i + 1..i + 3).filter(|_| bytes[i] == b'%');
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A file's URL without glob parsing: partition values may hold `*`, `?` or `[`.
fn file_url(path: &Path) -> Result<ListingTableUrl> {
    let absolute = std::path::absolute(path)?;
    let url = url::Url::from_file_path(&absolute)
        .map_err(|()| anyhow::anyhow!("{} cannot be a file URL", absolute.display()))?;
    Ok(ListingTableUrl::try_new(url, None)?)
}

fn file_format(format: &str) -> Result<Arc<dyn FileFormat>> {
    Ok(match format {
        "parquet" => Arc::new(ParquetFormat::default()),
        // The sink's default CSV options: a header line, `,` and `"`.
        "csv" => Arc::new(CsvFormat::default().with_has_header(true)),
        "json" => Arc::new(JsonFormat::default()),
        other => bail!("unknown lake format '{other}'"),
    })
}

/// `lake('folder')` in SQL: the lake at that folder (relative to the working directory).
#[derive(Debug)]
pub struct LakeFunction;

impl TableFunctionImpl for LakeFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let folder = match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(folder)), _)] => folder,
            _ => return plan_err!("lake() takes one argument: the lake's folder as a string"),
        };
        let table = Lake::open(Path::new(folder)).and_then(|lake| lake.table());
        table.map_err(|e| DataFusionError::Plan(format!("{e:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_folders_become_values() {
        let cols = ["date".to_string(), "k".to_string()];
        let values = partition_values("date=2024-03-05/k=a%2Fb%3Ac", &cols).unwrap();
        assert_eq!(values, [Some("2024-03-05".into()), Some("a/b:c".into())]);
        let null = partition_values("date=__HIVE_DEFAULT_PARTITION__/k=x", &cols).unwrap();
        assert_eq!(null[0], None);
        assert!(partition_values("k=x/date=1", &cols).is_err());
        assert!(partition_values("", &cols).is_err());
    }

    #[test]
    fn a_stray_percent_is_kept() {
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%zz%41"), "%zzA");
    }
}
