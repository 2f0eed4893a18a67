//! The keyed state store under a pipeline's load: `cargo bench -p ferry-plugin-api --bench state`.
//!
//! A table of 1,000,000 keys (`u64`) with 100-byte values (~105 MB encoded) is loaded,
//! checkpointed and committed, then an operator loop changes a fraction of the keys each
//! second (1% and 10% by default) and checkpoints + commits once a second for 20 seconds,
//! while compactions run in the background. Per scenario one line: keys, state bytes, the
//! pause at a checkpoint (checkpoint + commit, min/median/max), the delta bytes written per
//! checkpoint (median, max), compactions done and peak RSS (VmHWM, reset per scenario).
//! Then the time of one full restore of the last handle.
//!
//! Environment: `FERRY_STATE_BENCH_KEYS` (1000000), `FERRY_STATE_BENCH_SECONDS` (20),
//! `FERRY_STATE_BENCH_FRACTIONS` (`0.01,0.1`), `FERRY_STATE_BENCH_DIR` (a temporary folder).

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_plugin_api::sdk::bench::{env_or as env, peak_rss_mb, reset_peak_rss};
use ferry_plugin_api::sdk::state::{KeyedState, StateConfig};

type Table = KeyedState<u64, String>;

const VALUE_LEN: usize = 100;

/// A 100-character value that differs with `n`.
fn value(n: u64) -> String {
    format!("{n:0>width$}", width = VALUE_LEN)
}

/// A small deterministic generator (the same keys change in every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 20) % below
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Loads `keys` keys and makes them durable (epoch 1); returns the time it took.
fn load(table: &mut Table, keys: u64) -> (Duration, Duration) {
    let start = Instant::now();
    for k in 0..keys {
        table.insert(k, value(k));
    }
    let inserted = start.elapsed();
    let start = Instant::now();
    table.checkpoint(1).expect("checkpoint");
    table.commit(1).expect("commit");
    (inserted, start.elapsed())
}

struct Run {
    pauses: Vec<Duration>,
    commits: Vec<Duration>,
    written: Vec<u64>,
    handle: Vec<u8>,
}

/// One checkpoint interval per second: change `per_second` keys, then checkpoint +
/// commit at the second's end (sleeping out the rest, as an operator waiting for input).
fn run(table: &mut Table, keys: u64, per_second: u64, seconds: u64) -> Run {
    let mut rng = Lcg(7);
    let mut out = Run {
        pauses: Vec::new(),
        commits: Vec::new(),
        written: Vec::new(),
        handle: Vec::new(),
    };
    let mut next = Instant::now();
    for epoch in 2..seconds + 2 {
        next += Duration::from_secs(1);
        for _ in 0..per_second {
            let key = rng.next(keys);
            let v = table.get_mut(&key).expect("loaded key");
            v.replace_range(..20, &format!("{:0>20}", epoch * keys + key));
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let start = Instant::now();
        out.handle = table.checkpoint(epoch).expect("checkpoint");
        let committing = Instant::now();
        table.commit(epoch).expect("commit");
        out.commits.push(committing.elapsed());
        out.pauses.push(start.elapsed());
        out.written.push(table.stats().last_checkpoint_bytes);
    }
    out
}

fn scenario(dir: &Path, keys: u64, fraction: f64, seconds: u64) {
    reset_peak_rss();
    let config = StateConfig::new(dir.join(format!("f{fraction}")));
    let mut table: Table = KeyedState::open(&config, "bench").expect("open");
    let (inserted, first) = load(&mut table, keys);
    println!(
        "  load: {keys} inserts {:.0} ms, first checkpoint (all keys) {:.0} ms, {:.1} MB",
        ms(inserted),
        ms(first),
        mb(table.stats().last_checkpoint_bytes)
    );
    let per_second = (keys as f64 * fraction).round() as u64;
    let mut run = run(&mut table, keys, per_second, seconds);
    let stats = table.stats();
    run.pauses.sort();
    run.commits.sort();
    run.written.sort();
    let median = |v: &[Duration]| ms(v[v.len() / 2]);
    println!(
        "state {:.0}% changed/s ({per_second} keys/s, {seconds} checkpoints): keys {}, state {:.1} MB, \
         pause ms min/median/max {:.1}/{:.1}/{:.1} (of which commit median {:.1}), written/checkpoint median {:.2} MB max {:.2} MB, \
         compactions {}, peak RSS {:.0} MB",
        fraction * 100.0,
        stats.keys,
        mb(stats.approx_bytes),
        ms(run.pauses[0]),
        median(&run.pauses),
        ms(*run.pauses.last().unwrap()),
        median(&run.commits),
        mb(run.written[run.written.len() / 2]),
        mb(*run.written.last().unwrap()),
        stats.compactions,
        peak_rss_mb(),
    );
    drop(table);
    restore(&config, &run.handle);
}

fn restore(config: &StateConfig, handle: &[u8]) {
    let files: serde_json::Value = serde_json::from_slice(handle).expect("handle");
    let deltas = files["deltas"].as_array().map_or(0, Vec::len);
    let mut table: Table = KeyedState::open(config, "bench").expect("open");
    let start = Instant::now();
    table.restore(handle).expect("restore");
    println!(
        "  restore: {} keys from a base + {deltas} deltas in {:.0} ms (handle {} bytes)",
        table.len(),
        ms(start.elapsed()),
        handle.len()
    );
}

fn main() {
    let keys: u64 = env("FERRY_STATE_BENCH_KEYS", 1_000_000);
    let seconds: u64 = env("FERRY_STATE_BENCH_SECONDS", 20);
    let fractions: String = env("FERRY_STATE_BENCH_FRACTIONS", "0.01,0.1".to_owned());
    let temp = tempfile::TempDir::new().expect("temporary folder");
    let dir = std::env::var_os("FERRY_STATE_BENCH_DIR")
        .map(Into::into)
        .unwrap_or_else(|| temp.path().to_owned());
    for fraction in fractions.split(',').filter_map(|f| f.trim().parse().ok()) {
        scenario(&dir, keys, fraction, seconds);
    }
}
