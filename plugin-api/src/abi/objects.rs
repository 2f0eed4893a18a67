//! FFI-safe trait objects for component instances (`#[sabi_trait]`).
//!
//! Errors cross as messages. Methods after `last_prefix_field` may be added in later
//! versions without breaking libraries built against this one.

// `#[sabi_trait]` expands to impls the non_local_definitions lint flags; they are sound.
#![allow(non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RResult, RSlice, RStr, RString, RVec};

use super::{FfiBatch, HostOutput, RejectPolicy, RestoredWatermarks, SourceStatus, StateSize};

/// A source instance.
#[sabi_trait]
pub trait SourceObject: Send {
    /// Output ports besides the built-in ones.
    fn output_ports(&self) -> RVec<RString>;
    /// What happens to the records it rejects.
    fn reject_policy(&self) -> RejectPolicy;
    /// The schema of a port's rows as Spark DDL, if known before any data; else empty.
    fn output_schema(&self, port: RStr<'_>) -> RString;
    /// Whether it sets its own watermark rather than the host deriving one from its rows.
    fn supplies_watermarks(&self) -> bool;
    /// Resumes from the state the checkpoint of `epoch` holds.
    fn restore(
        &mut self,
        epoch: u64,
        state: RSlice<'_, u8>,
        watermarks: RestoredWatermarks,
    ) -> RResult<(), RString>;
    /// Emits up to `max_rows` rows, waiting at most `timeout_ms` for them.
    fn poll(
        &mut self,
        max_rows: u64,
        timeout_ms: u64,
        out: HostOutput<'_>,
    ) -> RResult<SourceStatus, RString>;
    /// The position to resume from after `epoch`.
    fn checkpoint(&mut self, epoch: u64) -> RResult<RVec<u8>, RString>;
    /// The checkpoint of `epoch` is durable.
    #[sabi(last_prefix_field)]
    fn commit(&mut self, epoch: u64) -> RResult<(), RString>;
}

/// A transform instance.
#[sabi_trait]
pub trait TransformObject: Send {
    /// Output ports besides the built-in ones.
    fn output_ports(&self) -> RVec<RString>;
    /// What happens to the records it rejects.
    fn reject_policy(&self) -> RejectPolicy;
    /// The schema of a port's rows as Spark DDL, if known before any data; else empty.
    fn output_schema(&self, port: RStr<'_>) -> RString;
    /// Resumes from the state the checkpoint of `epoch` holds.
    fn restore(
        &mut self,
        epoch: u64,
        state: RSlice<'_, u8>,
        watermarks: RestoredWatermarks,
    ) -> RResult<(), RString>;
    /// A batch from input `input` (an index into the context's inputs).
    fn process(&mut self, input: u32, batch: FfiBatch, out: HostOutput<'_>)
        -> RResult<(), RString>;
    /// The combined watermark of the inputs moved to `watermark` (µs, UTC).
    fn on_watermark(&mut self, watermark: i64, out: HostOutput<'_>) -> RResult<(), RString>;
    /// Barrier `epoch` has arrived on every input; the snapshot comes next.
    fn on_barrier(&mut self, epoch: u64, out: HostOutput<'_>) -> RResult<(), RString>;
    /// The state to resume from after `epoch`.
    fn checkpoint(&mut self, epoch: u64) -> RResult<RVec<u8>, RString>;
    /// The checkpoint of `epoch` is durable.
    fn commit(&mut self, epoch: u64) -> RResult<(), RString>;
    /// The pipeline is being torn down; nothing after the last committed epoch counts.
    #[sabi(last_prefix_field)]
    fn abort(&mut self, epoch: u64) -> RResult<(), RString>;
    /// What it holds in state, asked after each checkpoint. Added after the 0.2 prefix:
    /// for a library built before it, abi_stable calls this default (no state).
    fn state_size(&self) -> StateSize {
        StateSize::default()
    }
}

/// A sink instance.
#[sabi_trait]
pub trait SinkObject: Send {
    /// A batch from input `input` (an index into the context's inputs).
    fn write(&mut self, input: u32, batch: FfiBatch) -> RResult<(), RString>;
    /// Makes everything written for `epoch` durable but invisible; returns a commit handle.
    fn prepare(&mut self, epoch: u64) -> RResult<RVec<u8>, RString>;
    /// Publishes `epoch`; idempotent, as it is re-run after a crash. `sources_json` maps
    /// each source node to its position at this epoch's checkpoint.
    fn commit(
        &mut self,
        epoch: u64,
        handle: RSlice<'_, u8>,
        sources_json: RStr<'_>,
    ) -> RResult<(), RString>;
    /// Discards whatever was staged for `epoch` and any later epoch.
    fn abort(&mut self, epoch: u64) -> RResult<(), RString>;
    /// The next `prepare(epoch)` is the run's last checkpoint: close whatever is kept
    /// open across checkpoints.
    #[sabi(last_prefix_field)]
    fn finishing(&mut self, epoch: u64) -> RResult<(), RString>;
}

/// A boxed source instance.
pub type SourceBox = SourceObject_TO<'static, RBox<()>>;
/// A boxed transform instance.
pub type TransformBox = TransformObject_TO<'static, RBox<()>>;
/// A boxed sink instance.
pub type SinkBox = SinkObject_TO<'static, RBox<()>>;
