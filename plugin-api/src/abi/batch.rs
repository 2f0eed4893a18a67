//! Record batches on the data plane: the Arrow C Data Interface, moved by value.
//!
//! A batch crosses as one struct array (`ArrowArray` + `ArrowSchema`, layouts fixed by
//! the Arrow spec). The producer's release callbacks travel inside the structs, so the
//! consumer frees nothing itself: dropping the imported array calls back into the
//! library that made it. No arrow-rs type crosses; [`FfiBatch`] mirrors the C structs.
//!
//! Batches flow in streams (a source's output, a transform's input and output, a sink's
//! input), and a stream's schema rarely changes: a [`BatchExporter`] sends the schema
//! with the first batch and whenever it changes, else a released (empty) `ArrowSchema`,
//! and the stream's [`BatchImporter`] reuses the last schema it was sent. That saves
//! encoding and parsing the schema on every crossing (about a quarter of its cost).

use std::ffi::c_void;
use std::mem;
use std::sync::Arc;

use abi_stable::StableAbi;
use arrow::array::{Array, RecordBatch, RecordBatchOptions, StructArray};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

/// `struct ArrowArray` of the C Data Interface, field for field.
#[repr(C)]
#[derive(StableAbi)]
struct CArrowArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut c_void,
    dictionary: *mut c_void,
    release: Option<unsafe extern "C" fn(*mut c_void)>,
    private_data: *mut c_void,
}

/// `struct ArrowSchema` of the C Data Interface, field for field.
#[repr(C)]
#[derive(StableAbi)]
struct CArrowSchema {
    format: *const u8,
    name: *const u8,
    metadata: *const u8,
    flags: i64,
    n_children: i64,
    children: *mut *mut c_void,
    dictionary: *mut c_void,
    release: Option<unsafe extern "C" fn(*mut c_void)>,
    private_data: *mut c_void,
}

// The mirrors must have exactly the layout of arrow-rs's spec-conforming structs.
const _: () = assert!(mem::size_of::<CArrowArray>() == mem::size_of::<FFI_ArrowArray>());
const _: () = assert!(mem::align_of::<CArrowArray>() == mem::align_of::<FFI_ArrowArray>());
const _: () = assert!(mem::size_of::<CArrowSchema>() == mem::size_of::<FFI_ArrowSchema>());
const _: () = assert!(mem::align_of::<CArrowSchema>() == mem::align_of::<FFI_ArrowSchema>());

/// One record batch in flight between host and plugin, owned by whoever holds it.
///
/// Dropping an unconsumed `FfiBatch` releases it through its producer's callbacks.
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiBatch {
    array: CArrowArray,
    schema: CArrowSchema,
}

// SAFETY: the C Data Interface lets a released-or-not array move between threads; the
// producer's buffers are immutable and its release callback is thread-agnostic (arrow-rs
// exports Arc-owned buffers).
unsafe impl Send for FfiBatch {}

impl FfiBatch {
    /// Exports a batch's columns as a struct array, with its schema or without.
    fn export(batch: RecordBatch, with_schema: bool) -> Result<Self, ArrowError> {
        let data = StructArray::from(batch).into_data();
        let array = FFI_ArrowArray::new(&data);
        let schema = match with_schema {
            true => FFI_ArrowSchema::try_from(data.data_type())?,
            false => FFI_ArrowSchema::empty(),
        };
        // SAFETY: FFI_ArrowArray/FFI_ArrowSchema are #[repr(C)] structs with the spec's
        // layout, which the mirrors copy field for field (sizes asserted above); moving
        // the bytes moves ownership, and `array`/`schema` are not dropped afterwards.
        unsafe {
            Ok(Self {
                array: mem::transmute::<FFI_ArrowArray, CArrowArray>(array),
                schema: mem::transmute::<FFI_ArrowSchema, CArrowSchema>(schema),
            })
        }
    }

    /// Moves the C structs out, leaving released (release = NULL) ones in their place.
    fn take(&mut self) -> (FFI_ArrowArray, FFI_ArrowSchema) {
        let array = mem::replace(&mut self.array, released_array());
        let schema = mem::replace(&mut self.schema, released_schema());
        // SAFETY: same layouts as asserted above; the values were moved out of `self`,
        // so each is owned once.
        unsafe {
            (
                mem::transmute::<CArrowArray, FFI_ArrowArray>(array),
                mem::transmute::<CArrowSchema, FFI_ArrowSchema>(schema),
            )
        }
    }

