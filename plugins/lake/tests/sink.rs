//! The sink driven directly through the SDK traits, read back with the parquet crate's
//! reader: the commit protocol, rolling, schema changes and partition escaping.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_lake::commit::Handle;
use ferry_lake::Lake;
use ferry_plugin_api::arrow::array::{AsArray, Int64Array, RecordBatch, StringArray};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use ferry_plugin_api::sdk::{parse_options, Commit, Component, Context, Result, Sink};
use ferry_plugin_api::serde_json::{json, Map, Value};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tempfile::TempDir;

fn lake(dir: &Path, extra: Value) -> Result<Lake> {
    let mut options = json!({"path": dir.join("lake")});
    (options.as_object_mut().unwrap()).extend(extra.as_object().unwrap().clone());
    let ctx = Context::new("p", "out", dir.join("state"));
    Lake::create(parse_options(&options.to_string())?, &ctx)
}

fn batch(ids: std::ops::Range<i64>, key: impl Fn(i64) -> Option<String>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("k", DataType::Utf8, true),
    ]));
    let keys: StringArray = ids.clone().map(&key).collect();
    RecordBatch::try_new(
        schema,
        vec![Arc::new(Int64Array::from_iter_values(ids)), Arc::new(keys)],
    )
    .unwrap()
}

/// The run's last checkpoint (the host announces it): every open file closes.
fn prepare_last(sink: &mut Lake, epoch: u64) -> Vec<u8> {
    sink.finishing(epoch).unwrap();
    sink.prepare(epoch).unwrap()
}

fn commit(sink: &mut Lake, epoch: u64, handle: &[u8]) {
    let mut sources = Map::new();
    sources.insert("in".into(), json!({"offset": epoch * 10}));
    sink.commit(&Commit {
        epoch,
        handle,
        sources: &sources,
    })
    .unwrap();
}

/// Visible data files (what a reader listing the folder sees), relative to the lake.
fn listing(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().to_string());
            }
        }
    }
    let mut out = Vec::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

/// ids per partition folder, read with the parquet crate.
fn read_ids(root: &Path) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for rel in listing(root) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(root.join(&rel)).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let dir = Path::new(&rel)
            .parent()
            .unwrap()
            .to_string_lossy()
            .to_string();
        for b in reader {
            let b = b.unwrap();
            let ids = b.column_by_name("id").unwrap().as_primitive::<Int64Type>();
            out.entry(dir.clone())
                .or_default()
                .extend(ids.values().iter());
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn log_entries(root: &Path) -> Vec<Value> {
    let mut names: Vec<PathBuf> = fs::read_dir(root.join("_ferry_log"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    names.sort();
    (names.iter())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| ferry_plugin_api::serde_json::from_slice(&fs::read(p).unwrap()).unwrap())
        .collect()
}

#[test]
fn epochs_are_invisible_until_committed_then_published_once() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(
        dir.path(),
        json!({"partition_by": ["k"], "roll_on_every_checkpoint": true}),
    )
    .unwrap();
    sink.abort(1).unwrap();
    sink.write("in", batch(0..10, |i| Some(format!("k{}", i % 2))))
        .unwrap();
    assert!(listing(&root).is_empty());
    let h1 = sink.prepare(1).unwrap();
    assert!(
        listing(&root).is_empty(),
        "prepared files are staged, not visible"
    );
    sink.write("in", batch(10..15, |_| Some("k0".into())))
        .unwrap();
    let h2 = sink.prepare(2).unwrap();
    commit(&mut sink, 1, &h1);
    let files = listing(&root);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files
        .iter()
        .all(|f| f.starts_with("k=k0/") || f.starts_with("k=k1/")));
    // Re-committing (as after a restart) changes nothing.
    commit(&mut sink, 1, &h1);
    assert_eq!(listing(&root), files);
    commit(&mut sink, 2, &h2);
    commit(&mut sink, 2, &h2);
    let ids = read_ids(&root);
    assert_eq!(ids["k=k0"], [0, 2, 4, 6, 8, 10, 11, 12, 13, 14]);
    assert_eq!(ids["k=k1"], [1, 3, 5, 7, 9]);
    let log = log_entries(&root);
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["epoch"], 1);
    assert_eq!(log[0]["rows"], 10);
    assert_eq!(log[1]["rows"], 5);
    assert_eq!(log[1]["sources"]["in"]["offset"], 20);
    assert_eq!(log[0]["files"].as_array().unwrap().len(), 2);
}

