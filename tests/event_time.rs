//! Event time through the real binary: a node is told its event time, late rows leave by
//! the `late` port, declared ports and named inputs are wired by name, and a restart
//! continues from the checkpointed watermarks (never the end-of-input maximum).

use std::path::Path;
use std::time::Duration;

use ferry_tests::{build_external, ferry, manifest, run_pipeline};

const PIPELINE: &str = r#"
[pipeline]
name = "late"
trigger = "available_now"
plugin_path = ["my-plugins"]

[sources.events]
plugin = "file"
path = "in"
format = "json"
schema = "id BIGINT, ts TIMESTAMP"
event_time = "ts"
watermark_delay = "10s"

[transforms.split]
plugin = "late_split"
inputs = { fresh = "events" }

[sinks.on_time]
plugin = "console"
inputs = ["split"]
num_rows = 100

[sinks.late]
plugin = "console"
inputs = ["split.late"]
num_rows = 100

[sinks.all]
plugin = "console"
inputs = ["split.all"]
mode = "count"
"#;

fn events(dir: &Path, file: &str, rows: &[(i64, &str)]) {
    std::fs::create_dir_all(dir.join("in")).unwrap();
    let text: String = rows
        .iter()
        .map(|(id, ts)| format!("{{\"id\": {id}, \"ts\": \"{ts}\"}}\n"))
        .collect();
    std::fs::write(dir.join("in").join(file), text).unwrap();
}

fn rows_with(stdout: &str, needle: &str) -> usize {
    stdout.lines().filter(|l| l.contains(needle)).count()
}

const SECOND: i64 = 1_000_000;

#[test]
fn late_rows_leave_by_the_late_port_and_a_restart_keeps_the_watermark() {
    let dir = tempfile::tempdir().unwrap();
    build_external("third-party-plugin", &dir.path().join("my-plugins"));
    std::fs::write(dir.path().join("p.toml"), PIPELINE).unwrap();
    let t = |s: u32| format!("2024-01-01T00:00:{s:02}Z");
    events(dir.path(), "a.json", &[(1, &t(5)), (2, &t(40))]);
    let first = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(first.status.success(), "{first:?}");
    // Nothing is late in the first epoch: the watermark moves at its barrier.
    assert_eq!(rows_with(&first.stdout, "| fresh "), 2, "{}", first.stdout);
    let cp = manifest(dir.path(), "late");
    let start = 1_704_067_200 * SECOND; // 2024-01-01T00:00:00Z
    assert_eq!(cp["nodes"]["events"]["output"], start + 30 * SECOND, "{cp}");
    assert_eq!(
        cp["nodes"]["split"]["inputs"][0],
        start + 30 * SECOND,
        "{cp}"
    );

    // The second run starts at watermark 00:30: 00:20 is late, 00:50 is not.
    events(dir.path(), "b.json", &[(3, &t(20)), (4, &t(50))]);
    let second = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(second.status.success(), "{second:?}");
    let on_time: Vec<&str> = second
        .stdout
        .lines()
        .filter(|l| l.contains("| fresh "))
        .collect();
    assert_eq!(on_time.len(), 1, "{}", second.stdout);
    assert!(on_time[0].contains("| 4 "), "{}", on_time[0]);
    let late: Vec<&str> = second
        .stdout
        .lines()
        .filter(|l| l.contains("2024-01-01T00:00:20"))
        .collect();
    assert_eq!(late.len(), 1, "on `late` only: {}", second.stdout);
    assert!(
        second.stdout.contains("2 rows, 4 total"),
        "`all` saw every row: {}",
        second.stdout
    );
    assert!(
        second.stderr.contains("1 late"),
        "the node counts its late rows: {}",
        second.stderr
    );
}

#[test]
fn an_ended_source_does_not_checkpoint_the_end_of_input_maximum() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        r#"
[pipeline]
name = "late"

[sources.gen]
plugin = "datagen"
generator = "messages"
rows_per_second = 0
limit = 100
seed = 1
event_time = "timestamp"

[sinks.out]
plugin = "console"
inputs = ["gen"]
mode = "count"
"#,
    )
    .unwrap();
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");
    let cp = manifest(dir.path(), "late");
    let watermark = cp["nodes"]["gen"]["output"].as_i64().expect("a watermark");
    assert!(
        watermark < 4_102_444_800 * SECOND,
        "a real event time, not i64::MAX: {watermark}"
    );
}

#[test]
fn validate_refuses_a_port_the_node_does_not_have() {
    let dir = tempfile::tempdir().unwrap();
    build_external("third-party-plugin", &dir.path().join("my-plugins"));
    let text = PIPELINE.replace(
        "inputs = [\"split.all\"]",
        "inputs = [\"split.everything\"]",
    );
    std::fs::write(dir.path().join("p.toml"), text).unwrap();
    let out = ferry(dir.path(), &["validate", "p.toml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("[sinks.all] node 'all' reads 'split.everything', but that node's ports are out, dead_letter, late, all"),
        "{stderr}"
    );
}
