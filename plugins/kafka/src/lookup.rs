//! Questions to the cluster (which partitions the topics have, where a new partition
//! starts, where each one ends) asked on a thread of the source's own, so that `poll`
//! never waits for the cluster: while a broker is down, polls still return within their
//! timeout, barriers pass and checkpoints keep their interval.

use std::collections::BTreeSet;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferry_plugin_api::log::debug;
use ferry_plugin_api::sdk::{Error, ErrorContext, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::client;
use crate::event_time::Partition;
use crate::offsets::{StartingOffsets, EARLIEST, LATEST};

/// Which topics are read.
pub enum Topics {
    Listed(Vec<String>),
    Pattern(regex_lite::Regex),
}

impl Topics {
    fn matches(&self, topic: &str) -> bool {
        match self {
            Topics::Listed(list) => list.iter().any(|t| t == topic),
            Topics::Pattern(re) => re.is_match(topic),
        }
    }
}

/// Where partitions without a checkpointed position start.
pub enum Start {
    Offsets(StartingOffsets),
    Timestamp(i64),
}

/// One round of questions.
pub struct Request {
    /// The partitions already read: only others are added.
    pub known: BTreeSet<Partition>,
    /// Without a checkpoint, at start: new partitions begin where the options say;
    /// otherwise at their earliest offset.
    pub first: bool,
    /// Known partitions whose end is still to be found.
    pub ends_of: Vec<Partition>,
}

/// What the cluster said.
#[derive(Debug, Default)]
pub struct Answer {
    /// New partitions and the offset each starts at (`EARLIEST`, or an offset).
    pub added: Vec<(Partition, i64)>,
    /// Ends (high watermarks) of the partitions asked about and the added ones; `None`
    /// for an empty partition.
    pub ends: Vec<(Partition, Option<i64>)>,
    /// Listed topics the cluster does not have (yet).
    pub missing: Vec<String>,
    /// How many brokers the cluster has.
    pub brokers: usize,
}

/// The thread and the channels to it. Dropping it ends the thread after the question
/// in flight (each waits at most `timeout`); the thread is not joined, so dropping never
/// blocks on a cluster that does not answer.
pub struct Lookup {
    requests: Sender<Request>,
    answers: Receiver<Result<Answer>>,
}

/// What the thread needs to answer.
pub struct Asker {
    pub consumer: Arc<BaseConsumer<client::Context>>,
    pub bootstrap_servers: String,
    pub topics: Topics,
    pub start: Start,
    /// Each question waits at most this; the first round must be answered within it.
    pub timeout: Duration,
}

impl Lookup {
    pub fn spawn(asker: Asker) -> Result<Self> {
        let (requests, inbox) = mpsc::channel::<Request>();
        let (outbox, answers) = mpsc::channel();
        thread::Builder::new()
            .name("kafka-lookup".into())
            .spawn(move || {
                // The first round is the start's: it has a deadline.
                let mut deadline = Some(Instant::now() + asker.timeout);
                for request in inbox {
                    let answer = asker.answer(&request, deadline.take());
                    if outbox.send(answer).is_err() {
                        break;
                    }
                }
            })
            .context("starting the Kafka lookup thread")?;
        Ok(Self { requests, answers })
    }

    pub fn ask(&self, request: Request) {
        // A send fails only if the thread ended, which it does only when dropped.
        let _ = self.requests.send(request);
    }

    /// The answer to the question in flight, if it came.
    pub fn answer(&self) -> Option<Result<Answer>> {
        match self.answers.try_recv() {
            Ok(answer) => Some(answer),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(Error::msg("the lookup thread ended"))),
        }
    }

    /// As `answer`, waiting up to `wait` for it.
    pub fn wait(&self, wait: Duration) -> Option<Result<Answer>> {
        match self.answers.recv_timeout(wait) {
            Ok(answer) => Some(answer),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Err(Error::msg("the lookup thread ended"))),
        }
    }
}

impl Asker {
    /// The start's round is retried until it is answered or its deadline passes; a
    /// later one is answered once, and asked again at the next discovery.
    fn answer(&self, request: &Request, deadline: Option<Instant>) -> Result<Answer> {
        loop {
            match self.try_answer(request) {
                Err(e) if deadline.is_some_and(|d| Instant::now() < d) => {
                    debug!("Kafka lookup failed, retrying: {e:#}");
                    thread::sleep(Duration::from_millis(200));
                }
                Err(e) if deadline.is_some() => {
                    return Err(Error::msg(format!(
                        "cannot reach Kafka at {} within {}s: {e:#}",
                        self.bootstrap_servers,
                        self.timeout.as_secs_f64()
                    )))
                }
                answer => return answer,
            }
        }
    }

    fn try_answer(&self, request: &Request) -> Result<Answer> {
        let metadata = self
            .consumer
            .fetch_metadata(None, self.timeout)
            .context("looking up the topics' partitions")?;
        let mut answer = Answer {
            brokers: metadata.brokers().len(),
            ..Answer::default()
        };
        let mut seen = BTreeSet::new();
        for topic in metadata.topics() {
            if !self.topics.matches(topic.name()) {
                continue;
            }
            seen.insert(topic.name().to_string());
            for p in topic.partitions() {
                let partition = (topic.name().to_string(), p.id());
                if !request.known.contains(&partition) {
                    let start = self.start_of(&partition, request.first)?;
                    answer.added.push((partition, start));
                }
            }
        }
        if let Topics::Listed(list) = &self.topics {
            answer.missing = list
                .iter()
                .filter(|t| !seen.contains(*t))
                .cloned()
                .collect();
        }
        let asked = request.ends_of.iter();
        for partition in asked.chain(answer.added.iter().map(|(p, _)| p)) {
            let end = self.end_of(partition)?;
            answer.ends.push((partition.clone(), end));
        }
        Ok(answer)
    }

    /// Where a new partition starts: an offset, or `EARLIEST`.
    fn start_of(&self, (topic, partition): &Partition, first: bool) -> Result<i64> {
        let start = match (&self.start, first) {
            (_, false) => EARLIEST,
            (Start::Offsets(o), true) => o.of(topic, *partition),
            (Start::Timestamp(ms), true) => self.offset_at(topic, *partition, *ms)?,
        };
        // "latest" is fixed now, so a checkpoint taken before any message arrived
        // still names it.
        match start {
            LATEST => Ok(self.watermarks(topic, *partition)?.1),
            other => Ok(other),
        }
    }

    /// The partition's end, `None` if it holds no message.
    fn end_of(&self, (topic, partition): &Partition) -> Result<Option<i64>> {
        let (low, high) = self.watermarks(topic, *partition)?;
        Ok((high > low).then_some(high))
    }

    fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        self.consumer
            .fetch_watermarks(topic, partition, self.timeout)
            .with_context(|| format!("finding the end of {topic}/{partition}"))
    }

    /// The first offset with a timestamp at or after `ms`, or the end if none.
    fn offset_at(&self, topic: &str, partition: i32, ms: i64) -> Result<i64> {
        let mut query = TopicPartitionList::new();
        query.add_partition_offset(topic, partition, Offset::Offset(ms))?;
        let found = self
            .consumer
            .offsets_for_times(query, self.timeout)
            .with_context(|| format!("finding offset by timestamp in {topic}/{partition}"))?;
        match found.find_partition(topic, partition).map(|e| e.offset()) {
            Some(Offset::Offset(n)) => Ok(n),
            _ => Ok(LATEST),
        }
    }
}
