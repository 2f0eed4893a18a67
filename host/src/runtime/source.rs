//! A source thread: polls its plugin, injects barriers when the coordinator asks (the
//! watermark and idleness are released just before them), and waits out the trigger
//! interval when the plugin is idle.

use std::time::{Duration, Instant};

use anyhow::Result;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use ferry_plugin_api::sdk::SourceStatus;

use super::message::{Cancelled, Control, Event, Message};
use super::task::{Emitter, NodeEnv};
use crate::checkpoint::Watermarks;
use crate::config::Trigger;
use crate::plugins::SourceInstance;

pub struct SourceTask {
    pub env: NodeEnv,
    pub source: SourceInstance,
    pub control: Receiver<Control>,
    pub out: Emitter,
    pub batch_size: usize,
    pub trigger: Trigger,
    /// After this long without rows the source tells downstream it is idle.
    pub idle_timeout: Option<Duration>,
}

enum Flow {
    Continue,
    Stop,
}

/// When the source last had rows, and whether downstream was told it is idle.
struct Activity {
    last_rows: Instant,
    announced_idle: bool,
}

impl SourceTask {
    pub fn run(mut self) -> Result<()> {
        self.out.resend()?;
        let mut exhausted = false;
        let mut activity = Activity {
            last_rows: Instant::now(),
            announced_idle: false,
        };
        loop {
            let control = if exhausted {
                Some(self.control.recv().map_err(|_| Cancelled)?)
            } else {
                self.control.try_recv().ok()
            };
            let flow = match control {
                Some(c) => self.on_control(c, &mut activity)?,
                None => self.poll_once(&mut exhausted, &mut activity)?,
            };
            if let Flow::Stop = flow {
                return Ok(());
            }
        }
    }

    /// Polls once, noting when the input is exhausted.
    fn poll_once(&mut self, exhausted: &mut bool, activity: &mut Activity) -> Result<Flow> {
        let started = Instant::now();
        let polled = self.source.poll(self.batch_size, self.poll_timeout())?;
        if !polled.emitted.batches.is_empty() {
            activity.last_rows = Instant::now();
            activity.announced_idle = false;
        }
        self.out.emit(&self.env, polled.emitted)?;
        match (polled.status, self.trigger) {
            (SourceStatus::Ready, _) => Ok(Flow::Continue),
            (SourceStatus::End, _) => {
                self.out.end_of_input()?;
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
                self.idle(interval.saturating_sub(started.elapsed()), activity)
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
    fn idle(&mut self, wait: Duration, activity: &mut Activity) -> Result<Flow> {
        match self.control.recv_timeout(wait) {
            Ok(c) => self.on_control(c, activity),
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

    fn on_control(&mut self, control: Control, activity: &mut Activity) -> Result<Flow> {
        match control {
            Control::Barrier(epoch) => self.barrier(epoch, activity)?,
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

    /// Watermark and idleness first, then the snapshot and the barrier: downstream
    /// operators see event time move only at epoch boundaries.
    fn barrier(&mut self, epoch: u64, activity: &mut Activity) -> Result<()> {
        self.out.release_watermark()?;
        let quiet = self
            .idle_timeout
            .is_some_and(|t| activity.last_rows.elapsed() >= t);
        if quiet && !activity.announced_idle {
            activity.announced_idle = true;
            self.out.broadcast(Message::Idle)?;
        }
        let state = self.source.checkpoint(epoch)?;
        let watermarks = Watermarks {
            output: self.out.snapshot_watermark(),
            inputs: Vec::new(),
        };
        self.env.snapshot(epoch, state, watermarks);
        self.out.broadcast(Message::Barrier(epoch))
    }
}
