//! Batches through the exporter and importer: every flat type, the arrow-rs fallback,
//! slices, interop with arrow-rs's own C Data Interface code, children moved out, and
//! ownership (every buffer released once, nothing leaked).

use super::*;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{
    make_array, Array, ArrayData, ArrayRef, BinaryArray, BooleanArray, Date32Array,
    Decimal128Array, DictionaryArray, DurationNanosecondArray, FixedSizeBinaryArray, Float64Array,
    Int32Array, Int64Array, Int8Array, IntervalMonthDayNanoArray, LargeBinaryArray,
    LargeStringArray, ListArray, StringArray, StringViewArray, Time64MicrosecondArray,
    TimestampMillisecondArray, UInt64Array,
};
use arrow::buffer::Buffer;
use arrow::datatypes::{Field, Int32Type, IntervalMonthDayNano, Schema};

fn batch_of(columns: Vec<ArrayRef>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// 1.5 five times, as IEEE half floats.
fn float16() -> ArrayRef {
    let halves = Buffer::from_vec(vec![0x3e00u16; 5]);
    let data = ArrayData::builder(DataType::Float16)
        .len(5)
        .add_buffer(halves);
    make_array(data.build().unwrap())
}

/// Every type the fast path lays out itself, with nulls where the type allows.
fn flat() -> RecordBatch {
    batch_of(vec![
        Arc::new(Int8Array::from(vec![
            Some(1),
            None,
            Some(-3),
            Some(4),
            None,
        ])),
        Arc::new(UInt64Array::from(vec![u64::MAX, 0, 1, 2, 3])),
        float16(),
        Arc::new(Float64Array::from(vec![
            Some(0.5),
            None,
            None,
            Some(-1e300),
            Some(2.0),
        ])),
        Arc::new(Date32Array::from(vec![19000, 19001, 19002, 19003, 19004])),
        Arc::new(Time64MicrosecondArray::from(vec![1, 2, 3, 4, 5])),
        Arc::new(
            TimestampMillisecondArray::from(vec![Some(1), None, Some(3), Some(4), Some(5)])
                .with_timezone("Europe/Paris"),
        ),
        Arc::new(DurationNanosecondArray::from(vec![5, 4, 3, 2, 1])),
        Arc::new(IntervalMonthDayNanoArray::from(vec![
            IntervalMonthDayNano::new(1, 2, 3);
            5
        ])),
        Arc::new(
            Decimal128Array::from(vec![Some(12345), None, Some(-1), Some(0), Some(99)])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        ),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            None,
            Some(false),
            Some(true),
            None,
        ])),
        Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some(""),
            Some("héllo"),
            Some("z"),
        ])),
        Arc::new(LargeStringArray::from(vec!["x", "yy", "", "zzz", "w"])),
        Arc::new(BinaryArray::from(vec![
            &b"\x00\x01"[..],
            b"",
            b"abc",
            b"\xff",
            b"q",
        ])),
        Arc::new(LargeBinaryArray::from(vec![
            &b"1"[..],
            b"22",
            b"",
            b"4444",
            b"",
        ])),
    ])
}

/// Types left to arrow-rs on both sides.
fn nested() -> RecordBatch {
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
        Some(vec![]),
        Some(vec![Some(4)]),
        Some(vec![Some(5), Some(6)]),
    ]);
    let dictionary: DictionaryArray<Int32Type> = vec!["red", "green", "red", "blue", "red"]
        .into_iter()
        .collect();
    let fixed = FixedSizeBinaryArray::try_from_iter(
        vec![[1u8, 2], [3, 4], [5, 6], [7, 8], [9, 0]].into_iter(),
    )
    .unwrap();
    let view = StringViewArray::from(vec!["short", "a string longer than twelve", "", "x", "y"]);
    batch_of(vec![
        Arc::new(list),
        Arc::new(dictionary),
        Arc::new(fixed),
        Arc::new(view),
        Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5])),
    ])
}

fn round_trip(batch: &RecordBatch) -> RecordBatch {
    let (mut out, mut into) = (BatchExporter::default(), BatchImporter::default());
    let ffi = out.export(batch.clone()).unwrap();
    assert_eq!(ffi.num_rows(), batch.num_rows());
    into.import(ffi).unwrap()
}

