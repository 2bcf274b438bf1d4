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
//!
//! Modules: [`read`] (bytes to a table, within limits), [`rows`] (the table as rows),
//! [`apply`] (the rows as assets), [`mismatch`] (the list against the host).

pub mod apply;
pub mod mismatch;
pub mod read;
pub mod rows;

pub use apply::{Applied, apply, check_against};
pub use mismatch::mismatches;
pub use read::{ImportError, Limits};
pub use rows::{Preview, Row, normalize_date, parse, parse_within};

#[cfg(test)]
mod tests {
    use super::mismatch::{disk_count, parse_gib};
    use super::read::excel_serial_to_date;
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
