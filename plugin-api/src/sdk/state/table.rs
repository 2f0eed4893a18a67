//! [`KeyedState`]: the in-memory table, its checkpoints, restores and commits.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs;
use std::hash::Hash;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::{self, decode, encode_into};
use super::compaction::{Compaction, Job};
use super::files::{file_name, run_token, sync_dir, write_durable, FileRef, Kind};
use super::format::{RowReader, RowWriter, FORMAT_VERSION};
use super::gc;
use super::handle::Handle;
use super::{StateConfig, StateStats};
use crate::sdk::{Error, ErrorContext, Result};

/// One value and the encoded size of its key and value, as last measured.
struct Slot<V> {
    value: V,
    bytes: u64,
}

/// The table: one map per key group.
type Groups<K, V> = Vec<HashMap<K, Slot<V>>>;

/// The files the next handle will name: a base (after the first compaction) and the
/// deltas written since it, oldest first.
#[derive(Default)]
struct Chain {
    base: Option<FileRef>,
    deltas: Vec<FileRef>,
}

impl Chain {
    fn delta_bytes(&self) -> u64 {
        self.deltas.iter().map(FileRef::len).sum()
    }

    fn base_bytes(&self) -> u64 {
        self.base.as_ref().map_or(0, FileRef::len)
    }
}

/// Set by `restore`: the restored epoch and how many checkpoints were committed since.
struct Restored {
    epoch: u64,
    commits: usize,
}

/// A keyed table of operator state that survives restarts through checkpoints.
///
/// Entries live in memory, in one hash map per key group. [`checkpoint`](Self::checkpoint)
/// writes the keys changed since the previous checkpoint to a delta file and returns a
/// small handle for the host's manifest; [`restore`](Self::restore) loads the state as of
/// a handle; [`commit`](Self::commit) deletes the files no retained checkpoint needs. A
/// background compaction folds deltas into a new base file now and then (see the
/// [module documentation](super)).
pub struct KeyedState<K, V> {
    table: String,
    dir: PathBuf,
    key_groups: u16,
    retain: usize,
    max_deltas: usize,
    run: String,
    groups: Groups<K, V>,
    /// Per key group, the keys inserted, changed or removed since the last checkpoint.
    changed: Vec<HashSet<K>>,
    bytes: u64,
    chain: Chain,
    last_epoch: Option<u64>,
    /// Handles returned by `checkpoint` and not yet committed, oldest first.
    pending: Vec<Handle>,
    /// The last `retain` committed handles, oldest first.
    committed: VecDeque<Handle>,
    compaction: Option<Compaction>,
    restored: Option<Restored>,
    compactions: u64,
    last_checkpoint_bytes: u64,
}

