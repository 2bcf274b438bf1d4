//! The rpm header blob that every rpm database backend stores per installed package (rpm's
//! `headerExport` format, without the 8-byte magic of a package file), checked as rpm's own
//! `hdrblobInit` checks it (lib/header.c) before any field is read.
//!
//! ```text
//! u32 il, u32 dl                                  big-endian, like everything here
//! il entries of 16 bytes: i32 tag, u32 type, i32 offset, u32 count
//! dl bytes of data
//! ```
//!
//! Entry 0 is normally the immutable region (tag 63, type BIN, count 16) whose 16-byte trailer
//! says how many entries belong to the package as built (`ril`); the entries after them were
//! added by rpm at install time (install time, file states...) and win over a region entry of
//! the same tag.
//!
//! Like `rpm -qa` (`headerCheck` on every header it reads), the region is checked against the
//! package's own SHA-256 header digest (SHA-1 on packages older than rpm 4.14), so a byte
//! changed inside a name or a version is a damaged database, not a different package.

use super::super::database::DbError;

/// Most index entries rpm accepts (`HEADER_TAGS_MAX`).
pub const MAX_ENTRIES: u32 = 0xffff;
/// Most data bytes rpm accepts (`HEADER_DATA_MAX`).
pub const MAX_DATA: u32 = 0x0fff_ffff;

const TAG_HEADERIMMUTABLE: i32 = 63;
const TAG_SHA1HEADER: i32 = 269;
const TAG_SHA256HEADER: i32 = 273;
const TAG_I18NTABLE: i32 = 100;
const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_INSTALLTIME: i32 = 1008;
const TAG_VENDOR: i32 = 1011;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_BIN: u32 = 7;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// The fields of one installed package that the plugin reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmHeader {
    /// NAME.
    pub name: String,
    /// EPOCH, absent when the package has none.
    pub epoch: Option<u32>,
    /// VERSION.
    pub version: String,
    /// RELEASE.
    pub release: String,
    /// ARCH (absent for `gpg-pubkey` entries).
    pub arch: Option<String>,
    /// SOURCERPM.
    pub source_rpm: Option<String>,
    /// VENDOR.
    pub vendor: Option<String>,
    /// INSTALLTIME, seconds since the epoch.
    pub install_time: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: i32,
    kind: u32,
    offset: usize,
    count: u32,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn bad(what: impl std::fmt::Display) -> DbError {
    DbError::Invalid(format!("corrupt package header: {what}"))
}

/// Parses and checks one header blob.
pub fn parse(blob: &[u8]) -> Result<RpmHeader, DbError> {
    if blob.len() < 8 {
        return Err(bad(format!("{} bytes, shorter than its own length fields", blob.len())));
    }
    let (il, dl) = (be32(blob, 0), be32(blob, 4));
    if !(1..=MAX_ENTRIES).contains(&il) || dl > MAX_DATA {
        return Err(bad(format!("{il} entries, {dl} data bytes")));
    }
    let expected = 8 + 16 * il as usize + dl as usize;
    if expected != blob.len() {
        return Err(bad(format!("{} bytes where 8 + 16 × {il} + {dl} = {expected} were expected", blob.len())));
    }
    let index = &blob[8..8 + 16 * il as usize];
    let data = &blob[8 + 16 * il as usize..];
    let entry = |i: usize| -> Entry {
        let e = &index[16 * i..16 * i + 16];
        Entry {
            tag: be32(e, 0) as i32,
            kind: be32(e, 4),
            offset: be32(e, 8) as i32 as isize as usize,
            count: be32(e, 12),
        }
    };
    let (ril, rdl) = region(entry(0), data, il as usize)?;
    let first = usize::from(ril.is_some());
    verify_entries((first..il as usize).map(entry), data, rdl)?;
    let ril = ril.unwrap_or(0);
    // Install-time entries (after the region) win over the package's own.
    let find = |tag: i32| -> Option<Entry> {
        let dribble = (ril..il as usize).rev().map(entry).find(|e| e.tag == tag);
        dribble.or_else(|| (first..ril).map(entry).find(|e| e.tag == tag))
    };
    let string = |tag: i32| -> Result<Option<String>, DbError> {
        let Some(e) = find(tag) else { return Ok(None) };
        if !matches!(e.kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(bad(format!("tag {tag} has type {} where a string was expected", e.kind)));
        }
        let s = &data[e.offset..];
        let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
        Ok(Some(String::from_utf8_lossy(&s[..end]).into_owned()))
    };
    let int32 = |tag: i32| -> Result<Option<u32>, DbError> {
        let Some(e) = find(tag) else { return Ok(None) };
        if e.kind != TYPE_INT32 {
            return Err(bad(format!("tag {tag} has type {} where a 32-bit number was expected", e.kind)));
        }
        Ok(Some(be32(data, e.offset)))
    };
    if ril > 0 {
        let region = [&index[..16 * ril], &data[..rdl]];
        verify_digest(ril, rdl, &region, string(TAG_SHA256HEADER)?, string(TAG_SHA1HEADER)?)?;
    }
    let required = |tag: i32, what: &str| -> Result<String, DbError> {
        string(tag)?.filter(|s| !s.is_empty()).ok_or_else(|| bad(format!("no {what}")))
    };
    Ok(RpmHeader {
        name: required(TAG_NAME, "NAME")?,
        epoch: int32(TAG_EPOCH)?,
        version: required(TAG_VERSION, "VERSION")?,
        release: required(TAG_RELEASE, "RELEASE")?,
        arch: string(TAG_ARCH)?,
        source_rpm: string(TAG_SOURCERPM)?,
        vendor: string(TAG_VENDOR)?,
        install_time: int32(TAG_INSTALLTIME)?,
    })
}

