use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferry_file::FileSource;
use ferry_plugin_api::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
    ListArray, RecordBatch, StringArray, StructArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt32Array, UInt64Array,
};
use ferry_plugin_api::arrow::compute::concat_batches;
use ferry_plugin_api::arrow::datatypes::{
    DataType, Field, Float32Type, Int64Type, TimestampMicrosecondType,
};
use ferry_plugin_api::arrow::util::pretty::pretty_format_batches;
use ferry_plugin_api::sdk::{
    parse_options, Collected, Component, Context, Rejected, Restored, Result, Source, SourceStatus,
};
use ferry_plugin_api::serde_json::{json, Value};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use tempfile::TempDir;

/// A source with `options`; files are admitted at once unless `file_stable_for` says
/// otherwise, since these tests write their files just before they read them.
fn create(mut options: Value) -> Result<FileSource> {
    let ctx = Context::new("test", "in", PathBuf::from("."));
    let options_map = options.as_object_mut().unwrap();
    options_map
        .entry("file_stable_for")
        .or_insert_with(|| json!("0s"));
    FileSource::create(parse_options(&options.to_string())?, &ctx)
}

fn json_source(dir: &Path, extra: Value) -> FileSource {
    let mut options = json!({"path": dir, "format": "json", "schema": "id BIGINT, name STRING"});
    options
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    create(options).unwrap()
}

fn write(path: impl AsRef<Path>, text: &str) -> PathBuf {
    let path = path.as_ref();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// Writes `id` lines `{"id": n, "name": "r<n>"}` for each n in `ids`.
fn write_rows(path: impl AsRef<Path>, ids: impl IntoIterator<Item = i64>) -> PathBuf {
    let lines: String = (ids.into_iter())
        .map(|i| format!("{{\"id\": {i}, \"name\": \"r{i}\"}}\n"))
        .collect();
    write(path, &lines)
}

fn set_mtime(path: &Path, seconds: u64) {
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

struct Polled {
    batches: Vec<RecordBatch>,
    rejected: Vec<Rejected>,
    status: SourceStatus,
}

fn poll(source: &mut FileSource, max_rows: usize) -> Polled {
    let mut out = Collected::default();
    let status = source
        .poll(max_rows, Duration::from_millis(10), &mut out.output())
        .unwrap();
    Polled {
        batches: out.main(),
        rejected: out.rejected,
        status,
    }
}

/// Polls until the source is idle; returns everything emitted and rejected.
fn drain(source: &mut FileSource, max_rows: usize) -> (Vec<RecordBatch>, Vec<Rejected>) {
    let (mut batches, mut rejected) = (Vec::new(), Vec::new());
    loop {
        let polled = poll(source, max_rows);
        batches.extend(polled.batches);
        rejected.extend(polled.rejected);
        if polled.status == SourceStatus::Idle {
            return (batches, rejected);
        }
    }
}

fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    (batches.iter())
        .flat_map(|b| {
            b.column_by_name("id")
                .unwrap()
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

fn table(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

#[test]
fn json_lines_decode_to_exact_values() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path().join("a.json"),
        "{\"id\": 1, \"name\": \"ann\", \"ts\": \"2024-05-01T10:00:00Z\"}\n\n{\"id\": 2}\r\n",
    );
    let mut source = create(json!({
        "path": dir.path(), "format": "json", "schema": "id BIGINT, name STRING, ts TIMESTAMP",
    }))
    .unwrap();
    let (batches, rejected) = drain(&mut source, 100);
    assert!(rejected.is_empty());
    let expected = "\
+----+------+----------------------+
| id | name | ts                   |
+----+------+----------------------+
| 1  | ann  | 2024-05-01T10:00:00Z |
| 2  |      |                      |
+----+------+----------------------+";
    assert_eq!(table(&batches), expected);
}

#[test]
fn a_json_array_file_gives_a_row_per_element() {
    let dir = TempDir::new().unwrap();
    let text = "[\n  {\"id\": 1, \"name\": \"a\"},\n  {\"id\": 2, \"name\": \"b, ]\"}\n]\n";
    write(dir.path().join("a.json"), text);
    let mut source = json_source(dir.path(), json!({}));
    let (batches, _) = drain(&mut source, 1);
    assert_eq!(ids(&batches), [1, 2]);
    let names = concat_batches(&batches[0].schema(), &batches).unwrap();
    let names: Vec<_> = names
        .column(1)
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect();
    assert_eq!(names, ["a", "b, ]"]);
}

#[test]
fn csv_with_header_quotes_and_delimiter() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path().join("a.csv"),
        "id;name\n1;\"semi;colon\"\n2;\"say \"\"hi\"\"\"\n3;\n",
    );
    let mut source = create(json!({
        "path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING", "delimiter": ";",
        "escape": "\"",
    }))
    .unwrap();
    let (batches, rejected) = drain(&mut source, 100);
    assert!(rejected.is_empty(), "{rejected:?}");
    let expected = "\
+----+------------+
| id | name       |
+----+------------+
| 1  | semi;colon |
| 2  | say \"hi\"   |
| 3  |            |
+----+------------+";
    assert_eq!(table(&batches), expected);
}

#[test]
fn csv_without_header_reads_the_first_line() {
    let dir = TempDir::new().unwrap();
    write(dir.path().join("a.csv"), "1,a\n2,b\n");
    let mut source = create(json!({
        "path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING", "header": false,
    }))
    .unwrap();
    assert_eq!(ids(&drain(&mut source, 100).0), [1, 2]);
}

/// The error a poll of `source` fails with.
fn poll_error(source: &mut FileSource, max_rows: usize) -> String {
    let polled = source.poll(max_rows, Duration::ZERO, &mut Collected::default().output());
    polled.expect_err("the poll fails").to_string()
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    write_parquet_with(path, std::slice::from_ref(batch), None);
}

fn parquet_batch() -> RecordBatch {
    let a: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
    let b: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), None, Some("z")]));
    RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap()
}

#[test]
fn parquet_round_trips_with_the_files_schema() {
    let dir = TempDir::new().unwrap();
    write_parquet(&dir.path().join("a.parquet"), &parquet_batch());
    let mut source = create(json!({"path": dir.path(), "format": "parquet"})).unwrap();
    let (batches, _) = drain(&mut source, 2);
    assert_eq!(
        batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>(),
        [2, 1]
    );
    let all = concat_batches(&batches[0].schema(), &batches).unwrap();
    assert_eq!(all, parquet_batch());
}

#[test]
fn parquet_with_a_schema_selects_and_casts() {
    let dir = TempDir::new().unwrap();
    write_parquet(&dir.path().join("a.parquet"), &parquet_batch());
    let mut source = create(json!({
        "path": dir.path(), "format": "parquet", "schema": "b STRING, a BIGINT, c DOUBLE",
    }))
    .unwrap();
    let (batches, _) = drain(&mut source, 100);
    let expected = "\
+---+---+---+
| b | a | c |
+---+---+---+
| x | 1 |   |
|   | 2 |   |
| z | 3 |   |
+---+---+---+";
    assert_eq!(table(&batches), expected);
    assert_eq!(
        batches[0].column(1).as_ref().data_type(),
        Int64Array::from(vec![0]).data_type()
    );
}

#[test]
fn bad_records_are_rejected_with_their_line_and_the_rest_kept_in_order() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path().join("a.json"),
        "{\"id\": 1}\n\n{\"id\": 2,\n{\"id\": \"two\"}\n{\"id\": 3}\n",
    );
    let mut source = json_source(dir.path(), json!({}));
    let (batches, rejected) = drain(&mut source, 100);
    assert_eq!(ids(&batches), [1, 3]);
    let positions: Vec<_> = rejected.iter().map(|r| r.position.clone()).collect();
    let path = path.display();
    assert_eq!(positions, [format!("{path}:3"), format!("{path}:4")]);
    assert_eq!(rejected[0].raw, b"{\"id\": 2,");
    assert!(
        rejected[0].reason.contains("JSON"),
        "{}",
        rejected[0].reason
    );
    assert!(rejected[1].reason.contains("id"), "{}", rejected[1].reason);
}

