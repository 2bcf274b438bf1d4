//! Reading a purchase list's bytes into a table of text cells, within [`Limits`]: csv in any
//! encoding, xlsx checked from its zip directory before anything is inflated, then streamed.

use std::io::{Cursor, Read};

/// Bounds on one imported file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The file as uploaded (an xlsx compressed).
    pub file_bytes: u64,
    /// All parts of an xlsx, uncompressed.
    pub unzipped_bytes: u64,
    /// Rows, header included.
    pub rows: usize,
    /// Columns.
    pub columns: usize,
    /// Non-empty cells.
    pub cells: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { file_bytes: 16 << 20, unzipped_bytes: 128 << 20, rows: 100_000, columns: 100, cells: 2_000_000 }
    }
}

/// The xlsx shared-strings part is read whole by the parser; bounded apart.
const MAX_SHARED_STRINGS_BYTES: u64 = 16 << 20;

/// Declared shared strings (the parser reserves room for them up front).
const MAX_SHARED_STRINGS: u64 = 1_000_000;

/// Entries in an xlsx zip.
const MAX_ZIP_ENTRIES: usize = 1_000;

/// The error for a file over one of its limits.
pub fn over(what: &str, limit: impl std::fmt::Display) -> ImportError {
    ImportError::TooLarge(format!("{what} exceeds the limit of {limit}"))
}

/// The file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Over one of the [`Limits`]: the message names it.
    #[error("{0}")]
    TooLarge(String),
    /// Not UTF-8 and no encoding was given.
    #[error("{0}")]
    Encoding(String),
    /// Not a readable spreadsheet or csv.
    #[error("{0}")]
    Format(String),
    /// No serial number column.
    #[error("{0}")]
    NoSerialColumn(String),
}

/// The file as text: UTF-8 (a BOM dropped), or the encoding named (GBK, GB18030, Big5, ...).
pub fn decode(bytes: &[u8], encoding: Option<&str>) -> Result<String, ImportError> {
    if let Some(label) = encoding.filter(|l| !l.is_empty() && !l.eq_ignore_ascii_case("auto")) {
        let enc = encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
            ImportError::Encoding(format!("unknown encoding {label:?} (try utf-8, gbk, gb18030, windows-1252)"))
        })?;
        let (text, _, had_errors) = enc.decode(bytes);
        if had_errors {
            return Err(ImportError::Encoding(format!("the file is not valid {}", enc.name())));
        }
        return Ok(text.into_owned());
    }
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        return Ok(text.into_owned());
    }
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        ImportError::Encoding(format!(
            "the file is not UTF-8 (byte 0x{:02X} on line {line}); save it as UTF-8 or choose its encoding (e.g. gbk, windows-1252)",
            bytes[at]
        ))
    })
}

/// A csv file's cells, within the limits.
pub fn read_csv(text: &str, limits: Limits) -> Result<Vec<Vec<String>>, ImportError> {
    let delimiter =
        if text.lines().next().is_some_and(|l| l.matches(';').count() > l.matches(',').count()) { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text.as_bytes());
    let mut table = Vec::new();
    let mut cells = 0usize;
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Format(format!("csv: {e}")))?;
        if table.len() >= limits.rows {
            return Err(over("the row count", limits.rows));
        }
        if record.len() > limits.columns {
            return Err(over(&format!("the column count on line {}", table.len() + 1), limits.columns));
        }
        cells += record.iter().filter(|c| !c.trim().is_empty()).count();
        if cells > limits.cells {
            return Err(over("the cell count", limits.cells));
        }
        table.push(record.iter().map(str::to_owned).collect());
    }
    Ok(table)
}

