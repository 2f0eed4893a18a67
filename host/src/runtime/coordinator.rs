//! The checkpoint coordinator: starts an epoch every `checkpoint_interval` by asking the
//! sources for a barrier, collects every node's snapshot, writes the checkpoint durably
//! and only then tells sinks and sources to commit. It also takes the final checkpoint
//! when the input ends or a signal asks to stop, and tears the pipeline down when a node
//! fails.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::message::{Cancelled, Control, Event, Snapshot};
use crate::checkpoint::{Checkpoint, CheckpointStore, NodeSnapshot};

pub struct Coordinator {
    pub pipeline: String,
    /// Node ids by index.
    pub names: Vec<String>,
    pub sources: Vec<(usize, Sender<Control>)>,
    pub transforms: Vec<(usize, Sender<Control>)>,
    pub sinks: Vec<(usize, Sender<Control>)>,
    pub events: Receiver<Event>,
    pub store: CheckpointStore,
    pub interval: Duration,
    pub next_epoch: u64,
    pub shutdown: Arc<AtomicBool>,
    /// Every instance of this run sees it: set when the pipeline is torn down.
    pub cancelled: &'static AtomicBool,
}

/// An epoch whose snapshots are being collected.
struct InFlight {
    epoch: u64,
    last: bool,
    started: Instant,
    snapshots: BTreeMap<usize, NodeSnapshot>,
}

impl Coordinator {
    /// Runs until every node thread has exited; the error is the first node failure.
    pub fn run(mut self) -> Result<()> {
        let mut running = self.names.len();
        let mut done_sources = HashSet::new();
        let mut in_flight: Option<InFlight> = None;
        let mut stopping = false;
        let mut failure: Option<anyhow::Error> = None;
        let mut next_at = Instant::now() + self.interval;
        while running > 0 {
            let wait = next_at
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50));
            match self.events.recv_timeout(wait) {
                Ok(Event::Snapshot(Snapshot {
                    node,
                    epoch,
                    state,
                    watermarks,
                })) => {
                    let Some(flight) = in_flight.as_mut().filter(|f| f.epoch == epoch) else {
                        continue;
                    };
                    flight
                        .snapshots
                        .insert(node, NodeSnapshot { state, watermarks });
                    if flight.snapshots.len() == self.names.len() {
                        let flight = in_flight.take().expect("in flight");
                        if let Err(e) = self.complete(flight) {
                            failure.get_or_insert(e);
                            self.cancel();
                        }
                    }
                }
                Ok(Event::SourceDone { node }) => {
                    done_sources.insert(node);
                }
                Ok(Event::Exited { node, result }) => {
                    running -= 1;
                    if let Err(e) = result {
                        if failure.is_none() && !e.is::<Cancelled>() {
                            failure =
                                Some(e.context(format!("node '{}' failed", self.names[node])));
                            self.cancel();
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if failure.is_some() || in_flight.is_some() || stopping {
                continue;
            }
            let finishing =
                self.shutdown.load(Ordering::Relaxed) || done_sources.len() == self.sources.len();
            if finishing || Instant::now() >= next_at {
                in_flight = Some(self.start_epoch(finishing));
                stopping = finishing;
                next_at = Instant::now() + self.interval;
            }
        }
        match failure {
            Some(e) => Err(e),
            None if !stopping => Err(anyhow!(
                "the pipeline's nodes stopped before the final checkpoint"
            )),
            None => Ok(()),
        }
    }

    fn start_epoch(&mut self, last: bool) -> InFlight {
        let epoch = self.next_epoch;
        self.next_epoch += 1;
        if last {
            for (_, control) in &self.sinks {
                let _ = control.send(Control::Last(epoch));
            }
        }
        for (_, control) in &self.sources {
            let _ = control.send(Control::Barrier(epoch));
        }
        InFlight {
            epoch,
            last,
            started: Instant::now(),
            snapshots: BTreeMap::new(),
        }
    }

    /// Writes the checkpoint, then commits sinks and sources; after the last epoch,
    /// lets the sources end the stream.
    fn complete(&mut self, flight: InFlight) -> Result<()> {
        let nodes = flight
            .snapshots
            .iter()
            .map(|(node, snapshot)| (self.names[*node].clone(), snapshot.clone()))
            .collect();
        let checkpoint = Checkpoint {
            pipeline: self.pipeline.clone(),
            epoch: flight.epoch,
            nodes,
        };
        self.store.write(&checkpoint)?;
        let source_ids: Vec<&str> = self
            .sources
            .iter()
            .map(|(i, _)| self.names[*i].as_str())
            .collect();
        let sources: Arc<str> = checkpoint.positions_json(&source_ids).into();
        tracing::debug!(
            epoch = flight.epoch,
            "checkpoint written in {:?}",
            flight.started.elapsed()
        );
        for (node, control) in &self.sinks {
            let handle = flight.snapshots[node].state.clone();
            let _ = control.send(Control::Commit {
                epoch: flight.epoch,
                handle,
                sources: sources.clone(),
            });
        }
        for (_, control) in self.transforms.iter().chain(&self.sources) {
            let _ = control.send(Control::Commit {
                epoch: flight.epoch,
                handle: Vec::new(),
                sources: sources.clone(),
            });
        }
        if flight.last {
            for (_, control) in &self.sources {
                let _ = control.send(Control::Stop);
            }
        }
        Ok(())
    }

    /// Tells every node to leave without committing.
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        let all = self
            .sources
            .iter()
            .chain(&self.transforms)
            .chain(&self.sinks);
        for (_, control) in all {
            let _ = control.send(Control::Cancel);
        }
    }
}
