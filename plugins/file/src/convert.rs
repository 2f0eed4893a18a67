//! A file's columns converted to the declared types, checked value by value: a value the
//! declared type cannot hold makes its row a misfit (rejected by the caller), never a
//! null; precision the README lets go (sub-microsecond digits, binary floating point) is
//! reported so that it can be logged.
//!
//! Arrow's casts (with their default, safe options) turn a value that does not fit into
//! a null, and some truncate (1.5 into an integer). So each converted leaf is compared
//! with its input: a null that was not there is a misfit, and for numbers and times the
//! result is cast back, where a difference is either an allowed loss of precision or a
//! misfit.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_plugin_api::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, GenericListArray, MapArray, OffsetSizeTrait,
    StructArray,
};
use ferry_plugin_api::arrow::compute::kernels::cmp::distinct;
use ferry_plugin_api::arrow::compute::{can_cast_types, cast};
use ferry_plugin_api::arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Float32Type, Float64Type, Int64Type, TimeUnit,
};
use ferry_plugin_api::arrow::util::display::{ArrayFormatter, FormatOptions};
use ferry_plugin_api::sdk::ddl::data_type_to_ddl;
use ferry_plugin_api::sdk::{Error, Result};

/// A converted column: its values, the rows that do not fit (with the first reason of
/// each), and the first value whose precision was dropped.
pub struct Checked {
    pub array: ArrayRef,
    pub misfits: BTreeMap<usize, String>,
    pub rounded: Option<Rounded>,
}

/// Where a conversion first dropped precision the declared type cannot hold.
#[derive(Clone, Debug)]
pub struct Rounded {
    pub column: String,
    pub row: usize,
    /// What was dropped, e.g. "TIMESTAMP(NANOSECOND) into TIMESTAMP: digits beyond the
    /// microsecond".
    pub note: String,
}

impl Checked {
    fn exact(array: ArrayRef) -> Self {
        Self {
            array,
            misfits: BTreeMap::new(),
            rounded: None,
        }
    }
}

/// The file's field that the declared `name` reads: the one of exactly that name, else
/// the only one whose name differs only in case (Spark's default, case-insensitive
/// resolution); several of those is an error, no match `None`.
pub fn match_field(fields: &Fields, name: &str) -> std::result::Result<Option<usize>, String> {
    if let Some(i) = fields.iter().position(|f| f.name() == name) {
        return Ok(Some(i));
    }
    let folded: Vec<usize> = (fields.iter().enumerate())
        .filter(|(_, f)| f.name().eq_ignore_ascii_case(name))
        .map(|(i, _)| i)
        .collect();
    match folded.as_slice() {
        [] => Ok(None),
        [i] => Ok(Some(*i)),
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|i| format!("'{}'", fields[*i].name()))
                .collect();
            Err(format!(
                "column '{name}' matches {} of the file, which differ only in case",
                names.join(" and ")
            ))
        }
    }
}

/// Whether a column of type `from` can be read as `to` at all (its values are then
/// checked one by one); the reason if not. Nested types convert field by field.
pub fn compatible(column: &str, from: &DataType, to: &DataType) -> std::result::Result<(), String> {
    use DataType::*;
    let refuse = || {
        Err(format!(
            "column '{column}' is {} in the file, which cannot be read as {}",
            data_type_to_ddl(from),
            data_type_to_ddl(to)
        ))
    };
    match (from, to) {
        _ if from == to => Ok(()),
        (Dictionary(_, values), _) => compatible(column, values, to),
        (Struct(from), Struct(to)) => compatible_fields(column, from, to),
        (List(a) | LargeList(a), List(b) | LargeList(b)) => {
            compatible(&format!("{column}[]"), a.data_type(), b.data_type())
        }
        (Map(a, _), Map(b, _)) => compatible(column, a.data_type(), b.data_type()),
        _ if nested(from) || nested(to) => refuse(),
        // A number read as a time would need a unit the file does not give.
        _ if (from.is_numeric() && to.is_temporal()) => refuse(),
        _ if can_cast_types(from, to) => Ok(()),
        _ => refuse(),
    }
}

fn compatible_fields(column: &str, from: &Fields, to: &Fields) -> std::result::Result<(), String> {
    for field in to {
        let name = child(column, field.name());
        match match_field(from, field.name())? {
            Some(i) => compatible(&name, from[i].data_type(), field.data_type())?,
            None if field.is_nullable() => {}
            None => return Err(format!("NOT NULL column '{name}' is not in the file")),
        }
    }
    Ok(())
}

fn nested(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Struct(_) | List(_) | LargeList(_) | FixedSizeList(..) | Map(..) | Union(..)
    )
}

fn child(column: &str, name: &str) -> String {
    match column.is_empty() {
        true => name.to_string(),
        false => format!("{column}.{name}"),
    }
}

/// `t` with every nested field nullable: rows that do not fit are null until the caller
/// filters them out, then casts to the declared type (which checks NOT NULL fields).
pub fn relaxed(t: &DataType) -> DataType {
    use DataType::*;
    let field = relaxed_field;
    match t {
        Struct(fields) => Struct(fields.iter().map(field).collect()),
        List(item) => List(field(item)),
        LargeList(item) => LargeList(field(item)),
        Map(entries, sorted) => Map(field(entries), *sorted),
        other => other.clone(),
    }
}

