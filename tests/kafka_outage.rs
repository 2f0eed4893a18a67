//! A broker outage seen and survived: the broker (tansu) killed a second after ferry
//! starts and kept down for a minute, and a restart from a checkpoint while it is down.
//! Polls must keep returning, so checkpoints keep their interval during the outage, the
//! outage is logged within 10 s, and nothing is lost or duplicated once it is back.

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_tests::kafka::Broker;
use ferry_tests::{ferry, last_total, newest_epoch, Running};

/// A kafka → console(count) pipeline, checkpointing every second, that fails at once
/// instead of restarting: a task failure during the outage is a failed test.
fn pipeline(dir: &Path, broker: &Broker) {
    let toml = format!(
        r#"
[pipeline]
name = "outage"
checkpoint_interval = "1s"
restart = {{ attempts = 0 }}

[sources.in]
plugin = "kafka"
bootstrap_servers = "{}"
topics = ["events"]
group_id = "ferry-outage"
starting_offsets = "earliest"
format = "json"
schema = "id BIGINT, pad STRING"

[sinks.out]
plugin = "console"
inputs = ["in"]
mode = "count"
"#,
        broker.bootstrap()
    );
    std::fs::write(dir.join("p.toml"), toml).unwrap();
}

/// How many checkpoints are written over `span`, waited for here.
fn checkpoints_during(dir: &Path, span: Duration) -> u64 {
    let before = newest_epoch(dir, "outage");
    std::thread::sleep(span);
    newest_epoch(dir, "outage") - before
}

fn warnings(run: &Running) -> usize {
    run.stderr().matches(" WARN ").count()
}

/// Waits until stderr has more than `seen` warnings; returns how long after `since`.
fn time_to_warning(run: &Running, seen: usize, since: Instant, limit: Duration) -> Duration {
    while since.elapsed() < limit {
        if warnings(run) > seen {
            return since.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "no warning within {limit:?} of the outage:\n{}",
        run.stderr()
    );
}

fn finish(mut run: Running, total: u64) {
    run.wait_for_stdout(Duration::from_secs(90), |out| {
        last_total(out) == Some(total)
    });
    std::thread::sleep(Duration::from_secs(1));
    run.signal(libc::SIGTERM);
    let finished = run.wait(Duration::from_secs(20));
    assert!(finished.status.success(), "{finished:?}");
    assert_eq!(last_total(&finished.stdout), Some(total), "{finished:?}");
    assert!(
        !finished.stderr.contains("restarting") && !finished.stderr.contains("ERROR"),
        "{}",
        finished.stderr
    );
}

#[test]
fn a_broker_down_for_a_minute_from_the_first_second_stalls_no_checkpoint_and_loses_nothing() {
    let mut broker = Broker::start();
    broker.create_topic("events", 6);
    broker.produce_range("events", 0, 6000, 6);
    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path(), &broker);
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    std::thread::sleep(Duration::from_secs(1));
    let seen = warnings(&run);
    broker.stop();
    let down = Instant::now();
    let warned = time_to_warning(&run, seen, down, Duration::from_secs(10));
    // About one checkpoint a second all through the outage.
    let written = checkpoints_during(dir.path(), Duration::from_secs(45));
    assert!(written >= 35, "{written} checkpoints in 45 s of outage");
    std::thread::sleep(Duration::from_secs(60).saturating_sub(down.elapsed()));
    broker.restart();
    broker.produce_range("events", 6000, 6000, 6);
    eprintln!("warned {warned:?} into the outage; {written} checkpoints in 45 s of it");
    finish(run, 12_000);
}

#[test]
fn a_restart_from_a_checkpoint_while_the_broker_is_down_checkpoints_and_waits() {
    let mut broker = Broker::start();
    broker.create_topic("events", 3);
    broker.produce_range("events", 0, 3000, 3);
    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path(), &broker);
    let mut run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    run.wait_for_stdout(Duration::from_secs(60), |out| last_total(out) == Some(3000));
    let epoch = newest_epoch(dir.path(), "outage");
    while newest_epoch(dir.path(), "outage") < epoch + 2 {
        std::thread::sleep(Duration::from_millis(100));
    }
    run.kill9();
    broker.stop();
    let restored = newest_epoch(dir.path(), "outage");
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"]));
    let down = Instant::now();
    // The first checkpoint about one interval after the start, and more after it.
    while newest_epoch(dir.path(), "outage") == restored {
        assert!(down.elapsed() < Duration::from_secs(5), "no checkpoint");
        std::thread::sleep(Duration::from_millis(50));
    }
    time_to_warning(&run, 0, down, Duration::from_secs(10));
    let written = checkpoints_during(dir.path(), Duration::from_secs(10));
    assert!(written >= 7, "{written} checkpoints in 10 s of outage");
    // Within connect_timeout (30 s): the start waits the outage out.
    std::thread::sleep(Duration::from_secs(20).saturating_sub(down.elapsed()));
    broker.restart();
    broker.produce_range("events", 3000, 3000, 3);
    finish(run, 6000);
}
