//! The spool: reports that could not be sent, oldest first, bounded by count and bytes.
//!
//! Each report is one JSON file, written atomically. Reports are stored unsigned and signed
//! afresh when sent. A file that no longer parses is moved to `corrupt/`; one the receiver
//! refuses as malformed is moved to `rejected/`; neither is ever deleted silently, and both
//! count against the spool's bounds (they are dropped before pending reports).
//!
//! The agent signs whatever it finds here, so the spool is trusted only as OpenSSH trusts a
//! key: the directory (and `corrupt/`, `rejected/`) must be real directories owned by root or
//! the agent's user, writable by nobody else; entries must be regular files of that user, read
//! without following links and within the byte bound.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use assetkit_core::Report;
use assetkit_core::trust::{self, ReadRules, TrustError};

use crate::cert::write_atomic;

/// The folders a person looks into; they count against the bounds.
pub const SET_ASIDE: [&str; 2] = ["corrupt", "rejected"];

/// A spool directory with its bounds.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    max_reports: usize,
    max_bytes: u64,
}

/// One spooled report file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
}

impl Spool {
    /// A spool in `dir` (created, mode 0700, on first write).
    pub fn new(dir: impl Into<PathBuf>, max_reports: usize, max_bytes: u64) -> Self {
        Spool { dir: dir.into(), max_reports: max_reports.max(1), max_bytes }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn ensure_dir(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        if std::fs::symlink_metadata(&self.dir).is_err() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
        }
        self.check().map_err(|e| std::io::Error::new(std::io::ErrorKind::PermissionDenied, e.to_string()))
    }

    /// Refuses a spool that someone else could have filled: a symbolic link, a directory owned
    /// by another user, or one that group or others may write (itself or a directory above it).
    /// A spool that does not exist yet is fine.
    pub fn check(&self) -> Result<(), TrustError> {
        match std::fs::symlink_metadata(&self.dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(TrustError::Io { path: self.dir.clone(), source }),
            Ok(meta) => {
                trusted_dir(&self.dir, &meta)?;
                trust::check_ancestors(&self.dir)
            }
        }
    }

    /// Spooled reports, oldest first. Only regular files (never links) are listed.
    pub fn entries(&self) -> Vec<Entry> {
        list(&self.dir)
    }

    /// Set-aside reports (`corrupt/`, `rejected/`), oldest first; unreadable folders list nothing.
    pub fn set_aside_entries(&self) -> Vec<Entry> {
        let mut all: Vec<Entry> = SET_ASIDE
            .iter()
            .map(|why| self.dir.join(why))
            .filter(|d| std::fs::symlink_metadata(d).is_ok_and(|m| trusted_dir(d, &m).is_ok()))
            .flat_map(|d| list(&d))
            .collect();
        all.sort_by(|a, b| a.path.file_name().cmp(&b.path.file_name()));
        all
    }

    /// Adds a report, then drops the oldest entries beyond the bounds (saying so in the log).
    pub fn push(&self, report: &Report) -> std::io::Result<PathBuf> {
        self.ensure_dir()?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let safe_id: String =
            report.report_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
        let path = self.dir.join(format!("{nanos:024}-{safe_id}.json"));
        let body = serde_json::to_vec(report).map_err(std::io::Error::other)?;
        write_atomic(&path, &body, 0o600)?;
        self.enforce_bounds();
        Ok(path)
    }

    fn enforce_bounds(&self) {
        // Set-aside files go first: they wait for a person, not for the receiver.
        let mut entries = self.set_aside_entries();
        entries.extend(self.entries());
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        while !entries.is_empty() && (entries.len() > self.max_reports || total > self.max_bytes) {
            let oldest = entries.remove(0);
            total -= oldest.bytes;
            match std::fs::remove_file(&oldest.path) {
                Ok(()) => tracing::warn!(
                    file = %oldest.path.display(),
                    max_reports = self.max_reports,
                    max_bytes = self.max_bytes,
                    "spool full: dropped the oldest spooled report"
                ),
                Err(error) => {
                    tracing::warn!(file = %oldest.path.display(), %error, "spool full and the oldest report cannot be removed")
                }
            }
        }
    }

    /// Reads an entry; a file that does not parse is moved to `corrupt/` and `None` returned.
    /// A file that is not the agent's own (a link, another owner, writable by others, larger
    /// than the spool) is left where it is, logged, and never sent.
    pub fn load(&self, entry: &Entry) -> Option<Report> {
        let rules = ReadRules { no_symlink: true, owner_and_mode: true, max_bytes: self.max_bytes };
        let parsed = match trust::read(&entry.path, rules) {
            Ok(file) => serde_json::from_slice::<Report>(&file.bytes).map_err(|e| e.to_string()),
            Err(e @ TrustError::Io { .. }) => Err(e.to_string()),
            Err(error) => {
                tracing::warn!(file = %entry.path.display(), %error, "spool file not trusted; it is not sent");
                return None;
            }
        };
        match parsed {
            Ok(report) => Some(report),
            Err(error) => {
                let moved = self.set_aside(entry, "corrupt");
                tracing::warn!(file = %entry.path.display(), %error, moved_to = ?moved, "corrupt spool file moved aside");
                None
            }
        }
    }

