//! The data sets. Each module knows its columns and how to draw one row of them; this
//! one dispatches on the generator kind and holds what they share.

mod access_log;
mod bagpipes;
mod clicks;
mod district;
mod messages;
mod rate;
mod twitch;

use std::fmt::{Display, Write};
use std::sync::Arc;

use ferry_plugin_api::arrow::array::{
    Array, ArrayRef, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use ferry_plugin_api::sdk::Result;

use crate::options::GeneratorKind;
use crate::plan::Row;

/// One batch of a data set under construction, built column by column with Arrow
/// builders: no row is ever materialized, and text goes straight into the column buffer.
trait Columns {
    /// The columns, in order.
    fn fields() -> Vec<Field>;
    fn with_capacity(rows: usize) -> Self;
    fn append(&mut self, row: Row);
    fn finish(self) -> Vec<ArrayRef>;
}

/// Turns planned rows into record batches of one data set.
pub struct Generator {
    kind: GeneratorKind,
    schema: SchemaRef,
}

impl Generator {
    pub fn new(kind: GeneratorKind) -> Self {
        let fields = match kind {
            GeneratorKind::Rate => rate::Rate::fields(),
            GeneratorKind::TwitchAccounts => twitch::TwitchAccounts::fields(),
            GeneratorKind::Messages => messages::Messages::fields(),
            GeneratorKind::Clicks => clicks::Clicks::fields(),
            GeneratorKind::DistrictEvents => district::DistrictEvents::fields(),
            GeneratorKind::AccessLog => access_log::AccessLog::fields(),
            GeneratorKind::BagpipeSales => bagpipes::BagpipeSales::fields(),
        };
        Self {
            kind,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The schema of every batch it makes.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn kind(&self) -> GeneratorKind {
        self.kind
    }

    pub fn batch(&self, rows: impl Iterator<Item = Row>) -> Result<RecordBatch> {
        let columns = match self.kind {
            GeneratorKind::Rate => build::<rate::Rate>(rows),
            GeneratorKind::TwitchAccounts => build::<twitch::TwitchAccounts>(rows),
            GeneratorKind::Messages => build::<messages::Messages>(rows),
            GeneratorKind::Clicks => build::<clicks::Clicks>(rows),
            GeneratorKind::DistrictEvents => build::<district::DistrictEvents>(rows),
            GeneratorKind::AccessLog => build::<access_log::AccessLog>(rows),
            GeneratorKind::BagpipeSales => build::<bagpipes::BagpipeSales>(rows),
        };
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

fn build<C: Columns>(rows: impl Iterator<Item = Row>) -> Vec<ArrayRef> {
    let mut columns = C::with_capacity(rows.size_hint().0);
    rows.for_each(|row| columns.append(row));
    columns.finish()
}

/// A nullable column, as Spark DDL declares them: corrupt rows put nulls anywhere.
fn field(name: &str, data_type: DataType) -> Field {
    Field::new(name, data_type, true)
}

/// Spark's `TIMESTAMP`: µs since the Unix epoch, UTC.
fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn timestamp_builder(capacity: usize) -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC")
}

/// Appends `value` formatted straight into the builder's buffer (no `String` per row),
/// or a null.
fn append_display(builder: &mut StringBuilder, value: Option<impl Display>) {
    match value {
        Some(value) => {
            write!(builder, "{value}").expect("formatting into memory cannot fail");
            builder.append_value("");
        }
        None => builder.append_null(),
    }
}

/// Which of `columns` columns a corrupt row leaves null, if any.
fn null_column(row: &mut Row, columns: u64) -> Option<usize> {
    row.corrupt.then(|| row.rng.below(columns) as usize)
}

/// Arc-wraps finished builders for [`RecordBatch::try_new`].
fn array(array: impl Array + 'static) -> ArrayRef {
    Arc::new(array)
}
