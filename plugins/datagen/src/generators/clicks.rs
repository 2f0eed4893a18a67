//! `clicks`: ad clicks and impressions per event, `Impressions ≥ Clicks`, with a
//! click-through rate up to 10%. A corrupt row has `Clicks` or `Impressions` null.

use ferry_plugin_api::arrow::array::{ArrayRef, Int32Builder, TimestampMicrosecondBuilder};
use ferry_plugin_api::arrow::datatypes::{DataType, Field};

use super::{array, field, null_column, timestamp_builder, timestamp_type, Columns};
use crate::plan::Row;

const MAX_CLICK_THROUGH: f64 = 0.1;

pub struct Clicks {
    clicks: Int32Builder,
    impressions: Int32Builder,
    ts: TimestampMicrosecondBuilder,
}

impl Columns for Clicks {
    fn fields() -> Vec<Field> {
        vec![
            field("Clicks", DataType::Int32),
            field("Impressions", DataType::Int32),
            field("ts", timestamp_type()),
        ]
    }

    fn with_capacity(rows: usize) -> Self {
        Self {
            clicks: Int32Builder::with_capacity(rows),
            impressions: Int32Builder::with_capacity(rows),
            ts: timestamp_builder(rows),
        }
    }

    fn append(&mut self, mut row: Row) {
        let hole = null_column(&mut row, 2);
        let rng = &mut row.rng;
        // Skewed: most events carry a handful of impressions, a few close to 1000.
        let impressions = 10f64.powf(rng.unit() * 3.0) as i32;
        let clicks = (f64::from(impressions) * rng.unit() * MAX_CLICK_THROUGH) as i32;
        self.clicks
            .append_option((hole != Some(0)).then_some(clicks));
        self.impressions
            .append_option((hole != Some(1)).then_some(impressions));
        self.ts.append_value(row.event_time);
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            array(self.clicks.finish()),
            array(self.impressions.finish()),
            array(self.ts.finish()),
        ]
    }
}
