//! A sink thread: writes batches, prepares at barriers, and publishes an epoch when the
//! coordinator says its checkpoint is durable.

use anyhow::{Context, Result};

use super::inputs::{Input, Inputs};
use super::message::{Cancelled, Control};
use super::task::NodeEnv;
use crate::checkpoint::Watermarks;
use crate::plugins::SinkInstance;

/// The last durable checkpoint, as a restarted sink sees it.
pub struct Recovery {
    pub epoch: u64,
    /// This sink's commit handle in it.
    pub handle: Vec<u8>,
    /// The sources' positions then, as JSON.
    pub sources: String,
}

pub struct SinkTask {
    pub env: NodeEnv,
    pub sink: SinkInstance,
    pub inputs: Inputs,
    /// What the last durable checkpoint says this sink must publish again.
    pub restored: Option<Recovery>,
    /// The first epoch of this run: anything staged for it or later is stale.
    pub first_epoch: u64,
    /// The epoch the coordinator announced as this run's last.
    pub last_epoch: Option<u64>,
}

impl SinkTask {
    pub fn run(mut self) -> Result<()> {
        self.recover()?;
        loop {
            match self.inputs.next()? {
                Input::Batch(input, batch) => {
                    self.env.count_in(&batch);
                    self.sink.write(input, batch)?;
                }
                Input::Watermark(_) | Input::Idle => {}
                Input::Barrier(epoch) => {
                    // `Control::Last(epoch)` was queued before the barrier left the
                    // sources: read the queue so the sink hears of it before this prepare.
                    for control in self.inputs.pending_control() {
                        self.on_control(control)?;
                    }
                    if self.last_epoch == Some(epoch) {
                        self.sink
                            .finishing(epoch)
                            .with_context(|| format!("finishing at epoch {epoch}"))?;
                    }
                    let handle = self
                        .sink
                        .prepare(epoch)
                        .with_context(|| format!("preparing epoch {epoch}"))?;
                    self.env.snapshot(epoch, handle, Watermarks::default());
                }
                Input::Control(control) => self.on_control(control)?,
                Input::End => {
                    for control in self.inputs.pending_control() {
                        self.on_control(control)?;
                    }
                    return Ok(());
                }
                Input::Disconnected => return Err(Cancelled.into()),
            }
        }
    }

    /// Re-publishes the last durable epoch (commit is idempotent) and drops whatever a
    /// crashed run staged after it.
    fn recover(&mut self) -> Result<()> {
        if let Some(Recovery {
            epoch,
            handle,
            sources,
        }) = self.restored.take()
        {
            self.sink
                .commit(epoch, &handle, &sources)
                .with_context(|| format!("re-committing epoch {epoch} after a restart"))?;
        }
        self.sink.abort(self.first_epoch).with_context(|| {
            format!(
                "aborting epochs from {} staged by an earlier run",
                self.first_epoch
            )
        })
    }

    fn on_control(&mut self, control: Control) -> Result<()> {
        match control {
            Control::Commit {
                epoch,
                handle,
                sources,
            } => self
                .sink
                .commit(epoch, &handle, &sources)
                .with_context(|| format!("committing epoch {epoch}")),
            Control::Last(epoch) => {
                self.last_epoch = Some(epoch);
                Ok(())
            }
            Control::Cancel => Err(Cancelled.into()),
            Control::Barrier(_) | Control::Stop => Ok(()),
        }
    }
}
