//! The lists' counts: kept as deltas by triggers, folded by maintenance, always the truth.

use assetkitd::domain::inventory::{self, AssetPatch, NewAsset};
use assetkitd::domain::maintenance;
use assetkitd::store::{Db, DbExt};

use crate::support::TestDb;

/// Assets per status, counted the slow way.
fn truth(db: &mut dyn Db) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = db
        .query("SELECT status, COUNT(*) FROM assets GROUP BY status ORDER BY status", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get::<String>(0).unwrap(), r.get::<u64>(1).unwrap()))
        .collect();
    out.retain(|(_, n)| *n > 0);
    out
}

/// The same, from the status counts (no asset is offline here: none has reported).
fn counted(db: &mut dyn Db) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> =
        inventory::status_counts(db, 0).unwrap().into_iter().filter(|(_, n)| *n > 0).collect();
    out.sort();
    out
}

#[test]
fn status_counts_follow_creates_status_changes_and_deletes_and_survive_folding() {
    let db = TestDb::new();
    db.with(|db| {
        let mut ids = Vec::new();
        for (i, status) in ["online", "online", "in_stock", "discovered", "online", "retired"].iter().enumerate() {
            let input =
                NewAsset { hostname: format!("count-{i}"), status: Some((*status).into()), ..NewAsset::default() };
            ids.push(inventory::create_asset(db, &input, "test", 1).unwrap());
        }
        assert_eq!(counted(db), truth(db));
        // Status changes, a rename (not a status change), and a delete.
        for (id, status) in [(ids[0], "retired"), (ids[2], "online"), (ids[3], "in_stock")] {
            let patch = AssetPatch { status: Some(status.into()), ..AssetPatch::default() };
            inventory::update_asset(db, id, &patch, "test", 2).unwrap();
        }
        let rename = AssetPatch { hostname: Some("count-renamed".into()), ..AssetPatch::default() };
        inventory::update_asset(db, ids[1], &rename, "test", 3).unwrap();
        db.execute("DELETE FROM assets WHERE id = ?1", assetkitd::args![ids[4]]).unwrap();
        let expected = truth(db);
        assert_eq!(counted(db), expected);
        assert_eq!(expected, [("in_stock".to_owned(), 1), ("online".to_owned(), 2), ("retired".to_owned(), 2)]);
        // Folding leaves one row per status and the same counts.
        let deltas: i64 = db.scalar("SELECT COUNT(*) FROM asset_counts", &[]).unwrap();
        maintenance::fold_counts(db).unwrap();
        let rows: i64 = db.scalar("SELECT COUNT(*) FROM asset_counts", &[]).unwrap();
        assert!(rows <= 4 && rows < deltas, "{deltas} deltas folded into {rows} rows");
        assert_eq!(counted(db), expected);
        // And counting goes on after a fold.
        inventory::create_asset(db, &NewAsset { hostname: "count-late".into(), ..NewAsset::default() }, "test", 4)
            .unwrap();
        assert_eq!(counted(db), truth(db));
    });
}

/// The dashboard's make-up and placement per combination, counted the slow way.
const MAKEUP_TRUTH: &str = "SELECT manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id, COUNT(*) \
     FROM assets GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6";
/// The same from the kept counts.
const MAKEUP_KEPT: &str = "SELECT manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id, \
     CAST(SUM(delta) AS BIGINT) FROM makeup_counts GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(delta) <> 0 ORDER BY 1, 2, 3, 4, 5, 6";

