//! Writing the valid rows as assets in stock, after the checks only the database can make.

use std::collections::BTreeSet;

use serde::Serialize;

use super::rows::Preview;
use crate::domain::error;
use crate::domain::inventory::{NameList, named_id};
use crate::store::{Db, DbExt};

/// Adds the errors only the database can tell: a serial number already in the inventory, a
/// custom field that does not exist or a value not of its type.
pub fn check_against(db: &mut dyn Db, preview: &mut Preview) -> error::Result<()> {
    let defined: std::collections::BTreeMap<String, crate::domain::fields::Field> =
        crate::domain::fields::list(db)?.into_iter().map(|f| (f.name.clone(), f)).collect();
    for row in &mut preview.rows {
        for (column, value) in &row.values {
            let Some(name) = column.strip_prefix("cf_") else { continue };
            match defined.get(name) {
                None => row.errors.push(format!(
                    "column {column}: there is no custom field {name} (define it with: assetkitd fields add {name})"
                )),
                Some(f) => {
                    if let Err(e) = f.normalise(value) {
                        row.errors.push(format!("column {column}: {e}"));
                    }
                }
            }
        }
        if let Some(e) = row.values.get("tags").and_then(|t| {
            t.split(',')
                .filter(|t| !t.trim().is_empty())
                .find_map(|t| crate::domain::inventory::ownership::valid_tag(t).err())
        }) {
            row.errors.push(e.to_string());
        }
        if let Some(Err(e)) = row.values.get("owner_email").map(|e| crate::domain::inventory::ownership::email(e)) {
            row.errors.push(e.to_string());
        }
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

/// A row's owner, tags and custom field values.
fn ownership_of(row: &super::rows::Row) -> crate::domain::inventory::ownership::Ownership {
    let custom: std::collections::BTreeMap<String, Option<String>> =
        row.values.iter().filter_map(|(k, v)| Some((k.strip_prefix("cf_")?.to_owned(), Some(v.clone())))).collect();
    crate::domain::inventory::ownership::Ownership {
        owner_name: row.get("owner_name").map(str::to_owned),
        owner_email: row.get("owner_email").map(str::to_owned),
        tags: row
            .get("tags")
            .map(|t| t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()),
        fields: (!custom.is_empty()).then_some(custom),
        ..Default::default()
    }
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
            "INSERT INTO assets (serial_number, status, manufacturer, model, idc_id, rack, position, source, purchase, \
             purchase_date, warranty_end, created_at, updated_at) \
             VALUES (?1, 'in_stock', ?2, ?3, ?4, ?5, ?6, 'import', ?7, ?8, ?9, ?10, ?10) RETURNING id",
            crate::args![
                sn,
                row.get("vendor"),
                row.get("model"),
                idc,
                row.get("rack"),
                row.get("position"),
                purchase.to_string(),
                row.get("purchase_date"),
                row.get("warranty_end"),
                now
            ],
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
        let owned = ownership_of(row);
        if !owned.is_empty() {
            let events = crate::domain::inventory::ownership::apply(db, id, &owned, actor)?;
            crate::domain::changelog::record_all(db, id, None, now, Some(actor), &events)?;
        }
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
