use std::sync::Arc;
use std::time::Duration;

use ferry_plugin_api::arrow::array::{AsArray, Int64Array, StringArray, TimestampMicrosecondArray};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
use ferry_plugin_api::sdk::{parse_options, Collected};

use super::*;

const S: i64 = 1_000_000;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("n", DataType::Int64, false),
    ]))
}

/// Rows (id, ts in seconds, n).
fn batch(rows: &[(Option<&str>, Option<i64>, i64)]) -> RecordBatch {
    let ids: StringArray = rows.iter().map(|r| r.0).collect();
    let ts: TimestampMicrosecondArray = rows.iter().map(|r| r.1.map(|s| s * S)).collect();
    let n: Int64Array = rows.iter().map(|r| Some(r.2)).collect();
    RecordBatch::try_new(schema(), vec![Arc::new(ids), Arc::new(ts), Arc::new(n)]).unwrap()
}

fn dedup(dir: &std::path::Path, keep: &str) -> Dedup {
    let ctx = Context::new("p", "d", dir)
        .with_event_time("ts", Duration::from_secs(10))
        .with_input_schemas(vec![Some(schema())]);
    let options = parse_options(&format!(r#"{{"keys": ["id"], "keep": "{keep}"}}"#)).unwrap();
    Dedup::create(options, &ctx).unwrap()
}

/// The `n` column of the rows emitted on `port`.
fn ns(out: &Collected, port: &str) -> Vec<i64> {
    let batches = out.on(port);
    batches
        .iter()
        .flat_map(|b| b.column(2).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

#[test]
fn first_seen_keeps_the_first_arrival_until_the_watermark_passes_it_plus_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = dedup(dir.path(), "first_seen");
    let mut out = Collected::default();
    let rows = [
        (Some("a"), Some(10), 1),
        (Some("b"), Some(20), 2),
        (Some("a"), Some(5), 3),
        (None, Some(7), 4),
        (None, Some(8), 5),
    ];
    d.process("in", batch(&rows), &mut out.output()).unwrap();
    assert_eq!(ns(&out, "out"), [1, 2, 4]);
    // a expires at 10 + 10 = 20 ≤ 25; b (30) does not.
    d.on_watermark(25 * S, &mut out.output()).unwrap();
    let mut out = Collected::default();
    let rows = [
        (Some("a"), Some(26), 6),
        (Some("b"), Some(27), 7),
        (Some("c"), Some(25), 8),
    ];
    d.process("in", batch(&rows), &mut out.output()).unwrap();
    assert_eq!(ns(&out, "out"), [6]);
    assert_eq!(ns(&out, "late"), [8]);
}

#[test]
fn earliest_holds_each_key_and_emits_its_smallest_time_when_the_watermark_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = dedup(dir.path(), "earliest");
    let mut out = Collected::default();
    let rows = [
        (Some("a"), Some(20), 1),
        (Some("a"), Some(10), 2),
        (Some("b"), Some(30), 3),
        (Some("a"), Some(10), 4),
    ];
    d.process("in", batch(&rows), &mut out.output()).unwrap();
    assert_eq!(ns(&out, "out"), Vec::<i64>::new());
    d.on_watermark(15 * S, &mut out.output()).unwrap();
    assert_eq!(ns(&out, "out"), [2]);
    assert_eq!(out.watermark, Some(15 * S));
    // a's time 10 is 10 s behind 20: a later row with key a is still a duplicate.
    d.on_watermark(19 * S, &mut out.output()).unwrap();
    d.process("in", batch(&[(Some("a"), Some(25), 5)]), &mut out.output())
        .unwrap();
    d.on_watermark(i64::MAX, &mut out.output()).unwrap();
    assert_eq!(ns(&out, "out"), [2, 3]);
}

#[test]
fn a_restored_instance_remembers_the_keys_and_the_held_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = dedup(dir.path(), "earliest");
    let mut out = Collected::default();
    d.process(
        "in",
        batch(&[(Some("a"), Some(20), 1), (Some("b"), Some(5), 2)]),
        &mut out.output(),
    )
    .unwrap();
    d.on_watermark(6 * S, &mut out.output()).unwrap();
    let state = d.checkpoint(1).unwrap();
    d.commit(1).unwrap();
    drop(d);
    let mut d = dedup(dir.path(), "earliest");
    let mut restored = Restored::new(1, &state);
    restored.input_watermark = Some(6 * S);
    d.restore(&restored).unwrap();
    let mut out = Collected::default();
    d.process(
        "in",
        batch(&[
            (Some("a"), Some(21), 3),
            (Some("b"), Some(7), 4),
            (Some("c"), Some(6), 5),
        ]),
        &mut out.output(),
    )
    .unwrap();
    assert_eq!(ns(&out, "late"), [5]);
    d.on_watermark(i64::MAX, &mut out.output()).unwrap();
    assert_eq!(ns(&out, "out"), [1]);
}

#[test]
fn a_null_event_time_is_rejected_and_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = dedup(dir.path(), "first_seen");
    let mut out = Collected::default();
    d.process("in", batch(&[(Some("a"), None, 1)]), &mut out.output())
        .unwrap();
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].reason, "event time 'ts' is null");
    assert_eq!(out.rejected[0].raw, b"{\"id\":\"a\",\"n\":1}\n");
    let ctx = Context::new("p", "d", dir.path()).with_input_schemas(vec![Some(schema())]);
    let no_time = Dedup::create(parse_options(r#"{"keys": ["id"]}"#).unwrap(), &ctx);
    assert!(no_time
        .err()
        .unwrap()
        .to_string()
        .contains("needs an event time"));
    let ctx = ctx.with_event_time("ts", Duration::from_secs(1));
    let typo = Dedup::create(parse_options(r#"{"keys": ["idd"]}"#).unwrap(), &ctx);
    assert_eq!(
        typo.err().unwrap().to_string(),
        "keys: no column 'idd' in the input (its columns: id, ts, n)"
    );
}
