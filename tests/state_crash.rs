//! Operator state through the SDK's state store, across kill -9: a running count per
//! key (the `running_count` example transform, state in `sdk::state`) killed at random
//! moments and restarted ends with exactly the counts of a run that never stopped, read
//! back from the lake with DuckDB.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{build_external, duckdb, kill_repeatedly, run_pipeline};

const KILLS: usize = 6;

fn pipeline(dir: &Path, lake: &str) {
    build_external("third-party-plugin", &dir.join("my-plugins"));
    std::fs::write(
        dir.join("p.toml"),
        format!(
            r#"
[pipeline]
name = "counts"
checkpoint_interval = "200ms"
batch_size = 1000
plugin_path = ["my-plugins"]

[sources.gen]
plugin = "datagen"
generator = "messages"
rows_per_second = 40000
limit = 120000
seed = 3

[transforms.count]
plugin = "running_count"
inputs = ["gen"]
key = "user_id"

[sinks.lake]
plugin = "lake"
inputs = ["count"]
path = "{lake}"
format = "parquet"
"#
        ),
    )
    .unwrap();
}

/// `key,max(count)` for every key, in key order, as DuckDB reads the lake.
fn final_counts(lake: &Path) -> String {
    duckdb(&format!(
        "SELECT key, max(count) AS n FROM read_parquet('{}/**/*.parquet') GROUP BY key ORDER BY key",
        lake.display()
    ))
}

#[test]
fn running_counts_survive_kill_9_exactly() {
    let calm = tempfile::tempdir().unwrap();
    pipeline(calm.path(), "lake");
    let run = run_pipeline(calm.path(), "p.toml", Duration::from_secs(120));
    assert!(run.status.success(), "{run:?}");
    let expected = final_counts(&calm.path().join("lake"));
    assert!(
        expected.matches("),").count() > 100,
        "many keys: {expected}"
    );

    let crashed = tempfile::tempdir().unwrap();
    pipeline(crashed.path(), "lake");
    let kills = kill_repeatedly(crashed.path(), "p.toml", "counts", KILLS);
    assert!(
        kills >= KILLS - 1,
        "the input must outlast the kills ({kills} of {KILLS})"
    );
    let run = run_pipeline(crashed.path(), "p.toml", Duration::from_secs(120));
    assert!(run.status.success(), "{run:?}");
    assert_eq!(final_counts(&crashed.path().join("lake")), expected);
    let state = crashed.path().join("state/counts/nodes/count/state/counts");
    let files = std::fs::read_dir(&state).unwrap().count();
    assert!(
        (1..=40).contains(&files),
        "old state files are collected: {files} in {state:?}"
    );
}
