//! `FfiBatch` as it crossed at ABI 0.1: the C Data Interface structs, mirrored field for
//! field. The arrow-rs conversions of the real crate are left out: a library built
//! against this crate is refused at load, so no batch ever crosses.

use std::ffi::c_void;

use abi_stable::StableAbi;

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

/// One record batch in flight between host and plugin, owned by whoever holds it.
#[repr(C)]
#[derive(StableAbi)]
pub struct FfiBatch {
    array: CArrowArray,
    schema: CArrowSchema,
}
