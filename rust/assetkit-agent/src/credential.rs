//! The host's own credential: what the receiver issued when the host enrolled, kept next to the
//! key file and used to sign every later report (the fleet key then serves only for a
//! re-enrolment an admin allows).
//!
//! One JSON line, `{"key_id": "hk_...", "secret": "aks_..."}`, in a file of mode 0600 owned by
//! the agent's user, written atomically. Until it exists, `<file>.enrol` (also 0600) holds the
//! private half of the key the host enrols with (`assetkit_sign::enrol`). A control machine (SSH sweeps, the Salt master) keeps one
//! such file per target in a directory of mode 0700 ([`CredentialStore`]).

use std::path::{Path, PathBuf};

use assetkit_core::trust::{self, ReadRules, TrustError};
use assetkit_sign::Secret;
use assetkit_sign::enrol::EnrolKey;
use serde::{Deserialize, Serialize};

use crate::cert::write_atomic;

/// A credential file is one short JSON line.
pub const MAX_CREDENTIAL_BYTES: u64 = 4096;

/// A host credential.
#[derive(Clone, PartialEq, Eq)]
pub struct HostCredential {
    /// `hk_...`.
    pub key_id: String,
    /// The secret.
    pub secret: Secret,
}

impl std::fmt::Debug for HostCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostCredential({}, <redacted>)", self.key_id)
    }
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    key_id: String,
    secret: String,
}

/// Why a credential file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Unreadable, not private, not a regular file, too large.
    #[error("credential file: {0}")]
    Untrusted(TrustError),
    /// Readable by others.
    #[error("credential file {path} has mode {mode:04o}; it must be readable by its owner only. Fix: chmod 600 {path}")]
    Mode {
        /// Path.
        path: String,
        /// Permission bits.
        mode: u32,
    },
    /// Not the expected JSON.
    #[error("credential file {path} is not {{\"key_id\": ..., \"secret\": ...}}: {reason}")]
    Malformed {
        /// Path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// It could not be written.
    #[error("cannot write credential file {path}: {source}")]
    Write {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The credential file at a path.
#[derive(Debug, Clone)]
pub struct CredentialFile {
    path: PathBuf,
}

impl CredentialFile {
    /// The file at `path` (it may not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CredentialFile { path: path.into() }
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored credential; `None` when there is none yet.
    pub fn load(&self) -> Result<Option<HostCredential>, CredentialError> {
        let shown = self.path.display().to_string();
        let rules = ReadRules { no_symlink: true, owner_and_mode: true, max_bytes: MAX_CREDENTIAL_BYTES };
        let file = match trust::read(&self.path, rules) {
            Ok(file) => file,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(CredentialError::Untrusted(e)),
        };
        if file.mode & 0o077 != 0 {
            return Err(CredentialError::Mode { path: shown, mode: file.mode });
        }
        let disk: OnDisk = serde_json::from_slice(&file.bytes)
            .map_err(|e| CredentialError::Malformed { path: shown.clone(), reason: e.to_string() })?;
        let valid_id = !disk.key_id.is_empty()
            && disk.key_id.len() <= 64
            && disk.key_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid_id || disk.secret.trim().is_empty() {
            return Err(CredentialError::Malformed {
                path: shown,
                reason: "empty or malformed key_id or secret".into(),
            });
        }
        Ok(Some(HostCredential { key_id: disk.key_id, secret: Secret::new(disk.secret) }))
    }

    /// Where the enrolment key lives: beside the credential, `<file>.enrol`.
    pub fn enrol_key_path(&self) -> PathBuf {
        let mut name = self.path.file_name().map(std::ffi::OsString::from).unwrap_or_default();
        name.push(".enrol");
        self.path.with_file_name(name)
    }

    /// The key this host enrols with: read from [`CredentialFile::enrol_key_path`], or made and
    /// written there (mode 0600) on first use. The same key serves every retry of an enrolment
    /// until the credential is stored, so that a report whose answer was lost is answered again
    /// with a credential only this host opens.
    pub fn enrol_key(&self) -> Result<EnrolKey, CredentialError> {
        let path = self.enrol_key_path();
        let shown = path.display().to_string();
        let rules = ReadRules { no_symlink: true, owner_and_mode: true, max_bytes: MAX_CREDENTIAL_BYTES };
        match trust::read(&path, rules) {
            Ok(file) => {
                if file.mode & 0o077 != 0 {
                    return Err(CredentialError::Mode { path: shown, mode: file.mode });
                }
                let text = String::from_utf8_lossy(&file.bytes);
                EnrolKey::from_private_hex(&text)
                    .map_err(|e| CredentialError::Malformed { path: shown, reason: e.to_string() })
            }
            Err(e) if e.is_not_found() => {
                let key = EnrolKey::generate();
                write_atomic(&path, format!("{}\n", key.private_hex()).as_bytes(), 0o600)
                    .map_err(|source| CredentialError::Write { path: shown, source })?;
                Ok(key)
            }
            Err(e) => Err(CredentialError::Untrusted(e)),
        }
    }

    /// Stores `credential` (mode 0600, atomically: a crash leaves the old one or the new one).
    pub fn store(&self, credential: &HostCredential) -> Result<(), CredentialError> {
        let line = serde_json::to_string(&OnDisk {
            key_id: credential.key_id.clone(),
            secret: credential.secret.expose().to_owned(),
        })
        .expect("two strings serialise");
        write_atomic(&self.path, format!("{line}\n").as_bytes(), 0o600)
            .map_err(|source| CredentialError::Write { path: self.path.display().to_string(), source })?;
        // Enrolled: the key served its purpose (a later re-enrolment makes a new one).
        self.forget_enrol_key();
        Ok(())
    }

    /// Removes the enrolment key: the credential is stored, or the receiver refused the
    /// enrolling report outright (nothing was issued, so no answer can come for that key).
    pub fn forget_enrol_key(&self) {
        match std::fs::remove_file(self.enrol_key_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(file = %self.enrol_key_path().display(), error = %e, "cannot remove the enrolment key");
            }
            _ => {}
        }
    }
}

/// A control machine's credentials, one file per target, in a directory of mode 0700.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    dir: PathBuf,
}

