//! Every rejection gets a clear JSON error and writes nothing.

use assetkit_sign::{Secret, SignedHeaders};
use assetkitd::domain::apply::Policy;

use crate::support::{TestServer, physical};

async fn assert_rejected(s: &TestServer, status: u16, code: &str, got: (u16, serde_json::Value)) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(!got.1["error"]["message"].as_str().unwrap().is_empty());
    let _ = s;
}

fn signed(key: &(String, Secret), method: &str, path: &str, body: &[u8], ts_offset: i64) -> SignedHeaders {
    let ts = assetkit_sign::unix_now() + ts_offset;
    let nonce = assetkit_sign::random_hex(16);
    let signature = assetkit_sign::signature(&key.1, method, path, ts, &nonce, body);
    SignedHeaders { key_id: key.0.clone(), timestamp: ts, nonce, signature }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_write_nothing() {
    let s = TestServer::start(Policy::Auto).await;
    s.report_ok(&physical("seed", "SEED-1")).await;
    let before = s.dump();
    let path = "/api/v1/reports";
    let good = serde_json::to_vec(&physical("web03", "SN-W3")).unwrap();

    // Oversized body: 413 before anything is parsed. On a raw connection: the server answers
    // and closes without reading the body, which an HTTP client still sending it takes for a
    // broken connection.
    let big = vec![b' '; (2 << 20) + 1];
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
        big.len(),
        crate::support::signed_head(&s.agent, "POST", path, &big)
    );
    let (status, text) =
        crate::support::raw_http(&crate::support::addr_of(&s.base), &head, big, std::time::Duration::from_secs(10))
            .await
            .expect("an answer");
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("body_too_large"), "{text}");
    // Malformed JSON: 400.
    assert_rejected(&s, 400, "malformed_json", s.send_as(&s.agent, "POST", path, b"{\"schema_version\": 1,").await)
        .await;
    // JSON that is not a report: 422, naming the first field the schema refuses.
    let got = s.send_as(&s.agent, "POST", path, br#"{"schema_version": 1, "facts": 3}"#).await;
    assert_eq!(got.1["error"]["field"], "(report)", "{}", got.1);
    assert_rejected(&s, 422, "invalid_report", got).await;
    let mut wrong = serde_json::to_value(physical("web03", "SN-W3")).unwrap();
    wrong["facts"]["system"]["virtual"] = serde_json::Value::Null;
    let got = s.send_as(&s.agent, "POST", path, wrong.to_string().as_bytes()).await;
    assert_eq!(got.1["error"]["field"], "facts.system.virtual", "{}", got.1);
    assert_rejected(&s, 422, "invalid_report", got).await;
    // Unknown schema_version: 422.
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    v["schema_version"] = 2.into();
    assert_rejected(
        &s,
        422,
        "unsupported_schema_version",
        s.send_as(&s.agent, "POST", path, v.to_string().as_bytes()).await,
    )
    .await;
    // Wrong signature: 401.
    let mut h = signed(&s.agent, "POST", path, &good, 0);
    h.signature = assetkit_sign::signature(&Secret::new("aks_wrong"), "POST", path, h.timestamp, &h.nonce, &good);
    assert_rejected(&s, 401, "bad_signature", s.send_with("POST", path, &good, &h).await).await;
    // Body changed after signing: 401.
    let h = signed(&s.agent, "POST", path, b"{}", 0);
    assert_rejected(&s, 401, "bad_signature", s.send_with("POST", path, &good, &h).await).await;
    // Stale and future timestamps: 401. (Well past the 300 s window: a future timestamp comes
    // closer to the server's clock with every second the test runs.)
    for offset in [-360, 360] {
        let h = signed(&s.agent, "POST", path, &good, offset);
        assert_rejected(&s, 401, "stale_timestamp", s.send_with("POST", path, &good, &h).await).await;
    }
    // Unknown key: 401.
    let ghost = ("ak_ghost".to_owned(), Secret::new("aks_ghost"));
    assert_rejected(&s, 401, "unauthorized", s.send_as(&ghost, "POST", path, &good).await).await;
    // Missing headers: 401.
    let resp = s.client.post(format!("{}{path}", s.base)).body(good.clone()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // A nonce too short: 401.
    let mut h = signed(&s.agent, "POST", path, &good, 0);
    h.nonce = "abcd".into();
    h.signature = assetkit_sign::signature(&s.agent.1, "POST", path, h.timestamp, &h.nonce, &good);
    assert_rejected(&s, 401, "unauthorized", s.send_with("POST", path, &good, &h).await).await;
    // Malformed path and query parameters: the API's JSON error, not a bare 400.
    assert_rejected(&s, 400, "bad_request", s.send_as(&s.admin, "GET", "/api/v1/assets/abc", b"").await).await;
    assert_rejected(&s, 400, "bad_query", s.send_as(&s.admin, "GET", "/api/v1/assets?page=minus-one", b"").await).await;
    // Agent key on an admin route: 403.
    assert_rejected(&s, 403, "forbidden", s.send_as(&s.agent, "GET", "/api/v1/assets", b"").await).await;
    assert_rejected(&s, 403, "forbidden", s.send_as(&s.agent, "POST", "/api/v1/assets", br#"{"hostname":"x"}"#).await)
        .await;

    assert_eq!(before, s.dump(), "a rejected request wrote to the database");

    // Replay: the same signed request twice. The first lands, the second is 409.
    let h = signed(&s.agent, "POST", path, &good, 0);
    let first = s.send_with("POST", path, &good, &h).await;
    assert_eq!(first.0, 200, "{}", first.1);
    let after_first = s.dump();
    assert_rejected(&s, 409, "replay", s.send_with("POST", path, &good, &h).await).await;
    assert_eq!(after_first, s.dump());

    // The metrics count every reason.
    let metrics = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap().text().await.unwrap();
    for reason in [
        "body_too_large",
        "malformed_json",
        "invalid_report",
        "unsupported_schema_version",
        "bad_signature",
        "stale_timestamp",
        "forbidden",
        "replay",
    ] {
        assert!(metrics.contains(&format!("reason=\"{reason}\"")), "no {reason} in\n{metrics}");
    }
    assert!(metrics.contains("assetkit_reports_applied_total{action=\"created\"} 2"), "{metrics}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_is_refused_after_a_restart() {
    // Nonces live in the database: a restart does not reopen the window for a captured request.
    let s = TestServer::start(Policy::Auto).await;
    let body = serde_json::to_vec(&physical("web04", "SN-W4")).unwrap();
    let h = signed(&s.agent, "POST", "/api/v1/reports", &body, 0);
    assert_eq!(s.send_with("POST", "/api/v1/reports", &body, &h).await.0, 200);
    let db = s.stop_keeping_db().await;
    let s2 = TestServer::start_on(db, |_| {}).await;
    assert_rejected(&s2, 409, "replay", s2.send_with("POST", "/api/v1/reports", &body, &h).await).await;
    s2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_key_is_refused() {
    let s = TestServer::start(Policy::Auto).await;
    let (id, secret) = s.db.create_key("short-lived", "agent");
    let key = (id.clone(), secret);
    assert!(s.db.with(|db| assetkitd::domain::keys::revoke(db, &id, assetkit_sign::unix_now()).unwrap()));
    let body = serde_json::to_vec(&physical("web05", "SN-W5")).unwrap();
    let got = s.send_as(&key, "POST", "/api/v1/reports", &body).await;
    assert_eq!(got.0, 401);
    assert!(got.1["error"]["message"].as_str().unwrap().contains("revoked"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interoperates_with_curl_and_openssl() {
    // The README's shell example, run for real: curl + openssl sign, the server accepts.
    let s = TestServer::start(Policy::Auto).await;
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("report.json");
    std::fs::write(&body_file, serde_json::to_vec(&physical("shell01", "SN-SH1")).unwrap()).unwrap();
    let script = format!(
        r#"set -eu
KEY_ID='{key_id}'; SECRET='{secret}'; BODY='{body}'; PATH_Q=/api/v1/reports
TS=$(date +%s); NONCE=$(openssl rand -hex 16)
HASH=$(sha256sum "$BODY" | cut -d' ' -f1)
SIG=$(printf 'POST\n%s\n%s\n%s\n%s' "$PATH_Q" "$TS" "$NONCE" "$HASH" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= //')
curl -sS -X POST "{base}$PATH_Q" -H 'Content-Type: application/json' \
  -H "X-Assetkit-Key: $KEY_ID" -H "X-Assetkit-Timestamp: $TS" -H "X-Assetkit-Nonce: $NONCE" \
  -H "X-Assetkit-Signature: $SIG" --data-binary "@$BODY""#,
        key_id = s.agent.0,
        secret = s.agent.1.expose(),
        body = body_file.display(),
        base = s.base
    );
    let out = tokio::process::Command::new("sh").arg("-c").arg(&script).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["action"], "created", "{answer}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_timestamps_and_upper_case_nonces() {
    let s = TestServer::start(Policy::Auto).await;
    let path = "/api/v1/reports";
    let body = serde_json::to_vec(&physical("web06", "SN-W6")).unwrap();
    for ts in [i64::MIN, i64::MAX, 0] {
        let nonce = assetkit_sign::random_hex(16);
        let signature = assetkit_sign::signature(&s.agent.1, "POST", path, ts, &nonce, &body);
        let h = SignedHeaders { key_id: s.agent.0.clone(), timestamp: ts, nonce, signature };
        assert_rejected(&s, 401, "stale_timestamp", s.send_with("POST", path, &body, &h).await).await;
    }
    // Hex may be sent in upper case; it is the same nonce in lower case.
    let mut h = signed(&s.agent, "POST", path, &body, 0);
    h.nonce = h.nonce.to_ascii_uppercase();
    h.signature = assetkit_sign::signature(&s.agent.1, "POST", path, h.timestamp, &h.nonce, &body);
    let ok = s.send_with("POST", path, &body, &h).await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    let mut lower = h.clone();
    lower.nonce = h.nonce.to_ascii_lowercase();
    lower.signature = assetkit_sign::signature(&s.agent.1, "POST", path, lower.timestamp, &lower.nonce, &body);
    assert_rejected(&s, 409, "replay", s.send_with("POST", path, &body, &lower).await).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_in_any_text_is_refused_with_its_field_on_every_engine() {
    let s = TestServer::start(Policy::Auto).await;
    let before = s.dump();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit); 5] = [
        ("facts.system.product_name", |v| v["facts"]["system"]["product_name"] = "R640\u{0}".into()),
        ("facts.system.serial_number", |v| v["facts"]["system"]["serial_number"] = "SN\u{0}1".into()),
        ("facts.nics[0].addresses[0].address", |v| {
            v["facts"]["nics"][0]["addresses"][0]["address"] = "10.0.0.1\u{0}".into()
        }),
        ("errors[0].message", |v| v["errors"] = serde_json::json!([{"plugin": "disk", "message": "a\u{0}b"}])),
        ("facts.custom", |v| v["facts"]["custom"] = serde_json::json!({"a\u{0}b": 1})),
    ];
    for (field, edit) in cases {
        let mut report = serde_json::to_value(physical("nul01", "SN-NUL01")).unwrap();
        edit(&mut report);
        let body = report.to_string();
        let (status, answer) = s.send_as(&s.agent, "POST", "/api/v1/reports", body.as_bytes()).await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert!(answer["error"]["field"].as_str().unwrap().starts_with(field), "{field}: {answer}");
    }
    assert_eq!(s.dump(), before, "a refused report wrote something");
    // Inside a custom fact's JSON a NUL is data, stored escaped.
    let mut report = serde_json::to_value(physical("nul02", "SN-NUL02")).unwrap();
    report["facts"]["custom"] = serde_json::json!({"rack": {"label": "A\u{0}7"}});
    let (status, answer) = s.send_as(&s.agent, "POST", "/api/v1/reports", report.to_string().as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    s.stop().await;
}
