//! A value is exactly what the data said, or its record is rejected: JSON numbers that
//! do not fit their column, numbers for TIMESTAMP (epoch seconds, or `timestamp_unit`)
//! and DATE columns, values inside STRUCT, ARRAY and MAP fields and DECIMALs, an unclosed
//! JSON line, CSV fields with a quote inside or invalid UTF-8, and CHAR/VARCHAR schemas,
//! through the real `ferry` binary under both tolerances: the good rows by id and value,
//! the dead-letter records (raw bytes as hex, reason, node, position), the exit code,
//! and the escaped record in the failure.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use ferry_tests::{dead_letter_rows, ferry, hex, run_pipeline, table_rows, Finished};

/// JSON file `in/a.json`, read first: one record per class of inexact number.
const A_JSON: &[&str] = &[
    r#"{"id": 1, "n": 9223372036854775807, "t": -128, "ts": 1709647629, "day": "2024-03-05"}"#,
    r#"{"id": 2, "n": 1.5}"#,
    r#"{"id": 3, "n": 9223372036854775808}"#,
    r#"{"id": 4, "n": -9223372036854775809}"#,
    r#"{"id": 5, "t": 300}"#,
    r#"{"id": 6, "n": 01}"#,
    r#"{"id": 7, "n": -9223372036854775808, "t": 127, "ts": 1.5}"#,
    r#"{"id": 8, "ts": 1.0000001}"#,
    r#"{"id": 9, "day": 19723}"#,
    r#"{"id": 10, "n": 1e3}"#,
];

/// JSON file `in/b.json`, read second: its first line opens an array it never closes.
const B_JSON: &[&str] = &[
    r#"[{"id": 11, "n": 1}"#,
    r#"{"id": 12, "ts": 1709647629.123456}"#,
    r#"{"id": 13, "n": 0}"#,
];

const JSON_SCHEMA: &str = "id INT, n BIGINT, t TINYINT, ts TIMESTAMP, day DATE";

/// CSV file `csv/c.csv` (no header); line 2 carries a NUL and an escape sequence.
const C_CSV: &[&[u8]] = &[
    b"1,plain,10",
    b"2,\"a\"b\x00\x1b[2J,20",
    b"3,a\"b\"c,30",
    b"4,\"say \"\"hi\"\"\",40",
    b"5,caf\xe9,50",
    b"6,\"x\",60",
    b"7,y,300",
];

const CSV_SCHEMA: &str = "id INT, text STRING, n TINYINT";

/// What the RAISE_ERROR quote rule says of line 2's field.
const UNESCAPED_QUOTE: &str =
    "a quote inside a quoted field that is neither escaped nor followed by the delimiter";

fn lines(records: &[&[u8]]) -> Vec<u8> {
    records.iter().flat_map(|r| [*r, b"\n"].concat()).collect()
}

fn write(dir: &Path, name: &str, records: &[&[u8]], age_secs: u64) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, lines(records)).unwrap();
    // Files are read oldest first: the ages fix the order.
    let modified = SystemTime::now() - Duration::from_secs(age_secs);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

fn bytes<'a>(records: &[&'a str]) -> Vec<&'a [u8]> {
    records.iter().map(|r| r.as_bytes()).collect()
}

/// A pipeline of `sources` (TOML), a console sink per source and one on `$dead_letter`.
fn pipeline(dir: &Path, tolerance: &str, sources: &[(&str, &str)]) {
    let mut toml = format!(
        "[pipeline]\nname = \"exact\"\ntrigger = \"available_now\"\n\
         errors.tolerance = \"{tolerance}\"\nrestart = {{ attempts = 3, backoff = \"10ms\" }}\n"
    );
    for (name, source) in sources {
        toml += &format!("\n[sources.{name}]\nplugin = \"file\"\n{source}\n");
        toml += &format!(
            "\n[sinks.{name}_out]\nplugin = \"console\"\ninputs = [\"{name}\"]\ntruncate = false\n"
        );
    }
    toml += "\n[sinks.bad]\nplugin = \"console\"\ninputs = [\"$dead_letter\"]\ntruncate = false\n";
    std::fs::write(dir.join("p.toml"), toml).unwrap();
}

