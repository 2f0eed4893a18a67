//! Wall-clock pacing: by any instant, at most `elapsed × rate` rows since the source
//! started (or restarted), like Spark's rate source.

use std::thread;
use std::time::{Duration, Instant};

pub struct Pacer {
    /// Rows per second; 0 means unthrottled.
    rate: f64,
    started: Instant,
    /// The row index the source started from.
    base: u64,
}

impl Pacer {
    pub fn start(rate: f64, base: u64) -> Self {
        Self {
            rate,
            started: Instant::now(),
            base,
        }
    }

    /// Rows with an index below this may be emitted at `now`.
    pub fn allowed(&self, now: Instant) -> u64 {
        if self.rate == 0.0 {
            return u64::MAX;
        }
        let elapsed = now.saturating_duration_since(self.started).as_secs_f64();
        self.base.saturating_add((elapsed * self.rate) as u64)
    }

    /// Sleeps until row `index` may be emitted or `deadline` passes; whether it may.
    pub fn wait_for(&self, index: u64, deadline: Instant) -> bool {
        loop {
            let now = Instant::now();
            if self.allowed(now) > index {
                return true;
            }
            if now >= deadline {
                return false;
            }
            let wake = self.due(index).map_or(deadline, |due| due.min(deadline));
            thread::sleep(wake.saturating_duration_since(now));
        }
    }

    /// When row `index` may be emitted (throttled only); `None` if beyond any clock.
    fn due(&self, index: u64) -> Option<Instant> {
        let rows = (index + 1 - self.base) as f64;
        let wait = Duration::try_from_secs_f64(rows / self.rate).ok()?;
        self.started.checked_add(wait)
    }
}