fn relaxed_field(f: &FieldRef) -> FieldRef {
    Arc::new(Field::new(f.name(), relaxed(f.data_type()), true))
}

/// Converts `from` (the file's column `column`) to the declared field `to`, checking
/// each value. `from` must be [`compatible`] with it.
pub fn convert(column: &str, from: &ArrayRef, to: &Field) -> Result<Checked> {
    use DataType::*;
    let target = relaxed(to.data_type());
    // Children convert to the declared fields (their NOT NULL is checked there), built
    // with the relaxed types.
    let mut checked = match (from.data_type(), to.data_type()) {
        (a, _) if *a == target => Checked::exact(from.clone()),
        (Dictionary(_, values), _) => {
            let plain = cast(from, values)?;
            return convert(column, &plain, to);
        }
        (Struct(_), Struct(fields)) => convert_struct(column, from.as_struct(), fields)?,
        (List(_), List(item)) => convert_list(column, from.as_list::<i32>(), item)?,
        (LargeList(_), LargeList(item)) => convert_list(column, from.as_list::<i64>(), item)?,
        (LargeList(a), List(_)) => {
            let same = cast(from, &List(a.clone()))?;
            return convert(column, &same, to);
        }
        (List(a), LargeList(_)) => {
            let same = cast(from, &LargeList(a.clone()))?;
            return convert(column, &same, to);
        }
        (Map(..), Map(entries, _)) => convert_map(column, from.as_map(), entries)?,
        _ => convert_leaf(column, from, &target)?,
    };
    if !to.is_nullable() {
        for row in (0..checked.array.len()).filter(|&i| checked.array.is_null(i)) {
            let reason = format!("column '{column}' is null, but it is declared NOT NULL");
            checked.misfits.entry(row).or_insert(reason);
        }
    }
    Ok(checked)
}

/// The declared fields from the struct's fields of the same name (or case); fields the
/// file lacks are null.
pub fn convert_struct(column: &str, from: &StructArray, to: &Fields) -> Result<Checked> {
    let mut misfits = BTreeMap::new();
    let mut rounded = None;
    let mut columns = Vec::with_capacity(to.len());
    for field in to {
        let name = child(column, field.name());
        let Some(i) = match_field(from.fields(), field.name()).map_err(Error::msg)? else {
            columns.push(new_null_array(field.data_type(), from.len()));
            continue;
        };
        let converted = convert(&name, from.column(i), field)?;
        for (row, reason) in converted.misfits {
            // A null struct's fields hold no value of the file's.
            if from.is_valid(row) {
                misfits.entry(row).or_insert(reason);
            }
        }
        rounded = rounded.or(converted.rounded);
        columns.push(converted.array);
    }
    let fields: Fields = to.iter().map(relaxed_field).collect();
    let array = StructArray::try_new(fields, columns, from.nulls().cloned())?;
    Ok(Checked {
        array: Arc::new(array),
        misfits,
        rounded,
    })
}

fn convert_list<O: OffsetSizeTrait>(
    column: &str,
    from: &GenericListArray<O>,
    item: &FieldRef,
) -> Result<Checked> {
    let values = convert(&format!("{column}[]"), from.values(), item)?;
    let misfits = to_rows(&values.misfits, from.value_offsets(), |row| {
        from.is_valid(row)
    });
    let rounded = values.rounded.map(|r| Rounded {
        row: owner(from.value_offsets(), r.row),
        ..r
    });
    let array = GenericListArray::<O>::try_new(
        relaxed_field(item),
        from.offsets().clone(),
        values.array,
        from.nulls().cloned(),
    )?;
    Ok(Checked {
        array: Arc::new(array),
        misfits,
        rounded,
    })
}

fn convert_map(column: &str, from: &MapArray, entries: &FieldRef) -> Result<Checked> {
    let DataType::Struct(fields) = entries.data_type() else {
        return Err(Error::msg(format!(
            "column '{column}': a map without entries"
        )));
    };
    let converted = convert_struct(column, from.entries(), fields)?;
    let misfits = to_rows(&converted.misfits, from.value_offsets(), |row| {
        from.is_valid(row)
    });
    let rounded = converted.rounded.map(|r| Rounded {
        row: owner(from.value_offsets(), r.row),
        ..r
    });
    let DataType::Map(_, sorted) = from.data_type() else {
        unreachable!("a MapArray's type is a map")
    };
    let array = MapArray::try_new(
        relaxed_field(entries),
        from.offsets().clone(),
        converted.array.as_struct().clone(),
        from.nulls().cloned(),
        *sorted,
    )?;
    Ok(Checked {
        array: Arc::new(array),
        misfits,
        rounded,
    })
}

