//! Progress: on a terminal, one line per node every few seconds (rows in/out, rows/s,
//! and what a stateful node holds); always a summary when the run ends.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::task::NodeStats;

const EVERY: Duration = Duration::from_secs(5);

pub struct Reporter {
    pipeline: String,
    stats: Vec<(String, Arc<NodeStats>)>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reporter {
    pub fn start(pipeline: &str, stats: Vec<(String, Arc<NodeStats>)>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let (stop, stats, pipeline) = (stop.clone(), stats.clone(), pipeline.to_string());
            thread::spawn(move || report_until(&pipeline, &stats, &stop))
        });
        Self {
            pipeline: pipeline.to_string(),
            stats,
            stop,
            thread,
        }
    }

    /// Stops the periodic lines and logs the totals.
    pub fn finish(mut self, elapsed: Duration, ok: bool) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let secs = elapsed.as_secs_f64().max(1e-9);
        for (id, s) in &self.stats {
            let (rows_in, rows_out) = (
                s.rows_in.load(Ordering::Relaxed),
                s.rows_out.load(Ordering::Relaxed),
            );
            let rejected = s.rejected.load(Ordering::Relaxed);
            let late = s.late.load(Ordering::Relaxed);
            tracing::info!(
                pipeline = %self.pipeline, node = %id,
                "{} after {:.2}s: {rows_in} rows in, {rows_out} rows out, {rejected} rejected, {late} late ({:.0} rows/s){}",
                if ok { "finished" } else { "stopped" },
                secs,
                rows_in.max(rows_out) as f64 / secs,
                s.peak_state_text()
            );
        }
    }
}

fn report_until(pipeline: &str, stats: &[(String, Arc<NodeStats>)], stop: &AtomicBool) {
    let mut last: Vec<(u64, u64)> = vec![(0, 0); stats.len()];
    let mut at = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(200));
        if at.elapsed() < EVERY {
            continue;
        }
        let secs = at.elapsed().as_secs_f64();
        at = Instant::now();
        for ((id, s), prev) in stats.iter().zip(last.iter_mut()) {
            let now = (
                s.rows_in.load(Ordering::Relaxed),
                s.rows_out.load(Ordering::Relaxed),
            );
            let rate = (now.0 - prev.0).max(now.1 - prev.1) as f64 / secs;
            eprintln!(
                "[{pipeline}] {id}: in {} out {} ({rate:.0} rows/s){}",
                now.0,
                now.1,
                s.state_text()
            );
            *prev = now;
        }
    }
}
