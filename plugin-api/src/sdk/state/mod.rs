//! Keyed operator state that survives restarts: [`KeyedState`].
//!
//! Stateful operators (dedup, window aggregation, joins) keep their state in a
//! [`KeyedState<K, V>`], an in-memory table whose checkpoints the host drives:
//!
//! - [`KeyedState::checkpoint`]`(epoch)` writes what changed since the previous
//!   checkpoint (upserts and tombstones) to one delta file and returns a small JSON
//!   handle that the host keeps in its checkpoint manifest;
//! - [`KeyedState::commit`]`(epoch)` is the host saying that checkpoint is durable; the
//!   files no longer needed by the last [`StateConfig::retain`] committed checkpoints are
//!   deleted;
//! - [`KeyedState::restore`]`(handle)` loads the state exactly as of a handle.
//!
//! ```no_run
//! use ferry_plugin_api::sdk::state::{KeyedState, StateConfig};
//! # fn main() -> ferry_plugin_api::sdk::Result<()> {
//! let config = StateConfig::new("/var/lib/ferry/node-3");
//! let mut seen: KeyedState<String, u64> = KeyedState::open(&config, "dedup")?;
//! seen.insert("order-17".to_owned(), 1_700_000_000);
//! let handle = seen.checkpoint(1)?; // kept by the host
//! seen.commit(1)?; // once the host's checkpoint 1 is durable
//! # let mut seen: KeyedState<String, u64> = KeyedState::open(&config, "dedup")?;
//! seen.restore(&handle)?; // after a restart
//! # Ok(()) }
//! ```
//!
//! # Key groups
//!
//! Keys are spread over a fixed number of key groups ([`StateConfig::key_groups`]), as in
//! Flink: `key_group = fold(fnv1a_64(postcard(key))) % key_groups`, with
//! `fold(h) = h ^ (h >> 32)`. The hash is over the key's postcard encoding, so it is the
//! same in every process, platform and Rust version. Files are sorted by group, so
//! several instances of a node can later each own a range of groups without the
//! operator's code changing.
//!
//! In memory, every key is in one hash table hashed with foldhash; a key's group is
//! computed once, when it is first inserted, and kept in its entry with a change flag. A
//! checkpoint finds the changed entries through a list of their hashes and groups (8
//! bytes each), so no key is copied to track it, and a key inserted and removed between
//! two checkpoints leaves nothing in the delta.
//!
//! # Files
//!
//! A table's files live in `<dir>/<name>/`, Arrow IPC files with columns
//! `key_group UInt16, key Binary, value Binary` (a null value is a tombstone), rows in
//! key-group order, keys and values encoded with postcard:
//!
//! - `d<epoch>-<run>.arrow`: a delta, the keys changed in the interval ending at `epoch`;
//! - `b<epoch>-<run>.arrow`: a base, the whole table as of `epoch` (no tombstones).
//!
//! `<run>` is a token of the process that wrote the file, so a run restarted from an older
//! checkpoint never overwrites a file that some retained handle names. Every file is
//! written to a `.tmp`, fsynced, renamed and its folder fsynced. A handle names its base
//! and deltas with their length and CRC-32, which are checked before a file is parsed:
//! a truncated or corrupt file is an error naming it.
//!
//! # Compaction
//!
//! After a checkpoint, if the deltas since the base outweigh the base (and there are at
//! least two), or there are [`StateConfig::max_deltas`] of them, a background thread
//! merges the base and those deltas *from disk* into a new base for that checkpoint's
//! epoch; the operator thread copies nothing. The first checkpoint after the thread has
//! finished names the new base in its handle. Older handles keep naming the old files,
//! which are deleted only once no retained handle needs them, so a crash at any moment
//! leaves every retained handle restorable.

mod codec;
mod compaction;
mod files;
mod format;
mod gc;
mod handle;
mod table;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use table::KeyedState;

use crate::abi::StateSize;

impl<K, V> KeyedState<K, V>
where
    K: serde::Serialize + serde::de::DeserializeOwned + Eq + std::hash::Hash + Clone,
    V: serde::Serialize + serde::de::DeserializeOwned,
{
    /// Keys held and their encoded bytes, for [`Transform::state_size`](crate::sdk::Transform::state_size).
    pub fn size(&self) -> StateSize {
        StateSize {
            keys: self.len() as u64,
            bytes: self.approx_bytes(),
        }
    }
}

/// Where and how a node keeps its state.
#[derive(Clone, Debug)]
pub struct StateConfig {
    /// The node's own state folder (the host gives each node one); created if missing.
    /// Each table keeps its files in a sub-folder named after it.
    pub dir: PathBuf,
    /// How many committed checkpoints stay restorable (at least 1; default 2).
    pub retain: usize,
    /// The number of key groups keys are spread over (at least 1; default 128). It is
    /// recorded in every file and handle; restoring with a different number is refused.
    pub key_groups: u16,
    /// Deltas after which a compaction is started even if they weigh less than the base
    /// (default 16); it bounds the files a restore reads and the handle's size.
    pub max_deltas: usize,
}

impl StateConfig {
    /// The defaults: `retain` 2, `key_groups` 128, `max_deltas` 16.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            retain: 2,
            key_groups: 128,
            max_deltas: 16,
        }
    }
}

/// Figures about a table, for progress lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateStats {
    /// Keys held.
    pub keys: usize,
    /// Encoded bytes of the keys and values held (see [`KeyedState::approx_bytes`]).
    pub approx_bytes: u64,
    /// Bytes of the delta file the last checkpoint wrote (0 if nothing had changed).
    pub last_checkpoint_bytes: u64,
    /// Bytes of the base file the next handle names (0 before the first compaction).
    pub base_bytes: u64,
    /// Delta files the next handle names.
    pub deltas: usize,
    /// Compactions finished and adopted so far.
    pub compactions: u64,
    /// Whether a compaction is running (or finished and not yet adopted).
    pub compacting: bool,
}
