//! `console`: a sink that prints what reaches it, like Spark's console sink.
//!
//! - `table` mode prints every batch as an aligned table under a `Batch: N` header.
//! - `count` mode prints one line per committed epoch with its rows and the running
//!   total, which stays exactly-once across crashes (for tests and benchmarks).

mod count;
mod table;

use std::io::{self, Write};

use ferry_plugin_api::arrow::array::RecordBatch;
use ferry_plugin_api::export_plugin;
use ferry_plugin_api::sdk::{Commit, Component, Context, Result, Sink};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use count::{Counter, Handle};

/// What the sink prints.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every batch as a table.
    #[default]
    Table,
    /// One line per committed epoch: its rows and the running total.
    Count,
}

/// Options of the `console` sink.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleOptions {
    /// "table" prints each batch; "count" prints `epoch <e>: <rows> rows, <total> total`
    /// once per committed epoch.
    #[serde(default)]
    pub mode: Mode,
    /// Rows shown per batch in table mode.
    #[serde(default = "default_num_rows")]
    pub num_rows: usize,
    /// Cut cells longer than 20 characters to 17 followed by "..." in table mode.
    #[serde(default = "default_truncate")]
    pub truncate: bool,
}

fn default_num_rows() -> usize {
    20
}

fn default_truncate() -> bool {
    true
}

pub struct Console {
    options: ConsoleOptions,
    out: Box<dyn Write + Send>,
    /// Batches printed so far in this run (table mode).
    printed: u64,
    counter: Counter,
}

impl Console {
    /// A console that prints to `out` instead of stdout.
    pub fn with_writer(options: ConsoleOptions, out: Box<dyn Write + Send>) -> Self {
        Self {
            options,
            out,
            printed: 0,
            counter: Counter::default(),
        }
    }

    /// Writes `text` in one go and flushes, so readers of the output see it at once.
    fn print(&mut self, text: &str) -> Result<()> {
        self.out.write_all(text.as_bytes())?;
        Ok(self.out.flush()?)
    }
}

impl Component for Console {
    const NAME: &'static str = "console";
    const DESCRIPTION: &'static str =
        "Prints batches to stdout as tables, or row counts per committed epoch.";
    type Options = ConsoleOptions;

    fn create(options: ConsoleOptions, _ctx: &Context) -> Result<Self> {
        Ok(Self::with_writer(options, Box::new(io::stdout())))
    }
}

impl Sink for Console {
    fn write(&mut self, _input: &str, batch: RecordBatch) -> Result<()> {
        match self.options.mode {
            Mode::Count => self.counter.add(batch.num_rows()),
            Mode::Table => {
                let text = table::render(
                    &batch,
                    self.printed,
                    self.options.num_rows,
                    self.options.truncate,
                )?;
                self.printed += 1;
                self.print(&text)?;
            }
        }
        Ok(())
    }

    fn prepare(&mut self, epoch: u64) -> Result<Vec<u8>> {
        Ok(match self.options.mode {
            Mode::Count => self.counter.prepare(epoch).encode(),
            Mode::Table => Vec::new(),
        })
    }

    fn commit(&mut self, commit: &Commit<'_>) -> Result<()> {
        if self.options.mode == Mode::Count {
            let epoch = commit.epoch;
            let handle = Handle::decode(commit.handle)?;
            self.counter.commit(epoch, handle);
            let (rows, total) = (handle.rows, handle.total);
            self.print(&format!("epoch {epoch}: {rows} rows, {total} total\n"))?;
        }
        Ok(())
    }

    fn abort(&mut self, epoch: u64) -> Result<()> {
        self.counter.abort(epoch);
        Ok(())
    }
}

export_plugin! {
    sources: [],
    transforms: [],
    sinks: [Console],
}
