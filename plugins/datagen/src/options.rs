//! What a pipeline file can set on a `datagen` source, and the checks on it.

use std::fmt;
use std::time::Duration;

use ferry_plugin_api::arrow::compute::kernels::cast_utils::string_to_timestamp_nanos;
use ferry_plugin_api::sdk::duration::HumanDuration;
use ferry_plugin_api::sdk::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Options of the `datagen` source.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Which data to generate (see the plugin README for each one's columns).
    #[serde(default)]
    pub generator: GeneratorKind,
    /// Rows per second, paced by the wall clock since the source started; 0 means as fast
    /// as possible. Row i's event time is `start + i / rows_per_second` (1 ms apart when 0).
    #[serde(default = "one_per_second")]
    pub rows_per_second: f64,
    /// Seed of the random values; the same seed gives the same rows. Default: taken from
    /// the clock and kept in the checkpoint, so a restart continues the same sequence.
    pub seed: Option<u64>,
    /// Stop after this many rows in total. Default: never stop.
    pub limit: Option<u64>,
    /// Event time between consecutive rows, e.g. "1s". Default: `1 / rows_per_second`
    /// (1 ms when unthrottled). Lets an unthrottled source cover hours of event time.
    pub event_interval: Option<HumanDuration>,
    /// Event time of row 0, RFC 3339 (`2026-11-21T20:31:49Z`). Default: when the source
    /// first started, kept in the checkpoint.
    pub start: Option<String>,
    /// Fraction (0..1) of rows that re-deliver one of the previous ~1000 rows exactly,
    /// ids and timestamps included, as an at-least-once producer does.
    #[serde(default)]
    pub duplicate_ratio: f64,
    /// Fraction (0..1) of rows whose event time lags the current one by a random amount
    /// up to `late_by`, to exercise watermarks.
    #[serde(default)]
    pub late_ratio: f64,
    /// How far behind a late row's event time can be, e.g. "2 minutes".
    #[serde(default = "one_minute")]
    pub late_by: HumanDuration,
    /// Fraction (0..1) of rows that are corrupt the way the generator's real data is:
    /// nulls in required fields, or a garbled line for `access_log`.
    #[serde(default)]
    pub corrupt_ratio: f64,
}

/// The data sets `datagen` can produce. (Serialize lets the options schema show the default.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorKind {
    /// `timestamp`, `value` = the row number, like Spark's rate source.
    #[default]
    Rate,
    /// Accounts of the Kaggle "Twitch gamers" data set, with flags as 0/1 and dates as text.
    TwitchAccounts,
    /// Message events (open, sent, clicked …) per channel, country and user.
    Messages,
    /// Clicks and impressions counts.
    Clicks,
    /// New residents per district, for windowed epidemiology counts.
    DistrictEvents,
    /// Lines of an Apache web server access log.
    AccessLog,
    /// Bagpipes sold per district, to join with `district_events`.
    BagpipeSales,
}

impl GeneratorKind {
    /// Whether event times get a little random spread within their slot, as real
    /// producers' clocks do. `rate` stays exact like Spark's; `twitch_accounts` has no
    /// event-time column.
    pub fn jitters(self) -> bool {
        !matches!(self, Self::Rate | Self::TwitchAccounts)
    }
}

/// The name pipelines use, for log lines.
impl fmt::Display for GeneratorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rate => "rate",
            Self::TwitchAccounts => "twitch_accounts",
            Self::Messages => "messages",
            Self::Clicks => "clicks",
            Self::DistrictEvents => "district_events",
            Self::AccessLog => "access_log",
            Self::BagpipeSales => "bagpipe_sales",
        })
    }
}

fn one_per_second() -> f64 {
    1.0
}

fn one_minute() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

impl Options {
    /// Refuses numbers no generator can honour, naming the option.
    pub fn validate(&self) -> Result<()> {
        if !(self.rows_per_second.is_finite() && self.rows_per_second >= 0.0) {
            return Err(Error::msg(format!(
                "rows_per_second: must be a number ≥ 0 (0 = as fast as possible), got {}",
                self.rows_per_second
            )));
        }
        if self.event_interval.is_some_and(|d| d.0.is_zero()) {
            return Err(Error::msg("event_interval: must be longer than 0"));
        }
        for (name, ratio) in [
            ("duplicate_ratio", self.duplicate_ratio),
            ("late_ratio", self.late_ratio),
            ("corrupt_ratio", self.corrupt_ratio),
        ] {
            if !(0.0..=1.0).contains(&ratio) {
                return Err(Error::msg(format!(
                    "{name}: must be between 0 and 1, got {ratio}"
                )));
            }
        }
        Ok(())
    }

    /// `start` in µs since the Unix epoch, if set.
    pub fn start_micros(&self) -> Result<Option<i64>> {
        let Some(text) = &self.start else {
            return Ok(None);
        };
        string_to_timestamp_nanos(text)
            .map(|nanos| Some(nanos / 1_000))
            .map_err(|e| Error::msg(format!("start: '{text}' is not an RFC 3339 timestamp: {e}")))
    }
}