#[test]
fn a_commit_never_delivered_is_published_by_the_next_epochs() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let every = json!({"roll_on_every_checkpoint": true});
    let mut sink = lake(dir.path(), every.clone()).unwrap();
    sink.abort(1).unwrap();
    sink.write("in", batch(0..3, |_| None)).unwrap();
    let _h1 = sink.prepare(1).unwrap();
    sink.write("in", batch(3..5, |_| None)).unwrap();
    let h2 = sink.prepare(2).unwrap();
    // Crash: commit(1) never ran; the restart replays commit(2) with its handle.
    drop(sink);
    let mut restarted = lake(dir.path(), every).unwrap();
    commit(&mut restarted, 2, &h2);
    restarted.abort(3).unwrap();
    assert_eq!(read_ids(&root)[""], [0, 1, 2, 3, 4]);
    assert_eq!(log_entries(&root).len(), 2);
}

#[test]
fn abort_discards_what_came_after_the_checkpoint_and_keeps_its_open_file() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(dir.path(), json!({"format": "csv"})).unwrap();
    sink.abort(1).unwrap();
    sink.write("in", batch(0..3, |_| None)).unwrap();
    let h1 = sink.prepare(1).unwrap();
    sink.write("in", batch(3..6, |_| None)).unwrap();
    let _h2 = sink.prepare(2).unwrap();
    sink.write("in", batch(6..9, |_| None)).unwrap();
    drop(sink);
    // Restart from the checkpoint of epoch 1: epoch 2's segment and the rows after it
    // are stale; the open file as of epoch 1 (its segment) is taken over.
    let mut restarted = lake(dir.path(), json!({"format": "csv"})).unwrap();
    commit(&mut restarted, 1, &h1);
    restarted.abort(2).unwrap();
    let staging = root.join("_ferry_staging");
    let left: Vec<_> = walkdir(&staging);
    assert_eq!(left.len(), 2, "the open file and its one segment: {left:?}");
    assert!(listing(&root).is_empty());
    let h2 = prepare_last(&mut restarted, 2);
    commit(&mut restarted, 2, &h2);
    let left: Vec<_> = walkdir(&staging);
    assert!(left.is_empty(), "{left:?}");
    let files = listing(&root);
    assert_eq!(files.len(), 1);
    let text = fs::read_to_string(root.join(&files[0])).unwrap();
    assert_eq!(text, "id,k\n0,\n1,\n2,\n");
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walkdir(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn files_roll_by_rows_and_size_within_an_epoch() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(dir.path(), json!({"max_rows": 4, "format": "json"})).unwrap();
    sink.abort(1).unwrap();
    sink.write("in", batch(0..10, |_| None)).unwrap();
    let h = prepare_last(&mut sink, 1);
    commit(&mut sink, 1, &h);
    let files = listing(&root);
    let rows: Vec<usize> = (files.iter())
        .map(|f| fs::read_to_string(root.join(f)).unwrap().lines().count())
        .collect();
    assert_eq!(rows, [4, 4, 2]);

    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(
        dir.path(),
        json!({"target_file_size": "100B", "format": "json"}),
    )
    .unwrap();
    sink.abort(1).unwrap();
    for i in 0..10 {
        sink.write("in", batch(i * 5..i * 5 + 5, |_| None)).unwrap();
    }
    let h = prepare_last(&mut sink, 1);
    commit(&mut sink, 1, &h);
    assert!(listing(&root).len() >= 5, "{:?}", listing(&root));
}

