//! What every node thread shares: its identity and counters, and its output side —
//! edges by port, dead-letter rows, and the node's output watermark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use arrow::array::RecordBatch;
use crossbeam_channel::Sender;

use super::dead_letter;
use super::message::{Cancelled, Event, Message, Snapshot};
use super::watermark::WatermarkGenerator;
use crate::checkpoint::Watermarks;
use crate::plugins::{Emitted, DEAD_LETTER, LATE};

/// Rows through one node, read by the progress reporter.
#[derive(Default, Debug)]
pub struct NodeStats {
    pub rows_in: AtomicU64,
    pub rows_out: AtomicU64,
    pub rejected: AtomicU64,
    /// Rows the node sent to its `late` port.
    pub late: AtomicU64,
    /// What a stateful transform held at its last checkpoint (keys, encoded bytes), and
    /// the most it held at any checkpoint.
    pub state: [AtomicU64; 2],
    pub peak_state: [AtomicU64; 2],
}

impl NodeStats {
    /// Records what the node holds as of a checkpoint.
    pub fn set_state(&self, keys: u64, bytes: u64) {
        for (i, n) in [keys, bytes].into_iter().enumerate() {
            self.state[i].store(n, Ordering::Relaxed);
            self.peak_state[i].fetch_max(n, Ordering::Relaxed);
        }
    }

    /// `, state: K keys, B MB` (or kB, B) for a node that holds state now; empty otherwise.
    pub fn state_text(&self) -> String {
        state_text("state", &self.state)
    }

    /// As [`state_text`](Self::state_text), for the most it ever held.
    pub fn peak_state_text(&self) -> String {
        state_text("peak state", &self.peak_state)
    }
}

fn state_text(what: &str, figures: &[AtomicU64; 2]) -> String {
    let [keys, bytes] = [0, 1].map(|i| figures[i].load(Ordering::Relaxed));
    if keys == 0 && bytes == 0 {
        return String::new();
    }
    let size = match bytes {
        0..10_000 => format!("{bytes} B"),
        10_000..10_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    };
    format!(", {what}: {keys} keys, {size}")
}

/// A node's identity and its line to the coordinator.
#[derive(Clone)]
pub struct NodeEnv {
    pub index: usize,
    pub id: String,
    pub events: Sender<Event>,
    pub stats: Arc<NodeStats>,
}

impl NodeEnv {
    pub fn snapshot(&self, epoch: u64, state: Vec<u8>, watermarks: Watermarks) {
        // The coordinator outlives every node; a send error only means it is gone too.
        let _ = self.events.send(Event::Snapshot(Snapshot {
            node: self.index,
            epoch,
            state,
            watermarks,
        }));
    }

    pub fn count_in(&self, batch: &RecordBatch) {
        let rows = batch.num_rows() as u64;
        self.stats.rows_in.fetch_add(rows, Ordering::Relaxed);
    }
}

/// A node's outgoing edges, by port index.
pub struct Outputs {
    ports: Vec<Vec<Sender<Message>>>,
}

impl Outputs {
    pub fn new(ports: usize) -> Self {
        Self {
            ports: vec![Vec::new(); ports],
        }
    }

    pub fn connect(&mut self, port: usize, edge: Sender<Message>) {
        self.ports[port].push(edge);
    }

    /// Sends a batch to every node reading `port` (a cheap clone: buffers are shared).
    /// A port nobody reads drops it; the node's counters still show it.
    pub fn send(&self, port: usize, batch: RecordBatch) -> Result<()> {
        send_all(&self.ports[port], Message::Batch(batch))
    }

    /// Watermarks, idleness, barriers and `End` go on every edge of every port.
    pub fn broadcast(&self, message: Message) -> Result<()> {
        let all: Vec<&Sender<Message>> = self.ports.iter().flatten().collect();
        let Some((last, rest)) = all.split_last() else {
            return Ok(());
        };
        for s in rest {
            s.send(message.clone()).map_err(|_| Cancelled)?;
        }
        last.send(message).map_err(|_| Cancelled)?;
        Ok(())
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

/// A node's output side: its edges, its output watermark and its counters.
pub struct Emitter {
    pub outputs: Outputs,
    /// Stamps the watermark from the node's rows (a source with `event_time`).
    generator: Option<WatermarkGenerator>,
    /// The highest watermark the plugin set itself; it wins over the generator.
    own: Option<i64>,
    /// The last watermark sent downstream.
    sent: Option<i64>,
    /// The same, without the end-of-input maximum: what a snapshot keeps.
    finite: Option<i64>,
}

impl Emitter {
    pub fn new(
        outputs: Outputs,
        generator: Option<WatermarkGenerator>,
        restored: Option<i64>,
    ) -> Self {
        Self {
            outputs,
            generator,
            own: None,
            sent: restored,
            finite: restored,
        }
    }

    /// Routes what a plugin call produced: rejected records as dead-letter rows, batches
    /// to the edges of their ports, and the plugin's own watermark for the next release.
    pub fn emit(&mut self, env: &NodeEnv, emitted: Emitted) -> Result<()> {
        if !emitted.rejected.is_empty() {
            let rejected = emitted.rejected.len() as u64;
            env.stats.rejected.fetch_add(rejected, Ordering::Relaxed);
            let rows = dead_letter::batch(&env.id, &emitted.rejected);
            self.outputs.send(DEAD_LETTER, rows)?;
        }
        if let Some(w) = emitted.watermark {
            self.own = Some(self.own.map_or(w, |own| own.max(w)));
        }
        for (port, batch) in emitted.batches {
            let rows = batch.num_rows() as u64;
            let counter = match port {
                LATE => &env.stats.late,
                _ => &env.stats.rows_out,
            };
            counter.fetch_add(rows, Ordering::Relaxed);
            // Event time comes from the rows; late rows and rejected records are not it.
            if let (Some(g), false) = (&mut self.generator, port == LATE || port == DEAD_LETTER) {
                g.observe(&batch)?;
            }
            self.outputs.send(port, batch)?;
        }
        Ok(())
    }

    /// Sends the node's watermark downstream if it moved: what the plugin set, else what
    /// its rows say. Called just before a barrier leaves, so watermarks move at epoch
    /// boundaries only.
    pub fn release_watermark(&mut self) -> Result<()> {
        let generated = self
            .generator
            .as_ref()
            .and_then(WatermarkGenerator::current);
        let Some(w) = self.own.or(generated) else {
            return Ok(());
        };
        // Kept for the snapshot even after the end of input has sent the maximum.
        if w != i64::MAX && self.finite.is_none_or(|f| f < w) {
            self.finite = Some(w);
        }
        if self.sent.is_some_and(|sent| sent >= w) {
            return Ok(());
        }
        self.sent = Some(w);
        self.outputs.broadcast(Message::Watermark(w))
    }

    /// The input is over for good: close every event-time window downstream. Not kept
    /// in snapshots, so a rerun with new data is not all late.
    pub fn end_of_input(&mut self) -> Result<()> {
        self.sent = Some(i64::MAX);
        self.outputs.broadcast(Message::Watermark(i64::MAX))
    }

    /// After a restart: downstream hears the restored watermark first.
    pub fn resend(&self) -> Result<()> {
        match self.sent {
            Some(w) => self.outputs.broadcast(Message::Watermark(w)),
            None => Ok(()),
        }
    }

    /// The output watermark for a snapshot.
    pub fn snapshot_watermark(&self) -> Option<i64> {
        self.finite
    }

    pub fn broadcast(&self, message: Message) -> Result<()> {
        self.outputs.broadcast(message)
    }
}
