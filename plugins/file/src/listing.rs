//! Which files to read next: a folder (walked recursively) or a glob, minus in-progress
//! (`.x`, `_x`) and archived files, files whose name `path_glob_filter` refuses, files
//! too old for `max_file_age`, those already seen and those still changing (see
//! `stable`), in the configured order, as many as a trigger admits.

use std::cmp::Reverse;
use std::collections::HashSet;
use std::fs;
use std::path::{absolute, Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use ferry_plugin_api::log::{debug, warn};
use ferry_plugin_api::sdk::{Error, ErrorContext, Result};

use crate::stable::{Settling, Snapshot};

/// Where the input files are found.
#[derive(Debug)]
pub struct Listing {
    /// The folder given, or the fixed folder a glob starts from.
    base: PathBuf,
    /// The glob, when `path` is one.
    pattern: Option<String>,
    /// Files under this folder are never listed.
    archive_dir: Option<PathBuf>,
    latest_first: bool,
    limits: Limits,
    /// Only files whose name matches one of these are listed (none: every file).
    name_filter: Vec<glob::Pattern>,
    /// Files found that have not held still for `file_stable_for` yet.
    settling: Settling,
}

/// How many files one listing admits, and which are too old to read.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// At most this many files.
    pub max_files: Option<usize>,
    /// Files while their total size stays within this; the first one always.
    pub max_bytes: Option<u64>,
    /// Files modified this long before the newest file seen are ignored.
    pub max_file_age: Option<Duration>,
    /// Files are admitted once their size and modification time held this long.
    pub stable_for: Duration,
}

/// A file found by a listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    pub modified: SystemTime,
    pub name: String,
    pub size: u64,
}

impl Listed {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            size: self.size,
            modified: self.modified,
        }
    }
}

/// What a listing found: the files admitted, in reading order, and how long until the
/// first file still changing may be admitted (`None`: none is).
#[derive(Debug, Default)]
pub struct Found {
    pub files: Vec<Listed>,
    pub settling: Option<Duration>,
}

impl Listing {
    /// Checks that the folder (or the folder a glob starts from) exists, and the name
    /// filter, a glob with `{a,b}` alternatives as in Hadoop's.
    pub fn new(
        path: &str,
        archive_dir: Option<&Path>,
        latest_first: bool,
        limits: Limits,
        name_filter: Option<&str>,
    ) -> Result<Self> {
        // A path that exists is taken as it is, even with glob characters in its name
        // (`data[1]/`), so it is never a glob that matches nothing.
        let (base, pattern) = if Path::new(path).is_dir() {
            (PathBuf::from(path), None)
        } else if Path::new(path).is_file() {
            // A single file: a glob that matches just it.
            let parent = Path::new(path).parent().unwrap_or(Path::new(""));
            let literal = glob::Pattern::escape(path);
            (folder(parent.to_path_buf()), Some(literal))
        } else if path.contains(['*', '?', '[']) {
            (glob_base(path), Some(path.to_string()))
        } else {
            (PathBuf::from(path), None)
        };
        if !base.is_dir() {
            let folder = base.display();
            return Err(Error::msg(match pattern {
                Some(_) => format!("path '{path}': folder '{folder}' does not exist"),
                None => format!("path '{folder}' does not exist"),
            }));
        }
        let archive_dir = archive_dir.map(absolute).transpose()?;
        let name_filter = match name_filter {
            Some(filter) => name_patterns(filter)?,
            None => Vec::new(),
        };
        Ok(Self {
            base,
            pattern,
            archive_dir,
            latest_first,
            settling: Settling::new(limits.stable_for),
            limits,
            name_filter,
        })
    }

