//! The `kafka` source: a librdkafka consumer with manually assigned partitions, whose
//! positions are part of ferry's checkpoint and are committed to the consumer group
//! once that checkpoint is durable.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::log::{info, warn};
use ferry_plugin_api::sdk::ddl::DdlSchema;
use ferry_plugin_api::sdk::decode::{
    spark_delimiter, CsvDecoder, CsvOptions, DateTimeFormats, JsonDecoder, JsonOptions,
};
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::size::ByteSize;
use ferry_plugin_api::sdk::{
    Component, Context, Error, ErrorContext, Output, Restored, Result, Source, SourceStatus,
    MAIN_PORT,
};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, TopicPartitionList};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client;
use crate::event_time::{Partition, PartitionTimes};
use crate::lookup::{Answer, Asker, Lookup, Request, Start, Topics};
use crate::offsets::{Positions, SourceState, StartingOffsets, EARLIEST};
use crate::records::{Decoder, Meta, Records};

/// How message values are read.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ValueFormat {
    /// The value's bytes as `value BINARY`, with Spark's metadata columns.
    #[default]
    Raw,
    /// A JSON object per message, or an array of objects (a row each), into `schema`.
    Json,
    /// A CSV line per message (no header) into `schema`'s columns, in order.
    Csv,
}

/// Options of the `kafka` source.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceOptions {
    /// "host:port[,host:port...]" of the cluster.
    pub bootstrap_servers: String,
    /// The topics to read (or use `topic_pattern`).
    pub topics: Option<Vec<String>>,
    /// A regular expression (librdkafka's syntax, anchored with ^...$ by this source):
    /// every matching topic is read, including topics created later.
    pub topic_pattern: Option<String>,
    /// The consumer group offsets are committed to after each checkpoint (default
    /// "ferry-<pipeline>-<node>"). Positions come from ferry's checkpoint, not the group.
    pub group_id: Option<String>,
    /// Where a run without a checkpoint starts: "earliest", "latest" (default) or
    /// { topic = { "0" = 42 } } (-2 earliest, -1 latest; partitions left out: earliest).
    pub starting_offsets: Option<StartingOffsets>,
    /// Instead of starting_offsets: start each partition at its first message with a
    /// timestamp at or after this one (milliseconds since the Unix epoch).
    pub starting_timestamp: Option<i64>,
    /// At most this many messages per poll (the pipeline's batch_size also applies).
    pub max_offsets_per_trigger: Option<NonZeroUsize>,
    /// "raw", "json" or "csv".
    #[serde(default)]
    pub format: ValueFormat,
    /// json and csv: the Spark DDL schema values decode into.
    pub schema: Option<DdlSchema>,
    /// json: Spark's JSON syntax options for the values, as its `from_json` takes them:
    /// { allowComments = true, allowSingleQuotes = false, … } (see the README).
    #[serde(default)]
    pub json: JsonOptions,
    /// Metadata columns added after the value's: any of "key", "topic", "partition",
    /// "offset", "timestamp", "headers". Default: all for raw, none for json and csv.
    pub include: Option<Vec<Meta>>,
    /// The longest message value read, e.g. "64 KiB" (default 1 MiB): a longer one is
    /// rejected to the dead-letter output with its size, never decoded.
    #[serde(default = "one_mebibyte")]
    pub max_record_bytes: ByteSize,
    /// csv: what separates fields, any text (Spark's `sep`). Values are read by Spark's
    /// CSV rules with its defaults: `\` escapes a quote inside quotes, an empty field is
    /// null, `NaN`/`Inf`/`-Inf` in FLOAT and DOUBLE columns.
    #[serde(default = "comma", alias = "sep")]
    pub delimiter: String,
    /// How often topics are looked up for partitions (and pattern topics) added during
    /// the run; new ones are read from their earliest offset.
    #[serde(default = "ten_seconds")]
    pub discovery_interval: HumanDuration,
    /// How long the cluster may take to answer at start (a restart from a checkpoint
    /// too) before the task fails; also the bound on each lookup during the run, which
    /// runs off the poll path.
    #[serde(default = "thirty_seconds")]
    pub connect_timeout: HumanDuration,
    /// librdkafka consumer settings passed through as they are, e.g.
    /// { "fetch.max.bytes" = "52428800" }. They override ferry's.
    #[serde(default)]
    pub kafka: BTreeMap<String, serde_json::Value>,
}

