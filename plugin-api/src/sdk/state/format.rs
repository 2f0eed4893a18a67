//! The Arrow IPC layout of a state file, and its writer and reader.
//!
//! Columns: `key_group UInt16`, `key Binary`, `value Binary` (null = tombstone: the key
//! was removed). Rows are sorted by key group, and batches break at key-group boundaries
//! once they reach [`BATCH_BYTES`], so a reader that owns some groups can skip the rest.
//! The schema metadata records the format version, kind, epoch and key-group count.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayBuilder, BinaryArray, BinaryBuilder, UInt16Array, UInt16Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use arrow::record_batch::RecordBatch;

use super::files::{open_verified, FileRef, Kind, Out};
use crate::sdk::{Error, ErrorContext, Result};

/// Version of the file layout and of the handle; bumped on any incompatible change.
pub(super) const FORMAT_VERSION: u32 = 1;

/// A batch is closed at the next key-group boundary once it holds this many bytes.
const BATCH_BYTES: usize = 1 << 20;

fn schema(kind: Kind, epoch: u64, key_groups: u16) -> Schema {
    let metadata = HashMap::from([
        ("ferry.state.format".to_owned(), FORMAT_VERSION.to_string()),
        ("ferry.state.kind".to_owned(), kind.label().to_owned()),
        ("ferry.state.epoch".to_owned(), epoch.to_string()),
        ("ferry.state.key_groups".to_owned(), key_groups.to_string()),
    ]);
    Schema::new(vec![
        Field::new("key_group", DataType::UInt16, false),
        Field::new("key", DataType::Binary, false),
        Field::new("value", DataType::Binary, true),
    ])
    .with_metadata(metadata)
}

/// Appends rows, in key-group order, to a state file being written.
pub(super) struct RowWriter {
    writer: FileWriter<Out>,
    schema: SchemaRef,
    groups: UInt16Builder,
    keys: BinaryBuilder,
    values: BinaryBuilder,
    pending: usize,
    last_group: u16,
}

impl RowWriter {
    pub fn new(out: Out, kind: Kind, epoch: u64, key_groups: u16) -> Result<Self> {
        let schema = Arc::new(schema(kind, epoch, key_groups));
        Ok(Self {
            writer: FileWriter::try_new(out, &schema)?,
            schema,
            groups: UInt16Builder::new(),
            keys: BinaryBuilder::new(),
            values: BinaryBuilder::new(),
            pending: 0,
            last_group: 0,
        })
    }

    /// Adds one row; `value` `None` is a tombstone. Groups must not decrease.
    pub fn push(&mut self, group: u16, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        debug_assert!(group >= self.last_group, "rows out of key-group order");
        if group != self.last_group && self.pending >= BATCH_BYTES {
            self.flush()?;
        }
        self.last_group = group;
        self.groups.append_value(group);
        self.keys.append_value(key);
        self.values.append_option(value);
        self.pending += key.len() + value.map_or(0, <[u8]>::len) + 2;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.groups.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            self.schema.clone(),
            vec![
                Arc::new(self.groups.finish()),
                Arc::new(self.keys.finish()),
                Arc::new(self.values.finish()),
            ],
        )?;
        self.writer.write(&batch)?;
        self.pending = 0;
        Ok(())
    }

    /// Writes the last batch and the IPC footer, and gives the output back to be synced.
    pub fn finish(mut self) -> Result<Out> {
        self.flush()?;
        self.writer.finish()?;
        Ok(self.writer.into_inner()?)
    }
}

/// Reads a state file's rows in order, checking its layout as it goes.
pub(super) struct RowReader {
    path: PathBuf,
    reader: FileReader<BufReader<File>>,
    batch: Option<(UInt16Array, BinaryArray, BinaryArray)>,
    row: usize,
    last_group: u16,
    key_groups: u16,
}

impl RowReader {
    /// Opens `dir/<file>` after checking its length, checksum and schema.
    pub fn open(dir: &Path, file: &FileRef, key_groups: u16) -> Result<Self> {
        let (path, opened) = open_verified(dir, file)?;
        let reader = FileReader::try_new_buffered(opened, None)
            .with_context(|| format!("reading state file {}", path.display()))?;
        check_schema(&reader.schema(), key_groups)
            .with_context(|| format!("state file {}", path.display()))?;
        Ok(Self {
            path,
            reader,
            batch: None,
            row: 0,
            last_group: 0,
            key_groups,
        })
    }

