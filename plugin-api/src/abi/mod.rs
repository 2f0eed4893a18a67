//! The checked FFI types between the host and a plugin library (abi_stable).
//!
//! Plugin authors never use this module directly: the [`crate::sdk`] wraps it.

mod batch;
mod component;
mod context;
mod module;
mod objects;
mod output;

pub use batch::{BatchExporter, BatchImporter, FfiBatch};
pub use component::{
    ComponentInfo, ComponentKind, RejectPolicy, RestoredWatermarks, SourceStatus, StateSize,
    BUILT_IN_PORTS, DEAD_LETTER_PORT, LATE_PORT, MAIN_PORT,
};
pub use context::{NodeContext, NodeContextRef};
pub use module::{HostLogger, LogLevel, PluginModule, PluginModuleRef, ROOT_MODULE_LOADER_NAME};
pub use objects::{
    SinkBox, SinkObject, SinkObject_TO, SourceBox, SourceObject, SourceObject_TO, TransformBox,
    TransformObject, TransformObject_TO,
};
pub use output::{HostOutput, OutputObject, OutputObject_TO};
