//! Use case 2, messages bronze → silver: configs/messages-bronze.toml as it is (made short
//! through its environment: 6,000 rows a minute of event time apart, over five days),
//! killed with kill -9 once it has checkpointed and run again to its end; then
//! configs/messages-silver.toml over the bronze lake. DuckDB reads every lake and checks:
//! bronze holds each row once; messages + corrupted = bronze, split by event_type, with
//! the country looked up and `date` derived; the de-duplicated lake is DuckDB's earliest
//! row per (message_id, event_type, channel); and the two reports `ferry query` prints
//! are DuckDB's, cell for cell, on the same files.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use ferry_tests::lake::visible_files;
use ferry_tests::{
    config_command, ferry, manifest, multiset_differences as differences, newest_epoch, python,
    root, Running,
};

const ROWS: u64 = 6000;

const BRONZE: [(&str, &str); 4] = [
    ("MESSAGES_RATE", "1000"),
    ("MESSAGES_EVENT_INTERVAL", "60s"),
    ("MESSAGES_LIMIT", "6000"),
    ("MESSAGES_CHECKPOINT", "500ms"),
];

const SILVER: [(&str, &str); 2] = [
    ("SILVER_TRIGGER", "available_now"),
    ("SILVER_CHECKPOINT", "1s"),
];

/// The silver pipeline's watermark delay, in µs.
const DELAY: i64 = 600_000_000;

/// DuckDB's views over the run's folder (argv 1): the lakes `bronze`, `messages`,
/// `corrupted`, `uniq` (those written yet), and what silver should hold, `enriched` (bronze with its country)
/// split into `want_corrupted` and `want_messages`. Argv 2 is the query, argv 3 `csv` to
/// print its rows as CSV (each cell Python's `str`, None as empty).
const VIEWS: &str = r#"
import csv, os, sys, duckdb
d = sys.argv[1]
con = duckdb.connect()
for name, path in [("bronze", "bronze/messages"), ("messages", "silver/messages"),
                   ("corrupted", "silver/messages_corrupted"), ("uniq", "silver/messages_unique")]:
    if os.path.isdir(f"{d}/lake/{path}"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{d}/lake/{path}/**/*.parquet', hive_partitioning = true)")
con.execute(f"CREATE VIEW countries AS SELECT * FROM read_csv('{d}/configs/data/countries.csv', header = true)")
con.execute("""CREATE VIEW enriched AS SELECT b.timestamp, b.value, b.event_type, b.message_id, b.channel,
    b.country_id, c.country, b.user_id, b.date FROM bronze b LEFT JOIN countries c ON b.country_id = c.country_id""")
corrupt = "event_type IS NULL OR event_type IN ('', 'NONE')"
con.execute(f"CREATE VIEW want_corrupted AS SELECT * FROM enriched WHERE {corrupt}")
con.execute(f"CREATE VIEW want_messages AS SELECT * FROM enriched WHERE NOT ({corrupt})")
result = con.sql(sys.argv[2]).fetchall()
if sys.argv[3:] == ["csv"]:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerows(["" if v is None else str(v) for v in r] for r in result)
else:
    print(result)
"#;

/// DuckDB's answer to `sql`, as Python prints its `fetchall()`.
fn ask(dir: &Path, sql: &str) -> String {
    python(VIEWS, &[dir.to_str().unwrap(), sql])
        .trim()
        .to_string()
}

/// The one integer of `[(n,)]`.
fn one(answer: &str) -> i64 {
    (answer.trim_start_matches("[(").trim_end_matches(",)]"))
        .parse()
        .unwrap_or_else(|_| panic!("not one number: {answer}"))
}

/// Runs the bronze pipeline until it has written two checkpoints, then kills it with
/// kill -9 while it is still producing.
fn bronze_killed(dir: &Path) {
    let run = Running::start(config_command(dir, "messages-bronze.toml", &BRONZE));
    let until = Instant::now() + Duration::from_secs(60);
    while newest_epoch(dir, "messages-bronze") < 2 {
        assert!(Instant::now() < until, "no checkpoint: {}", run.stderr());
        thread::sleep(Duration::from_millis(10));
    }
    thread::sleep(Duration::from_millis(300));
    let killed = run.kill9();
    assert_eq!(
        killed.status.code(),
        None,
        "ended before the kill: {killed:?}"
    );
}

fn run_to_end(dir: &Path, config: &str, env: &[(&str, &str)]) {
    let run = Running::start(config_command(dir, config, env)).wait(Duration::from_secs(300));
    assert!(run.status.success(), "{config}: {run:?}");
}

#[test]
fn bronze_to_silver_across_kill_9_with_reports_equal_to_duckdbs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("configs/data")).unwrap();
    std::fs::copy(
        root().join("configs/data/countries.csv"),
        d.join("configs/data/countries.csv"),
    )
    .unwrap();
    bronze_killed(d);
    run_to_end(d, "messages-bronze.toml", &BRONZE);
    assert_eq!(one(&ask(d, "SELECT count(*) FROM bronze")), ROWS as i64);
    run_to_end(d, "messages-silver.toml", &SILVER);

    // Every bronze row in exactly one of the two silver lakes, as DuckDB splits them.
    let messages = one(&ask(d, "SELECT count(*) FROM messages"));
    let corrupted = one(&ask(d, "SELECT count(*) FROM corrupted"));
    assert_eq!(messages + corrupted, ROWS as i64);
    assert!(corrupted > 100, "{corrupted}: about 5% are '' or NONE");
    assert_eq!(
        ask(d, &differences("messages", "want_messages")),
        "[(0, 0)]"
    );
    assert_eq!(
        ask(d, &differences("corrupted", "want_corrupted")),
        "[(0, 0)]"
    );
    let unknown = "SELECT count(*) FROM messages WHERE country IS NULL AND country_id <> 250";
    assert_eq!(one(&ask(d, unknown)), 0);
    for empty in ["messages_late", "dead_letter"] {
        let lake = d.join("lake/silver").join(empty);
        assert!(visible_files(&lake).is_empty(), "{empty}");
    }
    check_dedup(d);
    for report in ["messages-pivot.sql", "messages-top-users.sql"] {
        check_report(d, report);
    }
}

