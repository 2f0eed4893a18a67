//! The sql and route transforms through the binary: JSON files → sql (derived columns, a
//! countries lookup join) → route corrupted / valid → two Parquet lakes, read back with
//! DuckDB; `from_json` parsing a JSON string column into a struct whose fields the query
//! reads, the rows whose JSON does not fit rejected to a dead-letter lake; and `ferry
//! validate` refusing SQL that needs state or names a missing column.

use std::time::Duration;

use ferry_tests::{duckdb, ferry, run_pipeline, write_complete};

/// Six messages: two corrupted (a null and a `NONE` event type), one whose country has
/// no row in the lookup table.
const MESSAGES: &str = r#"{"ts": "2024-03-05T10:00:00Z", "event_type": "OPEN", "value": 5, "country_id": 1}
{"ts": "2024-03-05T23:59:59Z", "event_type": null, "value": 7, "country_id": 2}
{"ts": "2024-03-06T00:00:00Z", "event_type": "SENT", "value": 1500, "country_id": 2}
{"ts": "2024-03-06T08:00:00Z", "event_type": "NONE", "value": 9, "country_id": 1}
{"ts": "2024-03-07T12:30:00Z", "event_type": "CLICKED", "value": 250, "country_id": 9}
{"ts": "2024-03-07T12:31:00Z", "event_type": " open ", "value": 99, "country_id": 1}
"#;

const PIPELINE: &str = r#"
[pipeline]
name = "silver"
trigger = "available_now"

[sources.bronze]
plugin = "file"
path = "in"
format = "json"
schema = "ts TIMESTAMP, event_type STRING, value BIGINT, country_id INT"

[transforms.clean]
plugin = "sql"
inputs = ["bronze"]
query = """
SELECT upper(trim(m.event_type)) AS event_type, m.value, to_date(m.ts) AS date,
       CASE WHEN m.value < 100 THEN 'small' WHEN m.value < 1000 THEN 'medium' ELSE 'large' END AS bucket,
       c.country
FROM input m LEFT JOIN countries c ON m.country_id = c.country_id
"""
tables = { countries = { path = "countries.csv", format = "csv", schema = "country_id INT, country STRING" } }

[transforms.split]
plugin = "route"
inputs = ["clean"]
routes = { corrupted = "event_type IS NULL OR event_type IN ('', 'NONE')", valid = "true" }
order = ["corrupted", "valid"]

[sinks.corrupted]
plugin = "lake"
inputs = ["split.corrupted"]
path = "lake/corrupted"
format = "parquet"

[sinks.valid]
plugin = "lake"
inputs = ["split.valid"]
path = "lake/valid"
format = "parquet"
partition_by = ["date"]
"#;

#[test]
fn sql_derives_and_joins_and_route_splits_every_row_to_one_lake() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), PIPELINE).unwrap();
    std::fs::write(
        dir.path().join("countries.csv"),
        "country_id,country\n1,Scotland\n2,Wales\n",
    )
    .unwrap();
    write_complete(&dir.path().join("in/m.json"), MESSAGES);
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");

    let lake = dir.path().join("lake");
    let valid = duckdb(&format!(
        "SELECT event_type, value, CAST(date AS VARCHAR), bucket, country FROM \
         read_parquet('{}/valid/**/*.parquet', hive_partitioning = true) ORDER BY value",
        lake.display()
    ));
    assert_eq!(
        valid.trim(),
        "[('OPEN', 5, '2024-03-05', 'small', 'Scotland'), ('OPEN', 99, '2024-03-07', 'small', 'Scotland'), \
         ('CLICKED', 250, '2024-03-07', 'medium', None), ('SENT', 1500, '2024-03-06', 'large', 'Wales')]"
    );
    let corrupted = duckdb(&format!(
        "SELECT event_type, value FROM read_parquet('{}/corrupted/*.parquet') ORDER BY value",
        lake.display()
    ));
    assert_eq!(corrupted.trim(), "[(None, 7), ('NONE', 9)]");
}

