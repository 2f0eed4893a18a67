//! The consuming side: a C struct array's children as arrow-rs columns.
//!
//! Flat columns (primitives, booleans, strings, binaries) are wrapped in place: each
//! buffer borrows the producer's memory and shares one owner that releases the root
//! array when the last buffer goes. Only the `Arc` per buffer and per column is
//! allocated, and nothing is re-validated: the C Data Interface makes the producer
//! vouch for its data, exactly as arrow-rs's own importer trusts it. Any other column,
//! or a buffer not aligned for its type, is moved out of the root (as the spec allows)
//! and imported by arrow-rs.

use std::ffi::c_void;
use std::mem::{align_of, size_of};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use arrow::alloc::Allocation;
use arrow::array::{
    downcast_primitive, make_array, new_empty_array, ArrayRef, ArrowPrimitiveType, BooleanArray,
    GenericByteArray, PrimitiveArray, RecordBatch,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{
    ArrowNativeType, BinaryType, ByteArrayType, DataType, Field, LargeBinaryType, LargeUtf8Type,
    SchemaRef, Utf8Type,
};
use arrow::error::ArrowError;

use super::CArrowArray;

type Result<T> = std::result::Result<T, ArrowError>;

/// Imports a struct array whose root has no offset and no nulls as a batch of `schema`.
///
/// # Safety
/// `root` must be an unreleased `ArrowArray` that conforms to the C Data Interface and
/// whose children have the schema's types.
pub(super) unsafe fn import(root: CArrowArray, schema: &SchemaRef) -> Result<RecordBatch> {
    let fields = schema.fields();
    let (rows, children) = (root.length, root.children.cast::<*mut CArrowArray>());
    let owner = Arc::new(Owner(root)); // released on every path from here
    if owner.0.n_children != fields.len() as i64 || children.is_null() {
        return Err(ArrowError::CDataInterface(format!(
            "a batch of {} columns came with {} children",
            fields.len(),
            owner.0.n_children
        )));
    }
    let mut columns = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        // SAFETY: the root has `fields.len()` children (checked above), each a valid
        // unreleased ArrowArray of the field's type (the caller's promise).
        let column = unsafe { column(&owner, *children.add(i), field.data_type()) }
            .and_then(|column| fits(column, field, rows))
            .map_err(|e| in_column(e, field))?;
        columns.push(column);
    }
    // SAFETY: one column per field, each built with its field's data type (`column`
    // dispatches on it) and checked to have `rows` rows.
    Ok(unsafe { RecordBatch::new_unchecked(schema.clone(), columns, rows as usize) })
}

/// `error`, said of `field`'s column.
fn in_column(error: ArrowError, field: &Field) -> ArrowError {
    let reason = match error {
        ArrowError::CDataInterface(reason) => reason,
        other => other.to_string(),
    };
    ArrowError::CDataInterface(format!("column `{}`: {reason}", field.name()))
}

/// The column, if it has the batch's row count and nulls only where its field allows.
fn fits(column: ArrayRef, field: &Field, rows: i64) -> Result<ArrayRef> {
    if column.len() as i64 != rows {
        return Err(ArrowError::CDataInterface(format!(
            "{} rows in a batch of {rows}",
            column.len()
        )));
    }
    if !field.is_nullable() && column.null_count() > 0 {
        return Err(ArrowError::CDataInterface(format!(
            "{} nulls in a non-nullable column",
            column.null_count()
        )));
    }
    Ok(column)
}

/// The imported root array: released through its producer when the last buffer that
/// borrows from it is dropped.
struct Owner(CArrowArray);

// SAFETY: the C Data Interface lets an array be released from any thread, and the
// buffers it owns are never written while it is alive.
unsafe impl Send for Owner {}
// SAFETY: shared references never touch the struct; only `drop` (one owner) releases it.
unsafe impl Sync for Owner {}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(release) = self.0.release {
            // SAFETY: the root is unreleased and owned here; its producer's callback
            // frees it and every child not moved out.
            unsafe { release(ptr::from_mut(&mut self.0).cast()) }
        }
    }
}

/// One child as a column: flat types wrapped in place, anything else by arrow-rs.
///
/// # Safety
/// `child` must be a valid unreleased child of `owner`'s root, of type `data_type`.
unsafe fn column(
    owner: &Arc<Owner>,
    child: *mut CArrowArray,
    data_type: &DataType,
) -> Result<ArrayRef> {
    if child.is_null() || unsafe { (*child).release.is_none() } {
        return Err(ArrowError::CDataInterface("missing or released".into()));
    }
    // SAFETY: `child` is valid (the caller's promise); the borrow ends before `moved`.
    let flat = unsafe { Flat::new(owner, &*child)?.import(data_type)? };
    match flat {
        Some(array) => Ok(array),
        // SAFETY: as above; the child is moved out at most once.
        None => unsafe { moved(child, data_type) },
    }
}

