//! Durable file writes, file names and checksums.
//!
//! Every state file is written to `<name>.tmp`, flushed, fsynced, renamed to `<name>` and
//! then the folder is fsynced, so after a crash a file either exists whole under its final
//! name or not at all. Names carry the epoch and a token of the run that wrote them, so a
//! restarted run never overwrites a file that a handle of the crashed run names.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::sdk::{Error, ErrorContext, Result};

/// What a handle records of one file: its name in the table folder, its length in bytes
/// and its CRC-32, checked before the file is parsed. Serialized as a 3-element array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileRef(pub String, pub u64, pub u32);

impl FileRef {
    pub fn name(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> u64 {
        self.1
    }
}

/// The two kinds of state file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// The whole table as of an epoch, without tombstones.
    Base,
    /// What changed since the previous checkpoint: upserts and tombstones.
    Delta,
}

impl Kind {
    fn prefix(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::Delta => 'd',
        }
    }

    /// The name written in the file's schema metadata.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Base => "base",
            Kind::Delta => "delta",
        }
    }
}

/// `b<epoch>-<run>.arrow` or `d<epoch>-<run>.arrow`.
pub(super) fn file_name(kind: Kind, epoch: u64, run: &str) -> String {
    format!("{}{epoch}-{run}.arrow", kind.prefix())
}

/// The epoch in a state file's name (also of its `.tmp`); `None` for any other file.
pub(super) fn epoch_of_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".tmp").unwrap_or(name);
    let stem = stem.strip_suffix(".arrow")?;
    let rest = stem.strip_prefix('b').or_else(|| stem.strip_prefix('d'))?;
    let (epoch, run) = rest.split_once('-')?;
    if run.is_empty() || !run.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    epoch.parse().ok()
}

/// A token that differs between runs (and between tables opened by one process): the
/// clock, the process id and a counter, hashed.
pub(super) fn run_token() -> String {
    static OPENED: AtomicU64 = AtomicU64::new(0);
    let count = OPENED.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!("{nanos}-{}-{count}", std::process::id());
    let h = super::codec::fnv1a_64(seed.as_bytes());
    format!("{:08x}", (h ^ (h >> 32)) as u32)
}

/// A writer that counts and checksums what passes through it, and can sync as it goes.
pub(super) struct CrcWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
    sync_every: u64,
    next_sync: u64,
}

impl Write for CrcWriter<BufWriter<File>> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        if self.len >= self.next_sync {
            // On ext4 (data=ordered) an fsync of any file may have to write out the dirty
            // data of every other file first: syncing a compaction's big file as it grows
            // keeps the operator's checkpoint fsyncs from waiting for all of it at once.
            self.inner.flush()?;
            self.inner.get_ref().sync_data()?;
            self.next_sync = self.len.saturating_add(self.sync_every);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The writer a durable write hands to its body.
pub(super) type Out = CrcWriter<BufWriter<File>>;

/// Writes `dir/name` durably (see the module doc) and returns its [`FileRef`].
pub(super) fn write_durable(
    dir: &Path,
    name: &str,
    body: impl FnOnce(Out) -> Result<Out>,
) -> Result<FileRef> {
    write_durable_paced(dir, name, u64::MAX, body)
}

/// [`write_durable`], also syncing the data every `sync_every` bytes as it is written.
pub(super) fn write_durable_paced(
    dir: &Path,
    name: &str,
    sync_every: u64,
    body: impl FnOnce(Out) -> Result<Out>,
) -> Result<FileRef> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let result = write_tmp(&tmp, sync_every, body).and_then(|file_ref| {
        fs::rename(&tmp, &path).context("renaming it into place")?;
        sync_dir(dir)?;
        Ok(FileRef(name.to_owned(), file_ref.0, file_ref.1))
    });
    if result.is_err() {
        // Best effort: a stray .tmp is also removed by the next garbage collection.
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing state file {}", path.display()))
}

fn write_tmp(
    tmp: &Path,
    sync_every: u64,
    body: impl FnOnce(Out) -> Result<Out>,
) -> Result<(u64, u32)> {
    let file = File::create(tmp).context("creating its temporary file")?;
    let out = CrcWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
        len: 0,
        sync_every,
        next_sync: sync_every,
    };
    let mut out = body(out)?;
    out.flush()?;
    let (len, crc) = (out.len, out.crc.finalize());
    let file = out.inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all().context("fsync")?;
    Ok((len, crc))
}

/// Makes a rename or a new entry in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("fsync of folder {}", dir.display()))
}

/// Opens `dir/<file>` after checking its length and checksum against the handle's record.
pub(super) fn open_verified(dir: &Path, file: &FileRef) -> Result<(PathBuf, File)> {
    let path = dir.join(file.name());
    verify(&path, file).with_context(|| format!("state file {}", path.display()))?;
    let opened = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    Ok((path, opened))
}

fn verify(path: &Path, file: &FileRef) -> Result<()> {
    let mut f = File::open(path)?;
    let (mut crc, mut len) = (crc32fast::Hasher::new(), 0u64);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        len += n as u64;
    }
    if len != file.len() {
        return Err(Error::msg(format!(
            "is {len} bytes long, the checkpoint recorded {} (truncated or replaced)",
            file.len()
        )));
    }
    let crc = crc.finalize();
    if crc != file.2 {
        return Err(Error::msg(format!(
            "checksum {crc:08x} differs from the recorded {:08x} (corrupt)",
            file.2
        )));
    }
    Ok(())
}