    /// Calls `f` on every row, in order.
    pub fn for_each(
        &mut self,
        mut f: impl FnMut(u16, &[u8], Option<&[u8]>) -> Result<()>,
    ) -> Result<()> {
        while let Some(group) = self.peek_group()? {
            self.take_row(|key, value| f(group, key, value))?;
        }
        Ok(())
    }

    /// Calls `f` on the rows of key group `group`; groups must be asked for in order.
    pub fn for_each_in_group(
        &mut self,
        group: u16,
        mut f: impl FnMut(&[u8], Option<&[u8]>) -> Result<()>,
    ) -> Result<()> {
        while self.peek_group()? == Some(group) {
            self.take_row(&mut f)?;
        }
        Ok(())
    }

    /// The key group of the next row, loading the next batch when needed.
    fn peek_group(&mut self) -> Result<Option<u16>> {
        loop {
            if let Some((groups, _, _)) = &self.batch {
                if self.row < groups.len() {
                    return self.checked_group(groups.value(self.row)).map(Some);
                }
            }
            match self.reader.next() {
                None => return Ok(None),
                Some(batch) => {
                    let batch = batch.with_context(|| self.what())?;
                    self.batch = Some(columns(&batch).with_context(|| self.what())?);
                    self.row = 0;
                }
            }
        }
    }

    fn checked_group(&mut self, group: u16) -> Result<u16> {
        if group >= self.key_groups || group < self.last_group {
            return Err(Error::msg(format!(
                "{}: row with key group {group} out of order or range (after {}, of {})",
                self.what(),
                self.last_group,
                self.key_groups
            )));
        }
        self.last_group = group;
        Ok(group)
    }

    /// Hands the current row to `f` and moves past it; only called after `peek_group`.
    fn take_row(&mut self, f: impl FnOnce(&[u8], Option<&[u8]>) -> Result<()>) -> Result<()> {
        let Some((_, keys, values)) = &self.batch else {
            return Ok(());
        };
        let row = self.row;
        if keys.is_null(row) {
            return Err(Error::msg(format!("{}: null key", self.what())));
        }
        let value = (!values.is_null(row)).then(|| values.value(row));
        f(keys.value(row), value).with_context(|| self.what())?;
        self.row += 1;
        Ok(())
    }

    fn what(&self) -> String {
        format!("reading state file {}", self.path.display())
    }
}

fn check_schema(schema: &Schema, key_groups: u16) -> Result<()> {
    let expected = ["key_group", "key", "value"];
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if names != expected {
        return Err(Error::msg(format!(
            "columns {names:?}, expected {expected:?}"
        )));
    }
    let meta = |k: &str| schema.metadata().get(k).map(String::as_str);
    if meta("ferry.state.format") != Some(&FORMAT_VERSION.to_string()) {
        return Err(Error::msg(format!(
            "format version {:?}, this build reads {FORMAT_VERSION}",
            meta("ferry.state.format")
        )));
    }
    if meta("ferry.state.key_groups") != Some(&key_groups.to_string()) {
        return Err(Error::msg(format!(
            "written with {:?} key groups, the table has {key_groups}",
            meta("ferry.state.key_groups")
        )));
    }
    Ok(())
}

fn columns(batch: &RecordBatch) -> Result<(UInt16Array, BinaryArray, BinaryArray)> {
    let column = |i: usize| batch.column(i).as_any();
    let bad = || Error::msg("column types differ from key_group UInt16, key/value Binary");
    Ok((
        column(0)
            .downcast_ref::<UInt16Array>()
            .ok_or_else(bad)?
            .clone(),
        column(1)
            .downcast_ref::<BinaryArray>()
            .ok_or_else(bad)?
            .clone(),
        column(2)
            .downcast_ref::<BinaryArray>()
            .ok_or_else(bad)?
            .clone(),
    ))
}
