//! `kafka`: a source and a sink over librdkafka. The source's offsets are part of
//! ferry's checkpoints (exactly-once into ferry) and are committed to the consumer group
//! after each; the sink is idempotent, or transactional per epoch.

mod client;
mod event_time;
mod lookup;
mod offsets;
mod records;
mod sink;
mod source;

use ferry_plugin_api::export_plugin;

pub use offsets::StartingOffsets;
pub use records::Meta;
pub use sink::{KafkaSink, KafkaSinkOptions};
pub use source::{KafkaSource, KafkaSourceOptions, ValueFormat};

export_plugin! {
    sources: [KafkaSource],
    transforms: [],
    sinks: [KafkaSink],
}
