//! The lake sink through the real binary, read back by pyarrow and DuckDB.

use std::time::Duration;

use ferry_tests::lake::{files_under, read_lake, visible_files};
use ferry_tests::{run_pipeline, write_messages};

const SCHEMA: &str = "timestamp TIMESTAMP, value BIGINT, event_type STRING, message_id STRING";

fn pipeline(format: &str, extra: &str) -> String {
    format!(
        r#"
[pipeline]
name = "lake"
checkpoint_interval = "200ms"
batch_size = 700
trigger = "available_now"

[sources.in]
plugin = "file"
path = "in"
format = "json"
schema = "{SCHEMA}"

[sinks.out]
plugin = "lake"
inputs = ["in"]
path = "lake"
format = "{format}"
partition_by = ["event_type"]
{extra}
"#
    )
}

#[test]
fn every_format_reads_back_with_hive_partitions_in_pyarrow_and_duckdb() {
    for format in ["parquet", "csv", "json"] {
        let dir = tempfile::tempdir().unwrap();
        write_messages(&dir.path().join("in"), 4, 1000);
        std::fs::write(dir.path().join("p.toml"), pipeline(format, "")).unwrap();
        let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
        assert!(run.status.success(), "{run:?}");
        let lake = dir.path().join("lake");
        let input = dir.path().join("in");
        for reader in ["pyarrow", "duckdb"] {
            // JSON lines carry no types: compare the columns that read back as written.
            let cols = if format == "parquet" {
                "message_id,value,event_type,timestamp"
            } else {
                "message_id,value,event_type"
            };
            let r = read_lake(
                &lake,
                &[
                    "--format",
                    format,
                    "--reader",
                    reader,
                    "--key",
                    "message_id",
                    "--cols",
                    cols,
                    "--expect-json",
                    input.to_str().unwrap(),
                ],
            );
            assert_eq!(r.get("rows"), 4000, "{format} {reader}: {r:?}");
            assert_eq!(r.get("distinct"), 4000, "{format} {reader}: {r:?}");
            assert_eq!(
                (r.get("missing"), r.get("extra")),
                (0, 0),
                "{format} {reader}: {r:?}"
            );
        }
        let files = visible_files(&lake);
        assert!(files
            .iter()
            .all(|f| f.parent().unwrap().ends_with("event_type=OPEN")));
        // Many 200 ms checkpoints, one file: it stays open until the last checkpoint.
        assert_eq!(files.len(), 1, "{format}: {files:?}");
        let staged = files_under(&lake.join("_ferry_staging"));
        assert!(staged.is_empty(), "{staged:?}");
        assert!(!files_under(&lake.join("_ferry_log")).is_empty());
    }
}

#[test]
fn a_failing_write_fails_the_task_with_the_path_and_a_rerun_completes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    write_messages(&dir.path().join("in"), 3, 1000);
    // The partition folder's name is taken by a file: publishing into it fails (as a
    // permission or disk problem would), naming the path and the OS reason.
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    std::fs::write(lake.join("event_type=OPEN"), "in the way").unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        pipeline("parquet", "").replace(
            "[pipeline]",
            "[pipeline]\nrestart = { attempts = 0, backoff = \"10ms\" }",
        ),
    )
    .unwrap();
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(!run.status.success(), "{run:?}");
    assert!(
        run.stderr.contains("event_type=OPEN") && run.stderr.contains("Not a directory"),
        "{}",
        run.stderr
    );
    assert_eq!(visible_files(&lake), [lake.join("event_type=OPEN")]);
    // The fix, then a restart: every row once.
    std::fs::remove_file(lake.join("event_type=OPEN")).unwrap();
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");
    let r = read_lake(&lake, &["--reader", "duckdb", "--key", "message_id"]);
    assert_eq!((r.get("rows"), r.get("distinct")), (3000, 3000), "{r:?}");
}
