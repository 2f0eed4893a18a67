use std::sync::Arc;

use ferry_plugin_api::arrow::array::{
    ArrayRef, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use ferry_plugin_api::arrow::util::pretty::pretty_format_batches;
use ferry_plugin_api::sdk::{
    parse_options, Collected, Component, Context, Result, Transform, MAIN_PORT,
};

use super::*;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, true),
        Field::new("name", DataType::Utf8, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
    ]))
}

/// 2024-03-05T14:07:09Z in µs.
const T: i64 = 1_709_647_629_000_000;

fn batch(rows: &[(i32, Option<&str>)]) -> RecordBatch {
    let id: Int32Array = rows.iter().map(|r| Some(r.0)).collect();
    let name: StringArray = rows.iter().map(|r| r.1).collect();
    let ts = TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| T + r.0 as i64))
        .with_timezone("UTC");
    let columns: Vec<ArrayRef> = vec![Arc::new(id), Arc::new(name), Arc::new(ts)];
    RecordBatch::try_new(schema(), columns).unwrap()
}

fn sql(options: &str) -> Result<Sql> {
    let ctx = Context::new("p", "q", "/nonexistent").with_input_schemas(vec![Some(schema())]);
    Sql::create(parse_options(options)?, &ctx)
}

fn run(sql: &mut Sql, input: RecordBatch) -> (String, Collected) {
    let mut out = Collected::default();
    sql.process("in", input, &mut out.output()).unwrap();
    let table = pretty_format_batches(&out.main()).unwrap().to_string();
    (table, out)
}

fn query(q: &str) -> String {
    serde_json_query(q, "{}")
}

fn serde_json_query(q: &str, tables: &str) -> String {
    format!(
        r#"{{"query": {}, "tables": {tables}}}"#,
        ferry_plugin_api::serde_json::to_string(q).unwrap()
    )
}

#[test]
fn projects_filters_and_derives_with_case_and_casts_per_batch() {
    let mut s = sql(&query(
        "SELECT id, upper(trim(name)) AS name, CASE WHEN id < 2 THEN 'low' ELSE 'high' END AS band, \
         CAST(id AS BIGINT) * 10 AS tens FROM input WHERE name IS NOT NULL",
    ))
    .unwrap();
    let (first, _) = run(
        &mut s,
        batch(&[(1, Some(" ann ")), (2, None), (3, Some("bo"))]),
    );
    assert_eq!(
        first,
        [
            "+----+------+------+------+",
            "| id | name | band | tens |",
            "+----+------+------+------+",
            "| 1  | ANN  | low  | 10   |",
            "| 3  | BO   | high | 30   |",
            "+----+------+------+------+",
        ]
        .join("\n")
    );
    // The same plan on the next batch.
    let (second, _) = run(&mut s, batch(&[(5, Some("cy"))]));
    assert!(second.contains("| 5  | CY   | high | 50   |"), "{second}");
    let schema = s.output_schema(MAIN_PORT).unwrap();
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["id", "name", "band", "tens"]);
}

#[test]
fn spark_functions_keep_sparks_meaning() {
    let mut s = sql(&query(
        "SELECT split(name, ',\\\\s*') AS parts, regexp_extract(name, '([a-z]+)(\\\\d+)', 2) AS n \
         FROM input",
    ))
    .unwrap();
    let (table, _) = run(
        &mut s,
        batch(&[(1, Some("ab12, cd,ef,")), (2, Some("xyz"))]),
    );
    assert!(table.contains("| [ab12, cd, ef, ] | 12 |"), "{table}");
    assert!(table.contains("| [xyz]            |    |"), "{table}");

    let mut s = sql(&query(
        "SELECT to_date('2024-3-5') AS d, to_date(name, 'dd/MM/yyyy') AS d2, \
         datediff(to_date('2024-03-05'), to_date('2024-02-28')) AS days, \
         date_format(ts, 'yyyy-MM-dd HH:mm') AS minute FROM input",
    ))
    .unwrap();
    let (table, _) = run(&mut s, batch(&[(1, Some("05/03/2024"))]));
    assert!(
        table.contains("| 2024-03-05 | 2024-03-05 | 6    | 2024-03-05 14:07 |"),
        "{table}"
    );
}