#[test]
fn bad_csv_rows_are_rejected() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path().join("a.csv"),
        "id,name\n1,a\nx,b\n2,c,extra\n3,d\n",
    );
    let mut source = create(json!({
        "path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING",
    }))
    .unwrap();
    let (batches, rejected) = drain(&mut source, 100);
    assert_eq!(ids(&batches), [1, 3]);
    let positions: Vec<_> = rejected.iter().map(|r| r.position.clone()).collect();
    let path = path.display();
    assert_eq!(positions, [format!("{path}:3"), format!("{path}:4")]);
}

#[test]
fn each_poll_emits_at_most_max_rows() {
    let dir = TempDir::new().unwrap();
    write_rows(dir.path().join("a.json"), 0..7);
    write_rows(dir.path().join("b.json"), 7..10);
    let mut source = json_source(dir.path(), json!({}));
    let mut sizes = Vec::new();
    loop {
        let polled = poll(&mut source, 3);
        if polled.status == SourceStatus::Idle {
            break;
        }
        sizes.push(
            polled
                .batches
                .iter()
                .map(RecordBatch::num_rows)
                .sum::<usize>(),
        );
    }
    assert_eq!(sizes, [3, 3, 3, 1]);
}

#[test]
fn files_arriving_later_are_picked_up() {
    let dir = TempDir::new().unwrap();
    write_rows(dir.path().join("a.json"), [1, 2]);
    let mut source = json_source(dir.path(), json!({}));
    assert_eq!(ids(&drain(&mut source, 100).0), [1, 2]);
    assert_eq!(poll(&mut source, 100).status, SourceStatus::Idle);
    write_rows(dir.path().join("b.json"), [3]);
    write_rows(dir.path().join("sub/c.json"), [4]);
    write_rows(dir.path().join(".d.json"), [5]);
    write_rows(dir.path().join("_e.json"), [6]);
    write_rows(dir.path().join("_tmp/f.json"), [7]);
    assert_eq!(ids(&drain(&mut source, 100).0), [3, 4]);
}

#[test]
fn a_glob_picks_only_matching_files() {
    let dir = TempDir::new().unwrap();
    write_rows(dir.path().join("a.json"), [1]);
    write_rows(dir.path().join("b.txt"), [2]);
    write_rows(dir.path().join("_c.json"), [3]);
    let pattern = dir.path().join("*.json");
    let mut source = json_source(Path::new(""), json!({"path": pattern}));
    assert_eq!(ids(&drain(&mut source, 100).0), [1]);
}

#[test]
fn restore_resumes_mid_file_without_rereading_anything() {
    let dir = TempDir::new().unwrap();
    let a = write_rows(dir.path().join("a.json"), 1..=3);
    let b = write_rows(dir.path().join("b.json"), 4..=8);
    set_mtime(&a, 1);
    set_mtime(&b, 2);
    let mut source = json_source(dir.path(), json!({}));
    assert_eq!(ids(&poll(&mut source, 3).batches), [1, 2, 3]);
    assert_eq!(ids(&poll(&mut source, 2).batches), [4, 5]);
    let state = source.checkpoint(1).unwrap();
    // Rows after the checkpoint are lost with the crash and must come again.
    assert_eq!(ids(&poll(&mut source, 2).batches), [6, 7]);

    let mut restored = json_source(dir.path(), json!({}));
    restored.restore(&Restored::new(1, &state)).unwrap();
    assert_eq!(ids(&drain(&mut restored, 100).0), [6, 7, 8]);
    let state = restored.checkpoint(2).unwrap();

    let mut again = json_source(dir.path(), json!({}));
    again.restore(&Restored::new(1, &state)).unwrap();
    assert_eq!(drain(&mut again, 100).0.len(), 0);
}

/// Spark's CSV options at the file level: comments (before the header too, and
/// surviving a restore), lineSep, enforceSchema, and invalid bytes replaced.
#[test]
fn csv_comments_line_sep_header_check_and_replaced_bytes() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a.csv");
    fs::write(
        &path,
        b"# exported\nid,name\n1,a\n#\xff not UTF-8\n2,b\n3,c\n",
    )
    .unwrap();
    let options = json!({
        "path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING",
        "comment": "#", "enforceSchema": false,
    });
    let mut source = create(options.clone()).unwrap();
    let polled = poll(&mut source, 3);
    assert_eq!(
        (ids(&polled.batches), polled.rejected.len()),
        (vec![1, 2], 0)
    );
    let mut restored = create(options).unwrap();
    restored
        .restore(&Restored::new(1, &source.checkpoint(1).unwrap()))
        .unwrap();
    assert_eq!(ids(&drain(&mut restored, 100).0), [3]);

    fs::remove_file(&path).unwrap();
    write(dir.path().join("b.csv"), "id,nom\n1,a\n");
    let mut source = create(json!({
        "path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING",
        "enforce_schema": false,
    }))
    .unwrap();
    let (batches, rejected) = drain(&mut source, 100);
    assert!(batches.iter().all(|b| b.num_rows() == 0));
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].reason.ends_with("its CSV header does not match the schema (enforce_schema = false): column 2 is 'nom' in the header but 'name' in the schema"),
        "{}",
        rejected[0].reason
    );

    let dir = TempDir::new().unwrap();
    let path = dir.path().join("c.csv");
    fs::write(&path, b"1;caf\xe9|2;\"two\nlines\"|x;bad|3;c").unwrap();
    let mut source = create(json!({
        "path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING",
        "header": false, "sep": ";", "lineSep": "|", "encoding_errors": "replace",
    }))
    .unwrap();
    let (batches, rejected) = drain(&mut source, 100);
    let expected = "\
+----+-------+
| id | name  |
+----+-------+
| 1  | caf\u{FFFD}  |
| 2  | two   |
|    | lines |
| 3  | c     |
+----+-------+";
    assert_eq!(table(&batches), expected);
    let positions: Vec<_> = rejected.iter().map(|r| r.position.clone()).collect();
    assert_eq!(positions, [format!("{}:2", path.display())]);
}

/// `encoding_errors = "replace"` keeps a CSV record whose bytes are not valid in a
/// declared encoding other than UTF-8 too, with U+FFFD for them; by default it is rejected.
#[test]
fn csv_encoding_errors_replace_in_utf16() {
    let units: Vec<u16> = "id,name\n1,a\n2,"
        .encode_utf16()
        .chain([0xD800])
        .chain("\n".encode_utf16())
        .collect();
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
    for (errors, rows, rejected) in [("reject", 1, 1), ("replace", 2, 0)] {
        let dir = TempDir::new().unwrap();
        fs::write(dir.path().join("a.csv"), &bytes).unwrap();
        let mut source = create(json!({
            "path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING",
            "encoding": "UTF-16LE", "encoding_errors": errors,
        }))
        .unwrap();
        let (batches, bad) = drain(&mut source, 100);
        let count: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!((count, bad.len()), (rows, rejected), "{errors}");
        if errors == "replace" {
            let names = batches[0].column(1).as_string::<i32>();
            assert_eq!(names.value(1), "\u{FFFD}");
        }
    }
}

#[test]
fn restore_skips_the_csv_header_and_parquet_rows_read() {
    let dir = TempDir::new().unwrap();
    write(dir.path().join("a.csv"), "id,name\n1,a\n2,b\n3,c\n");
    let options = json!({"path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING"});
    let mut source = create(options.clone()).unwrap();
    assert_eq!(ids(&poll(&mut source, 2).batches), [1, 2]);
    let mut restored = create(options).unwrap();
    restored
        .restore(&Restored::new(1, &source.checkpoint(1).unwrap()))
        .unwrap();
    assert_eq!(ids(&drain(&mut restored, 100).0), [3]);

    let dir = TempDir::new().unwrap();
    write_parquet(&dir.path().join("a.parquet"), &parquet_batch());
    let options = json!({"path": dir.path(), "format": "parquet"});
    let mut source = create(options.clone()).unwrap();
    assert_eq!(poll(&mut source, 2).batches[0].num_rows(), 2);
    let mut restored = create(options).unwrap();
    restored
        .restore(&Restored::new(1, &source.checkpoint(1).unwrap()))
        .unwrap();
    let (batches, _) = drain(&mut restored, 100);
    assert_eq!(
        concat_batches(&batches[0].schema(), &batches).unwrap(),
        parquet_batch().slice(2, 1)
    );
}

