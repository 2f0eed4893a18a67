//! The traits a plugin author implements, over arrow-rs types.

use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::{Context, Output, RejectPolicy, Result, SourceStatus, StateSize};

/// What [`Sink::commit`] publishes.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    /// The epoch whose checkpoint is durable.
    pub epoch: u64,
    /// What [`Sink::prepare`] returned for this epoch.
    pub handle: &'a [u8],
    /// Where each source node stood at this epoch's checkpoint, by node id: its
    /// checkpoint as JSON when it is JSON, else its bytes in base64. For manifests that
    /// record which input an output came from.
    pub sources: &'a serde_json::Map<String, serde_json::Value>,
}

/// What a restarted instance resumes from: the checkpoint of `epoch`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Restored<'a> {
    /// The checkpoint's epoch; the next barrier is `epoch + 1`.
    pub epoch: u64,
    /// What the instance's `checkpoint` returned then.
    pub state: &'a [u8],
    /// The combined watermark of its inputs then (µs, UTC), if any.
    pub input_watermark: Option<i64>,
    /// The watermark it had sent downstream then, if any.
    pub output_watermark: Option<i64>,
}

impl<'a> Restored<'a> {
    /// A restore point, for tests and tools that drive a component directly.
    pub fn new(epoch: u64, state: &'a [u8]) -> Self {
        Self {
            epoch,
            state,
            input_watermark: None,
            output_watermark: None,
        }
    }
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

    /// Output ports besides the built-in `out`, `dead_letter` and `late`, e.g. one per
    /// route; `ferry validate` refuses `inputs = ["node.port"]` for any other port.
    fn output_ports(&self) -> Vec<String> {
        Vec::new()
    }

    /// What happens to the records it rejects: by default what the pipeline's
    /// `errors.tolerance` says; a source may follow its own option (Spark's `mode`).
    fn reject_policy(&self) -> RejectPolicy {
        RejectPolicy::Pipeline
    }

    /// The schema of the rows it emits on `port`, if known before any data (a source's
    /// declared schema, a transform's derived from `ctx.input_schemas`). `ferry validate`
    /// hands it to the nodes downstream, which check their column options against it.
    fn output_schema(&self, _port: &str) -> Option<SchemaRef> {
        None
    }
}

/// Produces records. Called from one host thread; may block up to `timeout` in `poll`.
pub trait Source: Component {
    /// Resumes from the bytes a previous [`Source::checkpoint`] returned.
    fn restore(&mut self, _restored: &Restored<'_>) -> Result<()> {
        Ok(())
    }

    /// Whether it sets its own watermark with `out.watermark(..)` (per partition, say)
    /// instead of the host deriving one from the maximum of its rows' `event_time`. Until
    /// such a source sets one, the node has no watermark.
    fn supplies_watermarks(&self) -> bool {
        false
    }

    /// Emits up to `max_rows` rows into `out`. Batches emitted with any status, `End`
    /// included, are delivered.
    fn poll(
        &mut self,
        max_rows: usize,
        timeout: Duration,
        out: &mut Output<'_>,
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

/// Turns batches into batches, with state and event time if it needs them.
///
/// The host calls, on one thread: `process` for each batch; `on_watermark` when the
/// combined watermark of the inputs moves (only just before a barrier, so the answer
/// does not depend on how input was batched); at each checkpoint `on_barrier` and then
/// `checkpoint`; `commit` once that checkpoint is durable; `abort` when the pipeline is
/// torn down before that.
pub trait Transform: Component {
    /// Resumes from the checkpoint of `restored.epoch`.
    fn restore(&mut self, _restored: &Restored<'_>) -> Result<()> {
        Ok(())
    }

    /// Handles a batch from the input named `input` (one of `ctx.inputs`).
    fn process(&mut self, input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()>;

    /// Event time has passed `watermark` (µs since the Unix epoch, UTC): emit what it
    /// completes, e.g. closed windows, and set the output watermark. By default the
    /// watermark passes through; an operator whose output runs behind its input (a
    /// window, a join) sets its own, so that the next operator does not see it as late.
    fn on_watermark(&mut self, watermark: i64, out: &mut Output<'_>) -> Result<()> {
        out.watermark(watermark);
        Ok(())
    }

    /// Barrier `epoch` has arrived on every input and the snapshot comes next: emit
    /// what belongs to this epoch (Spark's per-trigger output, `update` mode).
    fn on_barrier(&mut self, _epoch: u64, _out: &mut Output<'_>) -> Result<()> {
        Ok(())
    }

    /// The state to resume from if the pipeline restarts after this epoch. Keep it
    /// small: large state belongs in the SDK's `state` tables, whose handles go here.
    fn checkpoint(&mut self, _epoch: u64) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// The checkpoint of `epoch` is durable.
    fn commit(&mut self, _epoch: u64) -> Result<()> {
        Ok(())
    }

    /// The pipeline is being torn down before `epoch` was checkpointed: a restart
    /// resumes from the last durable checkpoint instead.
    fn abort(&mut self, _epoch: u64) -> Result<()> {
        Ok(())
    }

    /// What it holds in state (keys and their encoded bytes), shown in the node's
    /// progress lines and summary; asked after each checkpoint. A [`KeyedState`]'s
    /// [`size`](crate::sdk::state::KeyedState::size) gives it.
    ///
    /// [`KeyedState`]: crate::sdk::state::KeyedState
    fn state_size(&self) -> StateSize {
        StateSize::default()
    }
}

/// Writes batches out, transactionally per epoch.
pub trait Sink: Component {
    /// Writes a batch from the input named `input` (one of `ctx.inputs`).
    fn write(&mut self, input: &str, batch: RecordBatch) -> Result<()>;

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
