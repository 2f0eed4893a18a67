//! The traits a plugin author implements, over arrow-rs types.

use std::path::PathBuf;
use std::time::Duration;

use arrow::array::RecordBatch;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::{Result, SourceStatus};

/// Where an instance runs: its pipeline, node id and a folder for its own files.
#[derive(Clone, Debug)]
pub struct Context {
    pub pipeline: String,
    pub node: String,
    pub state_dir: PathBuf,
}

/// A record a component could not handle. Under `errors.tolerance = "none"` it fails the
/// task; under `"all"` it goes to the pipeline's dead-letter output.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    pub raw: Vec<u8>,
    pub reason: String,
    /// Where the record came from, e.g. `data/a.json:17`.
    pub position: String,
}

/// What a call produces: batches for downstream nodes and rejected records.
#[derive(Default, Debug)]
pub struct Output {
    pub(crate) batches: Vec<RecordBatch>,
    pub(crate) rejected: Vec<Rejected>,
}

impl Output {
    /// Sends a batch downstream; empty batches are skipped.
    pub fn emit(&mut self, batch: RecordBatch) {
        if batch.num_rows() > 0 {
            self.batches.push(batch);
        }
    }

    /// Reports a record that could not be handled.
    pub fn reject(
        &mut self,
        raw: impl Into<Vec<u8>>,
        reason: impl Into<String>,
        position: impl Into<String>,
    ) {
        self.rejected.push(Rejected {
            raw: raw.into(),
            reason: reason.into(),
            position: position.into(),
        });
    }

    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    pub fn rejected(&self) -> &[Rejected] {
        &self.rejected
    }
}

/// What [`Sink::commit`] publishes.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    pub epoch: u64,
    /// What [`Sink::prepare`] returned for this epoch.
    pub handle: &'a [u8],
    /// Where each source node stood at this epoch's checkpoint, by node id: its
    /// checkpoint as JSON when it is JSON, else its bytes in base64. For manifests that
    /// record which input an output came from.
    pub sources: &'a serde_json::Map<String, serde_json::Value>,
}

/// What every source, transform and sink has: a name, options and a constructor.
pub trait Component: Sized + Send + 'static {
    /// The name pipelines use in `plugin = "..."`.
    const NAME: &'static str;
    /// One line on what it does, shown by `ferry plugins`.
    const DESCRIPTION: &'static str;
    /// The options, deserialized from the pipeline file. Use
    /// `#[serde(deny_unknown_fields)]` so a misspelt key is an error, and doc comments:
    /// they are the option descriptions `ferry plugins` prints.
    type Options: DeserializeOwned + JsonSchema;

    /// Checks the options and builds the instance. `ferry validate` calls it too, so
    /// keep it quick and free of side effects: connect to brokers or servers on the
    /// first `poll` or `write`, not here.
    fn create(options: Self::Options, ctx: &Context) -> Result<Self>;
}

/// Produces records. Called from one host thread; may block up to `timeout` in `poll`.
pub trait Source: Component {
    /// Resumes from the bytes a previous [`Source::checkpoint`] returned.
    fn restore(&mut self, _state: &[u8]) -> Result<()> {
        Ok(())
    }

    /// Emits up to `max_rows` rows into `out`. Batches emitted with any status, `End`
    /// included, are delivered.
    fn poll(
        &mut self,
        max_rows: usize,
        timeout: Duration,
        out: &mut Output,
    ) -> Result<SourceStatus>;

    /// The position to resume from if the pipeline restarts after this epoch.
    fn checkpoint(&mut self, _epoch: u64) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// The checkpoint of `epoch` is durable: acknowledge upstream, clean up inputs.
    fn commit(&mut self, _epoch: u64) -> Result<()> {
        Ok(())
    }
}

/// Turns batches into batches.
pub trait Transform: Component {
    fn restore(&mut self, _state: &[u8]) -> Result<()> {
        Ok(())
    }

    fn process(&mut self, batch: RecordBatch, out: &mut Output) -> Result<()>;

    /// Event time has passed `watermark` (µs since the Unix epoch, UTC): emit what it
    /// completes, e.g. closed windows.
    fn on_watermark(&mut self, _watermark: i64, _out: &mut Output) -> Result<()> {
        Ok(())
    }

    fn checkpoint(&mut self, _epoch: u64) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

/// Writes batches out, transactionally per epoch.
pub trait Sink: Component {
    fn write(&mut self, batch: RecordBatch) -> Result<()>;

    /// Makes everything written for `epoch` durable but not yet visible, and returns
    /// what [`Sink::commit`] needs to publish it.
    fn prepare(&mut self, _epoch: u64) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// Publishes an epoch. Must be idempotent: after a crash it runs again.
    fn commit(&mut self, _commit: &Commit<'_>) -> Result<()> {
        Ok(())
    }

    /// Discards whatever was staged for `epoch` and any later epoch.
    fn abort(&mut self, _epoch: u64) -> Result<()> {
        Ok(())
    }

    /// The checkpoint of `epoch`, whose [`Sink::prepare`] comes next, is the run's last:
    /// every source ended or the pipeline was asked to stop. A sink that keeps data
    /// unpublished across checkpoints (the lake's open files) closes it in that prepare,
    /// so that its commit makes every row visible. The host cannot announce a crash, so
    /// such data must stay recoverable from the handle anyway.
    fn finishing(&mut self, _epoch: u64) -> Result<()> {
        Ok(())
    }
}
