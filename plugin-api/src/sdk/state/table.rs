//! [`KeyedState`]: the in-memory table, its checkpoints, restores and commits.

use std::borrow::Borrow;
use std::collections::{HashSet, VecDeque};
use std::fs;
use std::hash::{BuildHasher, Hash};
use std::path::{Path, PathBuf};

use hashbrown::HashTable;
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

/// The entry changed since the last checkpoint: the next delta writes it.
const CHANGED: u8 = 1;
/// The checkpoints written so far hold the key (its last row in them is an upsert), so
/// removing it needs a tombstone.
const STORED: u8 = 2;

/// One key, its value and what the table knows about them.
struct Entry<K, V> {
    key: K,
    /// `None`: removed since the last checkpoint, kept as a tombstone to be written.
    value: Option<V>,
    /// The encoded size of key and value, as last measured (0 for a tombstone).
    bytes: u32,
    /// The key group, computed once when the key came in.
    group: u16,
    flags: u8,
}

/// The in-memory table: every key in one hash table. Lookups use foldhash; the key
/// group (fnv1a over the key's postcard encoding, the files' contract) is only computed
/// when a key is first inserted, and stored in its entry.
type Table<K, V> = HashTable<Entry<K, V>>;

/// The hash of the in-memory table (not the key group's, which is fixed by the files).
type Hasher = foldhash::fast::RandomState;

/// A key's hash has 48 bits (foldhash's, cut), spread over 64 for the hash table. A
/// change-list item holds the 48 bits under the key group, so that sorting the list sorts
/// by key group, and the entry can be found again without a copy of its key.
const HASH_BITS: u64 = (1 << 48) - 1;

/// The table's hash of a key: 48 bits of foldhash, multiplied by an odd constant so that
/// the top bits (hashbrown's tags) and the low ones (its buckets) both vary.
fn hash_of<Q: Hash + ?Sized>(hasher: &Hasher, key: &Q) -> u64 {
    spread(hasher.hash_one(key) & HASH_BITS)
}

