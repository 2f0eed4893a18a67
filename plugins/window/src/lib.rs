//! The `window` transform: Spark's `groupBy(window(...), keys).agg(...)` over event
//! time, with tumbling, sliding and session windows, and a running aggregation without
//! windows (`kind = "global"`). State is one entry per group in the SDK's keyed state,
//! holding that group's open windows.

mod aggregate;
mod windows;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use ferry_plugin_api::arrow::array::{
    Array, ArrayRef, BooleanArray, RecordBatch, TimestampMicrosecondArray,
};
use ferry_plugin_api::arrow::compute::filter_record_batch;
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::event_time::{event_micros, reject_null_time};
use ferry_plugin_api::sdk::rows::{self, RowCodec};
use ferry_plugin_api::sdk::state::KeyedState;
use ferry_plugin_api::sdk::{
    Component, Context, Error, Output, Restored, Result, StateSize, Transform,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aggregate::{Aggregate, Input};
use windows::{slot_for, Accs, Shape, Slot};

/// The kind of window.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Fixed, non-overlapping windows of `size`.
    Tumbling,
    /// Windows of `size` starting every `slide`: each row is in size/slide of them.
    Sliding,
    /// A window per burst of activity per group, closed by `gap` without rows.
    Session,
    /// No window: one running row per group.
    Global,
}

/// When rows are emitted.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EmitMode {
    /// Each window once, final, when the watermark reaches its end.
    Append,
    /// At every checkpoint, the windows (or groups) that changed since the last one.
    Update,
    /// `global` only: at every checkpoint, every group.
    Complete,
}

/// Options of `window`. The event time and delay are the node's (`event_time`,
/// `watermark_delay`), set on it or inherited from upstream.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowOptions {
    /// "tumbling", "sliding", "session" or "global".
    pub kind: Kind,
    /// tumbling and sliding: the window's length, e.g. "1 minute".
    pub size: Option<HumanDuration>,
    /// sliding: how far apart windows start.
    pub slide: Option<HumanDuration>,
    /// session: how long without rows closes a session.
    pub gap: Option<HumanDuration>,
    /// The columns rows are grouped by, besides the window.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Output column → aggregate, e.g. { total = "sum(value)", events = "count(*)" }.
    pub aggregates: BTreeMap<String, String>,
    /// "append" (default for windows), "update" or, for global, "complete" (its default).
    pub emit: Option<EmitMode>,
}

/// One group's open windows.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Group {
    slots: Vec<Slot>,
}

pub struct Window {
    shape: Shape,
    emit: EmitMode,
    event_time: Option<String>,
    group_by: Vec<String>,
    keys: RowCodec,
    aggregates: Vec<Aggregate>,
    output: SchemaRef,
    watermark: Option<i64>,
    groups: KeyedState<Vec<u8>, Group>,
    /// update and complete: the groups changed since the last emission.
    changed: HashSet<Vec<u8>>,
}

fn micros(option: &str, d: Option<HumanDuration>) -> Result<i64> {
    let d = d.ok_or_else(|| Error::msg(format!("{option}: required for this kind")))?;
    match i64::try_from(d.0.as_micros()) {
        Ok(0) | Err(_) => Err(Error::msg(format!(
            "{option}: must be more than 0 and less than 292,000 years"
        ))),
        Ok(us) => Ok(us),
    }
}

fn shape(o: &WindowOptions) -> Result<Shape> {
    Ok(match o.kind {
        Kind::Tumbling => {
            let size = micros("size", o.size)?;
            Shape::Fixed { size, slide: size }
        }
        Kind::Sliding => {
            let (size, slide) = (micros("size", o.size)?, micros("slide", o.slide)?);
            if slide > size {
                return Err(Error::msg("slide: must not be longer than size"));
            }
            Shape::Fixed { size, slide }
        }
        Kind::Session => Shape::Session {
            gap: micros("gap", o.gap)?,
        },
        Kind::Global => Shape::Global,
    })
}

impl Component for Window {
    const NAME: &'static str = "window";
    const DESCRIPTION: &'static str =
        "Tumbling, sliding and session windows, or running totals, aggregated per group.";
    type Options = WindowOptions;

