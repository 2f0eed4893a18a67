use std::sync::Arc;
use std::time::Duration;

use ferry_plugin_api::arrow::array::{AsArray, Int64Array, StringArray};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use ferry_plugin_api::arrow::util::pretty::pretty_format_batches;
use ferry_plugin_api::sdk::{parse_options, Collected};

use super::*;

const S: i64 = 1_000_000;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("v", DataType::Int64, true),
    ]))
}

/// Rows (k, ts in seconds, v).
fn batch(rows: &[(&str, i64, Option<i64>)]) -> RecordBatch {
    let k: StringArray = rows.iter().map(|r| Some(r.0)).collect();
    let ts = TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.1 * S));
    let v: Int64Array = rows.iter().map(|r| r.2).collect();
    RecordBatch::try_new(schema(), vec![Arc::new(k), Arc::new(ts), Arc::new(v)]).unwrap()
}

fn window(dir: &std::path::Path, options: &str) -> Window {
    let ctx = Context::new("p", "w", dir)
        .with_event_time("ts", Duration::from_secs(5))
        .with_input_schemas(vec![Some(schema())]);
    Window::create(parse_options(options).unwrap(), &ctx).unwrap()
}

fn table(out: &Collected, port: &str) -> String {
    pretty_format_batches(&out.on(port)).unwrap().to_string()
}

const ALL: &str = r#""group_by": ["k"], "aggregates": {"n": "count(*)", "nv": "count(v)", "sum": "sum(v)", "avg": "avg(v)", "lo": "min(v)", "hi": "max(v)", "first": "first(v)", "last": "last(v)", "distinct": "count_distinct(v)"}"#;

#[test]
fn tumbling_append_emits_each_window_once_when_the_watermark_passes_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = window(
        dir.path(),
        &format!(r#"{{"kind": "tumbling", "size": "10s", {ALL}}}"#),
    );
    let mut out = Collected::default();
    let rows = [
        ("a", 1, Some(5)),
        ("a", 9, Some(1)),
        ("b", 3, None),
        ("a", 4, Some(5)),
        ("a", 12, Some(7)),
    ];
    w.process("in", batch(&rows), &mut out.output()).unwrap();
    w.on_watermark(9 * S, &mut out.output()).unwrap();
    assert!(out.main().iter().all(|b| b.num_rows() == 0));
    w.on_watermark(10 * S, &mut out.output()).unwrap();
    assert_eq!(table(&out, "out"), "\
+----------------------+----------------------+---+--------------------+----------+-------+----+------+----+---+----+-----+
| window_start         | window_end           | k | avg                | distinct | first | hi | last | lo | n | nv | sum |
+----------------------+----------------------+---+--------------------+----------+-------+----+------+----+---+----+-----+
| 1970-01-01T00:00:00Z | 1970-01-01T00:00:10Z | a | 3.6666666666666665 | 2        | 5     | 5  | 1    | 1  | 3 | 3  | 11  |
| 1970-01-01T00:00:00Z | 1970-01-01T00:00:10Z | b |                    | 0        |       |    |      |    | 1 | 0  |     |
+----------------------+----------------------+---+--------------------+----------+-------+----+------+----+---+----+-----+");
    // A row for a closed window is late; the open one is still open.
    let mut out = Collected::default();
    w.process(
        "in",
        batch(&[("a", 9, Some(1)), ("a", 15, Some(1))]),
        &mut out.output(),
    )
    .unwrap();
    assert_eq!(
        out.on("late").iter().map(|b| b.num_rows()).sum::<usize>(),
        1
    );
    w.on_watermark(i64::MAX, &mut out.output()).unwrap();
    assert_eq!(out.rows(), 1);
}

/// (window_start s, window_end s, key, n) of the rows emitted on the main port.
fn counts(out: &Collected) -> Vec<(i64, i64, String, i64)> {
    let mut rows = Vec::new();
    for b in out.main() {
        let start = b
            .column(0)
            .as_primitive::<ferry_plugin_api::arrow::datatypes::TimestampMicrosecondType>();
        let end = b
            .column(1)
            .as_primitive::<ferry_plugin_api::arrow::datatypes::TimestampMicrosecondType>();
        let k = b.column(2).as_string::<i32>();
        let n = b
            .column(3)
            .as_primitive::<ferry_plugin_api::arrow::datatypes::Int64Type>();
        for i in 0..b.num_rows() {
            rows.push((
                start.value(i) / S,
                end.value(i) / S,
                k.value(i).to_string(),
                n.value(i),
            ));
        }
    }
    rows
}

const COUNT: &str = r#""group_by": ["k"], "aggregates": {"n": "count(*)"}"#;

#[test]
fn without_group_by_each_window_is_one_row_over_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        r#"{"kind": "tumbling", "size": "10s", "aggregates": {"n": "count(*)", "sum": "sum(v)"}}"#;
    let mut w = window(dir.path(), options);
    let mut out = Collected::default();
    let rows = [("a", 1, Some(5)), ("b", 9, Some(1)), ("a", 12, Some(7))];
    w.process("in", batch(&rows), &mut out.output()).unwrap();
    w.on_watermark(i64::MAX, &mut out.output()).unwrap();
    assert_eq!(
        table(&out, "out"),
        "\
+----------------------+----------------------+---+-----+
| window_start         | window_end           | n | sum |
+----------------------+----------------------+---+-----+
| 1970-01-01T00:00:00Z | 1970-01-01T00:00:10Z | 2 | 6   |
| 1970-01-01T00:00:10Z | 1970-01-01T00:00:20Z | 1 | 7   |
+----------------------+----------------------+---+-----+"
    );
}

