//! The stateful operators across kill -9: dedup (both `keep` modes), windows (tumbling
//! and session), a running (global) count and the outer join, each fed generated messages into the lake, killed
//! five times at random moments after a checkpoint and restarted, end with exactly the
//! rows of a run that never stopped (no window emitted twice or lost, no duplicate
//! through, no join row twice), read back with DuckDB.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{duckdb, kill_repeatedly, run_pipeline};

const KILLS: usize = 5;

/// Generated messages, with 5% exact re-deliveries when `duplicates`.
fn source(name: &str, seed: u32, duplicates: bool) -> String {
    let ratio = if duplicates { 0.05 } else { 0.0 };
    format!(
        r#"
[sources.{name}]
plugin = "datagen"
generator = "messages"
rows_per_second = 40000
limit = 120000
seed = {seed}
start = "2024-03-05T10:00:00Z"
duplicate_ratio = {ratio}
"#
    )
}

/// `sources` → `transform` (a [transforms.op] table) → the lake.
fn pipeline(dir: &Path, sources: &str, transform: &str) {
    let toml = format!(
        r#"
[pipeline]
name = "op"
checkpoint_interval = "200ms"
batch_size = 1000
{sources}
{transform}
[sinks.lake]
plugin = "lake"
inputs = ["op"]
path = "lake"
format = "parquet"
"#
    );
    std::fs::write(dir.join("p.toml"), toml).unwrap();
}

/// (rows, distinct `key`s, a digest of `columns` over every row) of the lake.
fn lake_rows(lake: &Path, key: &str, columns: &str) -> String {
    duckdb(&format!(
        "SELECT count(*), count(DISTINCT {key}), \
         md5(string_agg(concat_ws('|', {columns}), ',' ORDER BY {columns})) \
         FROM read_parquet('{}/**/*.parquet')",
        lake.display()
    ))
}

