//! Record batches on the data plane: the Arrow C Data Interface, moved by value.
//!
//! A batch crosses as one struct array (`ArrowArray` + `ArrowSchema`, layouts fixed by
//! the Arrow spec). The producer's release callbacks travel inside the structs, so the
//! consumer frees nothing itself: dropping the imported array calls back into the
//! library that made it. No arrow-rs type crosses; [`FfiBatch`] mirrors the C structs.

use std::ffi::c_void;
use std::mem;

use abi_stable::StableAbi;
use arrow::array::{Array, RecordBatch, StructArray};
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
    /// Exports a batch as a struct array.
    pub fn from_record_batch(batch: RecordBatch) -> Result<Self, ArrowError> {
        let data = StructArray::from(batch).into_data();
        let (array, schema) = arrow::ffi::to_ffi(&data)?;
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

    /// Imports the batch, taking ownership of its buffers.
    pub fn into_record_batch(mut self) -> Result<RecordBatch, ArrowError> {
        let (array, schema) = self.take();
        // SAFETY: the structs were produced by `from_record_batch` (or any conforming
        // producer) and are consumed exactly once: `take` left released husks behind.
        let data = unsafe { arrow::ffi::from_ffi(array, &schema)? };
        let batch = RecordBatch::from(StructArray::from(data));
        Ok(batch)
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
    fn round_trip_keeps_schema_and_values() {
        let batch = sample();
        let ffi = FfiBatch::from_record_batch(batch.clone()).unwrap();
        assert_eq!(ffi.num_rows(), 3);
        assert_eq!(ffi.into_record_batch().unwrap(), batch);
    }
}
