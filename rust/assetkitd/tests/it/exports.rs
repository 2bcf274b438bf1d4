//! The inventory read back out: the `read` key scope, the list with each asset's facts, and the
//! CSV and xlsx exports (filters, formula injection, round trip through import, bounded memory).

use std::io::Read as _;

use assetkitd::store::DbExt;
use serde_json::{Value as Json, json};

use crate::support::{TestDb, TestServer, cli, physical, spawn_binary, vm};

/// A signed GET answering raw bytes, with the response's content type.
async fn get_raw(server: &TestServer, key: &(String, assetkit_sign::Secret), path: &str) -> (u16, String, Vec<u8>) {
    let headers = assetkit_sign::sign(&key.0, &key.1, "GET", path, b"");
    let mut req = server.client.get(format!("{}{path}", server.base));
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, resp.bytes().await.unwrap().to_vec())
}

/// Three reporting hosts placed in business units and IDCs, and one imported asset whose rack
/// and model were typed as formulas.
async fn seeded() -> TestServer {
    let server = TestServer::start(assetkitd::domain::apply::Policy::Auto).await;
    for (host, serial, bu, idc) in [
        ("web-01", "SN-WEB-01", "payments", "bj-01"),
        ("web-02", "SN-WEB-02", "payments", "sh-02"),
        ("db-01", "SN-DB-01", "search", "bj-01"),
    ] {
        let id = server.report_ok(&physical(host, serial)).await["asset_id"].as_i64().unwrap();
        let patch = json!({"business_unit": bu, "idc": idc, "rack": format!("R{id}")});
        let (status, body) =
            server.send_as(&server.admin, "PATCH", &format!("/api/v1/assets/{id}"), patch.to_string().as_bytes()).await;
        assert_eq!(status, 200, "{body}");
    }
    server.report_ok(&vm("vm-01", "SN-VM-01")).await;
    let list = server.db.dir.path().join("purchases.csv");
    std::fs::write(&list, "sn,vendor,model,idc,rack\nSN-EVIL-1,Dell Inc.,@SUM(1+1),bj-01,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\"\n")
        .unwrap();
    let (ok, out, err) = cli(&server.db, &["import", list.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_key_reads_the_inventory_and_its_changes_and_writes_nothing() {
    let server = seeded().await;
    let read = server.db.create_key("ansible inventory", "read");
    for path in [
        "/api/v1/assets",
        "/api/v1/assets/1",
        "/api/v1/assets/1/changes",
        "/api/v1/changes",
        "/api/v1/assets.csv",
        "/api/v1/hosts/pending",
    ] {
        let (status, _, body) = get_raw(&server, &read, path).await;
        assert_eq!(status, 200, "GET {path} with a read key: {}", String::from_utf8_lossy(&body));
    }
    let before = server.dump();
    let report = serde_json::to_vec(&physical("intruder", "SN-INTRUDER")).unwrap();
    for (method, path, body) in [
        ("POST", "/api/v1/reports", report.as_slice()),
        ("PATCH", "/api/v1/assets/1", br#"{"rack": "R99"}"#.as_slice()),
        ("POST", "/api/v1/assets", br#"{"hostname": "made-up"}"#.as_slice()),
        ("POST", "/api/v1/assets/1/revoke", b"".as_slice()),
    ] {
        let (status, answer) = server.send_as(&read, method, path, body).await;
        assert_eq!(status, 403, "{method} {path} with a read key: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden", "{answer}");
    }
    assert_eq!(server.dump(), before, "a read key wrote something");
    // The fleet key reports and enrols; it does not read the inventory.
    let (status, answer) = server.send_as(&server.agent, "GET", "/api/v1/assets", b"").await;
    assert_eq!(status, 403, "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_carries_each_assets_facts_on_request() {
    let server = seeded().await;
    let read = server.db.create_key("inventory", "read");
    let (status, page) = server.send_as(&read, "GET", "/api/v1/assets?include=components&sort=id", b"").await;
    assert_eq!(status, 200, "{page}");
    let assets = page["assets"].as_array().unwrap();
    let web = assets.iter().find(|a| a["hostname"] == "web-01").unwrap();
    let nics = web["components"]["nic"].as_array().expect("NICs");
    assert_eq!(nics[0]["addresses"][0]["address"], "10.1.2.3", "{web}");
    assert!(web["components"]["memory_module"].as_array().is_some_and(|m| !m.is_empty()), "{web}");
    assert!(web["components"]["disk"].as_array().is_some_and(|d| !d.is_empty()), "{web}");
    // Each asset gets its own components, not its neighbour's.
    let serials: Vec<&Json> = assets
        .iter()
        .filter(|a| a["components"]["system"].is_array())
        .map(|a| &a["components"]["system"][0]["serial_number"])
        .collect();
    let own: Vec<&Json> =
        assets.iter().filter(|a| a["components"]["system"].is_array()).map(|a| &a["serial_number"]).collect();
    assert_eq!(serials, own);
    // An imported asset has no facts yet: an empty object, not a missing key.
    let imported = assets.iter().find(|a| a["serial_number"] == "SN-EVIL-1").unwrap();
    assert_eq!(imported["components"], json!({}));
    // Without include, the list stays lean; an unknown include is refused.
    let (_, lean) = server.send_as(&read, "GET", "/api/v1/assets", b"").await;
    assert!(lean["assets"][0].get("components").is_none(), "{lean}");
    let (status, answer) = server.send_as(&read, "GET", "/api/v1/assets?include=secrets", b"").await;
    assert_eq!((status, answer["error"]["field"].as_str()), (400, Some("include")), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_export_is_filtered_neutralised_and_round_trips_through_import() {
    let server = seeded().await;
    let read = server.db.create_key("exports", "read");
    let (status, kind, bytes) = get_raw(&server, &read, "/api/v1/assets.csv").await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
    let text = String::from_utf8(bytes.clone()).unwrap();
    let mut rows = csv::Reader::from_reader(text.strip_prefix('\u{feff}').expect("a BOM for Excel").as_bytes());
    let header = rows.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 5);
    let evil = records.iter().find(|r| &r[col("serial_number")] == "SN-EVIL-1").unwrap();
    assert_eq!(&evil[col("rack")], "'=HYPERLINK(\"http://evil.example\",\"x\")");
    assert_eq!(&evil[col("model")], "'@SUM(1+1)");
    // No cell of the file starts a formula.
    for record in &records {
        for cell in record {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "formula cell {cell:?} in {record:?}");
        }
    }
    let web = records.iter().find(|r| &r[col("hostname")] == "web-01").unwrap();
    assert_eq!((&web[col("business_unit")], &web[col("idc")], &web[col("status")]), ("payments", "bj-01", "online"));
    assert_eq!(&web[col("ips")], "10.1.2.3");

    // The list's filters apply.
    let (_, _, bj) = get_raw(&server, &read, "/api/v1/assets.csv?idc=bj-01&business_unit=payments").await;
    let bj = String::from_utf8(bj).unwrap();
    assert_eq!(bj.lines().count(), 2, "{bj}");
    assert!(bj.contains("web-01") && !bj.contains("db-01") && !bj.contains("web-02"), "{bj}");

    // Round trip: into the same inventory every row is recognised as the asset it came from ...
    let file = server.db.dir.path().join("export.csv");
    std::fs::write(&file, &bytes).unwrap();
    // (Every row fails, so the dry run exits non-zero: nothing would be imported.)
    let (ok, out, err) = cli(&server.db, &["import", file.to_str().unwrap(), "--dry-run", "--json"]);
    assert!(!ok && err.contains("nothing would be imported"), "{out}{err}");
    let dry: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(dry["rows"], 5, "{dry}");
    for (record, error) in records.iter().zip(dry["errors"].as_array().unwrap()) {
        let expected = format!(
            "serial number {} is already in the inventory (asset {},",
            &record[col("serial_number")],
            &record[col("id")]
        );
        assert!(error["errors"][0].as_str().unwrap().starts_with(&expected), "{error} for {record:?}");
    }
    // ... and into a fresh one it imports whole, the neutralised text read back as it was typed.
    let fresh = TestDb::new();
    let (ok, out, err) = cli(&fresh, &["import", file.to_str().unwrap(), "--json"]);
    assert!(ok, "{out}{err}");
    let applied: Json = serde_json::from_str(&out).unwrap();
    assert_eq!((applied["valid"].as_u64(), applied["created"].as_u64()), (Some(5), Some(5)), "{applied}");
    let (rack, model): (String, String) = fresh.with(|db| {
        let r = db.query_one("SELECT rack, model FROM assets WHERE serial_number = 'SN-EVIL-1'", &[]).unwrap();
        (r.get(0).unwrap(), r.get(1).unwrap())
    });
    assert_eq!((rack.as_str(), model.as_str()), ("=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(1+1)"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xlsx_export_holds_text_cells_only_and_round_trips_through_import() {
    use calamine::Reader as _;
    let server = seeded().await;
    let read = server.db.create_key("exports", "read");
    let (status, kind, bytes) = get_raw(&server, &read, "/api/v1/assets.xlsx?status=online").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(kind, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    // No formula anywhere in the sheet's XML.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
    assert!(!sheet.contains("<f>") && !sheet.contains("<f "), "a formula cell in the export");
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let range = book.worksheet_range("Assets").unwrap();
    let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    // status=online: the hosts the list shows online (the three physical ones), not the VM
    // waiting in discovered or the imported one in stock.
    let mut hosts: Vec<&str> = rows[1..].iter().map(|r| r[col("hostname")].as_str()).collect();
    hosts.sort();
    assert_eq!(hosts, ["db-01", "web-01", "web-02"]);
    let listed = server.send_as(&read, "GET", "/api/v1/assets?status=online", b"").await.1;
    assert_eq!(listed["total"], 3, "{listed}");
    let web = rows.iter().find(|r| r[col("hostname")] == "web-01").unwrap();
    assert_eq!(web[col("memory_bytes")], (64u64 << 30).to_string(), "numbers stay numbers");

    // All assets, then a fresh inventory imports the same serials.
    let (_, _, all) = get_raw(&server, &read, "/api/v1/assets.xlsx").await;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(all.clone())).unwrap();
    let range = book.worksheet_range("Assets").unwrap();
    let rack_col = range.rows().next().unwrap().iter().position(|c| *c == "rack").unwrap();
    let evil_rack: Vec<String> =
        range.rows().filter(|r| r.iter().any(|c| *c == "SN-EVIL-1")).map(|r| r[rack_col].to_string()).collect();
    assert_eq!(evil_rack, ["'=HYPERLINK(\"http://evil.example\",\"x\")"]);
    let file = server.db.dir.path().join("export.xlsx");
    std::fs::write(&file, &all).unwrap();
    let fresh = TestDb::new();
    let (ok, out, err) = cli(&fresh, &["import", file.to_str().unwrap(), "--json"]);
    assert!(ok, "{out}{err}");
    let mut exported: Vec<String> = server.db.column("SELECT serial_number FROM assets", &[]);
    let mut imported: Vec<String> = fresh.column("SELECT serial_number FROM assets", &[]);
    exported.sort();
    imported.sort();
    assert_eq!(imported, exported);
    let rack: String = fresh.scalar("SELECT rack FROM assets WHERE serial_number = 'SN-EVIL-1'", &[]);
    assert_eq!(rack, "=HYPERLINK(\"http://evil.example\",\"x\")");
    server.stop().await;
}

/// Peak and current resident memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("RssAnon:"))
}

/// Inserts `n` assets in one statement (both engines), a tenth of them in IDC "small".
fn seed_many(db: &TestDb, n: u32) {
    db.with(|db| {
        db.batch("INSERT INTO idcs (name) VALUES ('small'), ('large')").unwrap();
        db.execute(
            "INSERT INTO assets (hostname, serial_number, status, manufacturer, model, ips, macs, idc_id, rack, position, \
             source, cpu_model, cpu_cores, memory_bytes, created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
             SELECT 'node-' || i, 'SN-BULK-' || i, 'online', 'Dell Inc.', 'PowerEdge R640', '10.1.' || (i / 250) || '.' || (i % 250), \
             'aa:bb:cc:00:00:01', CASE WHEN i % 10 = 0 THEN (SELECT id FROM idcs WHERE name = 'small') \
             ELSE (SELECT id FROM idcs WHERE name = 'large') END, 'R' || (i % 40), 'U' || (i % 42), 'manual', \
             'Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz', 16, 274877906944, 1, 1 FROM n",
            assetkitd::args![i64::from(n)],
        )
        .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_asset_export_streams_in_bounded_memory() {
    let db = TestDb::new();
    let read = db.create_key("exports", "read");
    seed_many(&db, 100_000);
    let server = spawn_binary(&db, &[], "warn", std::process::Stdio::inherit()).await;
    let pid = server.child.id().unwrap();
    let client = crate::support::client();
    // Reads an export to the end in small pieces, sampling the server's anonymous memory.
    let export = |path: &'static str| {
        let (client, base, read) = (client.clone(), server.base.clone(), read.clone());
        async move {
            let headers = assetkit_sign::sign(&read.0, &read.1, "GET", path, b"");
            let mut req = client.get(format!("{base}{path}"));
            for (name, value) in headers.pairs() {
                req = req.header(name, value);
            }
            let mut resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            let (mut bytes, mut lines, mut most_anon) = (0usize, 0usize, 0u64);
            while let Some(chunk) = resp.chunk().await.unwrap() {
                bytes += chunk.len();
                lines += chunk.iter().filter(|b| **b == b'\n').count();
                most_anon = most_anon.max(memory_kib(pid).1);
            }
            (bytes, lines, most_anon)
        }
    };
    let (small_bytes, small_lines, _) = export("/api/v1/assets.csv?idc=small").await;
    assert_eq!(small_lines, 10_001);
    let (peak_after_small, _) = memory_kib(pid);
    let (all_bytes, all_lines, most_anon) = export("/api/v1/assets.csv").await;
    assert_eq!(all_lines, 100_001);
    let (peak_after_all, _) = memory_kib(pid);
    let grew = peak_after_all.saturating_sub(peak_after_small);
    eprintln!(
        "export of 10,000 assets: {} KiB; of 100,000: {} KiB; server peak RSS {peak_after_small} -> {peak_after_all} KiB \
         (+{grew} KiB), most anonymous RSS while streaming {most_anon} KiB",
        small_bytes / 1024,
        all_bytes / 1024
    );
    // Ten times the rows (over 15 MiB more output) raise the peak by a small fraction of what
    // holding the export would cost.
    assert!(all_bytes - small_bytes > 15 << 20, "{all_bytes} bytes");
    // Part of the growth is the reader connection's SQLite page cache filling as the walk reads
    // more of the table (bounded by the readers' cache_size, 32 MiB each); the rows themselves
    // are held a batch at a time.
    assert!(grew < 16 * 1024, "the server's peak RSS grew by {grew} KiB for the larger export");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_by_id_and_refuses_unknown_parameters() {
    let server = seeded().await;
    let read = server.db.create_key("inventory", "read");
    // Walking by id with a cursor: every asset once, in id order, then a null cursor.
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let path = format!("/api/v1/assets?per_page=2&after_id={after}");
        let (status, page) = server.send_as(&read, "GET", &path, b"").await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"].as_u64(), Some(5 - seen.len() as u64), "the total counts what is left: {page}");
        seen.extend(page["assets"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()));
        match page["next_after_id"].as_i64() {
            Some(next) => after = next,
            None => {
                assert!(page["next_after_id"].is_null(), "{page}");
                break;
            }
        }
    }
    let mut all: Vec<i64> = server.db.column("SELECT id FROM assets", &[]);
    all.sort();
    assert_eq!(seen, all);
    // Filters apply to the walk.
    let (_, page) = server.send_as(&read, "GET", "/api/v1/assets?after_id=0&idc=bj-01&per_page=500", b"").await;
    let hosts: Vec<&str> = page["assets"].as_array().unwrap().iter().filter_map(|a| a["hostname"].as_str()).collect();
    assert_eq!(hosts, ["web-01", "db-01"], "{page}");
    // With another order, after_id is a filter (ids above it) and there is no cursor.
    let (status, page) = server.send_as(&read, "GET", "/api/v1/assets?after_id=1&sort=hostname", b"").await;
    assert_eq!(status, 200, "{page}");
    let hosts: Vec<&str> = page["assets"].as_array().unwrap().iter().filter_map(|a| a["hostname"].as_str()).collect();
    assert_eq!(hosts, ["db-01", "vm-01", "web-02"], "{page}");
    assert!(page.get("next_after_id").is_none(), "{page}");
    // A misspelt filter is refused, not ignored (which would answer the whole inventory).
    for (path, field) in [
        ("/api/v1/assets?bussiness_unit=payments", "bussiness_unit"),
        ("/api/v1/assets.csv?page=2", "page"),
        ("/api/v1/changes?after=3", "after"),
        ("/api/v1/assets?after_id=-1", "after_id"),
    ] {
        let (status, answer) = server.send_as(&read, "GET", path, b"").await;
        assert_eq!((status, answer["error"]["field"].as_str()), (400, Some(field)), "{path}: {answer}");
    }
    server.stop().await;
}

/// `n` imported assets written straight into the store, each row of the CSV export a few hundred
/// bytes: enough for an export that outgrows the sockets' buffers.
fn bulk(db: &crate::support::TestDb, n: i64) {
    db.with(|c| {
        c.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
             INSERT INTO assets (hostname, serial_number, status, model, manufacturer, source, created_at, updated_at) \
             SELECT 'bulk-' || i, 'SN-BULK-' || i, 'in_stock', \
             'a model name long enough to make each exported row a few hundred bytes, as real ones can be ' || i, \
             'a manufacturer with a long name, to make the export outgrow every socket buffer on its way', \
             'import', 1700000000, 1700000000 FROM n",
            assetkitd::args![n],
        )
        .unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_a_client_falls_behind_on_is_cut_never_ended_and_says_its_row_count() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(|c| c.http.request_timeout = std::time::Duration::from_secs(1)).await;
    bulk(&s.db, 30_000);
    let read = s.db.create_key("exports", "read");
    // A reader that keeps up: every row, the count in the header, and the encoding's end.
    let headers = assetkit_sign::sign(&read.0, &read.1, "GET", "/api/v1/assets.csv", b"");
    let mut req = s.client.get(format!("{}/api/v1/assets.csv", s.base));
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.headers()["x-assetkit-row-count"], "30000");
    let whole = resp.bytes().await.expect("a complete export ends cleanly");
    assert_eq!(whole.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(), 30_001);

    // A reader with a small window that stops reading for longer than the request timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(crate::support::addr_of(&s.base).parse().unwrap()).await.unwrap();
    let head = format!(
        "GET /api/v1/assets.csv HTTP/1.1\r\nhost: x\r\n{}\r\n",
        crate::support::signed_head(&read, "GET", "/api/v1/assets.csv", b"")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = vec![0u8; 65536];
    let first = stream.read(&mut got).await.unwrap();
    let head = String::from_utf8_lossy(&got[..first]).to_lowercase();
    assert!(head.contains("x-assetkit-row-count: 30000") && head.contains("transfer-encoding: chunked"), "{head}");
    // The stall itself (the client's behaviour under test), three times the server's limit.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read_to_end(&mut rest)).await;
    let mut all = got[..first].to_vec();
    all.extend_from_slice(&rest);
    assert!(!all.ends_with(b"\r\n0\r\n\r\n"), "a cut export ended like a complete one ({} bytes)", all.len());
    let lines = all.split(|b| *b == b'\n').filter(|l| l.starts_with(b"bulk-") || l.contains(&b',')).count();
    assert!(lines < 30_001, "the whole export arrived; the stall did not cut it");
    s.stop().await;
}
