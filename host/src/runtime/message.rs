//! What flows between node threads and the checkpoint coordinator.

use std::sync::Arc;

use arrow::array::RecordBatch;

use crate::checkpoint::Watermarks;

/// On the data edges between nodes.
#[derive(Debug, Clone)]
pub enum Message {
    Batch(RecordBatch),
    /// Event time has passed this point (µs since the Unix epoch, UTC). Sent just
    /// before a barrier, or as `i64::MAX` when the input has ended.
    Watermark(i64),
    /// The upstream source has had no data for its `idle_timeout`: until its next
    /// batch, it does not hold back the watermark of multi-input nodes.
    Idle,
    /// Everything before this belongs to the epoch; snapshot when it has come on every input.
    Barrier(u64),
    /// No more messages on this edge.
    End,
}

/// From the coordinator to nodes.
#[derive(Debug)]
pub enum Control {
    /// Sources: snapshot the position and send a barrier downstream.
    Barrier(u64),
    /// The checkpoint of `epoch` is durable: sinks publish it with their handle,
    /// transforms and sources acknowledge it.
    Commit {
        epoch: u64,
        handle: Vec<u8>,
        /// The sources' positions at this checkpoint, as JSON (see `Checkpoint::positions_json`).
        sources: Arc<str>,
    },
    /// Sinks: the checkpoint of this epoch is the run's last (every source ended, or the
    /// pipeline was asked to stop). Sent before its barrier, so it is queued when the
    /// barrier reaches the sink.
    Last(u64),
    /// Sources: send `End` downstream and finish (after the final checkpoint).
    Stop,
    /// Everyone: leave now without committing anything (another node failed).
    Cancel,
}

/// A node's part of the checkpoint of `epoch`.
#[derive(Debug)]
pub struct Snapshot {
    pub node: usize,
    pub epoch: u64,
    pub state: Vec<u8>,
    pub watermarks: Watermarks,
}

/// From node threads to the coordinator.
#[derive(Debug)]
pub enum Event {
    Snapshot(Snapshot),
    /// A source has no more input (its end, or idle under `available_now`).
    SourceDone {
        node: usize,
    },
    /// A node thread returned; `Err` carries why it failed.
    Exited {
        node: usize,
        result: anyhow::Result<()>,
    },
}

/// A node left because the pipeline is being torn down, not because it failed itself.
#[derive(Debug, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;
