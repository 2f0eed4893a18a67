//! Where a component instance runs, as the host tells it at creation.

use std::sync::atomic::AtomicBool;

use abi_stable::std_types::{ROption, RSlice, RStr};
use abi_stable::StableAbi;

/// Where an instance runs. A prefix type: later versions append fields, and a library
/// built against an older version reads the prefix it knows, while one built against a
/// newer version gets defaults for fields an older host does not send.
///
/// The host leaks one per instance it creates (a few hundred bytes, once per node per
/// run), so every field is a `'static` reference that a plugin may keep.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = NodeContextRef)))]
#[sabi(missing_field(default))]
pub struct NodeContext {
    /// The pipeline's name.
    pub pipeline: RStr<'static>,
    /// The node id from the pipeline file (`[sources.<id>]`).
    pub node: RStr<'static>,
    /// A folder this node may keep files in, under the pipeline's state dir.
    pub state_dir: RStr<'static>,
    /// The names of the node's inputs, by input index: the keys of `inputs = { left =
    /// "a" }`, or the references as written in `inputs = ["a", "b.late"]`.
    pub inputs: RSlice<'static, RStr<'static>>,
    /// The node's output ports that other nodes read.
    pub outputs: RSlice<'static, RStr<'static>>,
    /// The event-time column of the node's input (its output, for a source).
    pub event_time: ROption<RStr<'static>>,
    /// The watermark delay of that event time, in µs.
    pub watermark_delay_us: u64,
    /// How many checkpoints the host keeps; state files referenced by them must stay.
    pub retain_checkpoints: u32,
    /// Each input's schema as a Spark DDL string, where it is known before any data
    /// (`ferry validate` checks column-naming options against it); empty if not.
    pub input_schemas: RSlice<'static, RStr<'static>>,
    /// Set by the host when the pipeline is being torn down: long calls may stop early.
    #[sabi(last_prefix_field)]
    pub cancelled: &'static AtomicBool,
}
