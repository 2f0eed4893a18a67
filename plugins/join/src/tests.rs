use std::sync::Arc;
use std::time::Duration;

use ferry_plugin_api::arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use ferry_plugin_api::arrow::util::pretty::pretty_format_batches;
use ferry_plugin_api::sdk::{parse_options, Collected};

use super::*;

const S: i64 = 1_000_000;

fn schema(value: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new(value, DataType::Int64, true),
    ]))
}

/// Rows (k, ts in seconds, value) of the side whose value column is `value`.
fn batch(value: &str, rows: &[(&str, i64, i64)]) -> RecordBatch {
    let k: StringArray = rows.iter().map(|r| Some(r.0)).collect();
    let ts = TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.1 * S));
    let v = Int64Array::from_iter_values(rows.iter().map(|r| r.2));
    RecordBatch::try_new(schema(value), vec![Arc::new(k), Arc::new(ts), Arc::new(v)]).unwrap()
}

fn join(dir: &std::path::Path, kind: &str) -> Join {
    let ctx = Context::new("p", "j", dir)
        .with_inputs(&["left", "right"])
        .with_event_time("ts", Duration::from_secs(5))
        .with_input_schemas(vec![Some(schema("l")), Some(schema("r"))]);
    let options = format!(r#"{{"on": ["k"], "within": "5s", "type": "{kind}"}}"#);
    Join::create(parse_options(&options).unwrap(), &ctx).unwrap()
}

fn table(out: &Collected) -> String {
    pretty_format_batches(&out.main()).unwrap().to_string()
}

#[test]
fn rows_join_on_keys_within_the_bound_from_either_side() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = join(dir.path(), "inner");
    let mut out = Collected::default();
    j.process(
        "left",
        batch("l", &[("a", 10, 1), ("b", 10, 2)]),
        &mut out.output(),
    )
    .unwrap();
    j.process(
        "right",
        batch("r", &[("a", 15, 3), ("a", 16, 4), ("c", 10, 5)]),
        &mut out.output(),
    )
    .unwrap();
    j.process("left", batch("l", &[("a", 20, 6)]), &mut out.output())
        .unwrap();
    assert_eq!(
        table(&out),
        "\
+---+---------------------+---+---------------------+---+
| k | ts                  | l | right_ts            | r |
+---+---------------------+---+---------------------+---+
| a | 1970-01-01T00:00:10 | 1 | 1970-01-01T00:00:15 | 3 |
| a | 1970-01-01T00:00:20 | 6 | 1970-01-01T00:00:15 | 3 |
| a | 1970-01-01T00:00:20 | 6 | 1970-01-01T00:00:16 | 4 |
+---+---------------------+---+---------------------+---+"
    );
}

#[test]
fn an_outer_side_emits_its_unmatched_rows_once_the_watermark_passes_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = join(dir.path(), "left_outer");
    let mut out = Collected::default();
    j.process(
        "left",
        batch("l", &[("a", 10, 1), ("b", 10, 2)]),
        &mut out.output(),
    )
    .unwrap();
    j.process(
        "right",
        batch("r", &[("a", 12, 3), ("b", 30, 4)]),
        &mut out.output(),
    )
    .unwrap();
    j.on_watermark(14 * S, &mut out.output()).unwrap();
    assert_eq!(out.rows(), 1);
    // 10 + 5 <= 15: no right row can match b any more.
    j.on_watermark(15 * S, &mut out.output()).unwrap();
    assert_eq!(
        table(&out),
        "\
+---+---------------------+---+---------------------+---+
| k | ts                  | l | right_ts            | r |
+---+---------------------+---+---------------------+---+
| a | 1970-01-01T00:00:10 | 1 | 1970-01-01T00:00:12 | 3 |
| b | 1970-01-01T00:00:10 | 2 |                     |   |
+---+---------------------+---+---------------------+---+"
    );
    // Late rows leave by the late port.
    let mut out = Collected::default();
    j.process("right", batch("r", &[("a", 15, 9)]), &mut out.output())
        .unwrap();
    assert_eq!(
        out.on("late").iter().map(|b| b.num_rows()).sum::<usize>(),
        1
    );
}

