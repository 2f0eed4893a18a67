//! A source thread: polls its plugin, stamps watermarks, injects barriers when the
//! coordinator asks, and waits out the trigger interval when the plugin is idle.

use std::time::{Duration, Instant};

use anyhow::Result;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use ferry_plugin_api::sdk::SourceStatus;

use super::message::{Cancelled, Control, Event, Message};
use super::task::{Emitter, NodeEnv};
use crate::config::Trigger;
use crate::plugins::Source;

pub struct SourceTask {
    pub env: NodeEnv,
    pub source: Source,
    pub control: Receiver<Control>,
    pub out: Emitter,
    pub batch_size: usize,
    pub trigger: Trigger,
}

enum Flow {
    Continue,
    Stop,
}

impl SourceTask {
    pub fn run(mut self) -> Result<()> {
        if let Some(w) = self.out.last_watermark {
            self.out.broadcast(Message::Watermark(w))?;
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
        self.out.emit(&self.env, polled.emitted)?;
        match (polled.status, self.trigger) {
            (SourceStatus::Ready, _) => Ok(Flow::Continue),
            (SourceStatus::End, _) => {
                // The input is over for good: close every event-time window downstream.
                self.out.forward_watermark(i64::MAX)?;
                *exhausted = true;
                self.finish();
                Ok(Flow::Continue)
            }
            (SourceStatus::Idle, Trigger::AvailableNow) => {
                // Only this run is over: windows stay open for the next one, as in Spark.
                *exhausted = true;
                self.finish();
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

    /// Tells the coordinator, which takes the final checkpoint once every source is
    /// done, and then sends `Stop`.
    fn finish(&self) {
        let _ = self.env.events.send(Event::SourceDone {
            node: self.env.index,
        });
    }

    fn on_control(&mut self, control: Control) -> Result<Flow> {
        match control {
            Control::Barrier(epoch) => {
                let state = self.source.checkpoint(epoch)?;
                self.env.snapshot(epoch, state, self.out.last_watermark);
                self.out.broadcast(Message::Barrier(epoch))?;
            }
            Control::Commit { epoch, .. } => self.source.commit(epoch)?,
            Control::Stop => {
                self.out.broadcast(Message::End)?;
                return Ok(Flow::Stop);
            }
            Control::Cancel => return Err(Cancelled.into()),
            Control::Last(_) => {}
        }
        Ok(Flow::Continue)
    }
}
