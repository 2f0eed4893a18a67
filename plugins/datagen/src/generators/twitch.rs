//! `twitch_accounts`: accounts shaped like the Kaggle "Twitch gamers" data set, with flags
//! as 0/1 integers and dates as `yyyy-MM-dd` text, as the producer script publishes them.
//! About 5% of `language`s carry surrounding spaces. A corrupt row has one column,
//! chosen at random, null.

use std::fmt;

use ferry_plugin_api::arrow::array::{ArrayRef, Int32Builder, Int64Builder, StringBuilder};
use ferry_plugin_api::arrow::datatypes::{DataType, Field};

use super::{append_display, array, field, null_column, Columns};
use crate::calendar::Date;
use crate::plan::Row;

/// 2007-05-22, the oldest `created_at` in the data set.
const FIRST_DAY: i64 = 13_655;
/// 2018-10-12, when the data set was scraped: the newest `updated_at`.
const LAST_DAY: i64 = 17_816;
const LANGUAGES: [(&str, u32); 10] = [
    ("EN", 60),
    ("DE", 6),
    ("FR", 5),
    ("ES", 6),
    ("RU", 6),
    ("PT", 4),
    ("KO", 3),
    ("JA", 3),
    ("ZH", 3),
    ("OTHER", 4),
];
/// Spaces before and after a language, as hand-entered data has them.
const PADDING: [((&str, &str), u32); 4] = [
    (("", ""), 95),
    ((" ", ""), 2),
    (("", "  "), 2),
    ((" ", " "), 1),
];
const COLUMNS: u64 = 9;

pub struct TwitchAccounts {
    numeric_id: Int64Builder,
    views: Int64Builder,
    mature: Int32Builder,
    life_time: Int32Builder,
    created_at: StringBuilder,
    updated_at: StringBuilder,
    dead_account: Int32Builder,
    language: StringBuilder,
    affiliate: Int32Builder,
}

impl Columns for TwitchAccounts {
    fn fields() -> Vec<Field> {
        vec![
            field("numeric_id", DataType::Int64),
            field("views", DataType::Int64),
            field("mature", DataType::Int32),
            field("life_time", DataType::Int32),
            field("created_at", DataType::Utf8),
            field("updated_at", DataType::Utf8),
            field("dead_account", DataType::Int32),
            field("language", DataType::Utf8),
            field("affiliate", DataType::Int32),
        ]
    }

    fn with_capacity(rows: usize) -> Self {
        Self {
            numeric_id: Int64Builder::with_capacity(rows),
            views: Int64Builder::with_capacity(rows),
            mature: Int32Builder::with_capacity(rows),
            life_time: Int32Builder::with_capacity(rows),
            created_at: StringBuilder::with_capacity(rows, rows * 10),
            updated_at: StringBuilder::with_capacity(rows, rows * 10),
            dead_account: Int32Builder::with_capacity(rows),
            language: StringBuilder::with_capacity(rows, rows * 2),
            affiliate: Int32Builder::with_capacity(rows),
        }
    }

    fn append(&mut self, mut row: Row) {
        let hole = null_column(&mut row, COLUMNS);
        let keep = |column: usize| hole != Some(column);
        let a = Account::draw(row);
        self.numeric_id
            .append_option(keep(0).then_some(a.numeric_id));
        self.views.append_option(keep(1).then_some(a.views));
        self.mature.append_option(keep(2).then_some(a.mature));
        let life_time = (a.updated - a.created) as i32;
        self.life_time.append_option(keep(3).then_some(life_time));
        let created_at = keep(4).then(|| Date::from_days(a.created));
        append_display(&mut self.created_at, created_at);
        let updated_at = keep(5).then(|| Date::from_days(a.updated));
        append_display(&mut self.updated_at, updated_at);
        self.dead_account
            .append_option(keep(6).then_some(a.dead_account));
        append_display(&mut self.language, keep(7).then_some(a.language));
        self.affiliate.append_option(keep(8).then_some(a.affiliate));
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            array(self.numeric_id.finish()),
            array(self.views.finish()),
            array(self.mature.finish()),
            array(self.life_time.finish()),
            array(self.created_at.finish()),
            array(self.updated_at.finish()),
            array(self.dead_account.finish()),
            array(self.language.finish()),
            array(self.affiliate.finish()),
        ]
    }
}

/// One account's values; dates are days since the Unix epoch.
struct Account {
    numeric_id: i64,
    views: i64,
    mature: i32,
    created: i64,
    updated: i64,
    dead_account: i32,
    language: Padded,
    affiliate: i32,
}

impl Account {
    fn draw(row: Row) -> Self {
        let mut rng = row.rng;
        let created = rng.between(FIRST_DAY, LAST_DAY);
        let (before, after) = rng.weighted(&PADDING);
        Self {
            numeric_id: row.index as i64 + 1,
            // Heavy-tailed like real view counts: uniform in log space over 0..10⁸.
            views: 10f64.powf(rng.unit() * 8.0) as i64 - 1,
            mature: i32::from(rng.chance(0.45)),
            created,
            updated: rng.between(created, LAST_DAY),
            dead_account: i32::from(rng.chance(0.03)),
            language: Padded {
                before,
                text: rng.weighted(&LANGUAGES),
                after,
            },
            affiliate: i32::from(rng.chance(0.5)),
        }
    }
}

/// A language code with the spaces it was entered with.
#[derive(Clone, Copy)]
struct Padded {
    before: &'static str,
    text: &'static str,
    after: &'static str,
}

impl fmt::Display for Padded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.before, self.text, self.after)
    }
}