#[test]
fn archive_happens_only_when_the_epoch_commits() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in");
    let archive = input.join("archive");
    let a = write_rows(input.join("sub/a.json"), [1]);
    let mut source = json_source(
        &input,
        json!({"clean_source": "archive", "archive_dir": archive}),
    );
    drain(&mut source, 100);
    let b = write_rows(input.join("b.json"), [2]);
    assert!(a.exists());
    let state = source.checkpoint(1).unwrap();
    drain(&mut source, 100);
    assert!(a.exists());
    source.commit(1).unwrap();
    assert!(!a.exists());
    assert_eq!(
        fs::read_to_string(archive.join("sub/a.json")).unwrap(),
        "{\"id\": 1, \"name\": \"r1\"}\n"
    );
    assert!(b.exists(), "b was finished after epoch 1's checkpoint");
    source.checkpoint(2).unwrap();
    source.commit(2).unwrap();
    assert!(archive.join("b.json").exists() && !b.exists());
    // Archived files are not read again, and committing again is harmless.
    assert_eq!(drain(&mut source, 100).0.len(), 0);
    let mut restored = json_source(
        &input,
        json!({"clean_source": "archive", "archive_dir": archive}),
    );
    restored.restore(&Restored::new(1, &state)).unwrap();
    restored.commit(1).unwrap();
    assert_eq!(drain(&mut restored, 100).0.len(), 0);
}

#[test]
fn delete_happens_only_when_the_epoch_commits() {
    let dir = TempDir::new().unwrap();
    let a = write_rows(dir.path().join("a.json"), [1]);
    let mut source = json_source(dir.path(), json!({"clean_source": "delete"}));
    drain(&mut source, 100);
    source.checkpoint(1).unwrap();
    assert!(a.exists());
    source.commit(1).unwrap();
    assert!(!a.exists());
    source.commit(1).unwrap();
}

#[test]
fn file_column_names_each_rows_file() {
    let dir = TempDir::new().unwrap();
    let a = write_rows(dir.path().join("a.json"), [1, 2]);
    let b = write_rows(dir.path().join("b.json"), [3]);
    set_mtime(&a, 1);
    set_mtime(&b, 2);
    let mut source = json_source(dir.path(), json!({"file_column": "_file"}));
    let (batches, _) = drain(&mut source, 100);
    let files: Vec<String> = (batches.iter())
        .flat_map(|b| b.column_by_name("_file").unwrap().as_string::<i32>().iter())
        .map(|f| f.unwrap().to_string())
        .collect();
    let (a, b) = (a.display().to_string(), b.display().to_string());
    assert_eq!(files, [a.clone(), a, b]);
}

#[test]
fn files_are_read_oldest_or_newest_first() {
    let dir = TempDir::new().unwrap();
    for (name, id, age) in [
        ("a.json", 1, 3),
        ("b.json", 2, 1),
        ("c.json", 3, 2),
        ("d.json", 4, 2),
    ] {
        set_mtime(&write_rows(dir.path().join(name), [id]), 10 - age);
    }
    let mut oldest = json_source(dir.path(), json!({}));
    assert_eq!(ids(&drain(&mut oldest, 100).0), [1, 3, 4, 2]);
    let mut newest = json_source(dir.path(), json!({"latest_first": true}));
    assert_eq!(ids(&drain(&mut newest, 100).0), [2, 3, 4, 1]);
}

#[test]
fn max_files_per_trigger_bounds_each_poll() {
    let dir = TempDir::new().unwrap();
    for id in 0..3 {
        set_mtime(
            &write_rows(dir.path().join(format!("{id}.json")), [id]),
            id as u64,
        );
    }
    let mut source = json_source(dir.path(), json!({"max_files_per_trigger": 2}));
    assert_eq!(ids(&poll(&mut source, 100).batches), [0, 1]);
    assert_eq!(ids(&poll(&mut source, 100).batches), [2]);
    assert_eq!(poll(&mut source, 100).status, SourceStatus::Idle);
}

#[test]
fn options_are_checked_at_create() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope");
    let err = create(json!({"path": missing, "format": "json", "schema": "id INT"}))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!("path '{}' does not exist", missing.display())
    );
    let err = create(json!({"path": dir.path(), "format": "json"}))
        .err()
        .unwrap();
    assert!(err.to_string().contains("needs a schema"), "{err}");
    let err = create(json!({"path": dir.path(), "format": "parquet", "clean_source": "archive"}))
        .err()
        .unwrap();
    assert!(err.to_string().contains("archive_dir"), "{err}");
    let err =
        create(json!({"path": dir.path(), "format": "csv", "schema": "a INT", "delimiter": ""}))
            .err()
            .unwrap();
    assert!(err.to_string().starts_with("delimiter"), "{err}");
    let err = create(json!({"path": dir.path(), "format": "json", "pth": "x"}))
        .err()
        .unwrap();
    assert!(err.to_string().contains("unknown field `pth`"), "{err}");
    let mut empty = create(json!({"path": dir.path(), "format": "parquet"})).unwrap();
    assert_eq!(poll(&mut empty, 10).status, SourceStatus::Idle);
}

/// Spark's `ignoreMissingFiles`: a file removed between listing and reading is skipped
/// with a warning and the next one read; with `ignore_missing_files = false` the poll
/// fails naming it.
#[test]
fn a_file_removed_before_it_is_read_is_skipped_or_fails_the_poll() {
    for ignore in [true, false] {
        let dir = TempDir::new().unwrap();
        let a = write_rows(dir.path().join("a.json"), [1]);
        let b = write_rows(dir.path().join("b.json"), [2]);
        let c = write_rows(dir.path().join("c.json"), [3]);
        for (n, path) in [&a, &b, &c].into_iter().enumerate() {
            set_mtime(path, n as u64);
        }
        let mut source = json_source(dir.path(), json!({"ignoreMissingFiles": ignore}));
        assert_eq!(ids(&poll(&mut source, 1).batches), [1]);
        fs::remove_file(&b).unwrap();
        if ignore {
            let (batches, rejected) = drain(&mut source, 10);
            assert_eq!(ids(&batches), [3]);
            assert!(rejected.is_empty(), "{rejected:?}");
            continue;
        }
        let err = poll_error(&mut source, 10);
        let expected = format!(
            "reading '{}': No such file or directory (os error 2) (ignore_missing_files = false)",
            b.display()
        );
        assert_eq!(err, expected);
    }
}

#[test]
fn a_single_file_path_reads_that_file() {
    let dir = TempDir::new().unwrap();
    let a = write_rows(dir.path().join("a.json"), [1]);
    write_rows(dir.path().join("b.json"), [2]);
    let mut source = json_source(&a, json!({}));
    assert_eq!(ids(&drain(&mut source, 100).0), [1]);
}

#[test]
fn empty_files_do_not_end_the_input_early() {
    let dir = TempDir::new().unwrap();
    set_mtime(&write(dir.path().join("a.json"), "\n"), 1);
    set_mtime(&write_rows(dir.path().join("b.json"), [1]), 2);
    let mut source = json_source(dir.path(), json!({"max_files_per_trigger": 1}));
    assert_eq!(poll(&mut source, 100).status, SourceStatus::Ready);
    assert_eq!(ids(&drain(&mut source, 100).0), [1]);
}

fn positions(rejected: &[Rejected]) -> Vec<String> {
    rejected.iter().map(|r| r.position.clone()).collect()
}

