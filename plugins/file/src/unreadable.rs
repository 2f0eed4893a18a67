//! What becomes of a file the source cannot read to its end: one removed since it was
//! listed is skipped with a warning (Spark's `ignoreMissingFiles`); one that cannot be
//! read (Spark's corrupt file) is one rejected record naming it, and the source goes on
//! with the next file. Neither ever stops the pipeline for good.

use std::fs;

use ferry_plugin_api::log::warn;
use ferry_plugin_api::sdk::{Error, Output, Result};

use crate::reader::Failure;

/// The `ignore_corrupt_files` and `ignore_missing_files` options.
#[derive(Clone, Copy, Debug)]
pub struct OnFailure {
    /// `Some(false)`: an unreadable file fails the run whatever the tolerance.
    pub corrupt: Option<bool>,
    /// A missing file is skipped with a warning.
    pub missing: bool,
}

/// How the source goes on after a file it gave up on.
#[derive(Debug, PartialEq, Eq)]
pub enum GaveUp {
    /// The file was rejected: it counts as read and is never read again.
    Rejected,
    /// The file is gone: forgotten, so a new file of that name is read when it comes.
    Forgotten,
}

impl OnFailure {
    /// Handles `failure` of `path` after its first `records` records: an error when it
    /// fails the task (a rejected file under `errors.tolerance = "none"` included).
    pub fn handle(
        &self,
        path: &str,
        records: u64,
        failure: Failure,
        out: &mut Output<'_>,
    ) -> Result<GaveUp> {
        match failure {
            Failure::Fatal(e) => Err(e),
            Failure::Missing(reason) if self.missing => {
                warn!("'{path}' was removed before it was read to its end ({reason}); skipped");
                Ok(GaveUp::Forgotten)
            }
            Failure::Missing(reason) => Err(Error::msg(format!(
                "reading '{path}': {reason} (ignore_missing_files = false)"
            ))),
            Failure::Unreadable(reason) => {
                let reason = unreadable_reason(path, records, &reason);
                if self.corrupt == Some(false) {
                    return Err(Error::msg(format!(
                        "'{path}': {reason} (ignore_corrupt_files = false)"
                    )));
                }
                reject_file(path, &reason, out)?;
                Ok(GaveUp::Rejected)
            }
        }
    }
}

/// Rejects the file `path` as a whole, with a warning: an error under
/// `errors.tolerance = "none"`.
pub fn reject_file(path: &str, reason: &str, out: &mut Output<'_>) -> Result<()> {
    warn!("'{path}': {reason}; the file is rejected and the source goes on");
    // The path is the record: the file may be too large for a dead-letter sink, and it
    // stays where it is to be looked at.
    out.reject(path.as_bytes(), reason, path)
}

/// `cannot read the file (1234 bytes): <reason>`, with the records read before.
fn unreadable_reason(path: &str, records: u64, reason: &str) -> String {
    let size = match fs::metadata(path) {
        Ok(metadata) => format!("{} bytes", metadata.len()),
        Err(_) => "size unknown".to_string(),
    };
    match records {
        0 => format!("cannot read the file ({size}): {reason}"),
        n => format!("cannot read the file ({size}) after its first {n} records: {reason}"),
    }
}
