//! Which key signs a report: the host's own credential once it has one, the fleet key before
//! (enrolment), and the credential the receiver's answer carries is kept for next time. An
//! enrolling report carries the public half of the host's enrolment key, and the answer's
//! credential comes sealed to it: a copy of the report sent by someone else gets ciphertext.
//!
//! Every way a report reaches the receiver goes through here: the agent (`assetkit report`),
//! the SSH sweep, the Python extension (Salt, Ansible). So one host's reports are always signed
//! with that host's credential, whatever carried them.

use std::path::Path;
use std::time::{Duration, Instant};

use assetkit_core::Report;
use assetkit_sign::Secret;
use assetkit_sign::enrol::EnrolKey;

use crate::client::{Answer, Client, SendError};
use crate::credential::{CredentialFile, HostCredential};
use crate::packages::{self, PackagesAck};

/// Signs reports for one host.
pub struct Signer {
    server: String,
    ca_file: Option<std::path::PathBuf>,
    timeout: Duration,
    fleet: Option<Client>,
    credential: CredentialFile,
}

impl Signer {
    /// A signer for the host whose credential lives in `credential`, with the fleet key
    /// `(key_id, secret)` for its enrolment (or a re-enrolment an admin allows).
    pub fn new(
        server: &str,
        fleet: Option<(&str, Secret)>,
        credential: CredentialFile,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Signer, SendError> {
        let fleet = match fleet {
            Some((key_id, secret)) => Some(Client::new(server, key_id, secret, ca_file, timeout)?),
            None => None,
        };
        Ok(Signer::with_fleet_client(server, fleet, credential, ca_file, timeout))
    }

    /// A signer sharing an already built fleet client (a sweep signs for many hosts).
    pub fn with_fleet_client(
        server: &str,
        fleet: Option<Client>,
        credential: CredentialFile,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Signer {
        Signer { server: server.to_owned(), ca_file: ca_file.map(Path::to_path_buf), timeout, fleet, credential }
    }

    /// The host credential in use, if any.
    pub fn host_credential(&self) -> Result<Option<HostCredential>, SendError> {
        self.credential.load().map_err(|e| SendError::Setup(e.to_string()))
    }

    fn host_client(&self, credential: &HostCredential) -> Result<Client, SendError> {
        Client::new(&self.server, &credential.key_id, credential.secret.clone(), self.ca_file.as_deref(), self.timeout)
    }

    /// Posts `report`, retrying transient failures until `deadline`: signed with the host's
    /// credential if it has one; with the fleet key if it has none, or if the receiver no longer
    /// knows the credential (revoked, or the host was re-installed elsewhere). A credential in
    /// the answer is stored before the answer is returned; if it cannot be stored, the error
    /// says so and the caller keeps the report, whose retry brings the same credential again.
    ///
    /// A package list the receiver acknowledged before goes as its digest alone; when the
    /// receiver does not hold it (409 `packages_unknown`), the full report goes at once.
    pub async fn post_report(&self, report: &Report, deadline: Instant) -> Result<Answer, SendError> {
        let ack = PackagesAck::beside(self.credential.path());
        let digest = packages::digest_of(report);
        let acknowledged = digest.is_some() && ack.acknowledged(&self.server) == digest;
        let (answer, full_list_sent) = match digest.as_deref().filter(|_| acknowledged) {
            Some(d) => match self.post_signed(&packages::digest_only(report, d), deadline).await {
                Err(e) if e.is_packages_unknown() => {
                    tracing::info!("the receiver does not hold this host's package list; sending it in full");
                    ack.forget();
                    (self.post_signed(report, deadline).await?, true)
                }
                other => (other?, false),
            },
            None => (self.post_signed(report, deadline).await?, true),
        };
        if let Some(d) = digest.filter(|_| full_list_sent) {
            ack.store(&self.server, &d);
        }
        Ok(answer)
    }

    async fn post_signed(&self, report: &Report, deadline: Instant) -> Result<Answer, SendError> {
        let (answer, enrol_key) = match self.host_credential()? {
            Some(credential) => {
                let host = self.host_client(&credential)?;
                match host.post_report_with_retry(report, deadline).await {
                    Err(e) if e.is_unknown_key() && self.fleet.is_some() => {
                        tracing::warn!(key_id = %credential.key_id, error = %e, "the host credential was refused; asking to enrol again with the fleet key");
                        self.enrol(report, deadline).await?
                    }
                    other => (other?, None),
                }
            }
            None => self.enrol(report, deadline).await?,
        };
        if let Some(credential) = answer.credential(enrol_key.as_ref())? {
            self.credential.store(&credential).map_err(|e| {
                SendError::Credential(format!(
                    "the receiver issued credential {} but it could not be stored: {e}",
                    credential.key_id
                ))
            })?;
            tracing::info!(key_id = %credential.key_id, file = %self.credential.path().display(), "host credential stored; later reports are signed with it");
        }
        Ok(answer)
    }

    /// Sends `report` with the fleet key, carrying the public half of this host's enrolment key:
    /// the receiver seals the credential it issues to it.
    async fn enrol(&self, report: &Report, deadline: Instant) -> Result<(Answer, Option<EnrolKey>), SendError> {
        let fleet = self.fleet_client()?;
        let key = self.credential.enrol_key().map_err(|e| SendError::Setup(e.to_string()))?;
        let mut report = report.clone();
        report.agent.enrol_key = Some(key.public_hex());
        match fleet.post_report_with_retry(&report, deadline).await {
            Ok(answer) => Ok((answer, Some(key))),
            Err(e) => {
                // Refused outright: nothing was issued, and no retry will be answered with a
                // credential for this key.
                if matches!(e, SendError::Refused { status: 400..=499, .. }) {
                    self.credential.forget_enrol_key();
                }
                Err(e)
            }
        }
    }

    fn fleet_client(&self) -> Result<&Client, SendError> {
        self.fleet.as_ref().ok_or_else(|| {
            SendError::Setup(format!(
                "no host credential in {} and no fleet key configured (key_id, key_file) to enrol with",
                self.credential.path().display()
            ))
        })
    }
}
