//! `ferry-plugin-api`: the contract between the ferry host and its plugins.
//!
//! - [`abi`]: the checked FFI types (abi_stable control plane, Arrow C Data Interface
//!   data plane). The host uses them; plugin authors do not need to.
//! - [`sdk`]: safe traits over arrow-rs types, option parsing, schema and duration
//!   helpers, and the [`export_plugin!`] macro that turns a crate into a plugin library.
//!
//! A plugin crate depends on this crate alone: the crates its code and derives need are
//! re-exported here.

#![deny(missing_docs)]

pub mod abi;
pub mod sdk;

pub use abi_stable;
pub use arrow;
pub use log;
pub use schemars;
pub use serde;
pub use serde_json;
