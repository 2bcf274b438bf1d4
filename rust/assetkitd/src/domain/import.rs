//! Purchase-list import: an xlsx or csv of the machines bought, before they are racked.
//!
//! [`parse`] turns the file into rows with per-row errors (no I/O, no database);
//! [`check_against`] adds the errors only the database can tell (a serial already there);
//! [`apply`] writes the valid rows as `in_stock` assets in the caller's transaction. The first
//! report with a matching serial links to the asset and moves it `online`; differences between
//! the row and the host are flagged on the asset ([`mismatches`]).
//!
//! Files are hostile until read: every bound in [`Limits`] (file size, unzipped bytes, rows,
//! columns, cells, shared strings) is checked before the memory it guards is spent. An xlsx is
//! checked from its zip central directory first (the zip reader refuses to inflate past a
//! declared size), then its first sheet is streamed cell by cell; nothing is ever sized from the
//! sheet's declared dimensions.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

use crate::domain::error;
use crate::domain::inventory::{NameList, named_id};
use crate::store::{Db, DbExt};

/// The columns, with the header spellings each accepts (case-insensitive).
const COLUMNS: &[(&str, &[&str])] = &[
    ("serial_number", &["sn", "serial", "serial number", "serial_number", "serial no", "s/n", "序列号"]),
    ("vendor", &["vendor", "manufacturer", "make", "brand", "厂商", "品牌"]),
    ("model", &["model", "product", "型号"]),
    ("cpu", &["cpu", "processor", "处理器"]),
    ("memory", &["memory", "mem", "ram", "内存"]),
    ("disks", &["disks", "disk", "storage", "硬盘"]),
    ("idc", &["idc", "datacenter", "data center", "dc", "机房"]),
    ("rack", &["rack", "cabinet", "机柜"]),
    ("position", &["position", "pos", "u", "unit", "slot", "位置"]),
    ("purchase_date", &["purchase date", "purchase_date", "purchased", "bought", "采购日期"]),
    ("warranty_end", &["warranty end", "warranty_end", "warranty", "warranty until", "保修到期"]),
];

/// One data row, by column name, with its line in the file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// 1-based line (csv) or row (xlsx) in the file.
    pub line: usize,
    /// Values by column name (`serial_number`, `vendor`, ...); empty cells are absent.
    pub values: BTreeMap<String, String>,
    /// What is wrong with the row; a row with errors is not imported.
    pub errors: Vec<String>,
}

impl Row {
    /// A column's value.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.values.get(column).map(String::as_str)
    }
}

/// A parsed file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Preview {
    /// File name as uploaded.
    pub file: String,
    /// Header cells, as written.
    pub header: Vec<String>,
    /// Data rows.
    pub rows: Vec<Row>,
    /// Rows with no value at all (skipped).
    pub empty_rows: usize,
    /// Columns that matched nothing (ignored).
    pub ignored_columns: Vec<String>,
}

impl Preview {
    /// Rows that will be imported.
    pub fn valid(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.errors.is_empty())
    }
    /// Rows that will not.
    pub fn invalid(&self) -> usize {
        self.rows.iter().filter(|r| !r.errors.is_empty()).count()
    }
}

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

