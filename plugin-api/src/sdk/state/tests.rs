//! Behaviour of `KeyedState`: outcomes of checkpoint, restore, commit and compaction.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use super::codec::{fnv1a_64, group_of, group_of_bytes};
use super::format::RowReader;
use super::handle::Handle;
use super::{KeyedState, StateConfig};

type Table = KeyedState<u64, String>;

fn config(dir: &TempDir) -> StateConfig {
    StateConfig::new(dir.path().join("node"))
}

fn open(config: &StateConfig) -> Table {
    KeyedState::open(config, "t").unwrap()
}

fn snapshot(table: &Table) -> BTreeMap<u64, String> {
    table.iter().map(|(k, v)| (*k, v.clone())).collect()
}

fn restored(config: &StateConfig, handle: &[u8]) -> BTreeMap<u64, String> {
    let mut table = open(config);
    table.restore(handle).unwrap();
    snapshot(&table)
}

fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn files_of(handle: &[u8]) -> BTreeSet<String> {
    let handle: Handle = serde_json::from_slice(handle).unwrap();
    handle.files().map(|f| f.name().to_owned()).collect()
}

/// A small deterministic generator, so failures replay.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn round_trip_through_checkpoint_and_restore() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    for k in 0..1000 {
        table.insert(k, format!("value {k}"));
    }
    let handle = table.checkpoint(1).unwrap();
    assert!(handle.len() < 400, "handle is {} bytes", handle.len());

    let mut back = open(&config);
    back.restore(&handle).unwrap();
    assert_eq!(snapshot(&back), snapshot(&table));
    assert_eq!(back.len(), 1000);
    assert_eq!(back.approx_bytes(), table.approx_bytes());
    assert_eq!(back.get(&7).map(String::as_str), Some("value 7"));
    assert!(back.contains_key(&999) && !back.contains_key(&1000));
    assert!(dir.path().join("node/t").is_dir());
}

#[test]
fn updates_removals_and_retain_evictions_survive() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    for k in 0..100 {
        table.insert(k, "a".into());
    }
    table.checkpoint(1).unwrap();
    table.get_mut(&5).unwrap().push_str("-changed");
    assert_eq!(table.insert(6, "b".into()).as_deref(), Some("a"));
    assert_eq!(table.remove(&7).as_deref(), Some("a"));
    table.retain(|k, _| *k < 90 || *k == 95);
    let handle = table.checkpoint(2).unwrap();

    let state = restored(&config, &handle);
    assert_eq!(state.len(), 100 - 1 - 9);
    assert_eq!(state[&5], "a-changed");
    assert_eq!(state[&6], "b");
    assert!(!state.contains_key(&7) && !state.contains_key(&91));
    assert!(state.contains_key(&95));
    assert_eq!(state, snapshot(&table));
}

#[test]
fn approx_bytes_is_the_encoded_size() {
    let dir = TempDir::new().unwrap();
    let mut table = open(&config(&dir));
    assert!(table.is_empty());
    table.insert(1, "abc".into()); // key: 1 byte; value: length byte + 3
    table.insert(300, "".into()); // key: 2 bytes; value: 1
    assert_eq!(table.approx_bytes(), 5 + 3);
    table.get_mut(&300).unwrap().push_str("xy");
    assert_eq!(table.approx_bytes(), 8, "measured again at the checkpoint");
    table.checkpoint(1).unwrap();
    assert_eq!(table.approx_bytes(), 10);
    table.remove(&1);
    assert_eq!((table.approx_bytes(), table.len()), (5, 1));
}

