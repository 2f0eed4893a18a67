//! What the source checkpoints so that every file is read exactly once across restarts:
//! the files read to the end, the file being read with how many of its records were
//! consumed, and the finished files waiting for an epoch's commit to be cleaned up.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use ferry_plugin_api::sdk::{ErrorContext, Result};
use ferry_plugin_api::serde_json;
use serde::{Deserialize, Serialize};

use crate::stable::Snapshot;

/// A file partly read: its first `records` records were emitted or rejected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub path: String,
    pub records: u64,
    /// Its size and modification time when it was admitted: it is read up to that size,
    /// and a change is reported (absent in checkpoints written before it existed).
    #[serde(default)]
    pub admitted: Option<Snapshot>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    completed: BTreeSet<String>,
    current: Option<Progress>,
    /// Files finished before each epoch's checkpoint, to clean up when it commits.
    to_clean: BTreeMap<u64, Vec<String>>,
    /// The latest modification time of the files listed so far, which `max_file_age`
    /// counts from (absent in checkpoints written before it existed).
    #[serde(default)]
    newest: Option<SystemTime>,
    /// Files finished since the last checkpoint, to clean up.
    #[serde(skip)]
    finished: Vec<String>,
}

impl State {
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).context("restoring the file source's checkpoint")
    }

    /// Records the state as of `epoch`'s barrier.
    pub fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        if !self.finished.is_empty() {
            let finished = std::mem::take(&mut self.finished);
            self.to_clean.entry(epoch).or_default().extend(finished);
        }
        Ok(serde_json::to_vec(self)?)
    }

    /// Whether `path` was read, or is being read.
    pub fn seen(&self, path: &str) -> bool {
        self.completed.contains(path) || self.current.as_ref().is_some_and(|c| c.path == path)
    }

    /// The latest modification time of the files admitted so far.
    pub fn newest(&self) -> Option<SystemTime> {
        self.newest
    }

    /// A file modified at `modified` was admitted.
    pub fn admitted(&mut self, modified: SystemTime) {
        self.newest = self.newest.max(Some(modified));
    }

    pub fn current(&self) -> Option<&Progress> {
        self.current.as_ref()
    }

    pub fn start(&mut self, path: &str, admitted: Snapshot) {
        self.current = Some(Progress {
            path: path.to_string(),
            records: 0,
            admitted: Some(admitted),
        });
    }

    /// Records the current file's snapshot if it had none (see `Progress::admitted`).
    pub fn pin(&mut self, admitted: Snapshot) {
        if let Some(current) = &mut self.current {
            current.admitted.get_or_insert(admitted);
        }
    }

    pub fn consumed(&mut self, records: usize) {
        if let Some(current) = &mut self.current {
            current.records += records as u64;
        }
    }

    /// The current file was read to the end; `clean` queues it for cleanup.
    pub fn finish(&mut self, clean: bool) {
        if let Some(Progress { path, .. }) = self.current.take() {
            if clean {
                self.finished.push(path.clone());
            }
            self.completed.insert(path);
        }
    }

    /// The current file is gone before its end: neither read nor to read again, so a
    /// new file of that name is read when it comes.
    pub fn forget(&mut self) {
        self.current = None;
    }

    /// Files whose cleanup is due once `epoch` has committed.
    pub fn due(&self, epoch: u64) -> impl Iterator<Item = &String> {
        self.to_clean.range(..=epoch).flat_map(|(_, files)| files)
    }

    /// The files due at `epoch` are gone: nothing can list them again, so forget them.
    pub fn cleaned(&mut self, epoch: u64) {
        let later = self.to_clean.split_off(&(epoch + 1));
        for path in std::mem::replace(&mut self.to_clean, later)
            .into_values()
            .flatten()
        {
            self.completed.remove(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            size: 10,
            modified: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn round_trips_progress_and_pending_cleanup() {
        let mut state = State::default();
        state.start("a.json", snapshot());
        state.consumed(3);
        state.finish(true);
        state.start("b.json", snapshot());
        state.consumed(2);
        let restored = State::restore(&state.checkpoint(7).unwrap()).unwrap();
        assert!(restored.seen("a.json") && restored.seen("b.json"));
        let current = restored.current().unwrap();
        assert_eq!((current.path.as_str(), current.records), ("b.json", 2));
        assert_eq!(current.admitted, Some(snapshot()));
        assert_eq!(restored.due(6).count(), 0);
        assert_eq!(restored.due(7).collect::<Vec<_>>(), ["a.json"]);
    }

    #[test]
    fn cleaned_files_are_forgotten() {
        let mut state = State::default();
        state.start("a.json", snapshot());
        state.finish(true);
        state.checkpoint(1).unwrap();
        state.start("b.json", snapshot());
        state.finish(true);
        state.checkpoint(2).unwrap();
        state.cleaned(1);
        assert!(!state.seen("a.json"));
        assert_eq!(state.due(2).collect::<Vec<_>>(), ["b.json"]);
    }
}
