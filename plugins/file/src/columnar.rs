//! Reading a Parquet file: INT96 timestamps over their whole range, the declared
//! columns matched by name (or case), every value converted to its declared type
//! checked (see `convert`), and a file that cannot be read reported as such.

use std::collections::BTreeSet;
use std::fs::File;
use std::sync::Arc;

use ferry_plugin_api::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StructArray};
use ferry_plugin_api::arrow::compute::{cast, filter_record_batch};
use ferry_plugin_api::arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit,
};
use ferry_plugin_api::arrow::json::LineDelimitedWriter;
use ferry_plugin_api::log::info;
use ferry_plugin_api::sdk::{Output, Result};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::basic::Type as PhysicalType;

use crate::convert::{compatible, convert_struct, match_field, Rounded};
use crate::reader::Failure;

/// Rows per batch read from a Parquet file.
const PARQUET_BATCH: usize = 8192;

pub struct Parquet {
    path: String,
    reader: ParquetRecordBatchReader,
    /// Rows read but not yet emitted.
    pending: Option<RecordBatch>,
    /// The file's index of the next row read.
    next_row: u64,
    /// The declared schema, if any.
    schema: Option<SchemaRef>,
    /// Columns whose dropped precision was logged already (once per file).
    logged: BTreeSet<String>,
}

impl Parquet {
    /// Opens `path` past its first `skip` rows. A file that is not there is `Missing`;
    /// one that is not Parquet, is damaged, or has a column the declared schema cannot
    /// read, `Unreadable`.
    pub fn open(path: &str, skip: u64, schema: Option<SchemaRef>) -> Result<Self, Failure> {
        let file = File::open(path).map_err(Failure::io)?;
        let unreadable = |e: parquet::errors::ParquetError| Failure::Unreadable(e.to_string());
        let metadata =
            ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(unreadable)?;
        let metadata = match int96_hint(&metadata) {
            Some(hint) => {
                let options = ArrowReaderOptions::new().with_schema(hint);
                ArrowReaderMetadata::try_new(metadata.metadata().clone(), options)
                    .map_err(unreadable)?
            }
            None => metadata,
        };
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
            .with_batch_size(PARQUET_BATCH)
            .with_offset(usize::try_from(skip).map_err(|e| Failure::Fatal(e.into()))?);
        if let Some(schema) = &schema {
            let roots =
                columns_read(path, builder.schema(), schema).map_err(Failure::Unreadable)?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        Ok(Self {
            path: path.to_string(),
            reader: builder.build().map_err(unreadable)?,
            pending: None,
            next_row: skip,
            schema,
            logged: BTreeSet::new(),
        })
    }

    /// Up to `max` rows: how many were read (emitted or rejected, 0 at the end) and the
    /// rows that fit. A row with a value that does not fit is rejected into `out`.
    pub fn read(
        &mut self,
        max: usize,
        out: &mut Output<'_>,
    ) -> Result<(usize, Option<RecordBatch>), Failure> {
        let batch = match self.pending.take() {
            Some(batch) => batch,
            None => match self.reader.next() {
                Some(Ok(batch)) => batch,
                Some(Err(e)) => return Err(Failure::Unreadable(e.to_string())),
                None => return Ok((0, None)),
            },
        };
        let rows = max.min(batch.num_rows());
        if rows < batch.num_rows() {
            self.pending = Some(batch.slice(rows, batch.num_rows() - rows));
        }
        let batch = batch.slice(0, rows);
        let first = self.next_row;
        self.next_row += rows as u64;
        let batch = match self.schema.clone() {
            Some(schema) => self.conform(&batch, &schema, first, out)?,
            None => batch,
        };
        Ok((rows, Some(batch)))
    }

    /// The declared columns of `batch` (rows `first`… of the file), each value checked;
    /// rows with a value that does not fit are rejected with the row as JSON.
    fn conform(
        &mut self,
        batch: &RecordBatch,
        schema: &SchemaRef,
        first: u64,
        out: &mut Output<'_>,
    ) -> Result<RecordBatch, Failure> {
        let checked = convert_struct("", &StructArray::from(batch.clone()), schema.fields())?;
        if let Some(rounded) = &checked.rounded {
            self.log_rounded(rounded, first);
        }
        for (row, reason) in &checked.misfits {
            let position = format!("{}:row {}", self.path, first + *row as u64);
            out.reject(row_json(batch, *row), reason, position)?;
        }
        let keep: BooleanArray = (0..batch.num_rows())
            .map(|row| Some(!checked.misfits.contains_key(&row)))
            .collect();
        let converted = RecordBatch::from(
            checked
                .array
                .as_any()
                .downcast_ref::<StructArray>()
                .expect("a struct")
                .clone(),
        );
        let kept = filter_record_batch(&converted, &keep).map_err(|e| Failure::Fatal(e.into()))?;
        // Now that the rows that did not fit are gone, the declared NOT NULL fields hold.
        let columns: Vec<ArrayRef> = (schema.fields().iter().zip(kept.columns()))
            .map(|(field, column)| cast(column, field.data_type()))
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::Fatal(e.into()))?;
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| Failure::Fatal(e.into()))
    }

    fn log_rounded(&mut self, rounded: &Rounded, first: u64) {
        if self.logged.insert(rounded.column.clone()) {
            info!(
                "'{}': column '{}' read with less precision ({}), first at row {}",
                self.path,
                rounded.column,
                rounded.note,
                first + rounded.row as u64
            );
        }
    }
}

