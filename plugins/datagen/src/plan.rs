//! The fate of each row before its values are drawn: which original it carries (itself,
//! or an earlier row it re-delivers), its event time, and whether it is corrupt.

use crate::options::Options;
use crate::rng::{Rng, Stream};

/// How far back a duplicate may reach, in rows.
const DUPLICATE_WINDOW: u64 = 1_000;
/// Event-time spacing of an unthrottled source.
const UNTHROTTLED_INTERVAL_MICROS: f64 = 1_000.0;

/// One row to generate.
pub struct Row {
    /// The original row's index: a duplicate carries the index it repeats.
    pub index: u64,
    /// µs since the Unix epoch, UTC.
    pub event_time: i64,
    pub corrupt: bool,
    /// Draws the row's column values.
    pub rng: Rng,
}

/// Maps row indexes to rows; a pure function of its fields and the index.
pub struct Plan {
    pub seed: u64,
    /// Event time of row 0, µs since the Unix epoch.
    pub start: i64,
    interval_micros: f64,
    jitter: bool,
    duplicate_ratio: f64,
    late_ratio: f64,
    late_by_micros: i64,
    corrupt_ratio: f64,
}

impl Plan {
    pub fn new(options: &Options, seed: u64, start: i64) -> Self {
        let interval_micros = match (options.event_interval, options.rows_per_second) {
            (Some(interval), _) => interval.0.as_secs_f64() * 1e6,
            (None, 0.0) => UNTHROTTLED_INTERVAL_MICROS,
            (None, rate) => 1e6 / rate,
        };
        Self {
            seed,
            start,
            interval_micros,
            jitter: options.generator.jitters(),
            duplicate_ratio: options.duplicate_ratio,
            late_ratio: options.late_ratio,
            late_by_micros: i64::try_from(options.late_by.0.as_micros()).unwrap_or(i64::MAX),
            corrupt_ratio: options.corrupt_ratio,
        }
    }

    /// Row `index` as delivered: a duplicate is its original, whole.
    pub fn row(&self, index: u64) -> Row {
        self.original(self.origin(index))
    }

    /// The row whose content `index` carries. A duplicate may repeat a duplicate, so
    /// follow the chain back to a row delivered for the first time; row 0 always is.
    fn origin(&self, mut index: u64) -> u64 {
        loop {
            let mut rng = Rng::for_row(self.seed, index, Stream::Duplicate);
            if index == 0 || !rng.chance(self.duplicate_ratio) {
                return index;
            }
            index -= 1 + rng.below(index.min(DUPLICATE_WINDOW));
        }
    }

    /// Row `index` on its first delivery. Every draw is made whatever the ratios, so that
    /// the draws after it do not shift when a ratio changes.
    fn original(&self, index: u64) -> Row {
        let mut rng = Rng::for_row(self.seed, index, Stream::Plan);
        let late = rng.chance(self.late_ratio);
        let lag = rng.between(1, self.late_by_micros.max(1));
        let spread = rng.unit() * self.interval_micros;
        let corrupt = rng.chance(self.corrupt_ratio);
        let slot = self.start + (index as f64 * self.interval_micros).round() as i64;
        let event_time = match (late, self.jitter) {
            (true, _) => slot - lag,
            (false, true) => slot + spread as i64,
            (false, false) => slot,
        };
        Row {
            index,
            event_time,
            corrupt,
            rng: Rng::for_row(self.seed, index, Stream::Content),
        }
    }
}
