//! The host's side of a plugin call's output: what the plugin hands over is imported
//! and collected as it comes, then routed by the node's task once the call returns.

use abi_stable::std_types::{RResult, RSlice, RStr, RString};
use arrow::array::RecordBatch;
use ferry_plugin_api::abi::{BatchImporter, FfiBatch, OutputObject};
use ferry_plugin_api::sdk::Rejected;

use super::Ports;

/// What one call produced.
#[derive(Default, Debug)]
pub struct Emitted {
    /// Batches with the index of the port each left by.
    pub batches: Vec<(usize, RecordBatch)>,
    pub rejected: Vec<Rejected>,
    /// The highest watermark the plugin set itself, if it did.
    pub watermark: Option<i64>,
}

/// A record was rejected and the pipeline tolerates none: a deterministic data error,
/// which a restart would only meet again.
#[derive(Debug, thiserror::Error)]
#[error("rejected a record at {position}: {reason} (record: {preview}); set errors.tolerance = \"all\" and a $dead_letter sink to keep going")]
pub struct RejectedRecord {
    pub position: String,
    pub reason: String,
    pub preview: String,
}

impl RejectedRecord {
    fn new(record: &Rejected) -> Self {
        Self {
            position: record.position.clone(),
            reason: record.reason.clone(),
            preview: preview(&record.raw),
        }
    }
}

/// The record as the refusal message quotes it: escaped (a NUL or newline in the data
/// cannot break or forge a log line) and cut short; the dead-letter output keeps it whole.
fn preview(raw: &[u8]) -> String {
    ferry_plugin_api::sdk::decode::excerpt(raw, ferry_plugin_api::sdk::decode::EXCERPT_CHARS)
}

/// Collects one call's output; the `OutputObject` the plugin sees.
pub struct CallOutput<'a> {
    ports: &'a Ports,
    /// One stream per port, so each port's schema crosses once.
    streams: &'a mut Vec<BatchImporter>,
    tolerate_rejects: bool,
    pub emitted: Emitted,
    /// Set when a rejected record ended the call under `errors.tolerance = "none"`.
    pub refused: Option<RejectedRecord>,
}

impl<'a> CallOutput<'a> {
    pub fn new(ports: &'a Ports, streams: &'a mut Vec<BatchImporter>, tolerate: bool) -> Self {
        streams.resize_with(ports.len(), BatchImporter::default);
        Self {
            ports,
            streams,
            tolerate_rejects: tolerate,
            emitted: Emitted::default(),
            refused: None,
        }
    }
}

impl OutputObject for CallOutput<'_> {
    fn emit(&mut self, port: RStr<'_>, batch: FfiBatch) -> RResult<(), RString> {
        let Some(index) = self.ports.index(port.as_str()) else {
            // The batch is released when it drops here.
            let known = self.ports.names().join(", ");
            return RResult::RErr(
                format!(
                    "emitted a batch on port '{port}', which it did not declare (ports: {known})"
                )
                .into(),
            );
        };
        match self.streams[index].import(batch) {
            Ok(batch) => {
                self.emitted.batches.push((index, batch));
                RResult::ROk(())
            }
            Err(e) => RResult::RErr(format!("importing a batch from the plugin: {e}").into()),
        }
    }

    fn reject(
        &mut self,
        raw: RSlice<'_, u8>,
        reason: RStr<'_>,
        position: RStr<'_>,
    ) -> RResult<(), RString> {
        let record = Rejected {
            raw: raw.to_vec(),
            reason: reason.to_string(),
            position: position.to_string(),
        };
        if self.tolerate_rejects {
            self.emitted.rejected.push(record);
            return RResult::ROk(());
        }
        let refused = RejectedRecord::new(&record);
        let message = refused.to_string();
        self.refused = Some(refused);
        RResult::RErr(message.into())
    }

    fn watermark(&mut self, watermark: i64) {
        let highest = self
            .emitted
            .watermark
            .map_or(watermark, |w| w.max(watermark));
        self.emitted.watermark = Some(highest);
    }
}
