//! Sending a package list only when the receiver lacks it: after the receiver acknowledged a
//! report carrying the full list, later reports with the same list carry its digest alone
//! (under 1 KB instead of 100 KB or more). A receiver that does not hold the list the digest
//! refers to (a new database, a restored backup) answers 409 `packages_unknown`, and the same
//! report goes again in full at once. The acknowledged digest is kept per host next to its
//! credential file (`<credential>.packages`), for the receiver it was acknowledged by.

use std::path::{Path, PathBuf};

use assetkit_core::Report;
use assetkit_core::model::packages_digest;

use crate::cert::write_atomic;

/// Where a host's acknowledged package digest is kept.
#[derive(Debug, Clone)]
pub struct PackagesAck {
    path: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct OnDisk {
    server: String,
    digest: String,
}

impl PackagesAck {
    /// The record of the host whose credential file is `credential`.
    pub fn beside(credential: &Path) -> PackagesAck {
        let mut name = credential.as_os_str().to_owned();
        name.push(".packages");
        PackagesAck { path: PathBuf::from(name) }
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The digest `server` acknowledged, if any (anything unreadable counts as none: the full
    /// list is sent, which is always right).
    pub fn acknowledged(&self, server: &str) -> Option<String> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let on_disk: OnDisk = serde_json::from_str(text.trim()).ok()?;
        (on_disk.server == server).then_some(on_disk.digest)
    }

    /// Records that `server` acknowledged the list with `digest`.
    pub fn store(&self, server: &str, digest: &str) {
        let line =
            serde_json::to_string(&OnDisk { server: server.to_owned(), digest: digest.to_owned() }).unwrap_or_default();
        if let Err(error) = write_atomic(&self.path, format!("{line}\n").as_bytes(), 0o600) {
            // Not kept: the next report sends the full list again, nothing else.
            tracing::warn!(file = %self.path.display(), %error, "cannot record the acknowledged package list");
        }
    }

    /// Forgets the record: the next report sends its full list.
    pub fn forget(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The digest of `report`'s full package list, when it has one.
pub fn digest_of(report: &Report) -> Option<String> {
    report.facts.packages.as_deref().map(packages_digest)
}

/// `report` with its package list replaced by `digest`.
pub fn digest_only(report: &Report, digest: &str) -> Report {
    let mut lean = report.clone();
    lean.facts.packages = None;
    lean.facts.packages_digest = Some(digest.to_owned());
    lean
}
