//! The producing side: a record batch as one C struct array, built with three
//! allocations per batch rather than several per column.
//!
//! Flat columns (primitives, booleans, strings, binaries) point straight into the
//! batch's buffers. Their C structs and buffer-pointer lists live in one [`Exported`]
//! block that the root and each flat child hold through one shared count, so a consumer
//! may move children out and release them in any order (as the spec allows), while the
//! usual release of a whole batch costs a single atomic operation. Any other column
//! (nested, dictionary, view, ...) is exported by arrow-rs as a self-contained child
//! with its own release callback.

use std::ffi::c_void;
use std::ptr::{self, NonNull};
use std::sync::atomic::{fence, AtomicUsize, Ordering};

use arrow::array::{downcast_primitive_array, Array, AsArray, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use arrow::ffi::FFI_ArrowArray;

use super::CArrowArray;

/// Exports `batch` as a struct array whose children are its columns.
pub(super) fn export(batch: RecordBatch) -> CArrowArray {
    let n = batch.num_columns();
    // One list for every pointer list: the root's validity (none: a batch has no nulls),
    // the root's children, then each flat child's buffers (at most 3).
    let mut pointers = Vec::with_capacity(1 + n + 3 * n);
    pointers.resize(1 + n, ptr::null());
    let children: Vec<CArrowArray> = batch
        .columns()
        .iter()
        .map(|column| child(column.as_ref(), &mut pointers))
        .collect();
    let flat = children.iter().filter(|c| c.release.is_none()).count();
    let length = batch.num_rows() as i64;
    let block = Box::into_raw(Box::new(Exported {
        holders: AtomicUsize::new(1 + flat),
        _batch: batch,
        pointers: RawSlice::new(pointers),
        children: RawSlice::new(children),
    }));
    // SAFETY: the block is live and not yet shared with anyone.
    let base = unsafe { (*block).link() };
    CArrowArray {
        length,
        null_count: 0,
        offset: 0,
        n_buffers: 1,
        n_children: n as i64,
        buffers: base,
        // SAFETY: entries 1..=n hold the children, within the allocation.
        children: unsafe { base.add(1) }.cast(),
        dictionary: ptr::null_mut(),
        release: Some(release_root),
        private_data: block.cast(),
    }
}

/// What the C structs of one exported batch point into.
struct Exported {
    /// The root, if unreleased, plus every flat child not yet released; the block is
    /// freed when this reaches zero.
    holders: AtomicUsize,
    /// Owns the column buffers that flat children point at.
    _batch: RecordBatch,
    /// The root's buffer and child pointers, then each flat child's buffer pointers.
    pointers: RawSlice<*const c_void>,
    /// The children's C structs. Consumers write to them (a moved-out child is marked
    /// released in place), so they are only reached through raw pointers.
    children: RawSlice<CArrowArray>,
}

// SAFETY: the block is immutable once exported, except for `holders` (atomic) and each
// child's `release`, which only the one holder of that child writes (the C Data
// Interface's ownership rule); the batch's buffers are immutable and `Arc`-owned.
unsafe impl Send for Exported {}
// SAFETY: as for `Send`: shared references only read the lists and touch `holders`.
unsafe impl Sync for Exported {}

impl Exported {
    /// Points the root's child list at the children and each flat child at its buffers
    /// and this block; returns the root's pointer list.
    ///
    /// # Safety
    /// Only before the block is shared: it writes through the lists' raw pointers.
    unsafe fn link(&self) -> *mut *const c_void {
        let base = self.pointers.base();
        let mut next_buffer = 1 + self.children.len;
        for i in 0..self.children.len {
            // SAFETY: indexes stay within what `export` and `child` pushed; foreign
            // (arrow-rs) children already own their buffers.
            unsafe {
                let child = self.children.base().add(i);
                *base.add(1 + i) = child.cast_const().cast();
                if (*child).release.is_none() {
                    (*child).buffers = base.add(next_buffer);
                    next_buffer += (*child).n_buffers as usize;
                    (*child).private_data = ptr::from_ref(self).cast_mut().cast();
                    (*child).release = Some(release_child);
                }
            }
        }
        base
    }

    /// Drops `holders` holders, and frees the block if they were the last.
    ///
    /// # Safety
    /// `block` came from [`export`], and the caller holds `holders` of its count.
    unsafe fn let_go(block: *mut Exported, holders: usize) {
        // SAFETY: the caller's holders keep the block alive until this subtraction.
        if unsafe { (*block).holders.fetch_sub(holders, Ordering::Release) } == holders {
            // Every other holder's writes happen before the block is freed (as in Arc).
            fence(Ordering::Acquire);
            // SAFETY: the last holder; the block came from `Box::into_raw`.
            drop(unsafe { Box::from_raw(block) });
        }
    }
}

/// A column's C struct. A flat column's buffer pointers (validity first) are pushed
/// onto `pointers`; its `buffers`, `private_data` and `release` are filled in by
/// [`export`] once nothing can move. Anything else is exported by arrow-rs, with its own
/// private data and release callback.
fn child(array: &dyn Array, pointers: &mut Vec<*const c_void>) -> CArrowArray {
    let Some(flat) = Flat::of(array) else {
        return CArrowArray::from_arrow(FFI_ArrowArray::new(&array.to_data()));
    };
    pointers.push(flat.validity);
    pointers.extend_from_slice(flat.buffers());
    CArrowArray {
        length: array.len() as i64,
        null_count: array.null_count() as i64,
        offset: flat.offset as i64,
        n_buffers: 1 + flat.n_data as i64,
        n_children: 0,
        buffers: ptr::null_mut(),
        children: ptr::null_mut(),
        dictionary: ptr::null_mut(),
        release: None,
        private_data: ptr::null_mut(),
    }
}

/// A flat column's buffers in C Data Interface order (validity, then data).
struct Flat {
    /// The C array's offset, in elements, into every buffer below.
    offset: usize,
    validity: *const c_void,
    data: [*const c_void; 2],
    n_data: usize,
}

impl Flat {
    /// `None` for a type this fast path does not lay out, or validity bits that do not
    /// start on the same bit as the data (a slice at an odd offset).
    fn of(array: &dyn Array) -> Option<Self> {
        let nulls = array.nulls();
        downcast_primitive_array!(
            array => Self::new(0, nulls, [array.values().inner().as_ptr(), ptr::null()], 1),
            DataType::Utf8 => {
                let a = array.as_string::<i32>();
                Self::new(0, nulls, [a.offsets().inner().inner().as_ptr(), a.values().as_ptr()], 2)
            }
            DataType::LargeUtf8 => {
                let a = array.as_string::<i64>();
                Self::new(0, nulls, [a.offsets().inner().inner().as_ptr(), a.values().as_ptr()], 2)
            }
            DataType::Binary => {
                let a = array.as_binary::<i32>();
                Self::new(0, nulls, [a.offsets().inner().inner().as_ptr(), a.values().as_ptr()], 2)
            }
            DataType::LargeBinary => {
                let a = array.as_binary::<i64>();
                Self::new(0, nulls, [a.offsets().inner().inner().as_ptr(), a.values().as_ptr()], 2)
            }
            DataType::Boolean => {
                let bits = array.as_boolean().values();
                // Start on the byte holding the first bit; the rest is the C offset.
                let first_byte = bits.inner().as_ptr().wrapping_add(bits.offset() / 8);
                Self::new(bits.offset() % 8, nulls, [first_byte, ptr::null()], 1)
            }
            _ => None,
        )
    }

    fn new(
        offset: usize,
        nulls: Option<&NullBuffer>,
        data: [*const u8; 2],
        n_data: usize,
    ) -> Option<Self> {
        let validity = match nulls.filter(|n| n.null_count() > 0) {
            None => ptr::null(),
            Some(nulls) => {
                // The C validity bitmap shares the array's offset, so it must start at
                // a byte boundary `offset` bits before the first row's bit.
                let skip = nulls.offset().checked_sub(offset)?;
                if skip % 8 != 0 {
                    return None;
                }
                nulls.buffer().as_ptr().wrapping_add(skip / 8)
            }
        };
        Some(Self {
            offset,
            validity: validity.cast(),
            data: data.map(|p| p.cast()),
            n_data,
        })
    }

    fn buffers(&self) -> &[*const c_void] {
        &self.data[..self.n_data]
    }
}

/// A vector held by raw pointer, so that C code may write through pointers into it while
/// it is owned here; freed on drop.
struct RawSlice<T> {
    start: NonNull<T>,
    len: usize,
    capacity: usize,
}

impl<T> RawSlice<T> {
    fn new(items: Vec<T>) -> Self {
        let mut items = std::mem::ManuallyDrop::new(items);
        Self {
            // SAFETY: a vector's pointer is never null.
            start: unsafe { NonNull::new_unchecked(items.as_mut_ptr()) },
            len: items.len(),
            capacity: items.capacity(),
        }
    }

    fn base(&self) -> *mut T {
        self.start.as_ptr()
    }
}

impl<T> Drop for RawSlice<T> {
    fn drop(&mut self) {
        // SAFETY: the parts came from a vector that was not dropped, freed only here.
        unsafe {
            drop(Vec::from_raw_parts(
                self.start.as_ptr(),
                self.len,
                self.capacity,
            ))
        }
    }
}

/// Releases a flat child, moved out of its root or not.
///
/// # Safety
/// Called by the child's holder, once, with a child made by [`export`].
unsafe extern "C" fn release_child(array: *mut c_void) {
    let array = array.cast::<CArrowArray>();
    // SAFETY: the caller holds this unreleased child, which holds one of the block's
    // holders.
    unsafe {
        (*array).release = None;
        Exported::let_go((*array).private_data.cast(), 1);
    }
}

/// Releases the root and every child still in it: flat children by giving up their
/// holders along with the root's, in one step; arrow-rs children through their callback.
///
/// # Safety
/// Called by the root's holder, once, with a root made by [`export`].
unsafe extern "C" fn release_root(array: *mut c_void) {
    let array = array.cast::<CArrowArray>();
    // SAFETY: the caller holds this unreleased root, whose holder keeps the block alive
    // until `let_go`; a child moved out was marked released by whoever moved it, so the
    // ones still holding are exactly those released here.
    unsafe {
        let block = (*array).private_data.cast::<Exported>();
        let mut holders = 1;
        for i in 0..(*block).children.len {
            let child = (*block).children.base().add(i);
            match (*child).release {
                None => {}
                // Ours: it points at this block (arrow-rs children point elsewhere).
                Some(_) if (*child).private_data == block.cast() => {
                    (*child).release = None;
                    holders += 1;
                }
                Some(release) => release(child.cast()),
            }
        }
        (*array).release = None;
        Exported::let_go(block, holders);
    }
}
