//! Agent mode (`assetkit report`): collect, attach the cert hostname, send the spool then the
//! fresh report, store the server's answer in the cert file; spool whatever could not be sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use assetkit_core::{CollectOptions, LiveSource, Mode, Report, Source};
use serde::Serialize;

use crate::cert::CertFile;
use crate::client::{Answer, SendError};
use crate::config::Config;
use crate::credential::CredentialFile;
use crate::signer::Signer;
use crate::spool::Spool;

/// What a run did.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// The receiver's answer to this run's report.
    pub answer: Answer,
    /// Spooled reports delivered before it.
    pub spool_sent: usize,
    /// Reports still waiting in the spool.
    pub spool_waiting: usize,
    /// The cert file's content after the run.
    pub cert_hostname: Option<String>,
    /// Plugin errors in this run's report.
    pub plugin_errors: usize,
}

/// Why a run failed. The report is in the spool unless the message says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Config is incomplete.
    #[error("{0}")]
    Config(String),
    /// The key file is unusable.
    #[error(transparent)]
    Key(#[from] crate::key::KeyError),
    /// Sending failed; the report was spooled.
    #[error("{error}; the report is spooled in {spool} ({waiting} waiting) and will be sent by the next run")]
    Spooled {
        /// The send failure.
        error: SendError,
        /// Spool directory.
        spool: String,
        /// Reports waiting.
        waiting: usize,
    },
    /// The receiver refused the report itself; it was set aside.
    #[error("the receiver refused the report: {error}; it was moved to {moved}")]
    Rejected {
        /// The refusal.
        error: SendError,
        /// Where the report went.
        moved: String,
    },
    /// Neither sent nor spooled (the disk is full, say).
    #[error("{send}; and the report could not be spooled in {spool}: {io}")]
    Lost {
        /// The send failure.
        send: String,
        /// Spool directory.
        spool: String,
        /// Why spooling failed.
        io: std::io::Error,
    },
    /// The spool is not trusted (see [`Spool::check`]); spooled reports were not sent.
    #[error("spool: {0}; spooled reports were left unsent")]
    Spool(assetkit_core::trust::TrustError),
    /// The cert file could not be read or written.
    #[error("cert file {path}: {source}")]
    Cert {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Run options beyond the config.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `agent.mode` of the report.
    pub mode: Mode,
    /// Honour the configured splay (the timer does; a person at a shell does not want to wait).
    pub splay: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { mode: Mode::Agent, splay: true }
    }
}

/// Collects this host and reports it.
pub async fn report(config: &Config, options: &RunOptions) -> Result<Outcome, RunError> {
    let selection = config.selection().map_err(|e| RunError::Config(e.to_string()))?;
    let signer = signer_for(config, CredentialFile::new(&config.host_key_file))?;

    if options.splay && !config.splay.is_zero() {
        let delay = random_below(config.splay);
        tracing::info!(delay = ?delay, "splay: waiting before reporting");
        tokio::time::sleep(delay).await;
    }
    let started = Instant::now();
    let deadline = started + config.timeout;

    let collect_options =
        CollectOptions { selection, timeout: config.plugin_timeout + Duration::from_secs(5), mode: options.mode };
    let source: Arc<dyn Source> = Arc::new(LiveSource::new(config.live_options()));
    let mut report = tokio::task::spawn_blocking(move || assetkit_core::collect(source, &collect_options))
        .await
        .map_err(|e| RunError::Config(format!("collection thread failed: {e}")))?;
    send_collected(config, &signer, &mut report, deadline).await
}

