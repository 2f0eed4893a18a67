//! The kafka source and sink against a real Kafka-protocol broker (tansu, started per
//! test), checked with confluent-kafka: starting offsets, group offsets after a
//! checkpoint, kill -9 without loss or duplicates, JSON arrays, dead letters, the sink
//! round trip with keys and headers, a broker restart mid-run, start-up errors,
//! `topic_pattern`, CSV values and `starting_timestamp`.

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_tests::kafka::Broker;
use ferry_tests::socket::{free_port, LineCollector};
use ferry_tests::{ferry, hex, last_total, manifest, Running};

fn write(dir: &Path, pipeline: &str) {
    std::fs::write(dir.join("p.toml"), pipeline).unwrap();
}

/// A kafka → console(count) pipeline reading `topic` from `start`.
fn count_pipeline(dir: &Path, broker: &Broker, topic: &str, start: &str) {
    write(
        dir,
        &format!(
            r#"
[pipeline]
name = "kc"
checkpoint_interval = "200ms"
batch_size = 500

[sources.in]
plugin = "kafka"
bootstrap_servers = "{}"
topics = ["{topic}"]
group_id = "ferry-test"
starting_offsets = "{start}"
format = "json"
schema = "id BIGINT, pad STRING"

[sinks.out]
plugin = "console"
inputs = ["in"]
mode = "count"
"#,
            broker.bootstrap()
        ),
    );
}

fn start(dir: &Path) -> Running {
    Running::start(ferry(dir, &["run", "p.toml"]))
}

fn wait_total(run: &mut Running, total: u64, timeout: Duration) {
    run.wait_for_stdout(timeout, |out| last_total(out) == Some(total));
}

/// SIGTERM ends a run with a Kafka source promptly and cleanly.
fn stop(run: Running) -> ferry_tests::Finished {
    run.signal(libc::SIGTERM);
    let started = Instant::now();
    let finished = run.wait(Duration::from_secs(20));
    assert!(finished.status.success(), "{finished:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exit took {:?}",
        started.elapsed()
    );
    finished
}