fn spread(short: u64) -> u64 {
    short.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Back from the table's hash to the 48 bits (the constant is odd, so invertible).
fn unspread(hash: u64) -> u64 {
    // The inverse of 0x9e3779b97f4a7c15 modulo 2^64.
    hash.wrapping_mul(0xf1de_83e1_9937_733d) & HASH_BITS
}

fn change_item(group: u16, hash: u64) -> u64 {
    (u64::from(group) << 48) | unspread(hash)
}

fn item_parts(item: u64) -> (u16, u64) {
    ((item >> 48) as u16, spread(item & HASH_BITS))
}

/// Marks `entry` (of table hash `hash`) changed, listing it the first time.
fn mark<K, V>(entry: &mut Entry<K, V>, hash: u64, changes: &mut Vec<u64>) {
    if entry.flags & CHANGED == 0 {
        entry.flags |= CHANGED;
        changes.push(change_item(entry.group, hash));
    }
}

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
/// Entries live in memory, in one hash table. [`checkpoint`](Self::checkpoint)
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
    entries: Table<K, V>,
    hasher: Hasher,
    /// Keys with a value (the entries less the tombstones).
    live: usize,
    /// The entries changed since the last checkpoint, as [`change_item`]s: an entry's
    /// `CHANGED` flag says whether it is listed, so each is listed once (a removed and
    /// re-inserted key may be listed twice; the list is deduplicated when written).
    changes: Vec<u64>,
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
    K: Serialize + DeserializeOwned + Hash + Eq,
    V: Serialize + DeserializeOwned,
{
    /// Opens an empty table whose files live in `config.dir/<name>/` (created if needed).
    /// Call [`restore`](Self::restore) to load a checkpoint into it.
    pub fn open(config: &StateConfig, name: &str) -> Result<Self> {
        check_config(config, name)?;
        let dir = config.dir.join(name);
        create_dir_durably(&dir)?;
        Ok(Self {
            table: name.to_owned(),
            dir,
            key_groups: config.key_groups,
            retain: config.retain,
            max_deltas: config.max_deltas.max(1),
            run: run_token(),
            entries: HashTable::new(),
            hasher: Hasher::default(),
            live: 0,
            changes: Vec::new(),
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

    fn find<Q>(&self, key: &Q) -> Option<&Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = hash_of(&self.hasher, key);
        self.entries.find(hash, |e| e.key.borrow() == key)
    }

    /// The value of `key` (a `&K`, or what `K` borrows as: `&[u8]` for `Vec<u8>`).
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key)?.value.as_ref()
    }

    /// The value of `key`, to change in place; the key is written at the next checkpoint.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = hash_of(&self.hasher, key);
        let entry = self.entries.find_mut(hash, |e| e.key.borrow() == key)?;
        entry.value.as_ref()?;
        mark(entry, hash, &mut self.changes);
        entry.value.as_mut()
    }

    /// Sets the value of `key` and returns the previous one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let hash = hash_of(&self.hasher, &key);
        let value_len = codec::encoded_len(&value);
        let changes = &mut self.changes;
        if let Some(entry) = self.entries.find_mut(hash, |e| e.key == key) {
            let bytes = measured(codec::encoded_len(&key) + value_len);
            mark(entry, hash, changes);
            self.bytes = self.bytes - u64::from(entry.bytes) + u64::from(bytes);
            entry.bytes = bytes;
            let old = entry.value.replace(value);
            self.live += usize::from(old.is_none());
            return old;
        }
        let (key_len, group) = codec::len_and_group(&key, self.key_groups);
        let bytes = measured(key_len + value_len);
        self.bytes += u64::from(bytes);
        self.live += 1;
        let mut entry = Entry {
            key,
            value: Some(value),
            bytes,
            group,
            flags: 0,
        };
        mark(&mut entry, hash, changes);
        let hasher = &self.hasher;
        self.entries
            .insert_unique(hash, entry, |e| hash_of(hasher, &e.key));
        None
    }

    /// The value of `key`, to change in place, inserted first as `make()` (which gives
    /// `key` owned, and the value) if there is none: one lookup either way. The key is
    /// written at the next checkpoint.
    pub fn get_or_insert_with<Q>(&mut self, key: &Q, make: impl FnOnce() -> (K, V)) -> &mut V
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = hash_of(&self.hasher, key);
        let hasher = &self.hasher;
        let found =
            self.entries
                .entry(hash, |e| e.key.borrow() == key, |e| hash_of(hasher, &e.key));
        let entry = match found {
            hashbrown::hash_table::Entry::Occupied(found) => {
                let entry = found.into_mut();
                if entry.value.is_none() {
                    // A tombstone not yet written comes back to life.
                    let (_, value) = make();
                    let bytes =
                        measured(codec::encoded_len(&entry.key) + codec::encoded_len(&value));
                    self.bytes += u64::from(bytes);
                    self.live += 1;
                    entry.bytes = bytes;
                    entry.value = Some(value);
                }
                entry
            }
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let (owned, value) = make();
                let (key_len, group) = codec::len_and_group(&owned, self.key_groups);
                let bytes = measured(key_len + codec::encoded_len(&value));
                self.bytes += u64::from(bytes);
                self.live += 1;
                let entry = Entry {
                    key: owned,
                    value: Some(value),
                    bytes,
                    group,
                    flags: 0,
                };
                vacant.insert(entry).into_mut()
            }
        };
        mark(entry, hash, &mut self.changes);
        entry.value.as_mut().expect("a value was set above")
    }

    /// Removes `key` and returns its value; the removal is written at the next checkpoint.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = hash_of(&self.hasher, key);
        let found = self
            .entries
            .find_entry(hash, |e| e.key.borrow() == key)
            .ok()?;
        found.get().value.as_ref()?;
        self.live -= 1;
        if found.get().flags & STORED == 0 {
            // Never written: nothing to undo on disk.
            let (entry, _) = found.remove();
            self.bytes -= u64::from(entry.bytes);
            return entry.value;
        }
        let entry = found.into_mut();
        self.bytes -= u64::from(entry.bytes);
        entry.bytes = 0;
        mark(entry, hash, &mut self.changes);
        entry.value.take()
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the table has no keys.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The encoded size of all keys and values: exact after a checkpoint or restore; in
    /// between, values changed in place through [`get_mut`](Self::get_mut) count at
    /// their size as of the last checkpoint.
    pub fn approx_bytes(&self) -> u64 {
        self.bytes
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        (self.entries.iter()).filter_map(|e| e.value.as_ref().map(|v| (&e.key, v)))
    }

    /// Keeps the entries for which `keep` returns true and removes the others, e.g. the
    /// windows a watermark has passed. The removals are written at the next checkpoint.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let (bytes, live, changes) = (&mut self.bytes, &mut self.live, &mut self.changes);
        let hasher = &self.hasher;
        self.entries.retain(|entry| {
            let Some(value) = &entry.value else {
                return true;
            };
            if keep(&entry.key, value) {
                return true;
            }
            *bytes -= u64::from(entry.bytes);
            *live -= 1;
            if entry.flags & STORED == 0 {
                return false;
            }
            entry.bytes = 0;
            entry.value = None;
            mark(entry, hash_of(hasher, &entry.key), changes);
            true
        });
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
        let (entries, bytes) = self.load(&handle)?;
        self.live = entries.len();
        self.entries = entries;
        self.bytes = bytes;
        self.changes.clear();
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

    /// Writes the changed keys (upserts and tombstones) in key-group order; once the
    /// file is durable, clears their flags and drops the tombstones written.
    fn write_delta(&mut self, epoch: u64) -> Result<Option<FileRef>> {
        if self.changes.is_empty() {
            return Ok(None);
        }
        self.changes.sort_unstable();
        self.changes.dedup();
        let name = file_name(Kind::Delta, epoch, &self.run);
        let key_groups = self.key_groups;
        let (entries, changes, bytes) = (&mut self.entries, &self.changes, &mut self.bytes);
        let hasher = &self.hasher;
        let file = write_durable(&self.dir, &name, |out| {
            let mut writer = RowWriter::new(out, Kind::Delta, epoch, key_groups)?;
            let (mut k, mut v) = (Vec::new(), Vec::new());
            for &item in changes {
                let (group, hash) = item_parts(item);
                for entry in entries.iter_hash_mut(hash) {
                    if !is_listed(entry, group, hash, hasher) {
                        continue;
                    }
                    k.clear();
                    encode_into(&entry.key, &mut k).context("key")?;
                    let value = match &entry.value {
                        Some(value) => Some(encode_value(value, &k, &mut v)?),
                        None => None,
                    };
                    let measured = value.map_or(0, |v| measured(k.len() + v.len()));
                    *bytes = *bytes - u64::from(entry.bytes) + u64::from(measured);
                    entry.bytes = measured;
                    writer.push(group, &k, value)?;
                }
            }
            writer.finish()
        })
        .with_context(|| format!("state {:?}: checkpoint {epoch}", self.table))?;
        for item in std::mem::take(&mut self.changes) {
            let (group, hash) = item_parts(item);
            let mut tombstones = false;
            for entry in self.entries.iter_hash_mut(hash) {
                if is_listed(entry, group, hash, &self.hasher) {
                    entry.flags &= !CHANGED;
                    match entry.value {
                        Some(_) => entry.flags |= STORED,
                        None => tombstones = true,
                    }
                }
            }
            while tombstones {
                let hasher = &self.hasher;
                let written = |e: &Entry<K, V>| {
                    e.value.is_none() && e.flags & CHANGED == 0 && hash_of(hasher, &e.key) == hash
                };
                match self.entries.find_entry(hash, written) {
                    Ok(found) => drop(found.remove()),
                    Err(_) => tombstones = false,
                }
            }
        }
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

    /// Reads the state of `handle` into a new table (base first, then deltas in order).
    fn load(&self, handle: &Handle) -> Result<(Table<K, V>, u64)> {
        let mut entries: Table<K, V> = HashTable::new();
        let mut bytes = 0u64;
        for file in handle.files() {
            let mut reader = RowReader::open(&self.dir, file, self.key_groups)?;
            reader.for_each(|group, key, value| {
                let row = Row { group, key, value };
                apply_row(&mut entries, &self.hasher, &mut bytes, self.key_groups, row)
            })?;
        }
        Ok((entries, bytes))
    }
}

