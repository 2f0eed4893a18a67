//! `ferry query` over a lake a real pipeline wrote (datagen messages → lake partitioned
//! by date): three reports, each the same as DuckDB's on the same files, cell for cell;
//! files the commit log does not publish are never read; bad input is named.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{ferry, run_pipeline, Finished, Running};

const ROWS: u64 = 30_000;

/// 30,000 messages 10 s apart (about 3.5 days) into a Parquet lake and a CSV lake, both
/// partitioned by date.
const PIPELINE: &str = r#"
[pipeline]
name = "query"
checkpoint_interval = "200ms"

[sources.messages]
plugin = "datagen"
generator = "messages"
rows_per_second = 0
event_interval = "10s"
limit = 30000
seed = 7
start = "2024-03-04T12:00:00Z"

[transforms.dated]
plugin = "sql"
inputs = ["messages"]
query = "SELECT *, to_date(timestamp) AS date FROM input"

[sinks.parquet]
plugin = "lake"
inputs = ["dated"]
path = "lake/messages"
format = "parquet"
partition_by = ["date"]
max_rows = 4000

[sinks.csv]
plugin = "lake"
inputs = ["dated"]
path = "lake/messages_csv"
format = "csv"
partition_by = ["date"]
"#;

const COUNT_PER_DATE: &str = "SELECT date, event_type, count(*) AS n FROM {t} \
     GROUP BY date, event_type ORDER BY date, event_type";

const PIVOT: &str = "SELECT date, channel, \
     SUM(CASE WHEN event_type = 'OPEN' THEN 1 ELSE 0 END) AS open, \
     SUM(CASE WHEN event_type = 'RECEIVED' THEN 1 ELSE 0 END) AS received, \
     SUM(CASE WHEN event_type = 'SENT' THEN 1 ELSE 0 END) AS sent, \
     SUM(CASE WHEN event_type = 'CREATED' THEN 1 ELSE 0 END) AS created, \
     SUM(CASE WHEN event_type = 'CLICKED' THEN 1 ELSE 0 END) AS clicked, \
     count(*) AS total \
     FROM {t} GROUP BY date, channel ORDER BY date, channel";

const TOP_USERS: &str = "WITH per_user AS (\
       SELECT channel, user_id, count(*) AS events FROM {t} GROUP BY channel, user_id), \
     ranked AS (SELECT channel, user_id, events, \
       row_number() OVER (PARTITION BY channel ORDER BY events DESC, user_id) AS rank \
       FROM per_user) \
     SELECT channel, user_id, events, rank FROM ranked WHERE rank <= 3 \
     ORDER BY channel, rank";

/// Runs the pipeline in `dir`; the lakes are under `dir/lake/`.
fn write_lakes(dir: &Path) {
    std::fs::write(dir.join("p.toml"), PIPELINE).unwrap();
    let run = run_pipeline(dir, "p.toml", Duration::from_secs(120));
    assert!(run.status.success(), "{run:?}");
}

fn query(dir: &Path, args: &[&str]) -> Finished {
    Running::start(ferry(dir, &[&["query"], args].concat())).wait(Duration::from_secs(60))
}

/// `ferry query --format csv` of `sql`, as rows of cells.
fn ferry_rows(dir: &Path, sql: &str) -> Vec<Vec<String>> {
    let out = query(dir, &["--format", "csv", sql]);
    assert!(out.status.success(), "{sql}\n{out:?}");
    csv_rows(&out.stdout).into_iter().skip(1).collect()
}

/// DuckDB's answer to `sql`, each cell as Python's `str` (None as empty).
fn duckdb_rows(sql: &str) -> Vec<Vec<String>> {
    let script = "import csv, sys, duckdb\n\
        w = csv.writer(sys.stdout, lineterminator='\\n')\n\
        w.writerows(['' if v is None else str(v) for v in r] for r in duckdb.sql(sys.argv[1]).fetchall())";
    csv_rows(&ferry_tests::python(script, &[sql]))
}