fn json_source(path: &str, extra: &str) -> String {
    format!("path = \"{path}\"\nformat = \"json\"\nschema = \"{JSON_SCHEMA}\"\n{extra}")
}

/// RFC 4180 quoting (doubled quotes) and strict quotes: a quoted field must be closed
/// before its delimiter.
fn csv_source() -> String {
    format!(
        "path = \"csv\"\nformat = \"csv\"\nheader = false\nschema = \"{CSV_SCHEMA}\"\n\
         escape = '\"'\nunescaped_quote_handling = \"RAISE_ERROR\""
    )
}

/// The dead-letter records as (raw hex, reason, node, position), sorted by position.
fn dead_letters(stdout: &str) -> Vec<[String; 4]> {
    let mut dead = dead_letter_rows(stdout);
    let key = |p: &str| {
        let (file, line) = p.rsplit_once(':').unwrap();
        (file.to_string(), line.parse::<u32>().unwrap())
    };
    dead.sort_by_key(|d| key(&d[3]));
    dead
}

fn dead(raw: &[u8], reason: &str, node: &str, position: &str) -> [String; 4] {
    [hex(raw), reason.into(), node.into(), position.into()]
}

fn run(dir: &Path) -> Finished {
    run_pipeline(dir, "p.toml", Duration::from_secs(120))
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    let row = |r: &&[&str]| r.iter().map(|c| c.to_string()).collect();
    rows.iter().map(row).collect()
}

#[test]
fn json_numbers_are_exact_or_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in/a.json", &bytes(A_JSON), 20);
    write(dir.path(), "in/b.json", &bytes(B_JSON), 10);
    let ms = [
        r#"{"id": 21, "ts": 1709647629123}"#,
        r#"{"id": 22, "ts": 1.5}"#,
    ];
    write(dir.path(), "ms/m.json", &bytes(&ms), 10);
    pipeline(
        dir.path(),
        "all",
        &[
            ("json", &json_source("in", "")),
            ("millis", &json_source("ms", "timestamp_unit = \"ms\"")),
        ],
    );
    let run = run(dir.path());
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let mut good = table_rows(&run.stdout, &["id", "n", "t", "ts", "day"]);
    good.sort_by_key(|r| r[0].parse::<u32>().unwrap());
    let expected: &[&[&str]] = &[
        &[
            "1",
            "9223372036854775807",
            "-128",
            "2024-03-05T14:07:09Z",
            "2024-03-05",
        ],
        &[
            "7",
            "-9223372036854775808",
            "127",
            "1970-01-01T00:00:01.500Z",
            "null",
        ],
        &["12", "null", "null", "2024-03-05T14:07:09.123456Z", "null"],
        &["13", "0", "null", "null", "null"],
        &["21", "null", "null", "2024-03-05T14:07:09.123Z", "null"],
        &["22", "null", "null", "1970-01-01T00:00:00.001500Z", "null"],
    ];
    assert_eq!(good, strings(expected), "{}", run.stdout);
    let a = |line: usize, reason: &str| {
        let position = format!("in/a.json:{line}");
        dead(A_JSON[line - 1].as_bytes(), reason, "json", &position)
    };
    let expected = vec![
        a(2, "field 'n': expected BIGINT, got 1.5 (not an integer)"),
        a(3, "field 'n': expected BIGINT, got 9223372036854775808 (out of range)"),
        a(4, "field 'n': expected BIGINT, got -9223372036854775809 (out of range)"),
        a(5, "field 't': expected TINYINT, got 300 (out of range)"),
        a(6, "malformed JSON: invalid number at line 1 column 17 ('01')"),
        a(8, "field 'ts': expected TIMESTAMP, got 1.0000001 (seconds since the epoch: finer than the microseconds a TIMESTAMP holds)"),
        a(9, r#"field 'day': expected DATE, got 19723 (a JSON number is not a DATE: write it as a string, e.g. "2024-03-05")"#),
        a(10, "field 'n': expected BIGINT, got 1e3 (not an integer)"),
        dead(
            B_JSON[0].as_bytes(),
            "malformed JSON: EOF while parsing a list at line 1 column 19",
            "json",
            "in/b.json:1",
        ),
    ];
    assert_eq!(dead_letters(&run.stdout), expected, "{}", run.stdout);
    assert!(run.stderr.contains("9 rejected"), "{}", run.stderr);
}

