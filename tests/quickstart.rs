//! The README's first command: configs/quickstart.toml runs datagen → console.

use std::time::Duration;

use ferry_tests::{root, run_pipeline};

#[test]
fn quickstart_prints_generated_batches_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = root().join("configs/quickstart.toml");
    let run = run_pipeline(
        dir.path(),
        pipeline.to_str().unwrap(),
        Duration::from_secs(60),
    );
    assert!(run.status.success(), "{run:?}");
    assert!(run.stdout.contains("Batch: 0"), "{}", run.stdout);
    for column in ["timestamp", "event_type", "message_id", "country_id"] {
        assert!(
            run.stdout.contains(column),
            "missing column {column}: {}",
            run.stdout
        );
    }
    assert!(run.stderr.contains("60 rows out"), "{}", run.stderr);
    // The plugin's own log line reaches the host's log, tagged with the plugin and node.
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("messages generator, seed 42"))
        .expect("datagen's log line");
    assert!(
        line.contains("plugin=\"ferry_datagen\"") && line.contains("node=messages"),
        "{line}"
    );
    assert!(dir.path().join("state/quickstart/checkpoint.json").exists());

    // Run again: it resumes after the last checkpoint, so no row is produced twice.
    let again = run_pipeline(
        dir.path(),
        pipeline.to_str().unwrap(),
        Duration::from_secs(60),
    );
    assert!(again.status.success(), "{again:?}");
    assert!(!again.stdout.contains("Batch: 0"), "{}", again.stdout);
    assert!(again.stderr.contains("0 rows out"), "{}", again.stderr);
}
