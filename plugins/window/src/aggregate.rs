//! Aggregates: `count(*)`, `count(c)`, `sum(c)`, `avg(c)`, `min(c)`, `max(c)`,
//! `first(c)`, `last(c)` and `count_distinct(c)`, parsed from their text, fed row by
//! row, merged (session windows) and turned into output columns with Spark's types.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferry_plugin_api::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch,
};
use ferry_plugin_api::arrow::compute::cast;
use ferry_plugin_api::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use ferry_plugin_api::sdk::rows::{EncodedRows, RowCodec};
use ferry_plugin_api::sdk::{Error, Result};
use serde::{Deserialize, Serialize};

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    First,
    Last,
    CountDistinct,
}

/// One output column: `name = "func(column)"`.
#[derive(Debug)]
pub struct Aggregate {
    pub name: String,
    func: Func,
    /// `None` for `count(*)`.
    column: Option<String>,
    /// The input column's type.
    input: Option<DataType>,
    /// sum and avg: whether the input is an integer (summed exactly, as Spark's LONG).
    integer: bool,
}

impl Aggregate {
    /// Parses `spec` ("sum(value)") for output column `name`, checked against `schema`.
    pub fn parse(name: &str, spec: &str, schema: &Schema) -> Result<Self> {
        let bad = || Error::msg(format!("aggregates.{name}: '{spec}' is not func(column)"));
        let (func, rest) = spec.trim().split_once('(').ok_or_else(bad)?;
        let column = rest.strip_suffix(')').ok_or_else(bad)?.trim();
        let func = match func.trim().to_ascii_lowercase().as_str() {
            "count" => Func::Count,
            "sum" => Func::Sum,
            "avg" | "mean" => Func::Avg,
            "min" => Func::Min,
            "max" => Func::Max,
            "first" => Func::First,
            "last" => Func::Last,
            "count_distinct" => Func::CountDistinct,
            other => {
                return Err(Error::msg(format!(
                    "aggregates.{name}: unknown function '{other}' (count, sum, avg, min, max, first, last, count_distinct)"
                )))
            }
        };
        if column == "*" {
            return match func {
                Func::Count => Ok(Self {
                    name: name.into(),
                    func,
                    column: None,
                    input: None,
                    integer: false,
                }),
                _ => Err(Error::msg(format!("aggregates.{name}: only count takes *"))),
            };
        }
        let field = schema.field_with_name(column).map_err(|_| {
            Error::msg(format!(
                "aggregates.{name}: no column '{column}' in the input"
            ))
        })?;
        let input = field.data_type().clone();
        let integer = input.is_integer();
        if matches!(func, Func::Sum | Func::Avg) && !integer && !input.is_floating() {
            return Err(Error::msg(format!(
                "aggregates.{name}: {spec} needs a numeric column; '{column}' is {input}"
            )));
        }
        Ok(Self {
            name: name.into(),
            func,
            column: Some(column.into()),
            input: Some(input),
            integer,
        })
    }

    /// The output column's field.
    pub fn field(&self) -> Field {
        match self.func {
            Func::Count | Func::CountDistinct => Field::new(&self.name, DataType::Int64, false),
            Func::Sum if self.integer => Field::new(&self.name, DataType::Int64, true),
            Func::Sum | Func::Avg => Field::new(&self.name, DataType::Float64, true),
            _ => Field::new(
                &self.name,
                self.input.clone().unwrap_or(DataType::Null),
                true,
            ),
        }
    }

    pub fn empty(&self) -> Acc {
        match self.func {
            Func::Count => Acc::Count(0),
            Func::Sum | Func::Avg => Acc::Sum {
                int: 0,
                float: 0.0,
                n: 0,
            },
            Func::Min | Func::Max => Acc::Extreme(None),
            Func::First | Func::Last => Acc::Timed(None),
            Func::CountDistinct => Acc::Distinct(BTreeSet::new()),
        }
    }

