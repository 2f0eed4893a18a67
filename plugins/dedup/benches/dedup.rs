//! The dedup operator alone on one core: `cargo bench -p ferry-dedup --bench dedup`.
//!
//! Issue 9's figure: 10,000,000 events 1 ms apart whose `message_id` takes 1,000,000
//! distinct values (each id's rows spread over the run), `keep = "first_seen"`, a
//! 3-hour watermark delay so that no id expires within the run's 2.8 hours of event
//! time. Each batch (8,192 rows) is made with the clock stopped; the clock covers
//! `process` and, every 100 batches, what a checkpoint does to the operator
//! (`on_watermark`, `checkpoint`, `commit`). Prints events/s, ids kept, the state's
//! bytes per id as written to a checkpoint, the checkpoint files on disk after a last
//! checkpoint, and peak RSS.
//!
//! Environment: `FERRY_DEDUP_BENCH_ROWS` (10000000), `FERRY_DEDUP_BENCH_IDS` (1000000),
//! `FERRY_DEDUP_BENCH_SPREAD`: `uniform` (default: each row's id drawn from all ids, so
//! lookups land anywhere in a table of 1M ids) or `recent` (an id's rows within ~1,000
//! rows of each other, as re-deliveries come).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_dedup::Dedup;
use ferry_plugin_api::arrow::array::{
    Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use ferry_plugin_api::sdk::bench::{env_or, peak_rss_mb};
use ferry_plugin_api::sdk::{parse_options, Collected, Component, Context, Transform};

const BATCH: usize = 8192;
/// 2024-03-05T00:00:00Z in µs.
const START: i64 = 1_709_596_800_000_000;

fn schema() -> Arc<Schema> {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("timestamp", ts, false),
        Field::new("message_id", DataType::Utf8, false),
        Field::new("value", DataType::Int64, false),
    ]))
}

/// How an id's rows are spread over the run.
#[derive(Clone, Copy, PartialEq)]
enum Spread {
    /// Each id anywhere in the run: every lookup is a random one in a table of all ids.
    Uniform,
    /// An id's rows within about 1,000 rows of each other, as re-deliveries are.
    Recent,
}

/// Rows `from..from + len`: event time 1 ms apart, ids like a UUID's first 18
/// characters, `rows / ids` rows per id.
fn batch(from: usize, len: usize, (ids, rows): (u64, usize), spread: Spread) -> RecordBatch {
    let mut state = from as u64 ^ 0x9e37_79b9;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 20
    };
    let per_id = (rows as u64).div_ceil(ids).max(1);
    let id: StringArray = (from..from + len)
        .map(|n| {
            let id = match spread {
                Spread::Uniform => next() % ids,
                Spread::Recent => (n as u64).saturating_sub(next() % 1000) / per_id,
            };
            // Scrambled, so that neighbouring ids are not neighbouring strings.
            let id = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
            Some(format!("{id:08x}-{:04x}-4000", 0xbeef))
        })
        .collect();
    let times = (from..from + len).map(|n| START + n as i64 * 1000);
    let values = (from..from + len).map(|n| n as i64);
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(TimestampMicrosecondArray::from_iter_values(times).with_timezone("UTC")),
            Arc::new(id),
            Arc::new(Int64Array::from_iter_values(values)),
        ],
    )
    .expect("the columns match the schema")
}

fn main() {
    let rows: usize = env_or("FERRY_DEDUP_BENCH_ROWS", 10_000_000);
    let ids: u64 = env_or("FERRY_DEDUP_BENCH_IDS", 1_000_000);
    let spread = match env_or("FERRY_DEDUP_BENCH_SPREAD", "uniform".to_owned()).as_str() {
        "recent" => Spread::Recent,
        _ => Spread::Uniform,
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let ctx = Context::new("bench", "dedup", dir.path())
        .with_input_schemas(vec![Some(schema())])
        .with_event_time("timestamp", Duration::from_secs(3 * 3600));
    let options = parse_options(r#"{"keys": ["message_id"], "keep": "first_seen"}"#)
        .expect("the bench's options parse");
    let mut dedup = Dedup::create(options, &ctx).expect("the bench's dedup is valid");

    let (mut kept, mut epoch, mut timed) = (0, 0u64, Duration::ZERO);
    for (n, from) in (0..rows).step_by(BATCH).enumerate() {
        let batch = batch(from, BATCH.min(rows - from), (ids, rows), spread);
        let max_time = START + (from + batch.num_rows() - 1) as i64 * 1000;
        let started = Instant::now();
        let mut out = Collected::default();
        dedup
            .process("in", batch, &mut out.output())
            .expect("process");
        if n % 100 == 99 {
            epoch += 1;
            let watermark = max_time - 3 * 3600 * 1_000_000;
            dedup
                .on_watermark(watermark, &mut out.output())
                .expect("watermark");
            dedup.checkpoint(epoch).expect("checkpoint");
            dedup.commit(epoch).expect("commit");
        }
        timed += started.elapsed();
        kept += out.rows();
    }
    let seconds = timed.as_secs_f64();
    dedup.checkpoint(epoch + 1).expect("the last checkpoint");
    dedup.commit(epoch + 1).expect("the last commit");
    let size = dedup.state_size();
    println!(
        "dedup first_seen, {}: {rows} events in {seconds:.3} s = {:.0} events/s on one thread; {kept} rows kept; \
         {} ids in state, {:.1} bytes per id as written; checkpoint files {:.1} MB at the end; peak RSS {:.0} MB",
        if spread == Spread::Recent { "ids recent" } else { "ids uniform" },
        rows as f64 / seconds,
        size.keys,
        size.bytes as f64 / size.keys.max(1) as f64,
        dir_bytes(dir.path()) as f64 / 1e6,
        peak_rss_mb()
    );
}

/// The bytes of every file under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    (entries.flatten())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}