#[test]
fn a_byte_order_mark_starts_no_record() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path().join("a.json"),
        "\u{feff}{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2}\n",
    );
    write(dir.path().join("b.csv"), "\u{feff}id,name\n3,c\n");
    write(dir.path().join("c.csv"), "\u{feff}4,d\n");
    let mut json = json_source(&dir.path().join("a.json"), json!({}));
    let (batches, rejected) = drain(&mut json, 100);
    assert_eq!((ids(&batches), rejected), (vec![1, 2], vec![]));
    let csv = |file: &str, header: bool| {
        let path = dir.path().join(file);
        create(json!({"path": path, "format": "csv", "schema": "id BIGINT, name STRING", "header": header}))
            .unwrap()
    };
    let (batches, rejected) = drain(&mut csv("b.csv", true), 100);
    assert!(rejected.is_empty(), "{rejected:?}");
    let expected = "\
+----+------+
| id | name |
+----+------+
| 3  | c    |
+----+------+";
    assert_eq!(table(&batches), expected);
    let (batches, rejected) = drain(&mut csv("c.csv", false), 100);
    assert_eq!((ids(&batches), rejected), (vec![4], vec![]));
}

#[test]
fn records_longer_than_max_record_bytes_are_rejected_undecoded() {
    let dir = TempDir::new().unwrap();
    let long = format!("{{\"id\": 2, \"name\": \"{}\"}}", "x".repeat(2 << 20));
    let path = write(
        dir.path().join("a.json"),
        &format!("{{\"id\": 1}}\n{long}\n{{\"id\": 3}}\n"),
    );
    let mut source = json_source(dir.path(), json!({}));
    let (batches, rejected) = drain(&mut source, 100);
    assert_eq!(ids(&batches), [1, 3]);
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        rejected[0].reason,
        format!(
            "record of {} bytes is longer than max_record_bytes (1048576); \
             the rejected bytes are its first 1048576",
            long.len()
        )
    );
    assert_eq!(rejected[0].raw, long.as_bytes()[..1 << 20]);
    assert_eq!(positions(&rejected), [format!("{}:2", path.display())]);

    // Rejected records come in file order, whichever check refused them.
    let path = write(
        dir.path().join("c/a.json"),
        &format!("{{\"id\": \"one\"}}\n{long}\n{{\"id\": 3\n"),
    );
    let (_, rejected) = drain(&mut json_source(&path, json!({})), 100);
    let lines: Vec<_> = (1..=3).map(|n| format!("{}:{n}", path.display())).collect();
    assert_eq!(positions(&rejected), lines);

    let path = write(dir.path().join("b/a.csv"), "id,name\n1,abcd\n2,abcdefgh\n");
    let mut source = create(json!({
        "path": path, "format": "csv", "schema": "id BIGINT, name STRING", "max_record_bytes": 7,
    }))
    .unwrap();
    let (batches, rejected) = drain(&mut source, 100);
    assert_eq!(ids(&batches), [1]);
    let rejected: Vec<_> = rejected
        .iter()
        .map(|r| (&r.raw[..], &r.reason[..]))
        .collect();
    let reason = "record of 10 bytes is longer than max_record_bytes (7); \
                  the rejected bytes are its first 7";
    assert_eq!(rejected, [(&b"2,abcde"[..], reason)]);
    let size = create(json!({
        "path": dir.path(), "format": "json", "schema": "id INT", "max_record_bytes": "2 KiB",
    }));
    assert!(size.is_ok());
}

#[test]
fn multi_line_json_reads_documents_that_span_lines() {
    let dir = TempDir::new().unwrap();
    let object = write(
        dir.path().join("a.json"),
        "\u{feff}{\n  \"id\": 1,\n  \"name\": \"a\"\n}\n",
    );
    let array = write(
        dir.path().join("b.json"),
        "[\n  {\n    \"id\": 2\n  },\n  {\"id\": \"two\"},\n  {\"id\": 3, \"name\": \"c\"}\n]\n",
    );
    let broken = write(dir.path().join("c.json"), "{\n  \"id\": 4,\n");
    set_mtime(&object, 1);
    set_mtime(&array, 2);
    set_mtime(&broken, 3);
    for key in ["multiLine", "multi_line"] {
        let mut source = json_source(dir.path(), json!({ key: true }));
        let (batches, rejected) = drain(&mut source, 100);
        let expected = "\
+----+------+
| id | name |
+----+------+
| 1  | a    |
| 2  |      |
| 3  | c    |
+----+------+";
        assert_eq!(table(&batches), expected);
        let got: Vec<_> = rejected
            .iter()
            .map(|r| (&r.position[..], &r.reason[..]))
            .collect();
        let (array, broken) = (
            format!("{}:5", array.display()),
            format!("{}:1", broken.display()),
        );
        assert_eq!(
            got,
            [
                (&array[..], r#"field 'id': expected BIGINT, got "two""#),
                (
                    &broken[..],
                    "malformed JSON: EOF while parsing a value at line 2 column 10"
                ),
            ]
        );
        assert_eq!(rejected[1].raw, b"{\n  \"id\": 4,");
    }
    // Without it, each line is a record.
    let mut lines = json_source(&object, json!({}));
    assert_eq!(drain(&mut lines, 100).1.len(), 4);
}

#[test]
fn path_glob_filter_matches_file_names() {
    let dir = TempDir::new().unwrap();
    write_rows(dir.path().join("a.json"), [1]);
    write_rows(dir.path().join("b.jsonl"), [2]);
    write_rows(dir.path().join("c.txt"), [3]);
    write_rows(dir.path().join("sub.json/d.txt"), [4]);
    write_rows(dir.path().join("sub.json/e.json"), [5]);
    for (key, filter, expected) in [
        ("pathGlobFilter", "*.json", vec![1, 5]),
        ("path_glob_filter", "*.{json,jsonl}", vec![1, 2, 5]),
        ("path_glob_filter", "[bc].*", vec![2, 3]),
    ] {
        let mut source = json_source(dir.path(), json!({ key: filter }));
        let mut got = ids(&drain(&mut source, 100).0);
        got.sort();
        assert_eq!(got, expected, "{filter}");
    }
    let err = create(json!({
        "path": dir.path(), "format": "json", "schema": "id INT", "path_glob_filter": "*.{json",
    }))
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "path_glob_filter '*.{json': '{' without '}'"
    );
}

/// Writes files `0.json`, `1.json`… holding `sizes[i]` bytes each (one row, id = i,
/// padded with spaces), modified i seconds apart.
fn write_sized(dir: &Path, sizes: &[usize]) {
    for (i, &size) in sizes.iter().enumerate() {
        let row = format!("{{\"id\": {i}}}");
        let path = write(
            dir.join(format!("{i}.json")),
            &format!("{row:<width$}\n", width = size - 1),
        );
        set_mtime(&path, i as u64);
    }
}

#[test]
fn max_bytes_per_trigger_admits_files_up_to_a_total_size() {
    let dir = TempDir::new().unwrap();
    write_sized(dir.path(), &[40, 60, 150, 10, 30, 30]);
    for key in ["maxBytesPerTrigger", "max_bytes_per_trigger"] {
        let mut source = json_source(dir.path(), json!({ key: 100 }));
        let polls: Vec<Vec<i64>> = std::iter::from_fn(|| {
            let polled = poll(&mut source, 1000);
            (polled.status == SourceStatus::Ready).then(|| ids(&polled.batches))
        })
        .collect();
        // 40 + 60 fit; 150 alone is over, but a trigger takes at least one file.
        assert_eq!(polls, [vec![0, 1], vec![2], vec![3, 4, 5]]);
    }
    let mut both = json_source(
        dir.path(),
        json!({"max_bytes_per_trigger": "1 KB", "max_files_per_trigger": 2}),
    );
    assert_eq!(ids(&poll(&mut both, 1000).batches), [0, 1]);
}

