//! The dead-letter rows a node sends on its `dead_letter` port: one per rejected record,
//! for the sinks reading that port or `$dead_letter` (every node's).

use std::sync::{Arc, OnceLock};

use arrow::array::{BinaryBuilder, RecordBatch, StringBuilder, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use ferry_plugin_api::sdk::Rejected;

/// `raw BINARY, reason STRING, node STRING, position STRING, timestamp TIMESTAMP`: `raw`
/// is the record's exact bytes, so a record that is not valid UTF-8 can be replayed.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("raw", DataType::Binary, false),
                Field::new("reason", DataType::Utf8, false),
                Field::new("node", DataType::Utf8, false),
                Field::new("position", DataType::Utf8, false),
                Field::new(
                    "timestamp",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    false,
                ),
            ]))
        })
        .clone()
}

/// One row per rejected record.
pub fn batch(node: &str, rejected: &[Rejected]) -> RecordBatch {
    let mut raw = BinaryBuilder::new();
    let mut reason = StringBuilder::new();
    let mut nodes = StringBuilder::new();
    let mut position = StringBuilder::new();
    for r in rejected {
        raw.append_value(&r.raw);
        reason.append_value(&r.reason);
        nodes.append_value(node);
        position.append_value(&r.position);
    }
    let now = now_micros();
    let timestamp = TimestampMicrosecondArray::from(vec![now; rejected.len()]).with_timezone("UTC");
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(raw.finish()),
            Arc::new(reason.finish()),
            Arc::new(nodes.finish()),
            Arc::new(position.finish()),
            Arc::new(timestamp),
        ],
    )
    .expect("columns match the dead-letter schema")
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}
