//! The README's first command runs configs/quickstart.toml: generated messages, filtered
//! and derived by the sql transform as the Spark job does it → a Parquet lake partitioned
//! by event_date, read back by DuckDB. configs/datagen-console.toml
//! prints the same kind of rows as console micro-batches.

use std::time::Duration;

use ferry_tests::lake::read_lake;
use ferry_tests::{duckdb, root, run_pipeline};

/// The generated rows the query keeps: 2000 less those with an empty or null event type
/// or a negative value.
const KEPT: i64 = 1902;

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
    for date in ["event_date=2024-12-15", "event_date=2024-12-16"] {
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
        (KEPT, KEPT),
        "{}",
        read.json
    );

    // Every row kept is one the Spark job keeps, with its derived columns.
    let wrong = duckdb(&format!(
        "SELECT count(*) FILTER (WHERE event_type IS NULL OR event_type = '' OR value < 0), \
           count(*) FILTER (WHERE event_date <> CAST(timezone('UTC', timestamp) AS DATE) \
             OR value_bucket <> value // 1000 \
             OR is_engagement <> (event_type IN ('OPEN', 'CLICKED'))) \
         FROM read_parquet('{}/event_date=*/*.parquet', hive_partitioning = true)",
        lake.display()
    ));
    assert_eq!(wrong.trim(), "[(0, 0)]");

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
        (KEPT, KEPT),
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