#[test]
fn json_tolerance_none_fails_at_the_first_inexact_number() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "in/a.json", &bytes(A_JSON), 20);
    pipeline(dir.path(), "none", &[("json", &json_source("in", ""))]);
    let run = run(dir.path());
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let message = r#"rejected a record at in/a.json:2: field 'n': expected BIGINT, got 1.5 (not an integer) (record: {"id": 2, "n": 1.5})"#;
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert!(!run.stderr.contains("restarting"), "{}", run.stderr);
    assert_eq!(dead_letters(&run.stdout), Vec::<[String; 4]>::new());
    // The run fails inside the poll that met the record: its rows are not delivered.
    let good = table_rows(&run.stdout, &["id", "n", "t", "ts", "day"]);
    assert_eq!(good, Vec::<Vec<String>>::new(), "{}", run.stdout);
}

#[test]
fn csv_fields_are_kept_exactly_or_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "csv/c.csv", C_CSV, 10);
    pipeline(dir.path(), "all", &[("csv", &csv_source())]);
    let run = run(dir.path());
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let mut good = table_rows(&run.stdout, &["id", "text", "n"]);
    good.sort_by_key(|r| r[0].parse::<u32>().unwrap());
    let expected: &[&[&str]] = &[
        &["1", "plain", "10"],
        &["3", "a\"b\"c", "30"],
        &["4", "say \"hi\"", "40"],
        &["6", "x", "60"],
    ];
    assert_eq!(good, strings(expected), "{}", run.stdout);
    let c = |line: usize, reason: String| {
        let position = format!("csv/c.csv:{line}");
        dead(C_CSV[line - 1], &reason, "csv", &position)
    };
    let expected = vec![
        c(
            2,
            format!(r#"column 'text': {UNESCAPED_QUOTE} in '"a"b\0\u{{1b}}[2J'"#),
        ),
        c(
            5,
            "column 'text': invalid UTF-8 (byte 4 of the field: e9)".into(),
        ),
        c(7, "column 'n': cannot parse '300' as TINYINT".into()),
    ];
    assert_eq!(dead_letters(&run.stdout), expected, "{}", run.stdout);
}

#[test]
fn csv_tolerance_none_fails_naming_the_field_with_the_record_escaped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "csv/c.csv", C_CSV, 10);
    pipeline(dir.path(), "none", &[("csv", &csv_source())]);
    let run = run(dir.path());
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let message = format!(
        r#"rejected a record at csv/c.csv:2: column 'text': {UNESCAPED_QUOTE} in '"a"b\0\u{{1b}}[2J' (record: 2,"a"b\0\u{{1b}}[2J,20)"#
    );
    assert!(run.stderr.contains(&message), "{}", run.stderr);
    // The raw control bytes never reach the log.
    assert!(
        !run.stderr.contains('\x1b') && !run.stderr.contains('\0'),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("restarting"), "{}", run.stderr);
}

