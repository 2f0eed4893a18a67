//! The checked FFI types between the host and a plugin library (abi_stable), at ABI 0.1.

mod batch;
mod component;
mod module;
mod objects;

pub use batch::FfiBatch;
pub use component::{
    BadRecord, ComponentInfo, ComponentKind, Emitted, NodeContext, PollResult, SourceStatus,
};
pub use module::{HostLogger, LogLevel, PluginModule, PluginModuleRef, ROOT_MODULE_LOADER_NAME};
pub use objects::{
    SinkBox, SinkObject, SinkObject_TO, SourceBox, SourceObject, SourceObject_TO, TransformBox,
    TransformObject, TransformObject_TO,
};
