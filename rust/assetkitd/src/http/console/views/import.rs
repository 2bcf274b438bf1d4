//! The purchase-list import page and its preview.

use maud::{Markup, html};

use super::layout::{flash, layout};
use crate::domain::import::Preview;
use crate::domain::users::Session;

/// Purchase-list import: upload, preview with row errors, apply.
pub fn import(user: &Session, preview: Option<&Preview>, token: Option<&str>, msg: Option<&str>) -> Markup {
    layout(
        "Import",
        Some(user),
        "/import",
        html! {
            h1 { "Purchase-list import" }
            p.muted { "Columns: SN, Vendor, Model, CPU, Memory, Disks, IDC, Rack, Position, Purchase date, Warranty end. Rows become assets in stock; the first report with a matching serial links to them." }
            (flash(msg))
            form method="post" action="/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(user.csrf);
                div.filters {
                    label for="file" { "File (.xlsx or .csv)" input #file type="file" name="file" accept=".xlsx,.csv,text/csv" required; }
                    label for="encoding" { "CSV encoding"
                        select #encoding name="encoding" {
                            @for (v, l) in [("auto", "UTF-8 (auto)"), ("gbk", "GBK"), ("gb18030", "GB18030"), ("windows-1252", "Windows-1252"), ("shift_jis", "Shift-JIS")] { option value=(v) { (l) } }
                        }
                    }
                    button type="submit" { "Preview" }
                }
            }
            @if let Some(p) = preview {
                h2 { "Preview of " (p.file) }
                p #import-summary { (p.valid().count()) " row(s) will be imported, " (p.invalid()) " row(s) have errors" @if p.empty_rows > 0 { ", " (p.empty_rows) " empty row(s) skipped" } "." }
                @if !p.ignored_columns.is_empty() { p.muted { "Ignored columns: " (p.ignored_columns.join(", ")) } }
                table #preview {
                    thead { tr { @for h in ["Line", "SN", "Vendor", "Model", "IDC", "Rack", "Position", "Purchased", "Warranty end", "Result"] { th scope="col" { (h) } } } }
                    tbody { @for r in &p.rows {
                        tr {
                            td { (r.line) } td.mono { (r.get("serial_number").unwrap_or("—")) } td { (r.get("vendor").unwrap_or("—")) } td { (r.get("model").unwrap_or("—")) }
                            td { (r.get("idc").unwrap_or("—")) } td { (r.get("rack").unwrap_or("—")) } td { (r.get("position").unwrap_or("—")) }
                            td { (r.get("purchase_date").unwrap_or("—")) } td { (r.get("warranty_end").unwrap_or("—")) }
                            td { @if r.errors.is_empty() { span.row-ok { "ok" } } @else { span.row-error { (r.errors.join("; ")) } } }
                        }
                    } }
                }
                @if let Some(token) = token {
                    form method="post" action="/import/apply" {
                        input type="hidden" name="csrf" value=(user.csrf);
                        input type="hidden" name="token" value=(token);
                        p { button type="submit" disabled[p.valid().count() == 0] { "Import " (p.valid().count()) " row(s)" } " " span.muted { "In one transaction: all of them or none." } }
                    }
                    form method="post" action="/import/cancel" {
                        input type="hidden" name="csrf" value=(user.csrf);
                        input type="hidden" name="token" value=(token);
                        p { button.secondary #import-cancel type="submit" { "Discard this preview" } }
                    }
                }
            }
        },
    )
}
