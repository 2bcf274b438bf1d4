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
