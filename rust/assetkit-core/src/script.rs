//! The snapshot script (`assetkit snapshot --script`) and its stream format.
//!
//! The script captures a snapshot on a host that has nothing but `sh` and coreutils, and prints
//! it as one stream, so an SSH sweep needs one connection and one round trip per host:
//!
//! ```text
//! ASSETKIT-SNAPSHOT 1
//! F <length> <absolute path>\n<length bytes>     -> SNAP/files/<path>
//! C <length> <command name>\n<length bytes>      -> SNAP/commands/<name>
//! X <length> <plugin name>\n<length bytes>       -> SNAP/commands/custom/<name>
//! Y <length> <plugin name>\n<length bytes>       -> SNAP/commands/custom/<name>.error
//! D 0 <absolute path>\n                          -> SNAP/files/<path>/ (a directory that exists,
//!                                                   so an empty one reads as empty, not absent)
//! END
//! ```
//!
//! Lengths make the stream binary-safe (the SMBIOS table, VPD pages). [`unpack`] (into a
//! directory) and [`read`] (into memory) check every name against path traversal and bound every
//! length, because the stream comes from the target host and a compromised target must not be
//! able to write outside the snapshot.

use std::io::{self, BufRead, Read};
use std::path::Path;

use crate::source::{SnapshotMemory, safe_relative};

/// The POSIX sh script that prints a snapshot stream.
pub const SNAPSHOT_SCRIPT: &str = include_str!("snapshot.sh");

const HEADER: &str = "ASSETKIT-SNAPSHOT 1";
/// Largest single record accepted (a huge cpuinfo is ~1 MiB).
pub const MAX_RECORD: u64 = 64 << 20;
/// Largest whole stream accepted.
pub const MAX_STREAM: u64 = 256 << 20;

/// Why a stream could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading or writing failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The first line is not the expected header.
    #[error("not an assetkit snapshot stream (first line {0:?}); did the remote shell print a banner or fail?")]
    BadHeader(String),
    /// A record header is malformed.
    #[error("malformed record header {0:?}")]
    BadRecord(String),
    /// A record or the stream is too large.
    #[error("snapshot stream exceeds its size limit ({0} bytes)")]
    TooLarge(u64),
    /// The stream ended before `END`.
    #[error("snapshot stream is truncated (no END marker): the script was interrupted")]
    Truncated,
}

/// What [`unpack`] wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnpackStats {
    /// Records written.
    pub records: usize,
    /// Payload bytes written.
    pub bytes: u64,
}

/// Unpacks a snapshot stream into `out` (created unless the stream is refused at its header).
pub fn unpack(stream: impl Read, out: &Path) -> Result<UnpackStats, StreamError> {
    // Made with the first record, or at the end for a stream of none: not for a stream refused
    // at its header.
    let mut created = false;
    let stats = records(stream, |rel, data| {
        if !created {
            std::fs::create_dir_all(out)?;
            created = true;
        }
        let target = out.join(rel);
        match data {
            None => std::fs::create_dir_all(&target)?,
            Some(data) => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&target, data)?;
            }
        }
        Ok(())
    })?;
    if !created {
        std::fs::create_dir_all(out)?;
    }
    Ok(stats)
}

/// Reads a snapshot stream into memory: the same snapshot [`unpack`] writes, with the same
/// checks and limits, and nothing written to disk. Paths are stored once each (no copy per
/// parent directory), so memory stays within the stream's own size again.
pub fn read(stream: impl Read) -> Result<SnapshotMemory, StreamError> {
    let mut snapshot = SnapshotMemory::default();
    records(stream, |rel, data| {
        match data {
            None => snapshot.add_dir(rel)?,
            Some(data) => snapshot.add_file(rel, data)?,
        }
        Ok(())
    })?;
    Ok(snapshot)
}

