//! Compaction: a background thread merges the base and delta files of a checkpoint into
//! one new base file, reading them from disk, so the operator thread copies nothing.
//!
//! The merge walks the key groups in order. For each group it reads that group's rows
//! from every input (base first, then deltas oldest to newest, later rows winning), drops
//! tombstones and writes the survivors sorted by key. Memory stays at about one key
//! group's worth of rows. The new base is written durably like any state file; the table
//! only points its handles at it once the thread has finished (see `table.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::files::{file_name, write_durable_paced, FileRef, Kind};
use super::format::{RowReader, RowWriter};
use crate::sdk::{Error, Result};

/// The new base is synced every this many bytes (see `files::CrcWriter`).
const SYNC_EVERY: u64 = 8 << 20;

/// A compaction under way (or finished and not yet adopted).
pub(super) struct Compaction {
    /// How many deltas of the table's chain (from the oldest) the new base replaces.
    pub covers: usize,
    /// The new base's file name.
    pub name: String,
    thread: Option<JoinHandle<Result<FileRef>>>,
    done: Option<Result<FileRef>>,
    cancel: Arc<AtomicBool>,
}

/// What a compaction reads and where it writes.
pub(super) struct Job {
    pub dir: PathBuf,
    pub inputs: Vec<FileRef>,
    pub epoch: u64,
    pub covers: usize,
    pub run: String,
    pub key_groups: u16,
}

impl Compaction {
    /// Starts merging `job.inputs` on a new thread.
    pub fn start(job: Job) -> Result<Self> {
        let name = file_name(Kind::Base, job.epoch, &job.run);
        let cancel = Arc::new(AtomicBool::new(false));
        let (thread_name, out, flag) = (name.clone(), name.clone(), cancel.clone());
        let covers = job.covers;
        let thread = std::thread::Builder::new()
            .name("ferry-state-compaction".into())
            .spawn(move || merge(&job, &thread_name, &flag))
            .map_err(|e| Error::msg(format!("starting the compaction thread: {e}")))?;
        Ok(Self {
            covers,
            name: out,
            thread: Some(thread),
            done: None,
            cancel,
        })
    }

    /// Whether the thread has ended (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.done.is_some() || self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the thread and returns the new base.
    pub fn wait(&mut self) -> Result<FileRef> {
        if let Some(thread) = self.thread.take() {
            let result = thread
                .join()
                .unwrap_or_else(|_| Err(Error::msg("the compaction thread panicked")));
            self.done = Some(result);
        }
        match &self.done {
            Some(Ok(file)) => Ok(file.clone()),
            Some(Err(e)) => Err(Error::msg(format!("compaction to {}: {e}", self.name))),
            None => Err(Error::msg("compaction result already taken")),
        }
    }
}

impl Drop for Compaction {
    /// A dropped compaction (table dropped or restored) stops at the next key group and
    /// removes its temporary file; it is not waited for.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

fn merge(job: &Job, name: &str, cancel: &AtomicBool) -> Result<FileRef> {
    let mut readers = job
        .inputs
        .iter()
        .map(|file| RowReader::open(&job.dir, file, job.key_groups))
        .collect::<Result<Vec<_>>>()?;
    write_durable_paced(&job.dir, name, SYNC_EVERY, |out| {
        let mut writer = RowWriter::new(out, Kind::Base, job.epoch, job.key_groups)?;
        for group in 0..job.key_groups {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::msg("cancelled"));
            }
            merge_group(&mut readers, &mut writer, group)?;
        }
        writer.finish()
    })
}

fn merge_group(readers: &mut [RowReader], writer: &mut RowWriter, group: u16) -> Result<()> {
    let mut rows: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
    for reader in readers {
        reader.for_each_in_group(group, |key, value| {
            rows.insert(key.to_vec(), value.map(<[u8]>::to_vec));
            Ok(())
        })?;
    }
    for (key, value) in &rows {
        if let Some(value) = value {
            writer.push(group, key, Some(value))?;
        }
    }
    Ok(())
}
