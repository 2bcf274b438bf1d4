//! Webhooks seen from an attacker with an admin login, and from a slow endpoint: deliveries
//! never reach internal addresses unless the operator allowed their network, failures are told
//! coarsely, and one endpoint that does not answer holds up nobody else's alerts.

use std::time::Duration;

use assetkitd::domain::apply::Policy;
use assetkitd::http::state::WebhookSettings;

use crate::support::{TestServer, cli, physical};
use crate::webhooks::{Endpoint, Mode, add_webhook, fast, local, secret_file, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_destinations_are_refused_unless_their_network_is_allowed() {
    let s = TestServer::start(Policy::Auto).await;
    let (_dir, secret) = secret_file();
    for (url, why) in [
        ("http://127.0.0.1:22/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.0.0.5:8080/hook", "private"),
        ("http://[::1]:6379/", "loopback"),
        ("http://[::ffff:127.0.0.1]:25/", "loopback"),
        ("http://localhost:9/", "loopback"),
    ] {
        let (ok, _, err) = cli(&s.db, &["webhooks", "add", "--url", url, "--secret-file", &secret]);
        assert!(!ok && err.contains(why), "{url}: {err}");
    }
    assert_eq!(s.db.scalar::<i64>("SELECT COUNT(*) FROM webhooks", &[]), 0);

    // Added where it was allowed, delivered by a server that does not allow it: the guard at
    // delivery refuses the connection, and the endpoint never hears a byte.
    let hook = Endpoint::start().await;
    add_webhook(&s.db, &format!("{}/inside", hook.base), &[]);
    s.report_ok(&physical("guard01", "SN-GUARD01")).await;
    until("the delivery to fail", || {
        s.db.scalar::<i64>("SELECT COUNT(*) FROM outbox WHERE last_error IS NOT NULL", &[]) > 0
    })
    .await;
    let error: String = s.db.scalar("SELECT last_error FROM outbox", &[]);
    assert!(error.contains("loopback") && error.contains("--webhook-allow-network"), "{error}");
    assert!(hook.received().is_empty(), "a delivery reached a refused address");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_and_an_http_error_are_told_apart_no_further() {
    let s =
        TestServer::start_with(|c| local(c, WebhookSettings { retry_base: Duration::from_secs(3600), ..fast() })).await;
    // A closed port on an allowed network.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    add_webhook(&s.db, &format!("http://{closed}/x"), &[]);
    s.report_ok(&physical("coarse01", "SN-COARSE01")).await;
    until("the delivery to fail", || {
        s.db.scalar::<i64>("SELECT COUNT(*) FROM outbox WHERE last_error IS NOT NULL", &[]) > 0
    })
    .await;
    let error: String = s.db.scalar("SELECT last_error FROM outbox", &[]);
    assert!(error.contains("could not be reached") && !error.to_lowercase().contains("refused"), "{error}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_never_answers_holds_up_only_its_own_alerts() {
    let slow = Endpoint::start().await;
    slow.set(Mode::Hold);
    let healthy = Endpoint::start().await;
    // A generous timeout: the slow endpoint holds its requests for the whole test.
    let s = TestServer::start_with(|c| local(c, WebhookSettings { timeout: Duration::from_secs(120), ..fast() })).await;
    add_webhook(&s.db, &format!("{}/slow", slow.base), &[]);
    add_webhook(&s.db, &format!("{}/healthy", healthy.base), &[]);
    // 64 discoveries: 64 alerts for each endpoint.
    for i in 0..64 {
        s.report_ok(&physical(&format!("burst{i:02}"), &format!("SN-BURST{i:02}"))).await;
    }
    let all = tokio::time::timeout(Duration::from_secs(30), healthy.until(64)).await;
    assert!(
        all.is_ok(),
        "the healthy endpoint got {} of 64 alerts beside one that never answers",
        healthy.received().len()
    );
    assert!(slow.received().len() <= 16, "the slow endpoint got more than its first batch");
    s.stop().await;
}
