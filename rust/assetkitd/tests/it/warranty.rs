//! Warranty alerts: `warranty.expiring` once per asset, threshold (90 and 30 days) and end date,
//! whoever sweeps and however often; and a hypervisor's `host.offline` naming its guests.

use assetkit_core::model::Guest;
use assetkitd::domain::apply::Policy;
use assetkitd::domain::webhooks::offline::sweep_warranties;
use assetkitd::domain::webhooks::sweep_offline;

use crate::support::{TestServer, physical};
use crate::webhooks::{add_webhook, fast, local};

fn day(offset_days: i64) -> String {
    let t = jiff::Timestamp::from_second(assetkitd::store::now() + offset_days * 86_400).unwrap();
    t.to_string()[..10].to_owned()
}

/// Two sweeps at once, on their own connections (two replicas' sweepers): the events recorded.
fn sweep_twice_at_once(s: &TestServer, now: i64) -> usize {
    let barrier = std::sync::Barrier::new(2);
    let location = s.db.location.clone();
    std::thread::scope(|scope| {
        let sweeps: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut db = assetkitd::store::connect(&location).unwrap();
                    barrier.wait();
                    assetkitd::store::transaction(db.as_mut(), |db| sweep_warranties(db, now)).unwrap()
                })
            })
            .collect();
        sweeps.into_iter().map(|t| t.join().unwrap()).sum()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warranty_expiring_fires_once_per_asset_and_threshold_across_sweepers() {
    let s = TestServer::start_with(|c| local(c, fast())).await;
    add_webhook(&s.db, "http://127.0.0.1:9/never", &["--events", "warranty.expiring"]);
    let mut ids = Vec::new();
    for i in 0..15 {
        ids.push(
            s.report_ok(&physical(&format!("wty{i:02}"), &format!("SN-WTY{i:02}"))).await["asset_id"].as_i64().unwrap(),
        );
    }
    // Ten end within 30 days (both thresholds), five within 90 only, and one long after.
    let set = |id: i64, end: String| {
        s.db.with(|db| {
            db.execute("UPDATE assets SET warranty_end = ?2 WHERE id = ?1", assetkitd::args![id, end]).unwrap();
        })
    };
    for (n, id) in ids.iter().enumerate() {
        set(*id, day(if n < 10 { 20 } else { 60 }));
    }
    let far = s.report_ok(&physical("wty-far", "SN-WTY-FAR")).await["asset_id"].as_i64().unwrap();
    set(far, day(400));
    let now = assetkitd::store::now();
    assert_eq!(sweep_twice_at_once(&s, now), 25);
    assert_eq!(sweep_twice_at_once(&s, now + 3_600), 0, "a second round said it again");
    let queued: i64 = s.db.scalar("SELECT COUNT(*) FROM outbox WHERE event = 'warranty.expiring'", &[]);
    assert_eq!(queued, 25);
    // Thirty days on, the five reach the 30-day threshold: once more each.
    assert_eq!(sweep_twice_at_once(&s, now + 31 * 86_400), 5);
    // A renewed warranty (a new end date) starts over.
    set(ids[0], day(25));
    assert_eq!(sweep_twice_at_once(&s, now), 2);
    let summary: String = s.db.scalar(
        "SELECT summary FROM changes WHERE asset_id = ?1 AND component = 'warranty' ORDER BY id DESC LIMIT 1",
        assetkitd::args![ids[0]],
    );
    assert!(summary.starts_with(&format!("warranty ends {}", day(25))), "{summary}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hypervisor_gone_offline_names_the_guests_it_carried() {
    let s = TestServer::start(Policy::Auto).await;
    let mut hv = physical("hv-off", "SN-HV-OFF");
    let guest = |name: &str, state: &str| Guest {
        name: name.into(),
        uuid: None,
        kind: "vm".into(),
        source: "libvirt".into(),
        id: None,
        vcpus: Some(2),
        memory_bytes: Some(2 << 30),
        state: Some(state.into()),
    };
    hv.facts.guests = Some(vec![guest("web01", "running"), guest("db07", "running"), guest("spare", "defined")]);
    let id = s.report_ok(&hv).await["asset_id"].as_i64().unwrap();
    let later = assetkitd::store::now() + 10 * 86_400;
    let flagged = s.db.with(|db| assetkitd::store::transaction(db, |db| sweep_offline(db, later, later - 86_400)));
    assert_eq!(flagged.unwrap(), 1);
    let summary: String = s.db.scalar(
        "SELECT summary FROM changes WHERE asset_id = ?1 AND field = 'online' ORDER BY id DESC LIMIT 1",
        assetkitd::args![id],
    );
    assert!(summary.ends_with("its 2 guest(s): db07, web01"), "{summary}");
    s.stop().await;
}