/// (rows, distinct keys) from `lake_rows`'s answer.
fn counts(answer: &str) -> (u64, u64) {
    let mut numbers = answer
        .trim_matches(|c: char| !c.is_ascii_digit())
        .split(", ")
        .map(|n| n.parse().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

/// Runs `sources` → `transform` calm and crashed; both lakes must read the same. Returns
/// the calm run's answer.
fn survives_kill_9(sources: &str, transform: &str, key: &str, columns: &str) -> String {
    survives_kill_9_read(sources, transform, |lake| lake_rows(lake, key, columns))
}

/// As [`survives_kill_9`], with both lakes read by `read`.
fn survives_kill_9_read(sources: &str, transform: &str, read: impl Fn(&Path) -> String) -> String {
    let calm = tempfile::tempdir().unwrap();
    pipeline(calm.path(), sources, transform);
    let run = run_pipeline(calm.path(), "p.toml", Duration::from_secs(120));
    assert!(run.status.success(), "{run:?}");
    let expected = read(&calm.path().join("lake"));

    let crashed = tempfile::tempdir().unwrap();
    pipeline(crashed.path(), sources, transform);
    let kills = kill_repeatedly(crashed.path(), "p.toml", "op", KILLS);
    assert!(
        kills >= KILLS - 1,
        "the input must outlast the kills ({kills} of {KILLS})"
    );
    let run = run_pipeline(crashed.path(), "p.toml", Duration::from_secs(120));
    assert!(run.status.success(), "{run:?}");
    assert_eq!(read(&crashed.path().join("lake")), expected);
    expected
}

fn dedup(keep: &str) {
    let transform = format!(
        "[transforms.op]\nplugin = \"dedup\"\ninputs = [\"gen\"]\nkeys = [\"message_id\"]\n\
         keep = \"{keep}\"\nevent_time = \"timestamp\"\nwatermark_delay = \"1s\"\n"
    );
    let columns = "message_id, timestamp, value, user_id";
    let answer = survives_kill_9(&source("gen", 5, true), &transform, "message_id", columns);
    // Some 5% of the rows are re-deliveries: what is left is one row per id.
    let (rows, ids) = counts(&answer);
    assert_eq!(rows, ids, "{answer}");
    assert!((110_000..118_000).contains(&rows), "{answer}");
}

#[test]
fn dedup_first_seen_survives_kill_9_exactly() {
    dedup("first_seen");
}

#[test]
fn dedup_earliest_survives_kill_9_exactly() {
    dedup("earliest");
}

/// Windows of `shape` per `group` column, counted and summed.
fn window(shape: &str, group: &str) -> String {
    let transform = format!(
        "[transforms.op]\nplugin = \"window\"\ninputs = [\"gen\"]\n{shape}\n\
         group_by = [\"{group}\"]\naggregates = {{ n = \"count(*)\", total = \"sum(value)\" }}\n\
         event_time = \"timestamp\"\nwatermark_delay = \"100ms\"\n"
    );
    let key = format!("concat(window_start, {group})");
    let columns = format!("window_start, window_end, {group}, n, total");
    survives_kill_9(&source("gen", 6, false), &transform, &key, &columns)
}

#[test]
fn tumbling_windows_survive_kill_9_exactly() {
    let answer = window("kind = \"tumbling\"\nsize = \"100ms\"", "channel");
    // 3 s of event time in 100 ms windows, 5 channels: each window once.
    let (rows, windows) = counts(&answer);
    assert_eq!(rows, windows, "{answer}");
    assert!((140..=155).contains(&rows), "{answer}");
}

#[test]
fn session_windows_survive_kill_9_exactly() {
    // A country's rows come ~6 ms apart on average: many sessions of a 5 ms gap.
    let answer = window("kind = \"session\"\ngap = \"5ms\"", "country_id");
    let (rows, sessions) = counts(&answer);
    assert_eq!(rows, sessions, "{answer}");
    assert!(rows > 1000, "{answer}");
}

#[test]
fn a_left_outer_join_survives_kill_9_exactly() {
    let sources = source("sent", 7, false) + &source("opened", 8, false);
    let transform =
        "[transforms.op]\nplugin = \"join\"\ninputs = { left = \"sent\", right = \"opened\" }\n\
         on = [\"user_id\"]\nwithin = \"200ms\"\ntype = \"left_outer\"\n\
         event_time = \"timestamp\"\nwatermark_delay = \"100ms\"\n";
    let key = "concat(message_id, coalesce(right_message_id, ''))";
    let columns = "message_id, right_message_id, user_id";
    let answer = survives_kill_9(&sources, transform, key, columns);
    let (rows, pairs) = counts(&answer);
    assert_eq!(rows, pairs, "{answer}");
    assert!(rows >= 120_000, "every sent row, matched or not: {answer}");
}

#[test]
fn a_running_count_survives_kill_9_exactly() {
    let transform = "[transforms.op]\nplugin = \"window\"\ninputs = [\"gen\"]\n\
         kind = \"global\"\ngroup_by = [\"channel\", \"event_type\"]\n\
         aggregates = { n = \"count(*)\" }\nemit = \"update\"\n";
    // Update mode writes a group's count whenever it changed, so which rows the lake
    // holds depends on where checkpoints fell; each group's newest (largest) count
    // does not. A replayed epoch counted twice would raise it, a lost one lower it.
    let finals = |lake: &Path| {
        duckdb(&format!(
            "SELECT sum(n), count(*), md5(string_agg(concat_ws('|', channel, event_type, n), \
             ',' ORDER BY channel, event_type)) FROM (SELECT channel, event_type, max(n) AS n \
             FROM read_parquet('{}/**/*.parquet') GROUP BY ALL)",
            lake.display()
        ))
    };
    let answer = survives_kill_9_read(&source("gen", 9, false), transform, finals);
    let (rows, groups) = counts(&answer);
    assert_eq!(rows, 120_000, "every row counted once: {answer}");
    assert!(groups > 10, "{answer}");
}
