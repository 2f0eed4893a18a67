//! The exactly-once protocol on disk.
//!
//! - Open and closed files live under `<path>/_ferry_staging/<pipeline>.<node>/`, at the
//!   relative path they will have in the lake; readers skip `_` folders.
//! - `prepare(e)` closes and fsyncs the files that roll (size, rows, age, or the run's
//!   last checkpoint), writes and fsyncs each open file's rows of the epoch as an Arrow IPC
//!   segment beside it, and returns a [`Handle`] listing every prepared but not yet
//!   committed epoch's files and every open file's segments.
//! - `commit(e)` renames each listed file into place (a rename is atomic, and skipped when
//!   already done), fsyncs the folders, writes the epoch's manifest entry
//!   `_ferry_log/<epoch>-<writer>.manifest`, a JSON object (temp file, fsync, rename) unless
//!   it exists, then deletes the segments the published files absorbed. On a fresh
//!   instance (a restart) it also re-opens the handle's open files from their segments.
//! - `abort(e)` deletes every staged file and segment not listed by an epoch before `e`.

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_plugin_api::sdk::{Error, ErrorContext, Result};
use ferry_plugin_api::serde_json::{self, json, Map, Value};
use serde::{Deserialize, Serialize};

/// Folder of staged files, below the lake's path.
pub const STAGING: &str = "_ferry_staging";
/// Folder of manifest entries, below the lake's path.
pub const LOG: &str = "_ferry_log";

/// Where a file waits for its commit: below the staging folder, with a `.staged` suffix
/// so that even a glob like `lake/**/*.parquet` (which does not skip `_` folders in
/// DuckDB) never matches it.
pub fn staged(root: &Path, staging: &str, rel: &str) -> PathBuf {
    root.join(staging).join(format!("{rel}.staged"))
}

/// A closed data file waiting for its epoch to commit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StagedFile {
    /// Where it goes, relative to the lake's path (`date=2024-01-01/part-….parquet`).
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

/// Rows of an open file made durable at one `prepare`: an Arrow IPC stream in staging.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    /// Relative to the staging folder (`date=2024-01-01/part-….parquet.seg-…`).
    pub path: String,
    pub rows: u64,
}

/// A file kept open across checkpoints: its rows so far are its segments, in order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OpenEntry {
    /// Where it goes once closed, relative to the lake's path.
    pub path: String,
    /// When it was opened (ms since the Unix epoch), for `max_file_age` across restarts.
    pub opened_ms: u64,
    /// The rows' schema (Spark DDL, partition columns included), for the manifest entry
    /// of a file that a restarted instance closes before it writes anything.
    #[serde(default)]
    pub schema: String,
    pub segments: Vec<Segment>,
}

/// The files one epoch published.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Group {
    pub epoch: u64,
    /// The sink instance that wrote them (a fresh id per start), which names the entry.
    pub writer: String,
    /// The rows' schema (Spark DDL, partition columns included).
    pub schema: String,
    pub files: Vec<StagedFile>,
    /// Segments (relative to the staging folder) whose rows are in `files`: deleted once
    /// the files are published.
    #[serde(default)]
    pub absorbed: Vec<String>,
}

/// What `prepare` returns: every prepared epoch not yet known to be committed, so that a
/// commit the host never got to deliver before a crash is published by the next one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Handle {
    /// The staging folder, relative to the lake's path.
    pub staging: String,
    pub groups: Vec<Group>,
    /// The files still open after this epoch, which hold its acknowledged rows.
    #[serde(default)]
    pub open: Vec<OpenEntry>,
}

impl Handle {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a handle serializes")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_slice(bytes).map_err(|e| Error::msg(format!("a lake commit handle: {e}")))
    }
}

/// What each manifest entry records besides the files.
pub struct EntryInfo<'a> {
    pub pipeline: &'a str,
    pub node: &'a str,
    pub format: &'a str,
    pub partition_by: &'a [String],
    pub sources: &'a Map<String, Value>,
    pub sources_epoch: u64,
}

/// Publishes one group: files into place, then its manifest entry, then deletes the
/// segments the files absorbed. Idempotent.
pub fn publish(root: &Path, staging: &str, group: &Group, info: &EntryInfo<'_>) -> Result<()> {
    let mut dirs = BTreeSet::new();
    for file in &group.files {
        let staged = staged(root, staging, &file.path);
        let target = root.join(&file.path);
        match fs::rename(&staged, &target) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound && target.exists() => continue,
            Err(e) if e.kind() == ErrorKind::NotFound && staged.exists() => {
                // The partition folder is new.
                let parent = target.parent().expect("a file has a folder");
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
                fs::rename(&staged, &target).with_context(|| {
                    format!("moving {} to {}", staged.display(), target.display())
                })?;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::msg(format!(
                    "epoch {}: staged file {} is missing and {} is not in place",
                    group.epoch,
                    staged.display(),
                    target.display()
                )))
            }
            Err(e) => {
                return Err(Error::from(e).context(format!(
                    "moving {} to {}",
                    staged.display(),
                    target.display()
                )))
            }
        }
        let mut dir = target.parent();
        while let Some(d) = dir {
            if !dirs.insert(d.to_path_buf()) || d == root {
                break;
            }
            dir = d.parent();
        }
    }
    for dir in &dirs {
        sync_dir(dir)?;
    }
    write_entry(root, group, info)?;
    for segment in &group.absorbed {
        let path = root.join(staging).join(segment);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(Error::from(e).context(format!("removing {}", path.display())))
            }
            _ => {}
        }
    }
    Ok(())
}

fn write_entry(root: &Path, group: &Group, info: &EntryInfo<'_>) -> Result<()> {
    let log = root.join(LOG);
    let name = format!("{:020}-{}.manifest", group.epoch, group.writer);
    let path = log.join(&name);
    if path.exists() {
        return Ok(());
    }
    fs::create_dir_all(&log).with_context(|| format!("creating {}", log.display()))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let entry = json!({
        "epoch": group.epoch,
        "writer": group.writer,
        "pipeline": info.pipeline,
        "node": info.node,
        "committed_at_ms": now.as_millis() as u64,
        "format": info.format,
        "partition_by": info.partition_by,
        "schema": group.schema,
        "rows": group.files.iter().map(|f| f.rows).sum::<u64>(),
        "bytes": group.files.iter().map(|f| f.bytes).sum::<u64>(),
        "files": group.files,
        "sources": info.sources,
        "sources_epoch": info.sources_epoch,
    });
    let tmp = log.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut f, &entry)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().with_context(|| format!("writing {}", path.display()))?;
    sync_dir(&log)?;
    sync_dir(root)
}

/// The schema in the newest manifest entry, if any.
pub fn last_schema(root: &Path) -> Result<Option<String>> {
    let log = root.join(LOG);
    let names = match fs::read_dir(&log) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".manifest") && !n.starts_with('.'))
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::from(e).context(format!("listing {}", log.display()))),
    };
    let Some(last) = names.iter().max() else {
        return Ok(None);
    };
    let path = log.join(last);
    let text = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let entry: Value =
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(entry["schema"].as_str().map(str::to_string))
}

/// Deletes every file under `dir` not in `keep`, then the folders left empty.
pub fn remove_except(dir: &Path, keep: &HashSet<PathBuf>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::from(e).context(format!("listing {}", dir.display()))),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            remove_except(&path, keep)?;
            let _ = fs::remove_dir(&path); // only when empty
        } else if !keep.contains(&path) {
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Makes a folder's entries (new names, renames) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing folder {}", dir.display()))
}