fn comma() -> String {
    ",".into()
}

fn one_mebibyte() -> ByteSize {
    ByteSize::mib(1)
}

fn ten_seconds() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

fn thirty_seconds() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

pub struct KafkaSource {
    /// Shared with the lookup thread, which asks the cluster through it.
    consumer: Arc<BaseConsumer<client::Context>>,
    bootstrap_servers: String,
    records: Records,
    max_per_poll: usize,
    discovery_interval: Duration,
    positions: Positions,
    /// What the lookup thread is started with at the first poll.
    asker: Option<Asker>,
    lookup: Option<Lookup>,
    /// Whether a round of questions is in flight, and when the next one is due.
    asking: bool,
    next_discovery: Instant,
    /// Whether the start's round was answered.
    started: bool,
    /// Positions checkpointed per epoch, committed to the group at its commit.
    pending: BTreeMap<u64, TopicPartitionList>,
    /// When a transient consumer error was last logged, to keep the log readable.
    last_warning: Option<Instant>,
    /// Partitions not yet read up to the end they had when assigned, with that end
    /// (`UNKNOWN_END` until the cluster said): until they are, an empty poll is not idle
    /// (what `trigger = "available_now"` reads), and one without rows yet holds the
    /// watermark back.
    behind: BTreeMap<Partition, i64>,
    /// With `event_time`: each partition's maximum, which the watermark comes from.
    times: Option<PartitionTimes>,
}

/// The end of a partition whose end the cluster has not told yet.
const UNKNOWN_END: i64 = i64::MAX;

impl Component for KafkaSource {
    const NAME: &'static str = "kafka";
    const DESCRIPTION: &'static str =
        "Reads Kafka topics; offsets live in ferry's checkpoint and are committed to the group.";
    type Options = KafkaSourceOptions;

    fn create(o: KafkaSourceOptions, ctx: &Context) -> Result<Self> {
        let topics = match (o.topics, &o.topic_pattern) {
            (Some(list), None) if !list.is_empty() => Topics::Listed(list),
            (None, Some(pattern)) => Topics::Pattern(
                regex_lite::Regex::new(&format!("^(?:{pattern})$"))
                    .with_context(|| format!("topic_pattern '{pattern}'"))?,
            ),
            _ => {
                return Err(Error::msg(
                    "give either topics (a non-empty list) or topic_pattern",
                ))
            }
        };
        let start = match (o.starting_offsets, o.starting_timestamp) {
            (Some(_), Some(_)) => {
                return Err(Error::msg(
                    "give starting_offsets or starting_timestamp, not both",
                ))
            }
            (_, Some(ms)) => Start::Timestamp(ms),
            (offsets, None) => Start::Offsets(offsets.unwrap_or_default()),
        };
        let schema = o.schema.map(|s| s.0);
        let needs_schema =
            || Error::msg(format!("format \"{:?}\" needs a schema", o.format).to_lowercase());
        let decoder = match o.format {
            ValueFormat::Raw if schema.is_some() => {
                return Err(Error::msg(
                    "format \"raw\" takes no schema; use json or csv",
                ))
            }
            ValueFormat::Raw => Decoder::Raw,
            ValueFormat::Json => Decoder::Json(Box::new(JsonDecoder::with_options(
                schema.clone().ok_or_else(needs_schema)?,
                &DateTimeFormats::default(),
                o.json,
            ))),
            ValueFormat::Csv => {
                let options = CsvOptions {
                    delimiter: spark_delimiter(&o.delimiter).map_err(Error::msg)?,
                    ..CsvOptions::default()
                };
                let schema = schema.clone().ok_or_else(needs_schema)?;
                let decoder =
                    CsvDecoder::with_options(schema, &options, &DateTimeFormats::default());
                Decoder::Csv(Box::new(decoder.map_err(Error::msg)?))
            }
        };
        let include = o.include.unwrap_or_else(|| match o.format {
            ValueFormat::Raw => Meta::ALL.to_vec(),
            _ => Vec::new(),
        });
        let max_record_bytes = usize::try_from(o.max_record_bytes.0).unwrap_or(usize::MAX);
        let records = Records::new(decoder, schema, include, max_record_bytes)?;
        let times = ctx
            .event_time
            .as_deref()
            .and_then(|column| PartitionTimes::new(records.schema(), column, ctx.watermark_delay));
        let group_id = o
            .group_id
            .unwrap_or_else(|| format!("ferry-{}-{}", ctx.pipeline, ctx.node));
        let consumer: BaseConsumer<client::Context> = client::config(
            &o.bootstrap_servers,
            &[
                ("group.id", group_id.as_str()),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "false"),
                // A position that is no longer in the partition (retention deleted it) is
                // an error, never a silent jump.
                ("auto.offset.reset", "error"),
            ],
            &o.kafka,
        )
        .create_with_context(client::Context::default())
        .context("creating the Kafka consumer")?;
        let consumer = Arc::new(consumer);
        Ok(Self {
            bootstrap_servers: o.bootstrap_servers.clone(),
            asker: Some(Asker {
                consumer: consumer.clone(),
                bootstrap_servers: o.bootstrap_servers,
                topics,
                start,
                timeout: o.connect_timeout.0,
            }),
            consumer,
            records,
            max_per_poll: o
                .max_offsets_per_trigger
                .map_or(usize::MAX, NonZeroUsize::get),
            discovery_interval: o.discovery_interval.0,
            positions: Positions::default(),
            lookup: None,
            asking: false,
            next_discovery: Instant::now(),
            started: false,
            pending: BTreeMap::new(),
            last_warning: None,
            behind: BTreeMap::new(),
            times,
        })
    }

    /// Known at creation (the decoded columns, then the `include`d ones), so operators
    /// downstream that need their input's schema (window, dedup) can be checked.
    fn output_schema(&self, port: &str) -> Option<SchemaRef> {
        Some(self.records.schema().clone()).filter(|_| port == MAIN_PORT)
    }
}