/// Whether `entry`, found by its hash `hash`, is the change-list item `(group, hash)`:
/// a hash-table probe may also yield entries of other hashes.
fn is_listed<K: Hash, V>(entry: &Entry<K, V>, group: u16, hash: u64, hasher: &Hasher) -> bool {
    entry.flags & CHANGED != 0 && entry.group == group && hash_of(hasher, &entry.key) == hash
}

/// A size as an entry records it (a single key and value never near 4 GiB in practice).
fn measured(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// Encodes a value into `out`, after its key `key` (for the error's context).
fn encode_value<'a, V: Serialize>(value: &V, key: &[u8], out: &'a mut Vec<u8>) -> Result<&'a [u8]> {
    out.clear();
    encode_into(value, out).with_context(|| format!("value of a key of {} bytes", key.len()))?;
    Ok(out)
}

/// One stored row: an upsert, or a tombstone when `value` is `None`.
struct Row<'a> {
    group: u16,
    key: &'a [u8],
    value: Option<&'a [u8]>,
}

/// Applies one stored row to a table being loaded.
fn apply_row<K, V>(
    entries: &mut Table<K, V>,
    hasher: &Hasher,
    total: &mut u64,
    key_groups: u16,
    row: Row<'_>,
) -> Result<()>
where
    K: DeserializeOwned + Hash + Eq,
    V: DeserializeOwned,
{
    let Row { group, key, value } = row;
    let hashed = codec::group_of_bytes(key, key_groups);
    if hashed != group {
        return Err(Error::msg(format!(
            "a key stored in key group {group} hashes to group {hashed}"
        )));
    }
    let decoded: K = decode(key).context("decoding a key")?;
    let hash = hash_of(hasher, &decoded);
    let found = entries.find_entry(hash, |e| e.key == decoded);
    let Some(value) = value else {
        if let Ok(found) = found {
            *total -= u64::from(found.remove().0.bytes);
        }
        return Ok(());
    };
    let bytes = measured(key.len() + value.len());
    let value = decode(value).context("decoding a value")?;
    *total += u64::from(bytes);
    match found {
        Ok(found) => {
            let entry = found.into_mut();
            *total -= u64::from(entry.bytes);
            entry.value = Some(value);
            entry.bytes = bytes;
        }
        Err(_) => {
            let entry = Entry {
                key: decoded,
                value: Some(value),
                bytes,
                group,
                flags: STORED,
            };
            entries.insert_unique(hash, entry, |e| hash_of(hasher, &e.key));
        }
    }
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