    /// The folder that paths of files are relative to.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Files not `seen` yet that held still for `stable_for`, in reading order, as many
    /// as the limits admit. With `max_file_age`, files modified that long before `newest`
    /// (the newest file read so far; none on the first listing, which admits every age)
    /// are ignored.
    pub fn new_files(
        &mut self,
        seen: impl Fn(&str) -> bool,
        newest: Option<SystemTime>,
    ) -> Result<Found> {
        let oldest = self.oldest(newest);
        let (mut found, mut settling) = (Vec::new(), None::<Duration>);
        let mut listed = HashSet::new();
        for path in self.candidates()? {
            let name = path.display().to_string();
            if seen(&name) || self.excluded(&path) || !self.name_matches(&path) {
                continue;
            }
            // A file removed since it was listed is simply not there any more.
            let Ok(snapshot) = fs::metadata(&path).and_then(|m| Snapshot::from_metadata(&m)) else {
                continue;
            };
            if oldest.is_some_and(|oldest| snapshot.modified < oldest) {
                debug!("ignoring '{name}': older than max_file_age before the newest file");
                continue;
            }
            if let Some(left) = self.settling.wait(&name, snapshot) {
                settling = Some(settling.map_or(left, |s| s.min(left)));
                listed.insert(name);
                continue;
            }
            listed.insert(name.clone());
            found.push(Listed {
                modified: snapshot.modified,
                name,
                size: snapshot.size,
            });
        }
        self.order(&mut found);
        let files = self.admit(found);
        for file in &files {
            listed.remove(&file.name);
        }
        self.settling.retain(|name| listed.contains(name));
        Ok(Found { files, settling })
    }

    /// The oldest modification time still read: Spark's rule, `max_file_age` before the
    /// newest file seen, except with `latest_first` and `max_files_per_trigger`, where it
    /// would skip older files that are still due.
    fn oldest(&self, newest: Option<SystemTime>) -> Option<SystemTime> {
        let Limits {
            max_files,
            max_file_age,
            ..
        } = &self.limits;
        if self.latest_first && max_files.is_some() {
            return None;
        }
        newest?.checked_sub((*max_file_age)?)
    }

    /// The first files of `found` that one trigger admits: at most `max_files`, and while
    /// their total size stays within `max_bytes`, but always the first (Spark's rule).
    fn admit(&self, found: Vec<Listed>) -> Vec<Listed> {
        let max_files = self.limits.max_files.unwrap_or(usize::MAX);
        let max_bytes = self.limits.max_bytes.unwrap_or(u64::MAX);
        let mut total = 0u64;
        let mut admitted = Vec::new();
        for file in found.into_iter().take(max_files) {
            total = total.saturating_add(file.size);
            if !admitted.is_empty() && total > max_bytes {
                break;
            }
            admitted.push(file);
        }
        admitted
    }

    /// Whether the file's name passes `path_glob_filter`.
    fn name_matches(&self, path: &Path) -> bool {
        let Some(name) = path.file_name() else {
            return false;
        };
        let name = name.to_string_lossy();
        self.name_filter.is_empty() || self.name_filter.iter().any(|p| p.matches(&name))
    }

    fn candidates(&self) -> Result<Vec<PathBuf>> {
        match &self.pattern {
            Some(pattern) => glob_files(pattern),
            None => {
                let mut files = Vec::new();
                let mut walked = HashSet::new();
                walked.extend(fs::canonicalize(&self.base));
                walk(&self.base, &mut walked, &mut files)?;
                Ok(files)
            }
        }
    }

    /// Hidden or in-progress below the base folder, or archived.
    fn excluded(&self, path: &Path) -> bool {
        let relative = path.strip_prefix(&self.base).unwrap_or(path);
        let hidden = relative.components().any(|c| match c {
            Component::Normal(name) => is_hidden(name.to_string_lossy().as_ref()),
            _ => false,
        });
        hidden || self.archived(path)
    }

    fn archived(&self, path: &Path) -> bool {
        let Some(archive) = &self.archive_dir else {
            return false;
        };
        absolute(path).is_ok_and(|p| p.starts_with(archive))
    }

    /// Oldest (or newest) first by modification time, ties by name.
    fn order(&self, files: &mut [Listed]) {
        if self.latest_first {
            files.sort_by(|a, b| {
                (Reverse(a.modified), &a.name).cmp(&(Reverse(b.modified), &b.name))
            });
        } else {
            files.sort();
        }
    }
}

/// `path_glob_filter` as globs without alternatives: `*.{json,csv}` is `*.json`, `*.csv`.
fn name_patterns(filter: &str) -> Result<Vec<glob::Pattern>> {
    let alternatives = expand_braces(filter)
        .map_err(|e| Error::msg(format!("path_glob_filter '{filter}': {e}")))?;
    (alternatives.iter())
        .map(|p| glob::Pattern::new(p).with_context(|| format!("path_glob_filter '{filter}'")))
        .collect()
}

