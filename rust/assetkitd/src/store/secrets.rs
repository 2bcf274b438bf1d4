//! Secrets at rest: API and host secrets are sealed (XChaCha20-Poly1305) under a server key that
//! lives in its own file, never in the database. A copy of the database alone reveals no usable
//! secret.
//!
//! The key file (`--secret-key-file`, created 0600 on first use) holds one key per line,
//! `<version>:<64 hex digits>`; the newest seals, every one opens, so a rotation can re-seal
//! everything before the old key goes. A sealed value reads `sealed:v1:<key version>:<nonce
//! hex>:<ciphertext hex>`; its row's key id is the associated data, so a ciphertext moved to
//! another row does not open.
//!
//! Back up the database and the key file separately: either alone is not enough.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use assetkit_core::trust::{self, ReadRules};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The prefix of a sealed value.
pub const SEALED: &str = "sealed:v1:";

/// Why a secret could not be sealed or opened, or the key file used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key file is missing, unreadable, malformed or not private.
    #[error("secret key file {path}: {message}")]
    KeyFile {
        /// Path.
        path: String,
        /// What is wrong, and the fix.
        message: String,
    },
    /// The value was sealed with a key this key file does not hold.
    #[error(
        "a secret was sealed with key version {0}, which the secret key file does not hold (wrong --secret-key-file?)"
    )]
    UnknownKey(u32),
    /// The value does not open (wrong key, tampered, or moved to another row).
    #[error("a sealed secret does not open with the server key (wrong key file, or the database was altered)")]
    Corrupt,
}

#[derive(Clone)]
struct Key {
    version: u32,
    bytes: [u8; 32],
}

/// The server keys, loaded from the key file (and re-read when a value names a newer key, as a
/// rotation by another process leaves it).
pub struct Keyring {
    path: PathBuf,
    keys: RwLock<Vec<Key>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring({})", self.path.display())
    }
}

fn key_file_error(path: &Path, message: impl Into<String>) -> SecretError {
    SecretError::KeyFile { path: path.display().to_string(), message: message.into() }
}

fn parse_keys(path: &Path, text: &str) -> Result<Vec<Key>, SecretError> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || key_file_error(path, format!("line {} is not <version>:<64 hex digits>", n + 1));
        let (version, hex_key) = line.split_once(':').ok_or_else(bad)?;
        let version: u32 = version.parse().map_err(|_| bad())?;
        let bytes: [u8; 32] = hex::decode(hex_key).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        keys.push(Key { version, bytes });
    }
    if keys.is_empty() {
        return Err(key_file_error(path, "holds no key"));
    }
    keys.sort_by_key(|k| k.version);
    Ok(keys)
}

fn read_keys(path: &Path) -> Result<Vec<Key>, SecretError> {
    let rules = ReadRules { no_symlink: false, owner_and_mode: false, max_bytes: 64 << 10 };
    let file = trust::read(path, rules).map_err(|e| key_file_error(path, e.to_string()))?;
    if file.mode & 0o077 != 0 {
        return Err(key_file_error(
            path,
            format!(
                "has mode {:04o}; it must be readable by its owner only. Fix: chmod 600 {}",
                file.mode,
                path.display()
            ),
        ));
    }
    parse_keys(path, &String::from_utf8_lossy(&file.bytes))
}

fn write_keys(path: &Path, keys: &[Key]) -> Result<(), SecretError> {
    let mut text =
        String::from("# assetkitd server keys: <version>:<key>. Keep this file apart from the database backups.\n");
    for k in keys {
        text.push_str(&format!("{}:{}\n", k.version, hex::encode(k.bytes)));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| key_file_error(path, format!("cannot write it: {e}")))
}

fn random<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf
}

impl Keyring {
    /// Loads the key file, creating it (mode 0600, one fresh key) when it does not exist.
    pub fn open_or_create(path: &Path) -> Result<Keyring, SecretError> {
        if std::fs::symlink_metadata(path).is_err() {
            write_keys(path, &[Key { version: 1, bytes: random() }])?;
            tracing::info!(file = %path.display(), "created the server secret key file; back it up apart from the database");
        }
        Keyring::open(path)
    }

    /// Loads an existing key file.
    pub fn open(path: &Path) -> Result<Keyring, SecretError> {
        let keys = read_keys(path)?;
        Ok(Keyring { path: path.to_path_buf(), keys: RwLock::new(keys) })
    }

