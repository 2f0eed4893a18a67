//! A plugin on ABI 0.1: `old_passthrough` hands every batch on unchanged. It exists to
//! be refused by a ferry on a later ABI; it never gets to run there.

use ferry_plugin_api::abi::{Emitted, FfiBatch, NodeContext};
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::Transform;

pub struct OldPassthrough;

impl Transform for OldPassthrough {
    const NAME: &'static str = "old_passthrough";
    const DESCRIPTION: &'static str = "Hands every batch on unchanged (ABI 0.1).";

    fn create(_options_json: &str, _ctx: &NodeContext) -> Result<Self, String> {
        Ok(Self)
    }

    fn process(&mut self, batch: FfiBatch) -> Result<Emitted, String> {
        Ok(Emitted {
            batches: vec![batch].into(),
            rejected: Default::default(),
        })
    }
}

export_plugin! { transforms: [OldPassthrough] }
