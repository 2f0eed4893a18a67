//! The joined rows: the `on` keys once, then the left's other columns, then the right's
//! (a right column whose name the left also has is prefixed `right_`). An outer row has
//! nulls for the side it lacks, and its keys from the side it has.

use std::sync::Arc;

use ferry_plugin_api::arrow::array::{ArrayRef, BooleanArray, RecordBatch};
use ferry_plugin_api::arrow::compute::kernels::zip::zip;
use ferry_plugin_api::arrow::datatypes::{Field, Schema, SchemaRef};
use ferry_plugin_api::sdk::rows::RowCodec;
use ferry_plugin_api::sdk::{Error, Result};

/// Where each output column comes from.
pub struct Joined {
    schema: SchemaRef,
    /// The keys' column indices on each side.
    keys: [Vec<usize>; 2],
    /// The other columns' indices on each side.
    rest: [Vec<usize>; 2],
}

impl Joined {
    pub fn new(on: &[String], left: &Schema, right: &Schema) -> Result<Self> {
        let index =
            |schema: &Schema, c: &String| schema.index_of(c).map_err(|e| Error::msg(e.to_string()));
        let keys = [
            on.iter()
                .map(|c| index(left, c))
                .collect::<Result<Vec<_>>>()?,
            on.iter()
                .map(|c| index(right, c))
                .collect::<Result<Vec<_>>>()?,
        ];
        for (l, r) in keys[0].iter().zip(&keys[1]) {
            let (lf, rf) = (left.field(*l), right.field(*r));
            if lf.data_type() != rf.data_type() {
                return Err(Error::msg(format!(
                    "on: '{}' is {} on the left and {} on the right",
                    lf.name(),
                    lf.data_type(),
                    rf.data_type()
                )));
            }
        }
        let rest = |schema: &Schema, keys: &[usize]| -> Vec<usize> {
            (0..schema.fields().len())
                .filter(|i| !keys.contains(i))
                .collect()
        };
        let rest = [rest(left, &keys[0]), rest(right, &keys[1])];
        let nullable = |f: &Field| f.clone().with_nullable(true);
        let mut fields: Vec<Field> = keys[0].iter().map(|&i| nullable(left.field(i))).collect();
        fields.extend(rest[0].iter().map(|&i| nullable(left.field(i))));
        for &i in &rest[1] {
            let f = nullable(right.field(i));
            let clash = left.field_with_name(f.name()).is_ok();
            fields.push(match clash {
                true => f.clone().with_name(format!("right_{}", f.name())),
                false => f,
            });
        }
        Ok(Self {
            schema: Arc::new(Schema::new(fields)),
            keys,
            rest,
        })
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The output rows for `pairs` of (left, right) row bytes, either side possibly absent.
    pub fn build(
        &self,
        left: &RowCodec,
        right: &RowCodec,
        pairs: &[[Option<Vec<u8>>; 2]],
    ) -> Result<RecordBatch> {
        let sides = [side(left, pairs, 0)?, side(right, pairs, 1)?];
        let has_left = BooleanArray::from_iter(pairs.iter().map(|p| Some(p[0].is_some())));
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (l, r) in self.keys[0].iter().zip(&self.keys[1]) {
            columns.push(zip(&has_left, &sides[0][*l], &sides[1][*r])?);
        }
        for (s, rest) in self.rest.iter().enumerate() {
            columns.extend(rest.iter().map(|&i| sides[s][i].clone()));
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// One side's columns for `pairs`, nulls where the pair lacks that side.
fn side(codec: &RowCodec, pairs: &[[Option<Vec<u8>>; 2]], s: usize) -> Result<Vec<ArrayRef>> {
    let rows: Vec<Option<&[u8]>> = pairs.iter().map(|p| p[s].as_deref()).collect();
    codec.decode_or_null(&rows)
}
