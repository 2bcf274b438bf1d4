//! The key file: the API secret, alone in a file that only its owner can read.
//!
//! It is opened without blocking and checked on the open descriptor: a FIFO, a device or a
//! directory in its place is refused at once (never waited on), and at most [`MAX_KEY_BYTES`]
//! are read.

use std::path::Path;

use assetkit_core::trust::{self, TrustError};
use assetkit_sign::Secret;

/// A secret is 68 bytes; anything much larger is not a key file.
pub const MAX_KEY_BYTES: u64 = 4096;

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Missing or unreadable.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Group or others may read it.
    #[error("key file {path} has mode {mode:04o}; it must be readable by its owner only. Fix: chmod 600 {path}")]
    Mode {
        /// Path.
        path: String,
        /// Permission bits.
        mode: u32,
    },
    /// Owned by someone else.
    #[error("key file {path} is owned by uid {owner}, but assetkit runs as uid {me}. Fix: chown {me} {path}")]
    Owner {
        /// Path.
        path: String,
        /// File owner.
        owner: u32,
        /// Our effective uid.
        me: u32,
    },
    /// Empty.
    #[error("key file {path} is empty; put the secret from `assetkitd keys create` in it")]
    Empty {
        /// Path.
        path: String,
    },
    /// Not a regular file, too large, or in a directory others may write.
    #[error("key file: {0}")]
    Untrusted(TrustError),
}

/// Reads the secret (the file's first line, trimmed), refusing a file that others could read
/// or that someone else owns: [`trust::read_secret_file`], the rule for every secret file.
pub fn load(path: &Path) -> Result<Secret, KeyError> {
    let shown = path.display().to_string();
    let secret = match trust::read_secret_file(path, MAX_KEY_BYTES) {
        Ok(text) => Secret::new(text),
        Err(TrustError::Io { source, .. }) => return Err(KeyError::Read { path: shown, source }),
        Err(TrustError::Readable { mode, .. }) => return Err(KeyError::Mode { path: shown, mode }),
        Err(TrustError::NotMine { owner, me, .. }) => return Err(KeyError::Owner { path: shown, owner, me }),
        Err(e) => return Err(KeyError::Untrusted(e)),
    };
    if secret.is_empty() {
        return Err(KeyError::Empty { path: shown });
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn mode_is_enforced_and_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "aks_secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("0644") && err.contains("chmod 600"), "{err}");
        assert!(!err.contains("aks_secret"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load(&path).unwrap().expose(), "aks_secret");
        std::fs::write(&path, "\n").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn a_fifo_or_a_huge_file_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
        // Opening a FIFO for reading blocks until a writer comes; the check must not.
        let err = load(&fifo).unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 1 << 20]).unwrap();
        std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = load(&big).unwrap_err().to_string();
        assert!(err.contains("larger than 4096"), "{err}");
    }
}
