//! `rate`: Spark's rate source, `timestamp` and `value` = the row number.
//! A corrupt row has a null `value`.

use ferry_plugin_api::arrow::array::{ArrayRef, Int64Builder, TimestampMicrosecondBuilder};
use ferry_plugin_api::arrow::datatypes::{DataType, Field};

use super::{array, field, timestamp_builder, timestamp_type, Columns};
use crate::plan::Row;

pub struct Rate {
    timestamp: TimestampMicrosecondBuilder,
    value: Int64Builder,
}

impl Columns for Rate {
    fn fields() -> Vec<Field> {
        vec![
            field("timestamp", timestamp_type()),
            field("value", DataType::Int64),
        ]
    }

    fn with_capacity(rows: usize) -> Self {
        Self {
            timestamp: timestamp_builder(rows),
            value: Int64Builder::with_capacity(rows),
        }
    }

    fn append(&mut self, row: Row) {
        self.timestamp.append_value(row.event_time);
        self.value
            .append_option((!row.corrupt).then_some(row.index as i64));
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![array(self.timestamp.finish()), array(self.value.finish())]
    }
}
