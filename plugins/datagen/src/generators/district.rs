//! `district_events`: new residents ("new Scotsmen") arriving per Scottish council area,
//! in small counts, for windowed epidemiology aggregates. A corrupt row has `district` or
//! `new_scotsmen` null.

use ferry_plugin_api::arrow::array::{
    ArrayRef, Int32Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field};

use super::{array, field, null_column, timestamp_builder, timestamp_type, Columns};
use crate::plan::Row;

/// Also listed in the README: static tables (e.g. population) join on these names.
pub(super) const DISTRICTS: [&str; 12] = [
    "Aberdeen City",
    "Aberdeenshire",
    "Angus",
    "City of Edinburgh",
    "Dundee City",
    "Falkirk",
    "Fife",
    "Glasgow City",
    "Highland",
    "Perth and Kinross",
    "Stirling",
    "West Lothian",
];
const COUNTS: [(i32, u32); 6] = [(0, 30), (1, 30), (2, 20), (3, 10), (4, 6), (5, 4)];

pub struct DistrictEvents {
    district: StringBuilder,
    new_scotsmen: Int32Builder,
    timestamp: TimestampMicrosecondBuilder,
}

impl Columns for DistrictEvents {
    fn fields() -> Vec<Field> {
        vec![
            field("district", DataType::Utf8),
            field("new_scotsmen", DataType::Int32),
            field("timestamp", timestamp_type()),
        ]
    }

    fn with_capacity(rows: usize) -> Self {
        Self {
            district: StringBuilder::with_capacity(rows, rows * 12),
            new_scotsmen: Int32Builder::with_capacity(rows),
            timestamp: timestamp_builder(rows),
        }
    }

    fn append(&mut self, mut row: Row) {
        let hole = null_column(&mut row, 2);
        let district = row.rng.pick(&DISTRICTS);
        let count = row.rng.weighted(&COUNTS);
        self.district
            .append_option((hole != Some(0)).then_some(district));
        self.new_scotsmen
            .append_option((hole != Some(1)).then_some(count));
        self.timestamp.append_value(row.event_time);
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            array(self.district.finish()),
            array(self.new_scotsmen.finish()),
            array(self.timestamp.finish()),
        ]
    }
}
