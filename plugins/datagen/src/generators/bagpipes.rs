//! `bagpipe_sales`: bagpipes sold per Scottish council area (the districts of
//! `district_events`), the second stream of the epidemiology use case's time-bounded
//! join. A corrupt row has `district` or `bagpipes` null.

use ferry_plugin_api::arrow::array::{
    ArrayRef, Int32Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field};

use super::district::DISTRICTS;
use super::{
    append_display, array, field, null_column, timestamp_builder, timestamp_type, Columns,
};
use crate::plan::Row;

const BAGPIPES: [(i32, u32); 3] = [(1, 80), (2, 15), (3, 5)];
/// A set's price in whole pounds.
const PRICE_GBP: (i64, i64) = (450, 1800);

pub struct BagpipeSales {
    sale_id: StringBuilder,
    district: StringBuilder,
    bagpipes: Int32Builder,
    price_gbp: Int32Builder,
    timestamp: TimestampMicrosecondBuilder,
}

impl Columns for BagpipeSales {
    fn fields() -> Vec<Field> {
        vec![
            field("sale_id", DataType::Utf8),
            field("district", DataType::Utf8),
            field("bagpipes", DataType::Int32),
            field("price_gbp", DataType::Int32),
            field("timestamp", timestamp_type()),
        ]
    }

    fn with_capacity(rows: usize) -> Self {
        Self {
            sale_id: StringBuilder::with_capacity(rows, rows * 8),
            district: StringBuilder::with_capacity(rows, rows * 12),
            bagpipes: Int32Builder::with_capacity(rows),
            price_gbp: Int32Builder::with_capacity(rows),
            timestamp: timestamp_builder(rows),
        }
    }

    fn append(&mut self, mut row: Row) {
        let hole = null_column(&mut row, 2);
        let district = row.rng.pick(&DISTRICTS);
        let bagpipes = row.rng.weighted(&BAGPIPES);
        let price = row.rng.between(PRICE_GBP.0, PRICE_GBP.1) as i32 * bagpipes;
        append_display(&mut self.sale_id, Some(format_args!("S{}", row.index)));
        self.district
            .append_option((hole != Some(0)).then_some(district));
        self.bagpipes
            .append_option((hole != Some(1)).then_some(bagpipes));
        self.price_gbp.append_value(price);
        self.timestamp.append_value(row.event_time);
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            array(self.sale_id.finish()),
            array(self.district.finish()),
            array(self.bagpipes.finish()),
            array(self.price_gbp.finish()),
            array(self.timestamp.finish()),
        ]
    }
}
