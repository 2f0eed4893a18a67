//! The host's side of a call's output: a trait object the host implements and passes to
//! every call that can produce something. Batches, rejected records and watermarks go
//! through it one at a time, so no container of results crosses the boundary and new
//! kinds of output are new methods (after `last_prefix_field`), not a new layout.

// `#[sabi_trait]` expands to impls the non_local_definitions lint flags; they are sound.
#![allow(non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::sabi_types::RMut;
use abi_stable::std_types::{RResult, RSlice, RStr, RString};

use super::FfiBatch;

/// What a component hands to the host during a call.
#[sabi_trait]
pub trait OutputObject {
    /// A batch on the output port `port` (a built-in port or one the component declared).
    /// An error means the host cannot take it: the call should return it.
    fn emit(&mut self, port: RStr<'_>, batch: FfiBatch) -> RResult<(), RString>;

    /// A record the component could not handle: its exact bytes, why, and where it came
    /// from (e.g. `data/a.json:17`). An error means the pipeline does not tolerate bad
    /// records: the call should stop and return it.
    fn reject(
        &mut self,
        raw: RSlice<'_, u8>,
        reason: RStr<'_>,
        position: RStr<'_>,
    ) -> RResult<(), RString>;

    /// The component's own output watermark (µs since the Unix epoch, UTC): a source
    /// that tracks event time itself, or an operator holding its output back.
    #[sabi(last_prefix_field)]
    fn watermark(&mut self, watermark: i64);
}

/// The output handle a call receives.
pub type HostOutput<'a> = OutputObject_TO<'a, RMut<'a, ()>>;
