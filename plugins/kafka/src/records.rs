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
use rdkafka::message::{Headers, Message};
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

/// How much of an over-long value the dead-letter row keeps.
const KEPT_PREFIX: usize = 1024;

/// Turns polled messages into one batch.
pub struct Records {
    decoder: Decoder,
    /// The value's columns (decoded formats) followed by the metadata columns.
    schema: SchemaRef,
    meta: Vec<Meta>,
    /// Longer values are rejected before decoding.
    max_record_bytes: usize,
}

/// A batch built from messages, with the index of the message each row came from (a
/// JSON array gives several rows of one message; rejected messages give none).
pub struct Built {
    pub batch: RecordBatch,
    pub rows: Vec<usize>,
}

impl Records {
    /// `value_schema` is `None` for raw. `meta` is deduplicated and put in a fixed order.
    pub fn new(
        decoder: Decoder,
        value_schema: Option<SchemaRef>,
        mut meta: Vec<Meta>,
        max_record_bytes: usize,
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
            max_record_bytes,
        })
    }

    /// The rows' schema: the value's columns, then the metadata ones.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Builds the rows of `messages`; rejects values over `max_record_bytes`, tombstones
    /// where a value is decoded, and values that do not decode. `None` without rows.
    pub fn build<M: Message>(
        &mut self,
        messages: &[M],
        out: &mut Output<'_>,
    ) -> Result<Option<Built>> {
        let (admitted, mut refused) = self.admit(messages);
        let (mut columns, rows): (Vec<ArrayRef>, Vec<usize>) = match &mut self.decoder {
            _ if admitted.is_empty() => (Vec::new(), Vec::new()),
            Decoder::Raw => (Vec::new(), admitted),
            Decoder::Json(d) => decoded(messages, &admitted, |r| d.decode(r), &mut refused)?,
            Decoder::Csv(d) => decoded(messages, &admitted, |r| d.decode(r), &mut refused)?,
        };
        reject_in_order(messages, refused, out)?;
        if rows.is_empty() {
            return Ok(None);
        }
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
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        Ok(Some(Built { batch, rows }))
    }

    /// The indices of the messages to decode, and those rejected here (so an over-long
    /// value never reaches a decoder).
    fn admit<M: Message>(&self, messages: &[M]) -> (Vec<usize>, Vec<Refused>) {
        let decodes = !matches!(self.decoder, Decoder::Raw);
        let mut admitted = Vec::with_capacity(messages.len());
        let mut refused = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            match m.payload() {
                Some(value) if value.len() > self.max_record_bytes => {
                    let kept = value.len().min(KEPT_PREFIX).min(self.max_record_bytes);
                    refused.push((i, value[..kept].to_vec(), self.too_long(value.len())));
                }
                None if decodes => refused.push((i, Vec::new(), TOMBSTONE.to_string())),
                _ => admitted.push(i),
            }
        }
        (admitted, refused)
    }

    fn too_long(&self, len: usize) -> String {
        format!(
            "value of {len} bytes is longer than max_record_bytes ({} bytes)",
            self.max_record_bytes
        )
    }
}

/// A message rejected: its index, the bytes kept for the dead-letter row, the reason.
type Refused = (usize, Vec<u8>, String);

const TOMBSTONE: &str = "the value is null (a tombstone)";

/// Rejects in the messages' order, so that under `errors.tolerance = "none"` the task
/// fails at the first bad message and dead-letter rows follow the partition's order.
fn reject_in_order<M: Message>(
    messages: &[M],
    mut refused: Vec<Refused>,
    out: &mut Output<'_>,
) -> Result<()> {
    refused.sort_by_key(|(i, _, _)| *i);
    for (i, raw, reason) in refused {
        out.reject(raw, reason, position(&messages[i]))?;
    }
    Ok(())
}

/// Where a message came from, as dead-letter positions name it.
pub fn position<M: Message>(m: &M) -> String {
    format!("{}/{}@{}", m.topic(), m.partition(), m.offset())
}

/// Decodes the `admitted` messages' values (none of them null); returns the value
/// columns and each row's message index, and adds the values that do not decode to
/// `refused`.
fn decoded<M: Message>(
    messages: &[M],
    admitted: &[usize],
    decode: impl FnOnce(
        &[&[u8]],
    ) -> std::result::Result<
        ferry_plugin_api::sdk::decode::Decoded,
        ferry_plugin_api::arrow::error::ArrowError,
    >,
    refused: &mut Vec<Refused>,
) -> Result<(Vec<ArrayRef>, Vec<usize>)> {
    let records: Vec<&[u8]> = admitted
        .iter()
        .map(|&i| messages[i].payload().unwrap_or_default())
        .collect();
    let decoded = decode(&records)?;
    for r in decoded.rejected {
        refused.push((admitted[r.index], r.raw, r.reason));
    }
    let rows = decoded.row_sources.iter().map(|&r| admitted[r]).collect();
    Ok((decoded.batch.columns().to_vec(), rows))
}

