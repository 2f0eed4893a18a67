//! Where the source stands in each partition: the next offset to read, as ferry
//! checkpoints it (`{"topic": {"0": 42}}`), and where partitions start without one.

use std::collections::BTreeMap;

use ferry_plugin_api::sdk::{Error, Result};
use rdkafka::{Offset, TopicPartitionList};
use schemars::JsonSchema;
use serde::Deserialize;

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

    pub fn contains(&self, topic: &str, partition: i32) -> bool {
        self.0.contains_key(&(topic.to_string(), partition))
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

    /// `{"topic": {"0": 42}}`, what ferry stores in its checkpoint.
    pub fn to_json(&self) -> Vec<u8> {
        let mut map: BTreeMap<&str, BTreeMap<String, i64>> = BTreeMap::new();
        for ((topic, partition), &next) in &self.0 {
            map.entry(topic)
                .or_default()
                .insert(partition.to_string(), next);
        }
        serde_json::to_vec(&map).expect("offsets serialize")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let map: Checkpoint = serde_json::from_slice(bytes)
            .map_err(|e| Error::msg(format!("a Kafka source checkpoint is unreadable: {e}")))?;
        let mut positions = Self::default();
        for (topic, partitions) in map {
            for (partition, next) in partitions {
                let partition = partition.parse().map_err(|_| {
                    Error::msg(format!(
                        "a Kafka source checkpoint has partition '{partition}'"
                    ))
                })?;
                positions.set(&topic, partition, next);
            }
        }
        Ok(positions)
    }
}

type Checkpoint = BTreeMap<String, BTreeMap<String, i64>>;

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
        assert_eq!(Positions::from_json(&json).unwrap(), p);
        assert_eq!(p.committable().unwrap().count(), 2);
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
