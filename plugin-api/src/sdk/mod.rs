//! The safe side of the plugin boundary: what a plugin author implements and uses.

pub mod ddl;
pub mod decode;
pub mod defaults;
pub mod duration;
pub mod encode;
mod error;
#[doc(hidden)]
pub mod export;
mod logging;
mod options;
pub mod state;
mod traits;

pub use crate::abi::SourceStatus;
pub use error::{Error, ErrorContext, Result};
pub use options::{options_schema, parse_options};
pub use traits::{Commit, Component, Context, Output, Rejected, Sink, Source, Transform};
