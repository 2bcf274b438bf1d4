//! assetkit-sign: the request signature shared by the agent, the Python extension and the
//! receiver, so that all three agree byte for byte.
//!
//! ```text
//! X-Assetkit-Key:       <key id>
//! X-Assetkit-Timestamp: <unix seconds>
//! X-Assetkit-Nonce:     <at least 16 random bytes, hex>
//! X-Assetkit-Signature: hex(HMAC-SHA256(secret,
//!                         METHOD "\n" PATH_AND_QUERY "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA256(body))))
//! ```
//!
//! The HMAC key is the secret string's bytes, as stored in the key file (trailing newline
//! stripped), so `openssl dgst -sha256 -hmac "$(cat keyfile)"` computes the same signature.
//!
//! Invariants: signatures are compared in constant time; nothing here logs or formats a secret
//! (the [`Secret`] type's `Debug` is redacted). Replay protection (remembering nonces) is the
//! receiver's job; this crate only checks the nonce's shape and the timestamp window.
//!
//! [`enrol`] is the other half of the trust model: the key a host enrols with, to which the
//! receiver seals the host's credential.

use std::fmt;

pub mod enrol;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Header carrying the key id.
pub const HEADER_KEY: &str = "x-assetkit-key";
/// Header carrying the unix timestamp.
pub const HEADER_TIMESTAMP: &str = "x-assetkit-timestamp";
/// Header carrying the nonce.
pub const HEADER_NONCE: &str = "x-assetkit-nonce";
/// Header carrying the signature.
pub const HEADER_SIGNATURE: &str = "x-assetkit-signature";

/// Nonces shorter than this many hex digits (16 bytes) are refused.
pub const MIN_NONCE_HEX: usize = 32;
/// Nonces longer than this are refused (they would bloat the nonce store).
pub const MAX_NONCE_HEX: usize = 128;

type HmacSha256 = hmac::Hmac<Sha256>;

/// An API key secret. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps secret text, trimming surrounding whitespace (key files end in a newline).
    pub fn new(text: impl AsRef<str>) -> Self {
        Secret(text.as_ref().trim().to_owned())
    }
    /// A fresh random secret: `aks_` and 64 hex digits (256 bits).
    pub fn generate() -> Self {
        Self::generate_as("aks_")
    }
    /// A fresh random secret with another prefix (`whs_` for a webhook's), so that a secret
    /// found in a file or a log says what it signs.
    pub fn generate_as(prefix: &str) -> Self {
        Secret(format!("{prefix}{}", random_hex(32)))
    }
    /// The secret text, for writing it once to a key file or showing it once to an admin.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// True when the secret is empty (an empty key file).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The four headers of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-Assetkit-Key`.
    pub key_id: String,
    /// `X-Assetkit-Timestamp`.
    pub timestamp: i64,
    /// `X-Assetkit-Nonce`.
    pub nonce: String,
    /// `X-Assetkit-Signature`.
    pub signature: String,
}

impl SignedHeaders {
    /// `(name, value)` pairs in wire form.
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_KEY, self.key_id.clone()),
            (HEADER_TIMESTAMP, self.timestamp.to_string()),
            (HEADER_NONCE, self.nonce.clone()),
            (HEADER_SIGNATURE, self.signature.clone()),
        ]
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// A header is absent.
    #[error("missing header {0}")]
    Missing(&'static str),
    /// The timestamp is not an integer.
    #[error("X-Assetkit-Timestamp is not a unix timestamp")]
    BadTimestamp,
    /// The timestamp is outside the window around the server clock.
    #[error("timestamp is {skew}s from the server clock (window {window}s): check the host's clock (NTP)")]
    Stale {
        /// Signed difference, request minus server.
        skew: i64,
        /// Allowed absolute difference.
        window: i64,
    },
    /// The nonce is not 32-128 hex digits.
    #[error("X-Assetkit-Nonce must be 32 to 128 hex digits (16+ random bytes)")]
    BadNonce,
    /// The signature does not match.
    #[error("signature mismatch")]
    Mismatch,
}

/// `hex(sha256(body))`.
pub fn body_digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The string that is signed.
pub fn canonical(method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &[u8]) -> String {
    format!("{}\n{}\n{}\n{}\n{}", method.to_ascii_uppercase(), path_and_query, timestamp, nonce, body_digest(body))
}

fn mac(secret: &Secret, method: &str, path_and_query: &str, timestamp: i64, nonce: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.0.as_bytes()).expect("HMAC accepts any key length");
    mac.update(canonical(method, path_and_query, timestamp, nonce, body).as_bytes());
    mac
}

/// The hex signature for explicit inputs.
pub fn signature(
    secret: &Secret,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    hex::encode(mac(secret, method, path_and_query, timestamp, nonce, body).finalize().into_bytes())
}

/// Header a webhook delivery carries its signature in (`sha256=<hex>`).
pub const HEADER_WEBHOOK_SIGNATURE: &str = "x-assetkit-signature";
/// Header carrying a webhook event's id, the same on every retry: receivers de-duplicate by it.
pub const HEADER_WEBHOOK_EVENT_ID: &str = "x-assetkit-event-id";

