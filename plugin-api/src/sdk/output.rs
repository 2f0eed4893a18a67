//! What a call produces: batches on output ports, rejected records and the component's
//! own watermark. In a pipeline each goes straight to the host; in tests, [`Collected`]
//! keeps them.

use arrow::array::RecordBatch;

use super::Result;
use crate::abi::{LATE_PORT, MAIN_PORT};

/// A record a component could not handle. Under `errors.tolerance = "none"` it fails the
/// task; under `"all"` it goes to the node's `dead_letter` port.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    /// The record's exact bytes.
    pub raw: Vec<u8>,
    /// Why it was rejected.
    pub reason: String,
    /// Where the record came from, e.g. `data/a.json:17`.
    pub position: String,
}

/// Where a call's output goes: the host in a pipeline, [`Collected`] in tests.
pub trait Emit {
    /// Takes a batch for `port`.
    fn emit(&mut self, port: &str, batch: RecordBatch) -> Result<()>;
    /// Takes a rejected record; an error means the pipeline does not tolerate them.
    fn reject(&mut self, raw: &[u8], reason: &str, position: &str) -> Result<()>;
    /// Takes the component's own output watermark (µs since the Unix epoch, UTC).
    fn watermark(&mut self, watermark: i64);
}

/// The output side of a call.
pub struct Output<'a> {
    target: &'a mut dyn Emit,
}

impl<'a> Output<'a> {
    /// An output that hands everything to `target`.
    pub fn new(target: &'a mut dyn Emit) -> Self {
        Self { target }
    }

    /// Sends a batch on the main port (`out`); empty batches are skipped.
    pub fn emit(&mut self, batch: RecordBatch) -> Result<()> {
        self.emit_to(MAIN_PORT, batch)
    }

    /// Sends a batch on `port`: a built-in port or one the component declared.
    pub fn emit_to(&mut self, port: &str, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.target.emit(port, batch)
    }

    /// Sends rows that arrived behind the watermark to the `late` port, where the host
    /// counts them (they are never dropped silently).
    pub fn late(&mut self, batch: RecordBatch) -> Result<()> {
        self.emit_to(LATE_PORT, batch)
    }

    /// Reports a record that could not be handled. Under `errors.tolerance = "none"`
    /// this returns the error that fails the task: return it, so no more input is read.
    pub fn reject(
        &mut self,
        raw: impl AsRef<[u8]>,
        reason: impl AsRef<str>,
        position: impl AsRef<str>,
    ) -> Result<()> {
        self.target
            .reject(raw.as_ref(), reason.as_ref(), position.as_ref())
    }

    /// Sets the component's output watermark (µs since the Unix epoch, UTC): a source
    /// tracking event time itself (per partition, say), or an operator holding its
    /// output back. The host never lets it go backwards.
    pub fn watermark(&mut self, watermark: i64) {
        self.target.watermark(watermark)
    }
}

/// Keeps what calls produce, for tests and tools that drive a component directly.
#[derive(Default, Debug)]
pub struct Collected {
    /// Batches with the port each was emitted on.
    pub batches: Vec<(String, RecordBatch)>,
    /// Rejected records, in order.
    pub rejected: Vec<Rejected>,
    /// The last watermark the component set.
    pub watermark: Option<i64>,
}

impl Collected {
    /// An output handle that collects into `self`.
    pub fn output(&mut self) -> Output<'_> {
        Output::new(self)
    }

    /// The batches emitted on the main port (cheap clones: buffers are shared).
    pub fn main(&self) -> Vec<RecordBatch> {
        self.on(MAIN_PORT)
    }

    /// The batches emitted on `port`.
    pub fn on(&self, port: &str) -> Vec<RecordBatch> {
        let on_port = self.batches.iter().filter(|(p, _)| p == port);
        on_port.map(|(_, b)| b.clone()).collect()
    }

    /// Rows emitted on the main port.
    pub fn rows(&self) -> usize {
        self.main().iter().map(|b| b.num_rows()).sum()
    }
}

impl Emit for Collected {
    fn emit(&mut self, port: &str, batch: RecordBatch) -> Result<()> {
        self.batches.push((port.to_string(), batch));
        Ok(())
    }

    fn reject(&mut self, raw: &[u8], reason: &str, position: &str) -> Result<()> {
        self.rejected.push(Rejected {
            raw: raw.to_vec(),
            reason: reason.to_string(),
            position: position.to_string(),
        });
        Ok(())
    }

    fn watermark(&mut self, watermark: i64) {
        self.watermark = Some(watermark);
    }
}