#[test]
fn a_value_a_function_cannot_convert_is_a_rejected_row_not_a_null() {
    let mut s = sql(&query("SELECT id, to_date(name) AS d FROM input")).unwrap();
    let (table, out) = run(
        &mut s,
        batch(&[
            (1, Some("2024-01-02")),
            (2, Some("soon")),
            (3, Some("2024-01-04")),
        ]),
    );
    assert!(
        table.contains("| 1  | 2024-01-02 |") && table.contains("| 3  | 2024-01-04 |"),
        "{table}"
    );
    let rejected = &out.rejected;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(
        rejected[0].reason.contains("to_date: 'soon' is not a date"),
        "{rejected:?}"
    );
    // Without a pattern too: ISO 8601 read, anything else rejected.
    let mut s = sql(&query("SELECT id, to_timestamp(name) AS t FROM input")).unwrap();
    let (table, out) = run(
        &mut s,
        batch(&[(1, Some("2024-01-02T03:04:05.678Z")), (2, Some("soon"))]),
    );
    assert!(
        table.contains("| 1  | 2024-01-02T03:04:05.678Z |"),
        "{table}"
    );
    assert_eq!(out.rejected.len(), 1, "{:?}", out.rejected);
    assert!(
        out.rejected[0].reason.contains("to_timestamp: ")
            && out.rejected[0].reason.contains("soon"),
        "{:?}",
        out.rejected
    );
    // Spark's string cast: a date alone, a space, an offset, a zone; nanoseconds are
    // refused rather than dropped.
    let (table, out) = run(
        &mut s,
        batch(&[
            (1, Some("2024-01-02")),
            (2, Some("2024-01-02 03:04:05+01:00")),
            (3, Some("2024-07-02T03:04 Europe/Paris")),
            (4, Some("2024-01-02T03:04:05.1234567Z")),
        ]),
    );
    for row in [
        "| 1  | 2024-01-02T00:00:00Z |",
        "| 2  | 2024-01-02T02:04:05Z |",
        "| 3  | 2024-07-02T01:04:00Z |",
    ] {
        assert!(table.contains(row), "{row} in {table}");
    }
    assert_eq!(out.rejected.len(), 1, "{:?}", out.rejected);
    assert!(
        out.rejected[0].reason.contains("1234567"),
        "{:?}",
        out.rejected
    );
    assert!(
        String::from_utf8_lossy(&rejected[0].raw).contains(r#""id":2"#),
        "{rejected:?}"
    );
}

#[test]
fn a_lookup_table_is_joined_and_reloaded_when_its_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("names.csv");
    std::fs::write(&csv, "id,label\n1,one\n3,three\n").unwrap();
    let tables = format!(
        r#"{{"labels": {{"path": "{}", "format": "csv", "schema": "id INT, label STRING", "reload": true}}}}"#,
        csv.display()
    );
    let mut s = sql(&serde_json_query(
        "SELECT i.id, l.label FROM input i LEFT JOIN labels l ON i.id = l.id",
        &tables,
    ))
    .unwrap();
    let (table, _) = run(&mut s, batch(&[(1, None), (2, None), (3, None)]));
    for row in ["| 1  | one   |", "| 2  |       |", "| 3  | three |"] {
        assert!(table.contains(row), "{table}");
    }
    let (again, _) = run(&mut s, batch(&[(1, None)]));
    assert!(again.contains("| 1  | one   |"), "{again}");

    std::fs::write(&csv, "id,label\n1,uno\n2,dos\n").unwrap();
    s.on_barrier(1, &mut Collected::default().output()).unwrap();
    let (reloaded, _) = run(&mut s, batch(&[(1, None), (2, None)]));
    assert!(
        reloaded.contains("| 1  | uno   |") && reloaded.contains("| 2  | dos   |"),
        "{reloaded}"
    );
}

#[test]
fn state_across_batches_and_bad_queries_are_refused_at_create() {
    let err = |q: &str| sql(&query(q)).err().unwrap().to_string();
    assert!(err("SELECT name, count(*) FROM input GROUP BY name")
        .contains("GROUP BY or an aggregate function over a stream"));
    assert!(err("SELECT * FROM input ORDER BY id").contains("ORDER BY over a stream"));
    assert!(err("SELECT * FROM input LIMIT 3").contains("LIMIT over a stream"));
    assert!(err("SELECT DISTINCT name FROM input").contains("over a stream"));
    assert!(err("SELECT a.id FROM input a JOIN input b ON a.id = b.id")
        .contains("a join of the stream with itself"));
    assert!(
        err("SELECT nope FROM input").contains("nope"),
        "{}",
        err("SELECT nope FROM input")
    );
    assert!(
        err("SELEC id FROM input").contains("SELEC"),
        "{}",
        err("SELEC id FROM input")
    );
}

