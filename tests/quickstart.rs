//! The README's first command runs configs/quickstart.toml: generated messages → a
//! Parquet lake partitioned by date, read back by DuckDB. configs/datagen-console.toml
//! prints the same kind of rows as console micro-batches.

use std::time::Duration;

use ferry_tests::lake::read_lake;
use ferry_tests::{root, run_pipeline};

#[test]
fn quickstart_writes_a_date_partitioned_lake_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = root().join("configs/quickstart.toml");
    let run = run_pipeline(
        dir.path(),
        pipeline.to_str().unwrap(),
        Duration::from_secs(120),
    );
    assert!(run.status.success(), "{run:?}");
    let lake = dir.path().join("lake/messages");
    for date in ["date=2024-12-15", "date=2024-12-16"] {
        assert!(
            lake.join(date).is_dir(),
            "{date} missing in {}",
            lake.display()
        );
    }
    let read = read_lake(
        &lake,
        &[
            "--format",
            "parquet",
            "--reader",
            "duckdb",
            "--key",
            "message_id",
        ],
    );
    assert_eq!(
        (read.get("rows"), read.get("distinct")),
        (2000, 2000),
        "{}",
        read.json
    );

    // Run again: it resumes after its last checkpoint, so nothing is written twice.
    let again = run_pipeline(
        dir.path(),
        pipeline.to_str().unwrap(),
        Duration::from_secs(120),
    );
    assert!(again.status.success(), "{again:?}");
    let read = read_lake(
        &lake,
        &[
            "--format",
            "parquet",
            "--reader",
            "pyarrow",
            "--key",
            "message_id",
        ],
    );
    assert_eq!(
        (read.get("rows"), read.get("distinct")),
        (2000, 2000),
        "{}",
        read.json
    );
}

#[test]
fn datagen_console_prints_generated_batches_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = root().join("configs/datagen-console.toml");
    let run = run_pipeline(
        dir.path(),
        pipeline.to_str().unwrap(),
        Duration::from_secs(60),
    );
    assert!(run.status.success(), "{run:?}");
    assert!(run.stdout.contains("Batch: 0"), "{}", run.stdout);
    for column in ["timestamp", "event_type", "message_id", "country_id"] {
        assert!(
            run.stdout.contains(column),
            "missing column {column}: {}",
            run.stdout
        );
    }
    assert!(run.stderr.contains("60 rows out"), "{}", run.stderr);
    // The plugin's own log line reaches the host's log, tagged with the plugin and node.
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("messages generator, seed 42"))
        .expect("datagen's log line");
    assert!(
        line.contains("plugin=\"ferry_datagen\"") && line.contains("node=messages"),
        "{line}"
    );
    let checkpoint = ferry_tests::manifest(dir.path(), "datagen-console");
    assert_eq!(checkpoint["pipeline"], "datagen-console", "{checkpoint}");

    // Run again: it resumes after the last checkpoint, so no row is produced twice.
    let again = run_pipeline(
        dir.path(),
        pipeline.to_str().unwrap(),
        Duration::from_secs(60),
    );
    assert!(again.status.success(), "{again:?}");
    assert!(!again.stdout.contains("Batch: 0"), "{}", again.stdout);
    assert!(again.stderr.contains("0 rows out"), "{}", again.stderr);
}