#[test]
fn earliest_reads_everything_and_commits_offsets_to_the_group() {
    let broker = Broker::start();
    broker.create_topic("events", 2);
    broker.produce_range("events", 0, 1000, 2);
    let dir = tempfile::tempdir().unwrap();
    count_pipeline(dir.path(), &broker, "events", "earliest");
    let mut run = start(dir.path());
    wait_total(&mut run, 1000, Duration::from_secs(60));
    // The group sees the checkpointed positions once the next commit has gone out.
    let until = Instant::now() + Duration::from_secs(30);
    while broker.committed("ferry-test", "events", 2) != [500, 500] {
        assert!(
            Instant::now() < until,
            "{:?}",
            broker.committed("ferry-test", "events", 2)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let finished = stop(run);
    assert_eq!(last_total(&finished.stdout), Some(1000));
}

#[test]
fn latest_reads_only_what_arrives_after_the_start() {
    let broker = Broker::start();
    broker.create_topic("events", 1);
    broker.produce_range("events", 0, 50, 1);
    let dir = tempfile::tempdir().unwrap();
    count_pipeline(dir.path(), &broker, "events", "latest");
    let mut run = start(dir.path());
    let until = Instant::now() + Duration::from_secs(30);
    while !run.stderr().contains("events/0 from offset 50") {
        assert!(Instant::now() < until, "{}", run.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    broker.produce_range("events", 50, 30, 1);
    wait_total(&mut run, 30, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    let finished = stop(run);
    assert_eq!(last_total(&finished.stdout), Some(30));
}

#[test]
fn kill_9_resumes_from_the_checkpoint_without_loss_or_duplicates() {
    // Enough that a run cannot read them all within its first checkpoint interval: on
    // a quiet machine 40,000 were read in one 50 ms epoch, so no run could be killed.
    const ROWS: u64 = 100_000;
    let broker = Broker::start();
    broker.create_topic("events", 4);
    broker.produce_range("events", 0, ROWS, 4);
    let dir = tempfile::tempdir().unwrap();
    count_pipeline(dir.path(), &broker, "events", "earliest");
    let toml = std::fs::read_to_string(dir.path().join("p.toml")).unwrap();
    write(
        dir.path(),
        &toml
            .replace("batch_size = 500", "batch_size = 20")
            .replace("\"200ms\"", "\"50ms\""),
    );
    // Kill each run as soon as it has committed an epoch past the previous run's total.
    let mut kills = 0;
    let mut committed = 0;
    for _ in 0..3 {
        let mut run = start(dir.path());
        run.wait_for_stdout(Duration::from_secs(60), |out| {
            last_total(out).is_some_and(|t| t > committed)
        });
        let total = last_total(&run.stdout()).unwrap();
        if total == ROWS {
            break;
        }
        run.kill9();
        kills += 1;
        committed = total;
    }
    assert!(kills >= 1, "the run finished before it could be killed");
    let mut run = start(dir.path());
    wait_total(&mut run, ROWS, Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(1));
    let finished = stop(run);
    assert_eq!(
        last_total(&finished.stdout),
        Some(ROWS),
        "{}",
        finished.stdout
    );
}

#[test]
fn json_arrays_explode_and_bad_values_go_to_the_dead_letter_output() {
    let broker = Broker::start();
    broker.create_topic("clicks", 1);
    let messages = [
        r#"{"value": "[{\"id\": 1, \"page\": \"a\"}, {\"id\": 2, \"page\": \"b\"}]"}"#,
        r#"{"value": "{\"id\": 3, \"page\": \"c\"}"}"#,
        r#"{"value": "not json"}"#,
        r#"{"value": "{\"id\": 4, \"page\": \"d\"}"}"#,
    ];
    let mut messages = messages.map(String::from).to_vec();
    // Over max_record_bytes (64): rejected with its size, never decoded.
    let long = format!(r#"{{"id": 5, "page": "{}"}}"#, "e".repeat(80));
    messages.push(serde_json::json!({ "value": long }).to_string());
    broker.produce("clicks", &messages);
    let (out, dead) = (LineCollector::start(), LineCollector::start());
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &format!(
            r#"
[pipeline]
name = "clicks"
checkpoint_interval = "200ms"
errors.tolerance = "all"

[sources.in]
plugin = "kafka"
bootstrap_servers = "{}"
topics = ["clicks"]
starting_offsets = "earliest"
format = "json"
schema = "id BIGINT, page STRING"
include = ["partition", "offset"]
max_record_bytes = "64B"

[sinks.out]
plugin = "socket"
inputs = ["in"]
port = {}

[sinks.dead]
plugin = "socket"
inputs = ["$dead_letter"]
port = {}
"#,
            broker.bootstrap(),
            out.port,
            dead.port
        ),
    );
    let run = start(dir.path());
    let rows = out.wait_for(4, Duration::from_secs(60));
    assert_eq!(
        rows,
        [
            r#"{"id":1,"page":"a","partition":0,"offset":0}"#,
            r#"{"id":2,"page":"b","partition":0,"offset":0}"#,
            r#"{"id":3,"page":"c","partition":0,"offset":1}"#,
            r#"{"id":4,"page":"d","partition":0,"offset":3}"#,
        ]
    );
    let rejected = dead.wait_for(2, Duration::from_secs(30));
    let r: serde_json::Value = serde_json::from_str(&rejected[0]).unwrap();
    // `raw` is BINARY, which the JSON sink writes as hex.
    assert_eq!(r["raw"], hex(b"not json"));
    assert_eq!(r["position"], "clicks/0@2");
    assert_eq!(r["node"], "in");
    assert!(!r["reason"].as_str().unwrap().is_empty());
    let r: serde_json::Value = serde_json::from_str(&rejected[1]).unwrap();
    assert_eq!(
        r["reason"],
        format!(
            "value of {} bytes is longer than max_record_bytes (64 bytes)",
            long.len()
        )
    );
    assert_eq!(r["raw"], hex(&long.as_bytes()[..64]));
    assert_eq!(r["position"], "clicks/0@4");
    stop(run);
    assert_eq!(out.lines().len(), 4, "{:?}", out.lines());
    assert_eq!(dead.lines().len(), 2, "{:?}", dead.lines());
}

#[test]
fn sink_round_trip_keeps_keys_values_and_headers() {
    let broker = Broker::start();
    broker.create_topic("in", 1);
    broker.create_topic("out", 1);
    let messages: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"key": "k{i}", "value": "v{i}", "headers": {{"h": "x{i}", "trace": "t"}}}}"#
            )
        })
        .collect();
    broker.produce("in", &messages);
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &format!(
            r#"
[pipeline]
name = "copy"
checkpoint_interval = "200ms"

[sources.in]
plugin = "kafka"
bootstrap_servers = "{0}"
topics = ["in"]
starting_offsets = "earliest"

[sinks.out]
plugin = "kafka"
inputs = ["in"]
bootstrap_servers = "{0}"
topic = "out"
format = "raw"
key_column = "key"
headers_column = "headers"
"#,
            broker.bootstrap()
        ),
    );
    let run = start(dir.path());
    let got = broker.consume("out", 20);
    stop(run);
    assert_eq!(got.len(), 20, "{got:?}");
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m["key"], format!("k{i}"));
        assert_eq!(m["value"], format!("v{i}"));
        assert_eq!(
            m["headers"],
            serde_json::json!([["h", format!("x{i}")], ["trace", "t"]])
        );
    }
}

