//! The `kafka` sink: each row one message, through an idempotent producer with acks=all.
//! Everything sent is acknowledged by the brokers before an epoch's checkpoint; any
//! delivery failure fails the task. With `exactly_once`, each epoch is one transaction.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_plugin_api::arrow::array::{make_array, Array, ArrayRef, AsArray, RecordBatch};
use ferry_plugin_api::arrow::compute::cast;
use ferry_plugin_api::arrow::datatypes::DataType;
use ferry_plugin_api::log::info;
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::encode::{Format, RowFormat};
use ferry_plugin_api::sdk::{Component, Context, Error, ErrorContext, Result, Sink};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::util::Timeout;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client::{self, check_reachable};

/// Options of the `kafka` sink.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkOptions {
    /// "host:port[,host:port...]" of the cluster.
    pub bootstrap_servers: String,
    /// The topic every row goes to (or use `topic_column`).
    pub topic: Option<String>,
    /// A STRING column naming each row's topic.
    pub topic_column: Option<String>,
    /// A column holding each row's message key: STRING or BINARY as it is, other types
    /// as their text (null: no key). It stays part of a json or csv value.
    pub key_column: Option<String>,
    /// An ARRAY<STRUCT<key: STRING, value: BINARY or STRING>> or MAP<STRING, STRING or
    /// BINARY> column holding each row's message headers.
    pub headers_column: Option<String>,
    /// How each row becomes the message value: "json" (the row's columns but
    /// topic_column and headers_column), "csv" (the same, as a line), or "raw" (the bytes
    /// of the `value` column; a null value sends a tombstone).
    #[serde(default)]
    pub format: Format,
    /// Write each epoch in one Kafka transaction (readers with
    /// isolation.level=read_committed see whole epochs only). Needs a broker with
    /// transactions.
    #[serde(default)]
    pub exactly_once: bool,
    /// exactly_once: the producer's transactional.id (default "ferry-<pipeline>-<node>").
    /// Keep it stable across restarts: that is how an unfinished transaction is aborted.
    pub transactional_id: Option<String>,
    /// How long to wait for the cluster to answer at start before failing.
    #[serde(default = "thirty_seconds")]
    pub connect_timeout: HumanDuration,
    /// librdkafka producer settings passed through as they are, e.g.
    /// { "compression.type" = "lz4", "linger.ms" = "20" }. They override ferry's.
    #[serde(default)]
    pub kafka: BTreeMap<String, serde_json::Value>,
}

fn thirty_seconds() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}

pub struct KafkaSink {
    producer: BaseProducer<client::Context>,
    bootstrap_servers: String,
    /// Set with exactly_once.
    transactional_id: Option<String>,
    connect_timeout: Duration,
    /// The cluster answered (and the transactional producer is ready): done on the first
    /// call, not in `create`, so that `ferry validate` needs no broker.
    started: bool,
    topic: Option<String>,
    topic_column: Option<String>,
    key_column: Option<String>,
    headers_column: Option<String>,
    format: RowFormat,
    exactly_once: bool,
    /// A transaction is open (exactly_once): it began with the epoch's first write.
    in_transaction: bool,
}

impl Component for KafkaSink {
    const NAME: &'static str = "kafka";
    const DESCRIPTION: &'static str =
        "Writes each row as a Kafka message: idempotent, acks=all, or one transaction per epoch.";
    type Options = KafkaSinkOptions;

