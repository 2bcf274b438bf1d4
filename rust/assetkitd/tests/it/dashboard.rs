//! The console's home page: the fleet's numbers as server-drawn SVG whose bars link to the
//! filtered asset list, the silent hosts and the latest hardware changes.

use assetkitd::domain::apply::Policy;

use crate::support::{Console, TestServer, again, physical, vm};

/// Every `<svg>...</svg>` of a page, parsed: they must be well-formed XML on their own.
fn charts(page: &str) -> Vec<String> {
    page.match_indices("<svg")
        .map(|(at, _)| {
            let end = page[at..].find("</svg>").expect("a closed svg") + at + "</svg>".len();
            page[at..end].to_owned()
        })
        .collect()
}

/// The links of the chart named `label`: (href, accessible name).
fn links(svgs: &[String], label: &str) -> Vec<(String, String)> {
    let svg = svgs
        .iter()
        .find(|s| s.contains(&format!("aria-label=\"{label}\"")))
        .unwrap_or_else(|| panic!("no chart {label:?}"));
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{label}: {e}\n{svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(doc.root_element().tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    doc.descendants()
        .filter(|n| n.has_tag_name("a"))
        .map(|a| (a.attribute("href").unwrap().to_owned(), a.attribute("aria-label").unwrap().to_owned()))
        .collect()
}

fn has(links: &[(String, String)], href: &str, name: &str) -> bool {
    links.iter().any(|(h, n)| h == href && n == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_counts_links_silent_hosts_and_hardware_changes() {
    let s = TestServer::start(Policy::Auto).await;
    let mut ids = std::collections::HashMap::new();
    for (host, serial) in [("web01", "SN-WEB01"), ("web02", "SN-WEB02"), ("db01", "SN-DB01")] {
        let id = s.report_ok(&physical(host, serial)).await["asset_id"].as_i64().unwrap();
        // Placed by an admin: online, in dc1 and payments.
        let patch = br#"{"business_unit": "payments", "idc": "dc1", "rack": "R1", "position": "U1"}"#;
        let (status, out) = s.send_as(&s.admin, "PATCH", &format!("/api/v1/assets/{id}"), patch).await;
        assert_eq!(status, 200, "{out}");
        ids.insert(host, id);
    }
    s.report_ok(&vm("vm01", "VMW-SHARED")).await;
    // db01's disk in slot 32:3 is replaced.
    let mut swapped = again(&physical("db01", "SN-DB01"));
    swapped.facts.disks.as_mut().unwrap()[2].serial_number = Some("Z1X2NEW9".into());
    assert_eq!(s.report_ok(&swapped).await["action"], "updated");
    // web02 has not reported for two days: silent, though not yet offline (7 days).
    let two_days_ago = assetkitd::store::now() - 2 * 86_400;
    s.db.with(|db| {
        db.execute("UPDATE assets SET last_seen = ?1 WHERE id = ?2", assetkitd::args![two_days_ago, ids["web02"]])
            .unwrap()
    });
    let cores: i64 = s.db.scalar("SELECT cpu_cores FROM assets WHERE id = ?1", assetkitd::args![ids["web01"]]);

    s.db.with(|db| assetkitd::domain::users::create_user(db, "alice", "correct horse battery", "test", 0).unwrap());
    let console = Console::login(&s.base, "alice", "correct horse battery").await;
    let resp = console.client.get(format!("{}/", s.base)).header("cookie", &console.cookie).send().await.unwrap();
    assert_eq!(resp.status(), 200, "the home page is the dashboard, not a redirect");
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let page = resp.text().await.unwrap();
    assert!(!page.contains("style="), "inline styles break the CSP");
    let svgs = charts(&page);
    assert_eq!(svgs.len(), 7, "status, IDC, BU, model, memory, cores, changes");

    let status = links(&svgs, "Assets by status");
    assert!(has(&status, "/assets?status=online", "online: 3"), "{status:?}");
    assert!(has(&status, "/assets?status=discovered", "discovered: 1"), "{status:?}");
    assert!(has(&status, "/assets?status=offline", "offline: 0"), "{status:?}");
    let idc = links(&svgs, "Assets by IDC");
    assert_eq!(idc, [("/assets?idc=dc1".to_owned(), "dc1: 3".to_owned())]);
    let bu = links(&svgs, "Assets by business unit");
    assert_eq!(bu, [("/assets?business_unit=payments".to_owned(), "payments: 3".to_owned())]);
    let models = links(&svgs, "Assets by manufacturer and model");
    assert!(
        has(&models, "/assets?manufacturer=Dell+Inc.&model=PowerEdge+R640", "Dell Inc. PowerEdge R640: 3"),
        "{models:?}"
    );
    assert!(
        has(
            &models,
            "/assets?manufacturer=VMware%2C+Inc.&model=VMware+Virtual+Platform",
            "VMware, Inc. VMware Virtual Platform: 1"
        ),
        "{models:?}"
    );
    let memory = links(&svgs, "Assets by memory size");
    assert_eq!(
        memory,
        [("/assets?memory_below_gib=128&memory_min_gib=64".to_owned(), "64–128 GiB: 4".to_owned())],
        "64 GiB each"
    );
    let cores_chart = links(&svgs, "Assets by CPU cores");
    let bucket = 1i64 << (63 - cores.leading_zeros());
    let label = if bucket == 2 * bucket - 1 { bucket.to_string() } else { format!("{bucket}–{}", 2 * bucket - 1) };
    let cores_link = format!("/assets?cores_min={bucket}&cores_max={}", 2 * bucket - 1);
    assert_eq!(cores_chart, [(cores_link, format!("{label}: 4"))], "{cores} cores each");
    // Each make-up bar opens the list of exactly the assets it counts.
    for (href, label) in models.iter().chain(&memory).chain(&cores_chart) {
        let n: u64 = label.rsplit(": ").next().unwrap().parse().unwrap();
        let listed = s.admin_get(&href.replacen("/assets", "/api/v1/assets", 1)).await;
        assert_eq!(listed["total"], n, "{href} lists {listed}");
    }
    // Today's column of the changes chart counts the disk swap among its disk changes.
    let changes = &svgs[6];
    let doc = roxmltree::Document::parse(changes).unwrap();
    let titles: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("title")).filter_map(|n| n.text()).collect();
    assert_eq!(titles.len(), 30, "{titles:?}");
    let today = &assetkitd::store::rfc3339(assetkitd::store::now())[..10];
    let today_title = titles.last().unwrap();
    assert!(today_title.starts_with(today) && today_title.contains("disks 1"), "{today_title}");
    assert!(titles[..29].iter().all(|t| t.contains(": 0 change(s)")), "{titles:?}");

    // The silent host, linked; the others are not listed.
    let silent = &page[page.find("id=\"silent\"").unwrap()..page.find("id=\"hardware-changes\"").unwrap()];
    assert!(silent.contains(&format!("<a href=\"/assets/{}\">web02</a>", ids["web02"])), "{silent}");
    assert!(silent.contains("1 online host(s)") && !silent.contains("web01"), "{silent}");
    // The disk replacement, linked to its host.
    let hardware = &page[page.find("id=\"hardware-changes\"").unwrap()..];
    assert!(hardware.contains(&format!("<a href=\"/assets/{}\">db01</a>", ids["db01"])), "{hardware}");
    assert!(hardware.contains("disk in slot 32:3 replaced"), "{hardware}");

    // A bar's link lands on the list it counts.
    let list = console.page("/assets?idc=dc1").await;
    assert!(["web01", "web02", "db01"].iter().all(|h| list.contains(h)) && !list.contains("vm01"));

    // Signed out, the home page asks for a login.
    let anon = console.client.get(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(anon.status(), 303);
    assert!(anon.headers()["location"].to_str().unwrap().starts_with("/login"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_of_an_empty_inventory() {
    let s = TestServer::start(Policy::Auto).await;
    s.db.with(|db| assetkitd::domain::users::create_user(db, "alice", "correct horse battery", "test", 0).unwrap());
    let console = Console::login(&s.base, "alice", "correct horse battery").await;
    let resp = console.client.get(format!("{}/", s.base)).header("cookie", &console.cookie).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    // Status and changes are charted at zero; the charts of names and sizes say there is nothing.
    let svgs = charts(&page);
    assert_eq!(svgs.len(), 2);
    for svg in &svgs {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    }
    assert!(links(&svgs, "Assets by status").iter().all(|(_, name)| name.ends_with(": 0")));
    assert_eq!(page.matches("Nothing to count yet.").count(), 5);
    assert!(page.contains("Every online host reported within the last 24 h."));
    assert!(page.contains("No hardware change in the last 30 days."));
    s.stop().await;
}
