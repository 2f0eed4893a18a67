//! `datagen`: a source of synthetic rows. `rate` is Spark's rate source; the other
//! generators produce the data our users' pipelines consume today (Twitch accounts,
//! message events, clicks, district events, access logs), with optional duplicates, late
//! rows and corrupt rows to exercise dedup, watermarks and dead-letter handling.
//!
//! Row `i` is a pure function of `(seed, start, i)`, so a restart from a checkpoint
//! continues the exact same sequence whatever the batch boundaries were.

mod calendar;
mod generators;
mod options;
mod pacer;
mod plan;
mod rng;
mod state;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_plugin_api::arrow::datatypes::SchemaRef;
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::log::{info, warn};
use ferry_plugin_api::sdk::{
    Component, Context, Output, Restored, Result, Source, SourceStatus, MAIN_PORT,
};

use generators::Generator;
pub use options::{GeneratorKind, Options};
use pacer::Pacer;
use plan::Plan;
use state::State;

/// The `datagen` source: emits its generator's planned rows, paced by the wall clock.
pub struct Datagen {
    generator: Generator,
    plan: Plan,
    /// Index of the next row to emit.
    next: u64,
    limit: Option<u64>,
    rows_per_second: f64,
    /// The `seed` option, to warn when a checkpoint overrides it.
    configured_seed: Option<u64>,
    /// Started by the first poll, so pacing counts from when rows are wanted.
    pacer: Option<Pacer>,
    restored: bool,
}

impl Component for Datagen {
    const NAME: &'static str = "datagen";
    const DESCRIPTION: &'static str =
        "Generates rows at a steady rate: Spark's rate source plus realistic test data sets.";
    type Options = Options;

    fn create(options: Options, _ctx: &Context) -> Result<Self> {
        options.validate()?;
        let seed = options.seed.unwrap_or_else(clock_seed);
        let start = options.start_micros()?.unwrap_or_else(now_micros);
        Ok(Self {
            generator: Generator::new(options.generator),
            plan: Plan::new(&options, seed, start),
            next: 0,
            limit: options.limit,
            rows_per_second: options.rows_per_second,
            configured_seed: options.seed,
            pacer: None,
            restored: false,
        })
    }

    fn output_schema(&self, port: &str) -> Option<SchemaRef> {
        (port == MAIN_PORT).then(|| self.generator.schema())
    }
}

impl Source for Datagen {
    fn restore(&mut self, restored: &Restored<'_>) -> Result<()> {
        let state = State::decode(restored.state)?;
        if self.configured_seed.is_some_and(|seed| seed != state.seed) {
            warn!(
                "datagen: the checkpoint's seed {} wins over the configured seed, so the \
                 sequence continues unchanged; delete the checkpoint to start anew",
                state.seed
            );
        }
        self.plan.seed = state.seed;
        self.plan.start = state.start;
        self.next = state.next;
        self.restored = true;
        Ok(())
    }

    fn poll(
        &mut self,
        max_rows: usize,
        timeout: Duration,
        out: &mut Output<'_>,
    ) -> Result<SourceStatus> {
        if self.pacer.is_none() {
            self.pacer = Some(self.start());
        }
        let pacer = self.pacer.as_ref().expect("started above");
        let left = self
            .limit
            .map_or(u64::MAX, |limit| limit.saturating_sub(self.next));
        if left == 0 {
            return Ok(SourceStatus::End);
        }
        // A throttled generator gathers what falls due within the poll (the trigger
        // interval), so each trigger yields one micro-batch, as Spark's rate source does.
        let last_wanted = self.next + left.min(max_rows as u64) - 1;
        pacer.wait_for(last_wanted, Instant::now() + timeout);
        let due = pacer.allowed(Instant::now()).saturating_sub(self.next);
        if due == 0 {
            return Ok(SourceStatus::Idle);
        }
        let count = due.min(left).min(max_rows as u64);
        let rows = (self.next..self.next + count).map(|i| self.plan.row(i));
        out.emit(self.generator.batch(rows)?)?;
        self.next += count;
        Ok(SourceStatus::Ready)
    }

    fn checkpoint(&mut self, _epoch: u64) -> Result<Vec<u8>> {
        State {
            next: self.next,
            seed: self.plan.seed,
            start: self.plan.start,
        }
        .encode()
    }
}

impl Datagen {
    /// Starts the wall clock that paces rows, and says so in the host's log.
    fn start(&self) -> Pacer {
        let how = if self.restored {
            "restored"
        } else {
            "starting"
        };
        info!(
            "datagen: {} generator, seed {}, {how} at row {}",
            self.generator.kind(),
            self.plan.seed,
            self.next
        );
        Pacer::start(self.rows_per_second, self.next)
    }
}

/// A seed that differs from run to run; it is kept in the checkpoint.
fn clock_seed() -> u64 {
    rng::mix(since_epoch().as_nanos() as u64)
}

fn now_micros() -> i64 {
    i64::try_from(since_epoch().as_micros()).unwrap_or(i64::MAX)
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

export_plugin! {
    sources: [Datagen],
    transforms: [],
    sinks: [],
}
