//! `ferry-plugin-api` 0.1, pruned: the ABI types as they were, and just enough of the
//! SDK for a plugin to export a 0.1 root module. Nothing here is meant to run: a library
//! built against it must be refused by a ferry on a later ABI.

pub mod abi;
pub mod sdk;

pub use abi_stable;