fn makeup(db: &mut dyn Db, sql: &str) -> Vec<String> {
    db.query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| {
            (0..7)
                .map(|i| {
                    r.get::<Option<String>>(i).or_else(|_| r.get::<Option<i64>>(i).map(|v| v.map(|v| v.to_string())))
                })
                .map(|v| v.unwrap().unwrap_or_else(|| "-".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[test]
fn makeup_counts_follow_creates_hardware_and_placement_changes_and_deletes_and_survive_folding() {
    let db = TestDb::new();
    db.with(|db| {
        let mut ids = Vec::new();
        for (i, bu) in ["payments", "payments", "search", "", "search"].iter().enumerate() {
            let input = NewAsset {
                hostname: format!("makeup-{i}"),
                business_unit: (!bu.is_empty()).then(|| (*bu).to_owned()),
                idc: Some("dc1".into()),
                ..NewAsset::default()
            };
            ids.push(inventory::create_asset(db, &input, "test", 1).unwrap());
        }
        assert_eq!(makeup(db, MAKEUP_KEPT), makeup(db, MAKEUP_TRUTH));
        // Hardware learnt from reports (as apply writes it), one memory upgrade, a move to
        // another IDC, a rename (no make-up change) and a delete.
        db.execute(
            "UPDATE assets SET manufacturer = 'Dell Inc.', model = 'PowerEdge R640', memory_bytes = ?1, cpu_cores = 16",
            assetkitd::args![64_i64 << 30],
        )
        .unwrap();
        db.execute("UPDATE assets SET memory_bytes = ?1 WHERE id = ?2", assetkitd::args![128_i64 << 30, ids[0]])
            .unwrap();
        let moved = AssetPatch { idc: Some("dc2".into()), ..AssetPatch::default() };
        inventory::update_asset(db, ids[1], &moved, "test", 2).unwrap();
        let rename = AssetPatch { hostname: Some("makeup-renamed".into()), ..AssetPatch::default() };
        inventory::update_asset(db, ids[2], &rename, "test", 3).unwrap();
        db.execute("DELETE FROM assets WHERE id = ?1", assetkitd::args![ids[4]]).unwrap();
        let expected = makeup(db, MAKEUP_TRUTH);
        assert_eq!(makeup(db, MAKEUP_KEPT), expected);
        assert_eq!(expected.len(), 4, "{expected:?}");
        // Folding leaves one row per combination still held, and the same counts.
        maintenance::fold_counts(db).unwrap();
        let rows: i64 = db.scalar("SELECT COUNT(*) FROM makeup_counts", &[]).unwrap();
        assert_eq!(rows, 4);
        assert_eq!(makeup(db, MAKEUP_KEPT), expected);
        // And the dashboard reads them: four assets of one model, one of them with 128 GiB.
        let dashboard = assetkitd::domain::dashboard::load(db, 0, 0).unwrap();
        assert_eq!(
            dashboard.models.iter().map(|c| (c.label.as_str(), c.n)).collect::<Vec<_>>(),
            [("Dell Inc. PowerEdge R640", 4)]
        );
        assert_eq!(
            dashboard.memory.iter().map(|c| (c.label.as_str(), c.n)).collect::<Vec<_>>(),
            [("64–128 GiB", 3), ("128–256 GiB", 1)]
        );
        let idcs: Vec<(&str, u64)> = dashboard.idcs.iter().map(|c| (c.label.as_str(), c.n)).collect();
        assert_eq!(idcs, [("dc1", 3), ("dc2", 1)]);
    });
}

/// Change events per day and component, counted the slow way and from the kept counts.
fn change_days(db: &mut dyn Db) -> (Vec<String>, Vec<String>) {
    let rows = |db: &mut dyn Db, sql: &str| -> Vec<String> {
        db.query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| {
                format!("{}|{}|{}", r.get::<i64>(0).unwrap(), r.get::<String>(1).unwrap(), r.get::<i64>(2).unwrap())
            })
            .collect()
    };
    (
        rows(db, "SELECT at / 86400, component, COUNT(*) FROM changes GROUP BY 1, 2 ORDER BY 1, 2"),
        rows(
            db,
            "SELECT day, component, CAST(SUM(delta) AS BIGINT) FROM change_day_counts GROUP BY 1, 2 \
             HAVING SUM(delta) <> 0 ORDER BY 1, 2",
        ),
    )
}

#[test]
fn change_day_counts_follow_events_and_their_purge_and_survive_folding() {
    let db = TestDb::new();
    db.with(|db| {
        let day = 86_400;
        let today = 20_000 * day;
        // Assets added over three days (an event each), then edited today (more events).
        let mut ids = Vec::new();
        for (i, at) in [today - 2 * day, today - 2 * day + 5, today - day, today].iter().enumerate() {
            let input = NewAsset { hostname: format!("days-{i}"), ..NewAsset::default() };
            ids.push(inventory::create_asset(db, &input, "test", *at).unwrap());
        }
        for id in &ids {
            let patch = AssetPatch { rack: Some("R7".into()), ..AssetPatch::default() };
            inventory::update_asset(db, *id, &patch, "test", today + 60).unwrap();
        }
        let (truth, kept) = change_days(db);
        assert_eq!(kept, truth);
        assert_eq!(truth.len(), 3, "{truth:?}");
        // Retention purges the oldest day's events; the fold keeps the same counts in fewer rows.
        db.execute("DELETE FROM changes WHERE at < ?1", assetkitd::args![today - day]).unwrap();
        maintenance::fold_counts(db).unwrap();
        let (truth, kept) = change_days(db);
        assert_eq!(kept, truth);
        assert_eq!(truth.len(), 2, "{truth:?}");
        let rows: i64 = db.scalar("SELECT COUNT(*) FROM change_day_counts", &[]).unwrap();
        assert_eq!(rows, 2);
        // And the dashboard's chart reads them: yesterday's one event, today's five.
        let dashboard = assetkitd::domain::dashboard::load(db, today + 120, 0).unwrap();
        let totals: Vec<u64> = dashboard.days.iter().rev().take(3).map(|d| d.counts.iter().sum()).collect();
        assert_eq!(totals, [5, 1, 0]);
    });
}
