//! `clean_source`: what happens to a file once the epoch that finished it has committed.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use ferry_plugin_api::sdk::{ErrorContext, Result};

#[derive(Debug)]
pub enum Cleaner {
    /// Files are moved here, keeping their path below `base`.
    Archive {
        base: PathBuf,
        archive_dir: PathBuf,
    },
    Delete,
}

impl Cleaner {
    /// Archives or deletes `path`; a file already gone counts as done.
    pub fn clean(&self, path: &str) -> Result<()> {
        let done = match self {
            Cleaner::Delete => fs::remove_file(path),
            Cleaner::Archive { base, archive_dir } => {
                let relative = Path::new(path)
                    .strip_prefix(base)
                    .unwrap_or(Path::new(path));
                move_file(Path::new(path), &archive_dir.join(relative))
            }
        };
        match done {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e).with_context(|| match self {
                Cleaner::Delete => format!("deleting '{path}'"),
                Cleaner::Archive { archive_dir, .. } => {
                    format!("archiving '{path}' to '{}'", archive_dir.display())
                }
            }),
            _ => Ok(()),
        }
    }
}

/// Renames, or copies and deletes when `to` is on another file system.
fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if !from.exists() {
        return Err(ErrorKind::NotFound.into());
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    match fs::rename(from, to) {
        Err(e) if e.kind() == ErrorKind::CrossesDevices => {
            fs::copy(from, to)?;
            fs::remove_file(from)
        }
        done => done,
    }
}