/// Moves a child out of the root (marking it released there) and imports it with
/// arrow-rs, which owns it from then on.
///
/// # Safety
/// `child` must be a valid unreleased `ArrowArray` of type `data_type`.
unsafe fn moved(child: *mut CArrowArray, data_type: &DataType) -> Result<ArrayRef> {
    // SAFETY: reading the struct moves it (the spec's "moving child arrays"), and the
    // slot is marked released so the root's release skips it.
    let array = unsafe {
        let array = ptr::read(child);
        (*child).release = None;
        array.into_arrow()
    };
    // SAFETY: a conforming array of `data_type`, consumed once.
    let data = unsafe { arrow::ffi::from_ffi_and_data_type(array, data_type.clone())? };
    Ok(make_array(data))
}

/// The parts of a child that every flat layout shares.
struct Flat<'a> {
    owner: &'a Arc<Owner>,
    length: usize,
    offset: usize,
    null_count: i64,
    buffers: &'a [*const c_void],
    has_children: bool,
}

impl<'a> Flat<'a> {
    /// # Safety
    /// `child` must be a valid `ArrowArray` of `owner`'s root.
    unsafe fn new(owner: &'a Arc<Owner>, child: &'a CArrowArray) -> Result<Self> {
        let (Ok(length), Ok(offset), Ok(n_buffers)) = (
            usize::try_from(child.length),
            usize::try_from(child.offset),
            usize::try_from(child.n_buffers),
        ) else {
            return Err(ArrowError::CDataInterface(format!(
                "negative length {}, offset {} or buffer count {}",
                child.length, child.offset, child.n_buffers
            )));
        };
        if n_buffers > 0 && child.buffers.is_null() {
            return Err(ArrowError::CDataInterface("no buffer list".into()));
        }
        let buffers = match n_buffers {
            0 => &[][..],
            // SAFETY: a conforming array lists `n_buffers` buffer pointers.
            n => unsafe { std::slice::from_raw_parts(child.buffers.cast_const(), n) },
        };
        Ok(Self {
            owner,
            length,
            offset,
            null_count: child.null_count,
            buffers,
            has_children: child.n_children != 0 || !child.dictionary.is_null(),
        })
    }

    /// The column, or `None` when this type (or this buffer's alignment) is left to
    /// arrow-rs.
    ///
    /// # Safety
    /// The child must be a conforming array of `data_type`.
    unsafe fn import(self, data_type: &DataType) -> Result<Option<ArrayRef>> {
        if self.has_children {
            return Ok(None);
        }
        if self.length == 0 {
            return Ok(Some(new_empty_array(data_type)));
        }
        macro_rules! primitive {
            ($t:ty) => {
                unsafe { self.primitive::<$t>(data_type) }
            };
        }
        // SAFETY (every arm): the child is a conforming array of `data_type`.
        downcast_primitive! {
            data_type => (primitive),
            DataType::Boolean => unsafe { self.boolean() },
            DataType::Utf8 => unsafe { self.bytes::<Utf8Type>() },
            DataType::LargeUtf8 => unsafe { self.bytes::<LargeUtf8Type>() },
            DataType::Binary => unsafe { self.bytes::<BinaryType>() },
            DataType::LargeBinary => unsafe { self.bytes::<LargeBinaryType>() },
            _ => Ok(None),
        }
    }

    /// # Safety
    /// The child must be a conforming array of `data_type`, a `T`.
    unsafe fn primitive<T: ArrowPrimitiveType>(
        &self,
        data_type: &DataType,
    ) -> Result<Option<ArrayRef>> {
        let Some(values) = self.aligned::<T::Native>(1)? else {
            return Ok(None);
        };
        let size = size_of::<T::Native>();
        // SAFETY: a conforming array's value buffer holds `offset + length` values.
        let values = unsafe { self.buffer(values.add(self.offset * size), self.length * size) };
        // SAFETY: the validity bitmap covers `offset + length` bits when present.
        let nulls = unsafe { self.nulls()? };
        let array = PrimitiveArray::<T>::try_new(ScalarBuffer::from(values), nulls)?;
        Ok(Some(match *data_type == T::DATA_TYPE {
            true => Arc::new(array),
            // A time zone or a decimal's precision and scale.
            false => Arc::new(array.with_data_type(data_type.clone())),
        }))
    }

