//! kill -9 at random moments while a pipeline writes a lake: after the final restart the
//! lake holds exactly the input rows (same count, no duplicate ids, equal values), read by
//! pyarrow and DuckDB; and at no moment does a listing show a row twice. Open files
//! survive the kills (their rows are in staging segments), so the lake has about one file
//! per partition per roll, not one per checkpoint.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry_tests::lake::{files_under, read_lake, visible_files, Rng};
use ferry_tests::{run_and_kill, run_pipeline, write_messages};

const KILLS: usize = 10;

/// Starts the pipeline, kills it after a random delay, `KILLS` times (fewer only if a
/// run finishes first, which fails the test: the input must outlast the kills).
fn kill_loop(dir: &Path, key: &str, rng: &mut Rng, delay_ms: (u64, u64)) -> usize {
    let mut kills = 0;
    for round in 0..KILLS {
        let delay = Duration::from_millis(rng.range(delay_ms.0, delay_ms.1));
        if !run_and_kill(dir, "p.toml", delay) {
            break;
        }
        kills += 1;
        if round % 3 == 2 {
            // Mid-way, a listing shows whole epochs only: never a duplicate.
            let r = read_lake(&dir.join("lake"), &["--reader", "pyarrow", "--key", key]);
            assert_eq!(
                r.get("rows"),
                r.get("distinct"),
                "after kill {kills}: {r:?}"
            );
        }
    }
    kills
}

/// Data files and partition folders a reader sees.
fn files_and_partitions(lake: &Path) -> (usize, usize) {
    let files = visible_files(lake);
    let parts: BTreeSet<_> = files
        .iter()
        .map(|f| f.parent().unwrap().to_owned())
        .collect();
    (files.len(), parts.len())
}

#[test]
fn file_to_lake_exactly_once_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (files, rows) = (80, 4000);
    write_messages(&dir.path().join("in"), files, rows);
    std::fs::write(
        dir.path().join("p.toml"),
        r#"
[pipeline]
name = "crash"
checkpoint_interval = "150ms"
batch_size = 500
trigger = "available_now"

[sources.in]
plugin = "file"
path = "in"
format = "json"
schema = "timestamp TIMESTAMP, value BIGINT, event_type STRING, message_id STRING"
max_files_per_trigger = 1

[sinks.out]
plugin = "lake"
inputs = ["in"]
path = "lake"
partition_by = ["event_type"]
max_rows = 3000
max_file_age = "1h"
"#,
    )
    .unwrap();
    let mut rng = Rng::from_clock();
    let kills = kill_loop(dir.path(), "message_id", &mut rng, (40, 400));
    let last = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert!(last.status.success(), "{last:?}");
    assert_eq!(
        kills, KILLS,
        "the input ran out before {KILLS} kills: make it larger"
    );
    let lake = dir.path().join("lake");
    let input = dir.path().join("in");
    for reader in ["pyarrow", "duckdb"] {
        let r = read_lake(
            &lake,
            &[
                "--reader",
                reader,
                "--key",
                "message_id",
                "--cols",
                "message_id,value,event_type,timestamp",
                "--expect-json",
                input.to_str().unwrap(),
            ],
        );
        let n = (files * rows) as i64;
        assert_eq!(
            (r.get("rows"), r.get("distinct")),
            (n, n),
            "{reader}: {r:?}"
        );
        assert_eq!(
            (r.get("missing"), r.get("extra")),
            (0, 0),
            "{reader}: {r:?}"
        );
    }
    assert!(files_under(&lake.join("_ferry_staging")).is_empty());
    // Each partition's files hold max_rows rows but its last: ~107 files for 320 000
    // rows, where closing every file at every 150 ms checkpoint made one per epoch.
    let (n_files, parts) = files_and_partitions(&lake);
    let most = parts + files * rows / 3000;
    eprintln!("file -> lake: {n_files} data files in {parts} partitions");
    assert!(
        n_files <= most,
        "{n_files} files in {parts} partitions, at most {most}"
    );
}

#[test]
fn datagen_to_lake_exactly_once_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 120_000;
    let config = |name: &str, lake: &str, rate: u64| {
        format!(
            r#"
[pipeline]
name = "{name}"
checkpoint_interval = "200ms"

[sources.gen]
plugin = "datagen"
generator = "messages"
rows_per_second = {rate}
limit = {limit}
seed = 7
start = "2024-06-01T00:00:00Z"

[sinks.out]
plugin = "lake"
inputs = ["gen"]
path = "{lake}"
partition_by = ["channel"]
"#
        )
    };
    std::fs::write(dir.path().join("p.toml"), config("crash", "lake", 12_000)).unwrap();
    std::fs::write(dir.path().join("ref.toml"), config("ref", "ref", 12_000)).unwrap();
    let mut rng = Rng::from_clock();
    let started = Instant::now();
    let kills = kill_loop(dir.path(), "message_id", &mut rng, (150, 1200));
    let last = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert!(last.status.success(), "{last:?}");
    let minutes = started.elapsed().as_secs() / 60;
    assert_eq!(
        kills, KILLS,
        "the input ran out before {KILLS} kills: make it larger"
    );
    // Files roll by age (max_file_age defaults to 1 minute) or at the last checkpoint:
    // one per partition per started minute, not one per 200 ms epoch.
    let (n_files, parts) = files_and_partitions(&dir.path().join("lake"));
    let most = parts * (1 + minutes as usize + 1);
    eprintln!("datagen -> lake: {n_files} data files in {parts} partitions");
    assert!(
        n_files <= most,
        "{n_files} files in {parts} partitions, at most {most}"
    );
    // The same rows (event time follows the rate), written once without crashes.
    let reference = run_pipeline(dir.path(), "ref.toml", Duration::from_secs(120));
    assert!(reference.status.success(), "{reference:?}");
    let lake = dir.path().join("lake");
    let other = dir.path().join("ref");
    for reader in ["pyarrow", "duckdb"] {
        let r = read_lake(
            &lake,
            &[
                "--reader",
                reader,
                "--key",
                "message_id",
                "--cols",
                "message_id,timestamp,value,event_type,channel,country_id,user_id",
                "--expect-lake",
                other.to_str().unwrap(),
            ],
        );
        assert_eq!(
            (r.get("rows"), r.get("distinct")),
            (limit, limit),
            "{reader}: {r:?}"
        );
        assert_eq!(r.get("expected"), limit, "{reader}: {r:?}");
        assert_eq!(
            (r.get("missing"), r.get("extra")),
            (0, 0),
            "{reader}: {r:?}"
        );
    }
}
