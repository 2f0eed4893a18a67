//! The dedup transform across kill -9: generated messages with 5% exact re-deliveries,
//! deduplicated by message id in both `keep` modes into the lake, killed at random
//! moments and restarted, end with exactly the rows of a run that never stopped: no
//! duplicate passes, none lost, read back with DuckDB.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{duckdb, kill_repeatedly, run_pipeline};

const KILLS: usize = 5;

fn pipeline(dir: &Path, keep: &str) {
    std::fs::write(
        dir.join("p.toml"),
        format!(
            r#"
[pipeline]
name = "dedup"
checkpoint_interval = "200ms"
batch_size = 1000

[sources.gen]
plugin = "datagen"
generator = "messages"
rows_per_second = 40000
limit = 120000
seed = 5
start = "2024-03-05T10:00:00Z"
duplicate_ratio = 0.05

[transforms.d]
plugin = "dedup"
inputs = ["gen"]
keys = ["message_id"]
keep = "{keep}"
event_time = "timestamp"
watermark_delay = "1s"

[sinks.lake]
plugin = "lake"
inputs = ["d"]
path = "lake"
format = "parquet"
"#
        ),
    )
    .unwrap();
}

/// (rows, distinct ids, a digest of every row) of the lake, as DuckDB reads it.
fn lake_rows(lake: &Path) -> String {
    duckdb(&format!(
        "SELECT count(*), count(DISTINCT message_id), \
         md5(string_agg(concat_ws('|', message_id, timestamp, value, user_id), ',' ORDER BY message_id)) \
         FROM read_parquet('{}/**/*.parquet')",
        lake.display()
    ))
}

fn survives_kill_9(keep: &str) {
    let calm = tempfile::tempdir().unwrap();
    pipeline(calm.path(), keep);
    let run = run_pipeline(calm.path(), "p.toml", Duration::from_secs(120));
    assert!(run.status.success(), "{run:?}");
    let expected = lake_rows(&calm.path().join("lake"));
    // Some 5% of the rows are re-deliveries: what is left is one row per id.
    let counts: Vec<u64> = expected
        .trim_matches(|c: char| !c.is_ascii_digit())
        .split(", ")
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(counts[0], counts[1], "{expected}");
    assert!((110_000..118_000).contains(&counts[0]), "{expected}");

    let crashed = tempfile::tempdir().unwrap();
    pipeline(crashed.path(), keep);
    let kills = kill_repeatedly(crashed.path(), "p.toml", "dedup", KILLS);
    assert!(
        kills >= KILLS - 1,
        "the input must outlast the kills ({kills} of {KILLS})"
    );
    let run = run_pipeline(crashed.path(), "p.toml", Duration::from_secs(120));
    assert!(run.status.success(), "{run:?}");
    assert_eq!(lake_rows(&crashed.path().join("lake")), expected);
}

#[test]
fn first_seen_survives_kill_9_exactly() {
    survives_kill_9("first_seen");
}

#[test]
fn earliest_survives_kill_9_exactly() {
    survives_kill_9("earliest");
}
