//! Where the source stands in each partition: the next offset to read, as ferry
//! checkpoints it (`{"topic": {"0": 42}}`), and where partitions start without one.

use std::collections::BTreeMap;

use ferry_plugin_api::sdk::{Error, Result};
use rdkafka::{Offset, TopicPartitionList};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::event_time::{Maxima, Partition};

/// Spark's codes in offset maps: the first offset still in the partition, and the end.
pub const EARLIEST: i64 = -2;
pub const LATEST: i64 = -1;

/// `starting_offsets`: "earliest", "latest" or `{ topic = { "0" = 42 } }` (-2 earliest,
/// -1 latest); partitions a map leaves out start at the earliest offset.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum StartingOffsets {
    Named(Named),
    Exact(BTreeMap<String, BTreeMap<String, i64>>),
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Named {
    Earliest,
    Latest,
}

impl Default for StartingOffsets {
    fn default() -> Self {
        Self::Named(Named::Latest)
    }
}

impl StartingOffsets {
    /// The starting offset or code of one partition.
    pub fn of(&self, topic: &str, partition: i32) -> i64 {
        match self {
            Self::Named(Named::Earliest) => EARLIEST,
            Self::Named(Named::Latest) => LATEST,
            Self::Exact(map) => map
                .get(topic)
                .and_then(|p| p.get(&partition.to_string()))
                .copied()
                .unwrap_or(EARLIEST),
        }
    }
}

/// The next offset to read per partition; `EARLIEST` where none was read yet from a
/// partition that starts at its beginning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Positions(BTreeMap<(String, i32), i64>);

impl Positions {
    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        self.0.get(&(topic.to_string(), partition)).copied()
    }

    pub fn set(&mut self, topic: &str, partition: i32, next: i64) {
        self.0.insert((topic.to_string(), partition), next);
    }

    /// Records a message read: the partition's next offset is the one after it.
    /// False for an offset before the position (already read), which is to be skipped.
    pub fn advance(&mut self, topic: &str, partition: i32, offset: i64) -> bool {
        match self.0.get_mut(&(topic.to_string(), partition)) {
            Some(next) if *next >= 0 && offset < *next => false,
            Some(next) => {
                *next = offset + 1;
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn partitions(&self) -> impl Iterator<Item = (String, i32)> + '_ {
        self.0.keys().cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every partition at its position, to assign the consumer.
    pub fn assignment(&self) -> Result<TopicPartitionList> {
        let mut list = TopicPartitionList::with_capacity(self.0.len());
        for ((topic, partition), &next) in &self.0 {
            let offset = match next {
                EARLIEST => Offset::Beginning,
                n => Offset::Offset(n),
            };
            list.add_partition_offset(topic, *partition, offset)?;
        }
        Ok(list)
    }

    /// The partitions with a known next offset, to commit to the consumer group.
    pub fn committable(&self) -> Result<TopicPartitionList> {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), &next) in self.0.iter().filter(|(_, &n)| n >= 0) {
            list.add_partition_offset(topic, *partition, Offset::Offset(next))?;
        }
        Ok(list)
    }

    /// `{"topic": {"0": 42}}`: Spark's offsets JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&by_topic(&self.0)).expect("offsets serialize")
    }
}

/// What the source checkpoints. Without event time, Spark's offsets JSON
/// (`{"topic": {"0": 42}}`); with it, `{"offsets": {..}, "max_event_time": {"topic":
/// {"0": µs}}}`, each partition's maximum event time. Both shapes are read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceState {
    pub positions: Positions,
    pub max_event_time: Option<Maxima>,
}

impl SourceState {
    pub fn to_json(&self) -> Vec<u8> {
        let Some(maxima) = &self.max_event_time else {
            return self.positions.to_json();
        };
        let state = Stored::WithTimes {
            offsets: by_topic(&self.positions.0),
            max_event_time: by_topic(maxima),
        };
        serde_json::to_vec(&state).expect("a checkpoint serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let stored: Stored = serde_json::from_slice(bytes)
            .map_err(|e| Error::msg(format!("a Kafka source checkpoint is unreadable: {e}")))?;
        Ok(match stored {
            Stored::Offsets(offsets) => Self {
                positions: Positions(by_partition(offsets)?),
                max_event_time: None,
            },
            Stored::WithTimes {
                offsets,
                max_event_time,
            } => Self {
                positions: Positions(by_partition(offsets)?),
                max_event_time: Some(by_partition(max_event_time)?),
            },
        })
    }
}

/// `{"topic": {"0": n}}`, the shape of every per-partition map in a checkpoint.
type ByTopic = BTreeMap<String, BTreeMap<String, i64>>;

/// The checkpoint's two shapes. An offsets map can never read as `WithTimes`: its
/// "offsets" entry would be a topic, whose values are numbers, not maps.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Stored {
    WithTimes {
        offsets: ByTopic,
        max_event_time: ByTopic,
    },
    Offsets(ByTopic),
}