#[test]
fn sliding_windows_count_each_row_in_size_over_slide_windows() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = window(
        dir.path(),
        &format!(r#"{{"kind": "sliding", "size": "10s", "slide": "5s", {COUNT}}}"#),
    );
    let mut out = Collected::default();
    w.process(
        "in",
        batch(&[("a", 7, None), ("a", 12, None)]),
        &mut out.output(),
    )
    .unwrap();
    w.on_watermark(i64::MAX, &mut out.output()).unwrap();
    let a = |s, e, n| (s, e, "a".to_string(), n);
    assert_eq!(counts(&out), [a(0, 10, 1), a(5, 15, 2), a(10, 20, 1)]);
}

#[test]
fn sessions_merge_rows_up_to_gap_apart_and_close_at_last_plus_gap() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = window(
        dir.path(),
        &format!(r#"{{"kind": "session", "gap": "5s", {COUNT}}}"#),
    );
    let mut out = Collected::default();
    // 0, 5 (exactly gap apart: one session), 20; then 10 bridges nothing (5 + 5 = 10).
    w.process(
        "in",
        batch(&[
            ("a", 0, None),
            ("a", 5, None),
            ("a", 20, None),
            ("b", 1, None),
        ]),
        &mut out.output(),
    )
    .unwrap();
    w.process("in", batch(&[("a", 10, None)]), &mut out.output())
        .unwrap();
    w.on_watermark(15 * S, &mut out.output()).unwrap();
    let row = |s, e, k: &str, n| (s, e, k.to_string(), n);
    assert_eq!(counts(&out), [row(0, 15, "a", 3), row(1, 6, "b", 1)]);
    w.on_watermark(i64::MAX, &mut out.output()).unwrap();
    assert_eq!(counts(&out)[2], row(20, 25, "a", 1));
}

