//! The `dedup` transform: one row per key within the watermark. `keep = "first_seen"`
//! is Spark's `dropDuplicatesWithinWatermark` (the first row to arrive wins, at once);
//! `keep = "earliest"` holds each key until the watermark passes and emits the row with
//! the smallest event time. Keys live in the SDK's keyed state, evicted once the
//! watermark is `watermark_delay` past their event time.

use ferry_plugin_api::arrow::array::{Array, BooleanArray, RecordBatch};
use ferry_plugin_api::arrow::compute::filter_record_batch;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::event_time::{event_micros, reject_null_time};
use ferry_plugin_api::sdk::rows::{self, RowCodec};
use ferry_plugin_api::sdk::state::KeyedState;
use ferry_plugin_api::sdk::{
    Component, Context, Error, Output, Restored, Result, StateSize, Transform,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which row of a key is kept.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The first row to arrive, emitted at once; later rows with its key are dropped
    /// (Spark's `dropDuplicatesWithinWatermark`).
    #[default]
    FirstSeen,
    /// The row with the smallest event time, emitted once the watermark reaches it.
    Earliest,
}

/// Options of `dedup`. The event time and delay are the node's (`event_time`,
/// `watermark_delay`), set on it or inherited from upstream.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DedupOptions {
    /// The columns that identify a row: rows with equal values in all of them (nulls
    /// equal too) are duplicates.
    pub keys: Vec<String>,
    /// "first_seen" (default) or "earliest".
    #[serde(default)]
    pub keep: Keep,
}

/// What is kept per key.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// The event time (µs) of the row kept: the first to arrive, or the earliest.
    time: i64,
    /// With `keep = "earliest"`: that row, encoded, until it is emitted. (A boxed slice
    /// is encoded as a `Vec<u8>` is, and is 8 bytes smaller in memory.)
    held: Option<Box<[u8]>>,
}

pub struct Dedup {
    keys: Vec<String>,
    keep: Keep,
    event_time: String,
    delay: i64,
    /// The input watermark (µs); rows at or behind it are late.
    watermark: Option<i64>,
    /// Keyed by the key columns' row bytes (encoded as a `Vec<u8>` would be).
    seen: KeyedState<Box<[u8]>, Entry>,
    /// The input's schema, which the output keeps.
    schema: Option<SchemaRef>,
    /// With `keep = "earliest"`: encodes the rows held.
    rows: Option<RowCodec>,
}

impl Component for Dedup {
    const NAME: &'static str = "dedup";
    const DESCRIPTION: &'static str =
        "One row per key within the watermark: the first to arrive, or the earliest.";
    type Options = DedupOptions;

    fn create(options: DedupOptions, ctx: &Context) -> Result<Self> {
        if options.keys.is_empty() {
            return Err(Error::msg("keys: name at least one column"));
        }
        ctx.check_columns("keys", options.keys.iter().map(String::as_str))?;
        let event_time = ctx.event_time.clone().ok_or_else(|| {
            Error::msg("needs an event time: set event_time and watermark_delay on it or upstream")
        })?;
        ctx.check_columns("event_time", [event_time.as_str()])?;
        let delay = i64::try_from(ctx.watermark_delay.as_micros())
            .map_err(|_| Error::msg("watermark_delay is too long"))?;
        let schema = ctx.input_schema().cloned();
        // Held rows outlive a restart, so their encoding comes from the declared schema,
        // not from whichever batch arrives first.
        let rows = match (options.keep, &schema) {
            (Keep::FirstSeen, _) => None,
            (Keep::Earliest, Some(schema)) => Some(RowCodec::for_schema(schema)?),
            (Keep::Earliest, None) => {
                return Err(Error::msg(
                    "keep = \"earliest\" needs its input's schema: read from a source with a declared schema",
                ))
            }
        };
        Ok(Self {
            keys: options.keys,
            keep: options.keep,
            event_time,
            delay,
            watermark: None,
            seen: KeyedState::open(&ctx.state_config(), "seen")?,
            schema,
            rows,
        })
    }

    fn output_schema(&self, _port: &str) -> Option<SchemaRef> {
        self.schema.clone()
    }
}

