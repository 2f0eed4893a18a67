//! What every node thread shares: its identity, counters, outputs and how rejected
//! records are handled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Result};
use arrow::array::RecordBatch;
use crossbeam_channel::Sender;
use ferry_plugin_api::sdk::Rejected;

use super::dead_letter;
use super::message::{Cancelled, Event, Message};
use super::watermark::WatermarkGenerator;
use crate::config::Tolerance;
use crate::plugins::Emitted;

/// Rows through one node, read by the progress reporter.
#[derive(Default, Debug)]
pub struct NodeStats {
    pub rows_in: AtomicU64,
    pub rows_out: AtomicU64,
    pub rejected: AtomicU64,
}

/// A node's identity and its line to the coordinator.
#[derive(Clone)]
pub struct NodeEnv {
    pub index: usize,
    pub id: String,
    pub events: Sender<Event>,
    pub stats: Arc<NodeStats>,
    pub tolerance: Tolerance,
}

impl NodeEnv {
    pub fn snapshot(&self, epoch: u64, state: Vec<u8>, watermark: Option<i64>) {
        // The coordinator outlives every node; a send error only means it is gone too.
        let _ = self.events.send(Event::Snapshot {
            node: self.index,
            epoch,
            state,
            watermark,
        });
    }

    /// Fails the task on the first rejected record, or sends them all to `$dead_letter`.
    pub fn route_rejected(&self, rejected: &[Rejected], outputs: &Outputs) -> Result<()> {
        let Some(first) = rejected.first() else {
            return Ok(());
        };
        self.stats
            .rejected
            .fetch_add(rejected.len() as u64, Ordering::Relaxed);
        match self.tolerance {
            Tolerance::None => Err(anyhow!(
                "rejected a record at {}: {} (record: {}); set errors.tolerance = \"all\" and a $dead_letter sink to keep going",
                first.position,
                first.reason,
                preview(&first.raw)
            )),
            Tolerance::All => outputs.dead_letter(dead_letter::batch(&self.id, rejected)),
        }
    }
}

fn preview(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}

/// A node's output side: its edges, its event-time watermark and its counters.
pub struct Emitter {
    pub outputs: Outputs,
    /// Set when the node declares `event_time`: watermarks are stamped from its output.
    pub watermark: Option<WatermarkGenerator>,
    /// The last watermark sent downstream, kept in snapshots.
    pub last_watermark: Option<i64>,
}

impl Emitter {
    /// Sends what a plugin call produced: rejected records per the tolerance, batches
    /// downstream, and a watermark when the batches moved event time forward.
    pub fn emit(&mut self, env: &NodeEnv, emitted: Emitted) -> Result<()> {
        env.route_rejected(&emitted.rejected, &self.outputs)?;
        for batch in emitted.batches {
            let advanced = match &mut self.watermark {
                Some(w) => w.observe(&batch)?,
                None => None,
            };
            env.stats
                .rows_out
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            self.outputs.batch(batch)?;
            if let Some(w) = advanced {
                self.forward_watermark(w)?;
            }
        }
        Ok(())
    }

    pub fn forward_watermark(&mut self, watermark: i64) -> Result<()> {
        self.last_watermark = Some(watermark);
        self.outputs.broadcast(Message::Watermark(watermark))
    }

    /// Watermarks, barriers and `End` go on every edge.
    pub fn broadcast(&self, message: Message) -> Result<()> {
        self.outputs.broadcast(message)
    }
}

/// A node's outgoing edges: the main output and the dead-letter output.
#[derive(Default)]
pub struct Outputs {
    pub main: Vec<Sender<Message>>,
    pub dead_letter: Vec<Sender<Message>>,
}

impl Outputs {
    /// Sends a batch to every downstream node (a cheap clone: buffers are shared).
    pub fn batch(&self, batch: RecordBatch) -> Result<()> {
        send_all(&self.main, Message::Batch(batch))
    }

    pub fn dead_letter(&self, batch: RecordBatch) -> Result<()> {
        send_all(&self.dead_letter, Message::Batch(batch))
    }

    /// Watermarks, barriers and `End` go on every edge, dead-letter ones included.
    pub fn broadcast(&self, message: Message) -> Result<()> {
        send_all(&self.main, message.clone())?;
        send_all(&self.dead_letter, message)
    }
}

fn send_all(senders: &[Sender<Message>], message: Message) -> Result<()> {
    let Some((last, rest)) = senders.split_last() else {
        return Ok(());
    };
    for s in rest {
        s.send(message.clone()).map_err(|_| Cancelled)?;
    }
    last.send(message).map_err(|_| Cancelled)?;
    Ok(())
}
