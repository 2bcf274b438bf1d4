//! The signed-request verifier: arbitrary header values and bodies never panic, and nothing
//! but the right HMAC over exactly these inputs verifies.
#![no_main]

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    // Fields separated by 0xFF: key id, timestamp, nonce, signature, method, path, body.
    let mut fields = data.split(|b| *b == 0xFF);
    let mut next = || fields.next().unwrap_or_default();
    let (key, ts, nonce, sig, method, path, body) = (next(), next(), next(), next(), next(), next(), next());
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (assetkit_sign::HEADER_KEY, key),
        (assetkit_sign::HEADER_TIMESTAMP, ts),
        (assetkit_sign::HEADER_NONCE, nonce),
        (assetkit_sign::HEADER_SIGNATURE, sig),
    ] {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let secret = assetkit_sign::Secret::new("aks_fuzz");
    let method = String::from_utf8_lossy(method);
    let path = String::from_utf8_lossy(path);
    if let Ok(p) = assetkitd::http::auth::presented(&headers, NOW, 300) {
        assert!(assetkitd::http::auth::valid_key_id(&p.key_id));
        assert!((p.timestamp - NOW).abs() <= 300);
        let ok = p.verify(&secret, &method, &path, body).is_ok();
        let expected = assetkit_sign::signature(&secret, &method, &path, p.timestamp, &p.nonce, body);
        assert_eq!(ok, p.signature.eq_ignore_ascii_case(&expected), "verify disagrees with the signer");
    }
});
