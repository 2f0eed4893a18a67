//! What one record batch costs to cross the plugin boundary: the host exports a batch
//! (Arrow C Data Interface), the `passthrough` library imports it, emits it, and the host
//! imports the result. One round trip = two crossings.
//!
//! Run with `cargo bench -p ferry --bench boundary` after `cargo build --release
//! -p ferry-passthrough` (bench/run.sh does both).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use ferry::config::NodeKind;
use ferry::plugins::Registry;
use ferry_plugin_api::abi::NodeContext;

fn release_dir() -> PathBuf {
    // target/release/deps/boundary-<hash> → target/release
    let exe = std::env::current_exe().expect("bench path");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target/release")
        .to_path_buf()
}

fn batch(rows: usize) -> RecordBatch {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Schema::new(vec![
        Field::new("timestamp", ts, true),
        Field::new("value", DataType::Int64, true),
        Field::new("event_type", DataType::Utf8, true),
        Field::new("message_id", DataType::Utf8, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("country_id", DataType::Int32, true),
        Field::new("user_id", DataType::Int32, true),
    ]);
    let n = rows as i64;
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(TimestampMicrosecondArray::from_iter_values(0..n).with_timezone("UTC")),
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| ["OPEN", "SENT"][i % 2]),
            )),
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("{i:032x}")),
            )),
            Arc::new(StringArray::from_iter_values((0..rows).map(|_| "email"))),
            Arc::new(Int32Array::from_iter_values(
                (0..rows as i32).map(|i| i % 250),
            )),
            Arc::new(Int32Array::from_iter_values(0..rows as i32)),
        ],
    )
    .expect("valid batch")
}

fn main() {
    let registry = Registry::discover(&[release_dir()]);
    let component = registry
        .find(NodeKind::Transform, "passthrough")
        .expect("build the plugin first: cargo build --release -p ferry-passthrough");
    let ctx = NodeContext {
        pipeline: "bench".into(),
        node: "pass".into(),
        state_dir: "/tmp".into(),
    };
    let mut transform = component.create_transform("{}", &ctx).expect("created");
    for rows in [1, 1024, 8192] {
        let input = batch(rows);
        let iterations = 200_000;
        for _ in 0..1000 {
            transform.process(input.clone()).expect("warm-up");
        }
        let started = Instant::now();
        for _ in 0..iterations {
            let out = transform.process(input.clone()).expect("processed");
            assert_eq!(out.batches[0].num_rows(), rows);
        }
        let per_round_trip = started.elapsed().as_nanos() as f64 / iterations as f64;
        println!(
            "boundary: batch of {rows:>5} rows x 7 columns: {:.0} ns per round trip, {:.0} ns per crossing",
            per_round_trip,
            per_round_trip / 2.0
        );
    }
}
