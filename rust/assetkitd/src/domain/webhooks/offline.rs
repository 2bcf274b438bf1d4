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
        let event = Event::whole(
            "host",
            "changed",
            Some("online"),
            Some("online"),
            Some("offline"),
            format!("host gone offline: {}", last_report(last_seen)),
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
