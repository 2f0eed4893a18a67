//! Spark SQL in a pipeline, executed by DataFusion on Arrow batches: `sql` runs a query
//! over each batch of the stream (with lookup tables for stream-static joins); `route`
//! sends each row to the output ports whose SQL predicate it matches.

mod engine;
mod from_json;
mod input;
mod route;
mod spark;
mod sql;
mod tables;
#[cfg(test)]
mod tests;

use ferry_plugin_api::export_plugin;

pub use route::{Route, RouteOptions};
pub use sql::{Sql, SqlOptions};

export_plugin! {
    sources: [],
    transforms: [Sql, Route],
    sinks: [],
}
