//! Kafka messages to Arrow rows: the value decoded (raw bytes, JSON or CSV) plus the
//! metadata columns asked for; values that do not decode are rejected with their
//! `topic/partition@offset`.

use std::sync::Arc;

use ferry_plugin_api::arrow::array::{ArrayBuilder, StringBuilder};
use ferry_plugin_api::arrow::array::{
    ArrayRef, BinaryBuilder, Int32Array, Int64Array, ListBuilder, RecordBatch, StringArray,
    StructBuilder, TimestampMicrosecondArray,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use ferry_plugin_api::sdk::decode::{CsvDecoder, JsonDecoder};
use ferry_plugin_api::sdk::{Error, Output, Result};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use schemars::JsonSchema;
use serde::Deserialize;

/// A metadata column the source can add.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Meta {
    /// `key BINARY`.
    Key,
    /// `topic STRING`.
    Topic,
    /// `partition INT`.
    Partition,
    /// `offset BIGINT`.
    Offset,
    /// `timestamp TIMESTAMP`: the message's Kafka timestamp.
    Timestamp,
    /// `headers ARRAY<STRUCT<key: STRING, value: BINARY>>`, in the message's order.
    Headers,
}

impl Meta {
    pub const ALL: [Meta; 6] = [
        Meta::Key,
        Meta::Topic,
        Meta::Partition,
        Meta::Offset,
        Meta::Timestamp,
        Meta::Headers,
    ];

    fn name(self) -> &'static str {
        match self {
            Meta::Key => "key",
            Meta::Topic => "topic",
            Meta::Partition => "partition",
            Meta::Offset => "offset",
            Meta::Timestamp => "timestamp",
            Meta::Headers => "headers",
        }
    }

    fn field(self) -> Field {
        let (data_type, nullable) = match self {
            Meta::Key => (DataType::Binary, true),
            Meta::Topic => (DataType::Utf8, false),
            Meta::Partition => (DataType::Int32, false),
            Meta::Offset => (DataType::Int64, false),
            Meta::Timestamp => (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Meta::Headers => (
                DataType::List(Arc::new(Field::new("element", header_type(), false))),
                true,
            ),
        };
        Field::new(self.name(), data_type, nullable)
    }
}

fn header_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Binary, true),
    ])
}

fn header_type() -> DataType {
    DataType::Struct(header_fields())
}

/// How values are decoded.
pub enum Decoder {
    /// The value as `value BINARY`, placed after `key` like Spark's columns.
    Raw,
    Json(Box<JsonDecoder>),
    Csv(Box<CsvDecoder>),
}

/// Turns polled messages into one batch.
pub struct Records {
    decoder: Decoder,
    /// The value's columns (decoded formats) followed by the metadata columns.
    schema: SchemaRef,
    meta: Vec<Meta>,
}

impl Records {
    /// `value_schema` is `None` for raw. `meta` is deduplicated and put in a fixed order.
    pub fn new(
        decoder: Decoder,
        value_schema: Option<SchemaRef>,
        mut meta: Vec<Meta>,
    ) -> Result<Self> {
        meta.sort();
        meta.dedup();
        let mut fields: Vec<Field> = match &value_schema {
            Some(schema) => schema.fields().iter().map(|f| f.as_ref().clone()).collect(),
            None => Vec::new(),
        };
        for m in &meta {
            if fields.iter().any(|f| f.name() == m.name()) {
                return Err(Error::msg(format!(
                    "include \"{}\" clashes with the schema's column of that name",
                    m.name()
                )));
            }
            fields.push(m.field());
            if matches!(decoder, Decoder::Raw) && *m == Meta::Key {
                fields.push(Field::new("value", DataType::Binary, true));
            }
        }
        if matches!(decoder, Decoder::Raw) && !meta.contains(&Meta::Key) {
            fields.insert(0, Field::new("value", DataType::Binary, true));
        }
        Ok(Self {
            decoder,
            schema: Arc::new(Schema::new(fields)),
            meta,
        })
    }

