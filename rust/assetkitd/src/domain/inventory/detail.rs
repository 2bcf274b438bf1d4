//! One asset with its components, plugin errors and last report; hosts entered by hand that
//! have not reported today.

use serde_json::{Value, json};

use super::row::{ASSET_COLUMNS, asset_json, group_components};
use crate::domain::error::Result;
use crate::store::{Db, DbExt, rfc3339};

/// One asset with its components, plugin errors, last changing report and change count.
pub fn asset_detail(db: &mut dyn Db, id: i64, offline_cutoff: i64) -> Result<Option<Value>> {
    let from = "FROM assets a LEFT JOIN business_units bu ON bu.id = a.business_unit_id LEFT JOIN idcs idc ON idc.id = a.idc_id";
    let Some(row) = db.query_opt(&format!("SELECT {ASSET_COLUMNS} {from} WHERE a.id = ?1"), crate::args![id])? else {
        return Ok(None);
    };
    let mut asset = asset_json(&row, offline_cutoff)?;
    super::ownership::with_extras(db, std::slice::from_mut(&mut asset), false)?;
    let rows =
        db.query("SELECT kind, key, data FROM components WHERE asset_id = ?1 ORDER BY kind, key", crate::args![id])?;
    let components =
        group_components(rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).collect::<Result<_>>()?);
    let errors: Vec<Value> = db
        .query("SELECT plugin, message, at FROM plugin_errors WHERE asset_id = ?1 ORDER BY plugin", crate::args![id])?
        .iter()
        .map(|r| Ok(json!({"plugin": r.get::<String>(0)?, "message": r.get::<String>(1)?, "at": rfc3339(r.get(2)?)})))
        .collect::<Result<_>>()?;
    let row = db.query_one(
        "SELECT (SELECT report FROM asset_reports WHERE asset_id = ?1), (SELECT COUNT(*) FROM changes WHERE asset_id = ?1)",
        crate::args![id],
    )?;
    let (last_report, changes): (Option<String>, i64) = (row.get(0)?, row.get(1)?);
    let m = asset.as_object_mut().expect("asset_json builds an object");
    m.insert("components".into(), components);
    m.insert("errors".into(), Value::Array(errors));
    m.insert("change_count".into(), json!(changes));
    let hypervisor = m.get("hypervisor_id").and_then(Value::as_i64);
    m.insert(
        "hypervisor".into(),
        match hypervisor {
            Some(h) => json!({"id": h, "hostname": db.scalar_opt::<Option<String>>("SELECT hostname FROM assets WHERE id = ?1", crate::args![h])?.flatten()}),
            None => Value::Null,
        },
    );
    m.insert("guests".into(), Value::Array(crate::domain::guests::of_hypervisor(db, id)?));
    m.insert("last_report".into(), last_report.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or(Value::Null));
    Ok(Some(asset))
}

/// True when asset `id` exists.
pub fn asset_exists(db: &mut dyn Db, id: i64) -> Result<bool> {
    Ok(db.scalar("SELECT EXISTS (SELECT 1 FROM assets WHERE id = ?1)", crate::args![id])?)
}

/// Hosts entered by hand whose claim by a fleet-key report waits for an admin's approval (the
/// Discovered page's queue), newest request first; at most 200.
pub fn claims_waiting(db: &mut dyn Db) -> Result<Vec<Value>> {
    db.query(
        "SELECT id, hostname, claim_request FROM assets WHERE claim = 'approval' AND claim_request IS NOT NULL \
         AND status <> 'retired' ORDER BY updated_at DESC, id DESC LIMIT 200",
        &[],
    )?
    .iter()
    .map(|r| {
        let request: Option<String> = r.get(2)?;
        Ok(json!({
            "id": r.get::<i64>(0)?,
            "hostname": r.get::<Option<String>>(1)?,
            "claim_request": request.and_then(|q| serde_json::from_str::<Value>(&q).ok()),
        }))
    })
    .collect()
}

/// Hostnames an admin entered that have not reported since `day_start` (unix time).
pub fn pending_hosts(db: &mut dyn Db, day_start: i64) -> Result<Vec<String>> {
    Ok(db.column(
        "SELECT hostname FROM assets WHERE source = 'manual' AND status <> 'retired' AND hostname IS NOT NULL \
         AND (last_seen IS NULL OR last_seen < ?1) ORDER BY hostname",
        crate::args![day_start],
    )?)
}
