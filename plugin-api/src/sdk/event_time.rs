//! A batch's event times, as every watermark and stateful operator needs them: the
//! `event_time` column as microseconds since the Unix epoch, UTC.

use arrow::array::{AsArray, RecordBatch, TimestampMicrosecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit};

use super::{rows, Error, Output, Result};

/// Rejects row `i` of `batch`, whose event time in `column` is null: such a row is
/// neither late nor on time, and no state could ever expire it. Its `raw` is the row as
/// a JSON line; `position` says where it was.
pub fn reject_null_time(
    out: &mut Output<'_>,
    batch: &RecordBatch,
    i: usize,
    column: &str,
    position: String,
) -> Result<()> {
    let raw = rows::row_as_json(batch, i)?;
    out.reject(raw, format!("event time '{column}' is null"), position)
}

/// The `column` of `batch` as µs timestamps; an error names a missing column (with the
/// ones there are) or one that is not a TIMESTAMP.
pub fn event_micros(batch: &RecordBatch, column: &str) -> Result<TimestampMicrosecondArray> {
    let Some(array) = batch.column_by_name(column) else {
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(Error::msg(format!(
            "event_time column '{column}' is not in the rows (columns: {})",
            names.join(", ")
        )));
    };
    let DataType::Timestamp(_, tz) = array.data_type() else {
        return Err(Error::msg(format!(
            "event_time column '{column}' is {}, not a timestamp",
            array.data_type()
        )));
    };
    let micros = cast(
        array,
        &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
    )?;
    Ok(micros.as_primitive().clone())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, Int64Array, TimestampMillisecondArray};

    use super::*;

    #[test]
    fn milliseconds_become_microseconds_and_wrong_columns_are_named() {
        let ms = Arc::new(TimestampMillisecondArray::from(vec![Some(5), None]));
        let n = Arc::new(Int64Array::from(vec![1, 2]));
        let batch = RecordBatch::try_from_iter([("ts", ms as _), ("n", n as _)]).unwrap();
        let micros = event_micros(&batch, "ts").unwrap();
        assert_eq!((micros.value(0), micros.is_null(1)), (5_000, true));
        let missing = event_micros(&batch, "when").unwrap_err().to_string();
        assert!(
            missing.contains("'when'") && missing.contains("ts, n"),
            "{missing}"
        );
        let wrong = event_micros(&batch, "n").unwrap_err().to_string();
        assert!(wrong.contains("is Int64, not a timestamp"), "{wrong}");
    }
}