impl KafkaSource {
    /// Starts the lookup thread at the first poll (restored partitions are read at
    /// once), takes its answer when one came, and asks again when discovery is due.
    /// Waits up to `wait` only while there is nothing to read before the start's answer,
    /// and says whether it did.
    fn look_up(&mut self, wait: Duration) -> Result<bool> {
        if let Some(asker) = self.asker.take() {
            let first = self.positions.is_empty();
            if !first {
                // Discovery assigns only partitions it adds; the restored ones start here.
                self.consumer
                    .assign(&self.positions.assignment()?)
                    .context("assigning partitions")?;
                for partition in self.positions.partitions() {
                    self.behind.insert(partition, UNKNOWN_END);
                }
            }
            let lookup = Lookup::spawn(asker)?;
            lookup.ask(self.request(first));
            self.lookup = Some(lookup);
            self.asking = true;
        }
        let Some(lookup) = &self.lookup else {
            return Ok(false);
        };
        let waits = !self.started && self.positions.is_empty();
        let answer = if waits {
            lookup.wait(wait)
        } else {
            lookup.answer()
        };
        if let Some(answer) = answer {
            self.asking = false;
            self.next_discovery = Instant::now() + self.discovery_interval;
            self.apply(answer)?;
        }
        if !self.asking && Instant::now() >= self.next_discovery {
            let request = self.request(false);
            if let Some(lookup) = &self.lookup {
                lookup.ask(request);
                self.asking = true;
            }
        }
        Ok(waits)
    }

    fn request(&self, first: bool) -> Request {
        Request {
            known: self.positions.partitions().collect(),
            first,
            ends_of: self
                .behind
                .iter()
                .filter(|(_, &end)| end == UNKNOWN_END)
                .map(|(p, _)| p.clone())
                .collect(),
        }
    }

