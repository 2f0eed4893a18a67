//! Plugin libraries: finding and loading them, and calling their components safely.

mod instance;
mod output;
mod ports;
mod registry;

pub use instance::{Instance, Polled, SinkInstance, SourceInstance, TransformInstance};
pub use output::{Emitted, RejectedRecord};
pub use ports::{Ports, DEAD_LETTER, LATE, OUT};
pub use registry::{default_plugin_dirs, NodeSetup, Registered, Registry};