#[test]
fn every_flat_type_crosses_with_its_values_nulls_and_parameters() {
    let batch = flat();
    let back = round_trip(&batch);
    assert_eq!(back, batch);
    assert_eq!(back.schema(), batch.schema());
    assert_eq!(back.column(9).data_type(), &DataType::Decimal128(10, 2));
}

#[test]
fn nested_dictionary_fixed_size_and_view_columns_cross_through_arrow_rs() {
    let batch = nested();
    assert_eq!(round_trip(&batch), batch);
}

#[test]
fn slices_cross_whatever_their_offset() {
    for batch in [flat(), nested()] {
        for (offset, len) in [(1, 3), (2, 3), (3, 2), (0, 0), (5, 0)] {
            let slice = batch.slice(offset, len);
            assert_eq!(round_trip(&slice), slice, "slice({offset}, {len})");
        }
    }
    // Validity bits starting mid-byte, on a boolean column and a string column.
    let bools = BooleanArray::from_iter((0..100).map(|i| (i % 3 != 0).then_some(i % 2 == 0)));
    let strings = StringArray::from_iter((0..100).map(|i| (i % 5 != 0).then(|| i.to_string())));
    let batch = batch_of(vec![Arc::new(bools), Arc::new(strings)]);
    for offset in [1, 7, 8, 9, 63] {
        let slice = batch.slice(offset, 30);
        assert_eq!(round_trip(&slice), slice, "slice({offset}, 30)");
    }
}

#[test]
fn all_empty_strings_and_zero_rows_cross() {
    let empty = batch_of(vec![Arc::new(StringArray::from(vec!["", "", ""]))]);
    assert_eq!(round_trip(&empty), empty);
    let none = flat().slice(0, 0);
    assert_eq!(round_trip(&none).num_rows(), 0);
}

#[test]
fn a_stream_round_trip_keeps_schema_and_values() {
    let (mut out, mut into) = (BatchExporter::default(), BatchImporter::default());
    let batch = flat();
    for _ in 0..3 {
        let ffi = out.export(batch.clone()).unwrap();
        assert_eq!(into.import(ffi).unwrap(), batch);
    }
}

#[test]
fn the_schema_is_sent_once_and_again_when_it_changes() {
    let (mut out, mut into) = (BatchExporter::default(), BatchImporter::default());
    let first = out.export(flat()).unwrap();
    let second = out.export(flat()).unwrap();
    assert!(first.schema.release.is_some() && second.schema.release.is_none());
    let renamed = nested();
    let third = out.export(renamed.clone()).unwrap();
    assert!(third.schema.release.is_some());
    into.import(first).unwrap();
    assert_eq!(into.import(second).unwrap(), flat());
    assert_eq!(into.import(third).unwrap(), renamed);
}

#[test]
fn a_batch_without_any_schema_is_an_error_not_a_guess() {
    let mut out = BatchExporter::default();
    out.export(flat()).unwrap();
    let schemaless = out.export(flat()).unwrap();
    let err = BatchImporter::default().import(schemaless).unwrap_err();
    assert!(err.to_string().contains("without a schema"), "{err}");
}

/// References to each column's data, beyond the batch's own.
fn extra_references(batch: &RecordBatch) -> Vec<usize> {
    batch
        .columns()
        .iter()
        .map(|c| Arc::strong_count(c) - 1)
        .collect()
}

#[test]
fn columns_stay_alive_while_imported_and_are_let_go_once_dropped() {
    for batch in [flat(), nested()] {
        let (mut out, mut into) = (BatchExporter::default(), BatchImporter::default());
        let idle = extra_references(&batch);
        let imported = into.import(out.export(batch.clone()).unwrap()).unwrap();
        assert!(extra_references(&batch)
            .iter()
            .zip(&idle)
            .all(|(a, b)| a > b));
        drop(imported);
        assert_eq!(extra_references(&batch), idle);
        // Dropped in flight, never imported: released all the same.
        drop(out.export(batch.clone()).unwrap());
        assert_eq!(extra_references(&batch), idle);
    }
}

#[test]
fn an_imported_buffer_outlives_its_batch() {
    let batch = flat();
    let idle = extra_references(&batch);
    let column = round_trip(&batch).column(11).clone(); // the batch is gone, one column kept
    assert_eq!(column.as_ref(), batch.column(11).as_ref());
    assert_ne!(extra_references(&batch), idle);
    drop(column);
    assert_eq!(extra_references(&batch), idle);
}

