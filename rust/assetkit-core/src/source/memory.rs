//! A snapshot held in memory: what a snapshot stream unpacks to when nothing needs it on disk
//! (the SSH sweep). It reads exactly as the same stream unpacked into a [`super::SnapshotDir`],
//! without creating and deleting a few hundred files per host.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use super::raw::{CustomOutput, Source, valid_plugin_name};
use super::snapshot::safe_relative;

/// A snapshot's files by their path under the snapshot root (`files/proc/cpuinfo`,
/// `commands/ip-addr`, `commands/custom/<name>`), and its directories.
#[derive(Debug, Clone, Default)]
pub struct SnapshotMemory {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
}

/// `rel` with empty components dropped (`a//b/` is `a/b`), as a file system reads it.
fn normal(rel: &str) -> String {
    rel.split('/').filter(|c| !c.is_empty()).collect::<Vec<_>>().join("/")
}

fn not_found(path: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{path}: not in the snapshot"))
}

impl SnapshotMemory {
    /// Adds the file at `rel` (a path under the snapshot root, already checked), replacing one
    /// added before, with its parent directories.
    pub(crate) fn add_file(&mut self, rel: &str, data: Vec<u8>) {
        let rel = normal(rel);
        self.add_parents(&rel);
        self.files.insert(rel, data);
    }

    /// Adds the directory at `rel` (checked as for [`SnapshotMemory::add_file`]), empty unless
    /// files are added below it.
    pub(crate) fn add_dir(&mut self, rel: &str) {
        let rel = normal(rel);
        self.add_parents(&rel);
        self.dirs.insert(rel);
    }

    fn add_parents(&mut self, rel: &str) {
        let mut at = rel;
        while let Some((parent, _)) = at.rsplit_once('/') {
            if !self.dirs.insert(parent.to_owned()) {
                break; // its own parents are in already
            }
            at = parent;
        }
    }

    fn get(&self, rel: &str, shown: &str) -> io::Result<Vec<u8>> {
        match self.files.get(rel) {
            Some(data) => Ok(data.clone()),
            None if self.dirs.contains(rel) => {
                Err(io::Error::new(io::ErrorKind::IsADirectory, format!("{shown}: a directory")))
            }
            None => Err(not_found(shown)),
        }
    }
}

impl Source for SnapshotMemory {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.get(&format!("files/{}", normal(safe_relative(path)?)), path)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let rel = format!("files/{}", normal(safe_relative(dir)?));
        if !self.dirs.contains(&rel) {
            return Err(if self.files.contains_key(&rel) {
                io::Error::new(io::ErrorKind::NotADirectory, format!("{dir}: not a directory"))
            } else {
                not_found(dir)
            });
        }
        let prefix = format!("{rel}/");
        let child = |p: &String| p.strip_prefix(&prefix).filter(|c| !c.contains('/')).map(str::to_owned);
        let files = self.files.range(prefix.clone()..).map(|(p, _)| p).take_while(|p| p.starts_with(&prefix));
        let dirs = self.dirs.range(prefix.clone()..).take_while(|p| p.starts_with(&prefix));
        let names: BTreeSet<String> = files.chain(dirs).filter_map(child).collect();
        Ok(names.into_iter().collect())
    }

    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        self.get(&format!("commands/{}", normal(safe_relative(name)?)), name)
    }

    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput> {
        let prefix = "commands/custom/";
        let mut out = BTreeMap::new();
        let entries = self.files.range(prefix.to_owned()..).take_while(|(p, _)| p.starts_with(prefix));
        for (path, data) in entries {
            let file = &path[prefix.len()..];
            if file.contains('/') {
                continue;
            }
            if let Some(name) = file.strip_suffix(".error") {
                out.insert(name.to_owned(), Err(String::from_utf8_lossy(data).trim().to_owned()));
            } else if valid_plugin_name(file) {
                out.entry(file.to_owned()).or_insert_with(|| Ok(data.clone()));
            }
        }
        out
    }
}