/// The de-duplicated lake is DuckDB's earliest row per key, for every key whose earliest
/// time the final watermark (newest timestamp less the delay) has reached; later keys
/// are still held, waiting for more bronze.
fn check_dedup(d: &Path) {
    let watermark = manifest(d, "messages-silver")["nodes"]["earliest"]["inputs"][0]
        .as_i64()
        .expect("the dedup node's input watermark");
    let newest = one(&ask(d, "SELECT epoch_us(max(timestamp)) FROM bronze"));
    assert_eq!(watermark, newest - DELAY);
    let earliest = format!(
        "(SELECT * EXCLUDE (r, first) FROM (SELECT *, \
         row_number() OVER (PARTITION BY message_id, event_type, channel ORDER BY timestamp) AS r, \
         min(timestamp) OVER (PARTITION BY message_id, event_type, channel) AS first \
         FROM want_messages) WHERE r = 1 AND epoch_us(first) <= {watermark})"
    );
    assert_eq!(ask(d, &differences("uniq", &earliest)), "[(0, 0)]");
    let keys = "SELECT count(DISTINCT (message_id, event_type, channel)) FROM messages";
    let (keys, unique) = (
        one(&ask(d, keys)),
        one(&ask(d, "SELECT count(*) FROM uniq")),
    );
    let messages = one(&ask(d, "SELECT count(*) FROM messages"));
    assert!(keys < messages, "no duplicates to drop: {keys} keys");
    assert!(
        unique <= keys && unique >= keys - 12,
        "{unique} of {keys} keys written"
    );
}

/// `ferry query` of configs/<report> over the de-duplicated lake equals DuckDB's answer
/// to the same file over the same Parquet files, cell for cell.
fn check_report(d: &Path, report: &str) {
    let file = root().join("configs").join(report);
    let args = [
        "query",
        "--table",
        "messages=lake/silver/messages_unique",
        "--format",
        "csv",
        "-f",
        file.to_str().unwrap(),
    ];
    let ours = Running::start(ferry(d, &args)).wait(Duration::from_secs(60));
    assert!(ours.status.success(), "{report}: {ours:?}");
    let sql = std::fs::read_to_string(&file)
        .unwrap()
        .replace("FROM messages", "FROM uniq");
    let theirs = python(VIEWS, &[d.to_str().unwrap(), &sql, "csv"]);
    let ours: Vec<&str> = ours.stdout.lines().skip(1).collect();
    let theirs: Vec<&str> = theirs.lines().collect();
    assert!(ours.len() >= 5, "{report}: {ours:?}");
    assert_eq!(ours, theirs, "{report}");
}
