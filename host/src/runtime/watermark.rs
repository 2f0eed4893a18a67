//! Event time: the watermark of a stream with `event_time = "<column>"` is the largest
//! event time seen in it, less `watermark_delay` (Spark's `withWatermark`).

use std::time::Duration;

use anyhow::{anyhow, Result};
use arrow::array::RecordBatch;
use arrow::compute::kernels::aggregate::max;
use ferry_plugin_api::sdk::event_time::event_micros;

pub struct WatermarkGenerator {
    column: String,
    delay: i64,
    max_event: Option<i64>,
}

impl WatermarkGenerator {
    pub fn new(column: &str, delay: Duration, restored: Option<i64>) -> Self {
        let mut generator = Self {
            column: column.to_string(),
            delay: delay.as_micros() as i64,
            max_event: None,
        };
        generator.restore(restored);
        generator
    }

    /// Continues from a checkpointed watermark.
    pub fn restore(&mut self, watermark: Option<i64>) {
        self.max_event = watermark.map(|w| w.saturating_add(self.delay));
    }

    pub fn current(&self) -> Option<i64> {
        self.max_event.map(|m| m.saturating_sub(self.delay))
    }

    /// Takes in a batch's event times.
    pub fn observe(&mut self, batch: &RecordBatch) -> Result<()> {
        if let Some(batch_max) = self.batch_max(batch)? {
            self.max_event = Some(self.max_event.map_or(batch_max, |m| m.max(batch_max)));
        }
        Ok(())
    }

    fn batch_max(&self, batch: &RecordBatch) -> Result<Option<i64>> {
        let micros = event_micros(batch, &self.column).map_err(|e| anyhow!("{e}"))?;
        Ok(max(&micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, TimestampMillisecondArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch(millis: Vec<i64>) -> RecordBatch {
        let col = TimestampMillisecondArray::from(millis);
        let schema = Schema::new(vec![Field::new("ts", col.data_type().clone(), true)]);
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(col)]).unwrap()
    }

    #[test]
    fn watermark_is_max_event_time_less_delay_and_never_goes_back() {
        let mut g = WatermarkGenerator::new("ts", Duration::from_secs(1), None);
        g.observe(&batch(vec![5_000, 3_000])).unwrap();
        assert_eq!(g.current(), Some(4_000_000));
        g.observe(&batch(vec![4_000])).unwrap();
        assert_eq!(g.current(), Some(4_000_000));
    }

    #[test]
    fn missing_column_is_named() {
        let mut g = WatermarkGenerator::new("when", Duration::ZERO, None);
        let err = g.observe(&batch(vec![1])).unwrap_err().to_string();
        assert!(err.contains("'when'") && err.contains("ts"), "{err}");
    }
}
