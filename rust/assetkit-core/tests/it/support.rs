//! Building snapshot directories for tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assetkit_core::{CollectOptions, Mode, Report, Selection, SnapshotDir, Source};

/// The repository's tests/fixtures directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// A snapshot directory under construction.
pub struct Snap {
    pub dir: tempfile::TempDir,
}

impl Snap {
    pub fn new() -> Self {
        Snap { dir: tempfile::tempdir().unwrap() }
    }
    pub fn file(&self, path: &str, data: impl AsRef<[u8]>) -> &Self {
        let p = self.dir.path().join("files").join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
        self
    }
    pub fn command(&self, name: &str, data: impl AsRef<[u8]>) -> &Self {
        let p = self.dir.path().join("commands").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
        self
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn collect(&self, plugins: &[&str]) -> Report {
        self.collect_with(plugins, Duration::from_secs(10))
    }
    pub fn collect_with(&self, plugins: &[&str], timeout: Duration) -> Report {
        let source: Arc<dyn Source> = Arc::new(SnapshotDir::open(self.path()).unwrap());
        let options = CollectOptions { selection: Selection::from_names(plugins).unwrap(), timeout, mode: Mode::Cli };
        assetkit_core::collect(source, &options)
    }
}

/// Asserts that `actual` contains `expected`: objects key by key for the keys in `expected`,
/// arrays element by element with equal length, scalars exactly.
pub fn assert_subset(expected: &serde_json::Value, actual: &serde_json::Value, path: &str) -> Vec<String> {
    use serde_json::Value;
    let mut problems = Vec::new();
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => problems.extend(assert_subset(ev, av, &format!("{path}.{k}"))),
                    None => problems.push(format!("{path}.{k}: missing (expected {ev})")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                problems.push(format!("{path}: expected {} elements, got {}: {}", e.len(), a.len(), actual));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                problems.extend(assert_subset(ev, av, &format!("{path}[{i}]")));
            }
        }
        (e, a) if e == a => {}
        (e, a) => problems.push(format!("{path}: expected {e}, got {a}")),
    }
    problems
}
