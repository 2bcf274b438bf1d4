//! Owner, dates, tags and custom fields: typed on every way in (API, CLI, console, import), each
//! change an event, found by the list filters, and kept through an export and its re-import.
//! Viewers see them and cannot change them.

use assetkitd::domain::apply::Policy;
use assetkitd::domain::users::{self, Role};
use serde_json::{Value as Json, json};

use crate::support::{Console, TestDb, TestServer, cli, physical};

const PASSWORD: &str = "correct horse battery";

async fn define_fields(s: &TestServer, admin: &(String, assetkit_sign::Secret)) {
    for body in [
        json!({"name": "cost_centre", "type": "integer", "label": "Cost centre"}),
        json!({"name": "tier", "type": "choice", "choices": ["gold", "silver"]}),
        json!({"name": "eol", "type": "date"}),
    ] {
        let (status, answer) = s.send_as(admin, "POST", "/api/v1/fields", body.to_string().as_bytes()).await;
        assert_eq!(status, 201, "{answer}");
    }
}

async fn patch(s: &TestServer, key: &(String, assetkit_sign::Secret), id: i64, body: Json) -> (u16, Json) {
    s.send_as(key, "PATCH", &format!("/api/v1/assets/{id}"), body.to_string().as_bytes()).await
}

fn stored_fields(db: &TestDb, id: i64) -> Vec<(String, String)> {
    let rows: Vec<String> = db.column(
        "SELECT f.name || '=' || af.value FROM asset_fields af JOIN custom_fields f ON f.id = af.field_id \
         WHERE af.asset_id = ?1 ORDER BY f.name",
        assetkitd::args![id],
    );
    rows.iter().map(|r| r.split_once('=').map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fields_are_typed_on_every_way_in_and_viewers_cannot_write() {
    let s = TestServer::start(Policy::Auto).await;
    let admin = s.db.create_key("admin", "admin");
    define_fields(&s, &admin).await;
    let id = s.report_ok(&physical("own01", "SN-OWN01")).await["asset_id"].as_i64().unwrap();

    // API: a value not of its type, an unknown field, a bad e-mail: 422 naming it, nothing written.
    for (body, field) in [
        (json!({"fields": {"cost_centre": "abc"}}), "cost_centre"),
        (json!({"fields": {"tier": "bronze"}}), "tier"),
        (json!({"fields": {"nope": "1"}}), "nope"),
        (json!({"owner_email": "not-an-address", "tags": ["web"]}), "owner_email"),
        (json!({"warranty_end": "2027-02-30"}), "warranty_end"),
    ] {
        let (status, answer) = patch(&s, &admin, id, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert!(answer.to_string().contains(field), "{body} -> {answer}");
    }
    assert!(stored_fields(&s.db, id).is_empty());
    assert_eq!(s.db.scalar::<i64>("SELECT COUNT(*) FROM asset_tags", &[]), 0, "a refused patch wrote its tags");

    // API: valid values, normalised; each change an event with its actor.
    let (status, answer) = patch(
        &s,
        &admin,
        id,
        json!({"owner_name": "Payments SRE", "owner_email": "sre@example.com", "tags": ["web", "prod"],
               "warranty_end": "2027-03-15", "fields": {"cost_centre": " 0042 ", "tier": "gold"}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(stored_fields(&s.db, id), [("cost_centre".into(), "42".into()), ("tier".into(), "gold".into())]);
    let detail = s.admin_get(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(detail["owner"], json!({"name": "Payments SRE", "email": "sre@example.com"}));
    assert_eq!(detail["tags"], json!(["prod", "web"]));
    assert_eq!(detail["fields"], json!({"cost_centre": 42, "tier": "gold"}));
    let summaries: Vec<String> =
        s.changes(id).await.iter().map(|c| c["summary"].as_str().unwrap_or_default().to_owned()).collect();
    assert!(summaries.iter().any(|c| c.starts_with("fields.cost_centre set to 42 by key:")), "{summaries:?}");
    assert!(summaries.iter().any(|c| c.starts_with("tag web added by key:")), "{summaries:?}");

    // The list filters find it, and only it.
    s.report_ok(&physical("own02", "SN-OWN02")).await;
    for query in ["tag=web", "owner=payments%20sre", "cf_cost_centre=42", "cf_tier=gold", "warranty_within_days=36500"]
    {
        let page = s.admin_get(&format!("/api/v1/assets?{query}")).await;
        assert_eq!(page["total"], 1, "{query}: {page}");
        assert_eq!(page["assets"][0]["id"], id, "{query}");
    }
    assert_eq!(s.admin_get("/api/v1/assets?cf_cost_centre=43").await["total"], 0);
    assert_eq!(s.admin_get("/api/v1/assets?cf_no_such_field=1").await["total"], 0);

    // CLI: the same checks.
    let (ok, _, err) = cli(&s.db, &["assets", "set", &id.to_string(), "--field", "cost_centre=4.5"]);
    assert!(!ok && err.contains("cost_centre"), "{err}");
    let (ok, out, err) = cli(&s.db, &["assets", "set", &id.to_string(), "--field", "cost_centre=7", "--tags", "db"]);
    assert!(ok, "{err}");
    assert!(out.contains("change(s) recorded"), "{out}");
    assert_eq!(stored_fields(&s.db, id)[0], ("cost_centre".into(), "7".into()));
    let (ok, out, _) = cli(&s.db, &["assets", "list", "--filter", "tag=db", "--json"]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Json>(&out).unwrap()["total"], 1);

    // Console: an operator's bad value is refused whole; a viewer's post is a 403 writing nothing.
    s.db.with(|db| {
        users::create_user_as(db, "op", PASSWORD, Role::Operator, "test", 0).unwrap();
        users::create_user_as(db, "viewer", PASSWORD, Role::Viewer, "test", 0).unwrap();
    });
    let op = Console::login(&s.base, "op", PASSWORD).await;
    let (_, page) = op.post(&format!("/assets/{id}"), &[("cf_cost_centre", "lots"), ("owner_name", "Mallory")]).await;
    assert!(page.contains("Not saved") && page.contains("cost_centre"), "{page}");
    assert_eq!(s.admin_get(&format!("/api/v1/assets/{id}")).await["owner"]["name"], "Payments SRE");
    let (_, page) = op.post(&format!("/assets/{id}"), &[("cf_tier", "silver"), ("tags", "db, edge")]).await;
    assert!(page.contains("Saved"), "{page}");
    assert_eq!(stored_fields(&s.db, id)[1], ("tier".into(), "silver".into()));
    let viewer = Console::login(&s.base, "viewer", PASSWORD).await;
    let shown = viewer.page(&format!("/assets/{id}")).await;
    assert!(shown.contains("Payments SRE") && shown.contains("silver") && !shown.contains("ownership-form"));
    let (status, _) = viewer.post(&format!("/assets/{id}"), &[("cf_tier", "gold"), ("owner_name", "Eve")]).await;
    assert_eq!(status, 403);
    assert_eq!(stored_fields(&s.db, id)[1], ("tier".into(), "silver".into()));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_reimports_with_owner_tags_and_custom_fields() {
    let s = TestServer::start(Policy::Auto).await;
    let admin = s.db.create_key("admin", "admin");
    define_fields(&s, &admin).await;
    let id = s.report_ok(&physical("rt01", "SN-RT01")).await["asset_id"].as_i64().unwrap();
    let (status, answer) = patch(
        &s,
        &admin,
        id,
        json!({"owner_name": "=Payments", "owner_email": "sre@example.com", "tags": ["web", "prod"],
               "purchase_date": "2024-03-15", "warranty_end": "2027-03-15",
               "fields": {"cost_centre": "4711", "tier": "gold", "eol": "2030-01-31"}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let headers = assetkit_sign::sign(&admin.0, &admin.1, "GET", "/api/v1/assets.csv", b"");
    let mut req = s.client.get(format!("{}/api/v1/assets.csv", s.base));
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    let csv = req.send().await.unwrap().bytes().await.unwrap();
    let header = String::from_utf8_lossy(&csv).lines().next().unwrap().to_owned();
    assert!(header.ends_with("owner_name,owner_email,tags,cf_cost_centre,cf_eol,cf_tier"), "{header}");

    // Into another inventory with the same fields defined: every value comes back.
    let other = TestDb::new();
    for args in [
        &["fields", "add", "cost_centre", "--type", "integer"][..],
        &["fields", "add", "tier", "--type", "choice", "--choices", "gold,silver"],
        &["fields", "add", "eol", "--type", "date"],
    ] {
        let (ok, _, err) = cli(&other, args);
        assert!(ok, "{err}");
    }
    let file = other.dir.path().join("export.csv");
    std::fs::write(&file, &csv).unwrap();
    let (ok, out, err) = cli(&other, &["import", file.to_str().unwrap(), "--json"]);
    assert!(ok, "{out}{err}");
    let row = other.with(|db| {
        let page = assetkitd::domain::inventory::list_assets(db, &Default::default(), 0).unwrap();
        page.assets[0].clone()
    });
    assert_eq!(row["serial_number"], "SN-RT01");
    assert_eq!(row["owner"], json!({"name": "=Payments", "email": "sre@example.com"}));
    assert_eq!(row["tags"], json!(["prod", "web"]));
    assert_eq!(row["fields"], json!({"cost_centre": 4711, "tier": "gold", "eol": "2030-01-31"}));
    assert_eq!((row["purchase_date"].as_str(), row["warranty_end"].as_str()), (Some("2024-03-15"), Some("2027-03-15")));

    // An unknown custom field column is an error row naming it; nothing of that row is written.
    let unknown = other.dir.path().join("unknown.csv");
    std::fs::write(&unknown, "SN,cf_rack_units\nSN-NEW,2\n").unwrap();
    let (_, out, err) = cli(&other, &["import", unknown.to_str().unwrap(), "--json"]);
    assert!(format!("{out}{err}").contains("there is no custom field rack_units"), "{out}{err}");
    assert_eq!(other.scalar::<i64>("SELECT COUNT(*) FROM assets WHERE serial_number = 'SN-NEW'", &[]), 0);
    s.stop().await;
}
