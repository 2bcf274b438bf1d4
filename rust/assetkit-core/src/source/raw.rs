//! What a raw source is: the [`Source`] trait every source implements, what a custom plugin
//! gives, and the rule for plugin names.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Where custom plugin executables live unless configured otherwise.
pub const DEFAULT_PLUGINS_DIR: &str = "/etc/assetkit/plugins.d";

/// A custom plugin's name must be a plain file name: letters, digits, `_`, `-`, `.`, not
/// starting with `.` (so editor backups and dotfiles are skipped).
pub fn valid_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('~')
        && !name.ends_with(".error")
        && !name.ends_with(".disabled")
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The output of one custom plugin: its stdout, or why it has none.
pub type CustomOutput = Result<Vec<u8>, String>;

/// Raw sources of one host.
pub trait Source: Send + Sync {
    /// Contents of the file at absolute `path`.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// Names in directory `dir`, sorted.
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;
    /// Output of the named command (see the module docs); `NotFound` when unavailable.
    fn command(&self, name: &str) -> io::Result<Vec<u8>>;
    /// Outputs of the custom plugins, by name.
    fn custom_plugins(&self) -> BTreeMap<String, CustomOutput>;

    /// [`Source::read`], refusing a file larger than `max` bytes before reading it whole
    /// (`InvalidData`, naming the limit).
    fn read_limited(&self, path: &str, max: u64) -> io::Result<Vec<u8>> {
        let data = self.read(path)?;
        if data.len() as u64 > max {
            return Err(too_large(max));
        }
        Ok(data)
    }

    /// `read` as text, lossily decoded; `None` when unreadable.
    fn text(&self, path: &str) -> Option<String> {
        self.read(path).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
    }
    /// `text`, trimmed, `None` when empty.
    fn value(&self, path: &str) -> Option<String> {
        self.text(path).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
    }
}

/// The error of a file over its size limit.
pub(crate) fn too_large(max: u64) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("larger than {max} bytes"))
}

/// A file read whole, unless it holds more than `max` bytes: at most `max + 1` are read.
pub(crate) fn read_file_limited(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut data = Vec::new();
    std::fs::File::open(path)?.take(max.saturating_add(1)).read_to_end(&mut data)?;
    if data.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(data)
}

/// The entry names of a directory, sorted (reports must not depend on readdir order).
pub(crate) fn sorted_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    Ok(names)
}