    /// Takes in what the cluster said: ends noted, new partitions assigned. A failed
    /// start fails the task; a later failure is a warning, and asked again later.
    fn apply(&mut self, answer: Result<Answer>) -> Result<()> {
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) if self.started => {
                self.warn_rarely(format!(
                    "{e:#}; asking again in {:?}",
                    self.discovery_interval
                ));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if !self.started {
            self.started = true;
            let servers = &self.bootstrap_servers;
            info!(
                "connected to Kafka at {servers} ({} brokers)",
                answer.brokers
            );
            for missing in &answer.missing {
                warn!("topic '{missing}' does not exist yet; it is read once it does");
            }
        }
        for (partition, end) in answer.ends {
            match end {
                Some(end) => self.behind.insert(partition, end),
                None => self.behind.remove(&partition),
            };
        }
        if answer.added.is_empty() {
            return Ok(());
        }
        for ((topic, partition), start) in &answer.added {
            self.positions.set(topic, *partition, *start);
        }
        info!(
            "reading {} partitions: {}",
            answer.added.len(),
            answer
                .added
                .iter()
                .map(|((t, p), _)| format!("{t}/{p} from {}", describe(self.positions.get(t, *p))))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.consumer
            .assign(&self.positions.assignment()?)
            .context("assigning partitions")
    }

    /// Whether some partition is still short of the end it had when assigned.
    fn catching_up(&mut self) -> bool {
        let positions = &self.positions;
        self.behind.retain(|(topic, partition), end| {
            positions
                .get(topic, *partition)
                .is_none_or(|next| next < *end)
        });
        !self.behind.is_empty()
    }

    /// Sets the watermark if the slowest partition moved it.
    fn watermark(&mut self, out: &mut Output<'_>) {
        if let Some(times) = &mut self.times {
            if let Some(w) = times.advance(self.behind.keys()) {
                out.watermark(w);
            }
        }
    }

    /// A consumer error: connection trouble is retried by librdkafka and only logged;
    /// a lost position is fatal.
    fn consumer_error(&mut self, e: KafkaError) -> Result<()> {
        let code = e.rdkafka_error_code();
        if matches!(
            code,
            Some(RDKafkaErrorCode::OffsetOutOfRange | RDKafkaErrorCode::AutoOffsetReset)
        ) {
            return Err(Error::msg(format!(
                "{e}: a position in ferry's checkpoint is no longer in the topic (deleted by \
                 retention?); set kafka = {{ \"auto.offset.reset\" = \"earliest\" }} to accept the loss"
            )));
        }
        self.warn_rarely(format!("consuming: {e}; librdkafka retries"));
        Ok(())
    }

    /// Logs at most one warning every 10 s, to keep an outage's log readable.
    fn warn_rarely(&mut self, message: String) {
        if self
            .last_warning
            .is_none_or(|t| t.elapsed() > Duration::from_secs(10))
        {
            warn!("{message}");
            self.last_warning = Some(Instant::now());
        }
    }
}

fn describe(offset: Option<i64>) -> String {
    match offset {
        Some(EARLIEST) => "the earliest offset".into(),
        Some(n) => format!("offset {n}"),
        None => "?".into(),
    }
}

impl Source for KafkaSource {
    /// With `event_time`, the watermark is the slowest partition's, not the rows' maximum.
    fn supplies_watermarks(&self) -> bool {
        self.times.is_some()
    }

    fn restore(&mut self, restored: &Restored<'_>) -> Result<()> {
        let state = SourceState::from_json(restored.state)?;
        self.positions = state.positions;
        if let Some(times) = &mut self.times {
            let maxima = state.max_event_time.unwrap_or_default();
            times.restore(maxima, restored.output_watermark);
        }
        info!(
            "resuming {} partitions from the checkpoint",
            self.positions.len()
        );
        Ok(())
    }

    fn poll(
        &mut self,
        max_rows: usize,
        timeout: Duration,
        out: &mut Output<'_>,
    ) -> Result<SourceStatus> {
        let waited = self.look_up(timeout)?;
        let limit = max_rows.min(self.max_per_poll);
        let Self {
            consumer,
            positions,
            records,
            ..
        } = self;
        let mut messages: Vec<BorrowedMessage<'_>> = Vec::new();
        let mut error = None;
        let mut wait = if waited { Duration::ZERO } else { timeout };
        while messages.len() < limit {
            match consumer.poll(wait) {
                None => break,
                Some(Ok(m)) => {
                    if positions.advance(m.topic(), m.partition(), m.offset()) {
                        messages.push(m);
                    }
                }
                Some(Err(e)) => {
                    error = Some(e);
                    break;
                }
            }
            wait = Duration::ZERO;
        }
        let got = !messages.is_empty();
        if let Some(built) = records.build(&messages, out)? {
            if let Some(times) = &mut self.times {
                times.observe(&built, &messages)?;
            }
            out.emit(built.batch)?;
        }
        drop(messages);
        let catching_up = self.catching_up();
        self.watermark(out);
        let status = if got || catching_up || !self.started {
            SourceStatus::Ready
        } else {
            SourceStatus::Idle
        };
        if let Some(e) = error {
            self.consumer_error(e)?;
        }
        Ok(status)
    }

