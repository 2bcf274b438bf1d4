//! Budgets, seen from one host's credential or the fleet key sending at the limits: reports and
//! bytes per minute (429 with Retry-After, nothing written), new assets per fleet key, change
//! events per report and per day (the inventory still updated in full), and retention.

use assetkit_core::model::Report;
use assetkitd::domain::apply::Policy;
use assetkitd::domain::changelog::Budget;

use crate::support::{TestServer, again, physical};

/// `report` with `n` custom facts valued `round`: each is a component, so changing them all is
/// `n` change events.
fn with_facts(report: &Report, n: usize, round: u32) -> Report {
    let mut r = again(report);
    r.facts.custom = (0..n).map(|i| (format!("fact{i:02}"), serde_json::json!({"round": round}))).collect();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_over_its_reports_per_minute_gets_429_and_writes_nothing() {
    let s = TestServer::start_with(|c| c.send_budget.host_reports = 3.0).await;
    let host = physical("chatty01", "SN-CHATTY01");
    s.report_ok(&host).await; // the enrolment, on the fleet key's budget
    let credential = s.credential("chatty01");
    for _ in 0..3 {
        assert_eq!(s.report_as(&credential, &again(&host)).await.0, 200);
    }
    let before = s.dump();
    let body = serde_json::to_vec(&again(&host)).unwrap();
    let headers = assetkit_sign::sign(&credential.0, &credential.1, "POST", "/api/v1/reports", &body);
    let mut req = s.client.post(format!("{}/api/v1/reports", s.base)).body(body);
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    let resp = req.header("content-type", "application/json").send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "20", "3 a minute: room again in 20 s");
    let answer: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "over_budget");
    assert!(answer["error"]["message"].as_str().unwrap().contains("--max-reports-per-minute"), "{answer}");
    assert_eq!(s.dump(), before, "a refused report wrote something");
    // Another host is not held back by this one's budget.
    assert_eq!(s.report(&physical("quiet01", "SN-QUIET01")).await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_over_its_budget_is_refused_before_its_body_is_read() {
    let s = TestServer::start_with(|c| c.send_budget.host_reports = 2.0).await;
    let host = physical("heavy01", "SN-HEAVY01");
    s.report_ok(&host).await;
    let credential = s.credential("heavy01");
    for _ in 0..2 {
        assert_eq!(s.report_as(&credential, &again(&host)).await.0, 200);
    }
    // The next request announces a body it never sends: a receiver that waited for it before
    // refusing would answer only at its body timeout, and after reading the body of every
    // flooding request. Headers signed over an empty body: the signature is not what is judged.
    let headers = assetkit_sign::sign(&credential.0, &credential.1, "POST", "/api/v1/reports", b"");
    let mut head = String::from("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n");
    for (name, value) in headers.pairs() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Content-Length: 1000000\r\n\r\n");
    let answer = crate::support::raw_http(
        &crate::support::addr_of(&s.base),
        &head,
        Vec::new(),
        std::time::Duration::from_secs(5),
    )
    .await;
    let (status, text) = answer.expect("no answer while the body was still owed");
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("over_budget"), "{text}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_key_creates_at_most_its_new_assets_per_minute() {
    let s = TestServer::start_with(|c| c.new_assets.per_minute = 3).await;
    for i in 0..3 {
        s.report_ok(&physical(&format!("minted{i}"), &format!("SN-MINTED{i}"))).await;
    }
    let (status, body) = s.report(&physical("minted3", "SN-MINTED3")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("over_budget")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("--max-new-assets-per-minute"), "{body}");
    assert_eq!(s.db.scalar::<i64>("SELECT COUNT(*) FROM assets", &[]), 3);
    // Hosts already enrolled keep reporting.
    assert_eq!(s.report(&again(&physical("minted0", "SN-MINTED0"))).await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_events_are_itemized_within_their_budget_and_summed_up_beyond_it() {
    let s = TestServer::start_with(|c| c.event_budget = Budget { per_report: 5, per_day: 12 }).await;
    let base = physical("flappy01", "SN-FLAPPY01");
    let id = s.report_ok(&with_facts(&base, 20, 0)).await["asset_id"].as_i64().unwrap();
    let events = |s: &TestServer| -> Vec<(String, i64)> {
        s.db.with(|db| {
            db.query(
                "SELECT summary, repeats FROM changes WHERE asset_id = ?1 AND component = 'custom' OR field = 'events' \
                 ORDER BY id",
                assetkitd::args![id],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get::<String>(0).unwrap(), r.get::<i64>(1).unwrap()))
            .collect()
        })
    };
    // 20 changes: 5 itemized, the other 15 in one row.
    s.report_ok(&with_facts(&base, 20, 1)).await;
    let after_one = events(&s);
    assert_eq!(after_one.len(), 6, "{after_one:#?}");
    assert!(after_one[5].0.starts_with("15 more changes in this report"), "{after_one:#?}");
    // 5 more itemized (10 of the day's 12), then 2, and the day's row sums up the rest in place.
    s.report_ok(&with_facts(&base, 20, 2)).await;
    s.report_ok(&with_facts(&base, 20, 3)).await;
    s.report_ok(&with_facts(&base, 20, 4)).await;
    let all = events(&s);
    let itemized = all.iter().filter(|(summary, _)| summary.starts_with("custom")).count();
    assert_eq!(itemized, 12, "{all:#?}");
    let day: Vec<_> = all.iter().filter(|(summary, _)| summary.contains("today")).collect();
    assert_eq!(day.len(), 1, "{all:#?}");
    assert!(day[0].0.starts_with("38 more changes today"), "{all:#?}");
    assert_eq!(day[0].1, 2, "two reports summed up on one row");
    // The inventory itself is current: every fact is at round 4.
    let rounds: Vec<String> =
        s.db.column("SELECT data FROM components WHERE asset_id = ?1 AND kind = 'custom'", assetkitd::args![id]);
    assert_eq!(rounds.len(), 20);
    assert!(rounds.iter().all(|d| d.contains("\"round\":4")), "{rounds:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_and_events_beyond_an_assets_cap_are_purged() {
    use assetkitd::domain::maintenance::{Retention, purge_changes};
    let s = TestServer::start(Policy::Auto).await;
    let id = s.report_ok(&physical("old01", "SN-OLD01")).await["asset_id"].as_i64().unwrap();
    let now = assetkit_sign::unix_now();
    s.db.with(|db| {
        for i in 0..30 {
            // Ten from three years ago, twenty from today.
            let at = if i < 10 { now - 3 * 365 * 86_400 } else { now };
            db.execute(
                "INSERT INTO changes (asset_id, at, component, key, kind, summary) VALUES (?1, ?2, 'nic', 'eth0', 'changed', ?3)",
                assetkitd::args![id, at, format!("change {i}")],
            )
            .unwrap();
        }
        db.execute("INSERT INTO event_budgets (asset_id, day, events) VALUES (?1, ?2, 2000)", assetkitd::args![id, now / 86_400])
            .unwrap();
    });
    let total =
        |s: &TestServer| s.db.scalar::<i64>("SELECT COUNT(*) FROM changes WHERE asset_id = ?1", assetkitd::args![id]);
    let before = total(&s);
    let retention = Retention {
        nonces: std::time::Duration::from_secs(600),
        report_ids: std::time::Duration::from_secs(86_400),
        changes: Some(std::time::Duration::from_secs(730 * 86_400)),
        changes_per_asset: Some(15),
        busy_day: 2000,
    };
    let deleted = s.db.with(|db| purge_changes(db, retention, now).unwrap());
    assert_eq!(deleted as i64, before - 15, "ten too old, and the rest down to the cap");
    assert_eq!(total(&s), 15);
    let kept: Vec<String> =
        s.db.column("SELECT summary FROM changes WHERE asset_id = ?1 ORDER BY id", assetkitd::args![id]);
    assert_eq!(kept.last().unwrap(), "change 29", "the newest are kept");
    s.stop().await;
}
