//! A copied enrolment gets no usable credential: the fleet key is shared and reports are
//! readable (a read key, a console viewer), so the exact bytes of a host's enrolling report can
//! be sent again by someone else. The answer to that copy carries the credential only sealed to
//! the enrolment key in those bytes, which only the enrolling host can open.

use std::sync::Arc;

use assetkit_sign::enrol::EnrolKey;
use assetkitd::domain::apply::Policy;
use assetkitd::store::Engine;

use crate::support::{TestDb, TestServer, physical};

/// The body an agent sends to enrol: a report carrying the public half of its enrolment key.
fn enrolling(hostname: &str, serial: &str, key: &EnrolKey) -> Vec<u8> {
    let mut r = physical(hostname, serial);
    r.agent.enrol_key = Some(key.public_hex());
    serde_json::to_vec(&r).unwrap()
}

/// The exact bytes of the asset's last report, as a reader of the inventory gets them.
fn stored_report(s: &TestServer, asset_id: i64) -> Vec<u8> {
    s.db.scalar::<String>("SELECT report FROM asset_reports WHERE asset_id = ?1", assetkitd::args![asset_id])
        .into_bytes()
}

fn opened(key: &EnrolKey, answer: &serde_json::Value) -> Option<String> {
    let sealed = answer["host_secret_sealed"].as_str()?;
    key.open(sealed).ok().map(|b| String::from_utf8(b).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exact_bytes_of_an_enrolment_sent_again_get_only_ciphertext() {
    let s = TestServer::start(Policy::Auto).await;
    let victim = EnrolKey::generate();
    let body = enrolling("victim01", "SN-VICTIM", &victim);
    let (status, first) = s.send_as(&s.agent, "POST", "/api/v1/reports", &body).await;
    assert_eq!(status, 200, "{first}");
    assert!(first.get("host_secret").is_none(), "a credential in clear: {first}");
    let secret = opened(&victim, &first).expect("the enrolling host opens its credential");
    let id = first["asset_id"].as_i64().unwrap();

    // Another fleet-key holder copies the report (the same bytes) and sends it with a fresh nonce.
    let copy = stored_report(&s, id);
    assert_eq!(copy, body, "the stored report is the exact request body");
    let (status, replay) = s.send_as(&s.agent, "POST", "/api/v1/reports", &copy).await;
    assert_eq!((status, &replay["duplicate"]), (200, &serde_json::json!(true)), "{replay}");
    assert!(replay.get("host_secret").is_none(), "the copy got the victim's secret: {replay}");
    let attacker = EnrolKey::generate();
    assert_eq!(opened(&attacker, &replay), None, "the copier opened the credential");
    // The host itself, retrying after a lost answer, gets its credential again.
    assert_eq!(opened(&victim, &replay).as_deref(), Some(secret.as_str()));

    // Changing the key in the copy is another body: refused, not answered.
    let mut forged: serde_json::Value = serde_json::from_slice(&copy).unwrap();
    forged["agent"]["enrol_key"] = attacker.public_hex().into();
    let (status, refused) = s.send_as(&s.agent, "POST", "/api/v1/reports", forged.to_string().as_bytes()).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("report_id_conflict")), "{refused}");

    // The credential the host opened is the one that writes its asset.
    let key = (first["host_key_id"].as_str().unwrap().to_owned(), assetkit_sign::Secret::new(&secret));
    let (status, body) = s.report_as(&key, &physical("victim01", "SN-VICTIM")).await;
    assert_eq!(status, 200, "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyless_enrolment_is_answered_in_clear_once_and_never_again() {
    let s = TestServer::start(Policy::Auto).await;
    let body = serde_json::to_vec(&physical("old-agent01", "SN-OLD")).unwrap();
    let (status, first) = s.send_as(&s.agent, "POST", "/api/v1/reports", &body).await;
    assert_eq!(status, 200, "{first}");
    assert!(first["host_secret"].as_str().is_some(), "the first answer of the first protocol: {first}");
    let (status, replay) = s.send_as(&s.agent, "POST", "/api/v1/reports", &body).await;
    assert_eq!(status, 200, "{replay}");
    assert!(replay.get("host_secret").is_none() && replay.get("host_secret_sealed").is_none(), "{replay}");
    assert_eq!(replay["credential_withheld"], true, "{replay}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_replicas_a_copied_enrolment_gets_only_ciphertext() {
    crate::only_on!(Engine::Postgres, "replicas share a PostgreSQL database");
    let db = TestDb::new();
    let shared = db.share();
    let a = Arc::new(TestServer::start_on(db, |c| c.policy = Policy::Auto).await);
    let b = Arc::new(TestServer::start_on(shared, |c| c.policy = Policy::Auto).await);
    let victim = EnrolKey::generate();
    let body = enrolling("victim02", "SN-VICTIM2", &victim);
    let (status, first) = a.send_as(&a.agent, "POST", "/api/v1/reports", &body).await;
    assert_eq!(status, 200, "{first}");
    let secret = opened(&victim, &first).unwrap();
    let copy = stored_report(&b, first["asset_id"].as_i64().unwrap());
    let (status, replay) = b.send_as(&b.agent, "POST", "/api/v1/reports", &copy).await;
    // Replica b's fleet key is another key of the same fleet: a report_id is bound to its
    // sender's key, so the copy sent with it is refused outright.
    assert_eq!((status, replay["error"]["code"].as_str()), (409, Some("report_id_conflict")), "{replay}");
    // With a's fleet key (shared by the fleet) through replica b: ciphertext only.
    let (status, replay) = b.send_as(&a.agent, "POST", "/api/v1/reports", &copy).await;
    assert_eq!(status, 200, "{replay}");
    assert!(replay.get("host_secret").is_none(), "{replay}");
    assert_eq!(opened(&EnrolKey::generate(), &replay), None);
    assert_eq!(opened(&victim, &replay).as_deref(), Some(secret.as_str()));
    drop(b);
    Arc::try_unwrap(a).ok().unwrap().stop().await;
}
