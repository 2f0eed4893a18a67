//! The dedup transform through the real binary: JSON files → dedup → console, in both
//! `keep` modes, over two runs, so the keys and held rows of the first run (and its
//! watermark) are what the second run deduplicates against.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{run_pipeline, table_rows, write_complete, Finished};

/// The first run's file: m1 twice (the later arrival has the earlier time).
const A: &str = r#"{"id": "m1", "ts": "2024-03-05T10:00:04Z", "n": 1}
{"id": "m2", "ts": "2024-03-05T10:00:05Z", "n": 2}
{"id": "m1", "ts": "2024-03-05T10:00:02Z", "n": 3}
{"id": "m3", "ts": "2024-03-05T10:00:30Z", "n": 4}
"#;

/// The second run's file, read with the first run's watermark 10:00:20 (10:00:30 less
/// the 10 s delay): m3 is a duplicate, m1's key has expired, m2 is late, m4 is new.
const B: &str = r#"{"id": "m3", "ts": "2024-03-05T10:00:31Z", "n": 5}
{"id": "m1", "ts": "2024-03-05T10:00:25Z", "n": 6}
{"id": "m2", "ts": "2024-03-05T10:00:10Z", "n": 7}
{"id": "m4", "ts": "2024-03-05T10:00:40Z", "n": 8}
"#;

fn pipeline(dir: &Path, keep: &str) {
    let toml = format!(
        r#"
[pipeline]
name = "dedup"
trigger = "available_now"

[sources.in]
plugin = "file"
path = "in"
format = "json"
schema = "id STRING, ts TIMESTAMP, n BIGINT"

[transforms.d]
plugin = "dedup"
inputs = ["in"]
keys = ["id"]
keep = "{keep}"
event_time = "ts"
watermark_delay = "10s"

[sinks.out]
plugin = "console"
inputs = ["d"]
truncate = false

[sinks.late]
plugin = "console"
inputs = ["d.late"]
mode = "count"
"#
    );
    std::fs::write(dir.join("p.toml"), toml).unwrap();
}

/// The `n` of each row a run printed, in order.
fn ns(stdout: &str) -> Vec<u32> {
    let rows = table_rows(stdout, &["id", "ts", "n"]);
    rows.iter().map(|r| r[2].parse().unwrap()).collect()
}

/// Runs the pipeline on A, then again with B added; the `n`s each run emitted, and the
/// second run.
fn two_runs(keep: &str) -> (Vec<u32>, Vec<u32>, Finished) {
    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path(), keep);
    write_complete(&dir.path().join("in/a.json"), A);
    let first = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(first.status.success(), "{first:?}");
    write_complete(&dir.path().join("in/b.json"), B);
    let second = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(second.status.success(), "{second:?}");
    (ns(&first.stdout), ns(&second.stdout), second)
}

/// The dedup node's summary line.
fn summary(run: &Finished) -> &str {
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("node=d") && l.contains("rows in"));
    line.unwrap_or_else(|| panic!("no summary for d: {}", run.stderr))
}

#[test]
fn first_seen_drops_later_arrivals_of_a_key_across_a_restart() {
    let (first, second, run) = two_runs("first_seen");
    assert_eq!(first, [1, 2, 4]);
    // m3 again: dropped; m1 after its key expired: kept; m2 behind the watermark: late.
    assert_eq!(second, [6, 8], "{run:?}");
    assert_eq!(ferry_tests::last_total(&run.stdout), Some(1), "{run:?}");
    // Watermark 10:00:30: m1 (until 10:00:35), m3 (10:00:40) and m4 (10:00:50) held.
    assert!(
        summary(&run).contains("peak state: 3 keys"),
        "{}",
        summary(&run)
    );
}

#[test]
fn earliest_emits_each_keys_earliest_row_once_the_watermark_reaches_it() {
    let (first, second, run) = two_runs("earliest");
    // Watermark 10:00:20: m1's earliest (10:00:02, n 3) and m2 are out; m3 is held.
    assert_eq!(first, [3, 2]);
    // Watermark 10:00:30: m1 (10:00:25) and m3's held row (10:00:30); m4 waits.
    assert_eq!(second, [6, 4], "{run:?}");
    // m1 and m3 emitted and remembered until 10:00:35 and 10:00:40; m4 held.
    assert!(
        summary(&run).contains("peak state: 3 keys"),
        "{}",
        summary(&run)
    );
}
