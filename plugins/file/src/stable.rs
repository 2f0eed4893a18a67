//! Files that may still be growing: a file is admitted only once its size and
//! modification time have held for `file_stable_for`, it is read only up to the size it
//! had then, and a file that changed by the end of its reading is reported, so a file
//! caught while being written never yields a cut-off value or silently lost rows.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::time::{Duration, Instant, SystemTime};

use ferry_plugin_api::log::debug;
use ferry_plugin_api::sdk::duration::HumanDuration;
use serde::{Deserialize, Serialize};

/// A file's size and modification time, as they were when it was admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub size: u64,
    pub modified: SystemTime,
}

impl Snapshot {
    pub fn of(path: &str) -> io::Result<Self> {
        Self::from_metadata(&fs::metadata(path)?)
    }

    pub fn from_metadata(metadata: &fs::Metadata) -> io::Result<Self> {
        Ok(Self {
            size: metadata.len(),
            modified: metadata.modified()?,
        })
    }
}

/// The files listed that have not held still long enough yet, with the snapshot they
/// were last seen with and since when they have shown it.
#[derive(Debug)]
pub struct Settling {
    stable_for: Duration,
    seen: HashMap<String, (Snapshot, Instant)>,
}

impl Settling {
    pub fn new(stable_for: Duration) -> Self {
        Self {
            stable_for,
            seen: HashMap::new(),
        }
    }

    /// How much longer `name` must keep `snapshot` before it is admitted; `None` once it
    /// may be. A file unseen before counts as unchanged since its modification time, so
    /// old files are admitted at first sight.
    pub fn wait(&mut self, name: &str, snapshot: Snapshot) -> Option<Duration> {
        let now = Instant::now();
        let held = match self.seen.get(name) {
            Some((seen, since)) if *seen == snapshot => now.duration_since(*since),
            // Changed while watched: its modification time may be coarser than the change.
            Some(_) => {
                self.seen.insert(name.to_string(), (snapshot, now));
                Duration::ZERO
            }
            None => {
                // A modification time in the future (another clock) counts as now.
                let age = SystemTime::now()
                    .duration_since(snapshot.modified)
                    .unwrap_or_default();
                if age < self.stable_for {
                    let window = HumanDuration(self.stable_for);
                    debug!("'{name}' changed {age:?} ago; waiting until it has held still for {window}");
                }
                // Capped, so an old file kept back by a trigger limit stays admissible.
                let since = now.checked_sub(age.min(self.stable_for)).unwrap_or(now);
                self.seen.insert(name.to_string(), (snapshot, since));
                age
            }
        };
        Some(self.stable_for.saturating_sub(held)).filter(|left| !left.is_zero())
    }

    /// Keeps only the files a listing still found and did not admit.
    pub fn retain(&mut self, pending: impl Fn(&str) -> bool) {
        self.seen.retain(|name, _| pending(name));
    }
}

/// The reason a file that changed while it was read is rejected: what it was when
/// admitted, what it is now (`None`: gone), and what of it was read.
pub fn changed_reason(
    admitted: Snapshot,
    now: io::Result<Snapshot>,
    unterminated_line: Option<usize>,
) -> String {
    let then = admitted.size;
    let now = match now {
        Ok(now) if now.size == then => format!("has {then} bytes now, modified again"),
        Ok(now) => format!("has {} now", now.size),
        Err(e) => format!("is gone now ({e})"),
    };
    let read = match unterminated_line {
        Some(line) => format!("were read except line {line}, which had no newline yet, and"),
        None => "were read,".to_string(),
    };
    format!(
        "file changed while it was read: it had {then} bytes when it was picked up and {now}; \
         its records in those {then} bytes {read} the rest was not"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(size: u64, age: Duration) -> Snapshot {
        Snapshot {
            size,
            modified: SystemTime::now() - age,
        }
    }

    #[test]
    fn an_old_file_is_admitted_at_first_sight_a_fresh_one_once_it_held_still() {
        let mut settling = Settling::new(Duration::from_millis(50));
        assert_eq!(
            settling.wait("old", snapshot(3, Duration::from_secs(60))),
            None
        );
        let fresh = snapshot(3, Duration::ZERO);
        assert!(settling.wait("fresh", fresh).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(settling.wait("fresh", fresh), None);
    }

    #[test]
    fn a_change_starts_the_wait_again() {
        let mut settling = Settling::new(Duration::from_millis(50));
        let first = snapshot(3, Duration::ZERO);
        assert!(settling.wait("a", first).is_some());
        std::thread::sleep(Duration::from_millis(60));
        let grown = Snapshot { size: 5, ..first };
        assert!(settling.wait("a", grown).is_some());
    }

    #[test]
    fn nothing_waits_without_a_window() {
        let mut settling = Settling::new(Duration::ZERO);
        assert_eq!(settling.wait("a", snapshot(3, Duration::ZERO)), None);
    }
}