#[test]
fn max_file_age_ignores_files_older_than_the_newest_by_that_much() {
    let dir = TempDir::new().unwrap();
    let first = write_rows(dir.path().join("a.json"), [1]);
    set_mtime(&first, 10);
    let old = write_rows(dir.path().join("b.json"), [2]);
    set_mtime(&old, 0);
    let mut source = json_source(dir.path(), json!({"maxFileAge": "5s"}));
    // The first listing admits every age, as Spark's first batch does.
    assert_eq!(ids(&drain(&mut source, 100).0), [2, 1]);
    for (name, id, age) in [("c.json", 3, 4), ("d.json", 4, 6), ("e.json", 5, 5)] {
        set_mtime(&write_rows(dir.path().join(name), [id]), 10 - age);
    }
    assert_eq!(ids(&drain(&mut source, 100).0), [5, 3]);
    // The newest time seen survives a restart.
    let state = source.checkpoint(1).unwrap();
    set_mtime(&write_rows(dir.path().join("f.json"), [6]), 1);
    let mut restored = json_source(dir.path(), json!({"max_file_age": "5s"}));
    restored.restore(&Restored::new(1, &state)).unwrap();
    assert_eq!(drain(&mut restored, 100).0.len(), 0);
    // Without the option nothing is ignored.
    let mut all = json_source(dir.path(), json!({}));
    assert_eq!(ids(&drain(&mut all, 100).0), [2, 6, 4, 5, 3, 1]);
}

#[test]
fn timestamp_and_date_formats_read_spark_patterns() {
    let dir = TempDir::new().unwrap();
    let json = write(
        dir.path().join("a.json"),
        "{\"id\": 1, \"ts\": \"05/03/2024 14:07:09\", \"day\": \"05.03.2024\"}\n\
         {\"id\": 2, \"ts\": \"2024-03-05T14:07:09Z\"}\n\
         {\"id\": 3, \"day\": \"5.3.2024\"}\n",
    );
    let csv = write(
        dir.path().join("b.csv"),
        "id,ts,day\n4,05/03/2024 14:07:10,06.03.2024\n5,05/03/2024,06.03.2024\n",
    );
    let schema = "id BIGINT, ts TIMESTAMP, day DATE";
    for (ts, day) in [
        ("timestampFormat", "dateFormat"),
        ("timestamp_format", "date_format"),
    ] {
        let options = |path: &Path, format: &str| {
            json!({"path": path, "format": format, "schema": schema,
                   ts: "dd/MM/yyyy HH:mm:ss", day: "dd.MM.yyyy"})
        };
        let (mut batches, mut rejected) = drain(&mut create(options(&json, "json")).unwrap(), 100);
        let (more, more_rejected) = drain(&mut create(options(&csv, "csv")).unwrap(), 100);
        batches.extend(more);
        rejected.extend(more_rejected);
        let expected = "\
+----+----------------------+------------+
| id | ts                   | day        |
+----+----------------------+------------+
| 1  | 2024-03-05T14:07:09Z | 2024-03-05 |
| 4  | 2024-03-05T14:07:10Z | 2024-03-06 |
+----+----------------------+------------+";
        assert_eq!(table(&batches), expected);
        let got: Vec<_> = rejected
            .iter()
            .map(|r| (&r.position[..], &r.reason[..]))
            .collect();
        let at = |path: &Path, line: usize| format!("{}:{line}", path.display());
        let (j2, j3, c3) = (at(&json, 2), at(&json, 3), at(&csv, 3));
        assert_eq!(
            got,
            [
                (&j2[..], "field 'ts': '2024-03-05T14:07:09Z' does not match timestamp_format 'dd/MM/yyyy HH:mm:ss': expected '/' at '24-03-05T14:07:09Z'"),
                (&j3[..], "field 'day': '5.3.2024' does not match date_format 'dd.MM.yyyy': expected 2 digits at '5.3.2024'"),
                (&c3[..], "column 'ts': '05/03/2024' does not match timestamp_format 'dd/MM/yyyy HH:mm:ss': expected ' ' at the end"),
            ]
        );
    }
    let err = create(json!({"path": dir.path(), "format": "json", "schema": schema, "timestampFormat": "yyyy-MM-ddTHH"}))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with(
            "timestamp_format: invalid datetime pattern 'yyyy-MM-ddTHH': pattern letter 'T'"
        ),
        "{err}"
    );
}

// ---- Parquet: unreadable files, values checked one by one, INT96, codecs, schemas ----

fn write_parquet_with(path: &Path, batches: &[RecordBatch], props: Option<WriterProperties>) {
    let file = File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batches[0].schema(), props).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
        // One row group per batch.
        writer.flush().unwrap();
    }
    writer.close().unwrap();
}

fn id_batch(ids: impl IntoIterator<Item = i64>) -> RecordBatch {
    let id: ArrayRef = Arc::new(Int64Array::from_iter_values(ids));
    RecordBatch::try_from_iter([("id", id)]).unwrap()
}

fn reasons(rejected: &[Rejected]) -> Vec<(String, String)> {
    (rejected.iter())
        .map(|r| (r.position.clone(), r.reason.clone()))
        .collect()
}

/// A Parquet file whose second row group's first page header is overwritten: it opens,
/// its first row group reads, then the damaged page fails.
fn write_damaged(path: &Path) {
    write_parquet_with(path, &[id_batch([10, 11]), id_batch([12, 13])], None);
    let metadata = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .metadata()
        .clone();
    let page = metadata.row_group(1).column(0).data_page_offset() as usize;
    let mut bytes = fs::read(path).unwrap();
    bytes[page..page + 8].fill(0xff);
    fs::write(path, bytes).unwrap();
}

/// Truncated, empty, mislabelled and damaged Parquet files are each one rejected record
/// (the path as raw bytes and position, the size and parquet's reason), and the rows of
/// the good files before and after them, and of the damaged file before its damage, are
/// all delivered in order.
#[test]
fn unreadable_parquet_files_are_one_rejected_record_each_and_the_source_goes_on() {
    let dir = TempDir::new().unwrap();
    let path = |name: &str| dir.path().join(name);
    write_parquet_with(&path("a.parquet"), &[id_batch([1, 2])], None);
    write_parquet_with(&path("b.parquet"), &[id_batch([3])], None);
    let whole = fs::read(path("b.parquet")).unwrap();
    fs::write(path("b.parquet"), &whole[..whole.len() / 2]).unwrap();
    fs::write(path("c.parquet"), b"").unwrap();
    fs::write(path("d.parquet"), b"{\"id\": 4}\n").unwrap();
    write_damaged(&path("e.parquet"));
    write_parquet_with(&path("f.parquet"), &[id_batch([5])], None);
    let names = ["a", "b", "c", "d", "e", "f"];
    for (n, name) in names.iter().enumerate() {
        set_mtime(&path(&format!("{name}.parquet")), n as u64);
    }
    let mut source = create(json!({"path": dir.path(), "format": "parquet"})).unwrap();
    let (batches, rejected) = drain(&mut source, 100);
    assert_eq!(ids(&batches), [1, 2, 5]);
    let at = |name: &str| path(name).display().to_string();
    let half = whole.len() / 2;
    let size = fs::metadata(path("e.parquet")).unwrap().len();
    let expected = [
        (at("b.parquet"), format!("cannot read the file ({half} bytes): Parquet error: Invalid Parquet file. Corrupt footer")),
        (at("c.parquet"), "cannot read the file (0 bytes): EOF: Parquet file too small. Size is 0 but need 8".to_string()),
        (at("d.parquet"), "cannot read the file (10 bytes): Parquet error: Invalid Parquet file. Corrupt footer".to_string()),
        (at("e.parquet"), format!("cannot read the file ({size} bytes): Parquet argument error: Parquet error: Unexpected struct field type 15")),
    ];
    assert_eq!(reasons(&rejected), expected);
    for r in &rejected {
        assert_eq!(r.raw, r.position.as_bytes());
    }
    // The rejected files count as read: nothing is read again, nothing is cleaned.
    assert_eq!(drain(&mut source, 100).0.len(), 0);
    assert!(path("b.parquet").exists());
}

