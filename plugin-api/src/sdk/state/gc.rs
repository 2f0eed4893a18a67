//! Garbage collection: deleting the state files no retained checkpoint needs.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use super::files::{epoch_of_name, sync_dir};
use crate::sdk::{ErrorContext, Result};

/// Deletes every state file (and stray `.tmp`) in `dir` whose name is not in `keep`,
/// except files of epoch `<= protect_up_to`, and returns the names deleted, sorted.
/// Files that are not state files are left alone. A `.tmp` of a kept name (a compaction
/// being written) is kept.
pub(super) fn collect(
    dir: &Path,
    keep: &HashSet<&str>,
    protect_up_to: Option<u64>,
) -> Result<Vec<String>> {
    let mut deleted = Vec::new();
    let entries = fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_garbage(&name, keep, protect_up_to) {
            remove(&dir.join(&name))?;
            deleted.push(name);
        }
    }
    if !deleted.is_empty() {
        sync_dir(dir)?;
    }
    deleted.sort();
    Ok(deleted)
}

fn is_garbage(name: &str, keep: &HashSet<&str>, protect_up_to: Option<u64>) -> bool {
    let Some(epoch) = epoch_of_name(name) else {
        return false;
    };
    let tmp = name.ends_with(".tmp");
    let final_name = name.strip_suffix(".tmp").unwrap_or(name);
    if keep.contains(final_name) {
        return false;
    }
    // Files a run before the last restore may still need (see `KeyedState::commit`); a
    // stray .tmp is never needed.
    tmp || protect_up_to.is_none_or(|p| epoch > p)
}

fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(e).with_context(|| format!("deleting old state file {}", path.display()))
        }
        _ => Ok(()),
    }
}
