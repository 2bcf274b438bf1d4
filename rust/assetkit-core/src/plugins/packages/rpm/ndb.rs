//! SUSE's ndb `Packages.db` (SLES and openSUSE 15 SP3+; rpm's lib/backend/ndb/rpmpkg.c), all
//! integers little-endian on every host:
//!
//! ```text
//! 0   "RpmP", version 0, generation, slot pages, next package index; 32 bytes in all
//! 32  slots of 16 bytes to the end of the slot pages: "Slot", package index, block offset,
//!     block count (blocks of 16 bytes; offset 0 = a free slot)
//! a blob at block offset × 16: "BlbS", package index, generation, length, the header blob,
//!     zero padding, then a 12-byte tail: adler32, length, "BlbE"
//! ```
//!
//! rpm's own checks are made (slot magic, blocks inside the file and after the slots, a blob
//! that says it is the slot's package, its length and tail), and the adler32 of every blob,
//! which rpm only checks when asked to verify: a blob rewritten under the reader fails it.

use super::super::database::DbError;
use super::header::{self, RpmHeader};

const MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const TAIL_MAGIC: u32 = u32::from_le_bytes(*b"BlbE");
const PAGE: usize = 4096;
const BLOCK: usize = 16;
const HEADER: usize = 32;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;

fn invalid(what: impl std::fmt::Display) -> DbError {
    DbError::Invalid(what.to_string())
}

fn le(file: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]])
}

/// The packages of an ndb `Packages.db`.
pub fn read(file: &[u8]) -> Result<Vec<RpmHeader>, DbError> {
    if file.is_empty() {
        return Err(invalid("the database is empty"));
    }
    if file.len() < HEADER {
        return Err(invalid(format!("the database is truncated ({} bytes)", file.len())));
    }
    if le(file, 0) != MAGIC {
        return Err(DbError::Unsupported("not an ndb package database".to_owned()));
    }
    if le(file, 4) != 0 {
        return Err(DbError::Unsupported(format!("ndb version {}", le(file, 4))));
    }
    if !file.len().is_multiple_of(BLOCK) {
        return Err(invalid(format!("{} bytes is not a whole number of 16-byte blocks: truncated", file.len())));
    }
    let slot_pages = le(file, 12) as usize;
    if slot_pages == 0 || slot_pages > file.len() / PAGE {
        return Err(invalid(format!("{slot_pages} slot pages in a file of {} bytes: truncated", file.len())));
    }
    let (blocks, first_block) = (file.len() / BLOCK, slot_pages * PAGE / BLOCK);
    let mut seen = std::collections::HashSet::new();
    let mut headers = Vec::new();
    for at in (HEADER..slot_pages * PAGE).step_by(BLOCK) {
        if le(file, at) != SLOT_MAGIC {
            return Err(invalid(format!("bad slot magic at byte {at}")));
        }
        let (index, offset, count) = (le(file, at + 4), le(file, at + 8) as usize, le(file, at + 12) as usize);
        if offset == 0 {
            continue;
        }
        if offset.checked_add(count).is_none_or(|end| end > blocks) {
            return Err(invalid(format!("package {index}'s blob runs past the end of the file: truncated")));
        }
        if index == 0 || count == 0 || offset < first_block {
            return Err(invalid(format!("bad slot at byte {at} (package {index}, block {offset}, {count} blocks)")));
        }
        if !seen.insert(index) {
            return Err(invalid(format!("package {index} has two slots")));
        }
        let blob = blob(&file[offset * BLOCK..(offset + count) * BLOCK], index)?;
        headers.push(header::parse(blob).map_err(|e| invalid(format!("package {index}: {e}")))?);
        if headers.len() > super::sqlite::MAX_ROWS {
            return Err(invalid(format!("more than {} packages", super::sqlite::MAX_ROWS)));
        }
    }
    Ok(headers)
}

/// The header blob inside one slot's blocks, after checking its head, length, tail and adler32.
fn blob(blocks: &[u8], index: u32) -> Result<&[u8], DbError> {
    let bad = |why: &str| invalid(format!("package {index}: {why}"));
    if blocks.len() < BLOB_HEAD + BLOB_TAIL {
        return Err(bad("a blob too short for its head and tail"));
    }
    if le(blocks, 0) != BLOB_MAGIC || le(blocks, 4) != index {
        return Err(bad("its blob does not start with its own head"));
    }
    let len = le(blocks, 12) as usize;
    if (BLOB_HEAD + len + BLOB_TAIL).div_ceil(BLOCK) * BLOCK != blocks.len() {
        return Err(bad("its blob's length does not match its slot"));
    }
    let tail = blocks.len() - BLOB_TAIL;
    if le(blocks, tail + 8) != TAIL_MAGIC || le(blocks, tail + 4) as usize != len {
        return Err(bad("its blob's tail is damaged"));
    }
    if adler32(&blocks[..tail]) != le(blocks, tail) {
        return Err(bad("its blob's checksum does not match: damaged, or rewritten while it was read"));
    }
    Ok(&blocks[BLOB_HEAD..BLOB_HEAD + len])
}

/// zlib's adler32 (initial value 1).
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the longest run whose sums cannot overflow before the modulo.
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}