/// The signer of this host: its own credential in `credential` once it has one, else the fleet
/// key of the config (enrolment). The fleet key file is only read when it is configured; a host
/// with a credential needs no fleet key at all.
pub fn signer_for(config: &Config, credential: CredentialFile) -> Result<Signer, RunError> {
    let server = config.server.as_deref().ok_or_else(|| RunError::Config(config.missing("server")))?;
    let has_credential = credential.load().map_err(|e| RunError::Config(e.to_string()))?.is_some();
    let fleet = match config.key_id.as_deref() {
        Some(key_id) if !has_credential || config.key_file.exists() => {
            Some((key_id, crate::key::load(&config.key_file)?))
        }
        Some(_) => None,
        None if has_credential => None,
        None => {
            return Err(RunError::Config(format!("{} (the fleet key to enrol with)", config.missing("key_id"))));
        }
    };
    Signer::new(server, fleet, credential, config.ca_file.as_deref(), config.timeout)
        .map_err(|e| RunError::Config(e.to_string()))
}

/// Sends the spool and then `report` (whose cert hostname is filled in here).
///
/// Nothing is lost on any path: a report is acknowledged, spooled, or set aside in `rejected/`.
/// A cert file that cannot be read or written does not stop delivery; it is reported at the end.
pub async fn send_collected(
    config: &Config,
    client: &Signer,
    report: &mut Report,
    deadline: Instant,
) -> Result<Outcome, RunError> {
    let mut run = Delivery {
        config,
        client,
        cert: CertFile::new(&config.cert_file),
        spool: Spool::new(&config.spool_dir, config.spool_max_reports, config.spool_max_bytes),
        cert_problem: None,
    };
    report.host.cert_hostname = run.current_cert();
    if let Some(e) = run.cert_problem.take() {
        return Err(run.keep_until_cert_readable(report, e));
    }
    // The spool first, oldest first: the receiver applies each report_id once, so a retry
    // after a lost answer is harmless.
    let spool_problem = run.spool.check().err();
    if let Some(error) = &spool_problem {
        tracing::warn!(%error, "spool not trusted: its reports are not read, and this run's report is not spooled");
    }
    let (spool_sent, blocked) = if spool_problem.is_none() { run.drain_spool(deadline).await } else { (0, None) };
    if let Some(name) = run.current_cert() {
        report.host.cert_hostname = Some(name);
    }
    let result = match blocked {
        Some(e) => Err(e),
        None => client.post_report(report, deadline).await,
    };
    let outcome = run.settle(report, result, spool_sent)?;
    if let Some(error) = spool_problem {
        return Err(RunError::Spool(error));
    }
    match run.cert_problem {
        // Delivered, but the cert file could not take the receiver's answer.
        Some(source) => Err(RunError::Cert { path: config.cert_file.display().to_string(), source }),
        None => Ok(outcome),
    }
}

/// One run's delivery: where reports go, and the first cert file problem met on the way.
struct Delivery<'a> {
    config: &'a Config,
    client: &'a Signer,
    cert: CertFile,
    spool: Spool,
    cert_problem: Option<std::io::Error>,
}