/// `ignore_corrupt_files = false` (Spark's default) fails the poll naming the file,
/// whatever the tolerance; `ignoreCorruptFiles = true` is the default's rejection.
#[test]
fn ignore_corrupt_files_false_fails_the_poll_naming_the_file() {
    let dir = TempDir::new().unwrap();
    let bad = dir.path().join("a.parquet");
    fs::write(&bad, b"not parquet").unwrap();
    let options = json!({"path": dir.path(), "format": "parquet", "ignore_corrupt_files": false});
    let mut source = create(options).unwrap();
    let err = poll_error(&mut source, 10);
    let expected = format!(
        "'{}': cannot read the file (11 bytes): Parquet error: Invalid Parquet file. Corrupt footer (ignore_corrupt_files = false)",
        bad.display()
    );
    assert_eq!(err, expected);
    let options = json!({"path": dir.path(), "format": "parquet", "ignoreCorruptFiles": true});
    let (_, rejected) = drain(&mut create(options).unwrap(), 10);
    assert_eq!(positions(&rejected), [bad.display().to_string()]);
}

/// A two-column file (`id` 0…, `v`) read with `schema = "id BIGINT, v <declared>"`: the
/// ids of the rows kept, and the reasons of those rejected (position `path:row <i>`).
fn read_as(v: ArrayRef, declared: &str) -> (Vec<i64>, Vec<String>, RecordBatch) {
    let dir = TempDir::new().unwrap();
    let id: ArrayRef = Arc::new(Int64Array::from_iter_values(0..v.len() as i64));
    let batch = RecordBatch::try_from_iter([("id", id), ("v", v)]).unwrap();
    let path = dir.path().join("a.parquet");
    write_parquet_with(&path, &[batch], None);
    let schema = format!("id BIGINT, v {declared}");
    let options = json!({"path": dir.path(), "format": "parquet", "schema": schema});
    let (batches, rejected) = drain(&mut create(options).unwrap(), 100);
    let prefix = format!("{}:", path.display());
    let reasons = (rejected.iter())
        .map(|r| format!("{} {}", r.position.strip_prefix(&prefix).unwrap(), r.reason))
        .collect();
    let all = match batches.first() {
        Some(first) => concat_batches(&first.schema(), &batches).unwrap(),
        None => RecordBatch::new_empty(
            batches
                .first()
                .map(|b| b.schema())
                .unwrap_or_else(|| id_batch([]).schema()),
        ),
    };
    (ids(&batches), reasons, all)
}

/// Each value that does not fit its declared type makes its row a rejected record
/// naming the row and column, never a null; the values that fit are read exactly.
#[test]
fn parquet_values_that_do_not_fit_the_declared_type_reject_their_row() {
    let big = 1u64 << 63;
    let cases: Vec<(ArrayRef, &str, Vec<i64>, Vec<String>)> = vec![
        (
            Arc::new(UInt64Array::from(vec![Some(1), Some(big), None])),
            "BIGINT",
            vec![0, 2],
            vec![format!("row 1 column 'v': {big} (UInt64) does not fit BIGINT")],
        ),
        (
            Arc::new(Int64Array::from(vec![7, 1 << 40, -(1 << 40)])),
            "INT",
            vec![0],
            vec![
                "row 1 column 'v': 1099511627776 (BIGINT) does not fit INT".into(),
                "row 2 column 'v': -1099511627776 (BIGINT) does not fit INT".into(),
            ],
        ),
        (
            Arc::new(UInt32Array::from(vec![u32::MAX, 5])),
            "INT",
            vec![1],
            vec!["row 0 column 'v': 4294967295 (UInt32) does not fit INT".into()],
        ),
        (
            Arc::new(
                Decimal128Array::from(vec![1_500_000, 10i128.pow(30)])
                    .with_precision_and_scale(38, 6)
                    .unwrap(),
            ),
            "DECIMAL(18,6)",
            vec![0],
            vec!["row 1 column 'v': 1000000000000000000000000.000000 (DECIMAL(38,6)) does not fit DECIMAL(18,6)".into()],
        ),
        (
            Arc::new(
                Decimal128Array::from(vec![1_500_000, 1_234_567])
                    .with_precision_and_scale(10, 6)
                    .unwrap(),
            ),
            "DECIMAL(10,2)",
            vec![0],
            vec!["row 1 column 'v': 1.234567 (DECIMAL(10,6)) does not fit DECIMAL(10,2)".into()],
        ),
        (
            Arc::new(TimestampSecondArray::from(vec![0, i64::MAX / 2])),
            "TIMESTAMP",
            vec![0],
            vec!["row 1 column 'v': 4611686018427387903 (Timestamp(s)) does not fit TIMESTAMP".into()],
        ),
        (
            Arc::new(BinaryArray::from(vec![&b"ok"[..], &b"a\xff"[..]])),
            "STRING",
            vec![0],
            vec!["row 1 column 'v': the bytes 61ff are not valid UTF-8, so not a STRING".into()],
        ),
        (
            Arc::new(StringArray::from(vec!["12", "abc", "1.5"])),
            "INT",
            vec![0],
            vec![
                "row 1 column 'v': 'abc' (STRING) does not fit INT".into(),
                "row 2 column 'v': '1.5' (STRING) does not fit INT".into(),
            ],
        ),
        (
            Arc::new(Float64Array::from(vec![2.0, 1.5, f64::NAN])),
            "BIGINT",
            vec![0],
            vec![
                "row 1 column 'v': 1.5 (DOUBLE) does not fit BIGINT".into(),
                "row 2 column 'v': NaN (DOUBLE) does not fit BIGINT".into(),
            ],
        ),
        (
            Arc::new(Float64Array::from(vec![0.5, 1e300])),
            "FLOAT",
            vec![0],
            vec!["row 1 column 'v': 1e300 (DOUBLE) does not fit FLOAT".into()],
        ),
        (
            Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
                Some(vec![Some(1), Some(2)]),
                Some(vec![Some(3), Some(1 << 40)]),
                None,
            ])),
            "ARRAY<INT>",
            vec![0, 2],
            vec!["row 1 column 'v[]': 1099511627776 (BIGINT) does not fit INT".into()],
        ),
    ];
    for (v, declared, kept, expected) in cases {
        let (got, reasons, _) = read_as(v, declared);
        assert_eq!((got, reasons), (kept, expected), "{declared}");
    }
}

/// Precision the README lets go is dropped, never range: nanoseconds beyond the
/// microsecond, and what a FLOAT cannot hold of a DOUBLE.
#[test]
fn documented_precision_drops_keep_the_row() {
    let ns: ArrayRef = Arc::new(
        TimestampNanosecondArray::from(vec![1_700_000_000_123_456_789]).with_timezone("UTC"),
    );
    let (kept, reasons, batch) = read_as(ns, "TIMESTAMP");
    assert_eq!((kept, reasons), (vec![0], vec![]));
    let ts = batch.column(1).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.value(0), 1_700_000_000_123_456);
    let doubles: ArrayRef = Arc::new(Float64Array::from(vec![0.1, -3.5]));
    let (kept, reasons, batch) = read_as(doubles, "FLOAT");
    assert_eq!((kept, reasons), (vec![0, 1], vec![]));
    let floats = batch.column(1).as_primitive::<Float32Type>();
    assert_eq!(floats.values().to_vec(), [0.1f32, -3.5]);
}

