//! The source's watermark from event time per partition, as Flink's and Spark's Kafka
//! sources do it: each partition's maximum event time, and the minimum over the
//! partitions minus the delay, so a partition running behind does not make its own rows
//! late. It never goes back.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_plugin_api::arrow::array::Array;
use ferry_plugin_api::arrow::datatypes::{DataType, Schema};
use ferry_plugin_api::sdk::event_time::event_micros;
use ferry_plugin_api::sdk::Result;
use rdkafka::message::Message;

use crate::records::Built;

/// A topic and a partition number.
pub type Partition = (String, i32);

/// Whether two messages come from the same partition.
fn same_partition<M: Message>(a: &M, b: &M) -> bool {
    a.partition() == b.partition() && a.topic() == b.topic()
}

/// Each partition's maximum event time (µs since the epoch, UTC).
pub type Maxima = BTreeMap<Partition, i64>;

pub struct PartitionTimes {
    /// The event-time column.
    column: String,
    delay: i64,
    maxima: Maxima,
    /// The last watermark handed out: a lower one is never set.
    set: Option<i64>,
}

impl PartitionTimes {
    /// Tracks `column` if the rows have it as a TIMESTAMP; `None` otherwise (the host then
    /// stamps the watermark from the rows, or reports the column's type).
    pub fn new(schema: &Schema, column: &str, delay: Duration) -> Option<Self> {
        let (_, field) = schema.column_with_name(column)?;
        matches!(field.data_type(), DataType::Timestamp(..)).then(|| Self {
            column: column.to_string(),
            delay: i64::try_from(delay.as_micros()).unwrap_or(i64::MAX),
            maxima: Maxima::new(),
            set: None,
        })
    }

    /// Takes in the event times of `built`'s rows, each for its message's partition.
    pub fn observe<M: Message>(&mut self, built: &Built, messages: &[M]) -> Result<()> {
        let times = event_micros(&built.batch, &self.column)?;
        // Rows come in runs from one partition: note each run's maximum once, so a
        // partition's key is built per run, not per row.
        let mut run: Option<(&M, i64)> = None;
        for (row, &message) in built.rows.iter().enumerate() {
            if !times.is_valid(row) {
                continue;
            }
            let (m, t) = (&messages[message], times.value(row));
            run = match run {
                Some((r, max)) if same_partition(r, m) => Some((r, max.max(t))),
                Some((r, max)) => {
                    self.note(r.topic(), r.partition(), max);
                    Some((m, t))
                }
                None => Some((m, t)),
            };
        }
        if let Some((r, max)) = run {
            self.note(r.topic(), r.partition(), max);
        }
        Ok(())
    }

    /// Raises a partition's maximum to `micros` if it is later.
    pub fn note(&mut self, topic: &str, partition: i32, micros: i64) {
        let key = (topic.to_string(), partition);
        let max = self.maxima.entry(key).or_insert(micros);
        *max = (*max).max(micros);
    }