#[test]
fn char_and_varchar_are_refused_by_validate_pointing_at_string() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("in")).unwrap();
    pipeline(
        dir.path(),
        "all",
        &[(
            "json",
            "path = \"in\"\nformat = \"json\"\nschema = \"id INT, code CHAR(3)\"",
        )],
    );
    let out = ferry(dir.path(), &["validate", "p.toml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 2: the configuration is invalid.
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let message = "error: p.toml:11: [sources.json] plugin 'file': schema: CHAR is not supported: \
         its length would not be checked; use STRING at position 13 in \"id INT, code CHAR(3)\"\n  \
         id INT, code CHAR(3)\n               ^^^^";
    assert!(stderr.contains(message), "{stderr}");
}

/// JSON file `nested/n.json`: values inside STRUCT, ARRAY and MAP fields, and DECIMALs.
const N_JSON: &[&str] = &[
    r#"{"id": 1, "amount": 12.30, "geo": {"n": 5, "at": "2024-03-05T14:07:09Z"}, "tags": [1, "2"], "m": {"k": 3}}"#,
    r#"{"id": 2, "amount": 12.345}"#,
    r#"{"id": 3, "geo": {"n": 1.5}}"#,
    r#"{"id": 4, "geo": {"at": 1709647629}}"#,
    r#"{"id": 5, "tags": [1, 300]}"#,
    r#"{"id": 6, "m": {"k": 2.5}}"#,
    r#"{"id": 7, "amount": -0.5, "tags": []}"#,
];

const NESTED_SCHEMA: &str =
    "id INT, amount DECIMAL(10,2), geo STRUCT<n: BIGINT, at: TIMESTAMP>, tags ARRAY<TINYINT>, m MAP<STRING, INT>";

fn nested_source() -> String {
    format!("path = \"nested\"\nformat = \"json\"\nschema = \"{NESTED_SCHEMA}\"")
}

#[test]
fn nested_values_and_decimals_are_exact_or_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nested/n.json", &bytes(N_JSON), 10);
    pipeline(dir.path(), "all", &[("nested", &nested_source())]);
    let run = run(dir.path());
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let mut good = table_rows(&run.stdout, &["id", "amount", "geo", "tags", "m"]);
    good.sort_by_key(|r| r[0].parse::<u32>().unwrap());
    let expected: &[&[&str]] = &[
        &[
            "1",
            "12.30",
            "{n: 5, at: 2024-03-05T14:07:09Z}",
            "[1, 2]",
            "{k: 3}",
        ],
        &["7", "-0.50", "null", "[]", "null"],
    ];
    assert_eq!(good, strings(expected), "{}", run.stdout);
    let n = |line: usize, reason: &str| {
        let position = format!("nested/n.json:{line}");
        dead(N_JSON[line - 1].as_bytes(), reason, "nested", &position)
    };
    let expected = vec![
        n(2, "field 'amount': expected DECIMAL(10,2), got 12.345 (more than 2 digits after the point)"),
        n(3, "field 'geo.n': expected BIGINT, got 1.5 (not an integer)"),
        n(4, "field 'geo.at': expected TIMESTAMP, got 1709647629 (a number inside a STRUCT, ARRAY or MAP is not read as a time; write an ISO 8601 string)"),
        n(5, "field 'tags[1]': expected TINYINT, got 300 (out of range)"),
        n(6, "field 'm['k']': expected INT, got 2.5 (not an integer)"),
    ];
    assert_eq!(dead_letters(&run.stdout), expected, "{}", run.stdout);
}

#[test]
fn nested_tolerance_none_fails_at_the_first_inexact_value() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nested/n.json", &bytes(N_JSON), 10);
    pipeline(dir.path(), "none", &[("nested", &nested_source())]);
    let run = run(dir.path());
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let message = r#"rejected a record at nested/n.json:2: field 'amount': expected DECIMAL(10,2), got 12.345 (more than 2 digits after the point)"#;
    assert!(run.stderr.contains(message), "{}", run.stderr);
    assert!(!run.stderr.contains("restarting"), "{}", run.stderr);
}