/// INT96 timestamps (Spark's, Hive's and Impala's default) written without arrow's
/// schema metadata: julian day and nanoseconds of day, read as TIMESTAMP (µs, UTC) over
/// their whole range, with or without a declared schema.
#[test]
fn int96_timestamps_keep_their_full_range() {
    use parquet::data_type::{Int64Type as PqInt64, Int96, Int96Type};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("spark.parquet");
    let schema =
        parse_message_type("message spark { required int64 id; required int96 ts; }").unwrap();
    let mut writer = SerializedFileWriter::new(
        File::create(&path).unwrap(),
        Arc::new(schema),
        Default::default(),
    )
    .unwrap();
    // Julian days of 3000-01-01, 1000-01-01 (proleptic Gregorian) and 2024-03-05.
    let days = [2816788u32, 2086303, 2460375];
    let nanos_of_day = 3_723_000_001_001u64; // 01:02:03.000001001
    let values: Vec<Int96> = (days.iter())
        .map(|&day| {
            let mut v = Int96::new();
            v.set_data(nanos_of_day as u32, (nanos_of_day >> 32) as u32, day);
            v
        })
        .collect();
    let mut group = writer.next_row_group().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    column
        .typed::<PqInt64>()
        .write_batch(&[0, 1, 2], None, None)
        .unwrap();
    column.close().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    column
        .typed::<Int96Type>()
        .write_batch(&values, None, None)
        .unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
    let expected = "\
+----+-----------------------------+
| id | ts                          |
+----+-----------------------------+
| 0  | 3000-01-01T01:02:03.000001Z |
| 1  | 1000-01-01T01:02:03.000001Z |
| 2  | 2024-03-05T01:02:03.000001Z |
+----+-----------------------------+";
    for schema in [None, Some("id BIGINT, ts TIMESTAMP")] {
        let mut options = json!({"path": dir.path(), "format": "parquet"});
        if let Some(schema) = schema {
            options["schema"] = json!(schema);
        }
        let (batches, rejected) = drain(&mut create(options).unwrap(), 100);
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(table(&batches), expected, "{schema:?}");
    }
}

/// Valid gzip and brotli files read like any other.
#[test]
fn gzip_and_brotli_parquet_files_are_read() {
    use parquet::basic::{BrotliLevel, Compression, GzipLevel};
    let dir = TempDir::new().unwrap();
    let codecs = [
        Compression::GZIP(GzipLevel::default()),
        Compression::BROTLI(BrotliLevel::default()),
    ];
    for (n, codec) in codecs.into_iter().enumerate() {
        let props = WriterProperties::builder().set_compression(codec).build();
        let path = dir.path().join(format!("{n}.parquet"));
        write_parquet_with(
            &path,
            &[id_batch([n as i64 * 2, n as i64 * 2 + 1])],
            Some(props),
        );
        set_mtime(&path, n as u64);
    }
    let options = json!({"path": dir.path(), "format": "parquet", "schema": "id BIGINT"});
    let (batches, rejected) = drain(&mut create(options).unwrap(), 100);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(ids(&batches), [0, 1, 2, 3]);
}

/// A declared column the file lacks is null; one whose name differs only in case is
/// read (an exact name wins over a case match); two case matches, a NOT NULL column
/// missing, or a struct read as INT make the file unreadable, one rejected record.
#[test]
fn parquet_columns_are_matched_by_name_then_case() {
    let dir = TempDir::new().unwrap();
    let ints = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(v)) };
    let files: Vec<(&str, RecordBatch)> = vec![
        (
            "a",
            RecordBatch::try_from_iter([
                ("ID", ints(vec![1])),
                ("Name", Arc::new(StringArray::from(vec!["ann"])) as ArrayRef),
            ])
            .unwrap(),
        ),
        (
            "b",
            RecordBatch::try_from_iter([("id", ints(vec![2])), ("ID", ints(vec![-2]))]).unwrap(),
        ),
        (
            "c",
            RecordBatch::try_from_iter([("Id", ints(vec![3])), ("ID", ints(vec![-3]))]).unwrap(),
        ),
        (
            "d",
            RecordBatch::try_from_iter([(
                "id",
                Arc::new(StructArray::from(vec![(
                    Arc::new(Field::new("x", DataType::Int64, false)),
                    ints(vec![4]),
                )])) as ArrayRef,
            )])
            .unwrap(),
        ),
    ];
    for (n, (name, batch)) in files.iter().enumerate() {
        let path = dir.path().join(format!("{name}.parquet"));
        write_parquet_with(&path, std::slice::from_ref(batch), None);
        set_mtime(&path, n as u64);
    }
    let options = json!({"path": dir.path(), "format": "parquet", "schema": "id BIGINT, name STRING, extra INT"});
    let (batches, rejected) = drain(&mut create(options).unwrap(), 100);
    let expected = "\
+----+------+-------+
| id | name | extra |
+----+------+-------+
| 1  | ann  |       |
| 2  |      |       |
+----+------+-------+";
    assert_eq!(table(&batches), expected);
    let at = |name: &str| {
        dir.path()
            .join(format!("{name}.parquet"))
            .display()
            .to_string()
    };
    let size = |name: &str| fs::metadata(at(name)).unwrap().len();
    let expected = [
        (at("c"), format!("cannot read the file ({} bytes): column 'id' matches 'Id' and 'ID' of the file, which differ only in case", size("c"))),
        (at("d"), format!("cannot read the file ({} bytes): column 'id' is STRUCT<x: BIGINT NOT NULL> in the file, which cannot be read as BIGINT", size("d"))),
    ];
    assert_eq!(reasons(&rejected), expected);
    let options =
        json!({"path": at("a"), "format": "parquet", "schema": "id BIGINT, other STRING NOT NULL"});
    let (_, rejected) = drain(&mut create(options).unwrap(), 100);
    let expected = format!(
        "cannot read the file ({} bytes): NOT NULL column 'other' is not in the file",
        size("a")
    );
    assert_eq!(reasons(&rejected), [(at("a"), expected)]);
}

/// A folder or file whose name has glob characters is read as it is (it exists), not
/// taken for a glob that matches nothing.
#[test]
fn a_path_with_glob_characters_that_exists_is_read_as_it_is() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("runs[1]*?");
    write_rows(folder.join("a.json"), [1]);
    write_rows(folder.join("sub/b.json"), [2]);
    let mut source = json_source(&folder, json!({}));
    let mut got = ids(&drain(&mut source, 100).0);
    got.sort();
    assert_eq!(got, [1, 2]);
    let mut source = json_source(&folder.join("a.json"), json!({}));
    assert_eq!(ids(&drain(&mut source, 100).0), [1]);
    // A glob still is one when no such path exists.
    let mut source = json_source(&dir.path().join("runs[1]*?/*.json"), json!({}));
    assert_eq!(ids(&drain(&mut source, 100).0), Vec::<i64>::new());
}

