//! A certificate the agent refuses, said as a sentence: what is wrong with it and what to do,
//! instead of rustls' `invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))`. The
//! server *was* reached; its certificate is the problem, and retrying does not fix it.

use std::error::Error as StdError;

use rustls::{CertificateError, Error as TlsError};

/// The sentence for the first certificate error in `error`'s chain, if there is one.
pub fn explain(error: &(dyn StdError + 'static)) -> Option<String> {
    find(error).and_then(sentence)
}

/// The rustls error in `error`'s chain. An `io::Error` carrying another error hides it from
/// `source()` (which skips to the carried error's own source), and the TLS stack nests one
/// `io::Error` in another, so each is opened with `get_ref`.
fn find<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a TlsError> {
    if let Some(tls) = error.downcast_ref::<TlsError>() {
        return Some(tls);
    }
    if let Some(inner) = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
        let inner: &(dyn StdError + 'static) = inner;
        if let Some(tls) = find(inner) {
            return Some(tls);
        }
    }
    error.source().and_then(find)
}

fn when(t: rustls::pki_types::UnixTime) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.as_secs())).to_string()
}

/// The sentence for one rustls error, when it is about the server's certificate.
pub fn sentence(error: &TlsError) -> Option<String> {
    let TlsError::InvalidCertificate(cert) = error else { return None };
    Some(match cert {
        CertificateError::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            "the server's certificate is a CA certificate; serve an end-entity certificate signed by that CA \
             (assetkitd tls self-signed makes both)"
                .into()
        }
        CertificateError::UnknownIssuer => "the server's certificate is signed by a CA this host does not trust; \
             set ca_file in agent.toml to that CA's certificate (assetkitd tls self-signed writes it as ca.pem)"
            .into(),
        CertificateError::Expired => "the server's certificate has expired; renew it".into(),
        CertificateError::ExpiredContext { time, not_after } => format!(
            "the server's certificate expired at {} (it is now {}); renew it, or check this host's clock",
            when(*not_after),
            when(*time)
        ),
        CertificateError::NotValidYet => {
            "the server's certificate is not valid yet; check the clocks of this host and the server".into()
        }
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "the server's certificate is valid from {} only (it is now {}); check the clocks of this host and the server",
            when(*not_before),
            when(*time)
        ),
        CertificateError::NotValidForName => {
            "the server's certificate does not name the host in `server`; use a name it carries, or make a \
             certificate for this one (assetkitd tls self-signed --host NAME)"
                .into()
        }
        CertificateError::NotValidForNameContext { expected, presented } => format!(
            "the server's certificate is not valid for {}: it names {}; use one of those names in `server`, or \
             make a certificate for this one (assetkitd tls self-signed --host NAME)",
            expected.to_str(),
            if presented.is_empty() { "no host at all".to_owned() } else { presented.join(", ") }
        ),
        CertificateError::Revoked => "the server's certificate has been revoked".into(),
        CertificateError::BadSignature => {
            "the server's certificate has a bad signature: it was not signed by the CA it names".into()
        }
        other => format!("the server's certificate is not acceptable: {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_certificate_problem_is_a_sentence_with_a_remedy() {
        let at = |s: u64| rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(s));
        for (error, says) in [
            (CertificateError::UnknownIssuer, "set ca_file"),
            (
                CertificateError::ExpiredContext { time: at(1_800_000_000), not_after: at(1_700_000_000) },
                "expired at 2023-11-14",
            ),
            (
                CertificateError::NotValidForNameContext {
                    expected: rustls::pki_types::ServerName::try_from("cmdb.example").unwrap().to_owned(),
                    presented: vec!["DnsName(\"other.example\")".into()],
                },
                "not valid for cmdb.example",
            ),
        ] {
            let said = sentence(&TlsError::InvalidCertificate(error)).unwrap();
            assert!(said.contains(says), "{said}");
        }
        assert_eq!(sentence(&TlsError::HandshakeNotComplete), None);
        // As tokio-rustls and hyper nest it.
        let tls = TlsError::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, tls));
        assert!(explain(&io).unwrap().contains("does not trust"));
    }
}
