//! The safe side of the plugin boundary: what a plugin author implements and uses.

pub mod bench;
mod context;
pub mod datetime;
pub mod ddl;
pub mod decode;
pub mod defaults;
pub mod duration;
pub mod encode;
mod error;
pub mod event_time;
#[doc(hidden)]
pub mod export;
mod logging;
mod options;
mod output;
pub mod rows;
pub mod size;
pub mod state;
pub mod threads;
mod traits;

pub use crate::abi::{
    RejectPolicy, SourceStatus, StateSize, DEAD_LETTER_PORT, LATE_PORT, MAIN_PORT,
};
pub use context::Context;
pub use error::{Error, ErrorContext, Result};
pub use options::{ascii_char, options_schema, parse_options};
pub use output::{Collected, Emit, Output, Rejected};
pub use traits::{Commit, Component, Restored, Sink, Source, Transform};