/// The file's top-level columns the declared schema reads (by name, else by case);
/// declared columns the file lacks are logged, and read as null when nullable.
fn columns_read(
    path: &str,
    file: &Schema,
    declared: &Schema,
) -> std::result::Result<Vec<usize>, String> {
    let mut roots = Vec::new();
    for field in declared.fields() {
        let name = field.name();
        match match_field(file.fields(), name)? {
            Some(i) => {
                let found = file.field(i);
                if found.name() != name {
                    info!("'{path}': column '{}' of the file is read as '{name}' (names match ignoring case)", found.name());
                }
                compatible(name, found.data_type(), field.data_type())?;
                roots.push(i);
            }
            None if field.is_nullable() => {
                info!("'{path}': column '{name}' is not in the file; it is null in every row")
            }
            None => return Err(format!("NOT NULL column '{name}' is not in the file")),
        }
    }
    Ok(roots)
}

/// The file's own schema with every INT96 column as microseconds in UTC (Spark's
/// TIMESTAMP) instead of arrow's default nanoseconds, which overflow outside
/// 1677–2262; `None` when the file has no INT96 column.
fn int96_hint(metadata: &ArrowReaderMetadata) -> Option<SchemaRef> {
    let columns = metadata.metadata().file_metadata().schema_descr().columns();
    let int96: Vec<bool> = (columns.iter())
        .map(|c| c.physical_type() == PhysicalType::INT96)
        .collect();
    if !int96.contains(&true) {
        return None;
    }
    // Arrow's leaves are the file's leaf columns, depth first, in the same order.
    let mut leaf = 0;
    let fields: Fields = (metadata.schema().fields().iter())
        .map(|f| with_micros(f, &int96, &mut leaf))
        .collect();
    Some(Arc::new(Schema::new_with_metadata(
        fields,
        metadata.schema().metadata().clone(),
    )))
}

fn with_micros(field: &FieldRef, int96: &[bool], leaf: &mut usize) -> FieldRef {
    let data_type = micros_type(field.data_type(), int96, leaf);
    Arc::new(
        Field::new(field.name(), data_type, field.is_nullable())
            .with_metadata(field.metadata().clone()),
    )
}

fn micros_type(t: &DataType, int96: &[bool], leaf: &mut usize) -> DataType {
    use DataType::*;
    match t {
        Struct(fields) => Struct(fields.iter().map(|f| with_micros(f, int96, leaf)).collect()),
        List(item) => List(with_micros(item, int96, leaf)),
        LargeList(item) => LargeList(with_micros(item, int96, leaf)),
        FixedSizeList(item, n) => FixedSizeList(with_micros(item, int96, leaf), *n),
        Map(entries, sorted) => Map(with_micros(entries, int96, leaf), *sorted),
        other => {
            let is_int96 = int96.get(*leaf).copied().unwrap_or(false);
            *leaf += 1;
            match is_int96 {
                true => Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false => other.clone(),
            }
        }
    }
}

/// Row `row` of the file's columns as a JSON line: a rejected Parquet row's raw bytes.
fn row_json(batch: &RecordBatch, row: usize) -> Vec<u8> {
    let mut writer = LineDelimitedWriter::new(Vec::new());
    let written = writer
        .write(&batch.slice(row, 1))
        .and_then(|_| writer.finish());
    match written {
        Ok(()) => {
            let mut bytes = writer.into_inner();
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
            bytes
        }
        // Every type has a JSON form; should one not, the reason and position still say it all.
        Err(_) => Vec::new(),
    }
}
