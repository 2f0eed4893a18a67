//! The file source picks up files that arrive while the pipeline runs, and a SIGTERM
//! stops it cleanly with a final checkpoint.

use std::time::Duration;

use ferry_tests::{ferry, last_total, write_atomically, Running};

#[test]
fn files_written_during_the_run_are_picked_up_then_sigterm_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        r#"
[pipeline]
name = "files"
checkpoint_interval = "200ms"
trigger = "50ms"

[sources.in]
plugin = "file"
path = "in"
format = "json"
schema = "id BIGINT, name STRING"

[sinks.out]
plugin = "console"
inputs = ["in"]
mode = "count"
"#,
    )
    .unwrap();
    let mut run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    for (n, rows) in [(1, 3), (2, 5), (3, 7)] {
        let lines: String = (0..rows)
            .map(|i| format!("{{\"id\": {i}, \"name\": \"f{n}\"}}\n"))
            .collect();
        write_atomically(&input.join(format!("f{n}.json")), &lines);
        let expected = [3, 8, 15][n - 1];
        run.wait_for_stdout(Duration::from_secs(30), |out| {
            last_total(out) == Some(expected)
        });
    }
    run.signal(libc::SIGTERM);
    let done = run.wait(Duration::from_secs(20));
    assert!(done.status.success(), "{done:?}");
    assert_eq!(last_total(&done.stdout), Some(15));
    assert!(done.stderr.contains("15 rows out"), "{}", done.stderr);
}

/// A byte order mark, a record over `max_record_bytes` and a `timestampFormat`, through a
/// real run: the BOM starts no record, the long record and the value that does not match
/// the pattern reach the dead-letter sink with their positions and reasons, and the other
/// rows carry exactly the times their text said.
#[test]
fn bom_max_record_bytes_and_timestamp_format_through_a_dead_letter_sink() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    let long = format!("{{\"id\": 3, \"name\": \"{}\"}}", "x".repeat(100));
    let data = format!(
        "\u{feff}{{\"id\": 1, \"ts\": \"05/03/2024 14:07:09\"}}\n\
         {{\"id\": 2, \"ts\": \"2024-03-05 14:07:09\"}}\n\
         {long}\n\
         {{\"id\": 4, \"name\": \"d\", \"ts\": \"06/03/2024 00:00:00\"}}\n"
    );
    std::fs::write(dir.path().join("in/a.json"), data).unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        r#"
[pipeline]
name = "file-edges"
trigger = "available_now"
errors.tolerance = "all"

[sources.in]
plugin = "file"
path = "in"
format = "json"
schema = "id BIGINT, name STRING, ts TIMESTAMP"
timestampFormat = "dd/MM/yyyy HH:mm:ss"
max_record_bytes = 64

[sinks.good]
plugin = "console"
inputs = ["in"]
truncate = false

[sinks.bad]
plugin = "console"
inputs = ["$dead_letter"]
truncate = false
"#,
    )
    .unwrap();
    let run = ferry_tests::run_pipeline(dir.path(), "p.toml", Duration::from_secs(120));
    assert!(run.status.success(), "{run:?}");
    let rows: Vec<&str> = (run.stdout.lines())
        .filter(|l| l.contains("T14:07:09Z") || l.contains("T00:00:00Z"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(
        rows[0].contains("| 1  |") && rows[0].contains("2024-03-05T14:07:09Z"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].contains("| 4  | d") && rows[1].contains("2024-03-06T00:00:00Z"),
        "{}",
        rows[1]
    );
    let dead: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("in/a.json:"))
        .collect();
    assert_eq!(dead.len(), 2, "{}", run.stdout);
    assert!(dead[0].contains("in/a.json:2"), "{}", dead[0]);
    assert!(
        dead[0].contains(
            "field 'ts': '2024-03-05 14:07:09' does not match timestamp_format 'dd/MM/yyyy HH:mm:ss'"
        ),
        "{}",
        dead[0]
    );
    assert!(dead[1].contains("in/a.json:3"), "{}", dead[1]);
    let reason = format!(
        "record of {} bytes is longer than max_record_bytes (64); the rejected bytes are its first 64",
        long.len()
    );
    assert!(dead[1].contains(&reason), "{}", dead[1]);
    assert!(run.stderr.contains("2 rejected"), "{}", run.stderr);
}