    fn create(o: WindowOptions, ctx: &Context) -> Result<Self> {
        let shape = shape(&o)?;
        let global = o.kind == Kind::Global;
        let emit = o.emit.unwrap_or(if global {
            EmitMode::Complete
        } else {
            EmitMode::Append
        });
        match (global, emit) {
            (true, EmitMode::Append) => {
                return Err(Error::msg(
                    "emit: a global aggregation never closes; use \"update\" or \"complete\"",
                ))
            }
            (false, EmitMode::Complete) => {
                return Err(Error::msg(
                    "emit: \"complete\" is for kind = \"global\"; use \"append\" or \"update\"",
                ))
            }
            _ => {}
        }
        if o.aggregates.is_empty() {
            return Err(Error::msg(
                "aggregates: name at least one, e.g. { events = \"count(*)\" }",
            ));
        }
        let input = ctx.require_input_schema()?;
        ctx.check_columns("group_by", o.group_by.iter().map(String::as_str))?;
        let event_time = match (global, ctx.event_time.clone()) {
            (true, _) => None,
            (false, Some(column)) => Some(column),
            (false, None) => {
                return Err(Error::msg(
                    "needs an event time: set event_time and watermark_delay on it or upstream",
                ))
            }
        };
        let aggregates = (o.aggregates.iter())
            .map(|(name, spec)| Aggregate::parse(name, spec, &input))
            .collect::<Result<Vec<_>>>()?;
        let key_fields: Vec<Field> = (o.group_by.iter())
            .map(|c| input.field_with_name(c).cloned())
            .collect::<std::result::Result<_, _>>()?;
        let mut fields = Vec::new();
        if !global {
            let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
            fields.push(Field::new("window_start", ts.clone(), false));
            fields.push(Field::new("window_end", ts, false));
        }
        fields.extend(key_fields.iter().cloned());
        fields.extend(aggregates.iter().map(Aggregate::field));
        Ok(Self {
            shape,
            emit,
            event_time,
            keys: RowCodec::new(key_fields.iter().map(|f| f.data_type().clone()).collect())?,
            group_by: o.group_by,
            aggregates,
            output: Arc::new(Schema::new(fields)),
            watermark: None,
            groups: KeyedState::open(&ctx.state_config(), "groups")?,
            changed: HashSet::new(),
        })
    }

    fn output_schema(&self, _port: &str) -> Option<SchemaRef> {
        Some(self.output.clone())
    }
}

/// Output rows to be: the keys of their groups, sorted, and `(window start, the key's
/// rank, window)` for each row.
type Found = (Vec<Vec<u8>>, Vec<(i64, usize, Slot)>);

impl Window {
    /// Adds row `i` (event time `time`) of group `key` to its windows that are still
    /// open, `open` being a scratch buffer; a row all of whose windows have closed
    /// changes nothing and is marked in `late`.
    fn add(
        &mut self,
        key: &[u8],
        (i, time): (usize, i64),
        inputs: &[Input],
        open: &mut Vec<(i64, i64)>,
        late: &mut [bool],
    ) -> Result<()> {
        let watermark = self.watermark.unwrap_or(i64::MIN);
        open.clear();
        self.shape.windows(time, |start, end| {
            if end > watermark {
                open.push((start, end));
            }
        });
        if open.is_empty() {
            late[i] = true;
            return Ok(());
        }
        let Self {
            groups,
            aggregates,
            shape,
            ..
        } = self;
        // In place: an insert would measure the group's whole encoding.
        let group = groups.get_or_insert_with(key, || (key.to_vec(), Group::default()));
        for &window in open.iter() {
            let empty = || aggregates.iter().map(Aggregate::empty).collect();
            let merge = |into: &mut Accs, from: Accs| {
                for ((a, acc), other) in aggregates.iter().zip(into.iter_mut()).zip(from) {
                    a.merge(acc, other)?;
                }
                Ok(())
            };
            let slot = slot_for(&mut group.slots, *shape, window, empty, merge)?;
            let accs = &mut group.slots[slot].accs;
            for ((a, acc), input) in aggregates.iter().zip(accs.iter_mut()).zip(inputs) {
                a.update(acc, input, i, time)?;
            }
        }
        if self.emit != EmitMode::Append && !self.changed.contains(key) {
            self.changed.insert(key.to_vec());
        }
        Ok(())
    }

    /// The output rows for `found`: `(start, key's rank in keys, slot)`, which it sorts
    /// into window then key order (`keys` being sorted).
    fn rows(&self, keys: &[Vec<u8>], found: Vec<(i64, usize, Slot)>) -> Result<RecordBatch> {
        // Sorts references, not the slots themselves.
        let mut order: Vec<(i64, usize, &Slot)> = (found.iter())
            .map(|(start, rank, slot)| (*start, *rank, slot))
            .collect();
        order.sort_unstable_by_key(|&(start, rank, _)| (start, rank));
        let found = order;
        let mut columns: Vec<ArrayRef> = Vec::new();
        if !matches!(self.shape, Shape::Global) {
            let starts = found.iter().map(|(_, _, s)| s.start);
            let ends = found.iter().map(|(_, _, s)| s.end);
            columns.push(Arc::new(
                TimestampMicrosecondArray::from_iter_values(starts).with_timezone("UTC"),
            ));
            columns.push(Arc::new(
                TimestampMicrosecondArray::from_iter_values(ends).with_timezone("UTC"),
            ));
        }
        if !self.group_by.is_empty() {
            let rows = found.iter().map(|&(_, rank, _)| keys[rank].as_slice());
            columns.extend(self.keys.decode(rows)?);
        }
        for (n, a) in self.aggregates.iter().enumerate() {
            columns.push(a.finish(found.iter().map(|&(_, _, s)| &s.accs[n]))?);
        }
        Ok(RecordBatch::try_new(self.output.clone(), columns)?)
    }