impl Delivery<'_> {
    /// The cert file's name now; a problem reading it is kept for the end of the run.
    fn current_cert(&mut self) -> Option<String> {
        match self.cert.read() {
            Ok(name) => name,
            Err(e) => {
                self.cert_problem.get_or_insert(e);
                None
            }
        }
    }

    /// Without the cert hostname the receiver could take a renamed host for a new one: the
    /// report is kept until the cert file is readable again.
    fn keep_until_cert_readable(&self, report: &Report, e: std::io::Error) -> RunError {
        match self.spool.push(report) {
            Ok(_) => RunError::Cert {
                path: self.config.cert_file.display().to_string(),
                source: std::io::Error::new(
                    e.kind(),
                    format!("{e}; the report is spooled until the cert file is readable"),
                ),
            },
            Err(io) => RunError::Lost {
                send: format!("cert file unreadable: {e}"),
                spool: self.spool.dir().display().to_string(),
                io,
            },
        }
    }

    /// Sends the spooled reports, oldest first, each with the cert hostname of now (an earlier
    /// answer may have changed it); how many went, and the failure that stopped the rest.
    async fn drain_spool(&mut self, deadline: Instant) -> (usize, Option<SendError>) {
        let mut sent = 0;
        for entry in self.spool.entries() {
            if Instant::now() >= deadline {
                let message = "out of time for this run".into();
                return (sent, Some(SendError::Unreachable { url: String::new(), message }));
            }
            let Some(mut old) = self.spool.load(&entry) else { continue };
            old.host.cert_hostname = self.current_cert().or(old.host.cert_hostname);
            match self.client.post_report(&old, deadline).await {
                Ok(answer) => {
                    if let Err(error) = self.spool.remove(&entry) {
                        tracing::warn!(file = %entry.path.display(), %error, "sent but cannot remove from the spool");
                    }
                    sent += 1;
                    if let Err(e) = store_cert(&self.cert, &answer) {
                        self.cert_problem.get_or_insert(e);
                    }
                }
                Err(e) if e.is_bad_report() => {
                    let moved = self.spool.set_aside(&entry, "rejected");
                    tracing::warn!(file = %entry.path.display(), error = %e, moved_to = ?moved, "receiver refused a spooled report; set aside");
                }
                Err(e) => return (sent, Some(e)),
            }
        }
        (sent, None)
    }

    /// The fresh report's fate: acknowledged (the cert file updated), set aside as refused, or
    /// spooled for the next run.
    fn settle(
        &mut self,
        report: &Report,
        result: Result<Answer, SendError>,
        spool_sent: usize,
    ) -> Result<Outcome, RunError> {
        let spool_dir = || self.spool.dir().display().to_string();
        match result {
            Ok(answer) => {
                if let Err(e) = store_cert(&self.cert, &answer) {
                    self.cert_problem.get_or_insert(e);
                }
                tracing::info!(asset_id = answer.asset_id, action = %answer.action, spool_sent, "reported");
                Ok(Outcome {
                    cert_hostname: self.cert.read().ok().flatten(),
                    spool_waiting: self.spool.entries().len(),
                    spool_sent,
                    plugin_errors: report.errors.len(),
                    answer,
                })
            }
            Err(error) if error.is_bad_report() => {
                let path = self.spool.push(report).map_err(|io| RunError::Lost {
                    send: error.to_string(),
                    spool: spool_dir(),
                    io,
                })?;
                let entry = crate::spool::Entry { bytes: 0, path };
                let moved =
                    self.spool.set_aside(&entry, "rejected").map(|p| p.display().to_string()).unwrap_or_default();
                Err(RunError::Rejected { error, moved })
            }
            Err(error) => match self.spool.push(report) {
                Ok(_) => Err(RunError::Spooled { error, spool: spool_dir(), waiting: self.spool.entries().len() }),
                Err(io) => Err(RunError::Lost { send: error.to_string(), spool: spool_dir(), io }),
            },
        }
    }
}

fn store_cert(cert: &CertFile, answer: &Answer) -> std::io::Result<()> {
    let Some(name) = &answer.cert_hostname else { return Ok(()) };
    // The receiver's answer is checked like any input: a name that is not a host name is not
    // written, and the old cert file is kept.
    if let Err(why) = assetkit_core::names::check_hostname(name) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the receiver answered with cert hostname {:?}, which {why}; the cert file is unchanged",
                name.chars().take(80).collect::<String>()
            ),
        ));
    }
    if cert.read()?.as_deref() != Some(name.as_str()) {
        tracing::info!(cert_hostname = %name, file = %cert.path().display(), "cert file updated from the receiver's answer");
        cert.write(name)?;
    }
    Ok(())
}

fn random_below(max: Duration) -> Duration {
    let mut buf = [0u8; 8];
    let _ = getrandom::fill(&mut buf);
    let fraction = u64::from_le_bytes(buf) as f64 / u64::MAX as f64;
    max.mul_f64(fraction)
}