#[test]
fn a_broker_restart_mid_run_loses_nothing() {
    let mut broker = Broker::start();
    broker.create_topic("events", 2);
    broker.produce_range("events", 0, 2000, 2);
    let dir = tempfile::tempdir().unwrap();
    count_pipeline(dir.path(), &broker, "events", "earliest");
    let mut run = start(dir.path());
    wait_total(&mut run, 2000, Duration::from_secs(60));
    broker.stop();
    std::thread::sleep(Duration::from_secs(3));
    broker.restart();
    broker.produce_range("events", 2000, 2000, 2);
    wait_total(&mut run, 4000, Duration::from_secs(90));
    std::thread::sleep(Duration::from_secs(1));
    let finished = stop(run);
    assert_eq!(
        last_total(&finished.stdout),
        Some(4000),
        "{}",
        finished.stdout
    );
}

#[test]
fn an_unreachable_broker_fails_the_start_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    write(
        dir.path(),
        &format!(
            r#"
[pipeline]
name = "nobroker"
restart = {{ attempts = 0 }}

[sources.in]
plugin = "kafka"
bootstrap_servers = "127.0.0.1:{port}"
topics = ["events"]
connect_timeout = "2s"

[sinks.out]
plugin = "console"
inputs = ["in"]
"#
        ),
    );
    let finished = start(dir.path()).wait(Duration::from_secs(30));
    assert!(!finished.status.success());
    assert!(
        finished
            .stderr
            .contains(&format!("cannot reach Kafka at 127.0.0.1:{port} within 2s")),
        "{}",
        finished.stderr
    );
}

/// A kafka → console(count) pipeline with `source` as the source's own options.
fn count_with(dir: &Path, broker: &Broker, source: &str) {
    write(
        dir,
        &format!(
            "[pipeline]\nname = \"kc\"\ncheckpoint_interval = \"200ms\"\n\n\
             [sources.in]\nplugin = \"kafka\"\nbootstrap_servers = \"{}\"\ngroup_id = \"ferry-test\"\n{source}\n\n\
             [sinks.out]\nplugin = \"console\"\ninputs = [\"in\"]\nmode = \"count\"\n",
            broker.bootstrap()
        ),
    );
}

#[test]
fn topic_pattern_reads_every_matching_topic_and_no_other() {
    let broker = Broker::start();
    for topic in ["ev-a", "ev-b", "other"] {
        broker.create_topic(topic, 1);
    }
    broker.produce_range("ev-a", 0, 100, 1);
    broker.produce_range("ev-b", 100, 150, 1);
    broker.produce_range("other", 250, 70, 1);
    let dir = tempfile::tempdir().unwrap();
    count_with(
        dir.path(),
        &broker,
        "topic_pattern = \"ev-.*\"\nstarting_offsets = \"earliest\"\nformat = \"json\"\nschema = \"id BIGINT, pad STRING\"",
    );
    let mut run = start(dir.path());
    wait_total(&mut run, 250, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(last_total(&stop(run).stdout), Some(250));
}

#[test]
fn csv_values_decode_into_the_schema_and_bad_ones_are_rejected() {
    let broker = Broker::start();
    broker.create_topic("rows", 1);
    // Spark's CSV rules: `\"` inside quotes is a quote.
    let values = [
        "1,alpha",
        "2,beta",
        "oops,gamma",
        "3,\"de,lta\"",
        "4,\"a\\\"b\"",
    ];
    let messages: Vec<String> = values
        .iter()
        .map(|v| {
            format!(
                "{{\"value\": {}}}",
                serde_json::Value::String(v.to_string())
            )
        })
        .collect();
    broker.produce("rows", &messages);
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"csv\"\ntrigger = \"available_now\"\nerrors.tolerance = \"all\"\n\n\
             [sources.in]\nplugin = \"kafka\"\nbootstrap_servers = \"{}\"\ntopics = [\"rows\"]\n\
             starting_offsets = \"earliest\"\nformat = \"csv\"\nschema = \"id BIGINT, name STRING\"\n\n\
             [sinks.out]\nplugin = \"console\"\ninputs = [\"in\"]\n\n\
             [sinks.bad]\nplugin = \"console\"\ninputs = [\"$dead_letter\"]\ntruncate = false\n",
            broker.bootstrap()
        ),
    );
    let run = Running::start(ferry(dir.path(), &["run", "p.toml"])).wait(Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");
    for row in [
        "| 1  | alpha  |",
        "| 2  | beta   |",
        "| 3  | de,lta |",
        "| 4  | a\"b    |",
    ] {
        assert!(run.stdout.contains(row), "missing {row}:\n{}", run.stdout);
    }
    let dead = run
        .stdout
        .lines()
        .find(|l| l.contains("rows/0@2"))
        .unwrap_or_else(|| panic!("the bad row is dead-lettered:\n{}", run.stdout));
    // The console prints the BINARY `raw` column as hex.
    assert!(dead.contains(&hex(b"oops,gamma")), "{dead}");
}

