//! What one record batch costs to cross the plugin boundary: the host exports a batch
//! (Arrow C Data Interface), the `passthrough` library imports it, emits it, and the host
//! imports the result. One round trip = two crossings.
//!
//! Also times ferry's export + import alone (no call into the library), and arrow-rs's
//! own C Data Interface export + import of the same batch for comparison. Run with
//! `cargo bench -p ferry --bench boundary` after `cargo build --release -p
//! ferry-passthrough` (bench/run.sh does both).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, Int32Array, Int64Array, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::ffi::{from_ffi_and_data_type, FFI_ArrowArray};
use ferry::config::NodeKind;
use ferry::plugins::Registry;
use ferry_plugin_api::abi::{BatchExporter, BatchImporter, NodeContext};

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

/// Nanoseconds per call of `f`, after a warm-up.
fn time(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..1000 {
        f();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    started.elapsed().as_nanos() as f64 / iterations as f64
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
    for (rows, columns) in [(1, 7), (8192, 7), (8192, 1)] {
        let input = batch(rows)
            .project(&(0..columns).collect::<Vec<_>>())
            .expect("projection");
        let round_trip = time(200_000, || {
            let out = transform.process(input.clone()).expect("processed");
            assert_eq!(out.batches[0].num_rows(), rows);
        });
        let (mut exporter, mut importer) = (BatchExporter::default(), BatchImporter::default());
        let ffi_only = time(200_000, || {
            let ffi = exporter.export(input.clone()).expect("exported");
            assert_eq!(importer.import(ffi).expect("imported").num_rows(), rows);
        });
        let data_type = DataType::Struct(input.schema().fields().clone());
        let arrow_rs = time(200_000, || {
            let data = StructArray::from(input.clone()).into_data();
            let array = FFI_ArrowArray::new(&data);
            // SAFETY: an array arrow-rs just exported with this type, consumed once.
            let data = unsafe { from_ffi_and_data_type(array, data_type.clone()) };
            assert_eq!(data.expect("imported").len(), rows);
        });
        println!(
            "boundary: {rows:>5} rows x {columns} columns: {:.0} ns per crossing; \
             export + import alone {ffi_only:.0} ns (arrow-rs's own: {arrow_rs:.0} ns)",
            round_trip / 2.0,
        );
    }
}
