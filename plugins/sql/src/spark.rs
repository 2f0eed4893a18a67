//! Spark SQL's names for what our users write, where DataFusion's differ or are missing:
//! `split` (by a regular expression), `regexp_extract`, `to_date`, `to_timestamp`,
//! `datediff` and `date_format` with Spark's datetime patterns, and `from_json` (in
//! from_json.rs). `trim`, `current_date`, `upper`, `lower`, `concat`, `coalesce`,
//! `substring`, `length`, `regexp_replace` … are DataFusion's own, with Spark's meaning.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int32Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::compute::{cast, cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Int64Type, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use ferry_plugin_api::sdk::datetime::cast::{date_days, timestamp_micros};
use ferry_plugin_api::sdk::datetime::DateTimePattern;
use regex::Regex;

use crate::from_json::{FromJson, StructFieldAccess};

/// Registers the functions, replacing DataFusion's of the same name, and `s['field']`.
pub fn register(ctx: &mut SessionContext) -> Result<()> {
    let any = |n| Signature::any(n, Volatility::Immutable);
    let functions = [
        spark("split", any(2), list_of_strings(), split),
        spark("regexp_extract", any(3), DataType::Utf8, regexp_extract),
        spark(
            "to_date",
            Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::Any(1),
                    datafusion::logical_expr::TypeSignature::Any(2),
                ],
                Volatility::Immutable,
            ),
            DataType::Date32,
            to_date,
        ),
        spark(
            "to_timestamp",
            Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::Any(1),
                    datafusion::logical_expr::TypeSignature::Any(2),
                ],
                Volatility::Immutable,
            ),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            to_timestamp,
        ),
        spark("datediff", any(2), DataType::Int32, datediff),
        spark("date_format", any(2), DataType::Utf8, date_format),
    ];
    for f in functions {
        ctx.register_udf(ScalarUDF::new_from_impl(f));
    }
    ctx.register_udf(ScalarUDF::new_from_impl(FromJson::new()));
    let planner = Arc::new(StructFieldAccess);
    datafusion::logical_expr::registry::FunctionRegistry::register_expr_planner(ctx, planner)
}

fn list_of_strings() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// A function over whole columns (scalars are expanded to columns first).
#[derive(Debug)]
struct SparkFunction {
    name: &'static str,
    signature: Signature,
    returns: DataType,
    eval: fn(&[ArrayRef]) -> Result<ArrayRef>,
}

fn spark(
    name: &'static str,
    signature: Signature,
    returns: DataType,
    eval: fn(&[ArrayRef]) -> Result<ArrayRef>,
) -> SparkFunction {
    SparkFunction {
        name,
        signature,
        returns,
        eval,
    }
}

/// Functions are told apart by name: each is registered once.
impl PartialEq for SparkFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for SparkFunction {}

impl std::hash::Hash for SparkFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for SparkFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns: Vec<ArrayRef> = (args.args.into_iter())
            .map(|a| a.into_array(rows))
            .collect::<Result<_>>()?;
        Ok(ColumnarValue::Array((self.eval)(&columns)?))
    }
}

/// `array` as UTF-8 strings (null and other string types converted), or an error naming
/// `function`.
pub(crate) fn strings(array: &ArrayRef, function: &str) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 => Ok(array.clone()),
        DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            Ok(cast(array, &DataType::Utf8)?)
        }
        other => exec_err!("{function}: expected a STRING, got {other}"),
    }
}

thread_local! {
    /// Compiled patterns by text, kept across batches (a query has a handful).
    static PATTERNS: std::cell::RefCell<HashMap<String, Regex>> = Default::default();
}

/// Kept patterns beyond this many are dropped (patterns taken from a column).
const MAX_PATTERNS: usize = 256;

/// `pattern`, compiled once per thread.
fn regex(pattern: &str, function: &str) -> Result<Regex> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(regex) = cache.get(pattern) {
            return Ok(regex.clone());
        }
        let Ok(regex) = Regex::new(pattern) else {
            return exec_err!("{function}: invalid regular expression '{pattern}'");
        };
        if cache.len() >= MAX_PATTERNS {
            cache.clear();
        }
        cache.insert(pattern.to_string(), regex.clone());
        Ok(regex)
    })
}