#[test]
fn an_older_retained_handle_restores_the_older_state_exactly() {
    let dir = TempDir::new().unwrap();
    let config = StateConfig {
        retain: 3,
        ..config(&dir)
    };
    let mut table = open(&config);
    let mut handles = Vec::new();
    let mut states = Vec::new();
    for epoch in 1..=6u64 {
        for k in 0..50 {
            table.insert(k * epoch % 70, format!("e{epoch} k{k}"));
        }
        table.remove(&(epoch * 3));
        handles.push(table.checkpoint(epoch).unwrap());
        states.push(snapshot(&table));
        table.commit(epoch).unwrap();
    }
    // The last three committed handles (epochs 4, 5, 6) restore exactly their state.
    for i in 3..6 {
        assert_eq!(restored(&config, &handles[i]), states[i], "epoch {}", i + 1);
    }
    // Restoring an older handle in a running table, then going on from there.
    table.restore(&handles[3]).unwrap();
    assert_eq!(snapshot(&table), states[3]);
    table.insert(1000, "after".into());
    let handle = table.checkpoint(5).unwrap();
    let mut expected = states[3].clone();
    expected.insert(1000, "after".into());
    assert_eq!(restored(&config, &handle), expected);
}

#[test]
fn files_written_after_the_restored_checkpoint_are_ignored() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut crashed = open(&config);
    crashed.insert(1, "one".into());
    let handle1 = crashed.checkpoint(1).unwrap();
    crashed.commit(1).unwrap();
    let state1 = snapshot(&crashed);
    // The crashed run went on: a delta of epoch 2 and a half-written file.
    crashed.insert(2, "two".into());
    crashed.remove(&1);
    let crashed2 = crashed.checkpoint(2).unwrap();
    drop(crashed);
    let table_dir = dir.path().join("node/t");
    fs::write(table_dir.join("d3-0badf00d.arrow.tmp"), b"half").unwrap();

    let mut table = open(&config);
    table.restore(&handle1).unwrap();
    assert_eq!(snapshot(&table), state1);
    table.insert(3, "three".into());
    let handle2 = table.checkpoint(2).unwrap();
    // Two deltas outweigh the absent base: this run compacts to epoch 2. Let it finish
    // so the folder's contents below are exact.
    table.wait_for_compaction().unwrap();
    table.commit(2).unwrap();
    let mut expected = state1.clone();
    expected.insert(3, "three".into());
    assert_eq!(restored(&config, &handle2), expected);
    // The crashed run's files are gone; the new run did not overwrite them either.
    let crashed_only: BTreeSet<_> = files_of(&crashed2)
        .difference(&files_of(&handle1))
        .cloned()
        .collect();
    assert_eq!(crashed_only.len(), 1);
    assert!(crashed_only.is_disjoint(&files_of(&handle2)));
    let left = listing(&table_dir);
    let mut kept: BTreeSet<_> = files_of(&handle1)
        .union(&files_of(&handle2))
        .cloned()
        .collect();
    let own_delta = files_of(&handle2)
        .into_iter()
        .find(|n| n.starts_with("d2-"))
        .unwrap();
    kept.insert(own_delta.replacen('d', "b", 1)); // the new run's base of epoch 2
    assert_eq!(left, kept);
}

#[test]
fn commit_deletes_exactly_the_unreferenced_files() {
    let dir = TempDir::new().unwrap();
    let config = StateConfig {
        key_groups: 16,
        ..config(&dir)
    };
    let mut table = open(&config);
    let table_dir = table.dir().to_owned();
    fs::write(table_dir.join("notes.txt"), b"not a state file").unwrap();
    let mut previous: Option<Vec<u8>> = None;
    for epoch in 1..=12u64 {
        for k in 0..(20 + epoch * 5) {
            table.insert(k, format!("{epoch}"));
        }
        let handle = table.checkpoint(epoch).unwrap();
        let compactions = table.stats().compactions;
        // No compaction runs during the commit: what it keeps is fully known.
        table.wait_for_compaction().unwrap();
        let adopted = table.stats().compactions > compactions;
        table.commit(epoch).unwrap();

        let mut expected = files_of(&handle);
        expected.extend(previous.as_deref().map(files_of).unwrap_or_default());
        expected.insert("notes.txt".into());
        let mut left = listing(&table_dir);
        if adopted {
            // The base the compaction just wrote, which the next handle will name.
            let base = format!("b{epoch}-");
            let new: Vec<_> = left
                .iter()
                .filter(|n| n.starts_with(&base))
                .cloned()
                .collect();
            assert_eq!(new.len(), 1, "epoch {epoch}: {left:?}");
            left.remove(&new[0]);
        }
        assert_eq!(left, expected, "epoch {epoch}");
        previous = Some(handle);
    }
    assert!(table.stats().compactions > 0);

    // Garbage of unknown runs: deleted, except files that are not state files.
    fs::write(table_dir.join("d99-0badf00d.arrow"), b"x").unwrap();
    fs::write(table_dir.join("b5-0badf00d.arrow.tmp"), b"x").unwrap();
    let deleted = table.collect_garbage().unwrap();
    assert_eq!(deleted, ["b5-0badf00d.arrow.tmp", "d99-0badf00d.arrow"]);
    assert!(table_dir.join("notes.txt").exists());
}

