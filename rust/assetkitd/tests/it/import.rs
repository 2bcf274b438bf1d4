//! Purchase-list import through the admin CLI, and the link to the first report.

use assetkitd::domain::apply::Policy;

use crate::support::{TestDb, TestServer, physical};

fn assetkitd(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    crate::support::cli(db, args)
}

#[test]
fn edge_cases_are_row_errors_and_a_dry_run_writes_nothing() {
    let db = TestDb::new();
    let dir = &db.dir;
    let csv = dir.path().join("buy.csv");
    std::fs::write(
        &csv,
        "SN,Vendor,Model,CPU,Memory,Disks,IDC,Rack,Position,Purchase Date,Warranty End\n\
         PUR-1,Dell,PowerEdge R640,Gold 6244,256GB,6x2TB,dc1,R01,U10,2024-03-15,2027-03-15\n\
         PUR-2,Dell,PowerEdge R640,Gold 6244,256GB,6x2TB,dc1,R01,U12,2024-03-15,2027-03-15\n\
         ,,,,,,,,,,\n\
         PUR-1,Dell,PowerEdge R640,Gold 6244,256GB,6x2TB,dc1,R01,U14,2024-03-15,2027-03-15\n\
         PUR-3,HP,DL380,,,,dc2,R09,U1,15/03/2024,\n",
    )
    .unwrap();
    let (ok, out, err) = assetkitd(&db, &["import", csv.to_str().unwrap(), "--dry-run", "--json"]);
    assert!(ok, "{err}");
    let dry: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (dry["rows"].as_u64(), dry["valid"].as_u64(), dry["invalid"].as_u64(), dry["empty_rows"].as_u64()),
        (Some(4), Some(2), Some(2), Some(1))
    );
    let errors = dry["errors"].to_string();
    assert!(
        errors.contains("also on line 2") && errors.contains("15/03/2024") && errors.contains("is not a date"),
        "{errors}"
    );
    let (_, list, _) = assetkitd(&db, &["assets", "list", "--json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&list).unwrap()["total"], 0, "a dry run wrote");

    let (ok, out, _) = assetkitd(&db, &["import", csv.to_str().unwrap()]);
    assert!(ok && out.contains("imported 2 assets in stock"), "{out}");
    // Importing again: every serial is now already in the inventory.
    let (ok, out, err) = assetkitd(&db, &["import", csv.to_str().unwrap(), "--json"]);
    assert!(!ok && err.contains("nothing was imported"), "{err}");
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["created"], 0);
    assert!(again["errors"].to_string().contains("already in the inventory (asset 1"), "{again}");

    // A non-UTF-8 file: a clear error without --encoding, a clean import with it.
    let gbk = dir.path().join("gbk.csv");
    std::fs::write(&gbk, encoding_rs::GBK.encode("序列号,机房,机柜\nGBK-1,北京一号,A01\n").0).unwrap();
    let (ok, _, err) = assetkitd(&db, &["import", gbk.to_str().unwrap()]);
    assert!(!ok && err.contains("not UTF-8") && err.contains("encoding"), "{err}");
    let (ok, out, err) = assetkitd(&db, &["import", gbk.to_str().unwrap(), "--encoding", "gbk"]);
    assert!(ok && out.contains("imported 1 assets"), "{out}{err}");
    let (_, shown, _) = assetkitd(&db, &["assets", "list", "--idc", "北京一号", "--json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&shown).unwrap()["assets"][0]["serial_number"], "GBK-1");

    // A file without a serial column is refused whole.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "host,ip\nweb1,10.0.0.1\n").unwrap();
    let (ok, _, err) = assetkitd(&db, &["import", bad.to_str().unwrap()]);
    assert!(!ok && err.contains("no serial number column"), "{err}");
}

#[test]
fn ten_thousand_rows_import() {
    let db = TestDb::new();
    let dir = &db.dir;
    let csv = dir.path().join("big.csv");
    let mut text = String::from("SN,Vendor,Model,IDC,Rack,Position,Purchase Date,Warranty End\n");
    for i in 0..10_010 {
        let idc = if i < 10_005 { "dc1".to_owned() } else { format!("dc{}", i % 3 + 2) };
        text.push_str(&format!("BIG-{i:05},Dell,R640,{idc},R{:02},U{},2024-01-15,2029-01-15\n", i % 40, i % 42));
    }
    std::fs::write(&csv, text).unwrap();
    let (ok, out, err) = assetkitd(&db, &["import", csv.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let result: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["created"], 10_010);
    let list = |args: &[&str]| {
        let (_, out, _) = assetkitd(&db, &[&["assets", "list", "--json"], args].concat());
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    // A list by status is counted exactly, from the status counts.
    let by_status = list(&["--status", "in_stock"]);
    assert_eq!((by_status["total"].as_u64(), by_status["total_exact"].as_bool()), (Some(10_010), Some(true)));
    // A filter matching more than the bound says so rather than scanning on; under it, exact.
    let (bound, exact) = (assetkitd::domain::inventory::EXACT_COUNT_UP_TO, true);
    let broad = list(&["--idc", "dc1"]);
    assert_eq!((broad["total"].as_u64(), broad["total_exact"].as_bool()), (Some(bound), Some(!exact)));
    let narrow = list(&["--idc", "dc2"]);
    assert_eq!((narrow["total"].as_u64(), narrow["total_exact"].as_bool()), (Some(2), Some(exact)));
    let (_, text, _) = assetkitd(&db, &["assets", "list", "--idc", "dc1"]);
    assert!(text.contains("of more than 10000 assets"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_report_links_to_the_purchase_row_and_flags_mismatches() {
    let s = TestServer::start(Policy::Hostname).await;
    let csv = s.db.dir.path().join("buy.csv");
    std::fs::write(&csv, "SN,Vendor,Model,Memory,Disks,IDC,Rack\nPUR-777,Dell,PowerEdge R640,128GB,3x2TB,dc1,R07\nPUR-888,HP,ProLiant DL380,64GB,,dc1,R08\n").unwrap();
    let (ok, _, err) = assetkitd(&s.db, &["import", csv.to_str().unwrap()]);
    assert!(ok, "{err}");
    // The host reports 64 GiB (two 32 GiB DIMMs) where the purchase list says 128GB.
    let linked = s.report_ok(&physical("rack07-node1", "PUR-777")).await;
    assert_eq!(linked["action"], "updated");
    let asset = s.admin_get(&format!("/api/v1/assets/{}", linked["asset_id"])).await;
    assert_eq!(
        (asset["status"].as_str(), asset["hostname"].as_str(), asset["idc"].as_str()),
        (Some("online"), Some("rack07-node1"), Some("dc1"))
    );
    let mismatches = asset["mismatches"].as_array().unwrap();
    assert_eq!(mismatches.len(), 1, "{mismatches:?}");
    assert!(mismatches[0].as_str().unwrap().contains("memory: purchase list says 128 GiB, host reports 64 GiB"));
    assert_eq!(asset["purchase"]["file"], "buy.csv");
    let changes = s.changes(linked["asset_id"].as_i64().unwrap()).await;
    assert!(changes.iter().any(|c| c["summary"].as_str().unwrap().starts_with("purchase list mismatch: memory")));
    assert!(changes.iter().any(|c| c["summary"].as_str().unwrap().contains("imported from buy.csv line 2")));
    s.stop().await;
}
