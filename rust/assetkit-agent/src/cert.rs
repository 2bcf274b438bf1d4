//! The cert file: the hostname the server knows this host by, written only from the server's
//! answer, atomically (temp file, fsync, rename, fsync of the directory).

use std::io::Write;
use std::path::{Path, PathBuf};

/// The cert file at a path.
#[derive(Debug, Clone)]
pub struct CertFile {
    path: PathBuf,
}

impl CertFile {
    /// The cert file at `path` (it may not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CertFile { path: path.into() }
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored hostname; `None` when the file does not exist or is empty.
    pub fn read(&self) -> std::io::Result<Option<String>> {
        match std::fs::read_to_string(&self.path) {
            Ok(s) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the content atomically; a crash leaves the old or the new name, never a torn one.
    pub fn write(&self, hostname: &str) -> std::io::Result<()> {
        write_atomic(&self.path, format!("{hostname}\n").as_bytes(), 0o644)
    }
}

/// Writes `data` to `path` through a temp file in the same directory, fsyncs, renames and
/// fsyncs the directory, so the rename is durable too.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_write() {
        let dir = tempfile::tempdir().unwrap();
        let cert = CertFile::new(dir.path().join("etc/assetkit/cert"));
        assert_eq!(cert.read().unwrap(), None);
        cert.write("web01").unwrap();
        assert_eq!(cert.read().unwrap().as_deref(), Some("web01"));
        cert.write("web02").unwrap();
        assert_eq!(std::fs::read_to_string(cert.path()).unwrap(), "web02\n");
        assert_eq!(std::fs::read_dir(dir.path().join("etc/assetkit")).unwrap().count(), 1, "temp file left behind");
    }
}
