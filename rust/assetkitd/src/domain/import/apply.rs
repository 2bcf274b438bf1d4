//! Writing the valid rows as assets in stock, after the checks only the database can make.

use std::collections::BTreeSet;

use serde::Serialize;

use super::rows::Preview;
use crate::domain::error;
use crate::domain::inventory::{NameList, named_id};
use crate::store::{Db, DbExt};

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
