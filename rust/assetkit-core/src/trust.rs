//! Trusting files that other users could have written, the way OpenSSH trusts `authorized_keys`.
//!
//! A file the agent acts on (its key, its spool, a custom plugin it runs) is refused when it, or
//! a directory above it, is group- or world-writable, or is owned by someone other than root or
//! the running user: such a file could have been planted. Files are opened without blocking
//! (a FIFO in place of a key file must not hang the agent), their type is checked on the open
//! descriptor (no race between the check and the read), and reads are bounded.
//!
//! Every refusal says what is wrong and how to fix it.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

/// Why a file is not trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A symbolic link where a plain file is required.
    #[error("{path} is a symbolic link; refusing to follow it. Fix: replace it with a regular file")]
    Symlink {
        /// Path.
        path: PathBuf,
    },
    /// A FIFO, socket, device or directory where a regular file is required.
    #[error("{path} is a {kind}, not a regular file")]
    NotRegular {
        /// Path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// Others may write it.
    #[error(
        "{path} has mode {mode:04o}: writable by group or others, so anyone could have planted it. Fix: chmod go-w {path}"
    )]
    Writable {
        /// Path.
        path: PathBuf,
        /// Permission bits.
        mode: u32,
    },
    /// Owned by another user.
    #[error("{path} is owned by uid {owner}, neither root nor the running user (uid {me}). Fix: chown {me} {path}")]
    Owner {
        /// Path.
        path: PathBuf,
        /// Owner uid.
        owner: u32,
        /// Our effective uid.
        me: u32,
    },
    /// A secret that group or others may read.
    #[error("{path} has mode {mode:04o}; a secret must be readable by its owner only. Fix: chmod 600 {path}")]
    Readable {
        /// Path.
        path: PathBuf,
        /// Permission bits.
        mode: u32,
    },
    /// A secret owned by someone other than the running user.
    #[error("{path} is owned by uid {owner}, but assetkit runs as uid {me}. Fix: chown {me} {path}")]
    NotMine {
        /// Path.
        path: PathBuf,
        /// Owner uid.
        owner: u32,
        /// Our effective uid.
        me: u32,
    },
    /// Bigger than anything legitimate in its place.
    #[error("{path} is larger than {limit} bytes; refusing to read it")]
    TooLarge {
        /// Path.
        path: PathBuf,
        /// The bound.
        limit: u64,
    },
}

impl TrustError {
    /// The underlying I/O error kind, for callers that treat "not found" as "absent".
    pub fn is_not_found(&self) -> bool {
        matches!(self, TrustError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The running user.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn kind_name(t: FileType) -> &'static str {
    match t {
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        _ => "special file",
    }
}

/// Owner is root or the running user, and neither group nor others may write.
pub fn check_owner_and_mode(path: &Path, uid: u32, mode: u32) -> Result<(), TrustError> {
    let me = euid();
    if uid != 0 && uid != me {
        return Err(TrustError::Owner { path: path.to_owned(), owner: uid, me });
    }
    if mode & 0o022 != 0 {
        return Err(TrustError::Writable { path: path.to_owned(), mode: mode & 0o7777 });
    }
    Ok(())
}

/// Checks every directory above `path` (not `path` itself): owned by root or the running user and
/// not writable by group or others, except root-owned sticky directories such as `/tmp`, where
/// nobody can replace another user's entries.
pub fn check_ancestors(path: &Path) -> Result<(), TrustError> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(|source| TrustError::Io { path: path.to_owned(), source })?.join(path)
    };
    for dir in absolute.ancestors().skip(1) {
        let meta = std::fs::metadata(dir).map_err(|source| TrustError::Io { path: dir.to_owned(), source })?;
        let sticky_root = meta.uid() == 0 && meta.mode() & 0o1000 != 0;
        if !sticky_root {
            check_owner_and_mode(dir, meta.uid(), meta.mode())?;
        }
    }
    Ok(())
}

