//! The source driven through its SDK traits, as the host drives it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ferry_plugin_api::arrow::array::{
    Array, AsArray, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use ferry_plugin_api::arrow::compute::concat_batches;
use ferry_plugin_api::arrow::datatypes::{DataType, Int32Type, Int64Type, TimeUnit};
use ferry_plugin_api::sdk::{
    parse_options, Collected, Component, Context, Restored, Source, SourceStatus,
};

use crate::{Datagen, Options};

fn create(options: &str) -> Datagen {
    try_create(options).unwrap_or_else(|e| panic!("{e}"))
}

fn try_create(options: &str) -> ferry_plugin_api::sdk::Result<Datagen> {
    let ctx = Context::new("test", "gen", std::env::temp_dir());
    Datagen::create(parse_options::<Options>(options)?, &ctx)
}

/// One poll: its batches and status.
fn poll(
    source: &mut Datagen,
    max_rows: usize,
    timeout: Duration,
) -> (Vec<RecordBatch>, SourceStatus) {
    let mut out = Collected::default();
    let status = source.poll(max_rows, timeout, &mut out.output()).unwrap();
    let batches = out.main();
    assert!(batches.len() <= 1, "one batch per poll");
    for batch in &batches {
        assert!(batch.num_rows() <= max_rows);
    }
    (batches, status)
}

/// Exactly `rows` rows of an unthrottled source, polled `max_rows` at a time.
fn take(source: &mut Datagen, rows: usize, max_rows: usize) -> RecordBatch {
    let mut batches = Vec::new();
    let mut left = rows;
    while left > 0 {
        let (polled, status) = poll(source, max_rows.min(left), Duration::ZERO);
        assert_eq!(status, SourceStatus::Ready);
        left -= polled.iter().map(RecordBatch::num_rows).sum::<usize>();
        batches.extend(polled);
    }
    let schema = batches[0].schema();
    concat_batches(&schema, &batches).unwrap()
}

fn strings<'a>(batch: &'a RecordBatch, column: &str) -> &'a StringArray {
    batch.column_by_name(column).unwrap().as_string()
}

fn ints<'a>(batch: &'a RecordBatch, column: &str) -> &'a Int32Array {
    batch
        .column_by_name(column)
        .unwrap()
        .as_primitive::<Int32Type>()
}

fn longs<'a>(batch: &'a RecordBatch, column: &str) -> &'a Int64Array {
    batch
        .column_by_name(column)
        .unwrap()
        .as_primitive::<Int64Type>()
}

fn times<'a>(batch: &'a RecordBatch, column: &str) -> &'a TimestampMicrosecondArray {
    batch.column_by_name(column).unwrap().as_primitive()
}

const UNTHROTTLED: &str = r#""rows_per_second": 0, "seed": 7"#;