    /// Moves an entry into a subdirectory (`corrupt`, `rejected`) for a person to look at. The
    /// subdirectory is created 0700; an existing one must be a real, trusted directory (a link
    /// there would move reports out of the spool's reach).
    pub fn set_aside(&self, entry: &Entry, why: &str) -> Option<PathBuf> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = self.dir.join(why);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) => {
                if let Err(error) = trusted_dir(&dir, &meta) {
                    tracing::warn!(%error, "cannot set a spool file aside");
                    return None;
                }
            }
            Err(_) => std::fs::DirBuilder::new().mode(0o700).create(&dir).ok()?,
        }
        let target = dir.join(entry.path.file_name()?);
        std::fs::rename(&entry.path, &target).ok()?;
        self.enforce_bounds();
        Some(target)
    }

    /// Removes a sent entry.
    pub fn remove(&self, entry: &Entry) -> std::io::Result<()> {
        std::fs::remove_file(&entry.path)
    }
}

/// A real directory (not a link), owned by root or us, writable by nobody else.
fn trusted_dir(path: &Path, meta: &std::fs::Metadata) -> Result<(), TrustError> {
    if meta.file_type().is_symlink() {
        return Err(TrustError::Symlink { path: path.to_owned() });
    }
    if !meta.is_dir() {
        return Err(TrustError::NotRegular { path: path.to_owned(), kind: "file, not a directory" });
    }
    trust::check_owner_and_mode(path, meta.uid(), meta.mode())
}

/// The `*.json` regular files of a directory, oldest (smallest name) first.
fn list(dir: &Path) -> Vec<Entry> {
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut entries: Vec<Entry> = read
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".json") && !name.starts_with('.')
        })
        .filter_map(|e| {
            // DirEntry::metadata does not follow links: a link is not a regular file here.
            let meta = e.metadata().ok().filter(|m| m.file_type().is_file())?;
            Some(Entry { path: e.path(), bytes: meta.len() })
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(n: usize) -> Report {
        let mut r: Report = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "report_id": format!("id-{n}"), "collected_at": "2026-01-01T00:00:00Z",
            "agent": {"name": "assetkit", "version": "t", "mode": "agent"},
            "host": {"hostname": "h", "cert_hostname": null}, "facts": {}, "errors": []
        }))
        .unwrap();
        r.report_id = format!("id-{n}");
        r
    }

    #[test]
    fn oldest_first_bounded_and_corrupt_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool"), 3, 1 << 20);
        for i in 0..5 {
            spool.push(&report(i)).unwrap();
        }
        let ids: Vec<String> = spool.entries().iter().map(|e| spool.load(e).unwrap().report_id).collect();
        assert_eq!(ids, ["id-2", "id-3", "id-4"], "the two oldest are dropped");
        let first = spool.entries()[0].clone();
        std::fs::write(&first.path, b"{ not json").unwrap();
        assert!(spool.load(&first).is_none());
        assert!(dir.path().join("spool/corrupt").join(first.path.file_name().unwrap()).exists());
        assert_eq!(spool.entries().len(), 2);
    }

    #[test]
    fn planted_links_and_loose_directories_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool"), 10, 1 << 20);
        spool.push(&report(1)).unwrap();
        // A link planted as a spool entry is neither listed nor sent.
        let outside = dir.path().join("outside.json");
        std::fs::write(&outside, serde_json::to_vec(&report(9)).unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("spool/0000-planted.json")).unwrap();
        assert_eq!(spool.entries().len(), 1);
        // rejected/ as a link: nothing is moved through it.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("spool/rejected")).unwrap();
        let entry = spool.entries()[0].clone();
        assert!(spool.set_aside(&entry, "rejected").is_none());
        assert!(entry.path.exists(), "the report stays in the spool");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        // A spool others may write is refused, with the fix.
        std::fs::set_permissions(dir.path().join("spool"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = spool.check().unwrap_err().to_string();
        assert!(err.contains("0777") && err.contains("chmod go-w"), "{err}");
        assert!(spool.push(&report(2)).is_err());
    }

    #[test]
    fn set_aside_reports_count_against_the_bounds_and_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path().join("spool"), 3, 1 << 20);
        spool.push(&report(0)).unwrap();
        let first = spool.entries()[0].clone();
        spool.set_aside(&first, "corrupt").unwrap();
        for i in 1..4 {
            spool.push(&report(i)).unwrap();
        }
        assert_eq!(spool.set_aside_entries().len(), 0, "the set-aside report was dropped first");
        let ids: Vec<String> = spool.entries().iter().map(|e| spool.load(e).unwrap().report_id).collect();
        assert_eq!(ids, ["id-1", "id-2", "id-3"]);
    }

    #[test]
    fn bounded_by_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec(&report(0)).unwrap().len() as u64;
        let spool = Spool::new(dir.path(), 100, one * 2 + one / 2);
        for i in 0..4 {
            spool.push(&report(i)).unwrap();
        }
        assert_eq!(spool.entries().len(), 2);
    }
}