#[test]
fn update_mode_emits_changed_windows_at_each_barrier_and_global_complete_every_group_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = window(
        dir.path(),
        &format!(r#"{{"kind": "tumbling", "size": "10s", "emit": "update", {COUNT}}}"#),
    );
    let mut out = Collected::default();
    w.process(
        "in",
        batch(&[("a", 1, None), ("b", 2, None)]),
        &mut out.output(),
    )
    .unwrap();
    w.on_barrier(1, &mut out.output()).unwrap();
    w.process("in", batch(&[("a", 3, None)]), &mut out.output())
        .unwrap();
    w.on_barrier(2, &mut out.output()).unwrap();
    w.on_barrier(3, &mut out.output()).unwrap();
    let row = |k: &str, n| (0, 10, k.to_string(), n);
    assert_eq!(counts(&out), [row("a", 1), row("b", 1), row("a", 2)]);

    let dir = tempfile::tempdir().unwrap();
    let mut g = window(dir.path(), &format!(r#"{{"kind": "global", {COUNT}}}"#));
    let mut out = Collected::default();
    g.process(
        "in",
        batch(&[("a", 1, None), ("b", 2, None), ("a", 3, None)]),
        &mut out.output(),
    )
    .unwrap();
    g.on_barrier(1, &mut out.output()).unwrap();
    // Nothing new: nothing printed, as Spark runs no micro-batch. Then one new row: every
    // group again.
    g.on_barrier(2, &mut out.output()).unwrap();
    g.process("in", batch(&[("c", 4, None)]), &mut out.output())
        .unwrap();
    g.on_barrier(3, &mut out.output()).unwrap();
    let totals: Vec<(String, i64)> = out
        .main()
        .iter()
        .flat_map(|b| {
            let k = b.column(0).as_string::<i32>().clone();
            let n = b
                .column(1)
                .as_primitive::<ferry_plugin_api::arrow::datatypes::Int64Type>()
                .clone();
            (0..b.num_rows())
                .map(move |i| (k.value(i).to_string(), n.value(i)))
                .collect::<Vec<_>>()
        })
        .collect();
    let t = |k: &str, n| (k.to_string(), n);
    assert_eq!(
        totals,
        [t("a", 2), t("b", 1), t("a", 2), t("b", 1), t("c", 1)]
    );
}

#[test]
fn a_restored_window_continues_its_open_windows() {
    let dir = tempfile::tempdir().unwrap();
    let options = format!(r#"{{"kind": "tumbling", "size": "10s", {COUNT}}}"#);
    let mut w = window(dir.path(), &options);
    let mut out = Collected::default();
    w.process(
        "in",
        batch(&[("a", 1, None), ("a", 12, None)]),
        &mut out.output(),
    )
    .unwrap();
    w.on_watermark(10 * S, &mut out.output()).unwrap();
    let state = w.checkpoint(1).unwrap();
    w.commit(1).unwrap();
    drop(w);
    let mut w = window(dir.path(), &options);
    let mut restored = Restored::new(1, &state);
    restored.input_watermark = Some(10 * S);
    w.restore(&restored).unwrap();
    let mut out = Collected::default();
    w.process(
        "in",
        batch(&[("a", 15, None), ("a", 2, None)]),
        &mut out.output(),
    )
    .unwrap();
    assert_eq!(
        out.on("late").iter().map(|b| b.num_rows()).sum::<usize>(),
        1
    );
    w.on_watermark(i64::MAX, &mut out.output()).unwrap();
    assert_eq!(counts(&out), [(10, 20, "a".to_string(), 2)]);
}

#[test]
fn options_are_checked_against_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context::new("p", "w", dir.path())
        .with_event_time("ts", Duration::from_secs(5))
        .with_input_schemas(vec![Some(schema())]);
    let err = |o: &str| {
        Window::create(parse_options(o).unwrap(), &ctx)
            .err()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        err(r#"{"kind": "tumbling", "aggregates": {"n": "count(*)"}}"#),
        "size: required for this kind"
    );
    assert_eq!(
        err(r#"{"kind": "tumbling", "size": "1s", "aggregates": {"s": "sum(k)"}}"#),
        "aggregates.s: sum(k) needs a numeric column; 'k' is Utf8"
    );
    assert_eq!(err(r#"{"kind": "tumbling", "size": "1s", "aggregates": {"s": "median(v)"}}"#), "aggregates.s: unknown function 'median' (count, sum, avg, min, max, first, last, count_distinct)");
    assert_eq!(
        err(r#"{"kind": "global", "emit": "append", "aggregates": {"n": "count(*)"}}"#),
        "emit: a global aggregation never closes; use \"update\" or \"complete\""
    );
    assert_eq!(
        err(
            r#"{"kind": "tumbling", "size": "1s", "group_by": ["x"], "aggregates": {"n": "count(*)"}}"#
        ),
        "group_by: no column 'x' in the input (its columns: k, ts, v)"
    );
}
