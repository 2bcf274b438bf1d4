//! The Berkeley DB hash `Packages` file of rpm < 4.16 (RHEL and CentOS 5 to 8, Amazon Linux 2,
//! Fedora < 33), read as rpm's own read-only backend reads it (lib/backend/bdb_ro.c): bucket by
//! bucket from the hash metadata, each bucket's chain of hash pages, values on overflow page
//! chains where they do not fit a page. Key = the package's instance number (4 bytes); the
//! record with key 0 is rpm's counter, not a package.
//!
//! Integers are in the byte order of the machine that wrote the file: a file from a
//! big-endian host (its magic reads 0x61150600) is read with every field swapped. Every loop is
//! bounded by the file: pages within `last_pgno`, each hash page visited once, overflow chains
//! no longer than their declared length, which cannot exceed rpm's header limit.

use super::super::database::DbError;
use super::header::{self, RpmHeader};

const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const PAGE_HEADER: usize = 26;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
/// The longest value rpm stores: a header of 0xffff entries and 0x0fffffff data bytes.
const MAX_VALUE: usize = 8 + 16 * header::MAX_ENTRIES as usize + header::MAX_DATA as usize;

fn invalid(what: impl std::fmt::Display) -> DbError {
    DbError::Invalid(what.to_string())
}

/// An open hash file: its bytes and what its metadata page says.
struct Db<'a> {
    file: &'a [u8],
    big_endian: bool,
    page_size: usize,
    last_page: usize,
}

impl Db<'_> {
    fn u16(&self, at: usize) -> usize {
        let b = [self.file[at], self.file[at + 1]];
        usize::from(if self.big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    }
    fn u32(&self, at: usize) -> u32 {
        let b = [self.file[at], self.file[at + 1], self.file[at + 2], self.file[at + 3]];
        if self.big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
    }
    /// The start of page `n`, checked to be inside the file and to say it is page `n`.
    fn page(&self, n: usize) -> Result<usize, DbError> {
        if n == 0 || n > self.last_page {
            return Err(invalid(format!("a link to page {n}, outside pages 1 to {}", self.last_page)));
        }
        let at = n * self.page_size;
        if self.u32(at + 8) as usize != n {
            return Err(invalid(format!("page {n} says it is page {}", self.u32(at + 8))));
        }
        Ok(at)
    }
}

/// The packages of a Berkeley DB hash `Packages` file.
pub fn read(file: &[u8]) -> Result<Vec<RpmHeader>, DbError> {
    let db = open(file)?;
    let meta = |i: usize| db.u32(4 * i) as usize;
    let (max_bucket, spares) = (meta(18), |i: usize| meta(24 + i));
    if max_bucket > db.last_page {
        return Err(invalid(format!("{} buckets in a file of {} pages", max_bucket + 1, db.last_page + 1)));
    }
    let mut seen = vec![false; db.last_page + 1];
    let mut headers = Vec::new();
    for bucket in 0..=max_bucket {
        let bits = (usize::BITS - bucket.leading_zeros()) as usize;
        let mut next = bucket + spares(bits.min(31));
        while next != 0 {
            let at = db.page(next)?;
            if std::mem::replace(&mut seen[next], true) {
                return Err(invalid(format!("page {next} is linked twice: a cycle")));
            }
            let kind = file[at + 25];
            if kind != P_HASH && kind != P_HASH_UNSORTED {
                return Err(invalid(format!("bucket {bucket}: page {next} is of type {kind}, not a hash page")));
            }
            read_page(&db, at, next, &mut headers)?;
            next = db.u32(at + 16) as usize;
        }
    }
    Ok(headers)
}

