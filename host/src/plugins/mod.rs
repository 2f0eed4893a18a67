//! Plugin libraries: finding and loading them, and calling their components safely.

mod instance;
mod registry;

pub use instance::{Emitted, Polled, Sink, Source, Transform};
pub use registry::{default_plugin_dirs, Component, Registry};