#[test]
fn a_new_schema_starts_a_new_file_or_fails() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let other = || {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("extra", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![100])),
                Arc::new(StringArray::from(vec!["x"])),
            ],
        )
        .unwrap()
    };
    let mut sink = lake(dir.path(), json!({"schema_policy": "evolve"})).unwrap();
    sink.abort(1).unwrap();
    sink.write("in", batch(0..3, |_| None)).unwrap();
    sink.write("in", other()).unwrap();
    sink.write("in", batch(3..4, |_| None)).unwrap();
    let h = prepare_last(&mut sink, 1);
    commit(&mut sink, 1, &h);
    assert_eq!(listing(&root).len(), 3);
    assert_eq!(read_ids(&root)[""], [0, 1, 2, 3, 100]);

    let dir = TempDir::new().unwrap();
    let mut sink = lake(dir.path(), json!({})).unwrap();
    sink.abort(1).unwrap();
    sink.write("in", batch(0..3, |_| None)).unwrap();
    let err = sink.write("in", other()).unwrap_err().to_string();
    assert!(
        err.contains("schema_policy") && err.contains("extra STRING"),
        "{err}"
    );
    // The lake's schema survives a restart through the manifest.
    let h = prepare_last(&mut sink, 1);
    commit(&mut sink, 1, &h);
    let mut restarted = lake(dir.path(), json!({})).unwrap();
    restarted.abort(2).unwrap();
    assert!(restarted.write("in", other()).is_err());
    restarted.write("in", batch(5..6, |_| None)).unwrap();
}

#[test]
fn hostile_partition_values_stay_inside_the_lake() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(dir.path(), json!({"partition_by": ["k"]})).unwrap();
    sink.abort(1).unwrap();
    let values = ["../../escape", "/abs", "a\0b", "", ".", ".."];
    sink.write(
        "in",
        batch(0..7, |i| values.get(i as usize).map(|v| v.to_string())),
    )
    .unwrap();
    let h = prepare_last(&mut sink, 1);
    commit(&mut sink, 1, &h);
    let dirs: Vec<String> = read_ids(&root).into_keys().collect();
    assert_eq!(
        dirs,
        [
            "k=%2Fabs",
            "k=.",
            "k=..",
            "k=..%2F..%2Fescape",
            "k=__HIVE_DEFAULT_PARTITION__",
            "k=a%00b"
        ]
    );
    assert_eq!(read_ids(&root)["k=__HIVE_DEFAULT_PARTITION__"], [3, 6]);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing written beside the lake"
    );
}

#[test]
fn parquet_options_reach_the_file() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(
        dir.path(),
        json!({"compression": "snappy", "row_group_rows": 3, "dictionary": false, "statistics": false}),
    )
    .unwrap();
    sink.abort(1).unwrap();
    sink.write("in", batch(0..10, |_| Some("v".into())))
        .unwrap();
    let h = prepare_last(&mut sink, 1);
    commit(&mut sink, 1, &h);
    let file = File::open(root.join(&listing(&root)[0])).unwrap();
    let meta = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(meta.num_row_groups(), 4);
    let col = meta.row_group(0).column(0);
    assert_eq!(col.compression(), parquet::basic::Compression::SNAPPY);
    assert!(col.statistics().is_none());
    assert!(col.dictionary_page_offset().is_none());
    assert!(lake(dir.path(), json!({"compresion": "zstd"})).is_err());
    assert!(lake(dir.path(), json!({"partition_by": ["_x"]})).is_err());
    let err = lake(dir.path(), json!({"target_file_size": "12 parsecs"}))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("unknown unit"), "{err}");
}

/// Rows the handle's open files hold in their segments.
fn open_rows(handle: &[u8]) -> u64 {
    let h = Handle::decode(handle).unwrap();
    (h.open.iter())
        .flat_map(|f| &f.segments)
        .map(|s| s.rows)
        .sum()
}

/// Segment files in staging.
fn segments(root: &Path) -> Vec<PathBuf> {
    (walkdir(&root.join("_ferry_staging")).into_iter())
        .filter(|p| p.to_string_lossy().contains(".seg-"))
        .collect()
}