fn over(what: &str, limit: impl std::fmt::Display) -> ImportError {
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

/// Parses an xlsx (detected by content) or a csv in `encoding` (a WHATWG label such as `gbk`,
/// `windows-1252`; default: UTF-8, with or without BOM, or UTF-16 with a BOM), within the
/// default [`Limits`].
pub fn parse(file: &str, bytes: &[u8], encoding: Option<&str>) -> Result<Preview, ImportError> {
    parse_within(file, bytes, encoding, Limits::default())
}

/// [`parse`] within explicit limits.
pub fn parse_within(file: &str, bytes: &[u8], encoding: Option<&str>, limits: Limits) -> Result<Preview, ImportError> {
    if bytes.len() as u64 > limits.file_bytes {
        return Err(over("the file size", format!("{} bytes", limits.file_bytes)));
    }
    let table = if bytes.starts_with(b"PK\x03\x04") {
        // Crafted cell references overflow calamine's u32 arithmetic (a panic in debug builds).
        std::panic::catch_unwind(|| read_xlsx(bytes, limits))
            .unwrap_or_else(|_| Err(ImportError::Format("not a readable xlsx file: malformed cell reference".into())))?
    } else {
        read_csv(&decode(bytes, encoding)?, limits)?
    };
    let mut rows = table.into_iter().enumerate();
    let Some((_, header)) = rows.by_ref().find(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty())) else {
        return Err(ImportError::Format(format!("{file} is empty")));
    };
    let mut mapping: Vec<Option<&'static str>> = Vec::new();
    let mut ignored = Vec::new();
    for cell in &header {
        let key = cell.trim().to_lowercase();
        let column = COLUMNS.iter().find(|(_, names)| names.contains(&key.as_str())).map(|(c, _)| *c);
        if column.is_none() && !key.is_empty() {
            ignored.push(cell.trim().to_owned());
        }
        mapping.push(column);
    }
    if !mapping.contains(&Some("serial_number")) {
        return Err(ImportError::NoSerialColumn(format!(
            "no serial number column in the header ({}); name one of: SN, Serial, Serial Number",
            header.iter().map(|h| h.trim()).filter(|h| !h.is_empty()).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut preview = Preview { file: file.to_owned(), header, ignored_columns: ignored, ..Preview::default() };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (index, cells) in rows {
        let mut row = Row { line: index + 1, ..Row::default() };
        for (column, cell) in mapping.iter().zip(&cells) {
            if let Some(column) = column {
                // An export's neutralised cell (`'=...`) reads back as the text it was.
                let v = crate::domain::export::unneutralise(cell.trim());
                if !v.is_empty() {
                    row.values.insert((*column).to_owned(), v.to_owned());
                }
            }
        }
        if row.values.is_empty() {
            preview.empty_rows += 1;
            continue;
        }
        match row.get("serial_number") {
            None => row.errors.push("no serial number".into()),
            Some(sn) if assetkit_core::placeholder::is_placeholder(sn) => {
                row.errors.push(format!("serial number {sn:?} is a placeholder, not a serial"))
            }
            Some(sn) => {
                if let Some(first) = seen.get(&sn.to_ascii_uppercase()) {
                    row.errors.push(format!("serial number {sn} also on line {first}"));
                } else {
                    seen.insert(sn.to_ascii_uppercase(), row.line);
                }
            }
        }
        for column in ["purchase_date", "warranty_end"] {
            if let Some(v) = row.get(column).map(str::to_owned) {
                match normalize_date(&v) {
                    Some(d) => {
                        row.values.insert(column.to_owned(), d);
                    }
                    None => row.errors.push(format!("{} {v:?} is not a date (YYYY-MM-DD)", column.replace('_', " "))),
                }
            }
        }
        if let (Some(p), Some(w)) = (row.get("purchase_date"), row.get("warranty_end"))
            && row.errors.is_empty()
            && w < p
        {
            row.errors.push(format!("warranty end {w} is before the purchase date {p}"));
        }
        preview.rows.push(row);
    }
    Ok(preview)
}

fn decode(bytes: &[u8], encoding: Option<&str>) -> Result<String, ImportError> {
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

fn read_csv(text: &str, limits: Limits) -> Result<Vec<Vec<String>>, ImportError> {
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
fn check_archive(bytes: &[u8], limits: Limits) -> Result<(), ImportError> {
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

fn read_xlsx(bytes: &[u8], limits: Limits) -> Result<Vec<Vec<String>>, ImportError> {
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
fn excel_serial_to_date(serial: f64) -> Option<String> {
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

/// "2024-03-15", "2024/3/15", "2024.03.15" -> "2024-03-15"; `None` if it is not a real date.
pub fn normalize_date(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.trim().split(['-', '/', '.']).collect();
    let [y, m, d] = parts.as_slice() else { return None };
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1970..=2200).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
    (1..=days).contains(&d).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// Adds the errors only the database can tell: a serial number already in the inventory.
pub fn check_against(db: &mut dyn Db, preview: &mut Preview) -> error::Result<()> {
    for row in &mut preview.rows {
        let Some(sn) = row.values.get("serial_number").cloned() else { continue };
        let found = db.query_opt(
            "SELECT id, COALESCE(hostname, '(no hostname)') FROM assets WHERE serial_number = ?1 AND status <> 'retired' LIMIT 1",
            crate::args![sn.as_str()],
        )?;
        if let Some(r) = found {
            let (id, host): (i64, String) = (r.get(0)?, r.get(1)?);
            row.errors.push(format!("serial number {sn} is already in the inventory (asset {id}, {host})"));
        }
    }
    Ok(())
}

/// What an import wrote.
#[derive(Debug, Serialize)]
pub struct Applied {
    /// Assets created.
    pub created: usize,
    /// Rows skipped for errors.
    pub skipped: usize,
    /// Their ids.
    pub asset_ids: Vec<i64>,
}

/// Writes the valid rows as `in_stock` assets, in the caller's transaction (all or nothing).
pub fn apply(db: &mut dyn Db, preview: &Preview, actor: &str, now: i64) -> error::Result<Applied> {
    let mut ids = Vec::new();
    let mut seen = BTreeSet::new();
    for row in preview.valid() {
        let sn = row.get("serial_number").expect("valid rows have a serial number");
        if !seen.insert(sn.to_ascii_uppercase()) {
            continue;
        }
        let purchase = serde_json::json!({
            "vendor": row.get("vendor"), "model": row.get("model"), "cpu": row.get("cpu"), "memory": row.get("memory"),
            "disks": row.get("disks"), "purchase_date": row.get("purchase_date"), "warranty_end": row.get("warranty_end"),
            "file": preview.file, "line": row.line,
        });
        let idc = named_id(db, NameList::Idcs, row.get("idc"))?;
        let id: i64 = db.scalar(
            "INSERT INTO assets (serial_number, status, manufacturer, model, idc_id, rack, position, source, purchase, created_at, updated_at) \
             VALUES (?1, 'in_stock', ?2, ?3, ?4, ?5, ?6, 'import', ?7, ?8, ?8) RETURNING id",
            crate::args![sn, row.get("vendor"), row.get("model"), idc, row.get("rack"), row.get("position"), purchase.to_string(), now],
        )?;
        crate::domain::changelog::record(
            db,
            id,
            None,
            now,
            Some(actor),
            &crate::domain::components::Event::whole(
                "asset",
                "added",
                None,
                None,
                Some(sn),
                format!("in stock: imported from {} line {} by {actor}", preview.file, row.line),
            ),
        )?;
        ids.push(id);
    }
    crate::domain::audit::record(
        db,
        actor,
        "import",
        &preview.file,
        &format!("{} assets created, {} rows skipped", ids.len(), preview.invalid()),
        now,
    )?;
    Ok(Applied { created: ids.len(), skipped: preview.invalid(), asset_ids: ids })
}

/// Differences between a purchase row and what the host reports, one line each.
pub fn mismatches(purchase: &serde_json::Value, report: &assetkit_core::Report) -> Vec<String> {
    let facts = &report.facts;
    let norm = |s: &str| {
        s.to_ascii_lowercase().replace("(r)", "").replace("(tm)", "").split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let loosely_equal = |a: &str, b: &str| {
        let (a, b) = (norm(a), norm(b));
        let first = |s: &str| s.split([' ', ',']).next().unwrap_or("").to_owned();
        a.contains(&b) || b.contains(&a) || first(&a) == first(&b)
    };
    let mut out = Vec::new();
    let text = |k: &str| purchase.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    if let (Some(want), Some(got)) = (text("vendor"), facts.system.as_ref().and_then(|s| s.manufacturer.as_deref()))
        && !loosely_equal(want, got)
    {
        out.push(format!("vendor: purchase list says {want}, host reports {got}"));
    }
    if let (Some(want), Some(got)) = (text("model"), facts.system.as_ref().and_then(|s| s.product_name.as_deref()))
        && !norm(got).contains(&norm(want))
        && !norm(want).contains(&norm(got))
    {
        out.push(format!("model: purchase list says {want}, host reports {got}"));
    }
    if let (Some(want), Some(got)) = (text("cpu"), facts.cpu.as_ref().and_then(|c| c.model.as_deref()))
        && !norm(got).contains(&norm(want))
    {
        out.push(format!("cpu: purchase list says {want}, host reports {got}"));
    }
    if let (Some(want), Some(got)) =
        (text("memory").and_then(parse_gib), facts.memory.as_ref().and_then(|m| m.total_bytes))
    {
        let got_gib = got as f64 / (1u64 << 30) as f64;
        if (got_gib - want).abs() > want * 0.05 + 1.0 {
            out.push(format!("memory: purchase list says {want} GiB, host reports {got_gib:.0} GiB"));
        }
    }
    if let (Some(want), Some(disks)) = (text("disks").and_then(disk_count), facts.disks.as_ref()) {
        let physical = disks.iter().filter(|d| d.source == "megacli").count();
        let got = if physical > 0 { physical } else { disks.len() };
        if got != want {
            out.push(format!("disks: purchase list says {want}, host reports {got}"));
        }
    }
    out
}

/// "256GB", "256 GiB", "262144MB", "256" -> GiB.
fn parse_gib(s: &str) -> Option<f64> {
    let s = s.trim().to_ascii_lowercase();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let n: f64 = digits.parse().ok()?;
    let unit = s[digits.len()..].trim();
    Some(match unit {
        "" | "g" | "gb" | "gib" => n,
        "t" | "tb" | "tib" => n * 1024.0,
        "m" | "mb" | "mib" => n / 1024.0,
        _ => return None,
    })
}

/// "6x2TB", "6 x 1.2TB SAS", "4*960G" -> 6, 6, 4.
fn disk_count(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_lowercase();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = s[digits.len()..].trim_start();
    (rest.starts_with('x') || rest.starts_with('*') || rest.starts_with('×')).then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(normalize_date("2024/3/5").as_deref(), Some("2024-03-05"));
        assert_eq!(normalize_date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(normalize_date("2023-02-29"), None);
        assert_eq!(normalize_date("2024-13-01"), None);
        assert_eq!(normalize_date("soon"), None);
        assert_eq!(excel_serial_to_date(45_366.0).as_deref(), Some("2024-03-15"));
    }

    #[test]
    fn csv_rows_and_their_errors() {
        let csv = "SN,Vendor,Model,Memory,IDC,Rack,Position,Purchase Date,Warranty End,Notes\n\
                   ABC1,Dell,R640,256GB,dc1,R01,U10,2024-03-15,2027-03-15,x\n\
                   ,,,,,,,,,\n\
                   ABC1,Dell,R640,256GB,dc1,R01,U11,2024-03-15,2027-03-15,\n\
                   ABC3,Dell,R640,256GB,dc1,R01,U12,2024-02-30,,\n\
                   ,Dell,R640,,,,,,,\n";
        let p = parse("buy.csv", csv.as_bytes(), None).unwrap();
        assert_eq!(p.rows.len(), 4);
        assert_eq!(p.empty_rows, 1);
        assert_eq!(p.ignored_columns, ["Notes"]);
        assert!(p.rows[0].errors.is_empty());
        assert!(p.rows[1].errors[0].contains("also on line 2"));
        assert!(p.rows[2].errors[0].contains("\"2024-02-30\" is not a date"));
        assert_eq!(p.rows[3].errors, ["no serial number"]);
    }

    #[test]
    fn encodings() {
        let gbk = encoding_rs::GBK.encode("序列号,机房\nSN-1,北京\n").0.into_owned();
        let err = parse("gbk.csv", &gbk, None).unwrap_err().to_string();
        assert!(err.contains("not UTF-8") && err.contains("gbk"), "{err}");
        let p = parse("gbk.csv", &gbk, Some("gbk")).unwrap();
        assert_eq!(p.rows[0].get("idc"), Some("北京"));
        let bom = [b"\xEF\xBB\xBF".as_slice(), b"sn\nX1\n"].concat();
        assert_eq!(parse("bom.csv", &bom, None).unwrap().rows[0].get("serial_number"), Some("X1"));
        assert!(matches!(parse("x.csv", b"host,ip\na,b\n", None), Err(ImportError::NoSerialColumn(_))));
    }

    #[test]
    fn purchase_mismatches() {
        assert_eq!(parse_gib("256GB"), Some(256.0));
        assert_eq!(parse_gib("262144 MB"), Some(256.0));
        assert_eq!(disk_count("6x2TB"), Some(6));
        assert_eq!(disk_count("2TB"), None);
    }
}
