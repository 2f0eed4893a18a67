//! Plain data that crosses the boundary: component descriptors, port names and the
//! status of a poll.

use abi_stable::std_types::RString;
use abi_stable::StableAbi;

/// The port every source and transform emits its rows on unless told otherwise:
/// `inputs = ["node"]` reads it, as does `inputs = ["node.out"]`.
pub const MAIN_PORT: &str = "out";
/// The port rejected records leave by, as dead-letter rows (`$dead_letter` is the
/// pipeline-wide union of these ports).
pub const DEAD_LETTER_PORT: &str = "dead_letter";
/// The port a stateful operator sends rows behind its watermark to.
pub const LATE_PORT: &str = "late";
/// The ports every source and transform has, besides those it declares.
pub const BUILT_IN_PORTS: [&str; 3] = [MAIN_PORT, DEAD_LETTER_PORT, LATE_PORT];

/// What a component does in a pipeline.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentKind {
    /// Produces records.
    Source,
    /// Turns batches into batches.
    Transform,
    /// Writes batches out.
    Sink,
}

/// A component a library provides, as listed by `ferry plugins`.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct ComponentInfo {
    /// The name pipelines use in `plugin = "..."`.
    pub name: RString,
    /// Source, transform or sink.
    pub kind: ComponentKind,
    /// The providing crate's version.
    pub version: RString,
    /// One line on what it does.
    pub description: RString,
    /// JSON schema of the component's options.
    pub options_schema: RString,
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

/// What happens to the records an instance rejects.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RejectPolicy {
    /// As the pipeline's `errors.tolerance` says.
    #[default]
    Pipeline,
    /// Fail the task at the first one, whatever the pipeline says (Spark's FAILFAST).
    Fail,
    /// Send them to the dead-letter output, whatever the pipeline says (Spark's
    /// PERMISSIVE and DROPMALFORMED: the row leaves the data, never silently).
    DeadLetter,
}

/// What a stateful node holds, for its progress lines: keys and their encoded bytes.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateSize {
    /// Keys held.
    pub keys: u64,
    /// Their keys' and values' encoded bytes (as written to a checkpoint).
    pub bytes: u64,
}

/// A node's event-time position when its checkpoint was taken, restored with its state.
/// `i64::MIN` stands for "no watermark yet".
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoredWatermarks {
    /// The combined watermark of the node's inputs (µs since the Unix epoch, UTC).
    pub input: i64,
    /// The watermark the node had sent downstream.
    pub output: i64,
}