/// The metadata page: magic, hash version, page size, encryption, last page.
fn open(file: &[u8]) -> Result<Db<'_>, DbError> {
    if file.is_empty() {
        return Err(invalid("the database is empty"));
    }
    if file.len() < 512 {
        return Err(invalid(format!("the database is truncated ({} bytes)", file.len())));
    }
    let magic = u32::from_le_bytes([file[12], file[13], file[14], file[15]]);
    let big_endian = match magic {
        HASH_MAGIC => false,
        m if m == HASH_MAGIC.swap_bytes() => true,
        m if m == BTREE_MAGIC || m == BTREE_MAGIC.swap_bytes() => {
            return Err(DbError::Unsupported("a Berkeley DB B-tree, not rpm's hash Packages".to_owned()));
        }
        _ => return Err(DbError::Unsupported("not a Berkeley DB hash file".to_owned())),
    };
    let mut db = Db { file, big_endian, page_size: 512, last_page: 0 };
    let version = db.u32(16);
    if !(8..=10).contains(&version) {
        return Err(DbError::Unsupported(format!("Berkeley DB hash version {version}")));
    }
    let page_size = db.u32(20) as usize;
    if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
        return Err(invalid(format!("bad page size {page_size}")));
    }
    if file[24] != 0 {
        return Err(DbError::Unsupported("an encrypted Berkeley DB".to_owned()));
    }
    let last_page = db.u32(32) as usize;
    if file.len() / page_size <= last_page {
        return Err(invalid(format!(
            "the file holds {} pages of {page_size} bytes, its metadata says {}: truncated",
            file.len() / page_size,
            last_page + 1
        )));
    }
    (db.page_size, db.last_page) = (page_size, last_page);
    Ok(db)
}

/// The key/value pairs of one hash page: keys at even indexes, each value right below its key.
fn read_page(db: &Db<'_>, at: usize, n: usize, headers: &mut Vec<RpmHeader>) -> Result<(), DbError> {
    let size = db.page_size;
    let entries = db.u16(at + 20);
    if entries > (size - PAGE_HEADER) / 2 {
        return Err(invalid(format!("page {n} claims {entries} entries")));
    }
    let offset = |i: usize| db.u16(at + PAGE_HEADER + 2 * i);
    for i in (0..entries.saturating_sub(1)).step_by(2) {
        let (key_at, value_at) = (offset(i), offset(i + 1));
        let key_end = if i == 0 { size } else { offset(i - 1) };
        if key_at >= size || value_at >= size || key_end < key_at || key_at < value_at {
            return Err(invalid(format!("page {n}: entry {i} has offsets out of order")));
        }
        let key = item(db, at, key_at, key_end - key_at, n)?;
        if key.len() != 4 || key.iter().all(|&b| b == 0) {
            continue;
        }
        let value = item(db, at, value_at, key_at - value_at, n)?;
        headers.push(header::parse(&value).map_err(|e| invalid(format!("page {n}, entry {i}: {e}")))?);
        if headers.len() > super::sqlite::MAX_ROWS {
            return Err(invalid(format!("more than {} packages", super::sqlite::MAX_ROWS)));
        }
    }
    Ok(())
}

/// One item of a hash page: inline bytes, or a value on a chain of overflow pages.
fn item<'a>(db: &Db<'a>, page: usize, off: usize, len: usize, n: usize) -> Result<std::borrow::Cow<'a, [u8]>, DbError> {
    if len == 0 || off + len > db.page_size {
        return Err(invalid(format!("page {n}: an item of {len} bytes at offset {off}")));
    }
    let bytes = &db.file[page + off..page + off + len];
    match bytes[0] {
        H_KEYDATA => Ok(std::borrow::Cow::Borrowed(&bytes[1..])),
        H_OFFPAGE if len == 12 => {
            let (first, total) = (db.u32(page + off + 4) as usize, db.u32(page + off + 8) as usize);
            overflow(db, first, total).map(std::borrow::Cow::Owned)
        }
        kind => Err(invalid(format!("page {n}: an item of type {kind} (duplicates are not rpm's)"))),
    }
}

/// The bytes of an overflow chain: each page gives `hf_offset` bytes after its header.
fn overflow(db: &Db<'_>, first: usize, total: usize) -> Result<Vec<u8>, DbError> {
    if total == 0 || total > MAX_VALUE || total > db.file.len() {
        return Err(invalid(format!("an overflow value of {total} bytes")));
    }
    let mut out = Vec::with_capacity(total);
    let mut next = first;
    while out.len() < total {
        let at = db.page(next)?;
        if db.file[at + 25] != P_OVERFLOW {
            return Err(invalid(format!("page {next} is in an overflow chain but of type {}", db.file[at + 25])));
        }
        let used = db.u16(at + 22);
        // Each page must add bytes: that, and the total, bound the chain even if it loops.
        if used == 0 || used + PAGE_HEADER > db.page_size || used > total - out.len() {
            return Err(invalid(format!("overflow page {next} holds {used} bytes")));
        }
        out.extend_from_slice(&db.file[at + PAGE_HEADER..at + PAGE_HEADER + used]);
        next = db.u32(at + 16) as usize;
    }
    Ok(out)
}
