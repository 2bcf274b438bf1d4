//! What the database readers share: their error, the report's package limit, reading a
//! database file through the source, and building a package.

use crate::model::{Package, PackageManager};
use crate::plugins::CollectError;
use crate::source::Source;

/// Most packages a report may carry (the schema's `facts.packages` `maxItems`).
pub const MAX_PACKAGES: usize = 32768;

/// Why a database could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// A format (or a version of one) that no reader here knows; rpm falls back to `rpm -qa`.
    #[error("{0}")]
    Unsupported(String),
    /// Truncated, empty, corrupt or being rewritten.
    #[error("{0}")]
    Invalid(String),
}

/// A database file: its bytes, `None` when it does not exist, an error when it exists but
/// cannot be read (a permission problem must not read as "no packages").
pub(crate) fn read_file(src: &dyn Source, path: &str) -> Result<Option<Vec<u8>>, CollectError> {
    match src.read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CollectError::Invalid(format!("{path}: {e}"))),
    }
}

/// Text of a database field: lossy UTF-8 (the managers store bytes; a report carries text).
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A package with only the fields every manager has.
pub(crate) fn package(manager: PackageManager, name: String, version: String) -> Package {
    Package { manager, name, version, arch: None, source: None, source_version: None, vendor: None, installed_at: None }
}