fn by_topic(map: &BTreeMap<Partition, i64>) -> ByTopic {
    let mut out = ByTopic::new();
    for ((topic, partition), &n) in map {
        out.entry(topic.clone())
            .or_default()
            .insert(partition.to_string(), n);
    }
    out
}

fn by_partition(map: ByTopic) -> Result<BTreeMap<Partition, i64>> {
    let mut out = BTreeMap::new();
    for (topic, partitions) in map {
        for (partition, n) in partitions {
            let partition = partition.parse().map_err(|_| {
                Error::msg(format!(
                    "a Kafka source checkpoint has partition '{partition}'"
                ))
            })?;
            out.insert((topic.clone(), partition), n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_as_spark_style_json() {
        let mut p = Positions::default();
        p.set("a", 0, 42);
        p.set("a", 1, EARLIEST);
        p.set("b", 0, 7);
        let json = p.to_json();
        assert_eq!(
            String::from_utf8(json.clone()).unwrap(),
            r#"{"a":{"0":42,"1":-2},"b":{"0":7}}"#
        );
        let state = SourceState::from_json(&json).unwrap();
        assert_eq!(state.positions, p);
        assert_eq!(state.max_event_time, None);
        assert_eq!(p.committable().unwrap().count(), 2);
    }

    #[test]
    fn with_event_time_the_checkpoint_keeps_each_partitions_maximum() {
        let mut positions = Positions::default();
        positions.set("a", 0, 42);
        positions.set("a", 1, EARLIEST);
        let state = SourceState {
            positions,
            max_event_time: Some(Maxima::from([(
                ("a".to_string(), 0),
                1_700_000_000_000_000,
            )])),
        };
        let json = state.to_json();
        assert_eq!(
            String::from_utf8(json.clone()).unwrap(),
            r#"{"offsets":{"a":{"0":42,"1":-2}},"max_event_time":{"a":{"0":1700000000000000}}}"#
        );
        assert_eq!(SourceState::from_json(&json).unwrap(), state);
    }

    #[test]
    fn an_offsets_checkpoint_with_a_topic_named_offsets_stays_offsets() {
        let old = br#"{"offsets":{"0":5},"max_event_time":{"0":6}}"#;
        let state = SourceState::from_json(old).unwrap();
        assert_eq!(state.positions.get("offsets", 0), Some(5));
        assert_eq!(state.positions.get("max_event_time", 0), Some(6));
        assert_eq!(state.max_event_time, None);
        assert!(SourceState::from_json(b"[1]").is_err());
    }

    #[test]
    fn advance_skips_what_was_read_and_accepts_gaps() {
        let mut p = Positions::default();
        p.set("a", 0, 10);
        assert!(!p.advance("a", 0, 9));
        assert!(p.advance("a", 0, 12));
        assert_eq!(p.get("a", 0), Some(13));
        p.set("a", 1, EARLIEST);
        assert!(p.advance("a", 1, 5));
        assert_eq!(p.get("a", 1), Some(6));
        assert!(!p.advance("zz", 0, 1));
    }

    #[test]
    fn starting_offsets_parse_from_names_and_maps() {
        let named: StartingOffsets = serde_json::from_str(r#""earliest""#).unwrap();
        assert_eq!(named.of("t", 3), EARLIEST);
        let exact: StartingOffsets = serde_json::from_str(r#"{"t": {"0": 42, "1": -1}}"#).unwrap();
        assert_eq!(exact.of("t", 0), 42);
        assert_eq!(exact.of("t", 1), LATEST);
        assert_eq!(exact.of("t", 2), EARLIEST);
        assert!(serde_json::from_str::<StartingOffsets>(r#""middle""#).is_err());
    }
}