/// The rows (of valid lists) holding the misfit elements.
fn to_rows<O: OffsetSizeTrait>(
    elements: &BTreeMap<usize, String>,
    offsets: &[O],
    valid: impl Fn(usize) -> bool,
) -> BTreeMap<usize, String> {
    let mut rows = BTreeMap::new();
    for (&element, reason) in elements {
        let row = owner(offsets, element);
        let used = offsets[0].as_usize()..offsets[offsets.len() - 1].as_usize();
        if used.contains(&element) && valid(row) {
            rows.entry(row).or_insert_with(|| reason.clone());
        }
    }
    rows
}

/// The list row whose range holds `element`.
fn owner<O: OffsetSizeTrait>(offsets: &[O], element: usize) -> usize {
    offsets
        .partition_point(|o| o.as_usize() <= element)
        .saturating_sub(1)
}

fn convert_leaf(column: &str, from: &ArrayRef, to: &DataType) -> Result<Checked> {
    let array = cast(from, to)?;
    let mut checked = Checked::exact(array.clone());
    for row in (0..from.len()).filter(|&i| from.is_valid(i) && array.is_null(i)) {
        checked.misfits.insert(row, misfit(column, from, row, to));
    }
    if !(scalar(from.data_type()) && scalar(to)) {
        return Ok(checked);
    }
    let back = cast(&array, from.data_type())?;
    let differs = distinct(&back, from)?;
    let lossy = precision_only(from.data_type(), to);
    for row in (0..from.len()).filter(|&i| differs.value(i) && array.is_valid(i)) {
        if lossy.is_some() && !overflowed(&array, row) {
            let note = lossy.clone().unwrap_or_default();
            let first = Rounded {
                column: column.to_string(),
                row,
                note,
            };
            checked.rounded.get_or_insert(first);
        } else {
            let reason = misfit(column, from, row, to);
            checked.misfits.entry(row).or_insert(reason);
        }
    }
    Ok(checked)
}

/// Numbers, booleans and times: the types a value can be cast back to and compared.
fn scalar(t: &DataType) -> bool {
    t.is_primitive() || *t == DataType::Boolean
}

/// What a conversion from `from` to `to` may drop and the README lets go: digits finer
/// than the target's time unit, and what binary floating point cannot hold. `None`:
/// any difference is a misfit (a fraction into an integer, a decimal's digits).
fn precision_only(from: &DataType, to: &DataType) -> Option<String> {
    use DataType::*;
    let what = match (from, to) {
        (Timestamp(f, _), Timestamp(t, _))
        | (Time64(f), Time64(t) | Time32(t))
        | (Time32(f), Time32(t))
        | (Duration(f), Duration(t))
            if rank(*t) < rank(*f) =>
        {
            format!("digits beyond the {}", unit_name(*t))
        }
        (Float64, Float32) => "what a 32-bit float cannot hold".to_string(),
        (f, Float32 | Float64)
            if f.is_integer() || matches!(f, Decimal128(..) | Decimal256(..)) =>
        {
            "what binary floating point cannot hold exactly".to_string()
        }
        _ => return None,
    };
    Some(format!(
        "{} into {}: {what}",
        type_name(from),
        data_type_to_ddl(to)
    ))
}

fn rank(unit: TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    }
}

fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "second",
        TimeUnit::Millisecond => "millisecond",
        TimeUnit::Microsecond => "microsecond",
        TimeUnit::Nanosecond => "nanosecond",
    }
}

/// A finite float that became infinite: out of range, not rounded.
fn overflowed(array: &ArrayRef, row: usize) -> bool {
    match array.data_type() {
        DataType::Float32 => array.as_primitive::<Float32Type>().value(row).is_infinite(),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row).is_infinite(),
        _ => false,
    }
}

/// Why row `row` of `from` does not fit `to`, with its value.
fn misfit(column: &str, from: &ArrayRef, row: usize, to: &DataType) -> String {
    let (from_type, to_name) = (from.data_type(), data_type_to_ddl(to));
    let value = display(from, row);
    if matches!(from_type, DataType::Binary | DataType::LargeBinary) && to_name == "STRING" {
        return format!(
            "column '{column}': the bytes {value} are not valid UTF-8, so not a STRING"
        );
    }
    format!(
        "column '{column}': {value} ({}) does not fit {to_name}",
        type_name(from_type)
    )
}

/// The DDL name, or arrow's where DDL would hide the unit (`Timestamp(s)`).
fn type_name(t: &DataType) -> String {
    match t {
        DataType::Timestamp(unit, _) if *unit != TimeUnit::Microsecond => t.to_string(),
        _ => data_type_to_ddl(t),
    }
}

fn display(array: &ArrayRef, row: usize) -> String {
    let options = FormatOptions::default();
    let Ok(formatter) = ArrayFormatter::try_new(array.as_ref(), &options) else {
        return "a value".to_string();
    };
    // A time too far out for a calendar date shows as its number.
    let text = match formatter.value(row).try_to_string() {
        Ok(text) => text,
        Err(_) => match cast(&array.slice(row, 1), &DataType::Int64) {
            Ok(number) => number.as_primitive::<Int64Type>().value(0).to_string(),
            Err(_) => "a value".to_string(),
        },
    };
    match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => format!("'{text}'"),
        _ => text,
    }
}
