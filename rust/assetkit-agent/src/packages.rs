//! Sending a package list only when the receiver lacks it: after the receiver acknowledged a
//! report carrying a list, later reports with the same list carry its digest alone (under 1 KB
//! instead of 100 KB or more), and reports with a changed list carry only the changes
//! (`packages_delta`). A receiver that does not hold the list a digest or a delta refers to (a
//! new database, a restored backup) answers 409 `packages_unknown`, and the same report goes
//! again in full at once. The acknowledged list and its digest are kept per host next to its
//! credential file (`<credential>.packages`), for the receiver that acknowledged them.

use std::path::{Path, PathBuf};

use assetkit_core::Report;
use assetkit_core::model::{Package, PackagesDelta, packages_digest};

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
    #[serde(default)]
    packages: Option<Vec<Package>>,
}

/// What a receiver acknowledged: the digest, and the list when it was kept.
pub struct Acknowledged {
    /// The list's digest.
    pub digest: String,
    /// The list.
    pub packages: Option<Vec<Package>>,
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

    /// What `server` acknowledged, if anything (anything unreadable counts as nothing: the full
    /// list is sent, which is always right).
    pub fn acknowledged(&self, server: &str) -> Option<Acknowledged> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let on_disk: OnDisk = serde_json::from_str(text.trim()).ok()?;
        // A list that is not the digest's (edited, half-written) is no list.
        let packages = on_disk.packages.filter(|p| packages_digest(p) == on_disk.digest);
        (on_disk.server == server).then_some(Acknowledged { digest: on_disk.digest, packages })
    }

    /// Records that `server` acknowledged `packages`, whose digest is `digest`.
    pub fn store(&self, server: &str, digest: &str, packages: &[Package]) {
        let on_disk =
            OnDisk { server: server.to_owned(), digest: digest.to_owned(), packages: Some(packages.to_vec()) };
        let line = serde_json::to_string(&on_disk).unwrap_or_default();
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
    lean.facts.packages_delta = None;
    lean.facts.packages_digest = Some(digest.to_owned());
    lean
}

/// `report` with its package list replaced by its changes since `acked`, when they are fewer
/// than half the list (else the list itself is as cheap).
pub fn as_delta(report: &Report, digest: &str, acked: &Acknowledged) -> Option<Report> {
    let (old, new) = (acked.packages.as_deref()?, report.facts.packages.as_deref()?);
    let delta = PackagesDelta::between(&acked.digest, old, new);
    if delta.len() * 2 > new.len().max(1) {
        return None;
    }
    let mut lean = digest_only(report, digest);
    lean.facts.packages_delta = Some(delta);
    Some(lean)
}

/// How a report's packages go to a receiver that acknowledged `acked`.
pub fn shaped(report: &Report, digest: &str, acked: Option<&Acknowledged>) -> Option<Report> {
    match acked {
        Some(a) if a.digest == digest => Some(digest_only(report, digest)),
        Some(a) => as_delta(report, digest, a),
        None => None,
    }
}
