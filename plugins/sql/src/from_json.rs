//! Spark's `from_json(json, 'a INT, b STRING')`: a JSON string column parsed into a
//! STRUCT of the given DDL schema, by the SDK's exact JSON decoder. Where Spark's default
//! (PERMISSIVE) mode gives a null for a malformed string, this fails the batch, so the sql
//! transform rejects that row: a value is exactly what the data said, or a rejected
//! record. A null string, the JSON `null` and an absent field are nulls.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema};
use datafusion::common::{exec_err, internal_err, plan_err, DFSchema, Result};
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawFieldAccessExpr};
use datafusion::logical_expr::{
    ColumnarValue, GetFieldAccess, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use ferry_plugin_api::sdk::ddl::parse_ddl;
use ferry_plugin_api::sdk::decode::{excerpt, JsonDecoder, EXCERPT_CHARS};

use crate::spark::strings;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FromJson {
    signature: Signature,
}

impl FromJson {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FromJson {
    fn name(&self) -> &str {
        "from_json"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        internal_err!("from_json: its type is the schema argument's (return_field_from_args)")
    }

    /// The STRUCT the schema literal declares; the schema must be a constant string.
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let ddl = args.scalar_arguments.get(1).copied().flatten();
        let Some(ddl) = ddl.and_then(|s| s.try_as_str().flatten()) else {
            return plan_err!("from_json: the schema must be a string literal: 'a INT, b STRING'");
        };
        let schema = match parse_ddl(ddl) {
            Ok(schema) => schema,
            Err(e) => return plan_err!("from_json: schema: {e}"),
        };
        let fields = DataType::Struct(schema.fields().clone());
        Ok(Arc::new(Field::new(self.name(), fields, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let DataType::Struct(fields) = args.return_field.data_type() else {
            return internal_err!("from_json: returns a STRUCT");
        };
        let text = args.args[0].clone().into_array(args.number_rows)?;
        Ok(ColumnarValue::Array(from_json(&text, fields)?))
    }
}

/// Each string of `text` as one row of `fields`; fails on the first that is not exactly
/// one JSON object (or `null`) whose values fit their fields.
fn from_json(text: &ArrayRef, fields: &Fields) -> Result<ArrayRef> {
    let text = strings(text, "from_json")?;
    let text = text.as_string::<i32>();
    let (mut records, mut rows) = (Vec::new(), Vec::new());
    for (row, value) in text.iter().enumerate() {
        if let Some(value) = value.filter(|v| v.trim() != "null") {
            // Spark (since 3.0) reads no array, not even of one object, as a struct.
            if !value.trim_start().starts_with('{') {
                return not_one_object(value.as_bytes());
            }
            records.push(value.as_bytes());
            rows.push(row);
        }
    }
    let schema = Arc::new(Schema::new(fields.clone()));
    let decoded = match JsonDecoder::new(schema).decode(&records) {
        Ok(decoded) => decoded,
        Err(e) => return exec_err!("from_json: {e}"),
    };
    if let Some(bad) = decoded.rejected.first() {
        let json = excerpt(&bad.raw, EXCERPT_CHARS);
        return exec_err!("from_json: {} in '{json}'", bad.reason);
    }
    // A record decodes to as many rows as it holds objects: exactly one is a struct.
    let mut objects = vec![0usize; records.len()];
    decoded.row_sources.iter().for_each(|&r| objects[r] += 1);
    if let Some(r) = objects.iter().position(|&n| n != 1) {
        return not_one_object(records[r]);
    }
    let structs = StructArray::try_new(fields.clone(), decoded.batch.columns().to_vec(), None)?;
    // Input row i takes decoded row k, or is null.
    let mut at: Vec<Option<u32>> = vec![None; text.len()];
    for (k, &row) in rows.iter().enumerate() {
        at[row] = Some(k as u32);
    }
    Ok(take(&structs, &UInt32Array::from(at), None)?)
}

/// Plans `s['field']` on a STRUCT as `s.field` (DataFusion's planner for it comes with
/// its array functions, which this crate does not build).
#[derive(Debug)]
pub struct StructFieldAccess;

impl ExprPlanner for StructFieldAccess {
    fn plan_field_access(
        &self,
        access: RawFieldAccessExpr,
        _schema: &DFSchema,
    ) -> Result<PlannerResult<RawFieldAccessExpr>> {
        match access.field_access {
            GetFieldAccess::NamedStructField { name } => {
                Ok(PlannerResult::Planned(get_field(access.expr, name)))
            }
            _ => Ok(PlannerResult::Original(access)),
        }
    }
}

fn not_one_object<T>(json: &[u8]) -> Result<T> {
    let json = excerpt(json, EXCERPT_CHARS);
    exec_err!("from_json: '{json}' is not one JSON object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::util::pretty::pretty_format_columns;

    fn parse(ddl: &str, json: &[Option<&str>]) -> Result<String> {
        let fields = parse_ddl(ddl).unwrap().fields().clone();
        let text: ArrayRef = Arc::new(StringArray::from(json.to_vec()));
        let out = from_json(&text, &fields)?;
        Ok(pretty_format_columns("s", &[out]).unwrap().to_string())
    }

    #[test]
    fn objects_become_structs_and_nulls_stay_null() {
        let table = parse(
            "a INT, b STRING, t TIMESTAMP, tags ARRAY<STRING>",
            &[
                Some(r#"{"a": 1, "b": "x", "t": "2024-03-05T14:07:09Z", "tags": ["p", "q"]}"#),
                None,
                Some("null"),
                Some(r#"{"b": null, "extra": true}"#),
            ],
        )
        .unwrap();
        let rows: Vec<&str> = table.lines().skip(3).take(4).collect();
        assert_eq!(
            rows,
            [
                "| {a: 1, b: x, t: 2024-03-05T14:07:09Z, tags: [p, q]} |",
                "|                                                     |",
                "|                                                     |",
                "| {a: , b: , t: , tags: }                             |",
            ],
            "{table}"
        );
    }

    #[test]
    fn malformed_json_and_values_that_do_not_fit_fail() {
        let err = |json: &str| {
            parse("a INT, b STRING", &[Some(r#"{"a": 1}"#), Some(json)])
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(r#"{"a": 1"#).contains("from_json: "),
            "{}",
            err(r#"{"a": 1"#)
        );
        let too_big = err(r#"{"a": 4294967296}"#);
        assert!(too_big.contains("4294967296"), "{too_big}");
        let fraction = err(r#"{"a": 1.5}"#);
        assert!(
            fraction.contains("'a'") || fraction.contains("1.5"),
            "{fraction}"
        );
        let two = err(r#"{"a": 1} {"a": 2}"#);
        assert!(two.contains("trailing characters"), "{two}");
        for not_one_object in ["", "  ", r#"[{"a": 1}]"#] {
            assert!(
                err(not_one_object).contains("is not one JSON object"),
                "{not_one_object}: {}",
                err(not_one_object)
            );
        }
        assert!(
            err("5").contains("'5' is not one JSON object"),
            "{}",
            err("5")
        );
    }
}