/// Writes epochs `epochs` of `per` rows per partition (k0, k1), each prepared and
/// committed; after every commit, what a reader sees is committed rows only, once each,
/// and with the open files' segments it is every committed row. Returns the next id.
fn run_epochs(
    sink: &mut Lake,
    root: &Path,
    epochs: std::ops::Range<u64>,
    mut id: i64,
    per: i64,
) -> i64 {
    for e in epochs {
        sink.write(
            "in",
            batch(id..id + 2 * per, |i| Some(format!("k{}", i % 2))),
        )
        .unwrap();
        id += 2 * per;
        let h = sink.prepare(e).unwrap();
        commit(sink, e, &h);
        let visible: Vec<i64> = read_ids(root).into_values().flatten().collect();
        let mut unique = visible.clone();
        unique.dedup();
        assert_eq!(visible.len(), unique.len(), "epoch {e}: a row twice");
        assert!(
            visible.iter().all(|i| *i < id),
            "epoch {e}: an uncommitted row"
        );
        assert_eq!(
            visible.len() as u64 + open_rows(&h),
            id as u64,
            "epoch {e}: published + open != committed"
        );
        let listed: usize = Handle::decode(&h)
            .unwrap()
            .open
            .iter()
            .map(|f| f.segments.len())
            .sum();
        assert_eq!(
            segments(root).len(),
            listed,
            "epoch {e}: segments left behind"
        );
    }
    id
}

#[test]
fn many_short_epochs_make_one_file_per_partition_per_roll() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(dir.path(), json!({"partition_by": ["k"]})).unwrap();
    sink.abort(1).unwrap();
    let n = run_epochs(&mut sink, &root, 1..51, 0, 3);
    assert!(listing(&root).is_empty(), "no file rolled yet");
    let h = prepare_last(&mut sink, 51);
    commit(&mut sink, 51, &h);
    let files = listing(&root);
    assert_eq!(files.len(), 2, "one file per partition: {files:?}");
    let ids = read_ids(&root);
    assert_eq!(ids["k=k0"], (0..n).step_by(2).collect::<Vec<_>>());
    assert_eq!(ids["k=k1"], (1..n).step_by(2).collect::<Vec<_>>());
    assert!(walkdir(&root.join("_ferry_staging")).is_empty());
    assert_eq!(
        log_entries(&root).len(),
        1,
        "one manifest entry: the roll's"
    );

    // With max_rows = 100, 50 epochs of 5 rows per partition roll each partition's file
    // twice and the last checkpoint closes the third: 100 + 100 + 50 rows.
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(
        dir.path(),
        json!({"partition_by": ["k"], "max_rows": 100, "format": "json"}),
    )
    .unwrap();
    sink.abort(1).unwrap();
    run_epochs_json(&mut sink, &root, 50);
    let h = prepare_last(&mut sink, 51);
    commit(&mut sink, 51, &h);
    let mut rows: Vec<usize> = (listing(&root).iter())
        .map(|f| fs::read_to_string(root.join(f)).unwrap().lines().count())
        .collect();
    rows.sort();
    assert_eq!(rows, [50, 50, 100, 100, 100, 100]);
    assert!(walkdir(&root.join("_ferry_staging")).is_empty());
}