fn route(options: &str) -> Result<Route> {
    let ctx = Context::new("p", "r", "/nonexistent").with_input_schemas(vec![Some(schema())]);
    Route::create(parse_options(options)?, &ctx)
}

/// The ids each port received.
fn ids_by_port(out: &Collected) -> Vec<(String, Vec<i32>)> {
    let mut ports: Vec<(String, Vec<i32>)> = Vec::new();
    for (port, b) in &out.batches {
        let ids = b.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
        let ids: Vec<i32> = ids.values().to_vec();
        match ports.iter_mut().find(|(p, _)| p == port) {
            Some((_, all)) => all.extend(ids),
            None => ports.push((port.clone(), ids)),
        }
    }
    ports.sort();
    ports
}

const ROUTES: &str = r#""routes": {"corrupted": "name IS NULL OR name IN ('', 'NONE')", "short": "length(name) < 3"}"#;

#[test]
fn route_first_sends_each_row_to_its_first_match_and_the_rest_to_unmatched() {
    let mut r = route(&format!(r#"{{{ROUTES}, "order": ["short", "corrupted"]}}"#)).unwrap();
    assert_eq!(r.output_ports(), ["short", "corrupted", "_unmatched"]);
    let mut out = Collected::default();
    let rows = [
        (1, None),
        (2, Some("")),
        (3, Some("NONE")),
        (4, Some("ab")),
        (5, Some("abcd")),
    ];
    r.process("in", batch(&rows), &mut out.output()).unwrap();
    let got = ids_by_port(&out);
    let want = [
        ("_unmatched", vec![5]),
        ("corrupted", vec![1, 3]),
        ("short", vec![2, 4]),
    ];
    let want: Vec<(String, Vec<i32>)> = want.into_iter().map(|(p, v)| (p.to_string(), v)).collect();
    assert_eq!(got, want);
}

#[test]
fn route_all_sends_a_row_to_every_match() {
    let mut r = route(&format!(r#"{{{ROUTES}, "mode": "all"}}"#)).unwrap();
    let mut out = Collected::default();
    r.process(
        "in",
        batch(&[(2, Some("")), (5, Some("abcd"))]),
        &mut out.output(),
    )
    .unwrap();
    let got = ids_by_port(&out);
    let want = [
        ("_unmatched", vec![5]),
        ("corrupted", vec![2]),
        ("short", vec![2]),
    ];
    let want: Vec<(String, Vec<i32>)> = want.into_iter().map(|(p, v)| (p.to_string(), v)).collect();
    assert_eq!(got, want);
}

#[test]
fn route_refuses_bad_predicates_and_port_names() {
    let err = |o: &str| route(o).err().unwrap().to_string();
    assert!(
        err(r#"{"routes": {"x": "nope > 1"}}"#).contains("routes: "),
        "{}",
        err(r#"{"routes": {"x": "nope > 1"}}"#)
    );
    assert!(err(r#"{"routes": {"late": "true"}}"#).contains("'late' is a port every node has"));
    assert!(err(r#"{"routes": {"x": "true"}, "order": ["y"]}"#)
        .contains("order: 'y' is not one of the routes"));
}

#[test]
fn from_json_gives_a_struct_whose_fields_the_query_reads_and_rejects_what_does_not_fit() {
    let mut s = sql(&query(
        "SELECT id, j.a AS a, j.b AS b, from_json(name, 'a INT, b STRING')['a'] AS again \
         FROM (SELECT id, name, from_json(name, 'a INT, b STRING') AS j FROM input) t",
    ))
    .unwrap();
    let (table, out) = run(
        &mut s,
        batch(&[
            (1, Some(r#"{"a": 7, "b": "x"}"#)),
            (2, Some(r#"{"a": 1.5}"#)),
            (3, Some(r#"{"b": "y"}"#)),
            (4, Some("{not json")),
            (5, None),
        ]),
    );
    for row in [
        "| 1  | 7 | x | 7     |",
        "| 3  |   | y |       |",
        "| 5  |   |   |       |",
    ] {
        assert!(table.contains(row), "{table}");
    }
    assert_eq!(table.lines().count(), 7, "{table}");
    let reasons: Vec<&str> = out.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| r.contains("from_json: ")),
        "{reasons:?}"
    );
    assert!(
        String::from_utf8_lossy(&out.rejected[1].raw).contains(r#""id":4"#),
        "{:?}",
        out.rejected
    );
}
