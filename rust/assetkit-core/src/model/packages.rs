//! The installed packages of `facts.packages`, and the delta and digest that spare sending
//! an unchanged list.

use serde::{Deserialize, Serialize};

/// The package manager a package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    /// dpkg (Debian, Ubuntu): `/var/lib/dpkg/status`.
    Deb,
    /// rpm (RHEL, Fedora, SUSE, Amazon Linux): the rpm database, any backend.
    Rpm,
    /// apk (Alpine): `/lib/apk/db/installed`.
    Apk,
}

impl PackageManager {
    /// The name used in reports and queries.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageManager::Deb => "deb",
            PackageManager::Rpm => "rpm",
            PackageManager::Apk => "apk",
        }
    }

    /// The manager called `name` in reports and queries.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "deb" => Some(PackageManager::Deb),
            "rpm" => Some(PackageManager::Rpm),
            "apk" => Some(PackageManager::Apk),
            _ => None,
        }
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Which package manager installed it.
    pub manager: PackageManager,
    /// Package name (dpkg's `Package`, rpm's `NAME`, apk's `P`).
    pub name: String,
    /// The version exactly as the manager prints it: dpkg `[epoch:]upstream[-revision]`, rpm
    /// `[epoch:]version-release` (the epoch only when it is not 0), apk's `V`. Ordered by the
    /// manager's own rules (`assetkit_core::versions`), never as a string.
    pub version: String,
    /// Architecture (`amd64`, `x86_64`, `noarch`, `all`); absent for rpm's `gpg-pubkey` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Source package: dpkg's `Source` (the package itself when absent), rpm's source rpm, apk's
    /// origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// dpkg's source version when it differs from `version` (`Source: name (version)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// rpm's `VENDOR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// rpm's `INSTALLTIME`, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_at: Option<i64>,
}

/// A package list as the changes from another one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagesDelta {
    /// The digest of the list these changes apply to.
    pub from: String,
    /// Packages in the new list and not in the old one (an upgrade is the new version here and
    /// the old one in `removed`).
    #[serde(default)]
    pub added: Vec<Package>,
    /// Packages in the old list and not in the new one.
    #[serde(default)]
    pub removed: Vec<Package>,
}

impl PackagesDelta {
    /// The changes from `old` to `new` (by identity: manager, name, arch, version, source,
    /// source version, vendor), to be applied to the list whose digest is `from`.
    pub fn between(from: &str, old: &[Package], new: &[Package]) -> PackagesDelta {
        let key = |p: &Package| {
            (
                p.manager,
                p.name.clone(),
                p.arch.clone(),
                p.version.clone(),
                p.source.clone(),
                p.source_version.clone(),
                p.vendor.clone(),
            )
        };
        let before: std::collections::HashSet<_> = old.iter().map(key).collect();
        let after: std::collections::HashSet<_> = new.iter().map(key).collect();
        PackagesDelta {
            from: from.to_owned(),
            added: new.iter().filter(|p| !before.contains(&key(p))).cloned().collect(),
            removed: old.iter().filter(|p| !after.contains(&key(p))).cloned().collect(),
        }
    }

    /// How many packages it names.
    pub fn len(&self) -> usize {
        self.added.len() + self.removed.len()
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The digest of a package list that `facts.packages_digest` carries: `sha256:` and the hex
/// SHA-256 of each package's identity (manager, name, arch, version, source, source version,
/// vendor: not the install time, which the receiver does not keep), one per line, in sorted
/// order. The same list gives the same digest whatever order it was read in.
pub fn packages_digest(packages: &[Package]) -> String {
    use sha2::Digest as _;
    let mut lines: Vec<String> = packages
        .iter()
        .map(|p| {
            serde_json::json!([p.manager.as_str(), p.name, p.arch, p.version, p.source, p.source_version, p.vendor])
                .to_string()
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    let mut hash = sha2::Sha256::new();
    for line in &lines {
        hash.update(line.as_bytes());
        hash.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hash.finalize()))
}