fn values<M: Message>(messages: &[M], rows: &[usize]) -> ArrayRef {
    let bytes: usize = rows
        .iter()
        .map(|&i| messages[i].payload().map_or(0, <[u8]>::len))
        .sum();
    let mut b = BinaryBuilder::with_capacity(rows.len(), bytes);
    for &i in rows {
        b.append_option(messages[i].payload());
    }
    Arc::new(b.finish())
}

fn metadata<M: Message>(meta: Meta, messages: &[M], rows: &[usize]) -> ArrayRef {
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

fn headers<'a, M: Message + 'a>(messages: impl Iterator<Item = &'a M>) -> ArrayRef {
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

#[cfg(test)]
mod tests {
    use ferry_plugin_api::arrow::array::{Array, AsArray};
    use ferry_plugin_api::arrow::datatypes::Int64Type;
    use ferry_plugin_api::sdk::ddl::parse_ddl;
    use ferry_plugin_api::sdk::Collected;
    use rdkafka::message::OwnedMessage;
    use rdkafka::Timestamp;

    use super::*;

    fn message(partition: i32, offset: i64, value: Option<&str>) -> OwnedMessage {
        OwnedMessage::new(
            value.map(|v| v.as_bytes().to_vec()),
            None,
            "t".into(),
            Timestamp::CreateTime(1_000),
            partition,
            offset,
            None,
        )
    }

    fn json(max: usize) -> Records {
        let schema = Arc::new(parse_ddl("id BIGINT").unwrap());
        let decoder = Decoder::Json(Box::new(JsonDecoder::new(schema.clone())));
        Records::new(decoder, Some(schema), vec![Meta::Offset], max).unwrap()
    }

    #[test]
    fn values_over_max_record_bytes_are_rejected_before_decoding_in_offset_order() {
        let long = format!("{{\"id\": 2, \"pad\": \"{}\"}}", "x".repeat(2000));
        let messages = [
            message(0, 0, Some(r#"{"id": 1}"#)),
            message(0, 1, Some("nope")),
            // Not JSON either: it must be rejected for its size, never reach the decoder.
            message(0, 2, Some(&"{".repeat(25))),
            message(0, 3, Some(&long)),
            message(0, 4, None),
            message(0, 5, Some(r#"[{"id": 4}, {"id": 5}]"#)),
        ];
        let mut c = Collected::default();
        let built = json(24).build(&messages, &mut c.output()).unwrap().unwrap();
        let ids = built.batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(ids.values().to_vec(), [1, 4, 5]);
        assert_eq!(built.rows, [0, 5, 5]);
        let positions: Vec<&str> = c.rejected.iter().map(|r| r.position.as_str()).collect();
        assert_eq!(positions, ["t/0@1", "t/0@2", "t/0@3", "t/0@4"]);
        assert_eq!(c.rejected[0].raw, b"nope");
        let reasons: Vec<&str> = c.rejected[1..].iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "value of 25 bytes is longer than max_record_bytes (24 bytes)",
                "value of 2020 bytes is longer than max_record_bytes (24 bytes)",
                "the value is null (a tombstone)",
            ]
        );
        assert_eq!(c.rejected[1].raw, "{".repeat(24).as_bytes());
        assert_eq!(c.rejected[2].raw, &long.as_bytes()[..24]);
        assert!(c.rejected[3].raw.is_empty());
    }

    #[test]
    fn raw_values_keep_tombstones_and_reject_only_long_values() {
        let messages = [
            message(0, 0, Some("short")),
            message(0, 1, None),
            message(0, 2, Some("much too long")),
        ];
        let mut records = Records::new(Decoder::Raw, None, vec![Meta::Offset], 5).unwrap();
        let mut c = Collected::default();
        let built = records.build(&messages, &mut c.output()).unwrap().unwrap();
        let values = built.batch.column(0).as_binary::<i32>();
        assert_eq!(values.value(0), b"short");
        assert!(values.is_null(1));
        assert_eq!(built.batch.num_rows(), 2);
        assert_eq!(built.rows, [0, 1]);
        assert_eq!(c.rejected.len(), 1);
        assert_eq!(
            c.rejected[0].reason,
            "value of 13 bytes is longer than max_record_bytes (5 bytes)"
        );
        assert_eq!(c.rejected[0].raw, b"much ");
    }
}
