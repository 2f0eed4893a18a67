//! A transform thread: feeds batches and watermarks from its aligned inputs to an
//! operator (a plugin, or the host's dead-letter merge) and snapshots it at barriers.

use std::sync::atomic::Ordering;

use anyhow::Result;
use arrow::array::RecordBatch;

use super::inputs::{Input, Inputs};
use super::message::{Cancelled, Message};
use super::task::{Emitter, NodeEnv};
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
    /// With its own `event_time`, the node stamps watermarks from its output instead of
    /// forwarding its inputs'.
    pub out: Emitter,
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
                    let emitted = self.operator.process(batch)?;
                    self.out.emit(&self.env, emitted)?;
                }
                Input::Watermark(w) => {
                    let emitted = self.operator.on_watermark(w)?;
                    self.out.emit(&self.env, emitted)?;
                    if self.out.watermark.is_none() || w == i64::MAX {
                        self.out.forward_watermark(w)?;
                    }
                }
                Input::Barrier(epoch) => {
                    let state = self.operator.checkpoint(epoch)?;
                    self.env.snapshot(epoch, state, self.out.last_watermark);
                    self.out.broadcast(Message::Barrier(epoch))?;
                }
                Input::End => return self.out.broadcast(Message::End),
                Input::Control(_) => {}
                Input::Disconnected => return Err(Cancelled.into()),
            }
        }
    }
}
