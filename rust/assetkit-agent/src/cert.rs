//! The cert file: the hostname the server knows this host by, written only from the server's
//! answer, atomically (temp file, fsync, rename, fsync of the directory).

use std::io::Write;
use std::path::{Path, PathBuf};

use assetkit_core::trust::{self, ReadRules, TrustError};

/// A hostname is at most 253 bytes; the cert file holds one and a newline.
pub const MAX_CERT_BYTES: u64 = 1024;

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
    ///
    /// The file is never a symbolic link (this module replaces it by rename), must not be
    /// writable by others (it decides which asset the host's reports land on), and holds one
    /// name: at most [`MAX_CERT_BYTES`] are read.
    pub fn read(&self) -> std::io::Result<Option<String>> {
        let rules = ReadRules { no_symlink: true, owner_and_mode: true, max_bytes: MAX_CERT_BYTES };
        match trust::read(&self.path, rules) {
            Ok(file) => Ok(Some(String::from_utf8_lossy(&file.bytes).trim().to_owned()).filter(|s| !s.is_empty())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(TrustError::Io { source, .. }) => Err(source),
            Err(e) => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())),
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
        // A temp file left by a crashed run with the same pid is ours to replace; create_new
        // (O_EXCL) then never writes through a link planted at that name.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
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

    #[test]
    fn a_symlink_or_a_huge_file_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 10 << 20]).unwrap();
        let cert = CertFile::new(dir.path().join("cert"));
        std::os::unix::fs::symlink(&big, cert.path()).unwrap();
        let err = cert.read().unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        std::fs::remove_file(cert.path()).unwrap();
        std::fs::copy(&big, cert.path()).unwrap();
        let err = cert.read().unwrap_err().to_string();
        assert!(err.contains("larger than 1024"), "{err}");
        // Writing replaces the file (and would replace a link) without following it.
        cert.write("web01").unwrap();
        assert_eq!(cert.read().unwrap().as_deref(), Some("web01"));
        assert_eq!(std::fs::metadata(&big).unwrap().len(), 10 << 20, "the link's target is untouched");
    }
}