/// Spark's `split(str, regex)`: every piece, empty ones included.
fn split(args: &[ArrayRef]) -> Result<ArrayRef> {
    let (text, pattern) = (strings(&args[0], "split")?, strings(&args[1], "split")?);
    let (text, pattern) = (text.as_string::<i32>(), pattern.as_string::<i32>());
    let mut out = ListBuilder::new(StringBuilder::new());
    for i in 0..text.len() {
        if text.is_null(i) || pattern.is_null(i) {
            out.append(false);
            continue;
        }
        let regex = regex(pattern.value(i), "split")?;
        for piece in regex.split(text.value(i)) {
            out.values().append_value(piece);
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

/// Spark's `regexp_extract(str, regex, group)`: the group of the first match, "" when
/// nothing matches.
fn regexp_extract(args: &[ArrayRef]) -> Result<ArrayRef> {
    let text = strings(&args[0], "regexp_extract")?;
    let pattern = strings(&args[1], "regexp_extract")?;
    let group = cast(&args[2], &DataType::Int64)?;
    let (text, pattern) = (text.as_string::<i32>(), pattern.as_string::<i32>());
    let group = group.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
    let mut out = StringBuilder::with_capacity(text.len(), text.value_data().len());
    for i in 0..text.len() {
        if text.is_null(i) || pattern.is_null(i) || group.is_null(i) {
            out.append_null();
            continue;
        }
        let regex = regex(pattern.value(i), "regexp_extract")?;
        let g = group.value(i);
        if g < 0 || g as usize >= regex.captures_len() {
            let groups = regex.captures_len() - 1;
            return exec_err!("regexp_extract: group {g} of a pattern with {groups} groups");
        }
        let found = regex
            .captures(text.value(i))
            .and_then(|c| c.get(g as usize));
        out.append_value(found.map_or("", |m| m.as_str()));
    }
    Ok(Arc::new(out.finish()))
}

/// Spark's `to_date(str[, pattern])`; a TIMESTAMP's UTC date. A string that is not a
/// date fails the batch (Spark's ANSI mode, its default since 4.0): never a silent null.
fn to_date(args: &[ArrayRef]) -> Result<ArrayRef> {
    if let Some(days) = utc_days(&args[0])? {
        return Ok(days);
    }
    if let DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 = args[0].data_type() {
        return Ok(cast(&args[0], &DataType::Date32)?);
    }
    let text = strings(&args[0], "to_date")?;
    let text = text.as_string::<i32>();
    let pattern = match args.get(1) {
        Some(p) => Some(pattern_of(p, "to_date")?),
        None => None,
    };
    let mut out = Vec::with_capacity(text.len());
    for value in text.iter() {
        out.push(match value {
            None => None,
            Some(v) => Some(match &pattern {
                Some(p) => p.parse_date_days(v).or_else(|e| {
                    exec_err!("to_date: '{v}' does not match '{}': {e}", p.pattern())
                })?,
                None => date_days(v)
                    .or_else(|_| exec_err!("to_date: '{v}' is not a date (yyyy-MM-dd)"))?,
            }),
        });
    }
    Ok(Arc::new(Date32Array::from(out)))
}

/// The dates of a TIMESTAMP column in UTC (or without a zone), by whole days since the
/// epoch: what arrow's cast computes, without a calendar conversion per value. `None`
/// for other columns. A date beyond DATE's range fails the batch, never wraps.
fn utc_days(array: &ArrayRef) -> Result<Option<ArrayRef>> {
    let DataType::Timestamp(unit, zone) = array.data_type() else {
        return Ok(None);
    };
    if zone
        .as_deref()
        .is_some_and(|z| !matches!(z, "UTC" | "+00:00" | "Z"))
    {
        return Ok(None);
    }
    let per_day: i64 = match unit {
        TimeUnit::Second => 86_400,
        TimeUnit::Millisecond => 86_400_000,
        TimeUnit::Microsecond => 86_400_000_000,
        TimeUnit::Nanosecond => 86_400_000_000_000,
    };
    let ticks = cast(array, &DataType::Int64)?;
    let days = ticks
        .as_primitive::<Int64Type>()
        .try_unary::<_, Date32Type, _>(|t| {
            i32::try_from(t.div_euclid(per_day)).map_err(|_| {
                ArrowError::ComputeError(format!("to_date: {t} {unit:?} is beyond DATE's range"))
            })
        })?;
    Ok(Some(Arc::new(days)))
}

/// Spark's `to_timestamp(str[, pattern])`, UTC where the text has no zone; without a
/// pattern, text is read by Spark's string cast (sdk::datetime::cast) and other types
/// are cast. A value that is not a timestamp fails the batch.
fn to_timestamp(args: &[ArrayRef]) -> Result<ArrayRef> {
    let text = matches!(
        args[0].data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    );
    if !text && args.len() == 1 {
        // Not arrow's safe cast, which would make a value it cannot cast a null.
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        return cast_with_options(&args[0], &utc, &strict)
            .or_else(|e| exec_err!("to_timestamp: {e}"));
    }
    let pattern = match args.get(1) {
        Some(p) => Some(pattern_of(p, "to_timestamp")?),
        None => None,
    };
    let text = strings(&args[0], "to_timestamp")?;
    let mut out = Vec::with_capacity(text.len());
    for value in text.as_string::<i32>().iter() {
        out.push(match (value, &pattern) {
            (None, _) => None,
            (Some(v), Some(p)) => Some(p.parse_timestamp_micros(v).or_else(|e| {
                exec_err!("to_timestamp: '{v}' does not match '{}': {e}", p.pattern())
            })?),
            (Some(v), None) => Some(
                timestamp_micros(v, true)
                    .or_else(|e| exec_err!("to_timestamp: '{v}' is not a timestamp: {e}"))?,
            ),
        });
    }
    let micros = datafusion::arrow::array::TimestampMicrosecondArray::from(out);
    Ok(Arc::new(micros.with_timezone("UTC")))
}

/// The one pattern of a function's pattern argument.
fn pattern_of(array: &ArrayRef, function: &str) -> Result<DateTimePattern> {
    let patterns = strings(array, function)?;
    let patterns: &StringArray = patterns.as_string::<i32>();
    let Some(first) = patterns.iter().flatten().next() else {
        return exec_err!("{function}: the pattern is null");
    };
    if patterns.iter().flatten().any(|p| p != first) {
        return exec_err!("{function}: the pattern must be the same for every row");
    }
    DateTimePattern::new(first).or_else(|e| exec_err!("{function}: {e}"))
}

/// Spark's `datediff(end, start)`: whole days from `start` to `end`.
fn datediff(args: &[ArrayRef]) -> Result<ArrayRef> {
    let dates = |a: &ArrayRef| -> Result<ArrayRef> {
        match a.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                to_date(std::slice::from_ref(a))
            }
            _ => Ok(cast(a, &DataType::Date32)?),
        }
    };
    let (end, start) = (dates(&args[0])?, dates(&args[1])?);
    let (end, start) = (
        end.as_primitive::<Date32Type>(),
        start.as_primitive::<Date32Type>(),
    );
    let days: Int32Array =
        datafusion::arrow::compute::kernels::arity::binary(end, start, |e: i32, s: i32| e - s)?;
    Ok(Arc::new(days))
}

/// Spark's `date_format(timestamp, pattern)`, in UTC.
fn date_format(args: &[ArrayRef]) -> Result<ArrayRef> {
    let micros_type = DataType::Timestamp(TimeUnit::Microsecond, None);
    let times = match args[0].data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            return exec_err!("date_format: expected a TIMESTAMP or DATE, got a STRING");
        }
        _ => cast(&args[0], &micros_type)?,
    };
    let times = times.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
    let pattern = pattern_of(&args[1], "date_format")?;
    let mut out = StringBuilder::with_capacity(times.len(), times.len() * 20);
    for t in times.iter() {
        match t {
            Some(t) => out.append_value(
                pattern
                    .format_micros(t)
                    .or_else(|e| exec_err!("date_format: {e}"))?,
            ),
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{TimestampMillisecondArray, TimestampSecondArray};

    use super::*;

    #[test]
    fn utc_days_are_arrows_calendar_dates_before_and_after_the_epoch() {
        let ms = [
            -86_400_001,
            -1,
            0,
            1,
            86_399_999,
            86_400_000,
            1_709_647_629_000,
        ];
        let values = TimestampMillisecondArray::from(
            ms.iter()
                .map(|&t| Some(t))
                .chain([None])
                .collect::<Vec<_>>(),
        );
        for zone in [None, Some("UTC"), Some("+00:00")] {
            let array: ArrayRef = match zone {
                Some(z) => Arc::new(values.clone().with_timezone(z)),
                None => Arc::new(values.clone()),
            };
            let ours = utc_days(&array).unwrap().unwrap();
            assert_eq!(&ours, &cast(&array, &DataType::Date32).unwrap(), "{zone:?}");
        }
    }

    #[test]
    fn utc_days_refuses_a_date_beyond_date_range_and_leaves_other_zones_alone() {
        let far: ArrayRef = Arc::new(TimestampSecondArray::from(vec![i64::MAX]));
        let error = utc_days(&far).unwrap_err().to_string();
        assert!(error.contains("beyond DATE's range"), "{error}");
        let paris: ArrayRef =
            Arc::new(TimestampSecondArray::from(vec![0]).with_timezone("Europe/Paris"));
        assert!(utc_days(&paris).unwrap().is_none());
    }
}
