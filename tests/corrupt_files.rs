//! Parquet input as Spark, Hive and pyarrow write it, through the real binary: files that
//! cannot be read are one dead-letter record each (path, size, reason) and the source goes
//! on; values that do not fit their declared type reject their row; INT96 keeps its
//! range; gzip and brotli read; columns match by name, then by case; a folder whose name
//! has glob characters is read.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferry_tests::{hex, run_pipeline, table_cells};

/// Written with pyarrow (a writer nobody here wrote): `a` as Spark writes (INT96, gzip,
/// no arrow schema), `b` truncated, `c` empty, `d` JSON named .parquet, `e` brotli with
/// `ID` for `id`, no `ts`, and a uint64 that does not fit BIGINT. Read in that order.
const WRITE: &str = r#"
import os, sys, datetime as dt
import pyarrow as pa, pyarrow.parquet as pq
folder = sys.argv[1]
os.makedirs(folder, exist_ok=True)
p = lambda n: os.path.join(folder, n)
utc = dt.timezone.utc
ts = [dt.datetime(3000, 1, 1, 1, 2, 3, tzinfo=utc), dt.datetime(1000, 1, 1, tzinfo=utc)]
a = pa.table({"id": pa.array([1, 2], pa.int64()), "v": pa.array([10, 20], pa.int64()),
              "ts": pa.array(ts, pa.timestamp("us", tz="UTC"))})
pq.write_table(a, p("a.parquet"), compression="gzip", use_deprecated_int96_timestamps=True,
               store_schema=False)
whole = open(p("a.parquet"), "rb").read()
open(p("b.parquet"), "wb").write(whole[: len(whole) // 2])
open(p("c.parquet"), "wb").write(b"")
open(p("d.parquet"), "wb").write(b'{"id": 4}\n')
e = pa.table({"ID": pa.array([5, 6], pa.int64()), "v": pa.array([50, 2**63], pa.uint64())})
pq.write_table(e, p("e.parquet"), compression="brotli")
for n, name in enumerate("abcde"):
    os.utime(p(name + ".parquet"), (1_700_000_000 + n, 1_700_000_000 + n))
print(len(whole) // 2)
"#;

/// Writes the files under `dir/<folder>` and the pipeline `p.toml` reading it; returns
/// the truncated file's size.
fn setup(dir: &Path, folder: &str, tolerance: &str) -> u64 {
    let out = Command::new("python3")
        .args(["-c", WRITE])
        .arg(dir.join(folder))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pipeline = format!(
        r#"
[pipeline]
name = "corrupt"
trigger = "available_now"
errors.tolerance = "{tolerance}"
restart = {{ attempts = 3, backoff = "10ms" }}

[sources.in]
plugin = "file"
path = "{folder}"
format = "parquet"
schema = "id BIGINT, v BIGINT, ts TIMESTAMP"

[sinks.good]
plugin = "console"
inputs = ["in"]
truncate = false

[sinks.bad]
plugin = "console"
inputs = ["$dead_letter"]
truncate = false
"#
    );
    std::fs::write(dir.join("p.toml"), pipeline).unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The table rows the console printed (`| … |` lines other than headers), cells trimmed,
/// the dead-letter rows without their timestamp.
fn rows(stdout: &str) -> Vec<Vec<String>> {
    (stdout.lines())
        .filter(|l| l.starts_with('|') && !l.starts_with("| id ") && !l.starts_with("| raw "))
        .map(|l| {
            let mut cells = table_cells(l);
            if cells.len() == 5 {
                cells.pop();
            }
            cells
        })
        .collect()
}

#[test]
fn tolerance_all_delivers_every_good_row_and_one_dead_letter_record_per_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let half = setup(dir.path(), "in", "all");
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let strs = |row: &[&str]| row.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let file = |name: &str, reason: &str| {
        let path = format!("in/{name}");
        strs(&[&hex(path.as_bytes()), reason, "in", &path])
    };
    let bad_row = hex(br#"{"ID":6,"v":9223372036854775808}"#);
    let mut expected_dead = vec![
        file("b.parquet", &format!("cannot read the file ({half} bytes): Parquet error: Invalid Parquet file. Corrupt footer")),
        file("c.parquet", "cannot read the file (0 bytes): EOF: Parquet file too small. Size is 0 but need 8"),
        file("d.parquet", "cannot read the file (10 bytes): Parquet error: Invalid Parquet file. Corrupt footer"),
        strs(&[&bad_row, "column 'v': 9223372036854775808 (UInt64) does not fit BIGINT", "in", "in/e.parquet:row 1"]),
    ];
    let mut expected_good = vec![
        strs(&["1", "10", "3000-01-01T01:02:03Z"]),
        strs(&["2", "20", "1000-01-01T00:00:00Z"]),
        strs(&["5", "50", "null"]),
    ];
    let (mut dead, mut good): (Vec<_>, Vec<_>) =
        rows(&run.stdout).into_iter().partition(|r| r.len() == 4);
    for list in [&mut dead, &mut good, &mut expected_dead, &mut expected_good] {
        list.sort();
    }
    assert_eq!(good, expected_good, "{}", run.stdout);
    assert_eq!(dead, expected_dead, "{}", run.stdout);
    assert!(
        run.stderr.contains("3 rows out, 4 rejected"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("'in/e.parquet': column 'ts' is not in the file; it is null in every row"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("restarting"), "{}", run.stderr);
}

#[test]
fn tolerance_none_fails_the_run_naming_the_first_bad_file_without_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let half = setup(dir.path(), "in", "none");
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let expected = format!(
        "node 'in' failed: rejected a record at in/b.parquet: cannot read the file ({half} bytes): Parquet error: Invalid Parquet file. Corrupt footer"
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(!run.stderr.contains("restarting"), "{}", run.stderr);
    // The poll that met the bad file failed whole: a's rows were never delivered, and
    // nothing after it was read.
    assert_eq!(
        rows(&run.stdout),
        Vec::<Vec<String>>::new(),
        "{}",
        run.stdout
    );
}

#[test]
fn a_folder_whose_name_has_glob_characters_is_read() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "in[2024]*", "all");
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert!(
        run.stderr.contains("3 rows out, 4 rejected"),
        "{}",
        run.stderr
    );
}
