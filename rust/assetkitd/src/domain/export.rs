//! The asset list as a spreadsheet: CSV and xlsx, with the columns a purchase-list import reads
//! back (`serial_number`, `manufacturer`, `model`, `idc`, `rack`, `position`, `purchase_date`,
//! `warranty_end`, `owner_name`, `owner_email`, `tags`, and `cf_NAME` for each custom field), so
//! an export round-trips through `assetkitd import`.
//!
//! Formula injection: any text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return is written with a leading `'` (OWASP's advice for CSV injection), in both formats,
//! so a hostname or serial that arrived as `=HYPERLINK(...)` stays text in every spreadsheet
//! program. [`unneutralise`] undoes it on import, so the round trip keeps the text as it was.
//!
//! Both writers take rows one at a time and hold at most a row in memory: CSV bytes are taken
//! out as they are written; the xlsx sheet is written in rust_xlsxwriter's constant-memory mode,
//! which flushes each row to a temporary file.

use std::borrow::Cow;
use std::io::{Seek, Write};

use serde_json::Value;

/// How a column is written.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Number,
    /// A list of strings, space-separated.
    List,
    /// true/false as `yes`/`no`.
    Flag,
    /// The owner's name or e-mail (`owner_name`, `owner_email`).
    Owner,
    /// A list of strings, comma-separated (tags, as the import reads them).
    Commas,
    /// A custom field's value (`cf_NAME`).
    Custom,
}

/// The columns, in order: header and asset field.
const COLUMNS: &[(&str, Kind)] = &[
    ("id", Kind::Number),
    ("hostname", Kind::Text),
    ("serial_number", Kind::Text),
    ("status", Kind::Text),
    ("manufacturer", Kind::Text),
    ("model", Kind::Text),
    ("business_unit", Kind::Text),
    ("idc", Kind::Text),
    ("rack", Kind::Text),
    ("position", Kind::Text),
    ("virtual", Kind::Flag),
    ("os", Kind::Text),
    ("cpu_model", Kind::Text),
    ("cpu_cores", Kind::Number),
    ("memory_bytes", Kind::Number),
    ("ips", Kind::List),
    ("macs", Kind::List),
    ("uuid", Kind::Text),
    ("last_seen", Kind::Text),
    ("first_seen", Kind::Text),
    ("source", Kind::Text),
    ("purchase_date", Kind::Text),
    ("warranty_end", Kind::Text),
    ("owner_name", Kind::Owner),
    ("owner_email", Kind::Owner),
    ("tags", Kind::Commas),
];

/// The columns of an export: the fixed ones, then one `cf_NAME` per custom field.
fn columns(custom: &[String]) -> Vec<(String, Kind)> {
    COLUMNS
        .iter()
        .map(|(n, k)| ((*n).to_owned(), *k))
        .chain(custom.iter().map(|n| (format!("cf_{n}"), Kind::Custom)))
        .collect()
}

/// Rows an xlsx sheet holds, header included (Excel's limit).
pub const XLSX_MAX_ROWS: u32 = 1_048_576;
/// Characters an xlsx cell holds (Excel's limit); longer text is cut, ending in `…`.
pub const XLSX_MAX_CELL_CHARS: usize = 32_767;

/// `text` as a spreadsheet must see it: with a leading `'` when it would start a formula.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Undoes [`neutralise`] on a cell read back from a file.
pub fn unneutralise(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => text,
    }
}

/// One cell of an asset.
enum Cell {
    Empty,
    Text(String),
    Number(f64),
}