#[test]
fn rows_wait_in_memory_for_the_checkpoint_unless_past_the_buffer() {
    let keyed = |ids: std::ops::Range<i64>| batch(ids, |i| Some(format!("k{}", i % 2)));
    // Within `checkpoint_buffer`: no segment until the checkpoint, which writes one per
    // file that stays open; a file that rolls before it never had one.
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(dir.path(), json!({"partition_by": ["k"], "max_rows": 10})).unwrap();
    sink.abort(1).unwrap();
    sink.write("in", keyed(0..8)).unwrap();
    assert!(segments(&root).is_empty(), "{:?}", segments(&root));
    sink.write("in", keyed(8..26)).unwrap();
    assert!(segments(&root).is_empty(), "{:?}", segments(&root));
    let h = sink.prepare(1).unwrap();
    assert_eq!(open_rows(&h), 6, "rows 20..26 in the second files");
    assert_eq!(segments(&root).len(), 2);
    commit(&mut sink, 1, &h);
    assert_eq!(read_ids(&root).values().map(Vec::len).sum::<usize>(), 20);

    // Past it (1 byte: every batch), rows go to segments as they arrive, and epochs,
    // restarts and the last checkpoint keep every row once.
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let options = json!({"partition_by": ["k"], "checkpoint_buffer": "1b"});
    let mut sink = lake(dir.path(), options.clone()).unwrap();
    sink.abort(1).unwrap();
    sink.write("in", keyed(0..8)).unwrap();
    assert_eq!(segments(&root).len(), 2, "spilled as written");
    let h1 = sink.prepare(1).unwrap();
    commit(&mut sink, 1, &h1);
    let id = run_epochs(&mut sink, &root, 2..6, 8, 3);
    let h6 = sink.prepare(6).unwrap();
    sink.write("in", keyed(id..id + 4)).unwrap();
    drop(sink);
    let mut sink = lake(dir.path(), options).unwrap();
    commit(&mut sink, 6, &h6);
    sink.abort(7).unwrap();
    sink.write("in", keyed(id..id + 4)).unwrap();
    let h = prepare_last(&mut sink, 7);
    commit(&mut sink, 7, &h);
    let ids = read_ids(&root);
    assert_eq!(ids["k=k0"], (0..id + 4).step_by(2).collect::<Vec<_>>());
    assert_eq!(ids["k=k1"], (1..id + 4).step_by(2).collect::<Vec<_>>());
    assert!(walkdir(&root.join("_ferry_staging")).is_empty());
}

/// `run_epochs` for a JSON-lines lake (read_ids reads Parquet): file counts only.
fn run_epochs_json(sink: &mut Lake, root: &Path, epochs: u64) {
    for e in 1..=epochs {
        let id = (e as i64 - 1) * 10;
        sink.write("in", batch(id..id + 10, |i| Some(format!("k{}", i % 2))))
            .unwrap();
        let h = sink.prepare(e).unwrap();
        commit(sink, e, &h);
        let listed: usize = Handle::decode(&h)
            .unwrap()
            .open
            .iter()
            .map(|f| f.segments.len())
            .sum();
        assert_eq!(
            segments(root).len(),
            listed,
            "epoch {e}: segments left behind"
        );
    }
}

#[test]
fn a_restart_continues_the_same_open_files_without_loss_or_duplicates() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let options = json!({"partition_by": ["k"]});
    let mut sink = lake(dir.path(), options.clone()).unwrap();
    sink.abort(1).unwrap();
    let id = run_epochs(&mut sink, &root, 1..20, 0, 4);
    // Epoch 20 is prepared and its checkpoint durable, but the crash comes before its
    // commit; epoch 21 is prepared too, without a durable checkpoint; more rows follow.
    sink.write("in", batch(id..id + 8, |i| Some(format!("k{}", i % 2))))
        .unwrap();
    let h20 = sink.prepare(20).unwrap();
    let id = id + 8;
    sink.write("in", batch(id..id + 8, |i| Some(format!("k{}", i % 2))))
        .unwrap();
    let _h21 = sink.prepare(21).unwrap();
    sink.write(
        "in",
        batch(id + 8..id + 16, |i| Some(format!("k{}", i % 2))),
    )
    .unwrap();
    let before: Vec<String> = Handle::decode(&h20)
        .unwrap()
        .open
        .iter()
        .map(|f| f.path.clone())
        .collect();
    assert_eq!(before.len(), 2);
    drop(sink);

    // The host's recovery: a fresh instance, commit(20, handle 20), abort(21); the source
    // sends again everything after checkpoint 20.
    let mut sink = lake(dir.path(), options).unwrap();
    commit(&mut sink, 20, &h20);
    sink.abort(21).unwrap();
    assert!(listing(&root).is_empty());
    let n = run_epochs(&mut sink, &root, 21..40, id, 4);
    let h = prepare_last(&mut sink, 40);
    commit(&mut sink, 40, &h);
    let files = listing(&root);
    assert_eq!(files, before, "the files open before the crash, continued");
    let ids = read_ids(&root);
    assert_eq!(ids["k=k0"], (0..n).step_by(2).collect::<Vec<_>>());
    assert_eq!(ids["k=k1"], (1..n).step_by(2).collect::<Vec<_>>());
    assert!(walkdir(&root.join("_ferry_staging")).is_empty());
}

