//! The offline sweep: a host that stops reporting gets one "gone offline" event (and its
//! alert) per silence, whoever sweeps; its next report clears the flag ("back online").

use crate::domain::changelog::{self, Event};
use crate::domain::error::Result;
use crate::domain::inventory::presence::{IN_SERVICE, last_report};
use crate::store::Db;

/// Hosts flagged by one sweep at most: the rest are flagged by the next.
pub const SWEEP_BATCH: usize = 1000;

/// The offline sweep: an asset in service (online, or discovered and not yet assigned) whose
/// last report is older than `cutoff` (what the lists call offline, [`crate::domain::inventory::presence`]) gets one
/// "gone offline" event (and its alert), once per silence: it is flagged `silent_since` until
/// it reports again. The number of assets flagged.
pub fn sweep_offline(db: &mut dyn Db, now: i64, cutoff: i64) -> Result<usize> {
    let rows = db.query(
        &format!(
            "SELECT id, last_seen FROM assets WHERE status IN {IN_SERVICE} AND last_seen < ?1 \
             AND silent_since IS NULL ORDER BY id LIMIT ?2"
        ),
        crate::args![cutoff, SWEEP_BATCH],
    )?;
    let mut flagged = 0;
    for r in &rows {
        let (id, last_seen): (i64, i64) = (r.get(0)?, r.get(1)?);
        // The flag first, on the same conditions: of two replicas sweeping together, or a sweep
        // and the host's report, one wins the row and the other changes nothing. The asset row is
        // locked before the event's outbox row exists, as a report locks it before its own: an
        // asset's alerts commit in the order of their ids.
        let won = db.execute(
            &format!(
                "UPDATE assets SET silent_since = ?2 WHERE id = ?1 AND silent_since IS NULL AND last_seen < ?3 \
                 AND status IN {IN_SERVICE}"
            ),
            crate::args![id, now, cutoff],
        )? == 1;
        if !won {
            continue;
        }
        flagged += 1;
        // A hypervisor's alert names the guests that go down with it.
        let guests = crate::domain::guests::running_names(db, id)?;
        let carried = match guests.len() {
            0 => String::new(),
            n => format!("; its {n} guest(s): {}", guests.join(", ")),
        };
        let event = Event::whole(
            "host",
            "changed",
            Some("online"),
            Some("online"),
            Some("offline"),
            format!("host gone offline: {}{carried}", last_report(last_seen)),
        );
        changelog::record_all(db, id, None, now, Some("offline-sweep"), std::slice::from_ref(&event))?;
    }
    Ok(flagged)
}

/// A silent asset reporting again: its flag cleared, if it still has one; whether this call
/// cleared it. (A report racing the sweep that flags its host leaves the flag: the next report
/// clears it, with its "back online".)
pub fn clear_silence(db: &mut dyn Db, asset_id: i64) -> Result<bool> {
    Ok(db.execute(
        "UPDATE assets SET silent_since = NULL WHERE id = ?1 AND silent_since IS NOT NULL",
        crate::args![asset_id],
    )? == 1)
}

/// The thresholds (days before a warranty ends) at which `warranty.expiring` fires.
pub const WARRANTY_THRESHOLDS: [i64; 2] = [90, 30];

/// The warranty sweep: an asset in service whose warranty ends within a threshold gets one
/// "warranty ending" event (and its `warranty.expiring` alert) per threshold and end date,
/// whoever sweeps: the `warranty_alerts` row is the claim, and of two replicas sweeping
/// together one inserts it and the other changes nothing. A new end date starts over. The
/// number of events recorded.
pub fn sweep_warranties(db: &mut dyn Db, now: i64) -> Result<usize> {
    let day = |t: i64| crate::domain::inventory::list::day_of(t).unwrap_or_default();
    let today = day(now);
    let mut recorded = 0;
    for threshold in WARRANTY_THRESHOLDS {
        let until = day(now + threshold * 86_400);
        let rows = db.query(
            &format!(
                "SELECT a.id, a.warranty_end FROM assets a WHERE a.status IN {IN_SERVICE} \
                 AND a.warranty_end >= ?1 AND a.warranty_end <= ?2 AND NOT EXISTS (SELECT 1 FROM warranty_alerts w \
                 WHERE w.asset_id = a.id AND w.threshold = ?3 AND w.warranty_end = a.warranty_end) ORDER BY a.id LIMIT ?4"
            ),
            crate::args![&today, &until, threshold, SWEEP_BATCH],
        )?;
        for r in &rows {
            let (id, end): (i64, String) = (r.get(0)?, r.get(1)?);
            let won = db.execute(
                "INSERT INTO warranty_alerts (asset_id, threshold, warranty_end, at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT DO NOTHING",
                crate::args![id, threshold, end.as_str(), now],
            )? == 1;
            if !won {
                continue;
            }
            recorded += 1;
            let event = Event::whole(
                "warranty",
                "changed",
                Some("warranty_end"),
                None,
                Some(&end),
                format!("warranty ends {end}: within {threshold} days"),
            );
            changelog::record_all(db, id, None, now, Some("warranty-sweep"), std::slice::from_ref(&event))?;
        }
    }
    Ok(recorded)
}