#[test]
fn arrow_rs_reads_what_we_export_and_we_read_what_it_exports() {
    let batch = batch_of(
        flat()
            .columns()
            .iter()
            .chain(nested().columns())
            .cloned()
            .collect(),
    );
    // Ours → arrow-rs.
    let ffi = BatchExporter::default().export(batch.clone()).unwrap();
    let (array, schema) = take(ffi);
    // SAFETY: a conforming array and schema, consumed once.
    let data = unsafe { arrow::ffi::from_ffi(array, &schema) }.unwrap();
    assert_eq!(RecordBatch::from(StructArray::from(data)), batch);
    // arrow-rs → ours.
    let data = StructArray::from(batch.clone()).into_data();
    let ffi = FfiBatch {
        array: CArrowArray::from_arrow(FFI_ArrowArray::new(&data)),
        schema: CArrowSchema::from_arrow(FFI_ArrowSchema::try_from(data.data_type()).unwrap()),
    };
    assert_eq!(BatchImporter::default().import(ffi).unwrap(), batch);
}

fn take(mut ffi: FfiBatch) -> (FFI_ArrowArray, FFI_ArrowSchema) {
    let array = mem::replace(&mut ffi.array, released_array());
    let schema = mem::replace(&mut ffi.schema, released_schema());
    (array.into_arrow(), schema.into_arrow())
}

#[test]
fn a_child_moved_out_stays_valid_after_its_root_is_released() {
    let batch = flat();
    let idle = extra_references(&batch);
    let (mut root, _) = take(BatchExporter::default().export(batch.clone()).unwrap());
    // SAFETY: the spec's "moving child arrays": copy the child out, mark it released in
    // place, release the parent; the moved child is then owned and released on its own.
    let moved = unsafe {
        let root = ptr::from_mut(&mut root).cast::<CArrowArray>();
        let child = (*(*root).children.add(11)).cast::<CArrowArray>();
        let moved = ptr::read(child);
        (*child).release = None;
        moved.into_arrow()
    };
    drop(root);
    assert_ne!(
        extra_references(&batch),
        idle,
        "the moved child still holds the data"
    );
    // SAFETY: a conforming Utf8 child, consumed once.
    let data = unsafe { arrow::ffi::from_ffi_and_data_type(moved, DataType::Utf8) }.unwrap();
    assert_eq!(make_array(data).as_ref(), batch.column(11).as_ref());
    assert_eq!(extra_references(&batch), idle);
}

/// A hand-made producer: a batch of one Int32 column whose values start `skew` bytes into
/// an allocation, with `null_count` as given and no validity buffer, listed `columns`
/// times among the root's children. Counts its releases.
struct Handmade {
    bytes: Vec<u8>,
    buffers: [*const c_void; 2],
    child: CArrowArray,
    children: [*mut c_void; 2],
    root_buffers: [*const c_void; 1],
    released: AtomicUsize,
}

/// Marks the array released, after releasing its children still unreleased (the spec's
/// rule for a parent), and counts it.
unsafe extern "C" fn count_release(array: *mut c_void) {
    // SAFETY: called by the holder of an unreleased array made by `handmade`, whose
    // private data is its counter.
    unsafe {
        let array = array.cast::<CArrowArray>();
        for i in 0..(*array).n_children as usize {
            let child = (*(*array).children.add(i)).cast::<CArrowArray>();
            if let Some(release) = (*child).release {
                release(child.cast());
            }
        }
        (*array).release = None;
        (*(*array).private_data.cast::<AtomicUsize>()).fetch_add(1, Ordering::SeqCst);
    }
}

