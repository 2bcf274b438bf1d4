//! The fallback for an rpm database no reader here knows (and the SSH sweep's way of reading
//! rpm without shipping the database): the output of `rpm -qa --qf` in one fixed format,
//! snapshot `commands/rpm-qa`.
//!
//! One line per package, eight tab-separated fields, an absent value as an empty field:
//!
//! ```text
//! NAME  EPOCH  VERSION  RELEASE  ARCH  SOURCERPM  VENDOR  INSTALLTIME
//! ```

use super::super::database::DbError;
use super::header::RpmHeader;

/// The query format, exactly as `rpm -qa --qf` takes it (rpm turns `\t` and `\n` into a tab
/// and a newline). `snapshot.sh` passes the same string.
pub const FORMAT: &str = r"%{NAME}\t%|EPOCH?{%{EPOCH}}:{}|\t%{VERSION}\t%{RELEASE}\t%|ARCH?{%{ARCH}}:{}|\t%|SOURCERPM?{%{SOURCERPM}}:{}|\t%|VENDOR?{%{VENDOR}}:{}|\t%|INSTALLTIME?{%{INSTALLTIME}}:{}|\n";

/// The packages of one `rpm -qa --qf FORMAT` output.
pub fn parse(out: &[u8]) -> Result<Vec<RpmHeader>, DbError> {
    if !out.is_empty() && out.last() != Some(&b'\n') {
        return Err(DbError::Invalid("`rpm -qa` output does not end with a newline: it is truncated".to_owned()));
    }
    let mut headers = Vec::new();
    for (n, line) in out.split(|&c| c == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&[u8]> = line.split(|&c| c == b'\t').collect();
        let bad = |why: &str| DbError::Invalid(format!("`rpm -qa` output line {}: {why}", n + 1));
        let [name, epoch, version, release, arch, source_rpm, vendor, install_time] = fields[..] else {
            return Err(bad(&format!("{} fields where 8 were expected (not this format)", fields.len())));
        };
        if name.is_empty() || version.is_empty() || release.is_empty() {
            return Err(bad("no name, version or release"));
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let optional = |b: &[u8]| (!b.is_empty()).then(|| text(b));
        let number = |b: &[u8], what: &str| -> Result<Option<u32>, DbError> {
            if b.is_empty() {
                return Ok(None);
            }
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse().ok())
                .map(Some)
                .ok_or_else(|| bad(&format!("{what} is not a number")))
        };
        headers.push(RpmHeader {
            name: text(name),
            epoch: number(epoch, "the epoch")?,
            version: text(version),
            release: text(release),
            arch: optional(arch),
            source_rpm: optional(source_rpm),
            vendor: optional(vendor),
            install_time: number(install_time, "the install time")?,
        });
        if headers.len() > super::sqlite::MAX_ROWS {
            return Err(bad(&format!("more than {} packages", super::sqlite::MAX_ROWS)));
        }
    }
    Ok(headers)
}