    /// Takes the windows the watermark has closed out of the state: the keys of their
    /// groups, sorted, and the windows with their key's rank.
    fn closed(&mut self, watermark: i64) -> Found {
        let mut keys: Vec<Vec<u8>> = (self.groups.iter())
            .filter(|(_, g)| g.slots.first().is_some_and(|s| s.end <= watermark))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort_unstable();
        let mut closed = Vec::new();
        for (rank, key) in keys.iter().enumerate() {
            let Some(group) = self.groups.get_mut(key) else {
                continue;
            };
            // Slots are sorted by start and never overlap, so by end too: the closed
            // ones come first.
            let done = group.slots.partition_point(|s| s.end <= watermark);
            closed.extend(group.slots.drain(..done).map(|s| (s.start, rank, s)));
            if group.slots.is_empty() {
                self.groups.remove(key);
            }
        }
        (keys, closed)
    }

    /// update and complete: the current rows of the changed groups (for complete, every
    /// group once any changed: like Spark, a trigger without new rows prints nothing),
    /// as [`closed`](Self::closed) gives them.
    fn current(&mut self) -> Found {
        let changed = std::mem::take(&mut self.changed);
        if changed.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let all = self.emit == EmitMode::Complete;
        let mut keys: Vec<Vec<u8>> = (self.groups.iter())
            .filter(|(k, _)| all || changed.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort_unstable();
        let mut rows = Vec::new();
        for (rank, key) in keys.iter().enumerate() {
            if let Some(group) = self.groups.get(key) {
                rows.extend(group.slots.iter().map(|s| (s.start, rank, s.clone())));
            }
        }
        (keys, rows)
    }
}

impl Transform for Window {
    fn restore(&mut self, restored: &Restored<'_>) -> Result<()> {
        self.watermark = restored.input_watermark;
        self.groups.restore(restored.state)
    }

    fn process(&mut self, _input: &str, batch: RecordBatch, out: &mut Output<'_>) -> Result<()> {
        let times = match &self.event_time {
            Some(column) => Some(event_micros(&batch, column)?),
            None => None,
        };
        let keys = self
            .keys
            .encode(&rows::columns(&batch, "group_by", &self.group_by)?)?;
        let inputs = (self.aggregates.iter())
            .map(|a| a.input(&batch))
            .collect::<Result<Vec<_>>>()?;
        // Row by row, in arrival order (first and last break ties by it): one lookup of
        // the group's state per row.
        let mut late = vec![false; batch.num_rows()];
        let mut open = Vec::new();
        for i in 0..batch.num_rows() {
            let time = match &times {
                None => 0,
                Some(t) if t.is_valid(i) => t.value(i),
                Some(_) => {
                    let column = self.event_time.as_deref().unwrap_or_default();
                    reject_null_time(out, &batch, i, column, format!("row {i} of a batch"))?;
                    continue;
                }
            };
            self.add(keys.row(i), (i, time), &inputs, &mut open, &mut late)?;
        }
        out.late(filter_record_batch(&batch, &BooleanArray::from(late))?)
    }

    /// append: emits the windows the watermark closed; update: the changed windows,
    /// then forgets the closed ones.
    fn on_watermark(&mut self, watermark: i64, out: &mut Output<'_>) -> Result<()> {
        self.watermark = Some(watermark);
        if self.emit == EmitMode::Update {
            let (keys, current) = self.current();
            out.emit(self.rows(&keys, current)?)?;
        }
        if !matches!(self.shape, Shape::Global) {
            let (keys, closed) = self.closed(watermark);
            if self.emit == EmitMode::Append {
                out.emit(self.rows(&keys, closed)?)?;
            }
        }
        out.watermark(watermark);
        Ok(())
    }

    fn on_barrier(&mut self, _epoch: u64, out: &mut Output<'_>) -> Result<()> {
        if self.emit != EmitMode::Append {
            let (keys, current) = self.current();
            out.emit(self.rows(&keys, current)?)?;
        }
        Ok(())
    }

    fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        self.groups.checkpoint(epoch)
    }

    fn commit(&mut self, epoch: u64) -> Result<()> {
        self.groups.commit(epoch)
    }

    fn state_size(&self) -> StateSize {
        self.groups.size()
    }
}

export_plugin! {
    sources: [],
    transforms: [Window],
    sinks: [],
}

#[cfg(test)]
mod tests;
