//! What one record batch costs to cross the plugin boundary: the host exports a batch
//! (Arrow C Data Interface), the `passthrough` library imports it, emits it, and the host
//! imports the result. One round trip = two crossings.
//!
//! Also times ferry's export + import alone (no call into the library), arrow-rs's own
//! C Data Interface export + import of the same batch for comparison, and the floor any
//! importer pays in arrow-rs: wrapping the batch's buffers in place as arrays and a batch
//! (an `Arc` allocation per buffer and per array), then dropping them. Run with
//! `cargo bench -p ferry --bench boundary` after `cargo build --release -p
//! ferry-passthrough` (bench/run.sh does both).

use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use arrow::alloc::Allocation;
use arrow::array::{
    Array, ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::ffi::{from_ffi_and_data_type, FFI_ArrowArray};
use ferry::config::ComponentKind;
use ferry::plugins::{NodeSetup, Registry};
use ferry_plugin_api::abi::{BatchExporter, BatchImporter};

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

/// Nanoseconds to wrap the batch's buffers in place (as an importer does, without any C
/// Data Interface) into arrays and a batch, and drop them: what arrow-rs itself costs.
fn wrap_floor(input: &RecordBatch) -> f64 {
    let buffers: Vec<Vec<Buffer>> = input
        .columns()
        .iter()
        .map(|c| c.to_data().buffers().to_vec())
        .collect();
    time(200_000, || {
        let owner: Arc<dyn Allocation> = Arc::new(());
        let wrap = |b: &Buffer| {
            let pointer = NonNull::new(b.as_ptr().cast_mut()).expect("a buffer");
            // SAFETY: `buffers` outlives every wrapper, which is dropped in this call.
            unsafe { Buffer::from_custom_allocation(pointer, b.len(), owner.clone()) }
        };
        let columns = input.columns().iter().zip(&buffers).map(|(column, b)| {
            let array: ArrayRef = match column.data_type() {
                DataType::Utf8 => {
                    let offsets = ScalarBuffer::from(wrap(&b[0]));
                    // SAFETY: the wrapped buffers are a valid string array's.
                    let offsets = unsafe { OffsetBuffer::new_unchecked(offsets) };
                    let values = wrap(&b[1]);
                    Arc::new(unsafe { StringArray::new_unchecked(offsets, values, None) })
                }
                DataType::Int32 => Arc::new(Int32Array::new(wrap(&b[0]).into(), None)),
                DataType::Int64 => Arc::new(Int64Array::new(wrap(&b[0]).into(), None)),
                _ => Arc::new(
                    TimestampMicrosecondArray::new(wrap(&b[0]).into(), None)
                        .with_data_type(column.data_type().clone()),
                ),
            };
            array
        });
        let columns: Vec<ArrayRef> = columns.collect();
        // SAFETY: the columns have the schema's types and the batch's length.
        let batch =
            unsafe { RecordBatch::new_unchecked(input.schema(), columns, input.num_rows()) };
        assert_eq!(batch.num_rows(), input.num_rows());
    })
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
        .find(ComponentKind::Transform, "passthrough")
        .expect("build the plugin first: cargo build --release -p ferry-passthrough");
    static NOT_CANCELLED: AtomicBool = AtomicBool::new(false);
    let setup = NodeSetup {
        pipeline: "bench".into(),
        node: "pass".into(),
        state_dir: "/tmp".into(),
        inputs: vec!["in".into()],
        outputs: vec!["out".into()],
        event_time: None,
        retain_checkpoints: 2,
        input_schemas: vec![String::new()],
        tolerate_rejects: false,
        cancelled: &NOT_CANCELLED,
    };
    let mut transform = component.create_transform("{}", &setup).expect("created");
    for (rows, columns) in [(1, 7), (8192, 7), (8192, 1)] {
        let input = batch(rows)
            .project(&(0..columns).collect::<Vec<_>>())
            .expect("projection");
        let round_trip = time(200_000, || {
            let out = transform.process(0, input.clone()).expect("processed");
            assert_eq!(out.batches[0].1.num_rows(), rows);
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
        let floor = wrap_floor(&input);
        println!(
            "boundary: {rows:>5} rows x {columns} columns: {:.0} ns per crossing; \
             export + import alone {ffi_only:.0} ns (arrow-rs's own: {arrow_rs:.0} ns); \
             wrapping and dropping the buffers alone {floor:.0} ns",
            round_trip / 2.0,
        );
    }
}
