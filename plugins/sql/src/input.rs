//! The stream's rows as DataFusion's table `input`: a streaming table whose one
//! partition yields the batch being processed, so a plan made once runs on every batch.

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;

/// The batch the next execution reads.
#[derive(Debug, Default)]
pub struct Slot(Mutex<Option<RecordBatch>>);

impl Slot {
    pub fn put(&self, batch: RecordBatch) {
        *self.0.lock().expect("not poisoned") = Some(batch);
    }

    fn take(&self) -> Option<RecordBatch> {
        self.0.lock().expect("not poisoned").take()
    }
}

#[derive(Debug)]
struct CurrentBatch {
    schema: SchemaRef,
    slot: Arc<Slot>,
}

impl PartitionStream for CurrentBatch {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let batch = self.slot.take().into_iter().map(Ok);
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::iter(batch),
        ))
    }
}

/// The table `input` reading from `slot`. Unbounded, so the planner keeps the stream on
/// the probe side of joins (a lookup table is the side hashed, once).
pub fn table(schema: SchemaRef, slot: Arc<Slot>) -> Result<StreamingTable> {
    let partition = Arc::new(CurrentBatch {
        schema: schema.clone(),
        slot,
    });
    Ok(StreamingTable::try_new(schema, vec![partition])?.with_infinite_table(true))
}
