//! Running a pipeline: a thread per node, bounded channels between them, a checkpoint
//! coordinator on the calling thread, and restarts from the last checkpoint on failure.

mod build;
mod coordinator;
mod create;
mod dead_letter;
mod inputs;
mod message;
mod progress;
mod sink;
mod source;
mod task;
mod transform;
mod watermark;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

pub use build::{state_dir, unknown_port};
pub use create::{create_all, NotCreated};
use message::Event;

use crate::config::PipelineFile;
use crate::plugins::{Registry, RejectedRecord};

/// Runs a pipeline until its input ends or `shutdown` is set, restarting it from the
/// last checkpoint after a failure as `restart` allows.
pub fn run(file: &PipelineFile, registry: &Registry, shutdown: &Arc<AtomicBool>) -> Result<()> {
    let policy = &file.settings.restart;
    let mut attempt = 0;
    loop {
        let built = build::build(file, registry, shutdown)?;
        match execute(built, &file.settings.name) {
            Ok(()) => return Ok(()),
            // A record rejected under tolerance "none" would be rejected again.
            Err(e) if e.downcast_ref::<RejectedRecord>().is_some() => return Err(e),
            Err(e) if attempt < policy.attempts && !shutdown.load(Ordering::Relaxed) => {
                attempt += 1;
                let backoff = policy.backoff.0 * 2u32.saturating_pow(attempt - 1);
                tracing::error!(
                    pipeline = %file.settings.name,
                    "{e:#}; restarting from the last checkpoint in {backoff:?} (attempt {attempt} of {})",
                    policy.attempts
                );
                sleep_unless(shutdown, backoff);
            }
            Err(e) => return Err(e),
        }
    }
}

fn execute(built: build::Built, pipeline: &str) -> Result<()> {
    let started = Instant::now();
    let reporter = progress::Reporter::start(pipeline, built.stats.clone());
    let handles: Vec<_> = built
        .tasks
        .into_iter()
        .enumerate()
        .map(|(index, (id, task))| spawn(pipeline, index, id, task, built.events.clone()))
        .collect::<Result<_>>()?;
    drop(built.events);
    let result = built.coordinator.run();
    for handle in handles {
        let _ = handle.join();
    }
    reporter.finish(started.elapsed(), result.is_ok());
    result
}

fn spawn(
    pipeline: &str,
    index: usize,
    id: String,
    task: build::Task,
    events: crossbeam_channel::Sender<Event>,
) -> Result<thread::JoinHandle<()>> {
    let span = tracing::info_span!("node", pipeline = %pipeline, node = %id);
    thread::Builder::new()
        .name(format!("{pipeline}/{id}"))
        .spawn(move || {
            let _entered = span.enter();
            let result = catch_unwind(AssertUnwindSafe(|| task.run()))
                .unwrap_or_else(|_| Err(anyhow!("the host's thread for this node panicked")));
            let _ = events.send(Event::Exited {
                node: index,
                result,
            });
        })
        .map_err(|e| anyhow!("cannot start a thread for node '{id}': {e}"))
}

fn sleep_unless(shutdown: &AtomicBool, total: Duration) {
    let until = Instant::now() + total;
    while Instant::now() < until && !shutdown.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50));
    }
}
