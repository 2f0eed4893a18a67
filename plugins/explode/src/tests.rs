use ferry_plugin_api::arrow::array::{Int32Array, ListArray, StringArray};
use ferry_plugin_api::arrow::datatypes::Int32Type;
use ferry_plugin_api::arrow::util::pretty::pretty_format_batches;
use ferry_plugin_api::sdk::{parse_options, Collected};

use super::*;

fn explode(options: &str, input: &RecordBatch) -> Result<String> {
    let ctx = Context::new("p", "x", "/nonexistent").with_input_schemas(vec![Some(input.schema())]);
    let mut x = Explode::create(parse_options(options)?, &ctx)?;
    let mut out = Collected::default();
    x.process("in", input.clone(), &mut out.output())?;
    let batches = out.main();
    assert_eq!(batches[0].schema(), x.output_schema(MAIN_PORT).unwrap());
    Ok(pretty_format_batches(&batches)?.to_string())
}

fn lines(values: &[Option<&str>]) -> RecordBatch {
    let id: Int32Array = (0..values.len() as i32).map(Some).collect();
    let value: StringArray = values.iter().copied().collect();
    RecordBatch::try_from_iter([
        ("id", Arc::new(id) as ArrayRef),
        ("value", Arc::new(value) as ArrayRef),
    ])
    .unwrap()
}

fn table(rows: &[&str]) -> String {
    rows.join("\n")
}

#[test]
fn split_keeps_every_piece_as_spark_does_empty_ones_included() {
    let input = lines(&[Some("to be  or"), Some(""), None, Some(" not ")]);
    let got = explode(r#"{"column": "value", "split": " ", "as": "word"}"#, &input).unwrap();
    assert_eq!(
        got,
        table(&[
            "+----+------+",
            "| id | word |",
            "+----+------+",
            "| 0  | to   |",
            "| 0  | be   |",
            "| 0  |      |",
            "| 0  | or   |",
            "| 1  |      |",
            "| 3  |      |",
            "| 3  | not  |",
            "| 3  |      |",
            "+----+------+",
        ])
    );
}

#[test]
fn split_takes_a_regular_expression_and_outer_keeps_null_rows() {
    let input = lines(&[Some("a, b,c"), None]);
    let got = explode(
        r#"{"column": "value", "split": ",\\s*", "outer": true}"#,
        &input,
    )
    .unwrap();
    assert_eq!(
        got,
        table(&[
            "+----+-------+",
            "| id | value |",
            "+----+-------+",
            "| 0  | a     |",
            "| 0  | b     |",
            "| 0  | c     |",
            "| 1  |       |",
            "+----+-------+",
        ])
    );
}

fn tags() -> RecordBatch {
    let tags = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        Some(vec![]),
        None,
        Some(vec![None, Some(3)]),
    ]);
    let id: Int32Array = (0..4).map(Some).collect();
    RecordBatch::try_from_iter([
        ("tags", Arc::new(tags) as ArrayRef),
        ("id", Arc::new(id) as ArrayRef),
    ])
    .unwrap()
}

#[test]
fn an_array_column_gives_a_row_per_element_in_its_place() {
    let got = explode(r#"{"column": "tags", "as": "tag"}"#, &tags()).unwrap();
    assert_eq!(
        got,
        table(&[
            "+-----+----+",
            "| tag | id |",
            "+-----+----+",
            "| 1   | 0  |",
            "| 2   | 0  |",
            "|     | 3  |",
            "| 3   | 3  |",
            "+-----+----+",
        ])
    );
}

#[test]
fn outer_keeps_null_and_empty_arrays_as_one_null_element() {
    let got = explode(r#"{"column": "tags", "outer": true}"#, &tags()).unwrap();
    assert_eq!(
        got,
        table(&[
            "+------+----+",
            "| tags | id |",
            "+------+----+",
            "| 1    | 0  |",
            "| 2    | 0  |",
            "|      | 1  |",
            "|      | 2  |",
            "|      | 3  |",
            "| 3    | 3  |",
            "+------+----+",
        ])
    );
}

#[test]
fn a_wrong_column_or_pattern_is_refused_at_create_naming_it() {
    let input = lines(&[Some("x")]);
    let err = |o: &str| explode(o, &input).unwrap_err().to_string();
    assert!(err(r#"{"column": "nope"}"#).contains("no column 'nope'"));
    assert!(err(r#"{"column": "value"}"#).contains("'value' is Utf8; explode needs an ARRAY"));
    assert!(err(r#"{"column": "id", "split": " "}"#).contains("split needs a STRING column"));
    assert!(err(r#"{"column": "value", "split": "("}"#).contains("split: pattern '('"));
    assert!(err(r#"{"column": "value", "pattern": " "}"#).contains("pattern"));
}
