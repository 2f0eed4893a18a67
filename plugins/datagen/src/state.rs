//! What a checkpoint keeps: enough to regenerate the same sequence from where it was.

use ferry_plugin_api::sdk::{ErrorContext, Result};
use ferry_plugin_api::serde_json;
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Index of the next row to emit.
    pub next: u64,
    pub seed: u64,
    /// Event time of row 0, µs since the Unix epoch.
    pub start: i64,
}

impl State {
    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).context("encoding the datagen checkpoint")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).context("reading the datagen checkpoint")
    }
}
