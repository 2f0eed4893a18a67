//! A malformed record goes to the dead-letter sink with its reason and exact bytes under
//! `errors.tolerance = "all"`, and fails the run at once (no restarts: it would only be
//! rejected again) naming the file and line under "none".

use std::time::Duration;

use ferry_tests::{hex, run_pipeline};

fn pipeline(dir: &std::path::Path, tolerance: &str, dead_letter_sink: &str) {
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::write(
        dir.join("in/events.json"),
        b"{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2, \"name\": \"b\"}\n{\"id\": oops}\n{\"id\": 4, \"name\": \"d\"}\n{\"id\": 5, \"name\": \"\xff\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("p.toml"),
        format!(
            r#"
[pipeline]
name = "dlq"
trigger = "available_now"
errors.tolerance = "{tolerance}"
restart = {{ attempts = 3, backoff = "10ms" }}

[sources.in]
plugin = "file"
path = "in"
format = "json"
schema = "id BIGINT, name STRING"

[sinks.good]
plugin = "console"
inputs = ["in"]
mode = "count"
{dead_letter_sink}
"#
        ),
    )
    .unwrap();
}

#[test]
fn tolerance_all_sends_the_bad_line_with_its_reason_to_the_dead_letter_sink() {
    let dir = tempfile::tempdir().unwrap();
    pipeline(
        dir.path(),
        "all",
        "[sinks.bad]\nplugin = \"console\"\ninputs = [\"$dead_letter\"]\ntruncate = false\n",
    );
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");
    assert!(
        run.stdout.contains("3 total"),
        "the 3 good rows: {}",
        run.stdout
    );
    // The console shows BINARY as hex: these are the records' exact bytes, the second
    // one not valid UTF-8.
    let oops = hex(b"{\"id\": oops}");
    let invalid = hex(b"{\"id\": 5, \"name\": \"\xff\"}");
    let dead: Vec<&str> = run.stdout.lines().filter(|l| l.contains(&oops)).collect();
    assert_eq!(dead.len(), 1, "{}", run.stdout);
    assert!(dead[0].contains("in/events.json:3"), "{}", dead[0]);
    assert!(
        dead[0].contains("malformed JSON"),
        "the reason: {}",
        dead[0]
    );
    assert!(dead[0].contains("| in "), "the node: {}", dead[0]);
    let dead: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains(&invalid))
        .collect();
    assert_eq!(dead.len(), 1, "{}", run.stdout);
    assert!(dead[0].contains("in/events.json:5"), "{}", dead[0]);
    assert!(run.stderr.contains("2 rejected"), "{}", run.stderr);
}

#[test]
fn one_nodes_dead_letter_port_is_an_input_like_any_other() {
    let dir = tempfile::tempdir().unwrap();
    pipeline(
        dir.path(),
        "all",
        "[sinks.bad]\nplugin = \"console\"\ninputs = [\"in.dead_letter\"]\nmode = \"count\"\n\
         [sinks.all_bad]\nplugin = \"console\"\ninputs = [\"$dead_letter\"]\nmode = \"count\"\n",
    );
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");
    let counts: Vec<&str> = run.stdout.lines().filter(|l| l.contains("total")).collect();
    // good: 3 rows; bad and all_bad: the 2 rejected records each.
    assert_eq!(
        counts.iter().filter(|l| l.ends_with(" 2 total")).count(),
        2,
        "{}",
        run.stdout
    );
    assert_eq!(
        counts.iter().filter(|l| l.ends_with(" 3 total")).count(),
        1,
        "{}",
        run.stdout
    );
}

#[test]
fn tolerance_none_fails_the_run_naming_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path(), "none", "");
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    assert!(run.stderr.contains("node 'in' failed"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("restarting"),
        "a rejected record is not retried: {}",
        run.stderr
    );
    assert!(run.stderr.contains("in/events.json:3"), "{}", run.stderr);
    assert!(run.stderr.contains("{\"id\": oops}"), "{}", run.stderr);
}

/// Spark's `mode` on the file source overrides the pipeline's tolerance for that source.
#[test]
fn spark_mode_maps_onto_the_sources_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    pipeline(
        dir.path(),
        "none",
        "[sinks.bad]\nplugin = \"console\"\ninputs = [\"in.dead_letter\"]\nmode = \"count\"\n",
    );
    let toml = dir.path().join("p.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let with_mode = |mode: &str| {
        text.replace(
            "format = \"json\"",
            &format!("format = \"json\"\nmode = \"{mode}\""),
        )
    };
    std::fs::write(&toml, with_mode("DROPMALFORMED")).unwrap();
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(
        run.status.success(),
        "DROPMALFORMED dead-letters despite tolerance none: {run:?}"
    );
    assert!(
        run.stdout.contains(" 2 total"),
        "the 2 bad records: {}",
        run.stdout
    );

    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    let failfast = with_mode("FAILFAST").replace("tolerance = \"none\"", "tolerance = \"all\"");
    std::fs::write(&toml, failfast).unwrap();
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert_eq!(
        run.status.code(),
        Some(1),
        "FAILFAST fails despite tolerance all: {run:?}"
    );
    assert!(run.stderr.contains("in/events.json:3"), "{}", run.stderr);
}
