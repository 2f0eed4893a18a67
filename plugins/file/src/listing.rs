//! Which files to read next: a folder (walked recursively) or a glob, minus in-progress
//! (`.x`, `_x`) and archived files, minus those already seen, in the configured order.

use std::cmp::Reverse;
use std::fs;
use std::path::{absolute, Component, Path, PathBuf};
use std::time::SystemTime;

use ferry_plugin_api::sdk::{Error, ErrorContext, Result};

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
    max_files: Option<usize>,
}

impl Listing {
    /// Checks that the folder (or the folder a glob starts from) exists.
    pub fn new(
        path: &str,
        archive_dir: Option<&Path>,
        latest_first: bool,
        max_files: Option<usize>,
    ) -> Result<Self> {
        let (base, pattern) = if path.contains(['*', '?', '[']) {
            (glob_base(path), Some(path.to_string()))
        } else if Path::new(path).is_file() {
            // A single file: a glob that matches just it.
            let parent = Path::new(path).parent().unwrap_or(Path::new(""));
            (folder(parent.to_path_buf()), Some(path.to_string()))
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
        Ok(Self {
            base,
            pattern,
            archive_dir,
            latest_first,
            max_files,
        })
    }

    /// The folder that paths of files are relative to.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Files not `seen` yet, in reading order, at most `max_files` of them.
    pub fn new_files(&self, seen: impl Fn(&str) -> bool) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for path in self.candidates()? {
            let name = path.display().to_string();
            if seen(&name) || self.excluded(&path) {
                continue;
            }
            // A file removed since it was listed is simply not there any more.
            if let Ok(modified) = fs::metadata(&path).and_then(|m| m.modified()) {
                found.push((modified, name));
            }
        }
        self.order(&mut found);
        let limit = self.max_files.unwrap_or(usize::MAX);
        Ok(found
            .into_iter()
            .take(limit)
            .map(|(_, name)| name)
            .collect())
    }

    fn candidates(&self) -> Result<Vec<PathBuf>> {
        match &self.pattern {
            Some(pattern) => glob_files(pattern),
            None => {
                let mut files = Vec::new();
                walk(&self.base, &mut files)?;
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
    fn order(&self, files: &mut [(SystemTime, String)]) {
        if self.latest_first {
            files.sort_by(|a, b| (Reverse(a.0), &a.1).cmp(&(Reverse(b.0), &b.1)));
        } else {
            files.sort();
        }
    }
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

/// Every file below `dir`, skipping hidden and in-progress folders.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("listing '{}'", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing '{}'", dir.display()))?;
        if is_hidden(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files)?,
            Ok(_) => files.push(path),
            // Gone since the folder was read.
            Err(_) => {}
        }
    }
    Ok(())
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
}
