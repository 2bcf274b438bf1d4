//! The table as purchase-list rows: columns found by their many names, values normalised
//! (dates, sizes), errors per row.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::read::{ImportError, Limits, decode, over, read_csv, read_xlsx};

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
    ("owner_name", &["owner", "owner_name", "owner name", "administrator", "负责人"]),
    ("owner_email", &["owner_email", "owner email", "owner e-mail", "e-mail", "email"]),
    ("tags", &["tags", "tag", "labels"]),
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
    let mut mapping: Vec<Option<String>> = Vec::new();
    let mut ignored = Vec::new();
    for cell in &header {
        let key = cell.trim().to_lowercase();
        // A custom field's column: `cf_NAME` (checked against the defined fields on import).
        let custom = key.strip_prefix("cf_").filter(|n| !n.is_empty()).map(|_| key.clone());
        let column =
            COLUMNS.iter().find(|(_, names)| names.contains(&key.as_str())).map(|(c, _)| (*c).to_owned()).or(custom);
        if column.is_none() && !key.is_empty() {
            ignored.push(cell.trim().to_owned());
        }
        mapping.push(column);
    }
    if !mapping.iter().any(|c| c.as_deref() == Some("serial_number")) {
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
                    row.values.insert(column.clone(), v.to_owned());
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