/// CSV lines split into cells, quotes dropped: a null and an empty string both read as
/// an empty cell in either tool's output (no value here holds a comma).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            l.split(',')
                .map(|c| c.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

fn duckdb_table(lake: &Path) -> String {
    format!(
        "read_parquet('{}/**/*.parquet', hive_partitioning = true)",
        lake.display()
    )
}

#[test]
fn reports_over_a_date_partitioned_lake_match_duckdb_exactly() {
    let dir = tempfile::tempdir().unwrap();
    write_lakes(dir.path());
    let duck = duckdb_table(&dir.path().join("lake/messages"));
    for (name, sql) in [
        ("count per date and event type", COUNT_PER_DATE),
        ("pivot of event types per date and channel", PIVOT),
        ("most active users per channel", TOP_USERS),
    ] {
        let ours = ferry_rows(dir.path(), &sql.replace("{t}", "lake('lake/messages')"));
        let theirs = duckdb_rows(&sql.replace("{t}", &duck));
        assert!(ours.len() > 3, "{name}: {ours:?}");
        assert_eq!(ours, theirs, "{name}");
        // The CSV lake, registered with --table, gives the same answer.
        let csv = query(
            dir.path(),
            &[
                "--table",
                "m=lake/messages_csv",
                "--format",
                "csv",
                &sql.replace("{t}", "m"),
            ],
        );
        assert!(csv.status.success(), "{csv:?}");
        // CSV cannot tell an empty string from a null (both read back as null, which
        // sorts last): the same rows, compared sorted.
        let (mut from_csv, mut ours) = (csv_rows(&csv.stdout).split_off(1), ours);
        from_csv.sort();
        ours.sort();
        assert_eq!(from_csv, ours, "{name} (csv lake)");
    }
    let total: u64 = ferry_rows(dir.path(), &PIVOT.replace("{t}", "lake('lake/messages')"))
        .iter()
        .map(|r| r.last().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, ROWS);
}

#[test]
fn the_partition_column_is_a_date_and_formats_print_it() {
    let dir = tempfile::tempdir().unwrap();
    write_lakes(dir.path());
    let sql = "SELECT arrow_typeof(date) AS t, min(date) AS first, count(*) AS n \
               FROM lake('lake/messages') WHERE date >= DATE '2024-03-05' GROUP BY 1";
    let json = query(dir.path(), &["--format", "json", sql]);
    assert!(json.status.success(), "{json:?}");
    let row: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(row["t"], "Date32");
    assert_eq!(row["first"], "2024-03-05");
    let table = query(dir.path(), &[sql]);
    assert!(table.status.success(), "{table:?}");
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[1].contains("| t ") && lines[3].contains("| Date32 | 2024-03-05 |"));
}

#[test]
fn a_file_no_manifest_publishes_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    write_lakes(dir.path());
    let lake = dir.path().join("lake/messages");
    let published = ferry_tests::lake::visible_files(&lake);
    // A copy of a published file beside it, as a writer that died between its rename
    // and its manifest would leave one.
    let stray = published[0].with_file_name("part-unpublished-00000.parquet");
    std::fs::copy(&published[0], &stray).unwrap();
    let count = "SELECT count(*) AS n FROM {t}";
    let ours = ferry_rows(dir.path(), &count.replace("{t}", "lake('lake/messages')"));
    assert_eq!(ours, [[ROWS.to_string()]]);
    // A reader that lists the folder counts the stray file.
    let listed = duckdb_rows(&count.replace("{t}", &duckdb_table(&lake)));
    assert!(listed[0][0].parse::<u64>().unwrap() > ROWS, "{listed:?}");
}

#[test]
fn bad_sql_a_folder_that_is_not_a_lake_and_a_missing_table_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plain")).unwrap();
    for (sql, expected) in [
        ("SELEC 1", "SELEC"),
        (
            "SELECT * FROM lake('plain')",
            "plain is not a ferry lake: it has no _ferry_log/ folder",
        ),
        (
            "SELECT * FROM lake('nowhere')",
            "lake nowhere: no such folder",
        ),
        (
            "SELECT * FROM messages",
            "table 'datafusion.public.messages' not found",
        ),
        ("CREATE TABLE x (a INT)", "DDL not supported"),
    ] {
        let out = query(dir.path(), &[sql]);
        assert!(!out.status.success(), "{sql}: {out:?}");
        assert!(out.stderr.contains(expected), "{sql}: {}", out.stderr);
    }
    let out = query(dir.path(), &["--table", "m=plain", "SELECT 1"]);
    assert!(out.stderr.contains("plain is not a ferry lake"), "{out:?}");
}
