//! Who sent a report ([`Sender`]: the fleet key, or a host's own credential) and everything
//! about applying it that is not the report itself ([`Context`]).

use crate::domain::apply::budget::NewAssets;
use crate::domain::apply::identity::Policy;
use crate::domain::changelog;
use crate::store::secrets::Keyring;

/// Who sent a report, as its key says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    /// A fleet (agent-scope) or admin key: may create an asset or bind one without a credential.
    Fleet {
        /// Key id.
        key_id: String,
    },
    /// A host credential: writes its own asset, nothing else.
    Host {
        /// Key id.
        key_id: String,
        /// The asset it is bound to.
        asset_id: i64,
    },
}

impl Sender {
    /// The key id.
    pub fn key_id(&self) -> &str {
        match self {
            Sender::Fleet { key_id } | Sender::Host { key_id, .. } => key_id,
        }
    }
}

/// Everything about a report that is not the report itself.
pub struct Context<'a> {
    /// Identity policy.
    pub policy: Policy,
    /// Test-only fault injection.
    pub failpoint: Option<Failpoint>,
    /// Seals issued credentials.
    pub ring: &'a Keyring,
    /// Who sent it.
    pub sender: &'a Sender,
    /// SHA-256 of the body, hex.
    pub body_digest: &'a str,
    /// Unix time of the write.
    pub now: i64,
    /// What one report may add to the change log.
    pub budget: changelog::Budget,
    /// How many assets a fleet key may create.
    pub new_assets: NewAssets,
}

/// Test-only fault injection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Failpoint {
    /// Fail after half the component writes of every changing report.
    pub after_half_of_component_writes: bool,
    /// Panic while applying a report whose hostname starts with `panic-`.
    pub panic_on_hostname_prefix: bool,
    /// Kill the writer thread on its first batch.
    pub kill_writer_thread: bool,
    /// Fail every sync of the write-ahead log (SQLite): committed batches cannot be made durable.
    pub fail_syncs: bool,
}
