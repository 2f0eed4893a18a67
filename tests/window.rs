//! The window transform through the real binary: JSON files → 10 s tumbling windows per
//! key → console, over two runs: the first run's watermark closes its early windows,
//! the second run's rows complete the window it left open, and a row for a window
//! already emitted is late.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{run_pipeline, table_rows, write_complete};

const A: &str = r#"{"k": "x", "ts": "2024-03-05T10:00:01Z", "v": 1}
{"k": "y", "ts": "2024-03-05T10:00:02Z", "v": 2}
{"k": "x", "ts": "2024-03-05T10:00:09Z", "v": 3}
{"k": "x", "ts": "2024-03-05T10:00:14Z", "v": 4}
{"k": "x", "ts": "2024-03-05T10:00:25Z", "v": 5}
"#;

/// Read with the first run's watermark 10:00:20: 10:00:03 is late (its window has been
/// emitted), 10:00:28 joins the open [10:00:20, 10:00:30) window.
const B: &str = r#"{"k": "x", "ts": "2024-03-05T10:00:03Z", "v": 6}
{"k": "x", "ts": "2024-03-05T10:00:28Z", "v": 7}
{"k": "y", "ts": "2024-03-05T10:00:40Z", "v": 8}
"#;

fn pipeline(dir: &Path) {
    let toml = r#"
[pipeline]
name = "windows"
trigger = "available_now"

[sources.in]
plugin = "file"
path = "in"
format = "json"
schema = "k STRING, ts TIMESTAMP, v BIGINT"

[transforms.w]
plugin = "window"
inputs = ["in"]
kind = "tumbling"
size = "10s"
group_by = ["k"]
aggregates = { n = "count(*)", total = "sum(v)" }
event_time = "ts"
watermark_delay = "5s"

[sinks.out]
plugin = "console"
inputs = ["w"]
truncate = false

[sinks.late]
plugin = "console"
inputs = ["w.late"]
mode = "count"
"#;
    std::fs::write(dir.join("p.toml"), toml).unwrap();
}

fn windows(stdout: &str) -> Vec<Vec<String>> {
    table_rows(stdout, &["window_start", "window_end", "k", "n", "total"])
}

fn row(start: &str, end: &str, k: &str, n: u32, total: u32) -> Vec<String> {
    let at = |t: &str| format!("2024-03-05T10:00:{t}Z");
    vec![
        at(start),
        at(end),
        k.into(),
        n.to_string(),
        total.to_string(),
    ]
}

#[test]
fn tumbling_windows_close_at_the_watermark_and_continue_in_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path());
    write_complete(&dir.path().join("in/a.json"), A);
    let first = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(first.status.success(), "{first:?}");
    // Watermark 10:00:25 - 5 s = 10:00:20 closes the windows ending by then.
    let expected = vec![
        row("00", "10", "x", 2, 4),
        row("00", "10", "y", 1, 2),
        row("10", "20", "x", 1, 4),
    ];
    assert_eq!(windows(&first.stdout), expected, "{}", first.stdout);
    write_complete(&dir.path().join("in/b.json"), B);
    let second = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(second.status.success(), "{second:?}");
    // Watermark 10:00:35: [20, 30) with 10:00:25 from the first run and 10:00:28.
    let expected = vec![row("20", "30", "x", 2, 12)];
    assert_eq!(windows(&second.stdout), expected, "{}", second.stdout);
    assert_eq!(
        ferry_tests::last_total(&second.stdout),
        Some(1),
        "{}",
        second.stdout
    );
}
