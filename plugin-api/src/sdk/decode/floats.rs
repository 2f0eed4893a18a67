//! The rows whose FLOAT or DOUBLE values (at any depth) hold NaN or an infinity. arrow-rs
//! reads more strings as those than Spark does ("nan", "inf", "-NaN"), so the records of
//! such rows, and only those, are read again to see how the value was written.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{ArrowNativeType, DataType, Float32Type, Float64Type};

/// Whether a value of `data_type` can hold a FLOAT or DOUBLE.
pub(super) fn has_floats(data_type: &DataType) -> bool {
    match data_type {
        DataType::Float32 | DataType::Float64 => true,
        DataType::Struct(fields) => fields.iter().any(|f| has_floats(f.data_type())),
        DataType::List(item) | DataType::LargeList(item) => has_floats(item.data_type()),
        DataType::Map(entries, _) => has_floats(entries.data_type()),
        _ => false,
    }
}

/// The row element `i` of an array belongs to, if any.
type Owner<'a> = &'a dyn Fn(usize) -> Option<usize>;

/// Marks in `rows` each row one of whose values in `array` is NaN or infinite.
pub(super) fn mark_non_finite(array: &ArrayRef, owner: Owner, rows: &mut [bool]) {
    match array.data_type() {
        DataType::Float32 => {
            let finite = array.as_primitive::<Float32Type>().values().iter();
            mark(array, finite.map(|v| v.is_finite()), owner, rows);
        }
        DataType::Float64 => {
            let finite = array.as_primitive::<Float64Type>().values().iter();
            mark(array, finite.map(|v| v.is_finite()), owner, rows);
        }
        DataType::Struct(_) => {
            for child in array.as_struct().columns() {
                mark_non_finite(child, owner, rows);
            }
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            let owner = |j| owner(within(list.offsets(), j)?);
            mark_non_finite(list.values(), &owner, rows);
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            let owner = |j| owner(within(list.offsets(), j)?);
            mark_non_finite(list.values(), &owner, rows);
        }
        DataType::Map(..) => {
            let map = array.as_map();
            let owner = |j| owner(within(map.offsets(), j)?);
            let entries: ArrayRef = std::sync::Arc::new(map.entries().clone());
            mark_non_finite(&entries, &owner, rows);
        }
        _ => {}
    }
}

/// Marks the rows of the values that are not `finite` (and not null).
fn mark(
    array: &ArrayRef,
    finite: impl Iterator<Item = bool> + Clone,
    owner: Owner,
    rows: &mut [bool],
) {
    // Almost always all are: one pass that vectorizes.
    if finite.clone().all(|f| f) {
        return;
    }
    for (i, finite) in finite.enumerate() {
        if !finite && array.is_valid(i) {
            if let Some(row) = owner(i) {
                rows[row] = true;
            }
        }
    }
}

/// The list whose values hold child element `j`, if one does.
fn within<O: ArrowNativeType>(offsets: &OffsetBuffer<O>, j: usize) -> Option<usize> {
    let list = offsets
        .partition_point(|o| o.as_usize() <= j)
        .checked_sub(1)?;
    (list + 1 < offsets.len()).then_some(list)
}
