//! Safe handles on component instances living in a plugin library. Every call returns
//! the plugin's error (or caught panic) as an error; batches cross by the C Data
//! Interface, so nothing allocated on one side is freed on the other. Each direction of
//! an instance is a stream with its own exporter or importer, so the schema crosses only
//! when it changes.

use std::time::Duration;

use abi_stable::std_types::{RResult, RString};
use anyhow::{anyhow, Result};
use arrow::array::RecordBatch;
use ferry_plugin_api::abi::{
    self, BatchExporter, BatchImporter, FfiBatch, SinkBox, SourceBox, SourceStatus, TransformBox,
};
use ferry_plugin_api::sdk::Rejected;

/// Batches and rejected records from one call.
#[derive(Default, Debug)]
pub struct Emitted {
    pub batches: Vec<RecordBatch>,
    pub rejected: Vec<Rejected>,
}

/// The result of polling a source.
#[derive(Debug)]
pub struct Polled {
    pub status: SourceStatus,
    pub emitted: Emitted,
}

fn ok<T>(r: RResult<T, RString>) -> Result<T> {
    r.into_result().map_err(|e| anyhow!("{e}"))
}

fn import(e: abi::Emitted, importer: &mut BatchImporter) -> Result<Emitted> {
    let batches = e
        .batches
        .into_iter()
        .map(|b| {
            importer
                .import(b)
                .map_err(|e| anyhow!("importing a batch from the plugin: {e}"))
        })
        .collect::<Result<_>>()?;
    let rejected = e
        .rejected
        .into_iter()
        .map(|r| Rejected {
            raw: r.raw.into_vec(),
            reason: r.reason.into_string(),
            position: r.position.into_string(),
        })
        .collect();
    Ok(Emitted { batches, rejected })
}

fn export(batch: RecordBatch, exporter: &mut BatchExporter) -> Result<FfiBatch> {
    exporter
        .export(batch)
        .map_err(|e| anyhow!("exporting a batch to the plugin: {e}"))
}

pub struct Source {
    obj: SourceBox,
    from: BatchImporter,
}

impl Source {
    pub(super) fn new(obj: SourceBox) -> Self {
        Self {
            obj,
            from: BatchImporter::default(),
        }
    }

    pub fn restore(&mut self, state: &[u8]) -> Result<()> {
        ok(self.obj.restore(state.into()))
    }

    pub fn poll(&mut self, max_rows: usize, timeout: Duration) -> Result<Polled> {
        let r = ok(self.obj.poll(max_rows as u64, timeout.as_millis() as u64))?;
        Ok(Polled {
            status: r.status,
            emitted: import(r.emitted, &mut self.from)?,
        })
    }

    pub fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        ok(self.obj.checkpoint(epoch)).map(|v| v.into_vec())
    }

    pub fn commit(&mut self, epoch: u64) -> Result<()> {
        ok(self.obj.commit(epoch))
    }
}

pub struct Transform {
    obj: TransformBox,
    to: BatchExporter,
    from: BatchImporter,
}

impl Transform {
    pub(super) fn new(obj: TransformBox) -> Self {
        Self {
            obj,
            to: BatchExporter::default(),
            from: BatchImporter::default(),
        }
    }

    pub fn restore(&mut self, state: &[u8]) -> Result<()> {
        ok(self.obj.restore(state.into()))
    }

    pub fn process(&mut self, batch: RecordBatch) -> Result<Emitted> {
        let batch = export(batch, &mut self.to)?;
        import(ok(self.obj.process(batch))?, &mut self.from)
    }

    pub fn on_watermark(&mut self, watermark: i64) -> Result<Emitted> {
        import(ok(self.obj.on_watermark(watermark))?, &mut self.from)
    }

    pub fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        ok(self.obj.checkpoint(epoch)).map(|v| v.into_vec())
    }
}

pub struct Sink {
    obj: SinkBox,
    to: BatchExporter,
}

impl Sink {
    pub(super) fn new(obj: SinkBox) -> Self {
        Self {
            obj,
            to: BatchExporter::default(),
        }
    }

    pub fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let batch = export(batch, &mut self.to)?;
        ok(self.obj.write(batch))
    }

    pub fn prepare(&mut self, epoch: u64) -> Result<Vec<u8>> {
        ok(self.obj.prepare(epoch)).map(|v| v.into_vec())
    }

    pub fn commit(&mut self, epoch: u64, handle: &[u8], sources_json: &str) -> Result<()> {
        ok(self.obj.commit(epoch, handle.into(), sources_json.into()))
    }

    pub fn abort(&mut self, epoch: u64) -> Result<()> {
        ok(self.obj.abort(epoch))
    }

    pub fn finishing(&mut self, epoch: u64) -> Result<()> {
        ok(self.obj.finishing(epoch))
    }
}
