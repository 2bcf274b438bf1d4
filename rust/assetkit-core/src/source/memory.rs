//! A snapshot held in memory: what a snapshot stream unpacks to when nothing needs it on disk
//! (the SSH sweep). It reads exactly as the same stream unpacked into a [`super::SnapshotDir`],
//! errors included, without creating and deleting a few hundred files per host; a stream that
//! cannot be unpacked on disk (a file where a directory is, or below a file) is refused here too.
//!
//! Only what the stream names is stored: a directory holding files exists because a stored path
//! lies below it, so a deep path costs its own bytes once, never a copy per parent.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use super::raw::{CustomOutput, Source, valid_plugin_name};
use super::snapshot::safe_relative;

/// A snapshot's files by their path under the snapshot root (`files/proc/cpuinfo`,
/// `commands/ip-addr`, `commands/custom/<name>`), and the directories its `D` records name.
#[derive(Debug, Clone, Default)]
pub struct SnapshotMemory {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
}

/// What a path is in the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    File,
    Dir,
    /// Below a file: not a directory on disk either.
    UnderFile,
    Missing,
}

/// `rel` with empty components dropped (`a//b` is `a/b`), as a file system reads it.
fn normal(rel: &str) -> String {
    rel.split('/').filter(|c| !c.is_empty()).collect::<Vec<_>>().join("/")
}

fn error(kind: io::ErrorKind, path: &str, what: &str) -> io::Error {
    io::Error::new(kind, format!("{path}: {what}"))
}

impl SnapshotMemory {
    fn node(&self, rel: &str) -> Node {
        if self.files.contains_key(rel) {
            return Node::File;
        }
        let below = format!("{rel}/");
        let first_file = self.files.range(below.clone()..).next().map(|(k, _)| k);
        let first_dir = self.dirs.range(below.clone()..).next();
        if self.dirs.contains(rel)
            || first_file.is_some_and(|k| k.starts_with(&below))
            || first_dir.is_some_and(|k| k.starts_with(&below))
        {
            return Node::Dir;
        }
        if rel.match_indices('/').any(|(i, _)| self.files.contains_key(&rel[..i])) {
            return Node::UnderFile;
        }
        Node::Missing
    }

    /// Adds the file at `rel` (a path under the snapshot root, already checked against
    /// traversal), replacing one added before; refused where writing it to disk would fail.
    pub(crate) fn add_file(&mut self, rel: &str, data: Vec<u8>) -> io::Result<()> {
        if rel.ends_with('/') {
            return Err(error(io::ErrorKind::IsADirectory, rel, "a file's name ends in /"));
        }
        let rel = normal(rel);
        match self.node(&rel) {
            Node::Dir => return Err(error(io::ErrorKind::IsADirectory, &rel, "a directory")),
            Node::UnderFile => return Err(error(io::ErrorKind::NotADirectory, &rel, "below a file")),
            Node::File | Node::Missing => {}
        }
        self.files.insert(rel, data);
        Ok(())
    }

    /// Adds the directory at `rel` (checked as for [`SnapshotMemory::add_file`]), empty unless
    /// files are added below it.
    pub(crate) fn add_dir(&mut self, rel: &str) -> io::Result<()> {
        let rel = normal(rel);
        match self.node(&rel) {
            Node::File => return Err(error(io::ErrorKind::AlreadyExists, &rel, "a file")),
            Node::UnderFile => return Err(error(io::ErrorKind::NotADirectory, &rel, "below a file")),
            Node::Dir | Node::Missing => {}
        }
        self.dirs.insert(rel);
        Ok(())
    }

    /// The file at `rel` (`shown` names it in errors): the errors a file system gives.
    fn get(&self, rel: &str, shown: &str) -> io::Result<Vec<u8>> {
        let trailing_slash = rel.ends_with('/');
        let rel = normal(rel);
        match self.node(&rel) {
            Node::File if trailing_slash => Err(error(io::ErrorKind::NotADirectory, shown, "not a directory")),
            Node::File => Ok(self.files[&rel].clone()),
            Node::Dir => Err(error(io::ErrorKind::IsADirectory, shown, "a directory")),
            Node::UnderFile => Err(error(io::ErrorKind::NotADirectory, shown, "not a directory")),
            Node::Missing => Err(error(io::ErrorKind::NotFound, shown, "not in the snapshot")),
        }
    }
}

impl Source for SnapshotMemory {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.get(&format!("files/{}", safe_relative(path)?), path)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let rel = format!("files/{}", normal(safe_relative(dir)?));
        match self.node(&rel) {
            Node::Dir => {}
            Node::File | Node::UnderFile => return Err(error(io::ErrorKind::NotADirectory, dir, "not a directory")),
            Node::Missing => return Err(error(io::ErrorKind::NotFound, dir, "not in the snapshot")),
        }
        let prefix = format!("{rel}/");
        let files = self.files.range(prefix.clone()..).map(|(p, _)| p).take_while(|p| p.starts_with(&prefix));
        let dirs = self.dirs.range(prefix.clone()..).take_while(|p| p.starts_with(&prefix));
        let names: BTreeSet<&str> =
            files.chain(dirs).filter_map(|p| p[prefix.len()..].split('/').next()).filter(|c| !c.is_empty()).collect();
        Ok(names.into_iter().map(str::to_owned).collect())
    }

    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        self.get(&format!("commands/{}", safe_relative(name)?), name)
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
                // As read from disk: a message that is not UTF-8 reads as none.
                let message = String::from_utf8(data.clone()).unwrap_or_default();
                out.insert(name.to_owned(), Err(message.trim().to_owned()));
            } else if valid_plugin_name(file) {
                out.entry(file.to_owned()).or_insert_with(|| Ok(data.clone()));
            }
        }
        out
    }
}