    /// This aggregate's view of a batch.
    pub fn input(&self, batch: &RecordBatch) -> Result<Input> {
        let Some(column) = &self.column else {
            return Ok(Input::Rows);
        };
        let array = batch.column_by_name(column).ok_or_else(|| {
            Error::msg(format!(
                "aggregates.{}: no column '{column}' in the rows",
                self.name
            ))
        })?;
        Ok(match self.func {
            Func::Count => Input::Present(array.clone()),
            Func::Sum | Func::Avg if self.integer => Input::Ints(
                cast(array, &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
            Func::Sum | Func::Avg => Input::Floats(
                cast(array, &DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .clone(),
            ),
            _ => {
                let codec = RowCodec::new(vec![array.data_type().clone()])?;
                Input::Bytes(array.clone(), codec.encode(std::slice::from_ref(array))?)
            }
        })
    }

    /// Feeds row `i` (event time `time`) into `acc`.
    pub fn update(&self, acc: &mut Acc, input: &Input, i: usize, time: i64) -> Result<()> {
        match (acc, input) {
            (Acc::Count(n), Input::Rows) => *n += 1,
            (Acc::Count(n), Input::Present(a)) => *n += i64::from(a.is_valid(i)),
            (Acc::Sum { int, n, .. }, Input::Ints(a)) if a.is_valid(i) => {
                *int = int.checked_add(a.value(i)).ok_or_else(|| {
                    Error::msg(format!(
                        "aggregates.{}: the sum overflows BIGINT",
                        self.name
                    ))
                })?;
                *n += 1;
            }
            (Acc::Sum { float, n, .. }, Input::Floats(a)) if a.is_valid(i) => {
                *float += a.value(i);
                *n += 1;
            }
            (Acc::Extreme(best), Input::Bytes(a, rows)) if a.is_valid(i) => {
                let value = rows.row(i);
                let better = best.as_deref().is_none_or(|b| match self.func {
                    Func::Min => value < b,
                    _ => value > b,
                });
                if better {
                    *best = Some(value.to_vec());
                }
            }
            (Acc::Timed(kept), Input::Bytes(_, rows)) => {
                // By event time; on a tie the first to arrive stays first, the last last.
                let replace = kept.as_ref().is_none_or(|(t, _)| match self.func {
                    Func::First => time < *t,
                    _ => time >= *t,
                });
                if replace {
                    *kept = Some((time, rows.row(i).to_vec()));
                }
            }
            (Acc::Distinct(seen), Input::Bytes(a, rows)) if a.is_valid(i) => {
                seen.insert(rows.row(i).to_vec());
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds `other` into `acc`: two session windows becoming one.
    pub fn merge(&self, acc: &mut Acc, other: Acc) -> Result<()> {
        match (acc, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (
                Acc::Sum { int, float, n },
                Acc::Sum {
                    int: i2,
                    float: f2,
                    n: n2,
                },
            ) => {
                *int = int.checked_add(i2).ok_or_else(|| {
                    Error::msg(format!(
                        "aggregates.{}: the sum overflows BIGINT",
                        self.name
                    ))
                })?;
                *float += f2;
                *n += n2;
            }
            (Acc::Extreme(a), Acc::Extreme(Some(b))) => {
                let better = a.as_deref().is_none_or(|a| match self.func {
                    Func::Min => b.as_slice() < a,
                    _ => b.as_slice() > a,
                });
                if better {
                    *a = Some(b);
                }
            }
            (Acc::Timed(a), Acc::Timed(Some((t, v)))) => {
                let replace = a.as_ref().is_none_or(|(ta, _)| match self.func {
                    Func::First => t < *ta,
                    _ => t >= *ta,
                });
                if replace {
                    *a = Some((t, v));
                }
            }
            (Acc::Distinct(a), Acc::Distinct(b)) => a.extend(b),
            _ => {}
        }
        Ok(())
    }

    /// The output column for `accs`, one value each.
    pub fn finish<'a>(&self, accs: impl Iterator<Item = &'a Acc>) -> Result<ArrayRef> {
        let accs: Vec<&Acc> = accs.collect();
        Ok(match self.func {
            Func::Count | Func::CountDistinct => {
                Arc::new(Int64Array::from_iter_values(accs.iter().map(|a| match a {
                    Acc::Count(n) => *n,
                    Acc::Distinct(s) => s.len() as i64,
                    _ => 0,
                })))
            }
            Func::Sum | Func::Avg => self.finish_numbers(&accs),
            _ => {
                let input = self.input.clone().unwrap_or(DataType::Null);
                let codec = RowCodec::new(vec![input.clone()])?;
                let values: Vec<Option<&[u8]>> = accs
                    .iter()
                    .map(|a| match a {
                        Acc::Extreme(v) => v.as_deref(),
                        Acc::Timed(v) => v.as_ref().map(|(_, b)| b.as_slice()),
                        _ => None,
                    })
                    .collect();
                codec.decode_or_null(&values)?.remove(0)
            }
        })
    }

    fn finish_numbers(&self, accs: &[&Acc]) -> ArrayRef {
        let parts = accs.iter().map(|a| match a {
            Acc::Sum { int, float, n } => (*int, *float, *n),
            _ => (0, 0.0, 0),
        });
        match (self.func, self.integer) {
            (Func::Sum, true) => Arc::new(
                parts
                    .map(|(i, _, n)| (n > 0).then_some(i))
                    .collect::<Int64Array>(),
            ),
            (Func::Sum, false) => Arc::new(
                parts
                    .map(|(_, f, n)| (n > 0).then_some(f))
                    .collect::<Float64Array>(),
            ),
            (_, true) => Arc::new(
                parts
                    .map(|(i, _, n)| (n > 0).then(|| i as f64 / n as f64))
                    .collect::<Float64Array>(),
            ),
            (_, false) => Arc::new(
                parts
                    .map(|(_, f, n)| (n > 0).then(|| f / n as f64))
                    .collect::<Float64Array>(),
            ),
        }
    }
}

/// An aggregate's running value, kept in state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Acc {
    Count(i64),
    /// sum and avg: an integer input summed exactly, a floating one as a double.
    Sum {
        int: i64,
        float: f64,
        n: i64,
    },
    /// min and max: the value's row bytes, which sort as the values do.
    Extreme(Option<Vec<u8>>),
    /// first and last: the event time and value of the row.
    Timed(Option<(i64, Vec<u8>)>),
    Distinct(BTreeSet<Vec<u8>>),
}

/// A batch as one aggregate reads it.
pub enum Input {
    /// count(*)
    Rows,
    /// count(c): the column, for its nulls.
    Present(ArrayRef),
    Ints(Int64Array),
    Floats(Float64Array),
    /// The column and its row bytes.
    Bytes(ArrayRef, EncodedRows),
}
