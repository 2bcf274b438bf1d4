//! The key file: the API secret, alone in a file that only its owner can read.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use assetkit_sign::Secret;

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
}

/// Reads the secret, refusing a file that others could read or that someone else owns.
pub fn load(path: &Path) -> Result<Secret, KeyError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| KeyError::Read { path: shown.clone(), source })?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Mode { path: shown, mode });
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(KeyError::Owner { path: shown, owner: meta.uid(), me });
    }
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read { path: shown.clone(), source })?;
    let secret = Secret::new(text);
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
}