/// Reads a secret: a regular file that the running user owns and nobody else may read (mode
/// 0600 or stricter), below directories that only root or the user may write, of at most
/// `max_bytes`. The secret is the file's first line, trimmed of surrounding white space (so
/// `openssl rand -hex 32 > file`, which ends in a newline, gives the 64 hex digits); it may be
/// empty, which the caller refuses in its own words. The one rule for every secret file
/// assetkit reads: the agent's key file and a webhook's secret file.
pub fn read_secret_file(path: &Path, max_bytes: u64) -> Result<String, TrustError> {
    let file = read(path, ReadRules { no_symlink: false, owner_and_mode: false, max_bytes })?;
    if file.mode & 0o077 != 0 {
        return Err(TrustError::Readable { path: path.to_owned(), mode: file.mode });
    }
    let me = euid();
    if file.uid != me {
        return Err(TrustError::NotMine { path: path.to_owned(), owner: file.uid, me });
    }
    check_ancestors(path)?;
    let text = String::from_utf8_lossy(&file.bytes);
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// How [`read`] treats the file.
#[derive(Debug, Clone, Copy)]
pub struct ReadRules {
    /// Refuse a symbolic link in the last component instead of following it.
    pub no_symlink: bool,
    /// Apply [`check_owner_and_mode`] to the file itself.
    pub owner_and_mode: bool,
    /// Read at most this many bytes; a larger file is refused.
    pub max_bytes: u64,
}

/// A file read under [`ReadRules`], with what its descriptor said about it.
#[derive(Debug)]
pub struct Checked {
    /// The content.
    pub bytes: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
}

/// Opens `path` without blocking, checks on the descriptor that it is a regular file (and what
/// `rules` ask), and reads it whole within the bound.
pub fn read(path: &Path, rules: ReadRules) -> Result<Checked, TrustError> {
    let io = |source: std::io::Error| TrustError::Io { path: path.to_owned(), source };
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    if rules.no_symlink {
        flags |= OFlags::NOFOLLOW;
    }
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::LOOP) if rules.no_symlink => return Err(TrustError::Symlink { path: path.to_owned() }),
        Err(e) => return Err(io(e.into())),
    };
    let stat = rustix::fs::fstat(&fd).map_err(|e| io(e.into()))?;
    let file_type = FileType::from_raw_mode(stat.st_mode);
    if file_type != FileType::RegularFile {
        return Err(TrustError::NotRegular { path: path.to_owned(), kind: kind_name(file_type) });
    }
    if rules.owner_and_mode {
        check_owner_and_mode(path, stat.st_uid, stat.st_mode)?;
    }
    if stat.st_size as u64 > rules.max_bytes {
        return Err(TrustError::TooLarge { path: path.to_owned(), limit: rules.max_bytes });
    }
    let mut data = Vec::with_capacity(stat.st_size.max(0) as usize);
    std::fs::File::from(fd).take(rules.max_bytes + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > rules.max_bytes {
        // It grew between fstat and read.
        return Err(TrustError::TooLarge { path: path.to_owned(), limit: rules.max_bytes });
    }
    Ok(Checked { bytes: data, mode: stat.st_mode & 0o7777, uid: stat.st_uid })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const RULES: ReadRules = ReadRules { no_symlink: true, owner_and_mode: true, max_bytes: 64 };

    #[test]
    fn a_secret_is_the_first_line_of_a_file_only_its_owner_reads() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s");
        std::fs::write(&file, "  0123456789abcdef \nsecond line\n").unwrap();
        for (mode, ok) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false), (0o644, false)] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            match read_secret_file(&file, 64) {
                Ok(secret) => assert!(ok && secret == "0123456789abcdef", "{mode:o}: {secret}"),
                Err(e) => assert!(!ok && e.to_string().contains("chmod 600"), "{mode:o}: {e}"),
            }
        }
    }

    #[test]
    fn plain_files_symlinks_fifos_and_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"hello").unwrap();
        assert_eq!(read(&file, RULES).unwrap().bytes, b"hello");

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(matches!(read(&link, RULES), Err(TrustError::Symlink { .. })));
        assert_eq!(read(&link, ReadRules { no_symlink: false, ..RULES }).unwrap().bytes, b"hello");

        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::from_raw_mode(0o600)).unwrap();
        let err = read(&fifo, RULES).unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");

        std::fs::write(&file, vec![b'x'; 65]).unwrap();
        assert!(matches!(read(&file, RULES), Err(TrustError::TooLarge { limit: 64, .. })));

        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = read(&file, RULES).unwrap_err().to_string();
        assert!(err.contains("0666") && err.contains("chmod go-w"), "{err}");
    }

    #[test]
    fn writable_ancestors_are_refused_sticky_root_dirs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        let file = inner.join("f");
        std::fs::write(&file, b"x").unwrap();
        check_ancestors(&file).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_ancestors(&file).unwrap_err().to_string();
        assert!(err.contains("inner") && err.contains("0777"), "{err}");
    }
}