fn cell(asset: &Value, name: &str, kind: Kind) -> Cell {
    let value = match kind {
        Kind::Owner => &asset["owner"][name.trim_start_matches("owner_")],
        Kind::Custom => &asset["fields"][name.trim_start_matches("cf_")],
        _ => &asset[name],
    };
    match (kind, value) {
        (_, Value::Null) => Cell::Empty,
        (Kind::Number, Value::Number(n)) => n.as_f64().map_or(Cell::Empty, Cell::Number),
        (Kind::Flag, Value::Bool(b)) => Cell::Text(if *b { "yes" } else { "no" }.to_owned()),
        (Kind::List | Kind::Commas, Value::Array(items)) if items.is_empty() => Cell::Empty,
        (Kind::Commas, Value::Array(items)) => {
            Cell::Text(neutralise(&items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).into_owned())
        }
        (Kind::List, Value::Array(items)) => {
            Cell::Text(neutralise(&items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")).into_owned())
        }
        (_, Value::String(s)) if s.is_empty() => Cell::Empty,
        (_, Value::String(s)) => Cell::Text(neutralise(s).into_owned()),
        (_, other) => Cell::Text(neutralise(&other.to_string()).into_owned()),
    }
}

/// CSV rows, taken out as bytes as they are written.
pub struct CsvRows {
    writer: csv::Writer<Vec<u8>>,
    columns: Vec<(String, Kind)>,
}

impl CsvRows {
    /// A writer whose first bytes are a UTF-8 BOM (so Excel reads UTF-8) and the header, with a
    /// `cf_NAME` column for each of the `custom` fields.
    pub fn new(custom: &[String]) -> CsvRows {
        let columns = columns(custom);
        let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        writer.write_record(columns.iter().map(|(name, _)| name.as_str())).expect("writing to memory");
        CsvRows { writer, columns }
    }

    /// Appends one asset.
    pub fn push(&mut self, asset: &Value) {
        let record = self.columns.iter().map(|(name, kind)| match cell(asset, name, *kind) {
            Cell::Empty => String::new(),
            Cell::Text(s) => s,
            Cell::Number(n) => format!("{n}"),
        });
        self.writer.write_record(record).expect("writing to memory");
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        let writer = std::mem::replace(&mut self.writer, csv::Writer::from_writer(Vec::new()));
        writer.into_inner().expect("writing to memory")
    }
}

/// An xlsx sheet written row by row in constant memory.
pub struct XlsxSheet {
    workbook: rust_xlsxwriter::Workbook,
    row: u32,
    columns: Vec<(String, Kind)>,
}

/// Why an xlsx export stopped.
#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    /// More assets than a sheet has rows.
    #[error("more than {} assets: an xlsx sheet holds {XLSX_MAX_ROWS} rows; narrow the filter or export CSV", XLSX_MAX_ROWS - 1)]
    TooManyRows,
    /// The writer failed (the temporary file, most likely: a full disk).
    #[error("writing the xlsx file: {0}")]
    Write(#[from] rust_xlsxwriter::XlsxError),
}

impl XlsxSheet {
    /// A workbook with one "Assets" sheet and its header row (bold, frozen).
    pub fn new(custom: &[String]) -> Result<XlsxSheet, XlsxError> {
        let columns = columns(custom);
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("Assets")?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (col, (name, _)) in columns.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, name, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(XlsxSheet { workbook, row: 0, columns })
    }

    /// Appends one asset.
    pub fn push(&mut self, asset: &Value) -> Result<(), XlsxError> {
        if self.row + 1 >= XLSX_MAX_ROWS {
            return Err(XlsxError::TooManyRows);
        }
        self.row += 1;
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (col, (name, kind)) in self.columns.iter().enumerate() {
            // A string cell is text to Excel whatever it holds; the `'` is there for whoever
            // saves the sheet as CSV and opens that.
            match cell(asset, name, *kind) {
                Cell::Empty => {}
                Cell::Text(s) => {
                    sheet.write_string(self.row, col as u16, fit_cell(s))?;
                }
                Cell::Number(n) => {
                    sheet.write_number(self.row, col as u16, n)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the finished workbook to `out`.
    pub fn finish<W: Write + Seek + Send>(mut self, out: W) -> Result<(), XlsxError> {
        self.workbook.save_to_writer(out)?;
        Ok(())
    }
}

/// `text` within an xlsx cell's limit (a host with hundreds of addresses exceeds it).
fn fit_cell(text: String) -> String {
    match text.char_indices().nth(XLSX_MAX_CELL_CHARS - 1) {
        Some((cut, _)) if text.chars().count() > XLSX_MAX_CELL_CHARS => format!("{}…", &text[..cut]),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_neutralised_and_read_back() {
        for text in ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            let out = neutralise(text);
            assert_eq!(out, format!("'{text}"));
            assert_eq!(unneutralise(&out), text);
        }
        for text in ["web-01", "'quoted", "", "10.0.0.1"] {
            assert_eq!(neutralise(text), text);
            assert_eq!(unneutralise(text), text);
        }
    }

    #[test]
    fn a_cell_longer_than_excel_allows_is_cut_not_fatal() {
        let ips: Vec<String> = (0..3000).map(|i| format!("10.0.{}.{}", i / 250, i % 250)).collect();
        let asset = serde_json::json!({"id": 1, "hostname": "many-addresses", "ips": ips});
        let mut sheet = XlsxSheet::new(&[]).unwrap();
        sheet.push(&asset).expect("a long cell is cut, not an error");
        let mut out = std::io::Cursor::new(Vec::new());
        sheet.finish(&mut out).unwrap();
        assert_eq!(fit_cell("x".repeat(XLSX_MAX_CELL_CHARS)).chars().count(), XLSX_MAX_CELL_CHARS);
        let cut = fit_cell("é".repeat(XLSX_MAX_CELL_CHARS + 5));
        assert_eq!(cut.chars().count(), XLSX_MAX_CELL_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn csv_has_bom_header_and_neutralised_cells() {
        let mut rows = CsvRows::new(&["cost_centre".to_owned()]);
        rows.push(&serde_json::json!({"id": 7, "hostname": "=cmd|' /C calc'!A0", "ips": ["10.0.0.1", "10.0.0.2"],
                                      "virtual": true, "purchase_date": "2024-01-02", "tags": ["web", "prod"],
                                      "owner": {"name": "Ops", "email": "ops@example.com"}, "fields": {"cost_centre": 4711}}));
        let text = String::from_utf8(rows.take()).unwrap();
        let text = text.strip_prefix('\u{feff}').expect("BOM");
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("id,hostname,serial_number,"));
        let row = lines.next().unwrap();
        assert!(row.starts_with("7,'=cmd|' /C calc'!A0,,"), "{row}");
        assert!(row.contains(",10.0.0.1 10.0.0.2,"), "{row}");
        assert!(row.contains(",yes,"), "{row}");
        assert!(row.contains(",2024-01-02,"), "{row}");
        assert!(row.ends_with(",Ops,ops@example.com,\"web, prod\",4711"), "{row}");
        assert!(rows.take().is_empty(), "take() drains");
    }
}