#[test]
fn compaction_base_restores_to_the_same_state_as_the_deltas() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    for k in 0..500 {
        table.insert(k, format!("first {k}"));
    }
    table.checkpoint(1).unwrap();
    for k in 0..250 {
        table.remove(&(k * 2));
    }
    table.get_mut(&1).unwrap().push('!');
    let deltas_handle = table.checkpoint(2).unwrap();
    // Two deltas outweigh the (absent) base: a compaction to epoch 2 is running.
    assert!(table.stats().compacting);
    table.wait_for_compaction().unwrap();
    let base_handle = table.checkpoint(3).unwrap(); // nothing changed: names the base only

    let parsed: Value = serde_json::from_slice(&base_handle).unwrap();
    assert!(parsed["base"][0].as_str().unwrap().starts_with("b2-"));
    assert_eq!(parsed["deltas"].as_array().unwrap().len(), 0);
    assert_eq!(table.stats().compactions, 1);
    let state = snapshot(&table);
    assert_eq!(state.len(), 250);
    assert_eq!(restored(&config, &deltas_handle), state);
    assert_eq!(restored(&config, &base_handle), state);

    // The base holds no tombstones and is sorted by key group.
    let base: Handle = serde_json::from_slice(&base_handle).unwrap();
    let mut reader = RowReader::open(table.dir(), base.base.as_ref().unwrap(), 128).unwrap();
    let mut rows = 0;
    reader
        .for_each(|_, _, value| {
            assert!(value.is_some());
            rows += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(rows, 250);
}

#[test]
fn every_checkpoint_restores_exactly_across_many_compactions() {
    let dir = TempDir::new().unwrap();
    let config = StateConfig {
        max_deltas: 3,
        key_groups: 32,
        ..config(&dir)
    };
    let mut table = open(&config);
    let mut rng = Lcg(42);
    for epoch in 1..=40u64 {
        for _ in 0..200 {
            let key = rng.next(400);
            match rng.next(4) {
                0 => drop(table.remove(&key)),
                1 => {
                    if let Some(v) = table.get_mut(&key) {
                        v.push('+');
                    }
                }
                _ => drop(table.insert(key, format!("{epoch}:{}", rng.next(1000)))),
            }
        }
        if epoch % 10 == 0 {
            table.retain(|k, _| k % 7 != 0);
        }
        let handle = table.checkpoint(epoch).unwrap();
        assert!(handle.len() < 500, "handle is {} bytes", handle.len());
        assert_eq!(
            restored(&config, &handle),
            snapshot(&table),
            "epoch {epoch}"
        );
        table.commit(epoch).unwrap();
    }
    assert!(table.stats().compactions >= 5, "{:?}", table.stats());
}

#[test]
fn a_crash_during_compaction_loses_nothing() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    for k in 0..20_000 {
        table.insert(k, format!("{k:>100}"));
    }
    table.checkpoint(1).unwrap();
    table.commit(1).unwrap();
    for k in 0..20_000 {
        table.insert(k, format!("{k:<100}"));
    }
    table.checkpoint(2).unwrap();
    table.commit(2).unwrap();
    assert!(table.stats().compacting);
    table.remove(&3);
    let handle = table.checkpoint(3).unwrap();
    table.commit(3).unwrap();
    let state = snapshot(&table);
    drop(table); // the "crash": the compaction is abandoned wherever it was

    // Whatever it left (a .tmp, or a finished base nothing names) is ignored.
    let mut back = open(&config);
    back.restore(&handle).unwrap();
    assert_eq!(snapshot(&back), state);
    back.insert(3, "back".into());
    let handle4 = back.checkpoint(4).unwrap();
    back.commit(4).unwrap();
    let mut expected = state;
    expected.insert(3, "back".into());
    assert_eq!(restored(&config, &handle4), expected);
    assert_eq!(restored(&config, &handle), snapshot_without(&expected, 3));
}

