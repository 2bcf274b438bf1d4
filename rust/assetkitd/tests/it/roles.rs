//! Console roles: every console route and form, tried as a viewer, an operator and an admin over
//! plain HTTP with a valid session and CSRF token. A role below a route's gets the 403 page and
//! writes nothing; a role at or above it gets through. And the admin CLI that gives roles.

use assetkitd::domain::apply::Policy;
use assetkitd::domain::users::{self, Role};

use crate::support::{Console, TestServer, cli, physical};

const PASSWORD: &str = "correct horse battery";

/// A console request: what it is, and the least role that may make it.
struct Attempt {
    method: &'static str,
    path: String,
    fields: Vec<(&'static str, String)>,
    least: Role,
}

fn get(path: impl Into<String>, least: Role) -> Attempt {
    Attempt { method: "GET", path: path.into(), fields: Vec::new(), least }
}

fn post(path: impl Into<String>, fields: &[(&'static str, &str)], least: Role) -> Attempt {
    Attempt {
        method: "POST",
        path: path.into(),
        fields: fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        least,
    }
}

/// Sends `attempt` as `console` (its CSRF token added to forms): (status, body).
async fn send(console: &Console, attempt: &Attempt) -> (u16, String) {
    let url = format!("{}{}", console.base, attempt.path);
    let req = match attempt.method {
        "GET" => console.client.get(url),
        _ => {
            let mut fields = attempt.fields.clone();
            fields.push(("csrf", console.csrf.clone()));
            console.client.post(url).form(&fields)
        }
    };
    let resp = req.header("cookie", &console.cookie).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// An import preview uploaded by `console`: (status, its apply token if it made one, page).
async fn preview(console: &Console, serial: &str) -> (u16, Option<String>, String) {
    let (status, page) = console.upload("list.csv", format!("SN,IDC\n{serial},dc1\n").into_bytes()).await;
    let token = page.find("name=\"token\" value=\"").map(|at| {
        let rest = &page[at + "name=\"token\" value=\"".len()..];
        rest.split('"').next().unwrap().to_owned()
    });
    (status, token, page)
}

fn is_refusal(status: u16, body: &str) -> bool {
    status == 403 && body.contains("Not allowed") && body.contains("Nothing was changed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reaches_exactly_its_routes_and_a_refused_request_writes_nothing() {
    let s = TestServer::start(Policy::Auto).await;
    for role in Role::ALL {
        s.db.with(|db| users::create_user_as(db, role.as_str(), PASSWORD, role, "test", 0).unwrap());
    }
    let asset = s.report_ok(&physical("found-1", "FOUND-1")).await["asset_id"].as_i64().unwrap();
    let (spare_key, _) = s.db.create_key("spare", "read");
    let mut consoles = Vec::new();
    for role in Role::ALL {
        consoles.push((role, Console::login(&s.base, role.as_str(), PASSWORD).await));
    }
    // An operator's pending preview: what a viewer would try to apply with a forged form.
    let (status, pending, page) = preview(&consoles[1].1, "IMP-PENDING").await;
    assert_eq!(status, 200, "{page}");
    let pending = pending.expect("an apply token");

    for (role, console) in &consoles {
        let me = role.as_str();
        // The role's own import preview, when it may make one (else the operator's).
        let (status, own, page) = preview(console, &format!("IMP-{me}")).await;
        if role.allows(Role::Operator) {
            assert_eq!(status, 200, "{me}: {page}");
        } else {
            assert!(is_refusal(status, &page), "{me} uploaded a purchase list: {status} {page}");
        }
        let token = own.unwrap_or_else(|| pending.clone());
        let attempts = [
            get("/assets", Role::Viewer),
            get(format!("/assets/{asset}"), Role::Viewer),
            get("/discovered", Role::Viewer),
            get("/assets/export.csv", Role::Viewer),
            get("/assets/export.xlsx", Role::Viewer),
            get("/assets/new", Role::Operator),
            get("/import", Role::Operator),
            get("/settings", Role::Admin),
            post(format!("/assets/{asset}"), &[("rack", &format!("R-{me}")), ("position", "U1")], Role::Operator),
            post("/assets/new", &[("hostname", &format!("entered-{me}"))], Role::Operator),
            post(
                "/discovered",
                &[("ids", &asset.to_string()), ("business_unit", ""), ("rack", &format!("D-{me}"))],
                Role::Operator,
            ),
            post("/import/cancel", &[("token", "not-a-token")], Role::Operator),
            post("/import/apply", &[("token", &token)], Role::Operator),
            post("/settings/names", &[("kind", "idc"), ("name", &format!("dc-{me}"))], Role::Admin),
            post("/settings/keys", &[("name", &format!("key-{me}")), ("scope", "read")], Role::Admin),
            post("/settings/keys/revoke", &[("key_id", &spare_key)], Role::Admin),
            post(
                "/settings/webhooks",
                &[
                    ("url", &format!("http://203.0.113.9:9/{me}")),
                    ("events", "host.offline"),
                    ("secret", "a-webhook-secret-of-some-length"),
                ],
                Role::Admin,
            ),
            post("/settings/webhooks/redeliver", &[("id", "1")], Role::Admin),
            post("/settings/users", &[("name", &format!("user-{me}")), ("role", "viewer")], Role::Admin),
            post("/settings/users/role", &[("name", "nobody"), ("role", "viewer")], Role::Admin),
            post("/settings/users/password", &[("name", "nobody")], Role::Admin),
            post("/settings/users/disable", &[("name", "nobody")], Role::Admin),
            post("/settings/webhooks/remove", &[("id", "999")], Role::Admin),
            post(format!("/assets/{asset}/reenrol"), &[], Role::Admin),
            post(format!("/assets/{asset}/revoke"), &[], Role::Admin),
        ];
        for attempt in &attempts {
            let before = s.dump();
            let (status, body) = send(console, attempt).await;
            let what = format!("{me}: {} {}", attempt.method, attempt.path);
            if role.allows(attempt.least) {
                assert!(matches!(status, 200 | 303), "{what} was refused: {status} {body}");
            } else {
                assert!(is_refusal(status, &body), "{what} was not refused: {status} {body}");
                assert_eq!(before, s.dump(), "{what} was refused but wrote");
                assert!(!body.contains(&spare_key) && !body.contains("R-"), "{what}: the refusal shows data: {body}");
            }
        }
    }

    // What the allowed writes did (so that "not 403" above meant the write happened).
    let hostnames: Vec<String> =
        s.db.column("SELECT hostname FROM assets WHERE hostname LIKE 'entered-%' ORDER BY 1", &[]);
    assert_eq!(hostnames, ["entered-admin", "entered-operator"]);
    let imported: Vec<String> =
        s.db.column("SELECT serial_number FROM assets WHERE serial_number LIKE 'IMP-%' ORDER BY 1", &[]);
    assert_eq!(imported, ["IMP-admin", "IMP-operator"], "the viewer's forged apply imported the operator's preview");
    let racks: Vec<String> = s
        .db
        .column("SELECT new FROM changes WHERE field = 'rack' AND asset_id = ?1 ORDER BY id", assetkitd::args![asset]);
    assert_eq!(racks, ["R-operator", "D-operator", "R-admin", "D-admin"]);
    let audit: Vec<String> = s.db.column("SELECT actor || ' ' || action FROM admin_events ORDER BY id", &[]);
    for expected in ["console:admin key.create", "console:admin key.revoke"] {
        assert!(audit.iter().any(|a| a == expected), "{expected} missing: {audit:?}");
    }
    assert!(!audit.iter().any(|a| a.starts_with("console:viewer") || a.contains("operator key")), "{audit:?}");
    let idcs: Vec<String> = s.db.column("SELECT name FROM idcs WHERE name LIKE 'dc-%' ORDER BY 1", &[]);
    assert_eq!(idcs, ["dc-admin"]);
    let hooks: Vec<String> = s.db.column("SELECT url_shown FROM webhooks ORDER BY id", &[]);
    assert_eq!(hooks, ["http://203.0.113.9:9/…"]);

    // Pages show each role its own controls only, and its role.
    let (_, viewer_asset) = send(&consoles[0].1, &get(format!("/assets/{asset}"), Role::Viewer)).await;
    assert!(viewer_asset.contains("id=\"role\"") && viewer_asset.contains(">viewer<"), "{viewer_asset}");
    for control in ["action=\"/assets/", "href=\"/settings\"", "href=\"/import\"", "id=\"reenrol\""] {
        assert!(!viewer_asset.contains(control), "a viewer sees {control}");
    }
    let (_, operator_asset) = send(&consoles[1].1, &get(format!("/assets/{asset}"), Role::Viewer)).await;
    assert!(
        operator_asset.contains(&format!("action=\"/assets/{asset}\"")) && operator_asset.contains("href=\"/import\"")
    );
    assert!(!operator_asset.contains("href=\"/settings\"") && !operator_asset.contains("id=\"reenrol\""));
    let (_, admin_settings) = send(&consoles[2].1, &get("/settings", Role::Admin)).await;
    assert!(admin_settings.contains("viewer") && admin_settings.contains("operator"), "roles are listed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_holds_from_the_next_request_and_is_audited() {
    let s = TestServer::start(Policy::Auto).await;
    s.db.with(|db| users::create_user_as(db, "pat", PASSWORD, Role::Admin, "test", 0).unwrap());
    let console = Console::login(&s.base, "pat", PASSWORD).await;
    assert_eq!(send(&console, &get("/settings", Role::Admin)).await.0, 200);
    let (ok, out, err) = cli(&s.db, &["users", "set-role", "pat", "viewer"]);
    assert!(ok && out.contains("pat is now viewer (was admin)"), "{out}{err}");
    let (status, body) = send(&console, &get("/settings", Role::Admin)).await;
    assert!(is_refusal(status, &body), "the old role still held: {status}");
    let audit: Vec<String> = s
        .db
        .column("SELECT action || ' ' || target || ' ' || detail FROM admin_events WHERE action = 'user.role'", &[]);
    assert_eq!(audit, ["user.role pat admin -> viewer"]);
    s.stop().await;
}

#[test]
fn the_cli_creates_users_with_a_role_admin_by_default_and_lists_them() {
    let db = crate::support::TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, PASSWORD).unwrap();
    let file = password.to_str().unwrap();
    let (ok, out, err) = cli(&db, &["users", "create", "--name", "legacy", "--password-file", file]);
    assert!(ok && out.contains("user legacy created (admin)"), "{out}{err}");
    let (ok, out, err) = cli(&db, &["users", "create", "looker", "--role", "viewer", "--password-file", file]);
    assert!(ok && out.contains("(viewer)"), "{out}{err}");
    let (ok, _, err) = cli(&db, &["users", "create", "root", "--role", "root", "--password-file", file]);
    assert!(!ok && err.contains("viewer, operator, admin"), "{err}");
    let (ok, _, err) = cli(&db, &["users", "set-role", "nobody", "viewer"]);
    assert!(!ok && err.contains("no user nobody"), "{err}");
    let (ok, out, _) = cli(&db, &["users", "list", "--json"]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let roles: Vec<(&str, &str)> =
        list.as_array().unwrap().iter().map(|u| (u["name"].as_str().unwrap(), u["role"].as_str().unwrap())).collect();
    assert_eq!(roles, [("legacy", "admin"), ("looker", "viewer")]);
    let (_, table, _) = cli(&db, &["users", "list"]);
    assert!(
        table.contains("ROLE") && table.lines().any(|l| l.starts_with("looker") && l.contains("viewer")),
        "{table}"
    );
    let (ok, help, _) = crate::support::cli_raw(&["users", "create", "--help"]);
    assert!(ok && help.contains("The default is admin because"), "{help}");
    // The database refuses a role it does not know, whoever writes it.
    let refused = db.with(|conn| conn.execute("UPDATE users SET role = 'root' WHERE name = 'looker'", &[]).is_err());
    assert!(refused, "the CHECK constraint let an unknown role in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flash_messages_belong_to_the_session_not_to_the_url() {
    let s = TestServer::start(Policy::Auto).await;
    s.db.with(|db| users::create_user_as(db, "ops", PASSWORD, Role::Admin, "test", 0).unwrap());
    let id = s.report_ok(&physical("flash01", "SN-FLASH01")).await["asset_id"].as_i64().unwrap();
    let ops = Console::login(&s.base, "ops", PASSWORD).await;
    // A link someone crafted: its text is never shown.
    let page = ops.page(&format!("/assets/{id}?msg=Your+account+is+locked%2C+call+555-0100")).await;
    assert!(!page.contains("555-0100"), "the page shows text from its URL");
    // A message the server sets after a form is shown once, to this session.
    let resp = ops
        .client
        .post(format!("{}/assets/{id}/reenrol", s.base))
        .header("cookie", &ops.cookie)
        .form(&[("csrf", ops.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let flash = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .find(|c| c.starts_with("assetkit_flash="))
        .expect("a flash cookie");
    let with_flash = format!("{}; {flash}", ops.cookie);
    let shown = ops.client.get(format!("{}/assets/{id}", s.base)).header("cookie", &with_flash).send().await.unwrap();
    assert!(shown.headers().get_all("set-cookie").iter().any(|v| v.to_str().unwrap().contains("Max-Age=0")));
    assert!(shown.text().await.unwrap().contains("Re-enrolment allowed"), "the message is shown");
    // Another session presenting that cookie sees nothing.
    s.db.with(|db| users::create_user_as(db, "eve", PASSWORD, Role::Viewer, "test", 0).unwrap());
    let eve = Console::login(&s.base, "eve", PASSWORD).await;
    let stolen = format!("{}; {flash}", eve.cookie);
    let page = eve.client.get(format!("{}/assets/{id}", s.base)).header("cookie", &stolen).send().await.unwrap();
    assert!(!page.text().await.unwrap().contains("Re-enrolment allowed"));
    s.stop().await;
}
