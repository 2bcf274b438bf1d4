//! `rpmdb.sqlite` (rpm ≥ 4.16; Fedora 33+, RHEL 9, CBL-Mariner): table `Packages (hnum
//! INTEGER PRIMARY KEY, blob BLOB)`, one header blob per package.
//!
//! The file's bytes are opened in memory (`sqlite3_deserialize`, read-only), never the file
//! itself: no lock, no `-shm`, nothing written. rpm keeps the database in WAL mode, so the
//! latest transactions may still sit in `rpmdb.sqlite-wal`; its committed frames are applied
//! here the way SQLite's own recovery does (header and frame checksums, salts, up to the last
//! commit frame) before the database is opened.

use super::super::database::DbError;
use super::header::{self, RpmHeader};

/// The first 16 bytes of every SQLite 3 database.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Most rows read: the report's package limit twice over (gpg-pubkey rows are skipped later).
pub const MAX_ROWS: usize = 2 * super::super::database::MAX_PACKAGES;

fn invalid(what: impl std::fmt::Display) -> DbError {
    DbError::Invalid(what.to_string())
}

/// The page size a database header declares (1 means 65536), if it is a valid one.
fn page_size(raw: u32) -> Option<usize> {
    let size = if raw == 1 { 65536 } else { raw as usize };
    (size.is_power_of_two() && (512..=65536).contains(&size)).then_some(size)
}

/// The packages of an rpmdb.sqlite, with the committed frames of `wal` applied.
pub fn read(db: Vec<u8>, wal: Option<&[u8]>) -> Result<Vec<RpmHeader>, DbError> {
    let image = match wal.filter(|w| !w.is_empty()) {
        Some(wal) => apply_wal(db, wal)?,
        None => db,
    };
    let image = checked(image)?;
    query(image)
}

/// The database header checks SQLite makes lazily, made first so a truncated file says so.
fn checked(mut image: Vec<u8>) -> Result<Vec<u8>, DbError> {
    if image.is_empty() {
        return Err(invalid("the database is empty"));
    }
    if image.len() < 100 || !image.starts_with(MAGIC) {
        return Err(if image.len() < 100 && MAGIC.starts_with(&image[..image.len().min(16)]) {
            invalid(format!("the database is truncated ({} bytes)", image.len()))
        } else {
            DbError::Unsupported("not an SQLite 3 database".to_owned())
        });
    }
    let raw = u32::from(u16::from_be_bytes([image[16], image[17]]));
    let size = page_size(raw).ok_or_else(|| invalid(format!("bad page size {raw} in the database header")))?;
    if !image.len().is_multiple_of(size) {
        return Err(invalid(format!("{} bytes is not a whole number of {size}-byte pages: truncated", image.len())));
    }
    // The page count in the header is valid when its "version valid for" matches the change
    // counter; then the file must hold that many pages.
    let pages = u32::from_be_bytes([image[28], image[29], image[30], image[31]]) as usize;
    if image[24..28] == image[92..96] && pages != 0 && pages * size > image.len() {
        return Err(invalid(format!(
            "the header says {pages} pages, the file holds {}: truncated",
            image.len() / size
        )));
    }
    // WAL mode (2) cannot be opened in memory; the WAL is applied already.
    image[18] = 1;
    image[19] = 1;
    Ok(image)
}

fn query(image: Vec<u8>) -> Result<Vec<RpmHeader>, DbError> {
    use rusqlite::{Connection, MAIN_DB};
    let sql = |e: rusqlite::Error| invalid(format!("SQLite: {e}"));
    let mut conn = Connection::open_in_memory().map_err(sql)?;
    let len = image.len();
    conn.deserialize_read_exact(MAIN_DB, &image[..], len, true).map_err(sql)?;
    drop(image);
    let has_table: bool = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'Packages'", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n == 1)
        .map_err(sql)?;
    if !has_table {
        return Err(invalid("an SQLite database without rpm's Packages table"));
    }
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum").map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    let mut headers = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        if headers.len() == MAX_ROWS {
            return Err(invalid(format!("more than {MAX_ROWS} packages")));
        }
        let hnum: i64 = row.get(0).map_err(sql)?;
        let blob = row.get_ref(1).map_err(sql)?;
        let bytes = blob.as_blob().map_err(|_| invalid(format!("package #{hnum}: its blob is not a BLOB")))?;
        headers.push(header::parse(bytes).map_err(|e| invalid(format!("package #{hnum}: {e}")))?);
    }
    Ok(headers)
}

