//! The `sql` transform: the query's rows for each batch.

use std::collections::BTreeMap;

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::sdk::{Component, Context, Output, Result, Transform, MAIN_PORT};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::engine::Engine;
use crate::tables::{TableOptions, Tables};

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
        let input = ctx.require_input_schema()?;
        let mut tables = Tables::new(o.tables)?;
        tables.changed()?;
        let engine = Engine::new(&o.query, input, &tables)?;
        Ok(Self { engine, tables })
    }

    fn output_schema(&self, port: &str) -> Option<SchemaRef> {
        (port == MAIN_PORT).then(|| self.engine.schema())
    }
}

impl Transform for Sql {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let mut emit = |_: &RecordBatch, rows: Vec<RecordBatch>, out: &mut Output<'_>| {
            rows.into_iter().try_for_each(|b| out.emit(b))
        };
        self.engine.run_or_reject(&batch, out, &mut emit)
    }

    fn on_barrier(&mut self, _epoch: u64, _out: &mut Output<'_>) -> Result<()> {
        if !self.tables.is_empty() && self.tables.changed()? {
            self.engine.replan(&self.tables)?;
        }
        Ok(())
    }
}
