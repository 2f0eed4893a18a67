//! The window operator alone on one core: `cargo bench -p ferry-window --bench window`.
//!
//! Issue 9's figure: 10,000,000 events 1 ms apart, 10 s tumbling windows, 1,000 groups
//! (200 countries × 5 channels), count + sum + avg, append mode. Each batch (8,192 rows)
//! is made with the clock stopped; the clock covers `process`, and every 100 batches
//! what a checkpoint does to the operator (`on_watermark` with the input's watermark,
//! `checkpoint`, `commit`), as a pipeline checkpointing once a second would. Prints
//! events/s, the windows emitted and peak RSS.
//!
//! Environment: `FERRY_WINDOW_BENCH_ROWS` (10000000), `FERRY_WINDOW_BENCH_KIND`
//! (`tumbling`; also `sliding` (1 h every 10 min) and `session` (10 s gap)).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_plugin_api::arrow::array::{
    Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use ferry_plugin_api::sdk::bench::{env_or, peak_rss_mb};
use ferry_plugin_api::sdk::{parse_options, Collected, Component, Context, Transform};
use ferry_window::Window;

const BATCH: usize = 8192;
const CHANNELS: [&str; 5] = ["email", "sms", "push", "web", "app"];
/// 2024-03-05T00:00:00Z in µs.
const START: i64 = 1_709_596_800_000_000;

fn schema() -> Arc<Schema> {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("timestamp", ts, false),
        Field::new("country_id", DataType::Int32, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("value", DataType::Int64, false),
    ]))
}

/// Rows `from..from + len`: event time 1 ms apart, groups and values from a small LCG.
fn batch(from: usize, len: usize) -> RecordBatch {
    let mut state = from as u64 ^ 0x9e37_79b9;
    let mut next = |below: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % below
    };
    let rows: Vec<(i32, &str, i64)> = (0..len)
        .map(|_| {
            (
                next(200) as i32,
                CHANNELS[next(5) as usize],
                next(1000) as i64,
            )
        })
        .collect();
    let times = (from..from + len).map(|n| START + n as i64 * 1000);
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(TimestampMicrosecondArray::from_iter_values(times).with_timezone("UTC")),
            Arc::new(rows.iter().map(|r| r.0).collect::<Int32Array>()),
            Arc::new(rows.iter().map(|r| Some(r.1)).collect::<StringArray>()),
            Arc::new(rows.iter().map(|r| r.2).collect::<Int64Array>()),
        ],
    )
    .expect("the columns match the schema")
}

fn options(kind: &str) -> String {
    let shape = match kind {
        "sliding" => r#""size": "1 hour", "slide": "10 minutes""#,
        "session" => r#""gap": "10s""#,
        _ => r#""size": "10s""#,
    };
    format!(
        r#"{{"kind": "{kind}", {shape}, "group_by": ["country_id", "channel"],
            "aggregates": {{"events": "count(*)", "total": "sum(value)", "mean": "avg(value)"}}}}"#
    )
}

fn main() {
    let rows: usize = env_or("FERRY_WINDOW_BENCH_ROWS", 10_000_000);
    let kind: String = env_or("FERRY_WINDOW_BENCH_KIND", "tumbling".into());
    let dir = tempfile::tempdir().expect("a temporary folder");
    let ctx = Context::new("bench", "window", dir.path())
        .with_input_schemas(vec![Some(schema())])
        .with_event_time("timestamp", Duration::from_secs(5));
    let options = parse_options(&options(&kind)).expect("the bench's options parse");
    let mut window = Window::create(options, &ctx).expect("the bench's window is valid");

    let (mut emitted, mut epoch, mut timed) = (0usize, 0u64, Duration::ZERO);
    for (n, from) in (0..rows).step_by(BATCH).enumerate() {
        let batch = batch(from, BATCH.min(rows - from));
        let max_time = START + (from + batch.num_rows() - 1) as i64 * 1000;
        let started = Instant::now();
        let mut out = Collected::default();
        window
            .process("in", batch, &mut out.output())
            .expect("process");
        if n % 100 == 99 {
            epoch += 1;
            window
                .on_watermark(max_time - 5_000_000, &mut out.output())
                .expect("watermark");
            window.checkpoint(epoch).expect("checkpoint");
            window.commit(epoch).expect("commit");
        }
        timed += started.elapsed();
        emitted += out.rows();
    }
    let started = Instant::now();
    let mut out = Collected::default();
    window
        .on_watermark(i64::MAX, &mut out.output())
        .expect("the last watermark");
    emitted += out.rows();
    let seconds = (timed + started.elapsed()).as_secs_f64();
    println!(
        "window {kind}: {rows} events in {seconds:.3} s = {:.0} events/s on one thread; {emitted} windows emitted; peak RSS {:.0} MB",
        rows as f64 / seconds,
        peak_rss_mb()
    );
}
