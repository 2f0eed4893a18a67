//! Spark reader parity: every case under `tests/spark_reader/cases/` (a small file, a
//! schema and reader options) read by the real `ferry` binary into a Parquet lake, read
//! back with pyarrow and compared, row for row and value for value, with the rows Spark
//! read from the same file (recorded in each case's `spark.json` by
//! `python3 tests/spark_reader/spark_reader.py record`, which runs pyspark). Cases where
//! ferry rejects a record Spark would alter say how many, and the rows must still agree
//! with Spark's `DROPMALFORMED` answer.

use std::time::Duration;

use std::path::Path;
use std::process::Command;

use ferry_tests::{root, run_pipeline};

/// What `spark_reader.py COMMAND DIR` prints; panics with its stderr if it fails.
fn spark_reader(command: &str, dir: &Path) -> String {
    let out = Command::new("python3")
        .arg(root().join("tests/spark_reader/spark_reader.py"))
        .args([command.as_ref(), dir.as_os_str()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "spark_reader.py {command}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_case_reads_as_spark_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    spark_reader("pipeline", dir.path());
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(300));
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let report = spark_reader("compare", dir.path());
    assert_eq!(
        report.trim(),
        "{}",
        "cases where ferry and Spark differ:\n{report}"
    );
}
