//! Files that grow after ferry found them, through the real binary under both
//! tolerances: a file written in two steps within `file_stable_for` is read whole, once,
//! with no cut-off value; a complete file whose last line has no newline yields that
//! record; a file that grows while it is read keeps the records it had when it was
//! picked up and the change is one dead-letter record naming it (`"all"`) or a failed
//! run naming it (`"none"`).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use ferry_tests::{dead_letter_rows, ferry, hex, run_pipeline, table_rows, Finished, Running};

const GOOD: [&str; 2] = ["id", "name"];

/// A CSV source on `in/` with a console sink for its rows and one on `$dead_letter`.
fn pipeline(dir: &Path, trigger: &str, batch_size: usize, tolerance: &str) {
    let toml = format!(
        r#"
[pipeline]
name = "growing"
trigger = "{trigger}"
batch_size = {batch_size}
checkpoint_interval = "200ms"
errors.tolerance = "{tolerance}"
restart = {{ attempts = 3, backoff = "10ms" }}

[sources.in]
plugin = "file"
path = "in"
format = "csv"
schema = "id BIGINT, name STRING"

[sinks.good]
plugin = "console"
inputs = ["in"]
truncate = false

[sinks.bad]
plugin = "console"
inputs = ["$dead_letter"]
truncate = false
"#
    );
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::write(dir.join("p.toml"), toml).unwrap();
}

