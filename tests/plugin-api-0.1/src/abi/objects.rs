//! FFI-safe trait objects for component instances (`#[sabi_trait]`).
//!
//! Errors cross as messages. Methods after `last_prefix_field` may be added in later
//! versions without breaking libraries built against this one.

// `#[sabi_trait]` expands to impls the non_local_definitions lint flags; they are sound.
#![allow(non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RResult, RSlice, RStr, RString, RVec};

use super::{Emitted, FfiBatch, PollResult};

#[sabi_trait]
pub trait SourceObject: Send {
    /// Resumes from the state a previous `checkpoint` returned.
    fn restore(&mut self, state: RSlice<'_, u8>) -> RResult<(), RString>;
    fn poll(&mut self, max_rows: u64, timeout_ms: u64) -> RResult<PollResult, RString>;
    fn checkpoint(&mut self, epoch: u64) -> RResult<RVec<u8>, RString>;
    /// The checkpoint of `epoch` is durable.
    #[sabi(last_prefix_field)]
    fn commit(&mut self, epoch: u64) -> RResult<(), RString>;
}

#[sabi_trait]
pub trait TransformObject: Send {
    fn restore(&mut self, state: RSlice<'_, u8>) -> RResult<(), RString>;
    fn process(&mut self, batch: FfiBatch) -> RResult<Emitted, RString>;
    /// Event time has reached `watermark` (µs since the epoch, UTC).
    fn on_watermark(&mut self, watermark: i64) -> RResult<Emitted, RString>;
    #[sabi(last_prefix_field)]
    fn checkpoint(&mut self, epoch: u64) -> RResult<RVec<u8>, RString>;
}

#[sabi_trait]
pub trait SinkObject: Send {
    fn write(&mut self, batch: FfiBatch) -> RResult<(), RString>;
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
    /// open across checkpoints. Part of the prefix, so a library built before it is
    /// refused at load instead of failing at the end of a run.
    #[sabi(last_prefix_field)]
    fn finishing(&mut self, epoch: u64) -> RResult<(), RString>;
}

pub type SourceBox = SourceObject_TO<'static, RBox<()>>;
pub type TransformBox = TransformObject_TO<'static, RBox<()>>;
pub type SinkBox = SinkObject_TO<'static, RBox<()>>;
