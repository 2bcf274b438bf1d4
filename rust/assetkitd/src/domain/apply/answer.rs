//! What a report gets back: the [`Action`] it caused, the [`Outcome`] of an applied report, the
//! credential it [`Issued`] (sealed to the host's enrolment key, in clear once, or withheld),
//! or the refusal ([`Answer::Refused`]).

use assetkit_core::model::Report;
use serde::Serialize;

use crate::domain::error::{Error, Result};
use crate::domain::keys::HostCredential;

/// What happened to the asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new asset was discovered.
    Created,
    /// Something changed and was recorded.
    Updated,
    /// Nothing changed; only `last_seen` moved.
    Unchanged,
}

impl Action {
    /// As stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
        }
    }
    pub(super) fn parse(s: &str) -> Action {
        match s {
            "created" => Action::Created,
            "updated" => Action::Updated,
            _ => Action::Unchanged,
        }
    }
}

/// The answer to a report; also what a retry of the same report_id gets.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The asset the report landed on.
    pub asset_id: i64,
    /// Created, updated or unchanged.
    pub action: Action,
    /// The hostname the host must store in its cert file.
    pub cert_hostname: Option<String>,
    /// Change events recorded by this report.
    pub changes: usize,
    /// True when this report_id had already been applied.
    pub duplicate: bool,
    /// Webhook deliveries queued by this report (the delivery worker is woken for them).
    pub alerts: usize,
    /// The host's own credential, when this report enrolled it.
    pub credential: Option<Issued>,
}

/// A credential as the answer carries it.
#[derive(Debug, Clone)]
pub enum Issued {
    /// Sealed to the enrolment key the report carried (`agent.enrol_key`): only the host
    /// holding its private half opens it, so the answer may be repeated to a retry.
    Sealed {
        /// `hk_...`.
        key_id: String,
        /// The secret, sealed (libsodium `crypto_box_seal`, hex).
        sealed: String,
    },
    /// In clear, to a report without an enrolment key (clients of the first protocol): only in
    /// the first answer, never repeated.
    Clear(HostCredential),
    /// Issued to the first sender of this keyless report and not repeated: a retry is
    /// indistinguishable from a copy.
    Withheld {
        /// `hk_...`.
        key_id: String,
    },
}

impl Issued {
    /// The credential's key id.
    pub fn key_id(&self) -> &str {
        match self {
            Issued::Sealed { key_id, .. } | Issued::Withheld { key_id } => key_id,
            Issued::Clear(c) => &c.key_id,
        }
    }

    /// How `credential` travels in the answer to `report`: sealed to its enrolment key if it has
    /// one, else in clear (a first answer) or withheld (a retry).
    pub(super) fn deliver(credential: HostCredential, report: &Report, retry: bool) -> Result<Issued> {
        match report.agent.enrol_key.as_deref() {
            Some(public) => {
                let sealed = assetkit_sign::enrol::seal(public, credential.secret.expose().as_bytes())
                    .map_err(|e| Error::invalid_field("agent.enrol_key", e.to_string()))?;
                Ok(Issued::Sealed { key_id: credential.key_id, sealed })
            }
            None if retry => Ok(Issued::Withheld { key_id: credential.key_id }),
            None => Ok(Issued::Clear(credential)),
        }
    }
}

/// What became of a report.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Applied (or answered as before, for a retry).
    Applied(Outcome),
    /// Refused: only a security event was written.
    Refused {
        /// The asset the report tried to write.
        asset_id: i64,
        /// `host_enrolled` or `credential_mismatch`.
        code: &'static str,
        /// What happened and what to do.
        message: String,
    },
}