    fn create(o: KafkaSinkOptions, ctx: &Context) -> Result<Self> {
        if o.topic.is_some() == o.topic_column.is_some() {
            return Err(Error::msg("give either topic or topic_column"));
        }
        let transactional_id = o
            .transactional_id
            .unwrap_or_else(|| format!("ferry-{}-{}", ctx.pipeline, ctx.node));
        let mut ours = vec![("enable.idempotence", "true"), ("acks", "all")];
        if o.exactly_once {
            ours.push(("transactional.id", transactional_id.as_str()));
        }
        let producer: BaseProducer<client::Context> =
            client::config(&o.bootstrap_servers, &ours, &o.kafka)
                .create_with_context(client::Context::default())
                .context("creating the Kafka producer")?;
        let format = o.format.rows("value");
        Ok(Self {
            producer,
            bootstrap_servers: o.bootstrap_servers,
            transactional_id: o.exactly_once.then_some(transactional_id),
            connect_timeout: o.connect_timeout.0,
            started: false,
            topic: o.topic,
            topic_column: o.topic_column,
            key_column: o.key_column,
            headers_column: o.headers_column,
            format,
            exactly_once: o.exactly_once,
            in_transaction: false,
        })
    }
}

impl KafkaSink {
    /// Checks the cluster answers and, with exactly_once, starts the transactional
    /// producer, which also aborts whatever a crashed run left open.
    fn start(&mut self) -> Result<()> {
        if self.started {
            return Ok(());
        }
        let timeout = self.connect_timeout;
        check_reachable(self.producer.client(), &self.bootstrap_servers, timeout)?;
        if let Some(id) = &self.transactional_id {
            self.producer.init_transactions(timeout).map_err(|e| {
                Error::msg(format!(
                    "exactly_once = true needs a Kafka cluster with transactions, and \
                     {} refused to start one for transactional.id '{id}': {e}",
                    self.bootstrap_servers
                ))
            })?;
            info!("transactional producer '{id}' ready: one transaction per epoch");
        }
        self.started = true;
        Ok(())
    }

    /// The batch without the columns that say where a row goes and its headers.
    fn value_columns(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let skip = [&self.topic_column, &self.headers_column];
        let keep: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| {
                let name = batch.schema_ref().field(i).name();
                !skip.iter().any(|s| s.as_deref() == Some(name.as_str()))
            })
            .collect();
        Ok(batch.project(&keep)?)
    }

    /// Fails on the first failed delivery reported so far.
    fn check_deliveries(&self) -> Result<()> {
        match self.producer.context().take_failure() {
            Some(failure) => Err(Error::msg(failure)),
            None => Ok(()),
        }
    }

    /// Sends one message, waiting while librdkafka's queue is full.
    fn send(&self, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<()> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    self.producer.poll(Duration::from_millis(100));
                    self.check_deliveries()?;
                }
                Err((e, r)) => {
                    return Err(Error::msg(format!("sending to topic '{}': {e}", r.topic)))
                }
            }
        }
    }
}

/// Column `name` of `batch`, or an error naming the option that asked for it.
fn column<'a>(batch: &'a RecordBatch, name: &str, option: &str) -> Result<&'a dyn Array> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| Error::msg(format!("{option} '{name}' is not a column of the input")))
}

/// STRING and BINARY arrays as they are, others cast to their text.
fn as_text(array: &dyn Array) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => {
            make_array(array.to_data())
        }
        _ => cast(array, &DataType::Utf8)?,
    })
}

/// A STRING or BINARY array as bytes per row.
fn bytes_of<'a>(array: &'a dyn Array, what: &str) -> Result<Vec<Option<&'a [u8]>>> {
    Ok(match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::as_bytes))
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(str::as_bytes))
            .collect(),
        DataType::Binary => array.as_binary::<i32>().iter().collect(),
        DataType::LargeBinary => array.as_binary::<i64>().iter().collect(),
        other => {
            return Err(Error::msg(format!(
                "{what} must be STRING or BINARY, not {other}"
            )))
        }
    })
}

