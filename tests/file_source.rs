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
