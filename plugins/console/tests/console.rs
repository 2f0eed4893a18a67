use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ferry_console::{Console, ConsoleOptions};
use ferry_plugin_api::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use ferry_plugin_api::sdk::{parse_options, Commit, Component, Context, Sink};

/// A writer whose bytes the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn console(options: &str) -> (Console, Captured) {
    let captured = Captured::default();
    let options: ConsoleOptions = parse_options(options).unwrap();
    (
        Console::with_writer(options, Box::new(captured.clone())),
        captured,
    )
}

/// A commit as the host sends it (no sources in these tests).
fn commit(epoch: u64, handle: &[u8]) -> Commit<'_> {
    static NO_SOURCES: std::sync::OnceLock<
        ferry_plugin_api::serde_json::Map<String, ferry_plugin_api::serde_json::Value>,
    > = std::sync::OnceLock::new();
    Commit {
        epoch,
        handle,
        sources: NO_SOURCES.get_or_init(Default::default),
    }
}

fn batch(rows: i64) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..rows));
    let names: ArrayRef = Arc::new(StringArray::from_iter(
        (0..rows).map(|i| (i != 1).then(|| format!("name-{i}"))),
    ));
    RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap()
}

#[test]
fn table_mode_prints_numbered_batches() {
    let (mut sink, out) = console("{}");
    sink.write("in", batch(2)).unwrap();
    sink.write("in", batch(1)).unwrap();
    let expected = "\
-------------------------------------------
Batch: 0
-------------------------------------------
+----+--------+
| id | name   |
+----+--------+
| 0  | name-0 |
| 1  | null   |
+----+--------+

-------------------------------------------
Batch: 1
-------------------------------------------
+----+--------+
| id | name   |
+----+--------+
| 0  | name-0 |
+----+--------+

";
    assert_eq!(out.text(), expected);
}

#[test]
fn table_mode_cuts_rows_and_long_cells() {
    let (mut sink, out) = console(r#"{"num_rows": 2}"#);
    let long: ArrayRef = Arc::new(StringArray::from(vec!["x".repeat(25); 3]));
    sink.write("in", RecordBatch::try_from_iter([("s", long)]).unwrap())
        .unwrap();
    let text = out.text();
    assert!(
        text.contains(&format!("| {}... |", "x".repeat(17))),
        "{text}"
    );
    assert_eq!(text.matches("xxx...").count(), 2, "{text}");
    assert!(text.ends_with("+\nonly showing top 2 rows\n\n"), "{text}");
}

#[test]
fn table_mode_can_keep_long_cells() {
    let (mut sink, out) = console(r#"{"truncate": false}"#);
    let long: ArrayRef = Arc::new(StringArray::from(vec!["y".repeat(25)]));
    sink.write("in", RecordBatch::try_from_iter([("s", long)]).unwrap())
        .unwrap();
    assert!(out.text().contains(&"y".repeat(25)));
    assert!(!out.text().contains("only showing"));
}

#[test]
fn count_mode_prints_one_line_per_committed_epoch() {
    let (mut sink, out) = console(r#"{"mode": "count"}"#);
    sink.write("in", batch(3)).unwrap();
    sink.write("in", batch(2)).unwrap();
    let h1 = sink.prepare(1).unwrap();
    sink.write("in", batch(4)).unwrap();
    sink.commit(&commit(1, &h1)).unwrap();
    let h2 = sink.prepare(2).unwrap();
    sink.commit(&commit(2, &h2)).unwrap();
    assert_eq!(
        out.text(),
        "epoch 1: 5 rows, 5 total\nepoch 2: 4 rows, 9 total\n"
    );
}

#[test]
fn count_total_is_exactly_once_across_a_crash() {
    let (mut sink, _) = console(r#"{"mode": "count"}"#);
    sink.write("in", batch(5)).unwrap();
    let durable = sink.prepare(1).unwrap();
    sink.commit(&commit(1, &durable)).unwrap();
    // Rows of epoch 2 are written and prepared, but the process dies before its
    // checkpoint is durable: the source sends them again after the restart.
    sink.write("in", batch(7)).unwrap();
    sink.prepare(2).unwrap();

    let (mut restarted, out) = console(r#"{"mode": "count"}"#);
    restarted.commit(&commit(1, &durable)).unwrap();
    restarted.abort(2).unwrap();
    restarted.write("in", batch(7)).unwrap();
    let h2 = restarted.prepare(2).unwrap();
    restarted.commit(&commit(2, &h2)).unwrap();
    assert_eq!(
        out.text(),
        "epoch 1: 5 rows, 5 total\nepoch 2: 7 rows, 12 total\n"
    );
}

#[test]
fn abort_drops_uncommitted_rows() {
    let (mut sink, out) = console(r#"{"mode": "count"}"#);
    sink.write("in", batch(2)).unwrap();
    let h1 = sink.prepare(1).unwrap();
    sink.commit(&commit(1, &h1)).unwrap();
    sink.write("in", batch(3)).unwrap();
    sink.abort(2).unwrap();
    sink.write("in", batch(1)).unwrap();
    let h2 = sink.prepare(2).unwrap();
    sink.commit(&commit(2, &h2)).unwrap();
    assert!(out.text().ends_with("epoch 2: 1 rows, 3 total\n"));
}

#[test]
fn count_mode_prints_nothing_per_batch() {
    let (mut sink, out) = console(r#"{"mode": "count"}"#);
    sink.write("in", batch(3)).unwrap();
    assert_eq!(out.text(), "");
}

#[test]
fn create_checks_options() {
    let ctx = Context::new("p", "out", PathBuf::from("."));
    let options: ConsoleOptions = parse_options(r#"{"mode": "table", "num_rows": 5}"#).unwrap();
    assert!(Console::create(options, &ctx).is_ok());
    let err = parse_options::<ConsoleOptions>(r#"{"mode": "graph"}"#).unwrap_err();
    assert!(err.to_string().contains("mode"), "{err}");
    let err = parse_options::<ConsoleOptions>(r#"{"rows": 5}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field `rows`"), "{err}");
}