fn handmade(
    values: &[i32],
    skew: usize,
    null_count: i64,
    columns: i64,
) -> (Box<Handmade>, FfiBatch) {
    let mut bytes = vec![0u8; skew];
    bytes.extend(values.iter().flat_map(|v| v.to_ne_bytes()));
    let mut made = Box::new(Handmade {
        bytes,
        buffers: [ptr::null(); 2],
        child: released_array(),
        children: [ptr::null_mut(); 2],
        root_buffers: [ptr::null()],
        released: AtomicUsize::new(0),
    });
    let counter = ptr::from_ref(&made.released).cast_mut().cast();
    made.buffers[1] = made.bytes[skew..].as_ptr().cast();
    made.child = CArrowArray {
        length: values.len() as i64,
        null_count,
        n_buffers: 2,
        buffers: made.buffers.as_mut_ptr(),
        release: Some(count_release),
        private_data: counter,
        ..released_array()
    };
    let child = ptr::from_mut(&mut made.child).cast();
    made.children = [child, child];
    let array = CArrowArray {
        length: values.len() as i64,
        n_buffers: 1,
        n_children: columns,
        buffers: made.root_buffers.as_mut_ptr(),
        children: made.children.as_mut_ptr(),
        release: Some(count_release),
        private_data: counter,
        ..released_array()
    };
    let schema = Schema::new(vec![Field::new("n", DataType::Int32, false)]);
    let schema = FFI_ArrowSchema::try_from(DataType::Struct(schema.fields().clone())).unwrap();
    let schema = CArrowSchema::from_arrow(schema);
    (made, FfiBatch { array, schema })
}

#[test]
fn a_misaligned_buffer_is_realigned_by_arrow_rs_and_every_array_released() {
    let (made, ffi) = handmade(&[7, -8, 9], 1, 0, 1);
    let batch = BatchImporter::default().import(ffi).unwrap();
    let column = batch
        .column(0)
        .as_any()
        .downcast_ref::<Int32Array>()
        .unwrap();
    assert_eq!(column.values(), &[7, -8, 9]);
    // Copied into aligned memory, so both arrays are released at once.
    assert_eq!(
        made.released.load(Ordering::SeqCst),
        2,
        "root and moved child"
    );
    drop(batch);
    assert_eq!(made.released.load(Ordering::SeqCst), 2);
}

#[test]
fn an_aligned_hand_made_buffer_is_wrapped_in_place_until_dropped() {
    let (made, ffi) = handmade(&[1, 2, 3], 4, 0, 1);
    let batch = BatchImporter::default().import(ffi).unwrap();
    let column = batch
        .column(0)
        .as_any()
        .downcast_ref::<Int32Array>()
        .unwrap();
    assert_eq!(column.values().as_ptr().cast(), made.buffers[1], "no copy");
    assert_eq!(made.released.load(Ordering::SeqCst), 0);
    drop(batch);
    assert_eq!(made.released.load(Ordering::SeqCst), 2, "root and child");
}

#[test]
fn inconsistent_arrays_are_refused_with_the_column_named_and_still_released() {
    let cases = [
        (
            handmade(&[1, 2], 0, 1, 1),
            "column `n`: 1 nulls but no validity buffer",
        ),
        (handmade(&[1, 2], 0, 0, 2), "1 columns came with 2 children"),
    ];
    for ((made, ffi), expected) in cases {
        let err = BatchImporter::default()
            .import(ffi)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{err}");
        assert_eq!(made.released.load(Ordering::SeqCst), 2, "{err}");
    }
}

#[test]
fn nulls_in_a_non_nullable_column_are_refused() {
    let schema = Schema::new(vec![Field::new("n", DataType::Int32, true)]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(Int32Array::from(vec![Some(1), None]))],
    )
    .unwrap();
    let mut ffi = BatchExporter::default().export(batch).unwrap();
    // Claim the column is non-nullable in the schema that travels with it.
    let strict = Schema::new(vec![Field::new("n", DataType::Int32, false)]);
    let strict = FFI_ArrowSchema::try_from(DataType::Struct(strict.fields().clone())).unwrap();
    // The replaced schema goes back into arrow-rs's type, whose drop releases it.
    let sent = mem::replace(&mut ffi.schema, CArrowSchema::from_arrow(strict));
    drop(sent.into_arrow());
    let err = BatchImporter::default()
        .import(ffi)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("column `n`") && err.contains("non-nullable"),
        "{err}"
    );
}

#[test]
fn a_buffer_from_a_plain_allocation_crosses() {
    // Buffers not allocated by arrow-rs's builders (a Vec turned into a Buffer).
    let values = Int64Array::new(Buffer::from_vec(vec![3i64, 1, 4, 1, 5]).into(), None);
    let batch = batch_of(vec![Arc::new(values)]);
    assert_eq!(round_trip(&batch), batch);
}
