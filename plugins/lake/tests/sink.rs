//! The sink driven directly through the SDK traits, read back with the parquet crate's
//! reader: the commit protocol, rolling, schema changes and partition escaping.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    let ctx = Context {
        pipeline: "p".into(),
        node: "out".into(),
        state_dir: dir.join("state"),
    };
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
    let mut sink = lake(dir.path(), json!({"partition_by": ["k"]})).unwrap();
    sink.abort(1).unwrap();
    sink.write(batch(0..10, |i| Some(format!("k{}", i % 2))))
        .unwrap();
    assert!(listing(&root).is_empty());
    let h1 = sink.prepare(1).unwrap();
    assert!(
        listing(&root).is_empty(),
        "prepared files are staged, not visible"
    );
    sink.write(batch(10..15, |_| Some("k0".into()))).unwrap();
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
    let mut sink = lake(dir.path(), json!({})).unwrap();
    sink.abort(1).unwrap();
    sink.write(batch(0..3, |_| None)).unwrap();
    let _h1 = sink.prepare(1).unwrap();
    sink.write(batch(3..5, |_| None)).unwrap();
    let h2 = sink.prepare(2).unwrap();
    // Crash: commit(1) never ran; the restart replays commit(2) with its handle.
    drop(sink);
    let mut restarted = lake(dir.path(), json!({})).unwrap();
    commit(&mut restarted, 2, &h2);
    restarted.abort(3).unwrap();
    assert_eq!(read_ids(&root)[""], [0, 1, 2, 3, 4]);
    assert_eq!(log_entries(&root).len(), 2);
}

#[test]
fn abort_discards_staged_and_open_files() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(dir.path(), json!({"format": "csv"})).unwrap();
    sink.abort(1).unwrap();
    sink.write(batch(0..3, |_| None)).unwrap();
    let h1 = sink.prepare(1).unwrap();
    sink.write(batch(3..6, |_| None)).unwrap();
    let _h2 = sink.prepare(2).unwrap();
    sink.write(batch(6..9, |_| None)).unwrap();
    drop(sink);
    // Restart from the checkpoint of epoch 1: epoch 2 and the open file are stale.
    let mut restarted = lake(dir.path(), json!({"format": "csv"})).unwrap();
    commit(&mut restarted, 1, &h1);
    restarted.abort(2).unwrap();
    let staging = root.join("_ferry_staging");
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
    sink.write(batch(0..10, |_| None)).unwrap();
    let h = sink.prepare(1).unwrap();
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
        sink.write(batch(i * 5..i * 5 + 5, |_| None)).unwrap();
    }
    let h = sink.prepare(1).unwrap();
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
    sink.write(batch(0..3, |_| None)).unwrap();
    sink.write(other()).unwrap();
    sink.write(batch(3..4, |_| None)).unwrap();
    let h = sink.prepare(1).unwrap();
    commit(&mut sink, 1, &h);
    assert_eq!(listing(&root).len(), 3);
    assert_eq!(read_ids(&root)[""], [0, 1, 2, 3, 100]);

    let dir = TempDir::new().unwrap();
    let mut sink = lake(dir.path(), json!({})).unwrap();
    sink.abort(1).unwrap();
    sink.write(batch(0..3, |_| None)).unwrap();
    let err = sink.write(other()).unwrap_err().to_string();
    assert!(
        err.contains("schema_policy") && err.contains("extra STRING"),
        "{err}"
    );
    // The lake's schema survives a restart through the manifest.
    let h = sink.prepare(1).unwrap();
    commit(&mut sink, 1, &h);
    let mut restarted = lake(dir.path(), json!({})).unwrap();
    restarted.abort(2).unwrap();
    assert!(restarted.write(other()).is_err());
    restarted.write(batch(5..6, |_| None)).unwrap();
}

#[test]
fn hostile_partition_values_stay_inside_the_lake() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("lake");
    let mut sink = lake(dir.path(), json!({"partition_by": ["k"]})).unwrap();
    sink.abort(1).unwrap();
    let values = ["../../escape", "/abs", "a\0b", "", ".", ".."];
    sink.write(batch(0..7, |i| {
        values.get(i as usize).map(|v| v.to_string())
    }))
    .unwrap();
    let h = sink.prepare(1).unwrap();
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
    sink.write(batch(0..10, |_| Some("v".into()))).unwrap();
    let h = sink.prepare(1).unwrap();
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
