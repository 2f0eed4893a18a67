//! The `route` transform: each row to the output ports whose SQL predicate it matches,
//! the rows no route takes to `_unmatched`, so none vanish.

use std::collections::BTreeMap;

use ferry_plugin_api::abi::BUILT_IN_PORTS;
use ferry_plugin_api::arrow::array::{AsArray, BooleanArray, RecordBatch};
use ferry_plugin_api::arrow::compute::kernels::boolean::{and, and_not, or};
use ferry_plugin_api::arrow::compute::{concat_batches, filter_record_batch};
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::sdk::{Component, Context, Error, Output, Result, Transform};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::engine::Engine;
use crate::tables::Tables;

/// The port of the rows no route takes.
pub const UNMATCHED: &str = "_unmatched";

/// Options of `route`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteOptions {
    /// Output port → SQL predicate over the input's columns: `{ corrupted = "event_type
    /// IS NULL", valid = "true" }`. Each name is a port (`inputs = ["split.valid"]`). A
    /// predicate that is NULL for a row does not match it.
    pub routes: BTreeMap<String, String>,
    /// "first": each row goes to the first route it matches, tried in `order`; "all":
    /// to every route it matches.
    #[serde(default)]
    pub mode: RouteMode,
    /// The order "first" tries the routes in. Default: by name (a pipeline file's
    /// tables have no order).
    #[serde(default)]
    pub order: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    #[default]
    First,
    All,
}

pub struct Route {
    /// Port names, in the order tried.
    ports: Vec<String>,
    mode: RouteMode,
    /// One boolean column per port.
    engine: Engine,
    input: SchemaRef,
}

impl Component for Route {
    const NAME: &'static str = "route";
    const DESCRIPTION: &'static str =
        "Sends each row to the output ports whose SQL predicate it matches; the rest to _unmatched.";
    type Options = RouteOptions;

    fn create(o: RouteOptions, ctx: &Context) -> Result<Self> {
        let input = ctx.require_input_schema()?;
        let ports = ordered(&o)?;
        let flags: Vec<String> = (ports.iter().enumerate())
            .map(|(i, port)| format!("coalesce(({}), false) AS r{i}", o.routes[port]))
            .collect();
        let query = format!("SELECT {} FROM input", flags.join(", "));
        let engine = Engine::new(&query, input.clone(), &Tables::new(BTreeMap::new())?)
            .map_err(|e| Error::msg(format!("routes: {e}")))?;
        Ok(Self {
            ports,
            mode: o.mode,
            engine,
            input,
        })
    }

    fn output_ports(&self) -> Vec<String> {
        let mut ports = self.ports.clone();
        ports.push(UNMATCHED.to_string());
        ports
    }

    /// Every port carries the input's rows as they are.
    fn output_schema(&self, _port: &str) -> Option<SchemaRef> {
        Some(self.input.clone())
    }
}

/// The route names in the order tried, checked.
fn ordered(o: &RouteOptions) -> Result<Vec<String>> {
    if o.routes.is_empty() {
        return Err(Error::msg("routes: give at least one route"));
    }
    if let Some(name) =
        (o.routes.keys()).find(|n| BUILT_IN_PORTS.contains(&n.as_str()) || *n == UNMATCHED)
    {
        return Err(Error::msg(format!(
            "routes: '{name}' is a port every node has; name the route otherwise"
        )));
    }
    let mut ports = o.order.clone();
    for name in &ports {
        if !o.routes.contains_key(name) {
            return Err(Error::msg(format!(
                "order: '{name}' is not one of the routes"
            )));
        }
    }
    ports.extend(o.routes.keys().filter(|n| !o.order.contains(n)).cloned());
    Ok(ports)
}

impl Route {
    /// Sends `rows` on by the query's `flags` for them.
    fn route(
        &self,
        rows: &RecordBatch,
        flags: Vec<RecordBatch>,
        out: &mut Output<'_>,
    ) -> Result<()> {
        let flags = concat_batches(&self.engine.schema(), &flags)?;
        let mut left = BooleanArray::from(vec![true; rows.num_rows()]);
        for (i, port) in self.ports.iter().enumerate() {
            let matches = flags.column(i).as_boolean();
            let taken = match self.mode {
                RouteMode::First => and(matches, &left)?,
                RouteMode::All => matches.clone(),
            };
            left = and_not(&left, matches)?;
            send(out, port, rows, &taken)?;
        }
        let unmatched = match self.mode {
            RouteMode::First => left,
            RouteMode::All => {
                let columns =
                    (0..flags.num_columns()).map(|i| flags.column(i).as_boolean().clone());
                let any = columns.reduce(|a, b| or(&a, &b).expect("same length"));
                ferry_plugin_api::arrow::compute::not(&any.expect("one route at least"))?
            }
        };
        send(out, UNMATCHED, rows, &unmatched)
    }
}

fn send(out: &mut Output<'_>, port: &str, rows: &RecordBatch, mask: &BooleanArray) -> Result<()> {
    let chosen = filter_record_batch(rows, mask)?;
    match chosen.num_rows() {
        0 => Ok(()),
        _ => out.emit_to(port, chosen),
    }
}

impl Transform for Route {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let mut route =
            |rows: &RecordBatch, flags, out: &mut Output<'_>| self.route(rows, flags, out);
        self.engine.run_or_reject(&batch, out, &mut route)
    }
}