    /// The watermark to set now, if it moved: the minimum of the partitions' maxima minus
    /// the delay. Partitions without rows yet are left out, except those in `waiting`
    /// (they have messages to be read), which hold it back until their first row. The
    /// source declares that it supplies watermarks, so meanwhile the host stamps none.
    pub fn advance<'a>(&mut self, mut waiting: impl Iterator<Item = &'a Partition>) -> Option<i64> {
        if waiting.any(|p| !self.maxima.contains_key(p)) {
            return None;
        }
        let min = self.maxima.values().min()?;
        let watermark = min.saturating_sub(self.delay);
        if self.set.is_some_and(|set| set >= watermark) {
            return None;
        }
        self.set = Some(watermark);
        Some(watermark)
    }

    pub fn maxima(&self) -> &Maxima {
        &self.maxima
    }

    /// Continues from a checkpoint: its maxima, and the watermark sent then as the floor.
    pub fn restore(&mut self, maxima: Maxima, watermark: Option<i64>) {
        self.maxima = maxima;
        self.set = watermark;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferry_plugin_api::arrow::array::{RecordBatch, TimestampMicrosecondArray};
    use ferry_plugin_api::arrow::datatypes::{Field, TimeUnit};
    use rdkafka::message::OwnedMessage;
    use rdkafka::Timestamp;

    use super::*;

    const SECOND: i64 = 1_000_000;

    fn times(delay_s: u64) -> PartitionTimes {
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let schema = Schema::new(vec![Field::new("ts", ts, true)]);
        PartitionTimes::new(&schema, "ts", Duration::from_secs(delay_s)).unwrap()
    }

    fn p(topic: &str, partition: i32) -> Partition {
        (topic.to_string(), partition)
    }

    #[test]
    fn the_watermark_is_the_slowest_partition_minus_the_delay() {
        let mut t = times(10);
        t.note("a", 0, 1000 * SECOND);
        t.note("a", 1, 100 * SECOND);
        assert_eq!(t.advance([].iter()), Some(90 * SECOND));
        // The fast partition moving on changes nothing.
        t.note("a", 0, 2000 * SECOND);
        assert_eq!(t.advance([].iter()), None);
        // The slow one does.
        t.note("a", 1, 150 * SECOND);
        assert_eq!(t.advance([].iter()), Some(140 * SECOND));
        // An older row does not lower a maximum.
        t.note("a", 1, 120 * SECOND);
        assert_eq!(t.maxima()[&p("a", 1)], 150 * SECOND);
        assert_eq!(t.advance([].iter()), None);
    }

    #[test]
    fn partitions_without_rows_hold_it_only_while_they_have_data_to_read() {
        let mut t = times(0);
        t.note("a", 0, 500 * SECOND);
        let behind = [p("a", 1)];
        // Held at "none yet" rather than left to the host, which would use a/0's rows.
        assert_eq!(t.advance(behind.iter()), None);
        // Caught up without a row (empty, or every message rejected): no longer waited for.
        assert_eq!(t.advance([].iter()), Some(500 * SECOND));
        // A waiting partition that has rows counts by its maximum like any other.
        t.note("a", 1, 600 * SECOND);
        t.note("a", 0, 700 * SECOND);
        assert_eq!(t.advance(behind.iter()), Some(600 * SECOND));
    }

    #[test]
    fn it_never_goes_back_when_a_partition_behind_it_appears() {
        let mut t = times(0);
        t.note("a", 0, 500 * SECOND);
        assert_eq!(t.advance([].iter()), Some(500 * SECOND));
        t.note("b", 0, 100 * SECOND);
        assert_eq!(t.advance([].iter()), None);
        t.note("b", 0, 800 * SECOND);
        t.note("a", 0, 900 * SECOND);
        assert_eq!(t.advance([].iter()), Some(800 * SECOND));
    }

    #[test]
    fn a_restored_floor_is_not_undercut() {
        let mut t = times(0);
        t.restore(
            Maxima::from([(p("a", 0), 300 * SECOND)]),
            Some(400 * SECOND),
        );
        assert_eq!(t.advance([].iter()), None);
        t.note("a", 0, 450 * SECOND);
        assert_eq!(t.advance([].iter()), Some(450 * SECOND));
    }

    #[test]
    fn rows_count_for_their_own_message_partition_and_nulls_are_skipped() {
        let message = |partition| {
            OwnedMessage::new(
                None,
                None,
                "t".into(),
                Timestamp::NotAvailable,
                partition,
                0,
                None,
            )
        };
        let messages = [message(0), message(1)];
        let ts = TimestampMicrosecondArray::from(vec![Some(7 * SECOND), None, Some(3 * SECOND)])
            .with_timezone("UTC");
        let schema = Arc::new(Schema::new(vec![Field::new(
            "ts",
            ts.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(ts)]).unwrap();
        let built = Built {
            batch,
            rows: vec![0, 1, 1],
        };
        let mut t = times(1);
        t.observe(&built, &messages).unwrap();
        assert_eq!(
            t.maxima(),
            &Maxima::from([(p("t", 0), 7 * SECOND), (p("t", 1), 3 * SECOND)])
        );
        assert_eq!(t.advance([].iter()), Some(2 * SECOND));
    }

    #[test]
    fn only_a_timestamp_column_is_tracked() {
        let schema = Schema::new(vec![Field::new("n", DataType::Int64, true)]);
        assert!(PartitionTimes::new(&schema, "n", Duration::ZERO).is_none());
        assert!(PartitionTimes::new(&schema, "missing", Duration::ZERO).is_none());
    }
}