    /// # Safety
    /// The child must be a conforming boolean array.
    unsafe fn boolean(&self) -> Result<Option<ArrayRef>> {
        let values = self.pointer(1)?;
        let bytes = (self.offset + self.length).div_ceil(8);
        // SAFETY: a conforming boolean array holds `offset + length` value bits.
        let values = BooleanBuffer::new(
            unsafe { self.buffer(values, bytes) },
            self.offset,
            self.length,
        );
        // SAFETY: as above, for the validity bits.
        let nulls = unsafe { self.nulls()? };
        Ok(Some(Arc::new(BooleanArray::new(values, nulls))))
    }

    /// # Safety
    /// The child must be a conforming array of `T`'s type: `offset + length + 1`
    /// non-decreasing offsets into a data buffer at least as long as the last one
    /// (and UTF-8 for strings).
    unsafe fn bytes<T: ByteArrayType>(&self) -> Result<Option<ArrayRef>> {
        let Some(offsets) = self.aligned::<T::Offset>(1)? else {
            return Ok(None);
        };
        let size = size_of::<T::Offset>();
        // SAFETY: the offsets buffer holds `offset + length + 1` aligned entries.
        let (offsets, data_len) = unsafe {
            let first = offsets.add(self.offset * size);
            let last = first.cast::<T::Offset>().add(self.length).read();
            (
                self.buffer(first, (self.length + 1) * size),
                last.as_usize(),
            )
        };
        let data = match data_len {
            0 => Buffer::from(Vec::<u8>::new()), // all empty: the pointer may be null
            // SAFETY: the data buffer is at least as long as the last offset.
            _ => unsafe { self.buffer(self.pointer(2)?, data_len) },
        };
        // SAFETY: as above, for the validity bits.
        let nulls = unsafe { self.nulls()? };
        // SAFETY: the producer vouches for monotonic offsets within `data` and, for
        // strings, valid UTF-8 (the C Data Interface's contract; arrow-rs's importer
        // skips the same checks).
        let array = unsafe {
            let offsets = OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets));
            GenericByteArray::<T>::new_unchecked(offsets, data, nulls)
        };
        Ok(Some(Arc::new(array)))
    }

    /// The validity bitmap, unless the array says it has no nulls.
    ///
    /// # Safety
    /// A present validity buffer must hold `offset + length` bits.
    unsafe fn nulls(&self) -> Result<Option<NullBuffer>> {
        let bitmap = self
            .buffers
            .first()
            .and_then(|p| NonNull::new(p.cast_mut()));
        let (count, Some(bitmap)) = (self.null_count, bitmap) else {
            return match self.null_count {
                1.. => Err(ArrowError::CDataInterface(format!(
                    "{} nulls but no validity buffer",
                    self.null_count
                ))),
                _ => Ok(None),
            };
        };
        if count == 0 {
            return Ok(None);
        }
        let bytes = (self.offset + self.length).div_ceil(8);
        // SAFETY: the caller's promise.
        let bitmap = unsafe { self.buffer(bitmap.cast(), bytes) };
        let bits = BooleanBuffer::new(bitmap, self.offset, self.length);
        let nulls = match usize::try_from(count) {
            // SAFETY: the producer counted the unset bits (the spec's `null_count`).
            Ok(count) => unsafe { NullBuffer::new_unchecked(bits, count) },
            Err(_) => NullBuffer::new(bits), // -1: not computed by the producer
        };
        Ok(Some(nulls).filter(|n| n.null_count() > 0))
    }

    /// Buffer `i`, or `None` if it is not aligned for `N` (arrow-rs then realigns it).
    fn aligned<N>(&self, i: usize) -> Result<Option<NonNull<u8>>> {
        let pointer = self.pointer(i)?;
        Ok((pointer.as_ptr() as usize)
            .is_multiple_of(align_of::<N>())
            .then_some(pointer))
    }

    fn pointer(&self, i: usize) -> Result<NonNull<u8>> {
        match self.buffers.get(i) {
            Some(p) => NonNull::new(p.cast_mut().cast())
                .ok_or_else(|| ArrowError::CDataInterface(format!("buffer {i} is null"))),
            None => Err(ArrowError::CDataInterface(format!(
                "{} buffers, expected at least {}",
                self.buffers.len(),
                i + 1
            ))),
        }
    }

    /// Wraps `len` bytes of the producer's memory, owned by the root.
    ///
    /// # Safety
    /// `pointer` must be valid for `len` bytes for as long as the root is unreleased.
    unsafe fn buffer(&self, pointer: NonNull<u8>, len: usize) -> Buffer {
        let owner: Arc<dyn Allocation> = self.owner.clone();
        // SAFETY: the caller's promise; `owner` keeps the root unreleased.
        unsafe { Buffer::from_custom_allocation(pointer, len, owner) }
    }
}