/// The headers column (a list of key/value structs, or a map) as headers per row.
fn headers_of(array: &dyn Array, name: &str) -> Result<Vec<Option<OwnedHeaders>>> {
    let rows: Vec<Option<ArrayRef>> = match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().iter().collect(),
        DataType::Map(_, _) => {
            let map = array.as_map();
            (0..map.len())
                .map(|i| map.is_valid(i).then(|| Arc::new(map.value(i)) as ArrayRef))
                .collect()
        }
        other => {
            return Err(Error::msg(format!(
                "headers_column '{name}' must be ARRAY<STRUCT<key, value>> or a MAP, not {other}"
            )))
        }
    };
    rows.into_iter()
        .map(|row| {
            let Some(row) = row else { return Ok(None) };
            let entries = row.as_struct();
            if entries.num_columns() != 2 {
                return Err(Error::msg(format!(
                    "headers_column '{name}' entries need a key and a value"
                )));
            }
            let keys = bytes_of(entries.column(0).as_ref(), "a header key")?;
            let values = bytes_of(entries.column(1).as_ref(), "a header value")?;
            let mut headers = OwnedHeaders::new_with_capacity(keys.len());
            for (key, value) in keys.into_iter().zip(values) {
                let key = std::str::from_utf8(key.unwrap_or_default())
                    .map_err(|_| Error::msg("a header key is not UTF-8"))?;
                headers = headers.insert(Header { key, value });
            }
            Ok(Some(headers))
        })
        .collect()
}

impl Sink for KafkaSink {
    fn write(&mut self, _input: &str, batch: RecordBatch) -> Result<()> {
        self.start()?;
        self.check_deliveries()?;
        if self.exactly_once && !self.in_transaction {
            self.producer
                .begin_transaction()
                .context("beginning a transaction")?;
            self.in_transaction = true;
        }
        let values = self.value_columns(&batch)?;
        self.format.check(values.schema_ref()).map_err(Error::msg)?;
        let encoded = self.format.encode(&values)?;
        let topics = match &self.topic_column {
            Some(c) => bytes_of(column(&batch, c, "topic_column")?, "topic_column")?,
            None => Vec::new(),
        };
        let key_text = match &self.key_column {
            Some(c) => Some(as_text(column(&batch, c, "key_column")?)?),
            None => None,
        };
        let keys = match &key_text {
            Some(array) => bytes_of(array.as_ref(), "key_column")?,
            None => Vec::new(),
        };
        let mut headers = match &self.headers_column {
            Some(c) => headers_of(column(&batch, c, "headers_column")?, c)?,
            None => Vec::new(),
        };
        for row in 0..batch.num_rows() {
            let topic = match (&self.topic, topics.get(row)) {
                (Some(t), _) => t.as_str(),
                (None, Some(Some(t))) => {
                    std::str::from_utf8(t).map_err(|_| Error::msg("a topic name is not UTF-8"))?
                }
                (None, _) => {
                    return Err(Error::msg(format!(
                        "row {row} has no topic (topic_column is null)"
                    )))
                }
            };
            let mut record = BaseRecord::to(topic);
            if let Some(value) = encoded.get(row) {
                record = record.payload(value);
            }
            if let Some(Some(key)) = keys.get(row) {
                record = record.key(*key);
            }
            if let Some(h) = headers.get_mut(row).and_then(Option::take) {
                record = record.headers(h);
            }
            self.send(record)?;
        }
        self.producer.poll(Duration::ZERO);
        self.check_deliveries()
    }

    /// Waits until the brokers acknowledged every message written so far (or one failed),
    /// and with exactly_once commits the epoch's transaction.
    fn prepare(&mut self, epoch: u64) -> Result<Vec<u8>> {
        self.start()?;
        if self.in_transaction {
            self.producer
                .commit_transaction(Timeout::Never)
                .with_context(|| format!("committing the transaction of epoch {epoch}"))?;
            self.in_transaction = false;
        } else {
            self.producer
                .flush(Timeout::Never)
                .context("flushing to Kafka")?;
        }
        self.check_deliveries()?;
        Ok(Vec::new())
    }

    /// Called at start: connects, and a transactional producer's start aborts the
    /// transaction an earlier run left open. Nothing else is staged outside Kafka.
    fn abort(&mut self, _epoch: u64) -> Result<()> {
        self.start()
    }
}
