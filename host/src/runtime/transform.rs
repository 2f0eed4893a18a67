//! A transform thread: feeds batches and watermarks from its aligned inputs to the
//! plugin, and at each barrier lets it emit (`on_barrier`), releases its output
//! watermark, snapshots it and passes the barrier on. Commits reach it once the
//! checkpoint is durable; a teardown aborts it.

use anyhow::Result;

use super::inputs::{Input, Inputs};
use super::message::{Cancelled, Control, Message};
use super::task::{Emitter, NodeEnv};
use crate::checkpoint::Watermarks;
use crate::plugins::TransformInstance;

pub struct TransformTask {
    pub env: NodeEnv,
    pub transform: TransformInstance,
    pub inputs: Inputs,
    pub out: Emitter,
    /// The epoch the next barrier closes: what a teardown aborts.
    pub next_epoch: u64,
}

impl TransformTask {
    pub fn run(mut self) -> Result<()> {
        self.out.resend()?;
        let result = self.serve();
        if result.is_err() {
            // Best effort: the plugin learns that this epoch will not be committed.
            let _ = self.transform.abort(self.next_epoch);
        }
        result
    }

    fn serve(&mut self) -> Result<()> {
        loop {
            match self.inputs.next()? {
                Input::Batch(input, batch) => {
                    self.env.count_in(&batch);
                    let emitted = self.transform.process(input, batch)?;
                    self.out.emit(&self.env, emitted)?;
                }
                Input::Watermark(w) => {
                    let emitted = self.transform.on_watermark(w)?;
                    self.out.emit(&self.env, emitted)?;
                }
                Input::Idle => self.out.broadcast(Message::Idle)?,
                Input::Barrier(epoch) => self.barrier(epoch)?,
                Input::Control(control) => self.on_control(control)?,
                Input::End => {
                    self.out.release_watermark()?;
                    for control in self.inputs.pending_control() {
                        self.on_control(control)?;
                    }
                    return self.out.broadcast(Message::End);
                }
                Input::Disconnected => return Err(Cancelled.into()),
            }
        }
    }

    fn barrier(&mut self, epoch: u64) -> Result<()> {
        let emitted = self.transform.on_barrier(epoch)?;
        self.out.emit(&self.env, emitted)?;
        self.out.release_watermark()?;
        let state = self.transform.checkpoint(epoch)?;
        let size = self.transform.state_size();
        self.env.stats.set_state(size.keys, size.bytes);
        let watermarks = Watermarks {
            output: self.out.snapshot_watermark(),
            inputs: self.inputs.snapshot(),
        };
        self.env.snapshot(epoch, state, watermarks);
        self.next_epoch = epoch + 1;
        self.out.broadcast(Message::Barrier(epoch))
    }

    fn on_control(&mut self, control: Control) -> Result<()> {
        match control {
            Control::Commit { epoch, .. } => self.transform.commit(epoch),
            Control::Cancel => Err(Cancelled.into()),
            Control::Barrier(_) | Control::Last(_) | Control::Stop => Ok(()),
        }
    }
}
