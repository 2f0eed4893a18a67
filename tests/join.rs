//! The join transform through the real binary: two JSON file sources joined on a key
//! within 5 s, left outer; the unmatched left row comes out with nulls once the
//! watermark has passed its time plus the bound, in the next run.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{run_pipeline, table_rows, write_complete};

const SENT: &str = r#"{"user": "u1", "ts": "2024-03-05T10:00:00Z", "sent": 1}
{"user": "u2", "ts": "2024-03-05T10:00:01Z", "sent": 2}
{"user": "u3", "ts": "2024-03-05T10:00:30Z", "sent": 3}
"#;

const OPENED: &str = r#"{"user": "u1", "ts": "2024-03-05T10:00:04Z", "opened": 10}
{"user": "u2", "ts": "2024-03-05T10:00:09Z", "opened": 20}
{"user": "u1", "ts": "2024-03-05T10:00:05Z", "opened": 30}
{"user": "u9", "ts": "2024-03-05T10:00:31Z", "opened": 40}
"#;

fn pipeline(dir: &Path) {
    let toml = r#"
[pipeline]
name = "joins"
trigger = "available_now"

[sources.sent]
plugin = "file"
path = "sent"
format = "json"
schema = "user STRING, ts TIMESTAMP, sent BIGINT"

[sources.opened]
plugin = "file"
path = "opened"
format = "json"
schema = "user STRING, ts TIMESTAMP, opened BIGINT"

[transforms.j]
plugin = "join"
inputs = { left = "sent", right = "opened" }
on = ["user"]
within = "5s"
type = "left_outer"
event_time = "ts"
watermark_delay = "2s"

[sinks.out]
plugin = "console"
inputs = ["j"]
truncate = false
"#;
    std::fs::write(dir.join("p.toml"), toml).unwrap();
}

fn joined(stdout: &str) -> Vec<Vec<String>> {
    table_rows(stdout, &["user", "ts", "sent", "right_ts", "opened"])
}

fn row(user: &str, ts: &str, sent: &str, right_ts: &str, opened: &str) -> Vec<String> {
    let at = |t: &str| match t {
        "null" => t.to_string(),
        t => format!("2024-03-05T10:00:{t}Z"),
    };
    vec![
        user.into(),
        at(ts),
        sent.into(),
        at(right_ts),
        opened.into(),
    ]
}

#[test]
fn a_left_outer_join_within_5s_emits_matches_and_then_the_unmatched_row() {
    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path());
    write_complete(&dir.path().join("sent/a.json"), SENT);
    write_complete(&dir.path().join("opened/a.json"), OPENED);
    let first = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(first.status.success(), "{first:?}");
    // u2 opened 8 s after it was sent: no match. Watermark 10:00:28 (the slower input's
    // 10:00:30 less 2 s) is past 10:00:01 + 5 s, so u2 comes out alone.
    let mut rows = joined(&first.stdout);
    rows.sort();
    let expected = vec![
        row("u1", "00", "1", "04", "10"),
        row("u1", "00", "1", "05", "30"),
        row("u2", "01", "2", "null", "null"),
    ];
    assert_eq!(rows, expected, "{}", first.stdout);
    // u3 waits: a right row up to 10:00:35 could still match it.
    write_complete(
        &dir.path().join("opened/b.json"),
        r#"{"user": "u3", "ts": "2024-03-05T10:00:33Z", "opened": 50}
{"user": "u8", "ts": "2024-03-05T10:00:50Z", "opened": 60}
"#,
    );
    write_complete(
        &dir.path().join("sent/b.json"),
        r#"{"user": "u7", "ts": "2024-03-05T10:00:50Z", "sent": 7}
"#,
    );
    let second = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(second.status.success(), "{second:?}");
    assert_eq!(
        joined(&second.stdout),
        vec![row("u3", "30", "3", "33", "50")],
        "{}",
        second.stdout
    );
}
