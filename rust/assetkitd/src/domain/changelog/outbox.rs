//! The outbox rows of an alert: one per endpoint whose filters select it, written in the
//! transaction that records the event, so an alert is never lost and never sent without its
//! event. Each alert gets an id (`X-Assetkit-Event-Id`), the same on every retry and for every
//! endpoint.

use serde_json::{Value, json};

use super::Event;
use super::alerts::{Alert, alerts, selects};
use crate::domain::error::Result;
use crate::store::{Db, DbExt, Row};

struct Filter {
    id: i64,
    events: String,
    business_unit: Option<String>,
    idc: Option<String>,
    status: Option<String>,
}

/// Puts the alerts among a report's recorded events into the outbox, one row per endpoint
/// whose filters select it, in the caller's transaction; how many rows. Events that are no alert
/// cost nothing; alerts without endpoints, one small read.
pub fn enqueue(
    db: &mut dyn Db,
    asset_id: i64,
    at: i64,
    report_id: Option<&str>,
    events: &[Event],
    ids: &[i64],
) -> Result<usize> {
    let alerts = alerts(events, ids, report_id);
    if alerts.is_empty() {
        return Ok(0);
    }
    let filters: Vec<Filter> = db
        .query("SELECT id, events, business_unit, idc, status FROM webhooks ORDER BY id", &[])?
        .iter()
        .map(|r| {
            Ok(Filter { id: r.get(0)?, events: r.get(1)?, business_unit: r.get(2)?, idc: r.get(3)?, status: r.get(4)? })
        })
        .collect::<Result<_>>()?;
    if filters.is_empty() {
        return Ok(0);
    }
    let Some(asset) = db.query_opt(
        "SELECT a.hostname, a.serial_number, a.status, bu.name, idc.name FROM assets a \
         LEFT JOIN business_units bu ON bu.id = a.business_unit_id LEFT JOIN idcs idc ON idc.id = a.idc_id WHERE a.id = ?1",
        crate::args![asset_id],
    )?
    else {
        return Ok(0);
    };
    let asset = AssetFacts::of(&asset, asset_id)?;
    let mut queued = 0;
    for alert in &alerts {
        let chosen: Vec<i64> = filters
            .iter()
            .filter(|f| {
                selects(&f.events, &alert.event_type)
                    && f.business_unit.as_ref().is_none_or(|b| asset.business_unit.as_ref() == Some(b))
                    && f.idc.as_ref().is_none_or(|i| asset.idc.as_ref() == Some(i))
                    && f.status.as_ref().is_none_or(|s| *s == asset.status)
            })
            .map(|f| f.id)
            .collect();
        if chosen.is_empty() {
            continue;
        }
        let event_id = uuid::Uuid::new_v4().to_string();
        let payload = payload(&event_id, alert, &asset, at, report_id).to_string();
        for webhook_id in chosen {
            db.execute(
                "INSERT INTO outbox (webhook_id, asset_id, event_id, event, payload, created_at, next_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                crate::args![
                    webhook_id,
                    asset_id,
                    event_id.as_str(),
                    alert.event_type.as_str(),
                    payload.as_str(),
                    at,
                    at * 1000
                ],
            )?;
            queued += 1;
        }
    }
    Ok(queued)
}

struct AssetFacts {
    id: i64,
    hostname: Option<String>,
    serial_number: Option<String>,
    status: String,
    business_unit: Option<String>,
    idc: Option<String>,
}

impl AssetFacts {
    fn of(r: &Row, id: i64) -> Result<AssetFacts> {
        Ok(AssetFacts {
            id,
            hostname: r.get(0)?,
            serial_number: r.get(1)?,
            status: r.get(2)?,
            business_unit: r.get(3)?,
            idc: r.get(4)?,
        })
    }
}

/// The plain JSON event (the `json` format's body, and what the templates are made from).
fn payload(event_id: &str, alert: &Alert<'_>, asset: &AssetFacts, at: i64, report_id: Option<&str>) -> Value {
    let summary = alert
        .changes
        .iter()
        .find(|(_, e)| e.field.as_deref() == Some("serial_number"))
        .map_or(&alert.first.summary, |(_, e)| &e.summary);
    let mut event = json!({
        "id": event_id,
        "type": alert.event_type,
        "at": crate::store::time::rfc3339(at),
        "summary": summary,
        "asset": {
            "id": asset.id,
            "hostname": asset.hostname,
            "serial_number": asset.serial_number,
            "status": asset.status,
            "business_unit": asset.business_unit,
            "idc": asset.idc,
        },
        "component": alert.first.component,
        "key": alert.first.key,
        "changes": alert.changes.iter().map(|(id, e)| json!({
            "change_id": id, "kind": e.kind, "field": e.field, "old": e.old, "new": e.new, "summary": e.summary,
        })).collect::<Vec<_>>(),
        "report_id": report_id,
    });
    // package.changed: each package's change, typed (installed, removed, upgraded, downgraded).
    if alert.first.component == "packages"
        && let Some(list) = alert.first.new.as_deref().and_then(|n| serde_json::from_str::<Value>(n).ok())
        && let Value::Object(m) = &mut event
    {
        m.insert("packages".into(), list);
    }
    event
}
