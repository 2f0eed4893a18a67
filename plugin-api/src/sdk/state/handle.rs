//! The checkpoint handle: a small JSON document naming the files of one checkpoint.
//!
//! ```json
//! {"format":1,"table":"counts","epoch":12,"key_groups":128,
//!  "base":["b10-5f3a9c01.arrow",10485812,3735928559],
//!  "deltas":[["d11-5f3a9c01.arrow",104858,1234],["d12-5f3a9c01.arrow",104790,5678]]}
//! ```
//!
//! Each file is `[name, length, crc32]`. Restoring reads `base` (absent before the first
//! compaction) and then `deltas` in order; nothing else in the folder is looked at.

use serde::{Deserialize, Serialize};

use super::files::{epoch_of_name, FileRef};
use super::format::FORMAT_VERSION;
use crate::sdk::{Error, ErrorContext, Result};

/// The files that make up the table as of one checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Handle {
    pub format: u32,
    pub table: String,
    pub epoch: u64,
    pub key_groups: u16,
    pub base: Option<FileRef>,
    pub deltas: Vec<FileRef>,
}

impl Handle {
    /// The bytes the host keeps in its checkpoint manifest.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).context("encoding a state checkpoint handle")
    }

    /// Parses a handle and checks it belongs to this table and layout.
    pub fn parse(bytes: &[u8], table: &str, key_groups: u16) -> Result<Self> {
        let handle: Handle =
            serde_json::from_slice(bytes).context("parsing a state checkpoint handle")?;
        if handle.format != FORMAT_VERSION {
            return Err(Error::msg(format!(
                "state handle has format {}, this build reads {FORMAT_VERSION}",
                handle.format
            )));
        }
        if handle.table != table {
            return Err(Error::msg(format!(
                "state handle is for table {:?}, not {table:?}",
                handle.table
            )));
        }
        if handle.key_groups != key_groups {
            return Err(Error::msg(format!(
                "state handle of table {table:?} has {} key groups, the table is configured \
                 with {key_groups} (changing it is not supported yet)",
                handle.key_groups
            )));
        }
        if let Some(bad) = handle.files().find(|f| !is_state_file_name(f.name())) {
            return Err(Error::msg(format!(
                "state handle of table {table:?} names {:?}, not a state file",
                bad.name()
            )));
        }
        Ok(handle)
    }

    /// Every file the handle names.
    pub fn files(&self) -> impl Iterator<Item = &FileRef> {
        self.base.iter().chain(&self.deltas)
    }
}

/// A name this store writes: no folder part, so a handle cannot point outside the folder.
fn is_state_file_name(name: &str) -> bool {
    !name.contains(['/', '\\']) && !name.ends_with(".tmp") && epoch_of_name(name).is_some()
}