/// Reads the stream's records in order, giving each one's path under the snapshot root (checked)
/// and its bytes (`None` for a directory) to `keep`.
fn records(
    stream: impl Read,
    mut keep: impl FnMut(&str, Option<Vec<u8>>) -> Result<(), StreamError>,
) -> Result<UnpackStats, StreamError> {
    let mut reader = io::BufReader::new(stream);
    let mut line = String::new();
    let mut stats = UnpackStats::default();
    // Login banners or motd noise can precede the header on some hosts; skip a few lines of it.
    let mut skipped = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(StreamError::BadHeader(String::new()));
        }
        if line.trim_end() == HEADER {
            break;
        }
        skipped += 1;
        if skipped > 50 {
            return Err(StreamError::BadHeader(line.trim_end().chars().take(80).collect()));
        }
    }
    loop {
        line.clear();
        let mut limited = (&mut reader).take(4096);
        if limited.read_line(&mut line)? == 0 {
            return Err(StreamError::Truncated);
        }
        let header = line.trim_end_matches('\n');
        if header == "END" {
            return Ok(stats);
        }
        let bad = || StreamError::BadRecord(header.chars().take(120).collect());
        let mut parts = header.splitn(3, ' ');
        let (Some(kind), Some(len), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let len: u64 = len.parse().map_err(|_| bad())?;
        if len > MAX_RECORD || stats.bytes + len > MAX_STREAM {
            return Err(StreamError::TooLarge(stats.bytes + len));
        }
        let rel = relative_path(kind, name).ok_or_else(bad)?;
        // Grown as bytes arrive, never sized from the declared length.
        let mut data = Vec::new();
        (&mut reader).take(len).read_to_end(&mut data)?;
        if data.len() as u64 != len {
            return Err(StreamError::Truncated);
        }
        if kind == "D" {
            if len != 0 {
                return Err(bad());
            }
            keep(&rel, None)?;
        } else {
            keep(&rel, Some(data))?;
        }
        stats.records += 1;
        stats.bytes += len;
    }
}

/// Where a record goes, under the snapshot root; `None` for a kind or name refused.
fn relative_path(kind: &str, name: &str) -> Option<String> {
    let plugin = || crate::plugins::custom::valid_name(name).then_some(name);
    Some(match kind {
        "F" | "D" => format!("files/{}", safe_relative(name).ok()?),
        "C" if !name.contains('/') => format!("commands/{}", safe_relative(name).ok()?),
        "X" => format!("commands/custom/{}", plugin()?),
        "Y" => format!("commands/custom/{}.error", plugin()?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_traversal_and_bad_kinds() {
        let dir = tempfile::tempdir().unwrap();
        for evil in ["F 1 /../../etc/passwd\nx", "C 1 ../x\nx", "X 1 ../x\nx", "Z 1 a\nx", "F 99999999999 /a\n"] {
            let stream = format!("{HEADER}\n{evil}END\n");
            assert!(unpack(stream.as_bytes(), dir.path()).is_err(), "{evil:?} accepted");
        }
        assert!(!dir.path().join("etc").exists());
    }

    #[test]
    fn the_script_asks_rpm_for_the_plugins_format() {
        use crate::plugins::packages::{self, rpm};
        let quoted = format!("-qa --qf '{}'", rpm::qa::FORMAT);
        assert!(SNAPSHOT_SCRIPT.contains(&quoted), "snapshot.sh must pass rpm the format qa.rs reads");
        for name in [rpm::QA_COMMAND, packages::ERROR_COMMAND] {
            assert!(SNAPSHOT_SCRIPT.contains(&format!("emit C {name}")), "{name}");
        }
    }

    #[test]
    fn directory_records_make_empty_directories() {
        let dir = tempfile::tempdir().unwrap();
        let stream = format!("{HEADER}\nD 0 /etc/pve/lxc\nEND\n");
        unpack(stream.as_bytes(), dir.path()).unwrap();
        assert!(dir.path().join("files/etc/pve/lxc").is_dir());
        let bad = format!("{HEADER}\nD 1 /etc/x\nyEND\n");
        assert!(unpack(bad.as_bytes(), dir.path()).is_err(), "a directory record carries no bytes");
    }

    #[test]
    fn binary_payloads_and_banner() {
        let dir = tempfile::tempdir().unwrap();
        let mut stream = b"Welcome to host\nASSETKIT-SNAPSHOT 1\nF 4 /sys/x\n\0\n\xff\x01C 2 uname-m\nab".to_vec();
        stream.extend_from_slice(b"END\n");
        let stats = unpack(&stream[..], dir.path()).unwrap();
        assert_eq!(stats.records, 2);
        assert_eq!(std::fs::read(dir.path().join("files/sys/x")).unwrap(), b"\0\n\xff\x01");
        assert!(matches!(unpack(&b"ASSETKIT-SNAPSHOT 1\nF 10 /a\nabc"[..], dir.path()), Err(StreamError::Truncated)));
    }
}
