//! dpkg: `/var/lib/dpkg/status` (deb-status(5)), plus the journal entries in
//! `/var/lib/dpkg/updates/` that dpkg has not folded into it yet, applied as `dpkg-query` applies
//! them. A package counts when the third word of its `Status:` is `installed`.
//!
//! One pass over the bytes, no allocation per line: only the five fields read (Package,
//! Status, Architecture, Source, Version) are looked at, and only installed packages become
//! strings.

use super::database::{DbError, package, read_file, text};
use crate::model::{Package, PackageManager};
use crate::plugins::CollectError;
use crate::source::Source;

/// dpkg's status file.
pub const STATUS: &str = "/var/lib/dpkg/status";
/// dpkg's journal: one file per status change since the last checkpoint, named by number.
pub const UPDATES: &str = "/var/lib/dpkg/updates";

/// The host's dpkg packages; `None` when it has no dpkg status file.
pub fn read(src: &dyn Source) -> Result<Option<Vec<Package>>, CollectError> {
    // The journal is listed before the status file is read: if dpkg checkpoints in between,
    // an entry vanishes (and is refused below) rather than being missed.
    let names = match src.list(UPDATES) {
        Ok(names) => names.into_iter().filter(|n| is_update_name(n)).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(CollectError::Invalid(format!("{UPDATES}: {e}"))),
    };
    let Some(status) = read_file(src, STATUS)? else {
        return Ok(None);
    };
    let mut updates = Vec::with_capacity(names.len());
    for name in &names {
        let path = format!("{UPDATES}/{name}");
        match read_file(src, &path)? {
            Some(bytes) => updates.push(bytes),
            None => {
                return Err(CollectError::Invalid(format!(
                    "{path} vanished while it was read: dpkg is rewriting its database"
                )));
            }
        }
    }
    let parsed = if updates.is_empty() { parse(&status) } else { parse_with_updates(&status, &updates) };
    parsed.map(Some).map_err(|e| CollectError::Invalid(format!("{STATUS}: {e}")))
}

/// dpkg reads journal entries whose names are all digits (`0000`, `0001`, ...), in name order.
fn is_update_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 10 && name.bytes().all(|c| c.is_ascii_digit())
}

/// The installed packages of a status file.
pub fn parse(status: &[u8]) -> Result<Vec<Package>, DbError> {
    check_whole(status, "the status file")?;
    let mut out = Vec::with_capacity(status.len() / 900);
    for_each_stanza(status, |stanza| {
        if let Some(p) = stanza.installed()? {
            out.push(p);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The installed packages of a status file with journal entries applied in order: each
/// entry's stanza replaces the package of the same name and architecture.
pub fn parse_with_updates(status: &[u8], updates: &[Vec<u8>]) -> Result<Vec<Package>, DbError> {
    check_whole(status, "the status file")?;
    // (name, arch) -> the package's place in `all`, installed or not.
    type Key = (Vec<u8>, Vec<u8>);
    let mut all: Vec<(Key, Option<Package>)> = Vec::new();
    let mut index: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    let mut add = |stanza: Stanza<'_>| -> Result<(), DbError> {
        let key = (stanza.package.unwrap_or_default().to_vec(), stanza.arch.unwrap_or_default().to_vec());
        let installed = stanza.installed()?;
        match index.get(&key) {
            Some(&i) => all[i].1 = installed,
            None => {
                index.insert(key.clone(), all.len());
                all.push((key, installed));
            }
        }
        Ok(())
    };
    for_each_stanza(status, &mut add)?;
    for (n, update) in updates.iter().enumerate() {
        check_whole(update, &format!("journal entry {}", n + 1))?;
        for_each_stanza(update, &mut add)?;
    }
    Ok(all.into_iter().filter_map(|(_, p)| p).collect())
}

/// Empty, or cut in the middle of a line: dpkg writes whole files (by rename), each line
/// ending in a newline.
fn check_whole(bytes: &[u8], what: &str) -> Result<(), DbError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DbError::Invalid(format!("{what} is empty")));
    }
    if bytes.last() != Some(&b'\n') {
        return Err(DbError::Invalid(format!("{what} does not end with a newline: it is truncated")));
    }
    Ok(())
}

/// The fields of one stanza that the plugin reads, borrowed from the file.
#[derive(Debug, Default)]
struct Stanza<'a> {
    line: usize,
    package: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    arch: Option<&'a [u8]>,
    source: Option<&'a [u8]>,
}

impl Stanza<'_> {
    /// The package, when dpkg calls it installed.
    fn installed(&self) -> Result<Option<Package>, DbError> {
        let where_ = || match self.package {
            Some(p) => format!("package {:?} (line {})", String::from_utf8_lossy(p), self.line),
            None => format!("the stanza at line {}", self.line),
        };
        let (Some(name), Some(status)) = (self.package.filter(|p| !p.is_empty()), self.status) else {
            let missing = if self.package.is_none_or(<[u8]>::is_empty) { "Package" } else { "Status" };
            return Err(DbError::Invalid(format!("{} has no {missing} field", where_())));
        };
        if status.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()).nth(2) != Some(b"installed") {
            return Ok(None);
        }
        let Some(version) = self.version.filter(|v| !v.is_empty()) else {
            return Err(DbError::Invalid(format!("{} is installed but has no Version", where_())));
        };
        let version = text(version);
        let mut p = package(PackageManager::Deb, text(name), version);
        p.arch = self.arch.filter(|a| !a.is_empty()).map(text);
        // "Source: name" or "Source: name (version)"; absent means the package itself.
        let (source, source_version) = match self.source {
            Some(s) => match s.iter().position(|&c| c == b'(') {
                Some(open) => {
                    let v = s[open + 1..].strip_suffix(b")").unwrap_or(&s[open + 1..]);
                    (trim(&s[..open]), Some(trim(v)))
                }
                None => (s, None),
            },
            None => (name, None),
        };
        p.source = Some(text(source));
        p.source_version = source_version.filter(|v| !v.is_empty() && *v != p.version.as_bytes()).map(text);
        Ok(Some(p))
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// Calls `f` with each stanza (blank-line separated) of a deb822 file.
fn for_each_stanza<'a>(bytes: &'a [u8], mut f: impl FnMut(Stanza<'a>) -> Result<(), DbError>) -> Result<(), DbError> {
    let mut stanza = Stanza::default();
    let mut fields = 0usize;
    for (n, line) in bytes.split(|&c| c == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if fields > 0 {
                f(std::mem::take(&mut stanza))?;
                fields = 0;
            }
            continue;
        }
        // A continuation line belongs to a field this plugin does not read.
        if matches!(line[0], b' ' | b'\t') {
            if fields == 0 {
                return Err(DbError::Invalid(format!("line {}: a continuation line outside any field", n + 1)));
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            return Err(DbError::Invalid(format!("line {}: not a field (no colon)", n + 1)));
        };
        if fields == 0 {
            stanza.line = n + 1;
        }
        fields += 1;
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        let slot = match name.len() {
            6 if name.eq_ignore_ascii_case(b"Status") => &mut stanza.status,
            6 if name.eq_ignore_ascii_case(b"Source") => &mut stanza.source,
            7 if name.eq_ignore_ascii_case(b"Package") => &mut stanza.package,
            7 if name.eq_ignore_ascii_case(b"Version") => &mut stanza.version,
            12 if name.eq_ignore_ascii_case(b"Architecture") => &mut stanza.arch,
            _ => continue,
        };
        *slot = Some(value);
    }
    if fields > 0 {
        f(stanza)?;
    }
    Ok(())
}