/// `headerCheck`'s digests: over the header as the package file held it (the header magic,
/// the region's entry and byte counts, its entries, its data), against the SHA-256 digest the
/// package carries, else its SHA-1 one; a header with neither (very old packages) is trusted to
/// the structure checks alone.
fn verify_digest(
    ril: usize,
    rdl: usize,
    region: &[&[u8]; 2],
    sha256: Option<String>,
    sha1: Option<String>,
) -> Result<(), DbError> {
    use sha2::Digest as _;
    const MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
    let counts = [(ril as u32).to_be_bytes(), (rdl as u32).to_be_bytes()].concat();
    let parts = [&MAGIC[..], &counts, region[0], region[1]];
    let (name, expected, got) = if let Some(expected) = sha256 {
        let mut h = sha2::Sha256::new();
        parts.iter().for_each(|p| h.update(p));
        ("SHA-256", expected, hex::encode(h.finalize()))
    } else if let Some(expected) = sha1 {
        let mut h = sha1::Sha1::new();
        parts.iter().for_each(|p| h.update(p));
        ("SHA-1", expected, hex::encode(h.finalize()))
    } else {
        return Ok(());
    };
    if !expected.eq_ignore_ascii_case(&got) {
        return Err(bad(format!("its {name} digest does not match its contents: the header is damaged")));
    }
    Ok(())
}

/// `hdrblobVerifyRegion`: the region entry and its trailer, giving the number of entries and
/// of data bytes the region covers; `None` entries for a legacy header without a region.
fn region(first: Entry, data: &[u8], il: usize) -> Result<(Option<usize>, usize), DbError> {
    if first.tag != TAG_HEADERIMMUTABLE {
        return Ok((None, 0));
    }
    if first.kind != TYPE_BIN || first.count != 16 {
        return Err(bad(format!("region tag: type {} count {}", first.kind, first.count)));
    }
    let end = first.offset.checked_add(16).filter(|&e| e <= data.len() && first.offset <= data.len());
    let Some(rdl) = end else {
        return Err(bad(format!("region trailer at offset {} is outside the data", first.offset as isize)));
    };
    let t = &data[first.offset..rdl];
    let (tag, kind, offset, count) = (be32(t, 0) as i32, be32(t, 4), be32(t, 8) as i32, be32(t, 12));
    let size = offset.checked_neg().unwrap_or(-1);
    if tag != TAG_HEADERIMMUTABLE || kind != TYPE_BIN || count != 16 || size < 0 || size % 16 != 0 {
        return Err(bad(format!("region trailer: tag {tag} type {kind} offset {offset} count {count}")));
    }
    let ril = (size / 16) as usize;
    if ril > il {
        return Err(bad(format!("region of {ril} entries in a header of {il}")));
    }
    Ok((Some(ril), rdl))
}

/// `hdrblobVerifyInfo`: every entry's tag, type, count, alignment and data lie within the
/// header, in increasing order, and none overlaps the region trailer.
fn verify_entries(entries: impl Iterator<Item = Entry>, data: &[u8], rdl: usize) -> Result<(), DbError> {
    let dl = data.len();
    let mut end = 0usize;
    for (i, e) in entries.enumerate() {
        let fail = |why: &str| {
            bad(format!(
                "entry {i} (tag {} type {} offset {} count {}): {why}",
                e.tag, e.kind, e.offset as isize, e.count
            ))
        };
        if e.offset > dl {
            return Err(fail("offset outside the data"));
        }
        if end > e.offset {
            return Err(fail("overlaps the entry before it"));
        }
        if e.tag < TAG_I18NTABLE {
            return Err(fail("tag below 100"));
        }
        if e.kind > TYPE_I18NSTRING || e.kind < 1 {
            return Err(fail("unknown type"));
        }
        if e.count < 1 || e.count as usize > dl {
            return Err(fail("count out of range"));
        }
        if e.kind != TYPE_BIN && e.count > 0x00ff_ffff {
            return Err(fail("array too long"));
        }
        let align = match e.kind {
            3 => 2,
            4 => 4,
            5 => 8,
            _ => 1,
        };
        if e.offset % align != 0 {
            return Err(fail("misaligned"));
        }
        let len = data_length(e, &data[e.offset..]).ok_or_else(|| fail("data runs past the end"))?;
        end = e.offset + len;
        if end > dl || len == 0 {
            return Err(fail("data runs past the end"));
        }
        if rdl > 0 && end > rdl - 16 && e.offset < rdl {
            return Err(fail("overlaps the region trailer"));
        }
    }
    Ok(())
}

/// `dataLength`: bytes taken by an entry's data, `None` when they do not fit.
fn data_length(e: Entry, from: &[u8]) -> Option<usize> {
    let count = e.count as usize;
    match e.kind {
        TYPE_STRING if count != 1 => None,
        TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING => {
            let mut len = 0usize;
            for _ in 0..count {
                let nul = from.get(len..)?.iter().position(|&c| c == 0)?;
                len += nul + 1;
            }
            Some(len)
        }
        kind => {
            let size = [0usize, 1, 1, 2, 4, 8, 0, 1][kind as usize];
            let len = size.checked_mul(count)?;
            (len <= from.len()).then_some(len)
        }
    }
}