const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// SQLite's WAL checksum over 32-bit words read in the WAL's byte order.
fn checksum(data: &[u8], big_endian: bool, mut s0: u32, mut s1: u32) -> (u32, u32) {
    for pair in data.chunks_exact(8) {
        let word = |b: &[u8]| {
            let b = [b[0], b[1], b[2], b[3]];
            if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
        };
        s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

/// The database as it stands after the WAL's last commit: every valid frame up to the last
/// commit frame, in order, over the main file. A WAL whose header does not check out is one
/// SQLite itself ignores (a fresh or reset log), and so is everything after the first frame
/// that does not.
pub fn apply_wal(db: Vec<u8>, wal: &[u8]) -> Result<Vec<u8>, DbError> {
    let be = |at: usize| u32::from_be_bytes([wal[at], wal[at + 1], wal[at + 2], wal[at + 3]]);
    if wal.len() < WAL_HEADER {
        return Err(invalid(format!("the WAL is truncated ({} bytes)", wal.len())));
    }
    let big_endian = match be(0) {
        0x377f_0682 => false,
        0x377f_0683 => true,
        _ => return Err(invalid("rpmdb.sqlite-wal is not an SQLite WAL")),
    };
    if be(4) != 3_007_000 {
        return Err(DbError::Unsupported(format!("WAL format version {}", be(4))));
    }
    let (salt1, salt2) = (be(16), be(20));
    if checksum(&wal[..24], big_endian, 0, 0) != (be(24), be(28)) {
        return Ok(db);
    }
    let size = page_size(be(8)).ok_or_else(|| invalid(format!("bad page size {} in the WAL header", be(8))))?;
    if db.len() >= 100 && db.starts_with(MAGIC) {
        let main = page_size(u32::from(u16::from_be_bytes([db[16], db[17]])));
        if main != Some(size) {
            return Err(invalid(format!("the WAL's page size {size} differs from the database's")));
        }
    }
    let frame = FRAME_HEADER + size;
    let mut sums = (be(24), be(28));
    // Frames that belong to committed transactions: (page number, offset of its data).
    let mut pending: Vec<(u32, usize)> = Vec::new();
    let mut committed: Vec<(u32, usize)> = Vec::new();
    let mut pages_after_commit = None;
    for at in (WAL_HEADER..).step_by(frame).take_while(|at| at + frame <= wal.len()) {
        let (page, commit) = (be(at), be(at + 4));
        if page == 0 || (be(at + 8), be(at + 12)) != (salt1, salt2) {
            break;
        }
        let s = checksum(&wal[at..at + 8], big_endian, sums.0, sums.1);
        let s = checksum(&wal[at + FRAME_HEADER..at + frame], big_endian, s.0, s.1);
        if s != (be(at + 16), be(at + 20)) {
            break;
        }
        sums = s;
        pending.push((page, at + FRAME_HEADER));
        if commit != 0 {
            committed.append(&mut pending);
            pages_after_commit = Some(commit as usize);
        }
    }
    let Some(pages) = pages_after_commit else { return Ok(db) };
    // The database cannot outgrow what the two files hold between them.
    let len = pages
        .checked_mul(size)
        .filter(|&l| l <= db.len() + wal.len())
        .ok_or_else(|| invalid(format!("the WAL commits a database of {pages} pages, more than the files hold")))?;
    let mut image = db;
    image.resize(len, 0);
    for (page, data) in committed {
        let start = (page as usize - 1) * size;
        if start + size <= len {
            image[start..start + size].copy_from_slice(&wal[data..data + size]);
        }
    }
    Ok(image)
}
