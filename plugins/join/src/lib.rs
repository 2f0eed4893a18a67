//! The `join` transform: a stream-stream equi-join of its inputs `left` and `right`
//! bounded in event time, as Spark's stream-stream joins with watermarks: rows with
//! equal `on` keys whose event times are at most `within` apart are joined. Each side's
//! rows are buffered in the SDK's keyed state until the watermark makes a match
//! impossible; an outer join then emits its side's unmatched rows with nulls.

mod output;

use ferry_plugin_api::arrow::array::{Array, BooleanArray, RecordBatch};
use ferry_plugin_api::arrow::compute::filter_record_batch;
use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::event_time::{event_micros, reject_null_time};
use ferry_plugin_api::sdk::rows::{self, RowCodec};
use ferry_plugin_api::sdk::state::KeyedState;
use ferry_plugin_api::sdk::{
    Component, Context, Error, Output, Restored, Result, StateSize, Transform,
};
use ferry_plugin_api::serde_json;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use output::Joined;

/// Which unmatched rows are kept.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JoinType {
    /// Matched pairs only.
    #[default]
    Inner,
    /// Also each left row that found no match, with nulls for the right's columns.
    LeftOuter,
    /// Also each right row that found no match, with nulls for the left's columns.
    RightOuter,
}

/// Options of `join`. Its inputs are named: `inputs = { left = "a", right = "b" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinOptions {
    /// The key columns, with the same names and types on both sides.
    pub on: Vec<String>,
    /// Rows join when their event times are at most this far apart (inclusive), Spark's
    /// `rightTime BETWEEN leftTime - within AND leftTime + within`.
    pub within: HumanDuration,
    /// "inner" (default), "left_outer" or "right_outer".
    #[serde(default, rename = "type")]
    pub join_type: JoinType,
    /// The left rows' event-time column (default: the node's `event_time`).
    pub left_time: Option<String>,
    /// The right rows' event-time column (default: the node's `event_time`).
    pub right_time: Option<String>,
}

/// A row waiting in a side's buffer. A key's rows are kept sorted by time (ties in
/// arrival order), so a match is a range of them and the expired ones are a prefix.
#[derive(Debug, Serialize, Deserialize)]
struct Buffered {
    time: i64,
    row: Vec<u8>,
    matched: bool,
}

/// One input.
struct Side {
    time: String,
    schema: SchemaRef,
    rows: RowCodec,
    buffer: KeyedState<Vec<u8>, Vec<Buffered>>,
}

pub struct Join {
    on: Vec<String>,
    within: i64,
    join_type: JoinType,
    sides: [Side; 2],
    out: Joined,
    watermark: Option<i64>,
}

/// The checkpoint: both buffers' handles.
#[derive(Serialize, Deserialize)]
struct Handles {
    left: String,
    right: String,
}

const LEFT: usize = 0;
const RIGHT: usize = 1;

impl Component for Join {
    const NAME: &'static str = "join";
    const DESCRIPTION: &'static str =
        "Joins two streams on keys within an event-time bound: inner, left or right outer.";
    type Options = JoinOptions;

    fn create(o: JoinOptions, ctx: &Context) -> Result<Self> {
        if ctx.inputs != ["left", "right"] {
            return Err(Error::msg(
                "needs two named inputs: inputs = { left = \"...\", right = \"...\" }",
            ));
        }
        if o.on.is_empty() {
            return Err(Error::msg("on: name at least one key column"));
        }
        let within =
            i64::try_from(o.within.0.as_micros()).map_err(|_| Error::msg("within: too long"))?;
        let side = |index: usize, name: &'static str, time: Option<String>| -> Result<Side> {
            let schema = ctx.input_schemas.get(index).cloned().flatten().ok_or_else(|| {
                Error::msg(format!("needs the {name} input's schema: read it from a source with a declared schema"))
            })?;
            let time = time.or_else(|| ctx.event_time.clone()).ok_or_else(|| {
                Error::msg(format!(
                    "needs the {name} rows' event time: set {name}_time, or event_time on the node"
                ))
            })?;
            for column in o.on.iter().chain([&time]) {
                schema
                    .field_with_name(column)
                    .map_err(|_| Error::msg(format!("no column '{column}' in the {name} input")))?;
            }
            let state = ctx.state_config();
            Ok(Side {
                rows: RowCodec::for_schema(&schema)?,
                buffer: KeyedState::open(&state, name)?,
                time,
                schema,
            })
        };
        let left = side(LEFT, "left", o.left_time)?;
        let right = side(RIGHT, "right", o.right_time)?;
        let out = Joined::new(&o.on, &left.schema, &right.schema)?;
        Ok(Self {
            on: o.on,
            within,
            join_type: o.join_type,
            sides: [left, right],
            out,
            watermark: None,
        })
    }

    fn output_schema(&self, _port: &str) -> Option<SchemaRef> {
        Some(self.out.schema())
    }
}

impl Join {
    /// Whether side `s`'s unmatched rows are emitted when they leave the buffer.
    fn outer(&self, s: usize) -> bool {
        matches!(
            (self.join_type, s),
            (JoinType::LeftOuter, LEFT) | (JoinType::RightOuter, RIGHT)
        )
    }
}

/// The rows of `list` (sorted by time) from `from` to `to`, both inclusive.
fn in_range(list: &mut [Buffered], from: i64, to: i64) -> &mut [Buffered] {
    let start = list.partition_point(|b| b.time < from);
    let end = start + list[start..].partition_point(|b| b.time <= to);
    &mut list[start..end]
}