#[test]
fn starting_timestamp_skips_what_was_produced_before_it() {
    let broker = Broker::start();
    broker.create_topic("events", 2);
    broker.produce_range("events", 0, 40, 2);
    std::thread::sleep(Duration::from_millis(1500));
    let cut = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    std::thread::sleep(Duration::from_millis(500));
    broker.produce_range("events", 40, 60, 2);
    let dir = tempfile::tempdir().unwrap();
    count_with(
        dir.path(),
        &broker,
        &format!("topics = [\"events\"]\nstarting_timestamp = {cut}\nformat = \"json\"\nschema = \"id BIGINT, pad STRING\""),
    );
    let mut run = start(dir.path());
    wait_total(&mut run, 60, Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(last_total(&stop(run).stdout), Some(60));
}

/// `count` messages `{"id": .., "ts": ".."}` into one partition, at `hour`:00:00 UTC
/// and a second more each (`day` is `YYYY-MM-DD`).
fn produce_times(broker: &Broker, topic: &str, partition: u32, day: &str, hour: u32, count: u32) {
    let messages: Vec<String> = (0..count)
        .map(|i| {
            let value = format!(r#"{{"id": {i}, "ts": "{day}T{hour:02}:00:{i:02}Z"}}"#);
            serde_json::json!({ "value": value, "partition": partition }).to_string()
        })
        .collect();
    broker.produce(topic, &messages);
}

#[test]
fn the_watermark_follows_the_partition_furthest_behind_and_survives_a_restart() {
    /// 2030-01-01T00:00:00Z and 2020-01-01T00:00:00Z, in seconds.
    const AHEAD: i64 = 1_893_456_000;
    const BEHIND: i64 = 1_577_836_800;
    const SECOND: i64 = 1_000_000;
    let broker = Broker::start();
    broker.create_topic("ev", 2);
    produce_times(&broker, "ev", 0, "2030-01-01", 0, 50);
    produce_times(&broker, "ev", 1, "2020-01-01", 0, 50);
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &format!(
            "[pipeline]\nname = \"wm\"\ntrigger = \"available_now\"\n\n\
             [sources.in]\nplugin = \"kafka\"\nbootstrap_servers = \"{}\"\ntopics = [\"ev\"]\n\
             starting_offsets = \"earliest\"\nformat = \"json\"\nschema = \"id BIGINT, ts TIMESTAMP\"\n\
             event_time = \"ts\"\nwatermark_delay = \"10s\"\n\n\
             [sinks.out]\nplugin = \"console\"\ninputs = [\"in\"]\nmode = \"count\"\n",
            broker.bootstrap()
        ),
    );
    let run = |dir: &Path| {
        let finished = start(dir).wait(Duration::from_secs(60));
        assert!(finished.status.success(), "{finished:?}");
        finished
    };
    assert_eq!(last_total(&run(dir.path()).stdout), Some(100));
    let node = &manifest(dir.path(), "wm")["nodes"]["in"];
    // Partition 1's maximum less the delay, not partition 0's.
    assert_eq!(node["output"], (BEHIND + 49 - 10) * SECOND, "{node}");
    assert_eq!(
        node["state"],
        serde_json::json!({
            "offsets": { "ev": { "0": 50, "1": 50 } },
            "max_event_time": { "ev": { "0": (AHEAD + 49) * SECOND, "1": (BEHIND + 49) * SECOND } },
        })
    );
    // Partition 1 overtakes partition 0, which has nothing new: the restarted run knows
    // partition 0's maximum from the checkpoint, so that one is now the slowest.
    produce_times(&broker, "ev", 1, "2030-01-01", 1, 10);
    // The console's count is checkpointed too: 10 new rows, none read again.
    assert_eq!(last_total(&run(dir.path()).stdout), Some(110));
    let node = &manifest(dir.path(), "wm")["nodes"]["in"];
    assert_eq!(node["output"], (AHEAD + 49 - 10) * SECOND, "{node}");
    assert_eq!(
        node["state"]["max_event_time"]["ev"]["1"],
        (AHEAD + 3600 + 9) * SECOND
    );
}