#[test]
fn each_generator_has_its_exact_schema() {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let (int, long, text) = (DataType::Int32, DataType::Int64, DataType::Utf8);
    let expected = [
        ("rate", vec![("timestamp", &ts), ("value", &long)]),
        (
            "twitch_accounts",
            vec![
                ("numeric_id", &long),
                ("views", &long),
                ("mature", &int),
                ("life_time", &int),
                ("created_at", &text),
                ("updated_at", &text),
                ("dead_account", &int),
                ("language", &text),
                ("affiliate", &int),
            ],
        ),
        (
            "messages",
            vec![
                ("timestamp", &ts),
                ("value", &long),
                ("event_type", &text),
                ("message_id", &text),
                ("channel", &text),
                ("country_id", &int),
                ("user_id", &int),
            ],
        ),
        (
            "clicks",
            vec![("Clicks", &int), ("Impressions", &int), ("ts", &ts)],
        ),
        (
            "district_events",
            vec![
                ("district", &text),
                ("new_scotsmen", &int),
                ("timestamp", &ts),
            ],
        ),
        ("access_log", vec![("timestamp", &ts), ("value", &text)]),
        (
            "bagpipe_sales",
            vec![
                ("sale_id", &text),
                ("district", &text),
                ("bagpipes", &int),
                ("price_gbp", &int),
                ("timestamp", &ts),
            ],
        ),
    ];
    for (generator, columns) in expected {
        let mut source = create(&format!(r#"{{"generator": "{generator}", {UNTHROTTLED}}}"#));
        let batch = take(&mut source, 10, 10);
        let schema = batch.schema();
        let actual: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        assert_eq!(actual, columns, "{generator}");
        assert!(
            schema.fields().iter().all(|f| f.is_nullable()),
            "{generator}"
        );
    }
}

#[test]
fn rate_counts_rows_at_exact_times() {
    let start = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
    let mut source = create(r#"{"rows_per_second": 0, "start": "2026-01-01T00:00:00Z"}"#);
    let batch = take(&mut source, 100, 30);
    for i in 0..100 {
        assert_eq!(longs(&batch, "value").value(i), i as i64);
        assert_eq!(
            times(&batch, "timestamp").value(i),
            start + i as i64 * 1_000
        );
    }
}

#[test]
fn event_interval_spaces_event_times_whatever_the_pace() {
    let start = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
    let mut source = create(
        r#"{"rows_per_second": 0, "event_interval": "1s", "start": "2026-01-01T00:00:00Z"}"#,
    );
    let batch = take(&mut source, 100, 30);
    for i in 0..100 {
        let time = times(&batch, "timestamp").value(i);
        assert_eq!(time, start + i as i64 * 1_000_000);
    }
    let err = try_create(r#"{"event_interval": "0s"}"#).err().unwrap();
    assert!(err
        .to_string()
        .contains("event_interval: must be longer than 0"));
}

#[test]
fn bagpipe_sales_are_priced_per_bagpipe_in_known_districts() {
    let mut source = create(&format!(
        r#"{{"generator": "bagpipe_sales", {UNTHROTTLED}}}"#
    ));
    let batch = take(&mut source, 1000, 1000);
    let (bagpipes, prices) = (ints(&batch, "bagpipes"), ints(&batch, "price_gbp"));
    for i in 0..1000 {
        assert_eq!(strings(&batch, "sale_id").value(i), format!("S{i}"));
        let n = bagpipes.value(i);
        assert!((1..=3).contains(&n));
        assert!((450 * n..=1800 * n).contains(&prices.value(i)), "{i}");
    }
    assert!(strings(&batch, "district").iter().all(|d| d.is_some()));
}

const DIRTY: &str = r#""duplicate_ratio": 0.1, "late_ratio": 0.1, "corrupt_ratio": 0.1"#;

#[test]
fn the_same_seed_gives_the_same_rows() {
    for generator in [
        "messages",
        "twitch_accounts",
        "access_log",
        "clicks",
        "district_events",
    ] {
        let options = |seed: u64| {
            format!(
                r#"{{"generator": "{generator}", "rows_per_second": 0, "seed": {seed},
                    "start": "2026-11-21T20:31:49Z", {DIRTY}}}"#
            )
        };
        let a = take(&mut create(&options(42)), 3_000, 1_000);
        let b = take(&mut create(&options(42)), 3_000, 457);
        let c = take(&mut create(&options(43)), 3_000, 1_000);
        assert_eq!(a, b, "{generator}");
        assert_ne!(a, c, "{generator}");
    }
}

#[test]
fn a_restored_source_continues_the_uninterrupted_sequence() {
    let options = format!(r#"{{"generator": "messages", "rows_per_second": 0, {DIRTY}}}"#);
    let mut first = create(&options);
    take(&mut first, 1_234, 100);
    let state = first.checkpoint(1).unwrap();
    let uninterrupted = take(&mut first, 2_000, 500);

    // Created later without a seed or start, so only the checkpoint can make it match.
    std::thread::sleep(Duration::from_millis(2));
    let mut restarted = create(&options);
    restarted.restore(&Restored::new(1, &state)).unwrap();
    assert_eq!(take(&mut restarted, 2_000, 333), uninterrupted);
}

#[test]
fn limit_yields_exactly_that_many_rows_then_ends() {
    let mut source = create(&format!(r#"{{"limit": 25, {UNTHROTTLED}}}"#));
    let mut rows = 0;
    loop {
        let (batches, status) = poll(&mut source, 10, Duration::ZERO);
        rows += batches.iter().map(RecordBatch::num_rows).sum::<usize>();
        if status == SourceStatus::End {
            break;
        }
    }
    assert_eq!(rows, 25);
    let state = source.checkpoint(1).unwrap();
    let mut restored = create(&format!(r#"{{"limit": 25, {UNTHROTTLED}}}"#));
    restored.restore(&Restored::new(1, &state)).unwrap();
    assert_eq!(poll(&mut restored, 10, Duration::ZERO).1, SourceStatus::End);
}

/// How many rows repeat an earlier row's message_id; each must repeat its timestamp too.
fn repeated_messages(batch: &RecordBatch) -> usize {
    let (ids, ts) = (strings(batch, "message_id"), times(batch, "timestamp"));
    let mut seen = HashMap::new();
    (0..batch.num_rows())
        .filter(|&i| match seen.insert(ids.value(i), ts.value(i)) {
            Some(first) => {
                assert_eq!(first, ts.value(i), "a duplicate re-delivers its timestamp");
                true
            }
            None => false,
        })
        .count()
}

#[test]
fn duplicate_ratio_redelivers_that_fraction_of_rows() {
    let messages = |ratio: f64| {
        let options =
            format!(r#"{{"generator": "messages", "duplicate_ratio": {ratio}, {UNTHROTTLED}}}"#);
        take(&mut create(&options), 10_000, 4_096)
    };
    assert_eq!(repeated_messages(&messages(0.0)), 0);
    let repeated = repeated_messages(&messages(0.1));
    assert!(
        (850..=1_150).contains(&repeated),
        "{repeated} duplicates in 10000 rows"
    );
}

/// Rows whose event time is behind the maximum seen before them, and the largest lag.
fn behind_running_max(ts: &TimestampMicrosecondArray) -> (usize, i64) {
    let (mut max, mut behind, mut worst) = (i64::MIN, 0, 0);
    for t in ts.values().iter().copied() {
        if t < max {
            behind += 1;
            worst = worst.max(max - t);
        }
        max = max.max(t);
    }
    (behind, worst)
}

#[test]
fn late_rows_are_behind_the_running_max_by_up_to_late_by() {
    let events = |ratio: f64| {
        let options = format!(
            r#"{{"generator": "messages", "late_ratio": {ratio}, "late_by": "2 minutes", {UNTHROTTLED}}}"#
        );
        take(&mut create(&options), 10_000, 4_096)
    };
    assert_eq!(behind_running_max(times(&events(0.0), "timestamp")), (0, 0));
    let (late, worst) = behind_running_max(times(&events(0.2), "timestamp"));
    assert!((1_800..=2_200).contains(&late), "{late} late rows in 10000");
    assert!(
        worst <= 120_000_000 + 1_000,
        "lag {worst} µs exceeds late_by"
    );
}

#[test]
fn corrupt_messages_have_a_null_event_type() {
    let options = format!(r#"{{"generator": "messages", "corrupt_ratio": 0.1, {UNTHROTTLED}}}"#);
    let batch = take(&mut create(&options), 10_000, 4_096);
    let nulls = strings(&batch, "event_type").null_count();
    assert!((850..=1_150).contains(&nulls), "{nulls}");
    let dirty = strings(&batch, "event_type")
        .iter()
        .flatten()
        .filter(|t| matches!(*t, "" | "NONE"))
        .count();
    assert!(
        (300..=700).contains(&dirty),
        "{dirty} empty or NONE event types"
    );
}

#[test]
fn corrupt_twitch_accounts_have_one_null_column() {
    let options =
        format!(r#"{{"generator": "twitch_accounts", "corrupt_ratio": 0.2, {UNTHROTTLED}}}"#);
    let batch = take(&mut create(&options), 5_000, 4_096);
    let nulls_per_row: Vec<usize> = (0..batch.num_rows())
        .map(|i| batch.columns().iter().filter(|c| c.is_null(i)).count())
        .collect();
    assert!(nulls_per_row.iter().all(|&n| n <= 1));
    let corrupt = nulls_per_row.iter().sum::<usize>();
    assert!((850..=1_150).contains(&corrupt), "{corrupt}");
}

#[test]
fn twitch_accounts_look_like_the_data_set() {
    let options = format!(r#"{{"generator": "twitch_accounts", {UNTHROTTLED}}}"#);
    let batch = take(&mut create(&options), 5_000, 4_096);
    let (created, updated) = (strings(&batch, "created_at"), strings(&batch, "updated_at"));
    let languages = [
        "EN", "DE", "FR", "ES", "RU", "PT", "KO", "JA", "ZH", "OTHER",
    ];
    let mut padded = 0;
    for i in 0..batch.num_rows() {
        assert_eq!(created.value(i).len(), 10);
        assert!(created.value(i) <= updated.value(i));
        let language = strings(&batch, "language").value(i);
        assert!(languages.contains(&language.trim()), "{language:?}");
        padded += usize::from(language != language.trim());
        assert!([0, 1].contains(&ints(&batch, "mature").value(i)));
        assert!(ints(&batch, "life_time").value(i) >= 0);
    }
    assert!((150..=350).contains(&padded), "{padded} padded languages");
}

#[test]
fn clicks_never_exceed_impressions() {
    let options = format!(r#"{{"generator": "clicks", {UNTHROTTLED}}}"#);
    let batch = take(&mut create(&options), 5_000, 4_096);
    let (clicks, impressions) = (ints(&batch, "Clicks"), ints(&batch, "Impressions"));
    assert!((0..5_000).all(|i| clicks.value(i) <= impressions.value(i)));
    assert!((0..5_000).any(|i| clicks.value(i) > 0));
}

/// Whether `line` is an Apache common log line: request quoted, then status and size.
fn is_common_log(line: &str) -> bool {
    let Some((_, tail)) = line.split_once(" HTTP/1.1\" ") else {
        return false;
    };
    let fields: Vec<&str> = tail.split(' ').collect();
    line.starts_with("10.0.")
        && fields.len() == 2
        && fields.iter().all(|f| f.parse::<u32>().is_ok())
}

#[test]
fn corrupt_access_log_lines_do_not_parse() {
    let options = format!(r#"{{"generator": "access_log", "corrupt_ratio": 0.2, {UNTHROTTLED}}}"#);
    let batch = take(&mut create(&options), 5_000, 4_096);
    let lines = strings(&batch, "value");
    let garbled = lines.iter().flatten().filter(|l| !is_common_log(l)).count();
    assert!((850..=1_150).contains(&garbled), "{garbled}");
    let statuses: Vec<&str> = lines
        .iter()
        .flatten()
        .filter(|l| is_common_log(l))
        .map(|l| &l[l.len() - 10..])
        .collect();
    assert!(statuses.iter().any(|s| s.contains(" 404 ")));
}

#[test]
fn unknown_options_are_refused_by_name() {
    let err = parse_options::<Options>(r#"{"generator": "rate", "rows_per_sec": 5}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("rows_per_sec"), "{err}");
    let err = try_create(r#"{"generator": "tweets"}"#)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("tweets"), "{err}");
    let err = try_create(r#"{"duplicate_ratio": 1.5}"#)
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("duplicate_ratio"), "{err}");
    let err = try_create(r#"{"start": "yesterday"}"#)
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("start"), "{err}");
    let err = try_create(r#"{"late_by": "2 parsecs"}"#)
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("late_by"), "{err}");
}

#[test]
fn rows_are_paced_by_the_wall_clock() {
    let began = Instant::now();
    let mut source = create(r#"{"rows_per_second": 100}"#);
    let (batches, status) = poll(&mut source, 1_000, Duration::ZERO);
    assert_eq!(
        (batches.len(), status),
        (0, SourceStatus::Idle),
        "nothing is due at once"
    );
    let mut rows = 0;
    while began.elapsed() < Duration::from_millis(300) {
        let (batches, _) = poll(&mut source, 1_000, Duration::from_millis(20));
        rows += batches.iter().map(RecordBatch::num_rows).sum::<usize>();
        let allowed = (began.elapsed().as_secs_f64() * 100.0) as usize;
        assert!(rows <= allowed, "{rows} rows after {:?}", began.elapsed());
    }
    assert!(rows >= 20, "only {rows} rows in 300 ms at 100 rows/s");
}

/// Run with `cargo test --release -p ferry-datagen -- --ignored`.
#[test]
#[ignore = "a throughput check: meaningful only in release mode"]
fn unthrottled_messages_exceed_a_million_rows_per_second() {
    let mut source = create(&format!(r#"{{"generator": "messages", {UNTHROTTLED}}}"#));
    let began = Instant::now();
    take(&mut source, 5_000_000, 65_536);
    let rate = 5e6 / began.elapsed().as_secs_f64();
    println!("{rate:.0} rows/s");
    assert!(rate > 1e6, "{rate:.0} rows/s");
}
