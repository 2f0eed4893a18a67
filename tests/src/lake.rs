//! Helpers for the lake sink's end-to-end tests: read a lake back with pyarrow or DuckDB
//! (tests/read_lake.py) and list what a reader would see.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::root;

/// What tests/read_lake.py reports.
#[derive(Debug, Clone, PartialEq)]
pub struct LakeRead {
    pub json: String,
}

impl LakeRead {
    /// An integer field of the report.
    pub fn get(&self, key: &str) -> i64 {
        let pat = format!("\"{key}\": ");
        let at = self
            .json
            .find(&pat)
            .unwrap_or_else(|| panic!("no {key} in {}", self.json));
        let rest = &self.json[at + pat.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '-')
            .unwrap_or(rest.len());
        rest[..end]
            .parse()
            .unwrap_or_else(|_| panic!("{key} in {}", self.json))
    }
}

/// Runs tests/read_lake.py with `args` (see its usage) and returns its report.
pub fn read_lake(lake: &Path, args: &[&str]) -> LakeRead {
    let out = Command::new("python3")
        .arg(root().join("tests/read_lake.py"))
        .arg(lake)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "read_lake.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    LakeRead {
        json: String::from_utf8(out.stdout).unwrap().trim().to_string(),
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Data files a reader listing the lake sees (names starting with `_` or `.` skipped).
pub fn visible_files(lake: &Path) -> Vec<PathBuf> {
    files_under(lake)
        .into_iter()
        .filter(|p| {
            p.strip_prefix(lake).unwrap().components().all(|c| {
                let s = c.as_os_str().to_string_lossy();
                !s.starts_with('_') && !s.starts_with('.')
            })
        })
        .collect()
}

/// A small deterministic random number generator for kill timings; its seed is printed so
/// that a failing run can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn from_clock() -> Self {
        let seed = std::env::var("LAKE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("kill timings seed: LAKE_TEST_SEED={seed}");
        Rng(seed)
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (self.0 >> 33) % (hi - lo).max(1)
    }
}