/// Payloads as a Kafka value or a log line carries them, a JSON string in a column: three
/// that fit the schema (one with fields absent), a null, and three rejected.
const PAYLOADS: &str = r#"{"id": 1, "payload": "{\"customer\": \"ann\", \"amount\": 2.5, \"tags\": [\"a\", \"b\"]}"}
{"id": 2, "payload": "{\"customer\": \"bo\", \"extra\": 1}"}
{"id": 3, "payload": null}
{"id": 4, "payload": "{\"customer\": \"cy\", \"amount\": \"lots\"}"}
{"id": 5, "payload": "{\"customer\": \"dee\""}
{"id": 6, "payload": "[{\"customer\": \"eve\"}]"}
{"id": 7, "payload": "{\"customer\": null, \"amount\": 7}"}
"#;

const FROM_JSON: &str = r#"
[pipeline]
name = "payloads"
trigger = "available_now"
errors.tolerance = "all"

[sources.raw]
plugin = "file"
path = "in"
format = "json"
schema = "id INT, payload STRING"

[transforms.parsed]
plugin = "sql"
inputs = ["raw"]
query = """
SELECT id, p.customer AS customer, p.amount AS amount, from_json(payload, 'customer STRING, amount DOUBLE, tags ARRAY<STRING>')['tags'] AS tags
FROM (SELECT id, payload, from_json(payload, 'customer STRING, amount DOUBLE, tags ARRAY<STRING>') AS p FROM input) AS t
"""

[sinks.lake]
plugin = "lake"
inputs = ["parsed"]
path = "lake/parsed"
format = "parquet"

[sinks.rejected]
plugin = "lake"
inputs = ["$dead_letter"]
path = "lake/rejected"
format = "parquet"
"#;

#[test]
fn from_json_parses_a_string_column_into_a_struct_and_rejects_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), FROM_JSON).unwrap();
    write_complete(&dir.path().join("in/payloads.json"), PAYLOADS);
    let run = run_pipeline(dir.path(), "p.toml", Duration::from_secs(60));
    assert!(run.status.success(), "{run:?}");

    let lake = dir.path().join("lake");
    let parsed = duckdb(&format!(
        "SELECT id, customer, amount, tags FROM read_parquet('{}/parsed/*.parquet') ORDER BY id",
        lake.display()
    ));
    assert_eq!(
        parsed.trim(),
        "[(1, 'ann', 2.5, ['a', 'b']), (2, 'bo', None, None), (3, None, None, None), (7, None, 7.0, None)]"
    );
    let rejected = duckdb(&format!(
        "SELECT json_extract(decode(raw), '$.id')::INT AS id, reason LIKE 'sql: %from_json: %' \
         FROM read_parquet('{}/rejected/*.parquet') ORDER BY id",
        lake.display()
    ));
    assert_eq!(rejected.trim(), "[(4, True), (5, True), (6, True)]");
}

fn validate(query: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = format!(
        "[pipeline]\nname = \"v\"\n[sources.gen]\nplugin = \"datagen\"\ngenerator = \"messages\"\n\
         [transforms.q]\nplugin = \"sql\"\ninputs = [\"gen\"]\nquery = \"{query}\"\n\
         [sinks.out]\nplugin = \"console\"\ninputs = [\"q\"]\n"
    );
    std::fs::write(dir.path().join("v.toml"), pipeline).unwrap();
    let out = ferry(dir.path(), &["validate", "v.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn validate_refuses_stateful_sql_and_missing_columns_naming_the_node() {
    let grouped = validate("SELECT channel, count(*) FROM input GROUP BY channel");
    assert!(grouped.contains("[transforms.q]"), "{grouped}");
    assert!(
        grouped.contains("GROUP BY or an aggregate function over a stream"),
        "{grouped}"
    );
    assert!(grouped.contains("window plugin"), "{grouped}");
    let missing = validate("SELECT channnel FROM input");
    assert!(
        missing.contains("[transforms.q]") && missing.contains("channnel"),
        "{missing}"
    );
}
