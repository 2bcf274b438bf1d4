//! A snapshot directory: `files/<absolute path>` and `commands/<name>`, as the module above
//! describes. Reading one never runs anything.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::raw::{CustomOutput, Source, read_file_limited, sorted_names, valid_plugin_name};

/// A snapshot directory (see the module docs for the layout).
#[derive(Debug, Clone)]
pub struct SnapshotDir {
    root: PathBuf,
}

impl SnapshotDir {
    /// Reads the snapshot rooted at `root`. Fails when `root` is not a directory.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("snapshot {} is not a directory", root.display()),
            ));
        }
        Ok(SnapshotDir { root })
    }

    /// The snapshot's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn file_path(&self, path: &str) -> io::Result<PathBuf> {
        let rel = safe_relative(path)?;
        Ok(self.root.join("files").join(rel))
    }
}

/// `path` without its leading slash, refusing anything that would escape the snapshot.
pub fn safe_relative(path: &str) -> io::Result<&str> {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() || rel.split('/').any(|c| c == ".." || c == ".") {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("refusing path {path:?}")));
    }
    Ok(rel)
}

impl Source for SnapshotDir {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.file_path(path)?)
    }

    fn read_limited(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        read_file_limited(&self.file_path(path)?, max)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        sorted_names(&self.file_path(dir)?)
    }

    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        let rel = safe_relative(name)?;
        std::fs::read(self.root.join("commands").join(rel))
    }

    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput> {
        let dir = self.root.join("commands").join("custom");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file.strip_suffix(".error") {
                let message = std::fs::read_to_string(entry.path()).unwrap_or_default().trim().to_owned();
                out.insert(name.to_owned(), Err(message));
            } else if valid_plugin_name(&file) {
                out.entry(file).or_insert_with(|| std::fs::read(entry.path()).map_err(|e| e.to_string()));
            }
        }
        out
    }
}