#[test]
fn rows_out_of_time_order_match_and_expire_by_their_own_times() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = join(dir.path(), "left_outer");
    let mut out = Collected::default();
    // One key's rows arrive out of time order: the buffer keeps them sorted by time.
    j.process(
        "left",
        batch(
            "l",
            &[("a", 30, 1), ("a", 10, 2), ("a", 20, 3), ("a", 10, 4)],
        ),
        &mut out.output(),
    )
    .unwrap();
    // 15 is within 5 s of 10 and 20 (both ends inclusive), not of 30.
    j.process("right", batch("r", &[("a", 15, 9)]), &mut out.output())
        .unwrap();
    // 10 + 5 <= 16 and 20 + 5 > 16: the two rows at 10 expire, matched; 20 and 30 stay.
    j.on_watermark(16 * S, &mut out.output()).unwrap();
    j.on_watermark(25 * S, &mut out.output()).unwrap();
    assert_eq!(
        table(&out),
        "\
+---+---------------------+---+---------------------+---+
| k | ts                  | l | right_ts            | r |
+---+---------------------+---+---------------------+---+
| a | 1970-01-01T00:00:10 | 2 | 1970-01-01T00:00:15 | 9 |
| a | 1970-01-01T00:00:10 | 4 | 1970-01-01T00:00:15 | 9 |
| a | 1970-01-01T00:00:20 | 3 | 1970-01-01T00:00:15 | 9 |
+---+---------------------+---+---------------------+---+"
    );
    // At 35, 30 expires unmatched and is emitted with nulls.
    let mut out = Collected::default();
    j.on_watermark(35 * S, &mut out.output()).unwrap();
    assert_eq!(out.rows(), 1);
}

#[test]
fn a_restored_join_still_matches_the_rows_buffered_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut j = join(dir.path(), "right_outer");
    let mut out = Collected::default();
    j.process(
        "right",
        batch("r", &[("a", 10, 1), ("z", 10, 2)]),
        &mut out.output(),
    )
    .unwrap();
    let state = j.checkpoint(1).unwrap();
    j.commit(1).unwrap();
    drop(j);
    let mut j = join(dir.path(), "right_outer");
    j.restore(&Restored::new(1, &state)).unwrap();
    let mut out = Collected::default();
    j.process("left", batch("l", &[("a", 13, 7)]), &mut out.output())
        .unwrap();
    j.on_watermark(i64::MAX, &mut out.output()).unwrap();
    assert_eq!(
        table(&out),
        "\
+---+---------------------+---+---------------------+---+
| k | ts                  | l | right_ts            | r |
+---+---------------------+---+---------------------+---+
| a | 1970-01-01T00:00:13 | 7 | 1970-01-01T00:00:10 | 1 |
| z |                     |   | 1970-01-01T00:00:10 | 2 |
+---+---------------------+---+---------------------+---+"
    );
}

#[test]
fn inputs_and_keys_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::new("p", "j", dir.path()).with_inputs(&["a", "b"]);
    let options = || parse_options(r#"{"on": ["k"], "within": "5s"}"#).unwrap();
    let err = Join::create(options(), &ctx).err().unwrap().to_string();
    assert!(err.contains("inputs = { left"), "{err}");
    let ctx = Context::new("p", "j", dir.path())
        .with_inputs(&["left", "right"])
        .with_event_time("ts", Duration::from_secs(1))
        .with_input_schemas(vec![Some(schema("l")), Some(schema("k2"))]);
    let bad = parse_options(r#"{"on": ["l"], "within": "5s"}"#).unwrap();
    let err = Join::create(bad, &ctx).err().unwrap().to_string();
    assert_eq!(err, "no column 'l' in the right input");
}