fn snapshot_without(state: &BTreeMap<u64, String>, key: u64) -> BTreeMap<u64, String> {
    let mut state = state.clone();
    state.remove(&key);
    state
}

#[test]
fn key_groups_are_stable() {
    // FNV-1a 64 reference vectors.
    assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    // Keys' postcard encodings, folded: fixed forever (files and handles rely on them).
    assert_eq!(group_of(&0u64, 128), 19);
    assert_eq!(group_of(&1u64, 128), 96);
    assert_eq!(group_of(&300u64, 128), 12);
    assert_eq!(group_of(&1_000_000u64, 128), 72);
    assert_eq!(group_of(&1_000_000u64, 7), 4);
    assert_eq!(group_of("user-42", 128), 4);
    assert_eq!(group_of(&"order-17".to_owned(), 128), 29);
    assert_eq!(group_of(&"order-17".to_owned(), 7), 4);
    assert_eq!(group_of(&("click".to_owned(), 7u32), 128), 92);
    assert_eq!(group_of_bytes(&[0xAC, 0x02], 128), 12);

    let dir = TempDir::new().unwrap();
    let table = open(&config(&dir));
    assert_eq!(table.key_group(&300), 12);
}

#[test]
fn a_truncated_or_corrupt_file_is_an_error_naming_it() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    for k in 0..100 {
        table.insert(k, "v".repeat(50));
    }
    let handle = table.checkpoint(1).unwrap();
    let name = files_of(&handle).pop_first().unwrap();
    let path = table.dir().join(&name);
    let bytes = fs::read(&path).unwrap();
    let error = |table: &mut Table| table.restore(&handle).unwrap_err().to_string();

    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let message = error(&mut open(&config));
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("truncated"), "{message}");

    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0xff;
    fs::write(&path, &flipped).unwrap();
    let message = error(&mut open(&config));
    assert!(message.contains(&path.display().to_string()) && message.contains("corrupt"));

    fs::remove_file(&path).unwrap();
    let mut survivor = open(&config);
    survivor.insert(5, "kept".into());
    let message = error(&mut survivor);
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(
        survivor.get(&5).map(String::as_str),
        Some("kept"),
        "left unchanged"
    );

    let outside = String::from_utf8(handle.clone())
        .unwrap()
        .replace(&name, "../../d1-00000000.arrow");
    let message = open(&config)
        .restore(outside.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a state file"), "{message}");
    let message = open(&config).restore(b"{not json").unwrap_err().to_string();
    assert!(message.contains("handle"), "{message}");
    let other: KeyedState<u64, String> = KeyedState::open(&config, "other").unwrap();
    let mut other = other;
    let message = other.restore(&handle).unwrap_err().to_string();
    assert!(message.contains("\"t\""), "{message}");
}

#[test]
fn a_value_of_another_type_is_an_error_not_a_panic() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    table.insert(1, "not a number".into());
    let handle = table.checkpoint(1).unwrap();
    let mut wrong: KeyedState<u64, u8> = KeyedState::open(&config, "t").unwrap();
    let message = wrong.restore(&handle).unwrap_err().to_string();
    assert!(message.contains("decoding a value"), "{message}");
}

