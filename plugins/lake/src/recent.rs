//! An open file's rows since the last prepare. A restart needs them only if the file is
//! still open at the next prepare, so they are held in memory (a file that closes first,
//! the usual case with one long checkpoint, never writes its rows twice) until the sink's
//! `checkpoint_buffer` is full; past it they go to a segment as they arrive.

use std::path::Path;

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::sdk::{ErrorContext, Result};

use crate::writer::SegmentWriter;

pub enum Recent {
    /// In memory, with their Arrow size.
    Held {
        batches: Vec<RecordBatch>,
        bytes: usize,
    },
    /// In the segment `name` in staging, being written.
    Spilled {
        name: String,
        writer: Box<SegmentWriter>,
    },
}

impl Recent {
    pub fn new() -> Self {
        Recent::Held {
            batches: Vec::new(),
            bytes: 0,
        }
    }

    /// Bytes held in memory.
    pub fn held(&self) -> usize {
        match self {
            Recent::Held { bytes, .. } => *bytes,
            Recent::Spilled { .. } => 0,
        }
    }

    /// Adds `batch`; returns the bytes this holds in memory more than before.
    pub fn push(&mut self, batch: RecordBatch, staging: &Path) -> Result<usize> {
        match self {
            Recent::Held { batches, bytes } => {
                let size = batch.get_array_memory_size();
                batches.push(batch);
                *bytes += size;
                Ok(size)
            }
            Recent::Spilled { name, writer } => {
                (writer.write(&batch)).with_context(|| writing(staging, name))?;
                Ok(0)
            }
        }
    }

    /// Writes the held rows to a new segment `name` in `staging`, which takes the later
    /// ones too. Does nothing once spilled.
    pub fn spill(&mut self, name: String, staging: &Path, schema: &SchemaRef) -> Result<()> {
        if let Recent::Held { batches, .. } = self {
            let writer = segment(&name, staging, schema, batches)?;
            *self = Recent::Spilled { name, writer };
        }
        Ok(())
    }

    /// The rows in a segment, fsynced (a new one named by `name` if not spilled yet): the
    /// segment's name and rows.
    pub fn seal(
        self,
        name: impl FnOnce() -> String,
        staging: &Path,
        schema: &SchemaRef,
    ) -> Result<(String, u64)> {
        let (name, writer) = match self {
            Recent::Spilled { name, writer } => (name, writer),
            Recent::Held { batches, .. } => {
                let name = name();
                let writer = segment(&name, staging, schema, &batches)?;
                (name, writer)
            }
        };
        let rows = (writer.close())
            .with_context(|| format!("closing {}", staging.join(&name).display()))?;
        Ok((name, rows))
    }

    /// Drops the rows of a file that closes (the file itself holds them now): the
    /// segment written so far, if any, closed and to be deleted.
    pub fn discard(self) -> Option<String> {
        match self {
            Recent::Spilled { name, .. } => Some(name),
            Recent::Held { .. } => None,
        }
    }
}

/// A new segment `name` in `staging`, holding `batches`.
fn segment(
    name: &str,
    staging: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Box<SegmentWriter>> {
    let mut writer = SegmentWriter::create(&staging.join(name), schema)?;
    for batch in batches {
        (writer.write(batch)).with_context(|| writing(staging, name))?;
    }
    Ok(Box::new(writer))
}

fn writing(staging: &Path, name: &str) -> String {
    format!("writing {}", staging.join(name).display())
}
