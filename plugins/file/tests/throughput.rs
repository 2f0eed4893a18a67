//! `cargo test --release -p ferry-file --test throughput -- --ignored --nocapture`
//! measures JSON lines → batches through the whole source.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use ferry_file::FileSource;
use ferry_plugin_api::sdk::{parse_options, Collected, Component, Context, Source, SourceStatus};
use ferry_plugin_api::serde_json::json;

const ROWS: usize = 1_000_000;

#[test]
#[ignore = "a measurement; run in release"]
fn json_lines_throughput() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut text = String::new();
    for i in 0..ROWS {
        writeln!(
            text,
            r#"{{"timestamp": "2024-05-01T10:00:{:02}Z", "value": {i}, "event_type": "click", "message_id": "m-{i}", "channel": "web", "country_id": {}, "user_id": {}}}"#,
            i % 60,
            i % 200,
            i % 10_000
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("messages.json"), text).unwrap();
    let options = json!({
        "path": dir.path(),
        "format": "json",
        "schema": "timestamp TIMESTAMP, value BIGINT, event_type STRING, message_id STRING, channel STRING, country_id INT, user_id INT",
    });
    let ctx = Context::new("bench", "in", dir.path());
    let mut source =
        FileSource::create(parse_options(&options.to_string()).unwrap(), &ctx).unwrap();

    let start = Instant::now();
    let mut rows = 0;
    loop {
        let mut out = Collected::default();
        let status = source
            .poll(65_536, Duration::ZERO, &mut out.output())
            .unwrap();
        rows += out.rows();
        if status == SourceStatus::Idle {
            break;
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(rows, ROWS);
    println!(
        "{rows} rows in {elapsed:?}: {:.0} rows/s",
        rows as f64 / elapsed.as_secs_f64()
    );
}