    /// The key file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn newest(&self) -> Key {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).last().cloned().expect("a keyring holds a key")
    }

    fn find(&self, version: u32) -> Result<Key, SecretError> {
        if let Some(k) = self.keys.read().unwrap_or_else(|e| e.into_inner()).iter().find(|k| k.version == version) {
            return Ok(k.clone());
        }
        // Another process may have rotated: read the file again, once.
        let reloaded = read_keys(&self.path)?;
        let found = reloaded.iter().find(|k| k.version == version).cloned();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = reloaded;
        found.ok_or(SecretError::UnknownKey(version))
    }

    /// Seals `secret` for the row `aad` (its key id) with the newest key.
    pub fn seal(&self, aad: &str, secret: &str) -> String {
        let key = self.newest();
        let cipher = XChaCha20Poly1305::new_from_slice(&key.bytes).expect("a 32-byte key");
        let nonce: [u8; 24] = random();
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: secret.as_bytes(), aad: aad.as_bytes() })
            .expect("encryption of a short secret cannot fail");
        format!("{SEALED}{}:{}:{}", key.version, hex::encode(nonce), hex::encode(sealed))
    }

    /// Opens a sealed value of the row `aad`.
    pub fn open_sealed(&self, aad: &str, sealed: &str) -> Result<String, SecretError> {
        let rest = sealed.strip_prefix(SEALED).ok_or(SecretError::Corrupt)?;
        let mut parts = rest.splitn(3, ':');
        let (Some(version), Some(nonce), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SecretError::Corrupt);
        };
        let version: u32 = version.parse().map_err(|_| SecretError::Corrupt)?;
        let nonce: [u8; 24] = hex::decode(nonce).ok().and_then(|n| n.try_into().ok()).ok_or(SecretError::Corrupt)?;
        let data = hex::decode(data).map_err(|_| SecretError::Corrupt)?;
        let key = self.find(version)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key.bytes).expect("a 32-byte key");
        let plain = cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: &data, aad: aad.as_bytes() })
            .map_err(|_| SecretError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| SecretError::Corrupt)
    }

    /// Adds a fresh key (the newest from now on) to the key file; returns its version. The old
    /// keys stay until [`Keyring::retire_old`], so values sealed with them still open meanwhile.
    pub fn add_key(&self) -> Result<u32, SecretError> {
        let mut keys = read_keys(&self.path)?;
        let version = keys.iter().map(|k| k.version).max().unwrap_or(0) + 1;
        keys.push(Key { version, bytes: random() });
        write_keys(&self.path, &keys)?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        Ok(version)
    }

    /// Removes every key but the newest from the key file (once everything is re-sealed).
    pub fn retire_old(&self) -> Result<(), SecretError> {
        let newest = self.newest();
        write_keys(&self.path, std::slice::from_ref(&newest))?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = vec![newest];
        Ok(())
    }

    /// The version of the newest key.
    pub fn newest_version(&self) -> u32 {
        self.newest().version
    }
}

/// The key file to use when none is given: beside a SQLite database, `DB.key`.
pub fn default_key_file(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".key");
    db.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn seal_open_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        let ring = Keyring::open_or_create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let sealed = ring.seal("ak_1", "aks_secret");
        assert!(sealed.starts_with(SEALED) && !sealed.contains("aks_secret"));
        assert_eq!(ring.open_sealed("ak_1", &sealed).unwrap(), "aks_secret");
        assert!(matches!(ring.open_sealed("ak_2", &sealed), Err(SecretError::Corrupt)), "bound to its row");
        // Another process rotates; this keyring learns the new key from the file.
        let other = Keyring::open(&path).unwrap();
        assert_eq!(other.add_key().unwrap(), 2);
        let resealed = other.seal("ak_1", "aks_secret");
        assert_eq!(ring.open_sealed("ak_1", &resealed).unwrap(), "aks_secret");
        other.retire_old().unwrap();
        let fresh = Keyring::open(&path).unwrap();
        assert!(matches!(fresh.open_sealed("ak_1", &sealed), Err(SecretError::UnknownKey(1))), "the old key is gone");
        assert_eq!(fresh.open_sealed("ak_1", &resealed).unwrap(), "aks_secret");
        // Another key file opens nothing.
        let stranger = Keyring::open_or_create(&dir.path().join("other.key")).unwrap();
        assert!(stranger.open_sealed("ak_1", &resealed).is_err());
    }

    #[test]
    fn a_loose_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        Keyring::open_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keyring::open(&path).unwrap_err().to_string();
        assert!(err.contains("0644") && err.contains("chmod 600"), "{err}");
    }
}
