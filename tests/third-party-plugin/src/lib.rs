//! An example third-party plugin: `uppercase` upper-cases string columns; `chaos`
//! panics on purpose, to show that a panicking plugin fails only its own task;
//! `late_split` shows event time, named inputs and ports; `running_count` keeps its
//! state in the SDK's keyed state store.

use std::sync::Arc;

use ferry_plugin_api::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray,
};
use ferry_plugin_api::arrow::compute::{cast, filter_record_batch, not};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema};
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::schemars::JsonSchema;
use ferry_plugin_api::sdk::event_time::event_micros;
use ferry_plugin_api::sdk::state::KeyedState;
use ferry_plugin_api::sdk::{Component, Context, Error, Output, Restored, Result, Transform};
use ferry_plugin_api::serde::Deserialize;

/// Options of `uppercase`.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "ferry_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "ferry_plugin_api::schemars")]
pub struct UppercaseOptions {
    /// The string columns to upper-case.
    columns: Vec<String>,
}

pub struct Uppercase {
    columns: Vec<String>,
}

impl Component for Uppercase {
    const NAME: &'static str = "uppercase";
    const DESCRIPTION: &'static str = "Upper-cases the listed string columns.";
    type Options = UppercaseOptions;

    fn create(options: UppercaseOptions, _ctx: &Context) -> Result<Self> {
        Ok(Self {
            columns: options.columns,
        })
    }
}

impl Transform for Uppercase {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let schema = batch.schema();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for name in &self.columns {
            let i = schema.index_of(name)?;
            let strings = columns[i]
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| Error::msg(format!("column '{name}' is not a string column")))?;
            let upper: StringArray = strings.iter().map(|s| s.map(str::to_uppercase)).collect();
            columns[i] = Arc::new(upper);
        }
        out.emit(RecordBatch::try_new(schema, columns)?)
    }
}

/// Options of `chaos`.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "ferry_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "ferry_plugin_api::schemars")]
pub struct ChaosOptions {
    /// Panic when this many batches have passed.
    panic_after_batches: u64,
}

pub struct Chaos {
    left: u64,
}

impl Component for Chaos {
    const NAME: &'static str = "chaos";
    const DESCRIPTION: &'static str = "Forwards batches, then panics on purpose.";
    type Options = ChaosOptions;

    fn create(options: ChaosOptions, _ctx: &Context) -> Result<Self> {
        Ok(Self {
            left: options.panic_after_batches,
        })
    }
}

impl Transform for Chaos {
    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        if self.left == 0 {
            panic!("chaos: deliberate panic");
        }
        self.left -= 1;
        out.emit(batch)
    }
}

/// Options of `late_split`.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "ferry_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "ferry_plugin_api::schemars")]
pub struct LateSplitOptions {}

/// Rows at or behind the input watermark leave by `late`, the others by `out` with an
/// `input` column naming the input they came from; every row also leaves by `all`.
pub struct LateSplit {
    event_time: String,
    watermark: Option<i64>,
}

impl Component for LateSplit {
    const NAME: &'static str = "late_split";
    const DESCRIPTION: &'static str =
        "Sends rows behind the watermark to `late`, tags the rest with their input.";
    type Options = LateSplitOptions;

    fn create(_options: LateSplitOptions, ctx: &Context) -> Result<Self> {
        let event_time = ctx
            .event_time
            .clone()
            .ok_or_else(|| Error::msg("needs an event time: set event_time on it or upstream"))?;
        Ok(Self {
            event_time,
            watermark: None,
        })
    }

    fn output_ports(&self) -> Vec<String> {
        vec!["all".to_string()]
    }
}

impl LateSplit {
    fn behind(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let times = event_micros(batch, &self.event_time)?;
        let watermark = self.watermark.unwrap_or(i64::MIN);
        Ok(times.iter().map(|t| t.map(|t| t <= watermark)).collect())
    }
}

impl Transform for LateSplit {
    fn restore(&mut self, restored: &Restored<'_>) -> Result<()> {
        self.watermark = restored.input_watermark;
        Ok(())
    }

    fn process(&mut self, input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let late = self.behind(&batch)?;
        out.emit_to("all", batch.clone())?;
        out.late(filter_record_batch(&batch, &late)?)?;
        let on_time = filter_record_batch(&batch, &not(&late)?)?;
        let mut fields = on_time.schema().fields().to_vec();
        fields.push(Arc::new(Field::new("input", DataType::Utf8, false)));
        let mut columns = on_time.columns().to_vec();
        columns.push(Arc::new(StringArray::from(vec![input; on_time.num_rows()])));
        out.emit(RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns,
        )?)
    }

    fn on_watermark(&mut self, watermark: i64, out: &mut Output<'_>) -> Result<()> {
        self.watermark = Some(watermark);
        out.watermark(watermark);
        Ok(())
    }
}

/// Options of `running_count`.
#[derive(Deserialize, JsonSchema)]
#[serde(crate = "ferry_plugin_api::serde", deny_unknown_fields)]
#[schemars(crate = "ferry_plugin_api::schemars")]
pub struct RunningCountOptions {
    /// The column to count rows by (any type; counted by its text).
    key: String,
}

/// Counts rows per key across the whole stream; at each checkpoint emits `key, count`
/// for the keys that changed in the epoch (Spark's update mode).
pub struct RunningCount {
    key: String,
    counts: KeyedState<String, i64>,
    changed: Vec<String>,
}

impl Component for RunningCount {
    const NAME: &'static str = "running_count";
    const DESCRIPTION: &'static str = "Running row counts per key, emitted at each checkpoint.";
    type Options = RunningCountOptions;

    fn create(options: RunningCountOptions, ctx: &Context) -> Result<Self> {
        Ok(Self {
            key: options.key,
            counts: KeyedState::open(&ctx.state_config(), "counts")?,
            changed: Vec::new(),
        })
    }
}

impl Transform for RunningCount {
    fn restore(&mut self, restored: &Restored<'_>) -> Result<()> {
        self.counts.restore(restored.state)
    }

    fn process(&mut self, _input: &str, batch: RecordBatch, _out: &mut Output<'_>) -> Result<()> {
        let column = batch
            .column_by_name(&self.key)
            .ok_or_else(|| Error::msg(format!("no column '{}'", self.key)))?;
        let keys = cast(column, &DataType::Utf8)?;
        for key in keys.as_string::<i32>().iter() {
            let key = key.unwrap_or("null").to_string();
            match self.counts.get_mut(&key) {
                Some(count) => *count += 1,
                None => {
                    self.counts.insert(key.clone(), 1);
                }
            }
            self.changed.push(key);
        }
        Ok(())
    }

    fn on_barrier(&mut self, _epoch: u64, out: &mut Output<'_>) -> Result<()> {
        self.changed.sort_unstable();
        self.changed.dedup();
        let counts: Vec<i64> = self
            .changed
            .iter()
            .map(|k| self.counts.get(k).copied().unwrap_or(0))
            .collect();
        let keys = StringArray::from(std::mem::take(&mut self.changed));
        let batch = RecordBatch::try_from_iter([
            ("key", Arc::new(keys) as ArrayRef),
            ("count", Arc::new(Int64Array::from(counts)) as ArrayRef),
        ])?;
        out.emit(batch)
    }

    fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        self.counts.checkpoint(epoch)
    }

    fn commit(&mut self, epoch: u64) -> Result<()> {
        self.counts.commit(epoch)
    }
}

export_plugin! {
    sources: [],
    transforms: [Uppercase, Chaos, LateSplit, RunningCount],
    sinks: [],
}
