//! `messages`: events of a messaging platform, the bronze data of the messages
//! pipeline. Realistic dirt even at `corrupt_ratio = 0`: about 3% of `event_type`s are
//! `''` and 2% `NONE`, and 2% of `value`s are negative. A corrupt row has a null
//! `event_type`.

use ferry_plugin_api::arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field};

use super::{array, field, timestamp_builder, timestamp_type, Columns};
use crate::plan::Row;
use crate::rng::Rng;

const EVENT_TYPES: [(&str, u32); 7] = [
    ("OPEN", 25),
    ("RECEIVED", 25),
    ("SENT", 20),
    ("CREATED", 15),
    ("CLICKED", 10),
    ("", 3),
    ("NONE", 2),
];
const CHANNELS: [(&str, u32); 5] = [
    ("email", 35),
    ("push", 25),
    ("sms", 15),
    ("web", 15),
    ("in_app", 10),
];
const NEGATIVE_VALUE_RATIO: f64 = 0.02;

pub struct Messages {
    timestamp: TimestampMicrosecondBuilder,
    value: Int64Builder,
    event_type: StringBuilder,
    message_id: StringBuilder,
    channel: StringBuilder,
    country_id: Int32Builder,
    user_id: Int32Builder,
}

impl Columns for Messages {
    fn fields() -> Vec<Field> {
        vec![
            field("timestamp", timestamp_type()),
            field("value", DataType::Int64),
            field("event_type", DataType::Utf8),
            field("message_id", DataType::Utf8),
            field("channel", DataType::Utf8),
            field("country_id", DataType::Int32),
            field("user_id", DataType::Int32),
        ]
    }

    fn with_capacity(rows: usize) -> Self {
        Self {
            timestamp: timestamp_builder(rows),
            value: Int64Builder::with_capacity(rows),
            event_type: StringBuilder::with_capacity(rows, rows * 8),
            message_id: StringBuilder::with_capacity(rows, rows * 36),
            channel: StringBuilder::with_capacity(rows, rows * 6),
            country_id: Int32Builder::with_capacity(rows),
            user_id: Int32Builder::with_capacity(rows),
        }
    }

    fn append(&mut self, row: Row) {
        let mut rng = row.rng;
        self.timestamp.append_value(row.event_time);
        self.value
            .append_value(match rng.chance(NEGATIVE_VALUE_RATIO) {
                true => rng.between(-1_000, -1),
                false => rng.between(0, 10_000),
            });
        let event_type = rng.weighted(&EVENT_TYPES);
        self.event_type
            .append_option((!row.corrupt).then_some(event_type));
        self.message_id
            .append_value(uuid_v4(&mut rng, &mut [0; 36]));
        self.channel.append_value(rng.weighted(&CHANNELS));
        self.country_id.append_value(rng.between(1, 250) as i32);
        self.user_id.append_value(rng.between(1, 100_000) as i32);
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            array(self.timestamp.finish()),
            array(self.value.finish()),
            array(self.event_type.finish()),
            array(self.message_id.finish()),
            array(self.channel.finish()),
            array(self.country_id.finish()),
            array(self.user_id.finish()),
        ]
    }
}

/// A random (version 4, RFC 9562) UUID in its 36-character text form, written into `buf`.
fn uuid_v4<'a>(rng: &mut Rng, buf: &'a mut [u8; 36]) -> &'a str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let high = (rng.next_u64() & !0xf000) | 0x4000; // version 4
    let low = (rng.next_u64() >> 2) | 0x8000_0000_0000_0000; // variant 10
    let bits = (u128::from(high) << 64) | u128::from(low);
    let mut nibble = 32;
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte = match i {
            8 | 13 | 18 | 23 => b'-',
            _ => {
                nibble -= 1;
                HEX[(bits >> (nibble * 4)) as usize & 0xf]
            }
        };
    }
    std::str::from_utf8(buf).expect("hex digits and dashes are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn uuids_are_version_4_text() {
        let mut rng = Rng::for_row(1, 2, Stream::Content);
        let id = uuid_v4(&mut rng, &mut [0; 36]).to_string();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
        assert_eq!(&id[14..15], "4", "{id}");
        assert!("89ab".contains(&id[19..20]), "{id}");
        assert_ne!(id, uuid_v4(&mut rng, &mut [0; 36]));
    }
}