    fn checkpoint(&mut self, epoch: u64) -> Result<Vec<u8>> {
        self.pending.insert(epoch, self.positions.committable()?);
        let state = SourceState {
            positions: self.positions.clone(),
            max_event_time: self.times.as_ref().map(|t| t.maxima().clone()),
        };
        Ok(state.to_json())
    }

    /// Commits the epoch's positions to the consumer group, for lag tools. Asynchronous:
    /// ferry's checkpoint, already durable, is what a restart resumes from.
    fn commit(&mut self, epoch: u64) -> Result<()> {
        let Some(offsets) = self.pending.remove(&epoch) else {
            return Ok(());
        };
        self.pending.retain(|&e, _| e > epoch);
        if offsets.count() > 0 {
            if let Err(e) = self.consumer.commit(&offsets, CommitMode::Async) {
                warn!("committing offsets to the consumer group: {e}");
            }
        }
        Ok(())
    }
}

impl Drop for KafkaSource {
    /// Unassigns first: dropping a consumer with fetches in flight can hang librdkafka.
    fn drop(&mut self) {
        let _ = self.consumer.unassign();
    }
}

#[cfg(test)]
mod tests {
    use ferry_plugin_api::sdk::parse_options;

    use super::*;

    #[test]
    fn max_record_bytes_defaults_to_one_mebibyte_and_takes_sizes() {
        let parse = |json: &str| parse_options::<KafkaSourceOptions>(json).unwrap();
        let base = r#""bootstrap_servers": "k:9092", "topics": ["t"]"#;
        assert_eq!(
            parse(&format!("{{{base}}}")).max_record_bytes,
            ByteSize(1 << 20)
        );
        let sized = parse(&format!(r#"{{{base}, "max_record_bytes": "64 KiB"}}"#));
        assert_eq!(sized.max_record_bytes, ByteSize(64 << 10));
        let plain = parse(&format!(r#"{{{base}, "max_record_bytes": 100}}"#));
        assert_eq!(plain.max_record_bytes, ByteSize(100));
    }

    #[test]
    fn json_options_take_spark_names_and_defaults() {
        let parse = |json: &str| parse_options::<KafkaSourceOptions>(json).unwrap();
        let base = r#""bootstrap_servers": "k:9092", "topics": ["t"]"#;
        assert_eq!(parse(&format!("{{{base}}}")).json, JsonOptions::default());
        let set = parse(&format!(
            r#"{{{base}, "json": {{"allowComments": true, "allow_single_quotes": false,
                "allowNumericLeadingZeros": true, "allowNonNumericNumbers": false}}}}"#
        ));
        assert_eq!(
            set.json,
            JsonOptions {
                allow_comments: true,
                allow_single_quotes: false,
                allow_numeric_leading_zeros: true,
                allow_non_numeric_numbers: false,
                ..JsonOptions::default()
            }
        );
        let typo = format!(r#"{{{base}, "json": {{"allowComents": true}}}}"#);
        let err = parse_options::<KafkaSourceOptions>(&typo).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `allowComents`"),
            "{err}"
        );
    }

    #[test]
    fn the_output_schema_is_the_decoded_then_the_included_columns() {
        let options = r#"{"bootstrap_servers": "127.0.0.1:1", "topics": ["t"], "format": "json",
            "schema": "n INT, ts TIMESTAMP", "include": ["partition", "offset"]}"#;
        // Creating connects to nothing and writes no state.
        let ctx = Context::new("p", "k", std::path::Path::new("unused"));
        let source = KafkaSource::create(parse_options(options).unwrap(), &ctx).unwrap();
        let schema = source.output_schema(MAIN_PORT).unwrap();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["n", "ts", "partition", "offset"]);
        assert!(source.output_schema("late").is_none());
    }
}