    /// Emits the rows of `messages` and rejects the values that do not decode.
    pub fn build(&mut self, messages: &[BorrowedMessage<'_>], out: &mut Output<'_>) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let (mut columns, rows): (Vec<ArrayRef>, Vec<usize>) = match &mut self.decoder {
            Decoder::Raw => (Vec::new(), (0..messages.len()).collect()),
            Decoder::Json(d) => decoded(messages, |r| d.decode(r), out)?,
            Decoder::Csv(d) => decoded(messages, |r| d.decode(r), out)?,
        };
        let raw = matches!(self.decoder, Decoder::Raw);
        if raw && !self.meta.contains(&Meta::Key) {
            columns.push(values(messages, &rows));
        }
        for m in &self.meta {
            columns.push(metadata(*m, messages, &rows));
            if raw && *m == Meta::Key {
                columns.push(values(messages, &rows));
            }
        }
        out.emit(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// Where a message came from, as dead-letter positions name it.
pub fn position(m: &BorrowedMessage<'_>) -> String {
    format!("{}/{}@{}", m.topic(), m.partition(), m.offset())
}

/// Decodes the values; returns the value columns and each row's message index.
fn decoded(
    messages: &[BorrowedMessage<'_>],
    decode: impl FnOnce(
        &[&[u8]],
    ) -> std::result::Result<
        ferry_plugin_api::sdk::decode::Decoded,
        ferry_plugin_api::arrow::error::ArrowError,
    >,
    out: &mut Output<'_>,
) -> Result<(Vec<ArrayRef>, Vec<usize>)> {
    let mut records = Vec::with_capacity(messages.len());
    let mut sources = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        match m.payload() {
            Some(value) => {
                records.push(value);
                sources.push(i);
            }
            None => out.reject([], "the value is null (a tombstone)", position(m))?,
        }
    }
    let decoded = decode(&records)?;
    for r in decoded.rejected {
        out.reject(r.raw, r.reason, position(&messages[sources[r.index]]))?;
    }
    let rows = decoded.row_sources.iter().map(|&r| sources[r]).collect();
    Ok((decoded.batch.columns().to_vec(), rows))
}

fn values(messages: &[BorrowedMessage<'_>], rows: &[usize]) -> ArrayRef {
    let bytes: usize = rows.iter().map(|&i| messages[i].payload_len()).sum();
    let mut b = BinaryBuilder::with_capacity(rows.len(), bytes);
    for &i in rows {
        b.append_option(messages[i].payload());
    }
    Arc::new(b.finish())
}

fn metadata(meta: Meta, messages: &[BorrowedMessage<'_>], rows: &[usize]) -> ArrayRef {
    let each = || rows.iter().map(|&i| &messages[i]);
    match meta {
        Meta::Key => {
            let mut b = BinaryBuilder::with_capacity(rows.len(), 0);
            each().for_each(|m| b.append_option(m.key()));
            Arc::new(b.finish())
        }
        Meta::Topic => Arc::new(StringArray::from_iter_values(each().map(|m| m.topic()))),
        Meta::Partition => Arc::new(Int32Array::from_iter_values(each().map(|m| m.partition()))),
        Meta::Offset => Arc::new(Int64Array::from_iter_values(each().map(|m| m.offset()))),
        Meta::Timestamp => Arc::new(
            TimestampMicrosecondArray::from_iter(
                each().map(|m| m.timestamp().to_millis().map(|ms| ms * 1000)),
            )
            .with_timezone("UTC"),
        ),
        Meta::Headers => headers(each()),
    }
}

fn headers<'a>(messages: impl Iterator<Item = &'a BorrowedMessage<'a>>) -> ArrayRef {
    let entry = StructBuilder::new(
        header_fields(),
        vec![
            Box::new(StringBuilder::new()) as Box<dyn ArrayBuilder>,
            Box::new(BinaryBuilder::new()),
        ],
    );
    let mut list = ListBuilder::new(entry).with_field(Field::new("element", header_type(), false));
    for m in messages {
        let Some(headers) = m.headers() else {
            list.append(true);
            continue;
        };
        let entries = list.values();
        for h in headers.iter() {
            entries
                .field_builder::<StringBuilder>(0)
                .expect("key builder")
                .append_value(h.key);
            entries
                .field_builder::<BinaryBuilder>(1)
                .expect("value builder")
                .append_option(h.value);
            entries.append(true);
        }
        list.append(true);
    }
    Arc::new(list.finish())
}