impl Dedup {
    /// Whether a row of key `key` and event time `time` is kept now, recording its key.
    /// The key is copied only when it is new; a duplicate changes nothing in the state,
    /// so it is not written at the next checkpoint either.
    fn admit(&mut self, key: &[u8], time: i64, row: impl FnOnce() -> Box<[u8]>) -> bool {
        match (self.keep, self.seen.get(key)) {
            (Keep::FirstSeen, Some(_)) => false,
            (Keep::FirstSeen, None) => {
                self.seen.insert(key.into(), Entry { time, held: None });
                true
            }
            (Keep::Earliest, Some(entry)) => {
                // Equal times: the first to arrive stays.
                if entry.held.is_some() && time < entry.time {
                    if let Some(entry) = self.seen.get_mut(key) {
                        *entry = Entry {
                            time,
                            held: Some(row()),
                        };
                    }
                }
                false
            }
            (Keep::Earliest, None) => {
                let held = Some(row());
                self.seen.insert(key.into(), Entry { time, held });
                false
            }
        }
    }

    /// The rows held for keys whose earliest time the watermark has reached, by time
    /// then key, taken out of their entries.
    fn due(&mut self, watermark: i64) -> Vec<Box<[u8]>> {
        if self.rows.is_none() {
            return Vec::new();
        }
        let mut due: Vec<(i64, Box<[u8]>)> = self
            .seen
            .iter()
            .filter(|(_, e)| e.held.is_some() && e.time <= watermark)
            .map(|(k, e)| (e.time, k.clone()))
            .collect();
        due.sort_unstable();
        due.into_iter()
            .filter_map(|(_, key)| self.seen.get_mut(&key)?.held.take())
            .collect()
    }
}

impl Transform for Dedup {
    fn restore(&mut self, restored: &Restored<'_>) -> Result<()> {
        self.watermark = restored.input_watermark;
        self.seen.restore(restored.state)
    }

    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let times = event_micros(&batch, &self.event_time)?;
        let keys = rows::encode_columns(&batch, "keys", &self.keys)?;
        let whole = match &self.rows {
            Some(codec) => Some(codec.encode(batch.columns())?),
            None => None,
        };
        let watermark = self.watermark.unwrap_or(i64::MIN);
        let (mut kept, mut late) = (Vec::new(), Vec::new());
        for i in 0..batch.num_rows() {
            if times.is_null(i) {
                reject_null_time(
                    out,
                    &batch,
                    i,
                    &self.event_time,
                    format!("row {i} of a batch"),
                )?;
                kept.push(false);
                late.push(false);
                continue;
            }
            let time = times.value(i);
            let is_late = time <= watermark;
            late.push(is_late);
            let admitted = !is_late
                && self.admit(keys.row(i), time, || {
                    whole
                        .as_ref()
                        .map_or_else(Box::default, |w| w.row(i).into())
                });
            kept.push(admitted);
        }
        out.late(filter_record_batch(&batch, &BooleanArray::from(late))?)?;
        out.emit(filter_record_batch(&batch, &BooleanArray::from(kept))?)
    }

    /// Emits the held rows the watermark has reached, then forgets the keys it is
    /// `watermark_delay` past: a row with such a key would be late anyway.
    fn on_watermark(&mut self, watermark: i64, out: &mut Output<'_>) -> Result<()> {
        self.watermark = Some(watermark);
        let due = self.due(watermark);
        if let (Some(codec), Some(schema), false) = (&self.rows, &self.schema, due.is_empty()) {
            let columns = codec.decode(due.iter().map(|row| &**row))?;
            out.emit(RecordBatch::try_new(schema.clone(), columns)?)?;
        }
        let delay = self.delay;
        self.seen
            .retain(|_, e| e.held.is_some() || e.time.saturating_add(delay) > watermark);
        out.watermark(watermark);
        Ok(())
    }

    fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        self.seen.checkpoint(epoch)
    }

    fn commit(&mut self, epoch: u64) -> Result<()> {
        self.seen.commit(epoch)
    }

    fn state_size(&self) -> StateSize {
        self.seen.size()
    }
}

export_plugin! {
    sources: [],
    transforms: [Dedup],
    sinks: [],
}

#[cfg(test)]
mod tests;
