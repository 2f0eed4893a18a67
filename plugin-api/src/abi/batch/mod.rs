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
//! encoding and parsing the schema on every crossing.
//!
//! The arrays themselves are built and read by [`export`] and [`import`], which handle
//! the flat column types with a few allocations per batch and leave the rest to
//! arrow-rs's C Data Interface code, which allocates several times per column.

mod export;
mod import;

use std::ffi::c_void;
use std::mem;
use std::sync::Arc;

use abi_stable::StableAbi;
use arrow::array::{RecordBatch, RecordBatchOptions, StructArray};
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

// Ownership moves between the mirrors and arrow-rs's structs by moving their bytes.
// SAFETY (all four): FFI_ArrowArray and FFI_ArrowSchema are arrow-rs's #[repr(C)]
// `struct ArrowArray` / `struct ArrowSchema`, which the mirrors copy field for field
// (size and alignment asserted above); the source is consumed, so its release callback
// still runs exactly once, through whoever holds the result.
impl CArrowArray {
    fn from_arrow(array: FFI_ArrowArray) -> Self {
        // SAFETY: see above.
        unsafe { mem::transmute::<FFI_ArrowArray, Self>(array) }
    }

    fn into_arrow(self) -> FFI_ArrowArray {
        // SAFETY: see above.
        unsafe { mem::transmute::<Self, FFI_ArrowArray>(self) }
    }
}

impl CArrowSchema {
    fn from_arrow(schema: FFI_ArrowSchema) -> Self {
        // SAFETY: see above.
        unsafe { mem::transmute::<FFI_ArrowSchema, Self>(schema) }
    }

    fn into_arrow(self) -> FFI_ArrowSchema {
        // SAFETY: see above.
        unsafe { mem::transmute::<Self, FFI_ArrowSchema>(self) }
    }
}

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
        let schema = match with_schema {
            true => FFI_ArrowSchema::try_from(DataType::Struct(batch.schema().fields().clone()))?,
            false => FFI_ArrowSchema::empty(),
        };
        Ok(Self {
            array: export::export(batch),
            schema: CArrowSchema::from_arrow(schema),
        })
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
    /// Moves `batch` into the C Data Interface structs, with its schema if the stream
    /// has not sent that schema yet.
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
        if batch.schema.release.is_some() {
            let schema = mem::replace(&mut batch.schema, released_schema());
            self.learn(&schema.into_arrow())?;
        }
        let (schema, data_type) = self.schema.as_ref().ok_or_else(|| {
            ArrowError::CDataInterface("a batch came without a schema before any schema".into())
        })?;
        let array = mem::replace(&mut batch.array, released_array());
        if array.offset == 0 && array.null_count == 0 {
            // SAFETY: an unreleased array from a `BatchExporter` (or any conforming
            // producer) with the schema last sent on this stream, consumed once.
            return unsafe { import::import(array, schema) };
        }
        // A struct with an offset or nulls of its own: not what exporters send, but
        // legal, so arrow-rs reads it.
        // SAFETY: as above.
        let data =
            unsafe { arrow::ffi::from_ffi_and_data_type(array.into_arrow(), data_type.clone())? };
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
        // SAFETY: each struct is either released (release = NULL, skipped) or owned here
        // and released once through its producer's callback, as the spec requires.
        unsafe {
            if let Some(release) = self.array.release {
                release(std::ptr::from_mut(&mut self.array).cast());
            }
            if let Some(release) = self.schema.release {
                release(std::ptr::from_mut(&mut self.schema).cast());
            }
        }
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
mod tests;
