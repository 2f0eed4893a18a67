//! Plain data that crosses the boundary: component descriptors and call results.

use abi_stable::std_types::{RString, RVec};
use abi_stable::StableAbi;

use super::FfiBatch;

/// What a component does in a pipeline.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    Source,
    Transform,
    Sink,
}

/// A component a library provides, as listed by `ferry plugins`.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct ComponentInfo {
    /// The name pipelines use in `plugin = "..."`.
    pub name: RString,
    pub kind: ComponentKind,
    /// The providing crate's version.
    pub version: RString,
    /// One line on what it does.
    pub description: RString,
    /// JSON schema of the component's options.
    pub options_schema: RString,
}

/// Where a component instance runs.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct NodeContext {
    pub pipeline: RString,
    /// The node id from the pipeline file (`[sources.<id>]`).
    pub node: RString,
    /// A folder this node may keep files in, under the pipeline's state dir.
    pub state_dir: RString,
}

/// A record the component could not handle; the host fails the task or dead-letters it.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct BadRecord {
    /// The record as it was read.
    pub raw: RVec<u8>,
    /// Why it was rejected.
    pub reason: RString,
    /// Where it came from, e.g. `data/a.json:17` or `topic/2@1042`.
    pub position: RString,
}

/// What one call produced: batches for downstream and rejected records.
#[repr(C)]
#[derive(StableAbi, Default)]
pub struct Emitted {
    pub batches: RVec<FfiBatch>,
    pub rejected: RVec<BadRecord>,
}

/// Whether a source has more to give.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceStatus {
    /// Poll again right away.
    Ready,
    /// Nothing available now; poll again after the pipeline's trigger interval.
    Idle,
    /// The input is exhausted for good.
    End,
}

/// The result of polling a source.
#[repr(C)]
#[derive(StableAbi)]
pub struct PollResult {
    pub status: SourceStatus,
    pub emitted: Emitted,
}