fn append(path: &Path, text: &str) {
    let mut file = File::options().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn rows(expected: &[(u64, &str)]) -> Vec<Vec<String>> {
    let row = |(id, name): &(u64, &str)| vec![id.to_string(), name.to_string()];
    expected.iter().map(row).collect()
}

/// `ferry run`, with the file source's debug lines, which say when a file is held back.
fn start(dir: &Path) -> Running {
    let mut cmd = ferry(dir, &["run", "p.toml"]);
    cmd.env("FERRY_LOG", "info,ferry=debug");
    Running::start(cmd)
}

/// Stops a streaming run with SIGTERM, which exits 0 after a final checkpoint.
fn stop(run: Running) -> Finished {
    run.signal(libc::SIGTERM);
    let done = run.wait(Duration::from_secs(30));
    assert_eq!(done.status.code(), Some(0), "{done:?}");
    done
}

/// The first step ends in a partial row (`2,be`); ferry sees the file, holds it back as
/// still changing, and reads it once it has held still for `file_stable_for` (1s by
/// default): every row exactly once, none cut off.
#[test]
fn a_file_written_in_two_steps_while_ferry_runs_is_read_whole_once() {
    for tolerance in ["all", "none"] {
        let dir = tempfile::tempdir().unwrap();
        pipeline(dir.path(), "50ms", 8192, tolerance);
        let mut run = start(dir.path());
        // Running: its first checkpoint is written.
        let checkpoints = dir.path().join("state/growing/checkpoints");
        run.wait_for_stderr(Duration::from_secs(60), |_| checkpoints.exists());
        let a = dir.path().join("in/a.csv");
        std::fs::write(&a, "id,name\n1,alpha\n2,be").unwrap();
        run.wait_for_stderr(Duration::from_secs(10), |err| {
            err.contains("'in/a.csv' changed")
                && err.contains("waiting until it has held still for 1s")
        });
        append(&a, "ta\n3,gamma\n");
        run.wait_for_stdout(Duration::from_secs(30), |out| {
            table_rows(out, &GOOD).len() >= 3
        });
        // Long enough past the window for a second reading to show.
        std::thread::sleep(Duration::from_millis(1500));
        let done = stop(run);
        let expected = rows(&[(1, "alpha"), (2, "beta"), (3, "gamma")]);
        assert_eq!(table_rows(&done.stdout, &GOOD), expected, "{}", done.stdout);
        assert_eq!(dead_letter_rows(&done.stdout), Vec::<[String; 4]>::new());
        assert!(
            done.stderr.contains("3 rows out, 0 rejected"),
            "{}",
            done.stderr
        );
        assert!(!done.stderr.contains("changed while"), "{}", done.stderr);
    }
}

/// Written just before an `available_now` run: the run waits for the file to hold still
/// instead of ending before it, and its last line, without a newline, is a record.
#[test]
fn a_complete_file_whose_last_line_has_no_newline_yields_that_record() {
    for tolerance in ["all", "none"] {
        let dir = tempfile::tempdir().unwrap();
        pipeline(dir.path(), "available_now", 8192, tolerance);
        std::fs::write(dir.path().join("in/a.csv"), "id,name\n1,alpha\n2,beta").unwrap();
        let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
        assert_eq!(run.status.code(), Some(0), "{run:?}");
        let expected = rows(&[(1, "alpha"), (2, "beta")]);
        assert_eq!(table_rows(&run.stdout, &GOOD), expected, "{}", run.stdout);
        assert_eq!(dead_letter_rows(&run.stdout), Vec::<[String; 4]>::new());
    }
}

/// Rows `1..=ROWS` and a partial last row, in a file old enough to be read at once; one
/// row per poll, so the reading takes long enough (about 10k rows/s in a debug build) to
/// append to the file while ferry reads it.
const ROWS: u64 = 20_000;

/// Writes the file, starts ferry and appends the rest of the partial row and one more
/// once ferry has started reading: returns the run and the sizes before and after.
fn grow_while_read(dir: &Path, tolerance: &str) -> (Running, usize, usize) {
    pipeline(dir, "50ms", 1, tolerance);
    let a = dir.join("in/a.csv");
    let mut text: String = (1..=ROWS).map(|i| format!("{i},name{i}\n")).collect();
    text = format!("id,name\n{text}{},be", ROWS + 1);
    std::fs::write(&a, &text).unwrap();
    let old = SystemTime::now() - Duration::from_secs(60);
    File::options()
        .write(true)
        .open(&a)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let mut run = start(dir);
    run.wait_for_stderr(Duration::from_secs(60), |err| {
        err.contains("reading in/a.csv")
    });
    let rest = format!("ta\n{},gamma\n", ROWS + 2);
    append(&a, &rest);
    (run, text.len(), text.len() + rest.len())
}

fn changed_reason(before: usize, after: usize) -> String {
    format!(
        "file changed while it was read: it had {before} bytes when it was picked up and has \
         {after} now; its records in those {before} bytes were read except line {}, which had \
         no newline yet, and the rest was not",
        ROWS + 2
    )
}

/// Under `"all"`: every complete row it had, exactly once, no `be`, and one dead-letter
/// record for the file (its path as raw bytes and as position, the sizes in the reason).
#[test]
fn a_file_that_grows_while_ferry_reads_it_is_one_dead_letter_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut run, before, after) = grow_while_read(dir.path(), "all");
    run.wait_for_stdout(Duration::from_secs(120), |out| {
        !dead_letter_rows(out).is_empty()
    });
    let done = stop(run);
    let names: Vec<String> = (1..=ROWS).map(|i| format!("name{i}")).collect();
    let expected: Vec<(u64, &str)> = (1..=ROWS).zip(names.iter().map(String::as_str)).collect();
    let good = table_rows(&done.stdout, &GOOD);
    assert!(
        good == rows(&expected),
        "{} rows, last {:?}",
        good.len(),
        good.last()
    );
    let path = "in/a.csv";
    let reason = changed_reason(before, after);
    let dead = [hex(path.as_bytes()), reason, "in".into(), path.into()];
    assert_eq!(dead_letter_rows(&done.stdout), [dead], "{}", done.stderr);
    assert!(
        done.stderr
            .contains(&format!("{ROWS} rows out, 1 rejected")),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr
            .contains(&format!("'in/a.csv': {}", changed_reason(before, after))),
        "{}",
        done.stderr
    );
}

/// Under `"none"`: the run fails naming the file, without restarts, and no cut-off row
/// was ever delivered: what was, is the file's first rows, in order, once.
#[test]
fn a_file_that_grows_while_ferry_reads_it_fails_the_run_under_tolerance_none() {
    let dir = tempfile::tempdir().unwrap();
    let (run, before, after) = grow_while_read(dir.path(), "none");
    let done = run.wait(Duration::from_secs(120));
    assert_eq!(done.status.code(), Some(1), "{done:?}");
    let message = format!(
        "node 'in' failed: rejected a record at in/a.csv: {}",
        changed_reason(before, after)
    );
    assert!(done.stderr.contains(&message), "{}", done.stderr);
    assert!(!done.stderr.contains("restarting"), "{}", done.stderr);
    let good = table_rows(&done.stdout, &GOOD);
    let prefix: Vec<Vec<String>> = (1..=good.len() as u64)
        .map(|i| vec![i.to_string(), format!("name{i}")])
        .collect();
    assert!(
        good == prefix,
        "{} rows, last {:?}",
        good.len(),
        good.last()
    );
    assert_eq!(dead_letter_rows(&done.stdout), Vec::<[String; 4]>::new());
}
