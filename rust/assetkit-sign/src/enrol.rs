//! The enrolment key: how a host's credential reaches that host and nobody else.
//!
//! A host that enrols (signs with the shared fleet key) sends the public half of an X25519 key
//! pair of its own in the report (`agent.enrol_key`, 64 hex digits). The receiver answers with
//! the credential's secret *sealed* to that key: libsodium's `crypto_box_seal` (an ephemeral
//! X25519 key, XSalsa20-Poly1305), hex-encoded. Only the holder of the private half opens it.
//!
//! This is what makes an enrolment answer safe to repeat: a retry of the same report (the same
//! bytes, hence the same public key) gets the credential sealed again, which helps the host that
//! lost the first answer and nobody who copied its report. The private half stays on the host,
//! in a file of mode 0600 beside its credential file, until the credential is stored.
//!
//! Any libsodium binding opens the answer (`crypto_box_seal_open`; PyNaCl's `SealedBox`).

use std::fmt;

use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SecretKey};

/// Length of a public key in hex digits.
pub const PUBLIC_HEX: usize = 64;

/// Why an enrolment key or a sealed answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    /// Not 64 hex digits.
    #[error("an enrolment key is 64 hex digits (an X25519 public key)")]
    BadKey,
    /// The sealed text is not hex, or does not open with this key.
    #[error("the sealed credential does not open with this host's enrolment key")]
    Unsealable,
}

/// A host's enrolment key pair. The private half is never formatted.
#[derive(Clone)]
pub struct EnrolKey(SecretKey);

impl fmt::Debug for EnrolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnrolKey(public {}, private <redacted>)", self.public_hex())
    }
}

impl EnrolKey {
    /// A fresh key pair from the OS random source.
    pub fn generate() -> EnrolKey {
        EnrolKey(SecretKey::generate(&mut OsRng))
    }

    /// The key pair whose private half is `hex` (as [`EnrolKey::private_hex`] wrote it).
    pub fn from_private_hex(hex: &str) -> Result<EnrolKey, EnrolError> {
        let bytes: [u8; 32] = hex::decode(hex.trim()).ok().and_then(|b| b.try_into().ok()).ok_or(EnrolError::BadKey)?;
        Ok(EnrolKey(SecretKey::from(bytes)))
    }

    /// The private half, hex, for the host's own 0600 file.
    pub fn private_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// The public half, hex: what the report carries.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.public_key().as_bytes())
    }

    /// Opens what [`seal`] sealed to this key.
    pub fn open(&self, sealed_hex: &str) -> Result<Vec<u8>, EnrolError> {
        let sealed = hex::decode(sealed_hex.trim()).map_err(|_| EnrolError::Unsealable)?;
        self.0.unseal(&sealed).map_err(|_| EnrolError::Unsealable)
    }
}

/// Checks the shape of a public key as reports carry it.
pub fn check_public(public_hex: &str) -> Result<(), EnrolError> {
    parse_public(public_hex).map(drop)
}

fn parse_public(public_hex: &str) -> Result<PublicKey, EnrolError> {
    if public_hex.len() != PUBLIC_HEX {
        return Err(EnrolError::BadKey);
    }
    let bytes: [u8; 32] = hex::decode(public_hex).ok().and_then(|b| b.try_into().ok()).ok_or(EnrolError::BadKey)?;
    Ok(PublicKey::from(bytes))
}

/// Seals `plaintext` to the public key `public_hex` (libsodium's `crypto_box_seal`), hex.
pub fn seal(public_hex: &str, plaintext: &[u8]) -> Result<String, EnrolError> {
    let key = parse_public(public_hex)?;
    let sealed = key.seal(&mut OsRng, plaintext).map_err(|_| EnrolError::BadKey)?;
    Ok(hex::encode(sealed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_key_holder_opens_what_is_sealed_to_it() {
        let host = EnrolKey::generate();
        let sealed = seal(&host.public_hex(), b"aks_secret").unwrap();
        assert_eq!(host.open(&sealed).unwrap(), b"aks_secret");
        // Sealing twice gives two ciphertexts (a fresh ephemeral key each time).
        assert_ne!(sealed, seal(&host.public_hex(), b"aks_secret").unwrap());
        let attacker = EnrolKey::generate();
        assert_eq!(attacker.open(&sealed), Err(EnrolError::Unsealable));
        assert!(!sealed.contains(&hex::encode("aks_secret")));
    }

    #[test]
    fn keys_round_trip_and_bad_ones_are_refused() {
        let k = EnrolKey::generate();
        let again = EnrolKey::from_private_hex(&format!("{}\n", k.private_hex())).unwrap();
        assert_eq!(again.public_hex(), k.public_hex());
        assert!(!format!("{k:?}").contains(&k.private_hex()));
        assert_eq!(check_public("ab"), Err(EnrolError::BadKey));
        assert_eq!(check_public(&"zz".repeat(32)), Err(EnrolError::BadKey));
        assert!(check_public(&k.public_hex()).is_ok());
        assert!(EnrolKey::from_private_hex("00").is_err());
        assert_eq!(k.open("not hex"), Err(EnrolError::Unsealable));
    }
}