/// Refuses an xlsx whose parts would cost more memory than the limits allow, from the zip
/// central directory alone (no inflating), plus the declared shared-string count.
pub fn check_archive(bytes: &[u8], limits: Limits) -> Result<(), ImportError> {
    let bad = |e: zip::result::ZipError| ImportError::Format(format!("not a readable xlsx file: {e}"));
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(bad)?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(over("the number of parts in the xlsx", MAX_ZIP_ENTRIES));
    }
    let (mut total, mut shared) = (0u64, Vec::new());
    for i in 0..zip.len() {
        let entry = zip.by_index_data(i).map_err(bad)?;
        // calamine matches part names the same way.
        let name = entry.name().map_err(bad)?.replace('\\', "/").to_ascii_lowercase();
        total = total.saturating_add(entry.size());
        if total > limits.unzipped_bytes {
            return Err(over("the uncompressed size of the xlsx", format!("{} bytes", limits.unzipped_bytes)));
        }
        if name.ends_with("sharedstrings.xml") {
            if entry.size() > MAX_SHARED_STRINGS_BYTES {
                return Err(over("the shared strings of the xlsx", format!("{MAX_SHARED_STRINGS_BYTES} bytes")));
            }
            shared.push(i);
        }
    }
    // calamine reserves `uniqueCount` strings before reading any (tafia/calamine#684).
    for i in shared {
        let mut xml = Vec::new();
        zip.by_index(i)
            .map_err(bad)?
            .take(MAX_SHARED_STRINGS_BYTES + 1)
            .read_to_end(&mut xml)
            .map_err(|e| ImportError::Format(format!("not a readable xlsx file: {e}")))?;
        for count in declared_counts(&xml, b"uniqueCount") {
            if count.is_none_or(|n| n > MAX_SHARED_STRINGS) {
                return Err(over("the declared shared string count (uniqueCount)", MAX_SHARED_STRINGS));
            }
        }
    }
    Ok(())
}

/// Every `key="N"` in `xml`, parsed (None when it is not a number).
fn declared_counts<'a>(xml: &'a [u8], key: &'a [u8]) -> impl Iterator<Item = Option<u64>> + 'a {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            let p = xml.get(at..)?.windows(key.len()).position(|w| w == key)?;
            at += p + key.len();
            let Some(rest) = xml[at..].trim_ascii_start().strip_prefix(b"=") else { continue };
            let Some((&quote, rest)) = rest.trim_ascii_start().split_first().filter(|(q, _)| matches!(q, b'"' | b'\''))
            else {
                continue;
            };
            let value = rest.split(|&b| b == quote).next().unwrap_or_default();
            return Some(std::str::from_utf8(value).ok().and_then(|v| v.trim().parse::<u64>().ok()));
        }
    })
}

/// An xlsx file's first sheet's cells, streamed within the limits.
pub fn read_xlsx(bytes: &[u8], limits: Limits) -> Result<Vec<Vec<String>>, ImportError> {
    use calamine::{Data, DataRef, Reader, Xlsx};
    check_archive(bytes, limits)?;
    let unreadable = |what: &str, e: calamine::XlsxError| ImportError::Format(format!("{what}: {e}"));
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable("not a readable xlsx file", e))?;
    let sheet =
        book.sheet_names().into_iter().next().ok_or_else(|| ImportError::Format("the workbook has no sheet".into()))?;
    let mut cells = book.worksheet_cells_reader(&sheet).map_err(|e| unreadable("cannot read the first sheet", e))?;
    // The sheet's declared dimensions are never used to size anything: cells are streamed and
    // every position is checked against the limits before a row grows.
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut count = 0usize;
    while let Some(cell) = cells.next_cell().map_err(|e| unreadable("cannot read the first sheet", e))? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (row, column) = cell.get_position();
        let (row, column) = (row as usize, column as usize);
        if row >= limits.rows {
            return Err(over("the row count", limits.rows));
        }
        if column >= limits.columns {
            return Err(over("the column count", limits.columns));
        }
        count += 1;
        if count > limits.cells {
            return Err(over("the cell count", limits.cells));
        }
        if table.len() <= row {
            table.resize_with(row + 1, Vec::new);
        }
        if table[row].len() <= column {
            table[row].resize(column + 1, String::new());
        }
        table[row][column] = cell_text(&Data::from(cell.get_value().clone()));
    }
    Ok(table)
}

fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_serial_to_date(d.as_f64()).unwrap_or_default(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Excel's day number (1900 date system, serial 25569 = 1970-01-01) as YYYY-MM-DD.
pub fn excel_serial_to_date(serial: f64) -> Option<String> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let (y, m, d) = civil_from_days(serial.floor() as i64 - 25_569);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