/// Expands the first `{a,b,...}` group of `glob` (groups may nest), then the rest.
fn expand_braces(glob: &str) -> std::result::Result<Vec<String>, String> {
    let Some(open) = glob.find('{') else {
        return match glob.contains('}') {
            true => Err("'}' without '{'".into()),
            false => Ok(vec![glob.to_string()]),
        };
    };
    let (mut depth, mut close, mut commas) = (0, None, Vec::new());
    for (i, c) in glob[open..].char_indices() {
        match c {
            '{' => depth += 1,
            ',' if depth == 1 => commas.push(open + i),
            '}' if depth == 1 => {
                close = Some(open + i);
                break;
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    let close = close.ok_or("'{' without '}'")?;
    let bounds = std::iter::once(open).chain(commas).chain([close]);
    let bounds: Vec<usize> = bounds.collect();
    let (head, tail) = (&glob[..open], &glob[close + 1..]);
    let mut expanded = Vec::new();
    for pair in bounds.windows(2) {
        let choice = &glob[pair[0] + 1..pair[1]];
        expanded.extend(expand_braces(&format!("{head}{choice}{tail}"))?);
    }
    Ok(expanded)
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// The leading components of a glob that hold no wildcard.
fn glob_base(pattern: &str) -> PathBuf {
    let base = Path::new(pattern)
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect();
    folder(base)
}

/// `.` for the empty path.
fn folder(path: PathBuf) -> PathBuf {
    match path.as_os_str().is_empty() {
        true => PathBuf::from("."),
        false => path,
    }
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>> {
    let paths = glob::glob(pattern).with_context(|| format!("path '{pattern}'"))?;
    let mut files = Vec::new();
    for path in paths {
        let path = path.map_err(|e| Error::msg(format!("listing '{pattern}': {e}")))?;
        if path.is_file() {
            files.push(path);
        }
    }
    Ok(files)
}

/// Every file below `dir`, skipping hidden and in-progress folders. Symlinks are
/// followed; a folder already `walked` (by its canonical path) is not listed again, so a
/// link loop ends and no file is read twice under two names.
fn walk(dir: &Path, walked: &mut HashSet<PathBuf>, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("listing '{}'", dir.display()))?;
    let mut entries = entries
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("listing '{}'", dir.display()))?;
    // By name, so a folder reachable by two paths is always listed under the same one.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if is_hidden(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                if fs::canonicalize(&path).is_ok_and(|real| walked.insert(real)) {
                    walk(&path, walked, files)?;
                }
            }
            Ok(t) if t.is_symlink() => linked(path, walked, files)?,
            Ok(_) => files.push(path),
            // Gone since the folder was read.
            Err(_) => {}
        }
    }
    Ok(())
}

/// A symlink met while walking: a file is listed, a folder walked unless it was already.
fn linked(path: PathBuf, walked: &mut HashSet<PathBuf>, files: &mut Vec<PathBuf>) -> Result<()> {
    let Ok(metadata) = fs::metadata(&path) else {
        warn!("skipping '{}': a symlink to nothing", path.display());
        return Ok(());
    };
    if !metadata.is_dir() {
        files.push(path);
        return Ok(());
    }
    match fs::canonicalize(&path) {
        Ok(real) if walked.insert(real.clone()) => walk(&path, walked, files),
        Ok(real) => {
            warn!(
                "skipping '{}': a symlink to '{}', which is listed already (a loop, or a second path to it)",
                path.display(),
                real.display()
            );
            Ok(())
        }
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_base_stops_at_the_first_wildcard() {
        assert_eq!(glob_base("data/in/*.json"), PathBuf::from("data/in"));
        assert_eq!(glob_base("data/*/x.csv"), PathBuf::from("data"));
        assert_eq!(glob_base("*.csv"), PathBuf::from("."));
    }

    #[test]
    fn braces_expand_to_alternatives() {
        assert_eq!(expand_braces("*.json").unwrap(), ["*.json"]);
        assert_eq!(
            expand_braces("a{b,c{d,e}}f.{x,y}").unwrap(),
            ["abf.x", "abf.y", "acdf.x", "acdf.y", "acef.x", "acef.y"]
        );
        assert_eq!(expand_braces("*.{json,").unwrap_err(), "'{' without '}'");
        assert_eq!(expand_braces("x}").unwrap_err(), "'}' without '{'");
    }
}