impl<K, V> KeyedState<K, V>
where
    K: Serialize + DeserializeOwned + Hash + Eq + Clone,
    V: Serialize + DeserializeOwned,
{
    /// Opens an empty table whose files live in `config.dir/<name>/` (created if needed).
    /// Call [`restore`](Self::restore) to load a checkpoint into it.
    pub fn open(config: &StateConfig, name: &str) -> Result<Self> {
        check_config(config, name)?;
        let dir = config.dir.join(name);
        create_dir_durably(&dir)?;
        let groups = usize::from(config.key_groups);
        Ok(Self {
            table: name.to_owned(),
            dir,
            key_groups: config.key_groups,
            retain: config.retain,
            max_deltas: config.max_deltas.max(1),
            run: run_token(),
            groups: (0..groups).map(|_| HashMap::new()).collect(),
            changed: (0..groups).map(|_| HashSet::new()).collect(),
            bytes: 0,
            chain: Chain::default(),
            last_epoch: None,
            pending: Vec::new(),
            committed: VecDeque::new(),
            compaction: None,
            restored: None,
            compactions: 0,
            last_checkpoint_bytes: 0,
        })
    }

    /// The folder holding this table's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key group of `key`: `fold(fnv1a_64(postcard(key))) % key_groups`, the same in
    /// every process and on every platform (see the [module documentation](super)).
    pub fn key_group(&self, key: &K) -> u16 {
        codec::group_of(key, self.key_groups)
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        let group = usize::from(self.key_group(key));
        self.groups[group].get(key).map(|slot| &slot.value)
    }

    /// The value of `key`, to change in place; the key is written at the next checkpoint.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let group = usize::from(self.key_group(key));
        let slot = self.groups[group].get_mut(key)?;
        mark(&mut self.changed[group], key);
        Some(&mut slot.value)
    }

    /// Sets the value of `key` and returns the previous one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let group = usize::from(self.key_group(&key));
        let bytes = (codec::encoded_len(&key) + codec::encoded_len(&value)) as u64;
        mark(&mut self.changed[group], &key);
        self.bytes += bytes;
        let old = self.groups[group].insert(key, Slot { value, bytes })?;
        self.bytes -= old.bytes;
        Some(old.value)
    }

    /// Removes `key` and returns its value; the removal is written at the next checkpoint.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let group = usize::from(self.key_group(key));
        let old = self.groups[group].remove(key)?;
        mark(&mut self.changed[group], key);
        self.bytes -= old.bytes;
        Some(old.value)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        let group = usize::from(self.key_group(key));
        self.groups[group].contains_key(key)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.groups.iter().map(HashMap::len).sum()
    }

    /// Whether the table has no keys.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(HashMap::is_empty)
    }

    /// The encoded size of all keys and values: exact after a checkpoint or restore; in
    /// between, values changed in place through [`get_mut`](Self::get_mut) count at
    /// their size as of the last checkpoint.
    pub fn approx_bytes(&self) -> u64 {
        self.bytes
    }

    /// Every entry, in key-group order (and in no particular order within a group).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.groups
            .iter()
            .flat_map(|group| group.iter().map(|(k, slot)| (k, &slot.value)))
    }

    /// Keeps the entries for which `keep` returns true and removes the others, e.g. the
    /// windows a watermark has passed. The removals are written at the next checkpoint.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let bytes = &mut self.bytes;
        for (group, changed) in self.groups.iter_mut().zip(&mut self.changed) {
            group.retain(|key, slot| {
                let kept = keep(key, &slot.value);
                if !kept {
                    mark(changed, key);
                    *bytes -= slot.bytes;
                }
                kept
            });
        }
    }

    /// Figures for progress lines and benchmarks.
    pub fn stats(&self) -> StateStats {
        StateStats {
            keys: self.len(),
            approx_bytes: self.bytes,
            last_checkpoint_bytes: self.last_checkpoint_bytes,
            base_bytes: self.chain.base_bytes(),
            deltas: self.chain.deltas.len(),
            compactions: self.compactions,
            compacting: self.compaction.is_some(),
        }
    }

    /// Makes the state as of now durable and returns the handle of checkpoint `epoch`
    /// (a few hundred bytes of JSON), to keep in the host's checkpoint manifest.
    ///
    /// Only the keys changed since the previous checkpoint are written, to one delta file
    /// (none if nothing changed). A compaction that has finished is adopted first, so the
    /// handle names its new base; one may be started afterwards. `epoch` must be greater
    /// than that of the previous checkpoint or restore. If writing fails, the changes are
    /// kept and go into the next checkpoint.
    pub fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        if let Some(last) = self.last_epoch.filter(|&last| epoch <= last) {
            return Err(Error::msg(format!(
                "state {:?}: checkpoint epoch {epoch} is not after the last one, {last}",
                self.table
            )));
        }
        self.adopt_compaction(false)?;
        self.last_checkpoint_bytes = 0;
        if let Some(delta) = self.write_delta(epoch)? {
            self.last_checkpoint_bytes = delta.len();
            self.chain.deltas.push(delta);
        }
        self.last_epoch = Some(epoch);
        let handle = self.handle(epoch);
        let bytes = handle.to_bytes()?;
        self.pending.push(handle);
        self.maybe_compact(epoch);
        Ok(bytes)
    }

    /// Waits for a running compaction, so the next checkpoint names its base. Useful
    /// before shutting down; errors of the compaction are returned.
    pub fn wait_for_compaction(&mut self) -> Result<()> {
        self.adopt_compaction(true)
    }

    /// The host says checkpoint `epoch` is durable. Keeps the files of the last `retain`
    /// committed checkpoints (and of newer, uncommitted ones) and deletes the rest.
    /// Checkpoints before `epoch` that were never committed are dropped.
    ///
    /// After a restore, files this run does not know of are kept while checkpoints of the
    /// run before it can still be among the last `retain` committed ones.
    pub fn commit(&mut self, epoch: u64) -> Result<()> {
        let Some(at) = self.pending.iter().position(|h| h.epoch == epoch) else {
            if self.committed.iter().any(|h| h.epoch == epoch) {
                return Ok(());
            }
            return Err(Error::msg(format!(
                "state {:?}: commit of epoch {epoch}, which was not checkpointed",
                self.table
            )));
        };
        let handle = self.pending.drain(..=at).next_back();
        self.committed.extend(handle);
        while self.committed.len() > self.retain {
            self.committed.pop_front();
        }
        if let Some(restored) = &mut self.restored {
            restored.commits += 1;
        }
        self.collect_garbage().map(drop)
    }

    /// Replaces the table's contents with the state of checkpoint `handle`: its base,
    /// then its deltas in order. Files not named by the handle (those of a crashed run
    /// written after it, say) are ignored. On error the table is left unchanged.
    pub fn restore(&mut self, handle: &[u8]) -> Result<()> {
        let handle = Handle::parse(handle, &self.table, self.key_groups)
            .with_context(|| format!("restoring state {:?}", self.table))?;
        let (groups, bytes) = self.load(&handle)?;
        self.groups = groups;
        self.bytes = bytes;
        self.changed.iter_mut().for_each(HashSet::clear);
        self.continue_from(handle);
        Ok(())
    }

    /// Makes `handle` (just restored) the latest checkpoint and a committed one.
    fn continue_from(&mut self, handle: Handle) {
        // A compaction of the state replaced is dropped, which stops it; a new run token
        // keeps this lineage's files apart from any it might still write, and from the
        // files of this run's handles after the restored one.
        self.compaction = None;
        self.run = run_token();
        self.chain = Chain {
            base: handle.base.clone(),
            deltas: handle.deltas.clone(),
        };
        self.last_epoch = Some(handle.epoch);
        self.pending.clear();
        self.committed.retain(|h| h.epoch < handle.epoch);
        self.restored = Some(Restored {
            epoch: handle.epoch,
            commits: 0,
        });
        self.committed.push_back(handle);
        while self.committed.len() > self.retain {
            self.committed.pop_front();
        }
    }

    /// Deletes unreferenced files now (also done by every commit); returns their names.
    pub fn collect_garbage(&mut self) -> Result<Vec<String>> {
        let mut keep: HashSet<&str> = HashSet::new();
        let handles = self.committed.iter().chain(&self.pending);
        keep.extend(handles.flat_map(Handle::files).map(FileRef::name));
        keep.extend(
            self.chain
                .base
                .iter()
                .chain(&self.chain.deltas)
                .map(FileRef::name),
        );
        keep.extend(self.compaction.iter().map(|c| c.name.as_str()));
        let protect = self
            .restored
            .as_ref()
            .filter(|r| r.commits + 1 < self.retain)
            .map(|r| r.epoch);
        gc::collect(&self.dir, &keep, protect)
            .with_context(|| format!("state {:?}: collecting old files", self.table))
    }

    fn handle(&self, epoch: u64) -> Handle {
        Handle {
            format: FORMAT_VERSION,
            table: self.table.clone(),
            epoch,
            key_groups: self.key_groups,
            base: self.chain.base.clone(),
            deltas: self.chain.deltas.clone(),
        }
    }

    /// Writes the changed keys (upserts and tombstones) in key-group order.
    fn write_delta(&mut self, epoch: u64) -> Result<Option<FileRef>> {
        if self.changed.iter().all(HashSet::is_empty) {
            return Ok(None);
        }
        let name = file_name(Kind::Delta, epoch, &self.run);
        let key_groups = self.key_groups;
        let (groups, changed, bytes) = (&mut self.groups, &self.changed, &mut self.bytes);
        let file = write_durable(&self.dir, &name, |out| {
            let mut writer = RowWriter::new(out, Kind::Delta, epoch, key_groups)?;
            let (mut k, mut v) = (Vec::new(), Vec::new());
            for (group, keys) in changed.iter().enumerate() {
                for key in keys {
                    k.clear();
                    encode_into(key, &mut k).context("key")?;
                    let value = match groups[group].get_mut(key) {
                        Some(slot) => Some(encode_slot(slot, &k, &mut v, bytes)?),
                        None => None,
                    };
                    writer.push(group as u16, &k, value)?;
                }
            }
            writer.finish()
        })
        .with_context(|| format!("state {:?}: checkpoint {epoch}", self.table))?;
        self.changed.iter_mut().for_each(HashSet::clear);
        Ok(Some(file))
    }

    /// Takes over a finished compaction's base: its deltas leave the chain. With `wait`,
    /// waits for a running one. A failed compaction is logged (or, waited for, returned)
    /// and tried again later.
    fn adopt_compaction(&mut self, wait: bool) -> Result<()> {
        let Some(compaction) = &mut self.compaction else {
            return Ok(());
        };
        if !wait && !compaction.is_finished() {
            return Ok(());
        }
        let result = compaction.wait();
        let covers = compaction.covers;
        self.compaction = None;
        match result {
            Ok(base) => {
                self.chain.deltas.drain(..covers);
                self.chain.base = Some(base);
                self.compactions += 1;
                Ok(())
            }
            Err(e) if wait => Err(e.context(format!("state {:?}", self.table))),
            Err(e) => {
                log::warn!("state {:?}: {e}; will try again", self.table);
                Ok(())
            }
        }
    }

    /// Starts a compaction when the deltas outweigh the base (with at least two deltas)
    /// or there are `max_deltas` of them; one runs at a time.
    fn maybe_compact(&mut self, epoch: u64) {
        let deltas = self.chain.deltas.len();
        let due = deltas >= self.max_deltas
            || (deltas >= 2 && self.chain.delta_bytes() >= self.chain.base_bytes());
        if self.compaction.is_some() || !due {
            return;
        }
        let job = Job {
            dir: self.dir.clone(),
            inputs: self
                .chain
                .base
                .iter()
                .chain(&self.chain.deltas)
                .cloned()
                .collect(),
            epoch,
            covers: deltas,
            run: self.run.clone(),
            key_groups: self.key_groups,
        };
        match Compaction::start(job) {
            Ok(compaction) => self.compaction = Some(compaction),
            Err(e) => log::warn!("state {:?}: {e}", self.table),
        }
    }

    /// Reads the state of `handle` into new maps (base first, then deltas in order).
    fn load(&self, handle: &Handle) -> Result<(Groups<K, V>, u64)> {
        let mut groups: Groups<K, V> = (0..self.key_groups).map(|_| HashMap::new()).collect();
        let mut bytes = 0u64;
        for file in handle.files() {
            let mut reader = RowReader::open(&self.dir, file, self.key_groups)?;
            reader.for_each(|group, key, value| {
                apply_row(&mut groups, &mut bytes, self.key_groups, group, key, value)
            })?;
        }
        Ok((groups, bytes))
    }
}

