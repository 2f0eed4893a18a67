//! `passthrough`: forwards every batch unchanged. The smallest possible transform, used to
//! measure what crossing the plugin boundary costs and as a template for new plugins.

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::{Component, Context, Output, Result, Transform};
use schemars::JsonSchema;
use serde::Deserialize;

/// `passthrough` takes no options.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PassthroughOptions {}

pub struct Passthrough;

impl Component for Passthrough {
    const NAME: &'static str = "passthrough";
    const DESCRIPTION: &'static str = "Forwards every batch unchanged.";
    type Options = PassthroughOptions;

    fn create(_options: PassthroughOptions, _ctx: &Context) -> Result<Self> {
        Ok(Self)
    }
}

impl Transform for Passthrough {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        out.emit(batch)
    }
}

export_plugin! {
    sources: [],
    transforms: [Passthrough],
    sinks: [],
}