impl CredentialStore {
    /// The store in `dir` (created 0700 on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CredentialStore { dir: dir.into() }
    }

    /// The file of `target` (a host name or minion id), or an error when the name could escape
    /// the directory.
    pub fn file(&self, target: &str) -> Result<CredentialFile, CredentialError> {
        let safe = !target.is_empty()
            && target.len() <= 253
            && !target.starts_with('.')
            && target.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !safe {
            return Err(CredentialError::Malformed {
                path: self.dir.display().to_string(),
                reason: format!("{target:?} cannot name a credential file"),
            });
        }
        if !self.dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|source| CredentialError::Write { path: self.dir.display().to_string(), source })?;
        }
        trust::check_ancestors(&self.dir.join("x")).map_err(CredentialError::Untrusted)?;
        Ok(CredentialFile::new(self.dir.join(format!("{target}.json"))))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn stored_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = CredentialFile::new(dir.path().join("host.key"));
        assert!(file.load().unwrap().is_none());
        let cred = HostCredential { key_id: "hk_0123".into(), secret: Secret::new("aks_s") };
        file.store(&cred).unwrap();
        assert_eq!(std::fs::metadata(file.path()).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(file.load().unwrap(), Some(cred));
        assert!(!format!("{:?}", file.load().unwrap()).contains("aks_s"));
        std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(file.load().unwrap_err().to_string().contains("chmod 600"));
    }

    #[test]
    fn the_enrolment_key_is_kept_until_the_credential_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let file = CredentialFile::new(dir.path().join("host.key"));
        let key = file.enrol_key().unwrap();
        let path = file.enrol_key_path();
        assert_eq!(path, dir.path().join("host.key.enrol"));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // A retry (another run) uses the same key.
        assert_eq!(file.enrol_key().unwrap().public_hex(), key.public_hex());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(file.enrol_key().unwrap_err().to_string().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        file.store(&HostCredential { key_id: "hk_1".into(), secret: Secret::new("aks_s") }).unwrap();
        assert!(!path.exists(), "the used enrolment key is removed");
        assert_ne!(file.enrol_key().unwrap().public_hex(), key.public_hex(), "a re-enrolment gets a new key");
    }

    #[test]
    fn a_store_keeps_targets_apart_and_inside() {
        let dir = tempfile::tempdir().unwrap();
        let store = CredentialStore::new(dir.path().join("creds"));
        assert!(store.file("../etc/passwd").is_err());
        assert!(store.file("web01.dc1").is_ok());
        assert_eq!(std::fs::metadata(dir.path().join("creds")).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