/// Adds `row` to `list`, keeping it sorted by time; rows mostly arrive in time order, so
/// this is usually a push.
fn insert_sorted(list: &mut Vec<Buffered>, row: Buffered) {
    match list.last() {
        Some(last) if last.time > row.time => {
            let at = list.partition_point(|b| b.time <= row.time);
            list.insert(at, row);
        }
        _ => list.push(row),
    }
}

impl Transform for Join {
    fn restore(&mut self, restored: &Restored<'_>) -> Result<()> {
        self.watermark = restored.input_watermark;
        let handles: Handles = serde_json::from_slice(restored.state)
            .map_err(|e| Error::msg(format!("the join's checkpoint: {e}")))?;
        self.sides[LEFT].buffer.restore(handles.left.as_bytes())?;
        self.sides[RIGHT].buffer.restore(handles.right.as_bytes())
    }

    fn process(&mut self, input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let s = if input == "left" { LEFT } else { RIGHT };
        let other = 1 - s;
        let times = event_micros(&batch, &self.sides[s].time)?;
        let keys = rows::encode_columns(&batch, "on", &self.on)?;
        let whole = self.sides[s].rows.encode(batch.columns())?;
        let watermark = self.watermark.unwrap_or(i64::MIN);
        let within = self.within;
        let mut pairs: Vec<[Option<Vec<u8>>; 2]> = Vec::new();
        let mut late = vec![false; batch.num_rows()];
        for (i, is_late) in late.iter_mut().enumerate() {
            if times.is_null(i) {
                let position = format!("row {i} of a {input} batch");
                reject_null_time(out, &batch, i, &self.sides[s].time, position)?;
                continue;
            }
            let time = times.value(i);
            if time <= watermark {
                *is_late = true;
                continue;
            }
            let key = keys.row(i).to_vec();
            let row = whole.row(i).to_vec();
            let mut matched = false;
            if let Some(waiting) = self.sides[other].buffer.get_mut(&key) {
                for b in in_range(
                    waiting,
                    time.saturating_sub(within),
                    time.saturating_add(within),
                ) {
                    b.matched = true;
                    matched = true;
                    let mut pair = [None, None];
                    pair[s] = Some(row.clone());
                    pair[other] = Some(b.row.clone());
                    pairs.push(pair);
                }
            }
            let buffered = Buffered { time, row, matched };
            match self.sides[s].buffer.get_mut(&key) {
                Some(list) => insert_sorted(list, buffered),
                None => {
                    self.sides[s].buffer.insert(key, vec![buffered]);
                }
            }
        }
        out.late(filter_record_batch(&batch, &BooleanArray::from(late))?)?;
        let [left, right] = &self.sides;
        out.emit(self.out.build(&left.rows, &right.rows, &pairs)?)
    }

    /// Forgets the rows no future row can match (the watermark is `within` past them),
    /// emitting an outer side's unmatched ones with nulls.
    fn on_watermark(&mut self, watermark: i64, out: &mut Output<'_>) -> Result<()> {
        self.watermark = Some(watermark);
        let within = self.within;
        let mut unmatched: Vec<(i64, [Option<Vec<u8>>; 2])> = Vec::new();
        for s in [LEFT, RIGHT] {
            let outer = self.outer(s);
            let gone = |b: &Buffered| b.time.saturating_add(within) <= watermark;
            let expired: Vec<Vec<u8>> = (self.sides[s].buffer.iter())
                .filter(|(_, list)| list.first().is_some_and(gone))
                .map(|(k, _)| k.clone())
                .collect();
            for key in expired {
                let Some(mut list) = self.sides[s].buffer.remove(&key) else {
                    continue;
                };
                let done = list.partition_point(gone);
                for b in list.drain(..done).filter(|b| outer && !b.matched) {
                    let mut pair = [None, None];
                    pair[s] = Some(b.row);
                    unmatched.push((b.time, pair));
                }
                if !list.is_empty() {
                    self.sides[s].buffer.insert(key, list);
                }
            }
        }
        unmatched.sort_by_key(|u| u.0);
        let pairs: Vec<_> = unmatched.into_iter().map(|(_, p)| p).collect();
        let [left, right] = &self.sides;
        out.emit(self.out.build(&left.rows, &right.rows, &pairs)?)?;
        out.watermark(watermark);
        Ok(())
    }

    fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|e| Error::msg(e.to_string()));
        let handles = Handles {
            left: text(self.sides[LEFT].buffer.checkpoint(epoch)?)?,
            right: text(self.sides[RIGHT].buffer.checkpoint(epoch)?)?,
        };
        serde_json::to_vec(&handles).map_err(|e| Error::msg(e.to_string()))
    }

    fn commit(&mut self, epoch: u64) -> Result<()> {
        self.sides[LEFT].buffer.commit(epoch)?;
        self.sides[RIGHT].buffer.commit(epoch)
    }

    /// Both buffers; a key is counted once per side that holds rows for it.
    fn state_size(&self) -> StateSize {
        let (left, right) = (
            self.sides[LEFT].buffer.size(),
            self.sides[RIGHT].buffer.size(),
        );
        StateSize {
            keys: left.keys + right.keys,
            bytes: left.bytes + right.bytes,
        }
    }
}

export_plugin! {
    sources: [],
    transforms: [Join],
    sinks: [],
}

#[cfg(test)]
mod tests;
