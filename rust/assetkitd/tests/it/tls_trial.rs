//! HTTPS for a trial (issue 26): `assetkitd tls self-signed` makes what a receiver serves and an
//! agent trusts, and the agent says in a sentence what is wrong with a certificate it refuses.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assetkit_agent::client::{Client, SendError};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

use crate::support::{TestServer, addr_of, cli_raw};

/// A receiver serving `cert` and `key` over TLS; its port.
async fn served(cert: &Path, key: &Path) -> (TestServer, u16) {
    let tls = Some((cert.to_path_buf(), key.to_path_buf()));
    let s = TestServer::start_with(|c| c.tls = tls).await;
    let port = addr_of(&s.base).rsplit(':').next().unwrap().parse().unwrap();
    (s, port)
}

/// What the agent's client gets asking `url`, trusting `ca`.
async fn ask(s: &TestServer, url: &str, ca: Option<&Path>) -> Result<Vec<String>, SendError> {
    let client = Client::new(url, &s.admin.0, s.admin.1.clone(), ca, Duration::from_secs(10)).unwrap();
    client.pending_hosts().await
}

fn refused(result: Result<Vec<String>, SendError>) -> String {
    match result {
        Err(e @ SendError::Certificate { .. }) => e.to_string(),
        other => panic!("expected a refused certificate, got {other:?}"),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trial_certificates_are_trusted_and_each_refusal_is_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tls");
    let (ok, said, err) = cli_raw(&["tls", "self-signed", "--host", "localhost", "--out", out.to_str().unwrap()]);
    assert!(ok && said.contains("ca_file"), "{said}{err}");
    let mode = std::fs::metadata(out.join("server.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (ok, _, err) = cli_raw(&["tls", "self-signed", "--host", "localhost", "--out", out.to_str().unwrap()]);
    assert!(!ok && err.contains("--force"), "files were replaced silently: {err}");

    let (s, port) = served(&out.join("server.pem"), &out.join("server.key")).await;
    let ca = out.join("ca.pem");
    let by_name = format!("https://localhost:{port}");
    assert!(ask(&s, &by_name, Some(&ca)).await.is_ok(), "the agent does not trust the trial certificate");
    let no_ca = refused(ask(&s, &by_name, None).await);
    assert!(no_ca.contains("signed by a CA this host does not trust") && no_ca.contains("ca_file"), "{no_ca}");
    let by_ip = refused(ask(&s, &format!("https://127.0.0.1:{port}"), Some(&ca)).await);
    assert!(by_ip.contains("not valid for 127.0.0.1") && by_ip.contains("--host"), "{by_ip}");
    s.stop().await;

    // A self-signed certificate made the usual way is a CA certificate.
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let usual = write(dir.path(), "usual.pem", &params.self_signed(&key).unwrap().pem());
    let usual_key = write(dir.path(), "usual.key", &key.serialize_pem());
    let (s, port) = served(&usual, &usual_key).await;
    let as_leaf = refused(ask(&s, &format!("https://localhost:{port}"), Some(&usual)).await);
    assert!(as_leaf.contains("is a CA certificate") && as_leaf.contains("assetkitd tls self-signed"), "{as_leaf}");
    assert!(!as_leaf.contains("CaUsedAsEndEntity") && !as_leaf.contains("cannot reach"), "{as_leaf}");
    s.stop().await;

    // Expired: signed by a CA the agent trusts, valid until a year ago.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let old_ca = write(dir.path(), "old-ca.pem", &ca_params.self_signed(&ca_key).unwrap().pem());
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let leaf_key = KeyPair::generate().unwrap();
    let expired = write(dir.path(), "expired.pem", &leaf.signed_by(&leaf_key, &issuer).unwrap().pem());
    let expired_key = write(dir.path(), "expired.key", &leaf_key.serialize_pem());
    let (s, port) = served(&expired, &expired_key).await;
    let old = refused(ask(&s, &format!("https://localhost:{port}"), Some(&old_ca)).await);
    assert!(old.contains("expired at 2021-01-01") && old.contains("renew"), "{old}");
    s.stop().await;
}
