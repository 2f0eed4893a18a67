//! configs/clickstream-per-minute.toml as it is, against a real Kafka-protocol broker
//! (tansu): clicks as JSON objects and arrays → 1-minute tumbling sums on the console.
//! Each minute is printed once, when the watermark (newest `ts` − 30 s) passes its end;
//! a click for a printed minute is late, and a message that is not JSON is a dead letter.

use std::time::Duration;

use ferry_tests::kafka::Broker;
use ferry_tests::{dead_letter_rows, ferry, hex, root, table_rows, Running};

/// Read first. The newest click, 10:02:40, puts the watermark at 10:02:10, which closes
/// the minutes 10:00 and 10:01. Offset 2 is not JSON.
const FIRST: [&str; 5] = [
    r#"{"Clicks": 3, "Impressions": 40, "ts": "2024-05-01T10:00:05Z"}"#,
    r#"[{"Clicks": 1, "Impressions": 10, "ts": "2024-05-01T10:00:20Z"}, {"Clicks": 2, "Impressions": 12, "ts": "2024-05-01T10:01:10Z"}]"#,
    "not json",
    r#"[{"Clicks": 4, "Impressions": 30, "ts": "2024-05-01T10:01:50Z"}, {"Clicks": 0, "Impressions": 5, "ts": "2024-05-01T10:02:15Z"}]"#,
    r#"{"Clicks": 5, "Impressions": 50, "ts": "2024-05-01T10:02:40Z"}"#,
];

/// Sent once those two minutes are printed: 10:01:30 is late (its minute is closed),
/// 10:02:50 joins the open minute 10:02, and 10:04:45 moves the watermark to 10:04:15,
/// closing 10:02 and 10:03 but not 10:04.
const LATER: [&str; 3] = [
    r#"{"Clicks": 7, "Impressions": 70, "ts": "2024-05-01T10:01:30Z"}"#,
    r#"[{"Clicks": 1, "Impressions": 11, "ts": "2024-05-01T10:02:50Z"}, {"Clicks": 2, "Impressions": 22, "ts": "2024-05-01T10:03:05Z"}]"#,
    r#"{"Clicks": 9, "Impressions": 90, "ts": "2024-05-01T10:04:45Z"}"#,
];

fn produce(broker: &Broker, values: &[&str]) {
    let messages: Vec<String> = (values.iter())
        .map(|v| serde_json::json!({ "value": v }).to_string())
        .collect();
    broker.produce("clicks", &messages);
}

fn minutes(stdout: &str) -> Vec<Vec<String>> {
    let columns = [
        "window_start",
        "window_end",
        "clicks",
        "events",
        "impressions",
    ];
    table_rows(stdout, &columns)
}

/// The row of minute `10:mm`: clicks, rows (events), impressions.
fn minute(mm: u32, clicks: u32, events: u32, impressions: u32) -> Vec<String> {
    let at = |m: u32| format!("2024-05-01T10:{m:02}:00Z");
    let sums = [clicks, events, impressions].map(|n| n.to_string());
    [at(mm), at(mm + 1)].into_iter().chain(sums).collect()
}

fn start(broker: &Broker, dir: &std::path::Path) -> Running {
    let config = root().join("configs/clickstream-per-minute.toml");
    let mut cmd = ferry(dir, &["run", config.to_str().unwrap()]);
    cmd.env("KAFKA", broker.bootstrap());
    Running::start(cmd)
}

#[test]
fn clicks_are_summed_per_minute_once_the_watermark_passes_it() {
    let broker = Broker::start();
    broker.create_topic("clicks", 1);
    produce(&broker, &FIRST);
    let dir = tempfile::tempdir().unwrap();
    let mut run = start(&broker, dir.path());
    let early = [minute(0, 4, 2, 50), minute(1, 6, 2, 42)];
    run.wait_for_stdout(Duration::from_secs(60), |out| minutes(out).len() >= 2);
    assert_eq!(minutes(&run.stdout()), early, "{}", run.stdout());

    produce(&broker, &LATER);
    run.wait_for_stdout(Duration::from_secs(60), |out| minutes(out).len() >= 4);
    // Two more checkpoints (5 s apart): the minute 10:04 must stay open.
    std::thread::sleep(Duration::from_secs(11));
    run.signal(libc::SIGTERM);
    let finished = run.wait(Duration::from_secs(20));
    assert!(finished.status.success(), "{finished:?}");
    let out = &finished.stdout;
    let later = [minute(2, 6, 3, 66), minute(3, 2, 1, 22)];
    assert_eq!(minutes(out), [early, later].concat(), "{out}");

    let late = table_rows(out, &["Clicks", "Impressions", "ts"]);
    assert_eq!(late, [["7", "70", "2024-05-01T10:01:30Z"]], "{out}");
    let dead = dead_letter_rows(out);
    assert_eq!(dead.len(), 1, "{out}");
    let [raw, reason, node, position] = &dead[0];
    let got = [raw, node, position].map(|s| s.as_str());
    assert_eq!(got, [hex(b"not json").as_str(), "clicks", "clicks/0@2"]);
    assert!(reason.starts_with("malformed JSON"), "{reason}");
}
