//! A transform thread: feeds batches and watermarks from its aligned inputs to an
//! operator (a plugin, or the host's dead-letter merge) and snapshots it at barriers.

use std::sync::atomic::Ordering;

use anyhow::Result;
use arrow::array::RecordBatch;

use super::inputs::{Input, Inputs};
use super::message::{Cancelled, Message};
use super::task::{NodeEnv, Outputs};
use super::watermark::WatermarkGenerator;
use crate::plugins::{Emitted, Transform};

/// What a transform node runs.
pub trait Operator: Send {
    fn process(&mut self, batch: RecordBatch) -> Result<Emitted>;
    fn on_watermark(&mut self, watermark: i64) -> Result<Emitted>;
    fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>>;
}

impl Operator for Transform {
    fn process(&mut self, batch: RecordBatch) -> Result<Emitted> {
        Transform::process(self, batch)
    }

    fn on_watermark(&mut self, watermark: i64) -> Result<Emitted> {
        Transform::on_watermark(self, watermark)
    }

    fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        Transform::checkpoint(self, epoch)
    }
}

/// The `$dead_letter` node: merges every node's rejected records, unchanged.
pub struct Merge;

impl Operator for Merge {
    fn process(&mut self, batch: RecordBatch) -> Result<Emitted> {
        Ok(Emitted {
            batches: vec![batch],
            rejected: Vec::new(),
        })
    }

    fn on_watermark(&mut self, _watermark: i64) -> Result<Emitted> {
        Ok(Emitted::default())
    }

    fn checkpoint(&mut self, _epoch: u64) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
}

pub struct TransformTask {
    pub env: NodeEnv,
    pub operator: Box<dyn Operator>,
    pub inputs: Inputs,
    pub outputs: Outputs,
    /// Set when the node declares its own `event_time`: it then stamps watermarks from
    /// its output instead of forwarding its inputs'.
    pub watermark: Option<WatermarkGenerator>,
    /// The last watermark sent downstream, kept in snapshots.
    pub last_watermark: Option<i64>,
}

impl TransformTask {
    pub fn run(mut self) -> Result<()> {
        loop {
            match self.inputs.next() {
                Input::Batch(batch) => {
                    self.env
                        .stats
                        .rows_in
                        .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                    let out = self.operator.process(batch)?;
                    self.emit(out)?;
                }
                Input::Watermark(w) => {
                    let out = self.operator.on_watermark(w)?;
                    self.emit(out)?;
                    if self.watermark.is_none() || w == i64::MAX {
                        self.forward_watermark(w)?;
                    }
                }
                Input::Barrier(epoch) => {
                    let state = self.operator.checkpoint(epoch)?;
                    self.env.snapshot(epoch, state, self.last_watermark);
                    self.outputs.broadcast(Message::Barrier(epoch))?;
                }
                Input::End => return self.outputs.broadcast(Message::End),
                Input::Control(_) => {}
                Input::Disconnected => return Err(Cancelled.into()),
            }
        }
    }

    fn emit(&mut self, out: Emitted) -> Result<()> {
        self.env.route_rejected(&out.rejected, &self.outputs)?;
        for batch in out.batches {
            let advanced = match &mut self.watermark {
                Some(w) => w.observe(&batch)?,
                None => None,
            };
            self.env
                .stats
                .rows_out
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            self.outputs.batch(batch)?;
            if let Some(w) = advanced {
                self.forward_watermark(w)?;
            }
        }
        Ok(())
    }

    fn forward_watermark(&mut self, w: i64) -> Result<()> {
        self.last_watermark = Some(w);
        self.outputs.broadcast(Message::Watermark(w))
    }
}
