//! `sql`: a Spark SQL query over each batch of the stream (the table `input`), planned
//! once and executed by DataFusion on Arrow batches; lookup tables for stream-static
//! joins.

mod engine;
mod input;
mod spark;
mod tables;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::rows::row_as_json;
use ferry_plugin_api::sdk::{Component, Context, Error, Output, Result, Transform, MAIN_PORT};
use schemars::JsonSchema;
use serde::Deserialize;

use engine::Engine;
use tables::{TableOptions, Tables};

/// Options of `sql`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlOptions {
    /// The query, reading the stream as `input`: `SELECT ... FROM input WHERE ...`.
    /// Projections, filters, CASE WHEN, casts, string, regex and date functions, joins
    /// with `tables`; nothing that needs state across batches.
    pub query: String,
    /// Lookup tables the query can join, by name: `{ countries = { path = "...",
    /// format = "csv" } }`.
    #[serde(default)]
    pub tables: BTreeMap<String, TableOptions>,
}

pub struct Sql {
    engine: Engine,
    tables: Tables,
}

impl Component for Sql {
    const NAME: &'static str = "sql";
    const DESCRIPTION: &'static str =
        "Spark SQL over each batch (projections, filters, functions, lookup joins), executed by DataFusion.";
    type Options = SqlOptions;

    fn create(o: SqlOptions, ctx: &Context) -> Result<Self> {
        let Some(input) = ctx.input_schema() else {
            return Err(Error::msg(
                "needs its input's schema: read from a source with a declared schema",
            ));
        };
        let mut tables = Tables::new(o.tables)?;
        tables.changed()?;
        let engine = Engine::new(&o.query, input.clone(), &tables)?;
        Ok(Self { engine, tables })
    }

    fn output_schema(&self, port: &str) -> Option<SchemaRef> {
        (port == MAIN_PORT).then(|| self.engine.schema())
    }
}

impl Sql {
    /// A batch the query failed on: its rows one by one, each failing row rejected with
    /// the error (under `errors.tolerance = "none"` the first fails the task).
    fn row_by_row(&self, batch: &RecordBatch, out: &mut Output<'_>) -> Result<()> {
        for i in 0..batch.num_rows() {
            let row = batch.slice(i, 1);
            match self.engine.run(&row) {
                Ok(batches) => batches.into_iter().try_for_each(|b| out.emit(b))?,
                Err(e) => out.reject(row_as_json(batch, i)?, format!("sql: {e}"), "")?,
            }
        }
        Ok(())
    }
}

impl Transform for Sql {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        match self.engine.run(&batch) {
            Ok(batches) => batches.into_iter().try_for_each(|b| out.emit(b)),
            Err(_) => self.row_by_row(&batch, out),
        }
    }

    fn on_barrier(&mut self, _epoch: u64, _out: &mut Output<'_>) -> Result<()> {
        if !self.tables.is_empty() && self.tables.changed()? {
            self.engine.replan(&self.tables)?;
        }
        Ok(())
    }
}

export_plugin! {
    sources: [],
    transforms: [Sql],
    sinks: [],
}
