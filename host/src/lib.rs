//! The ferry worker: reads pipeline files, loads plugin libraries and runs pipelines
//! with exactly-once checkpoints.

pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod graph;
pub mod listing;
pub mod plugins;
pub mod query;
pub mod runtime;
pub mod validate;