/// The signature of a webhook delivery: `sha256=` and
/// `hex(HMAC-SHA256(secret, TIMESTAMP "." BODY))`, TIMESTAMP being the `X-Assetkit-Timestamp`
/// header. Signing the timestamp with the body lets an endpoint refuse an old delivery replayed
/// later (as Stripe and Slack sign theirs).
pub fn webhook_signature(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(webhook_mac(secret, timestamp, body).finalize().into_bytes()))
}

/// Checks a webhook delivery's signature, in constant time.
pub fn verify_webhook(secret: &Secret, timestamp: i64, body: &[u8], signature: &str) -> Result<(), SignError> {
    let Some(given) = signature.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok()) else {
        return Err(SignError::Mismatch);
    };
    webhook_mac(secret, timestamp, body).verify_slice(&given).map_err(|_| SignError::Mismatch)
}

fn webhook_mac(secret: &Secret, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.0.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Signs a request now, with a fresh nonce.
pub fn sign(key_id: &str, secret: &Secret, method: &str, path_and_query: &str, body: &[u8]) -> SignedHeaders {
    let timestamp = unix_now();
    let nonce = random_hex(16);
    let signature = signature(secret, method, path_and_query, timestamp, &nonce, body);
    SignedHeaders { key_id: key_id.to_owned(), timestamp, nonce, signature }
}

/// Checks the signature in constant time.
pub fn verify(
    secret: &Secret,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
    signature_hex: &str,
) -> Result<(), SignError> {
    let given = hex::decode(signature_hex.trim()).map_err(|_| SignError::Mismatch)?;
    mac(secret, method, path_and_query, timestamp, nonce, body).verify_slice(&given).map_err(|_| SignError::Mismatch)
}

/// Checks that `timestamp` is within `window` seconds of `now`, in either direction.
pub fn check_timestamp(timestamp: i64, now: i64, window: i64) -> Result<(), SignError> {
    // In i128: any i64 from a header minus the clock neither overflows nor saturates into range.
    let skew = i128::from(timestamp) - i128::from(now);
    if skew.abs() > i128::from(window) {
        Err(SignError::Stale { skew: skew.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64, window })
    } else {
        Ok(())
    }
}

/// Checks the nonce's shape.
pub fn check_nonce(nonce: &str) -> Result<(), SignError> {
    let ok = (MIN_NONCE_HEX..=MAX_NONCE_HEX).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err(SignError::BadNonce) }
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `n` random bytes from the OS, hex-encoded.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // Computed independently with:
        // printf 'POST\n/api/v1/reports\n1700000000\n000102030405060708090a0b0c0d0e0f\n%s' \
        //   "$(printf '{}' | sha256sum | cut -d' ' -f1)" | openssl dgst -sha256 -hmac 'aks_test'
        let s = Secret::new("aks_test\n");
        let sig = signature(&s, "post", "/api/v1/reports", 1_700_000_000, "000102030405060708090a0b0c0d0e0f", b"{}");
        assert_eq!(sig, "eeee9bbbb80960a5cac906520fa59c10041c9b35fbebbb6d07548210563cb231");
    }

    #[test]
    fn round_trip_and_tamper() {
        let s = Secret::generate();
        let h = sign("ak_1", &s, "POST", "/api/v1/reports", b"body");
        assert!(verify(&s, "POST", "/api/v1/reports", h.timestamp, &h.nonce, b"body", &h.signature).is_ok());
        assert_eq!(
            verify(&s, "POST", "/api/v1/reports", h.timestamp, &h.nonce, b"bodY", &h.signature),
            Err(SignError::Mismatch)
        );
        assert_eq!(
            verify(&s, "POST", "/api/v1/reportz", h.timestamp, &h.nonce, b"body", &h.signature),
            Err(SignError::Mismatch)
        );
        assert_eq!(
            verify(&Secret::generate(), "POST", "/api/v1/reports", h.timestamp, &h.nonce, b"body", &h.signature),
            Err(SignError::Mismatch)
        );
        assert_eq!(
            verify(&s, "POST", "/api/v1/reports", h.timestamp, &h.nonce, b"body", "zz"),
            Err(SignError::Mismatch)
        );
    }

    #[test]
    fn windows_and_nonces() {
        assert!(check_timestamp(1000, 1300, 300).is_ok());
        assert!(check_timestamp(1000, 1301, 300).is_err());
        assert!(check_timestamp(1301, 1000, 300).is_err());
        assert!(check_timestamp(i64::MIN, 1_700_000_000, 300).is_err());
        assert!(check_timestamp(i64::MAX, 1_700_000_000, 300).is_err());
        assert!(check_timestamp(i64::MIN + 1_700_000_000, 1_700_000_000, 300).is_err());
        assert!(check_nonce(&random_hex(16)).is_ok());
        assert!(check_nonce("abc").is_err());
        assert!(check_nonce(&"g".repeat(32)).is_err());
        assert_eq!(format!("{:?}", Secret::new("aks_x")), "Secret(<redacted>)");
    }
}