#[test]
fn misuse_is_refused() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    table.insert(1, "a".into());
    table.checkpoint(5).unwrap();
    assert!(table.checkpoint(5).is_err());
    assert!(table.commit(4).is_err());
    table.commit(5).unwrap();
    table.commit(5).unwrap(); // again: harmless
    assert!(KeyedState::<u64, u64>::open(&config, "../escape").is_err());
    let zero = StateConfig {
        retain: 0,
        ..config.clone()
    };
    assert!(KeyedState::<u64, u64>::open(&zero, "z").is_err());
}

#[test]
fn restoring_with_other_key_groups_is_refused() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    table.insert(1, "a".into());
    let handle = table.checkpoint(1).unwrap();
    let other = StateConfig {
        key_groups: 64,
        ..config
    };
    let message = open(&other).restore(&handle).unwrap_err().to_string();
    assert!(message.contains("key groups"), "{message}");
}

#[test]
fn handles_of_the_run_before_a_restart_stay_restorable_while_retained() {
    let dir = TempDir::new().unwrap();
    let config = StateConfig {
        retain: 3,
        ..config(&dir)
    };
    let mut crashed = open(&config);
    let mut handles = Vec::new();
    let mut states = Vec::new();
    for epoch in 1..=3u64 {
        crashed.insert(epoch, format!("e{epoch}"));
        crashed.remove(&(epoch - 1));
        handles.push(crashed.checkpoint(epoch).unwrap());
        states.push(snapshot(&crashed));
        crashed.commit(epoch).unwrap();
        crashed.wait_for_compaction().unwrap();
    }
    drop(crashed);

    let mut table = open(&config);
    table.restore(&handles[2]).unwrap();
    table.insert(4, "e4".into());
    table.checkpoint(4).unwrap();
    table.commit(4).unwrap();
    // Committed, newest last: 2, 3 (the run before) and 4: all three restorable.
    assert_eq!(restored(&config, &handles[1]), states[1]);
    assert_eq!(restored(&config, &handles[2]), states[2]);
    table.insert(5, "e5".into());
    table.checkpoint(5).unwrap();
    table.commit(5).unwrap();
    // Now 3, 4, 5: epoch 2's own delta has gone, epoch 3's handle still restores.
    let only_2: BTreeSet<_> = files_of(&handles[1])
        .difference(&files_of(&handles[2]))
        .cloned()
        .collect();
    assert!(!only_2.is_empty());
    assert!(
        only_2.iter().all(|f| !table.dir().join(f).exists()),
        "{only_2:?}"
    );
    assert_eq!(restored(&config, &handles[2]), states[2]);
}

#[test]
fn a_failed_checkpoint_keeps_its_changes_for_the_next() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    table.insert(1, "one".into());
    table.checkpoint(1).unwrap();
    table.insert(2, "two".into());
    table.remove(&1);
    fs::remove_dir_all(table.dir()).unwrap();
    let message = table.checkpoint(2).unwrap_err().to_string();
    assert!(message.contains("d2-"), "names the file: {message}");
    fs::create_dir_all(table.dir()).unwrap();
    let handle = table.checkpoint(3).unwrap();
    // Epoch 1's delta went with the folder; a table that lost files reports it ...
    assert!(open(&config).restore(&handle).is_err());
    // ... and the changes of the failed checkpoint are in epoch 3's delta.
    let name = files_of(&handle)
        .into_iter()
        .find(|n| n.starts_with("d3-"))
        .unwrap();
    let delta: Handle = serde_json::from_slice(&handle).unwrap();
    let file = delta.deltas.iter().find(|f| f.name() == name).unwrap();
    let mut rows = Vec::new();
    RowReader::open(table.dir(), file, 128)
        .unwrap()
        .for_each(|_, key, value| {
            rows.push((key.to_vec(), value.map(<[u8]>::to_vec)));
            Ok(())
        })
        .unwrap();
    rows.sort();
    assert_eq!(
        rows,
        [(vec![1], None), (vec![2], Some(b"\x03two".to_vec()))]
    );
}

