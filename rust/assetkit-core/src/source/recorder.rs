//! The live host, recording every successful read into a snapshot directory
//! (`assetkit snapshot --out`).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::raw::{CustomOutput, Source};
use super::snapshot::safe_relative;

/// The live host, recording every successful read into a snapshot directory.
pub struct Recorder<S> {
    inner: S,
    out: PathBuf,
}

impl<S: Source> Recorder<S> {
    /// Records into `out`, which must exist and should be empty.
    pub fn new(inner: S, out: impl Into<PathBuf>) -> Self {
        Recorder { inner, out: out.into() }
    }

    fn save(&self, rel: &Path, data: &[u8]) {
        let path = self.out.join(rel);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(error) = std::fs::write(&path, data) {
            tracing::warn!(path = %path.display(), %error, "cannot write snapshot file");
        }
    }
}

impl<S: Source> Source for Recorder<S> {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let data = self.inner.read(path)?;
        if let Ok(rel) = safe_relative(path) {
            self.save(&Path::new("files").join(rel), &data);
        }
        Ok(data)
    }

    fn read_limited(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        let data = self.inner.read_limited(path, max)?;
        if let Ok(rel) = safe_relative(path) {
            self.save(&Path::new("files").join(rel), &data);
        }
        Ok(data)
    }

    fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let names = self.inner.list(dir)?;
        // The directory itself is a fact: an empty one lists as empty in the snapshot too.
        if let Ok(rel) = safe_relative(dir) {
            let _ = std::fs::create_dir_all(self.out.join("files").join(rel));
        }
        Ok(names)
    }

    fn command(&self, name: &str) -> io::Result<Vec<u8>> {
        let data = self.inner.command(name)?;
        if let Ok(rel) = safe_relative(name) {
            self.save(&Path::new("commands").join(rel), &data);
        }
        Ok(data)
    }

    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput> {
        let outputs = self.inner.custom_plugins();
        for (name, output) in &outputs {
            let dir = Path::new("commands").join("custom");
            match output {
                Ok(data) => self.save(&dir.join(name), data),
                Err(message) => self.save(&dir.join(format!("{name}.error")), message.as_bytes()),
            }
        }
        outputs
    }
}
