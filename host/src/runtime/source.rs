//! A source thread: polls its plugin, stamps watermarks, injects barriers when the
//! coordinator asks, and waits out the trigger interval when the plugin is idle.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use ferry_plugin_api::sdk::SourceStatus;

use super::message::{Cancelled, Control, Event, Message};
use super::task::{NodeEnv, Outputs};
use super::watermark::WatermarkGenerator;
use crate::config::Trigger;
use crate::plugins::{Emitted, Source};

pub struct SourceTask {
    pub env: NodeEnv,
    pub source: Source,
    pub control: Receiver<Control>,
    pub outputs: Outputs,
    pub watermark: Option<WatermarkGenerator>,
    pub batch_size: usize,
    pub trigger: Trigger,
}

enum Flow {
    Continue,
    Stop,
}

impl SourceTask {
    pub fn run(mut self) -> Result<()> {
        if let Some(w) = self
            .watermark
            .as_ref()
            .and_then(WatermarkGenerator::current)
        {
            self.outputs.broadcast(Message::Watermark(w))?;
        }
        let mut exhausted = false;
        loop {
            let control = if exhausted {
                Some(self.control.recv().map_err(|_| Cancelled)?)
            } else {
                self.control.try_recv().ok()
            };
            let flow = match control {
                Some(c) => self.on_control(c)?,
                None => self.poll_once(&mut exhausted)?,
            };
            if let Flow::Stop = flow {
                return Ok(());
            }
        }
    }

    /// Polls once, noting when the input is exhausted.
    fn poll_once(&mut self, exhausted: &mut bool) -> Result<Flow> {
        let started = Instant::now();
        let polled = self.source.poll(self.batch_size, self.poll_timeout())?;
        self.emit(polled.emitted)?;
        match (polled.status, self.trigger) {
            (SourceStatus::Ready, _) => Ok(Flow::Continue),
            (SourceStatus::End, _) | (SourceStatus::Idle, Trigger::AvailableNow) => {
                *exhausted = true;
                self.finish()?;
                Ok(Flow::Continue)
            }
            (SourceStatus::Idle, Trigger::Interval(interval)) => {
                self.idle(interval.saturating_sub(started.elapsed()))
            }
        }
    }

    fn poll_timeout(&self) -> Duration {
        match self.trigger {
            Trigger::Interval(d) => d,
            Trigger::AvailableNow => Duration::from_millis(100),
        }
    }

    /// Waits out the rest of the trigger interval, still answering the coordinator.
    fn idle(&mut self, wait: Duration) -> Result<Flow> {
        match self.control.recv_timeout(wait) {
            Ok(c) => self.on_control(c),
            Err(RecvTimeoutError::Timeout) => Ok(Flow::Continue),
            Err(RecvTimeoutError::Disconnected) => Err(Cancelled.into()),
        }
    }

    fn emit(&mut self, emitted: Emitted) -> Result<()> {
        self.env.route_rejected(&emitted.rejected, &self.outputs)?;
        for batch in emitted.batches {
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
                self.outputs.broadcast(Message::Watermark(w))?;
            }
        }
        Ok(())
    }

    /// The input is exhausted: close every event-time window downstream and tell the
    /// coordinator, which takes the final checkpoint and then sends `Stop`.
    fn finish(&mut self) -> Result<()> {
        self.outputs.broadcast(Message::Watermark(i64::MAX))?;
        let _ = self.env.events.send(Event::SourceDone {
            node: self.env.index,
        });
        Ok(())
    }

    fn on_control(&mut self, control: Control) -> Result<Flow> {
        match control {
            Control::Barrier(epoch) => {
                let state = self.source.checkpoint(epoch)?;
                let watermark = self
                    .watermark
                    .as_ref()
                    .and_then(WatermarkGenerator::current);
                self.env.snapshot(epoch, state, watermark);
                self.outputs.broadcast(Message::Barrier(epoch))?;
            }
            Control::Commit { epoch, .. } => self.source.commit(epoch)?,
            Control::Stop => {
                self.outputs.broadcast(Message::End)?;
                return Ok(Flow::Stop);
            }
            Control::Cancel => return Err(Cancelled.into()),
        }
        Ok(Flow::Continue)
    }
}
