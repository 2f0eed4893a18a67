//! An example third-party plugin: `uppercase` upper-cases string columns; `chaos`
//! panics on purpose, to show that a panicking plugin fails only its own task.

use std::sync::Arc;

use ferry_plugin_api::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::schemars::JsonSchema;
use ferry_plugin_api::sdk::{Component, Context, Error, Output, Result, Transform};
use ferry_plugin_api::serde::Deserialize;

/// Options of `uppercase`.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "ferry_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "ferry_plugin_api::schemars")]
pub struct UppercaseOptions {
    /// The string columns to upper-case.
    columns: Vec<String>,
}

pub struct Uppercase {
    columns: Vec<String>,
}

impl Component for Uppercase {
    const NAME: &'static str = "uppercase";
    const DESCRIPTION: &'static str = "Upper-cases the listed string columns.";
    type Options = UppercaseOptions;

    fn create(options: UppercaseOptions, _ctx: &Context) -> Result<Self> {
        Ok(Self { columns: options.columns })
    }
}

impl Transform for Uppercase {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let schema = batch.schema();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for name in &self.columns {
            let i = schema.index_of(name)?;
            let strings = columns[i]
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| Error::msg(format!("column '{name}' is not a string column")))?;
            let upper: StringArray = strings.iter().map(|s| s.map(str::to_uppercase)).collect();
            columns[i] = Arc::new(upper);
        }
        out.emit(RecordBatch::try_new(schema, columns)?)
    }
}

/// Options of `chaos`.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "ferry_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "ferry_plugin_api::schemars")]
pub struct ChaosOptions {
    /// Panic when this many batches have passed.
    panic_after_batches: u64,
}

pub struct Chaos {
    left: u64,
}

impl Component for Chaos {
    const NAME: &'static str = "chaos";
    const DESCRIPTION: &'static str = "Forwards batches, then panics on purpose.";
    type Options = ChaosOptions;

    fn create(options: ChaosOptions, _ctx: &Context) -> Result<Self> {
        Ok(Self { left: options.panic_after_batches })
    }
}

impl Transform for Chaos {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        if self.left == 0 {
            panic!("chaos: deliberate panic");
        }
        self.left -= 1;
        out.emit(batch)
    }
}

export_plugin! {
    sources: [],
    transforms: [Uppercase, Chaos],
    sinks: [],
}