#[test]
fn idle_partitions_roll_after_max_file_age() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(dir.path(), json!({"max_file_age": "500ms"})).unwrap();
    sink.abort(1).unwrap();
    sink.write("in", batch(0..3, |_| None)).unwrap();
    let h = sink.prepare(1).unwrap();
    commit(&mut sink, 1, &h);
    assert!(listing(&root).is_empty());
    std::thread::sleep(std::time::Duration::from_millis(600));
    let h = sink.prepare(2).unwrap();
    commit(&mut sink, 2, &h);
    assert_eq!(read_ids(&root)[""], [0, 1, 2]);
    assert!(walkdir(&root.join("_ferry_staging")).is_empty());
}

#[test]
fn a_roll_whose_checkpoint_was_lost_is_rolled_again_once() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let options = json!({"partition_by": ["k"]});
    let rows = |r: std::ops::Range<i64>| batch(r, |i| Some(format!("k{}", i % 2)));
    let mut sink = lake(dir.path(), options.clone()).unwrap();
    sink.abort(1).unwrap();
    let mut h5 = Vec::new();
    for e in 1..=5 {
        sink.write("in", rows((e - 1) * 4..e * 4)).unwrap();
        h5 = sink.prepare(e as u64).unwrap();
        commit(&mut sink, e as u64, &h5);
    }
    // Epoch 6 rolls every file (the run's last checkpoint), but the process dies before
    // its checkpoint is durable: the restart comes back to epoch 5.
    sink.write("in", rows(20..24)).unwrap();
    let h6 = Handle::decode(&prepare_last(&mut sink, 6)).unwrap();
    assert_eq!(h6.groups[0].files.len(), 2);
    drop(sink);
    let mut sink = lake(dir.path(), options).unwrap();
    commit(&mut sink, 5, &h5);
    sink.abort(6).unwrap();
    assert!(listing(&root).is_empty());
    // The replay of epoch 6, then the run's end again: the same two files, once.
    sink.write("in", rows(20..24)).unwrap();
    let h = prepare_last(&mut sink, 6);
    commit(&mut sink, 6, &h);
    let mut names: Vec<&str> = h6.groups[0].files.iter().map(|f| f.path.as_str()).collect();
    names.sort();
    assert_eq!(listing(&root), names);
    let ids = read_ids(&root);
    assert_eq!(ids["k=k0"], (0..24).step_by(2).collect::<Vec<_>>());
    assert_eq!(ids["k=k1"], (1..24).step_by(2).collect::<Vec<_>>());
    assert!(walkdir(&root.join("_ferry_staging")).is_empty());
}

/// gzip and brotli files (what older Spark and Hive jobs read and write) are written
/// with the level asked for, and read back whole.
#[test]
fn gzip_and_brotli_parquet_files_are_written_and_read_back() {
    let cases = [("gzip", Some(9), "GZIP("), ("brotli", None, "BROTLI(")];
    for (codec, level, expected) in cases {
        let dir = TempDir::new().unwrap();
        let root = dir.path().join("lake");
        let options = json!({"compression": codec, "compression_level": level});
        let mut sink = lake(dir.path(), options).unwrap();
        sink.abort(1).unwrap();
        sink.write("in", batch(0..5, |_| Some("v".into()))).unwrap();
        let h = prepare_last(&mut sink, 1);
        commit(&mut sink, 1, &h);
        let file = File::open(root.join(&listing(&root)[0])).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let column = reader.metadata().row_group(0).column(0).clone();
        // The level is not stored in the file: the codec is.
        let written = column.compression().to_string();
        assert!(written.starts_with(expected), "{codec}: {written}");
        let ids: Vec<i64> = (reader.build().unwrap())
            .flat_map(|b| {
                b.unwrap()
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(ids, [0, 1, 2, 3, 4], "{codec}");
    }
    let err = lake(
        TempDir::new().unwrap().path(),
        json!({"compression": "gzip", "compression_level": -1}),
    );
    assert_eq!(
        err.err().unwrap().to_string(),
        "compression_level -1 is negative"
    );
}