/// In folder mode a symlink to a folder is followed; a loop ends, and a folder reached
/// twice is read once (under the first path in name order), so no row is read twice.
#[test]
fn symlinks_to_folders_are_followed_once() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("in");
    let outside = dir.path().join("outside");
    write_rows(root.join("a/x.json"), [1]);
    write_rows(outside.join("y.json"), [2]);
    std::os::unix::fs::symlink(&outside, root.join("b")).unwrap();
    // A loop back to the top, and a second path to `a`.
    std::os::unix::fs::symlink(&root, root.join("a/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("a"), root.join("c")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("nowhere"), root.join("d")).unwrap();
    let options = json!({"file_column": "file"});
    let (batches, rejected) = drain(&mut json_source(&root, options), 100);
    assert!(rejected.is_empty(), "{rejected:?}");
    let mut rows: Vec<(i64, String)> = Vec::new();
    for batch in &batches {
        let files = batch.column_by_name("file").unwrap().as_string::<i32>();
        for (i, id) in ids(std::slice::from_ref(batch)).into_iter().enumerate() {
            let file = files.value(i).strip_prefix(root.to_str().unwrap()).unwrap();
            rows.push((id, file.to_string()));
        }
    }
    rows.sort();
    assert_eq!(
        rows,
        [(1, "/a/x.json".to_string()), (2, "/b/y.json".to_string())]
    );
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = File::options().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn csv_source(dir: &Path, stable_for: &str) -> FileSource {
    create(json!({
        "path": dir, "format": "csv", "schema": "id BIGINT, name STRING",
        "file_stable_for": stable_for,
    }))
    .unwrap()
}

fn names(batches: &[RecordBatch]) -> Vec<String> {
    let column = |b: &RecordBatch| {
        let names = b.column_by_name("name").unwrap().as_string::<i32>();
        names
            .iter()
            .map(|n| n.unwrap().to_string())
            .collect::<Vec<_>>()
    };
    batches.iter().flat_map(column).collect()
}

/// A file changed within `file_stable_for` is not read yet, and the poll says Ready, not
/// Idle, so `available_now` waits for it; once it has held still it is read whole.
#[test]
fn a_file_written_in_two_steps_within_the_window_is_read_whole_once() {
    let dir = TempDir::new().unwrap();
    let a = write(dir.path().join("a.csv"), "id,name\n1,alpha\n2,be");
    let mut source = csv_source(dir.path(), "300ms");
    let polled = poll(&mut source, 100);
    assert!(polled.batches.is_empty() && polled.rejected.is_empty());
    assert_eq!(polled.status, SourceStatus::Ready);
    append(&a, "ta\n3,gamma\n");
    let (batches, rejected) = drain(&mut source, 100);
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(ids(&batches), [1, 2, 3]);
    assert_eq!(names(&batches), ["alpha", "beta", "gamma"]);
}

#[test]
fn an_old_file_is_read_at_once_and_its_last_line_without_a_newline_is_a_record() {
    let dir = TempDir::new().unwrap();
    let a = write(dir.path().join("a.csv"), "id,name\n1,alpha\n2,beta");
    set_mtime(&a, 0);
    let mut source = csv_source(dir.path(), "1h");
    let polled = poll(&mut source, 100);
    assert!(polled.rejected.is_empty(), "{:?}", polled.rejected);
    assert_eq!(names(&polled.batches), ["alpha", "beta"]);
    assert_eq!(poll(&mut source, 100).status, SourceStatus::Idle);
}

/// A file that grows after it was admitted: the complete records it had then are
/// delivered once, its unterminated last line is not taken as a (cut-off) record, and
/// the change is one rejected record naming the file; it is not read again.
#[test]
fn a_file_that_grows_while_it_is_read_keeps_its_records_and_is_reported() {
    let dir = TempDir::new().unwrap();
    let a = write(dir.path().join("a.csv"), "id,name\n1,alpha\n2,be");
    let mut source = csv_source(dir.path(), "0s");
    assert_eq!(names(&poll(&mut source, 1).batches), ["alpha"]);
    append(&a, "ta\n3,gamma\n");
    let (batches, rejected) = drain(&mut source, 100);
    assert!(batches.iter().all(|b| b.num_rows() == 0), "{batches:?}");
    let path = a.display().to_string();
    let reason = "file changed while it was read: it had 20 bytes when it was picked up and \
                  has 31 now; its records in those 20 bytes were read except line 3, which \
                  had no newline yet, and the rest was not";
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(
        (rejected[0].raw.as_slice(), rejected[0].reason.as_str()),
        (path.as_bytes(), reason)
    );
    assert_eq!(rejected[0].position, path);
    assert!(drain(&mut source, 100).1.is_empty());
}

/// The snapshot a file was admitted with is checkpointed: after a restore the file is
/// read only as far as it was then, and a change since is reported.
#[test]
fn a_restored_file_is_read_as_far_as_it_was_admitted() {
    let dir = TempDir::new().unwrap();
    let a = write_rows(dir.path().join("a.json"), 1..=3);
    let mut source = json_source(dir.path(), json!({}));
    assert_eq!(ids(&poll(&mut source, 1).batches), [1]);
    let state = source.checkpoint(1).unwrap();
    append(&a, "{\"id\": 4, \"name\": \"r4\"}\n");
    let mut restored = json_source(dir.path(), json!({}));
    restored.restore(&Restored::new(1, &state)).unwrap();
    let (batches, rejected) = drain(&mut restored, 100);
    assert_eq!(ids(&batches), [2, 3]);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(
        rejected[0]
            .reason
            .starts_with("file changed while it was read: it had 72 bytes when it was picked up and has 96 now; its records in those 72 bytes were read, the rest was not"),
        "{rejected:?}"
    );
}

#[test]
fn a_file_that_changes_in_place_or_vanishes_after_reading_is_reported() {
    let dir = TempDir::new().unwrap();
    let a = write_rows(dir.path().join("a.json"), 1..=2);
    let mut source = json_source(dir.path(), json!({}));
    assert_eq!(ids(&poll(&mut source, 1).batches), [1]);
    fs::remove_file(&a).unwrap();
    let (batches, rejected) = drain(&mut source, 100);
    assert_eq!(ids(&batches), [2]);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let reason = &rejected[0].reason;
    assert!(
        reason.starts_with("file changed while it was read: it had 48 bytes when it was picked up and is gone now (No such file"),
        "{reason}"
    );
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn encoding_is_refused_for_parquet_and_unknown_names() {
    let dir = TempDir::new().unwrap();
    let parquet = json!({"path": dir.path(), "format": "parquet", "encoding": "UTF-16LE"});
    let refused = create(parquet).err().unwrap().to_string();
    assert!(
        refused.contains("encoding applies to json and csv files"),
        "{refused}"
    );
    let unknown =
        json!({"path": dir.path(), "format": "json", "schema": "id INT", "charset": "EBCDIC"});
    let refused = create(unknown).err().unwrap().to_string();
    assert!(
        refused.contains("unknown encoding 'EBCDIC'; one of UTF-8"),
        "{refused}"
    );
}

/// Records cut from UTF-16 text keep their line numbers; a record with bytes invalid in
/// the encoding is rejected with the line's own bytes; the rest decode.
#[test]
fn utf16_records_keep_their_lines_and_invalid_bytes_reject_theirs() {
    let dir = TempDir::new().unwrap();
    let bad_line = [
        utf16le("{\"id\": 2, \"name\": \"x"),
        vec![0x00, 0xdc],
        utf16le("\"}"),
    ]
    .concat();
    let data = [
        utf16le("\u{feff}{\"id\": 1, \"name\": \"é\"}\n\n"),
        bad_line.clone(),
        utf16le("\n{\"id\": 3.5, \"name\": \"c\"}\n{\"id\": 4, \"name\": \"€\"}"),
    ]
    .concat();
    let path = dir.path().join("a.json");
    fs::write(&path, &data).unwrap();
    let mut source = json_source(dir.path(), json!({"encoding": "utf-16le"}));
    let (batches, rejected) = drain(&mut source, 100);
    assert_eq!(ids(&batches), [1, 4]);
    assert_eq!(names(&batches), ["é", "€"]);
    let position = |line: usize| format!("{}:{line}", path.display());
    let got: Vec<_> = rejected
        .iter()
        .map(|r| (r.raw.clone(), r.reason.clone(), r.position.clone()))
        .collect();
    let at = utf16le("\u{feff}{\"id\": 1, \"name\": \"é\"}\n\n{\"id\": 2, \"name\": \"x").len();
    assert_eq!(
        got,
        [
            (
                bad_line,
                format!("invalid UTF-16LE (byte {at} of the file: 00 dc)"),
                position(3)
            ),
            (
                b"{\"id\": 3.5, \"name\": \"c\"}".to_vec(),
                "field 'id': expected BIGINT, got 3.5 (not an integer)".to_string(),
                position(4)
            ),
        ]
    );
}

#[test]
fn a_byte_order_mark_against_the_declared_encoding_makes_the_file_unreadable() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a.json");
    fs::write(&path, utf16le("\u{feff}{\"id\": 1}\n")).unwrap();
    let mut source = json_source(dir.path(), json!({"encoding": "UTF-16BE"}));
    let (batches, rejected) = drain(&mut source, 100);
    assert_eq!(ids(&batches), Vec::<i64>::new());
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(
        rejected[0].reason,
        "cannot read the file (22 bytes): it starts with a UTF-16LE byte order mark, but encoding is UTF-16BE"
    );
}

#[test]
fn iso_8859_1_reads_every_byte_as_its_code_point() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("a.csv"), b"id,name\n1,caf\xe9\n2,\x80\n").unwrap();
    let options = |encoding: &str| {
        create(json!({
            "path": dir.path(), "format": "csv", "schema": "id BIGINT, name STRING",
            "encoding": encoding,
        }))
        .unwrap()
    };
    let (batches, _) = drain(&mut options("ISO-8859-1"), 100);
    assert_eq!(names(&batches), ["café", "\u{80}"]);
    let (batches, _) = drain(&mut options("windows-1252"), 100);
    assert_eq!(names(&batches), ["café", "€"]);
}
