//! Kafka → lake, exactly once across kill -9: a topic of 4 partitions is written to a
//! Parquet lake partitioned by Kafka partition while the pipeline is killed up to 10
//! times at random moments (at least 5 of them before the input runs out); after the
//! final run the lake holds every message once, as pyarrow and DuckDB read it.

use std::time::Duration;

use ferry_tests::kafka::Broker;
use ferry_tests::lake::{read_lake, Rng};
use ferry_tests::{run_and_kill, run_pipeline};

const MESSAGES: u64 = 100_000;
const KILLS: usize = 10;
/// Kills that must land before the input runs out, however fast this machine reads.
const MIN_KILLS: usize = 5;

fn pipeline(bootstrap: &str) -> String {
    format!(
        r#"
[pipeline]
name = "kafka-lake"
checkpoint_interval = "100ms"
batch_size = 200
trigger = "available_now"

[sources.events]
plugin = "kafka"
bootstrap_servers = "{bootstrap}"
topics = ["events"]
group_id = "lake"
starting_offsets = "earliest"
format = "json"
schema = "id BIGINT, pad STRING"
include = ["partition", "offset"]

[sinks.lake]
plugin = "lake"
inputs = ["events"]
path = "lake"
format = "parquet"
partition_by = ["partition"]
"#
    )
}

#[test]
fn kafka_to_lake_exactly_once_across_kill_9() {
    let broker = Broker::start();
    broker.create_topic("events", 4);
    broker.produce_range("events", 0, MESSAGES, 4);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), pipeline(&broker.bootstrap())).unwrap();
    let mut rng = Rng::from_clock();
    let mut kills = 0;
    for _ in 0..KILLS {
        let delay = Duration::from_millis(rng.range(200, 900));
        if !run_and_kill(dir.path(), "p.toml", delay) {
            break;
        }
        kills += 1;
    }
    assert!(
        kills >= MIN_KILLS,
        "the input ran out after {kills} kills: produce more messages"
    );

    let last = run_pipeline(dir.path(), "p.toml", Duration::from_secs(180));
    assert!(last.status.success(), "{last:?}");
    for reader in ["pyarrow", "duckdb"] {
        let read = read_lake(
            &dir.path().join("lake"),
            &["--reader", reader, "--key", "id"],
        );
        assert_eq!(read.get("rows"), MESSAGES as i64, "{reader}: {}", read.json);
        assert_eq!(
            read.get("distinct"),
            MESSAGES as i64,
            "{reader}: {}",
            read.json
        );
    }
}