    /// Rows in the batch.
    pub fn num_rows(&self) -> usize {
        self.array.length as usize
    }
}

/// The sending end of a stream of batches: sends the schema only when it changes.
#[derive(Default)]
pub struct BatchExporter {
    sent: Option<SchemaRef>,
}

impl BatchExporter {
    pub fn export(&mut self, batch: RecordBatch) -> Result<FfiBatch, ArrowError> {
        let schema = batch.schema();
        let same = self
            .sent
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, &schema) || s.fields() == schema.fields());
        let ffi = FfiBatch::export(batch, !same)?;
        if !same {
            self.sent = Some(schema);
        }
        Ok(ffi)
    }
}

/// The receiving end of a stream of batches: remembers the last schema it was sent.
#[derive(Default)]
pub struct BatchImporter {
    schema: Option<(SchemaRef, DataType)>,
}

impl BatchImporter {
    /// Imports a batch, taking ownership of its buffers.
    pub fn import(&mut self, mut batch: FfiBatch) -> Result<RecordBatch, ArrowError> {
        let has_schema = batch.schema.release.is_some();
        let (array, schema) = batch.take();
        if has_schema {
            self.learn(&schema)?;
        }
        let (schema, data_type) = self.schema.as_ref().ok_or_else(|| {
            ArrowError::CDataInterface("a batch came without a schema before any schema".into())
        })?;
        // SAFETY: the array was exported by a `BatchExporter` (or any conforming
        // producer) with the data type last sent on this stream, and is consumed once.
        let data = unsafe { arrow::ffi::from_ffi_and_data_type(array, data_type.clone())? };
        let rows = data.len();
        let (_, columns, _) = StructArray::from(data).into_parts();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(schema.clone(), columns, &options)
    }

    fn learn(&mut self, schema: &FFI_ArrowSchema) -> Result<(), ArrowError> {
        let data_type = DataType::try_from(schema)?;
        let DataType::Struct(fields) = &data_type else {
            return Err(ArrowError::CDataInterface(format!(
                "a batch must be a struct array, got {data_type}"
            )));
        };
        self.schema = Some((Arc::new(Schema::new(fields.clone())), data_type));
        Ok(())
    }
}

impl Drop for FfiBatch {
    fn drop(&mut self) {
        // arrow-rs's Drop impls call the producer's release callbacks (if not released).
        drop(self.take());
    }
}

fn released_array() -> CArrowArray {
    CArrowArray {
        length: 0,
        null_count: 0,
        offset: 0,
        n_buffers: 0,
        n_children: 0,
        buffers: std::ptr::null_mut(),
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    }
}

fn released_schema() -> CArrowSchema {
    CArrowSchema {
        format: std::ptr::null(),
        name: std::ptr::null(),
        metadata: std::ptr::null(),
        flags: 0,
        n_children: 0,
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn sample() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_stream_round_trip_keeps_schema_and_values() {
        let (mut out, mut into) = (BatchExporter::default(), BatchImporter::default());
        let batch = sample();
        for _ in 0..3 {
            let ffi = out.export(batch.clone()).unwrap();
            assert_eq!(ffi.num_rows(), 3);
            assert_eq!(into.import(ffi).unwrap(), batch);
        }
    }

    #[test]
    fn the_schema_is_sent_once_and_again_when_it_changes() {
        let (mut out, mut into) = (BatchExporter::default(), BatchImporter::default());
        let first = out.export(sample()).unwrap();
        let second = out.export(sample()).unwrap();
        assert!(first.schema.release.is_some() && second.schema.release.is_none());
        let schema = Schema::new(vec![Field::new("t", DataType::Utf8, true)]);
        let renamed =
            RecordBatch::try_new(Arc::new(schema), vec![sample().column(1).clone()]).unwrap();
        let third = out.export(renamed.clone()).unwrap();
        assert!(third.schema.release.is_some());
        into.import(first).unwrap();
        assert_eq!(into.import(second).unwrap(), sample());
        assert_eq!(into.import(third).unwrap(), renamed);
    }

    #[test]
    fn a_batch_without_any_schema_is_an_error_not_a_guess() {
        let mut out = BatchExporter::default();
        out.export(sample()).unwrap();
        let schemaless = out.export(sample()).unwrap();
        let err = BatchImporter::default().import(schemaless).unwrap_err();
        assert!(err.to_string().contains("without a schema"), "{err}");
    }
}
