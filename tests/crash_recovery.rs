//! kill -9 at arbitrary moments of a file → console(count) run: after restarts the
//! committed count equals the input exactly (every file read once, none skipped).

use std::time::Duration;

use ferry_tests::{ferry, last_total, run_pipeline, write_messages, Running};

const FILES: usize = 30;
const ROWS: usize = 4000;

#[test]
fn every_row_counted_exactly_once_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    write_messages(&dir.path().join("in"), FILES, ROWS);
    std::fs::write(
        dir.path().join("p.toml"),
        r#"
[pipeline]
name = "crash"
checkpoint_interval = "100ms"
batch_size = 500
trigger = "available_now"

[sources.in]
plugin = "file"
path = "in"
format = "json"
schema = "timestamp TIMESTAMP, value BIGINT, event_type STRING, message_id STRING"

[transforms.t1]
plugin = "passthrough"
inputs = ["in"]

[sinks.out]
plugin = "console"
inputs = ["t1"]
mode = "count"
"#,
    )
    .unwrap();
    let mut kills = 0;
    for round in 0..4 {
        let mut run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
        // Kill once at least one more epoch has been committed in this run.
        let needed = round + 2;
        run.wait_for_stdout(Duration::from_secs(60), |out| {
            out.matches(" total").count() >= needed
                || out.contains(&format!("{} total", FILES * ROWS))
        });
        if last_total(&run.stdout()) == Some((FILES * ROWS) as u64) {
            break;
        }
        run.kill9();
        kills += 1;
    }
    let last = run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert!(last.status.success(), "{last:?}");
    assert_eq!(
        last_total(&last.stdout),
        Some((FILES * ROWS) as u64),
        "{}",
        last.stdout
    );
    assert!(
        kills >= 1,
        "the run finished before it could be killed: make the input larger"
    );
}