#[test]
fn a_checkpoint_writes_only_what_changed_sorted_by_key_group() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table = open(&config);
    for k in 0..1000 {
        table.insert(k, format!("{k}"));
    }
    let first = table.checkpoint(1).unwrap();
    table.commit(1).unwrap();
    table.get_mut(&10).unwrap().push('!');
    table.insert(2000, "new".into());
    table.remove(&20);
    let second: Handle = serde_json::from_slice(&table.checkpoint(2).unwrap()).unwrap();
    let delta = second.deltas.last().unwrap();
    assert!(delta.name().starts_with("d2-"));
    assert_eq!(table.stats().last_checkpoint_bytes, delta.len());

    let mut rows = Vec::new();
    RowReader::open(table.dir(), delta, 128)
        .unwrap()
        .for_each(|group, key, value| {
            let key: u64 = super::codec::decode(key).unwrap();
            rows.push((group, key, value.is_some()));
            Ok(())
        })
        .unwrap();
    let mut by_key: Vec<_> = rows.iter().map(|&(_, k, upsert)| (k, upsert)).collect();
    by_key.sort();
    assert_eq!(by_key, [(10, true), (20, false), (2000, true)]);
    assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0), "{rows:?}");
    assert!(rows.iter().all(|&(g, k, _)| g == table.key_group(&k)));

    // Nothing changed: no file is written and the handle names the same files.
    table.wait_for_compaction().unwrap();
    let before = listing(table.dir());
    let third: Handle = serde_json::from_slice(&table.checkpoint(3).unwrap()).unwrap();
    let fourth: Handle = serde_json::from_slice(&table.checkpoint(4).unwrap()).unwrap();
    assert_eq!(table.stats().last_checkpoint_bytes, 0);
    assert_eq!(listing(table.dir()), before);
    assert_eq!((&third.base, &third.deltas), (&fourth.base, &fourth.deltas));
    assert_eq!(files_of(&first).len(), 1);
}

#[test]
fn a_key_removed_before_it_was_written_leaves_no_row_and_tombstones_revive() {
    let dir = TempDir::new().unwrap();
    let config = config(&dir);
    let mut table: KeyedState<Vec<u8>, u64> = KeyedState::open(&config, "b").unwrap();
    table.insert(b"kept".to_vec(), 1);
    table.insert(b"gone".to_vec(), 2);
    table.checkpoint(1).unwrap();
    // Looked up by the borrowed form; a stored key removed and brought back by
    // get_or_insert_with is an upsert, a never-written one leaves nothing.
    assert_eq!(table.get(&b"kept"[..]), Some(&1));
    assert_eq!(table.remove(&b"gone"[..]), Some(2));
    assert!(!table.contains_key(&b"gone"[..]));
    *table.get_or_insert_with(&b"gone"[..], || (b"gone".to_vec(), 0)) += 5;
    table.insert(b"brief".to_vec(), 3);
    assert_eq!(table.remove(&b"brief"[..]), Some(3));
    assert_eq!(table.remove(&b"kept"[..]), Some(1));
    assert_eq!((table.len(), table.get(&b"gone"[..])), (1, Some(&5)));
    let handle: Handle = serde_json::from_slice(&table.checkpoint(2).unwrap()).unwrap();
    let mut rows = Vec::new();
    RowReader::open(table.dir(), handle.deltas.last().unwrap(), 128)
        .unwrap()
        .for_each(|_, key, value| {
            rows.push((key.to_vec(), value.is_some()));
            Ok(())
        })
        .unwrap();
    rows.sort();
    assert_eq!(
        rows,
        [(b"\x04gone".to_vec(), true), (b"\x04kept".to_vec(), false)]
    );
    let mut back: KeyedState<Vec<u8>, u64> = KeyedState::open(&config, "b").unwrap();
    back.restore(&serde_json::to_vec(&handle).unwrap()).unwrap();
    let all: Vec<_> = back.iter().map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(all, [(b"gone".to_vec(), 5)]);
    assert_eq!(back.approx_bytes(), table.approx_bytes());
}
