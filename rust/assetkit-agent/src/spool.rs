//! The spool: reports that could not be sent, oldest first, bounded by count and bytes.
//!
//! Each report is one JSON file, written atomically. Reports are stored unsigned and signed
//! afresh when sent. A file that no longer parses is moved to `corrupt/`; one the receiver
//! refuses as malformed is moved to `rejected/`; neither is ever deleted silently.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use assetkit_core::Report;

use crate::cert::write_atomic;

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
        if !self.dir.is_dir() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
        }
        Ok(())
    }

    /// Spooled reports, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        let Ok(read) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut entries: Vec<Entry> = read
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.ends_with(".json") && !name.starts_with('.')
            })
            .filter_map(|e| Some(Entry { path: e.path(), bytes: e.metadata().ok().filter(|m| m.is_file())?.len() }))
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries
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
        let mut entries = self.entries();
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
    pub fn load(&self, entry: &Entry) -> Option<Report> {
        let parsed = std::fs::read(&entry.path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Report>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(report) => Some(report),
            Err(error) => {
                let moved = self.set_aside(entry, "corrupt");
                tracing::warn!(file = %entry.path.display(), %error, moved_to = ?moved, "corrupt spool file moved aside");
                None
            }
        }
    }

    /// Moves an entry into a subdirectory (`corrupt`, `rejected`) for a person to look at.
    pub fn set_aside(&self, entry: &Entry, why: &str) -> Option<PathBuf> {
        let dir = self.dir.join(why);
        std::fs::create_dir_all(&dir).ok()?;
        let target = dir.join(entry.path.file_name()?);
        std::fs::rename(&entry.path, &target).ok()?;
        Some(target)
    }

    /// Removes a sent entry.
    pub fn remove(&self, entry: &Entry) -> std::io::Result<()> {
        std::fs::remove_file(&entry.path)
    }
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