/// Records that `key` changed; clones it only the first time in a checkpoint interval.
fn mark<K: Hash + Eq + Clone>(changed: &mut HashSet<K>, key: &K) {
    if !changed.contains(key) {
        changed.insert(key.clone());
    }
}

/// Encodes a slot's value into `out` and updates its recorded size.
fn encode_slot<'a, V: Serialize>(
    slot: &mut Slot<V>,
    key: &[u8],
    out: &'a mut Vec<u8>,
    total: &mut u64,
) -> Result<&'a [u8]> {
    out.clear();
    encode_into(&slot.value, out).context("value")?;
    let bytes = (key.len() + out.len()) as u64;
    *total = *total - slot.bytes + bytes;
    slot.bytes = bytes;
    Ok(out)
}

/// Applies one stored row (an upsert, or a tombstone when `value` is `None`).
fn apply_row<K, V>(
    groups: &mut [HashMap<K, Slot<V>>],
    total: &mut u64,
    key_groups: u16,
    group: u16,
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<()>
where
    K: DeserializeOwned + Hash + Eq,
    V: DeserializeOwned,
{
    let hashed = codec::group_of_bytes(key, key_groups);
    if hashed != group {
        return Err(Error::msg(format!(
            "a key stored in key group {group} hashes to group {hashed}"
        )));
    }
    let decoded: K = decode(key).context("decoding a key")?;
    let map = &mut groups[usize::from(group)];
    let old = match value {
        Some(value) => {
            let bytes = (key.len() + value.len()) as u64;
            let value = decode(value).context("decoding a value")?;
            *total += bytes;
            map.insert(decoded, Slot { value, bytes })
        }
        None => map.remove(&decoded),
    };
    *total -= old.map_or(0, |slot| slot.bytes);
    Ok(())
}

fn check_config(config: &StateConfig, name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name().is_some();
    if !plain {
        return Err(Error::msg(format!(
            "state name {name:?} must be a plain folder name"
        )));
    }
    if config.retain == 0 || config.key_groups == 0 {
        return Err(Error::msg(format!(
            "state {name:?}: retain ({}) and key_groups ({}) must be at least 1",
            config.retain, config.key_groups
        )));
    }
    Ok(())
}

/// Creates `dir` and makes its entry (and its parent's) durable.
fn create_dir_durably(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating state folder {}", dir.display()))?;
    for parent in dir.ancestors().skip(1).take(2) {
        if parent.as_os_str().is_empty() {
            break;
        }
        sync_dir(parent)?;
    }
    Ok(())
}
