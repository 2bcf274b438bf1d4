//! The signed HTTP client: POST reports, GET the pending host list. rustls only.
//!
//! The receiver's answer is trusted no more than a request is: redirects are refused (a signed
//! request never goes to another origin), the answer is read up to [`MAX_ANSWER_BYTES`], error
//! messages quote at most [`MAX_EXCERPT`] characters of it, and the whole exchange (connect,
//! send, read) ends at the deadline.

use std::path::Path;
use std::time::{Duration, Instant};

use assetkit_core::Report;
use assetkit_sign::Secret;
use serde::{Deserialize, Serialize};

/// Largest answer read from the receiver (its answers are a few hundred bytes).
pub const MAX_ANSWER_BYTES: usize = 1 << 20;
/// Longest excerpt of an answer quoted in an error.
pub const MAX_EXCERPT: usize = 200;

/// At most [`MAX_EXCERPT`] characters of `text`, marked when cut.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_EXCERPT).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Secret text from an answer: never printed, never serialised back out.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The receiver's answer to a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The asset the report landed on.
    pub asset_id: i64,
    /// created, updated or unchanged.
    pub action: String,
    /// What to store in the cert file.
    pub cert_hostname: Option<String>,
    /// Change events recorded.
    #[serde(default)]
    pub changes: u64,
    /// A retry of an already applied report.
    #[serde(default)]
    pub duplicate: bool,
    /// The host's own credential, when this report enrolled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key_id: Option<String>,
    /// Its secret in clear, to a report without an enrolment key (kept in the credential file,
    /// never printed).
    #[serde(default, skip_serializing)]
    pub host_secret: Option<SecretText>,
    /// Its secret sealed to the enrolment key the report carried.
    #[serde(default, skip_serializing)]
    pub host_secret_sealed: Option<SecretText>,
    /// The credential was issued to the first sender of a keyless report and is not repeated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub credential_withheld: bool,
}

impl Answer {
    /// The credential this answer issued, opened with the host's enrolment key; `Ok(None)` when
    /// it issued none.
    pub fn credential(
        &self,
        enrol_key: Option<&assetkit_sign::enrol::EnrolKey>,
    ) -> Result<Option<crate::credential::HostCredential>, SendError> {
        let Some(key_id) = &self.host_key_id else { return Ok(None) };
        let secret = match (&self.host_secret_sealed, &self.host_secret, enrol_key) {
            (Some(sealed), _, Some(key)) => {
                let plain = key.open(&sealed.0).map_err(|e| SendError::Credential(e.to_string()))?;
                String::from_utf8(plain)
                    .map_err(|_| SendError::Credential("the sealed credential is not text".into()))?
            }
            (Some(_), _, None) => {
                return Err(SendError::Credential(
                    "the receiver sealed a credential to an enrolment key this client did not send".into(),
                ));
            }
            (None, Some(clear), _) => clear.0.clone(),
            (None, None, _) if self.credential_withheld => {
                return Err(SendError::Credential(format!(
                    "the receiver issued credential {key_id} for this report to its first sender and does not \
                     repeat it; if that was this host, an admin allows a re-enrolment: assetkitd hosts reenrol {}",
                    self.asset_id
                )));
            }
            (None, None, _) => return Ok(None),
        };
        Ok(Some(crate::credential::HostCredential { key_id: key_id.clone(), secret: Secret::new(secret) }))
    }
}

/// A failed exchange.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No answer (connection refused, timeout, TLS failure).
    #[error("cannot reach {url}: {message}")]
    Unreachable {
        /// URL.
        url: String,
        /// Cause, with its sources.
        message: String,
    },
    /// The receiver was reached but its certificate is refused (said as a sentence by
    /// [`crate::tls`]); retrying does not help.
    #[error("{url} presented a certificate this host refuses: {message}")]
    Certificate {
        /// URL.
        url: String,
        /// What is wrong with the certificate, and what to do.
        message: String,
    },
    /// The receiver answered with an error.
    #[error("{url} answered {status} {code}: {message}")]
    Refused {
        /// URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Error code from the body.
        code: String,
        /// Message from the body.
        message: String,
    },
    /// The client could not be built (bad CA file, bad URL), or no key is configured.
    #[error("{0}")]
    Setup(String),
    /// The answer was received but its credential could not be kept.
    #[error("{0}")]
    Credential(String),
}

impl SendError {
    /// Worth retrying: the receiver is down, busy or failing, not refusing this request.
    pub fn is_transient(&self) -> bool {
        match self {
            // A certificate the client does not trust will not become trusted by retrying.
            SendError::Unreachable { message, .. } => !message.contains("certificate"),
            SendError::Refused { status, .. } => *status >= 500 || *status == 429,
            SendError::Setup(_) | SendError::Credential(_) | SendError::Certificate { .. } => false,
        }
    }
    /// Over a budget (429): worth sending again later, not at once.
    pub fn is_throttled(&self) -> bool {
        matches!(self, SendError::Refused { status: 429, .. })
    }
    /// The receiver does not accept the signing key (unknown, or a revoked host credential).
    pub fn is_unknown_key(&self) -> bool {
        matches!(self, SendError::Refused { status: 401, code, .. } if code == "unauthorized" || code == "credential_revoked")
    }
    /// The receiver does not hold the package list a digest-only report refers to.
    pub fn is_packages_unknown(&self) -> bool {
        matches!(self, SendError::Refused { status: 409, code, .. } if code == "packages_unknown")
    }
    /// The report itself is unacceptable (so retrying it can never work).
    pub fn is_bad_report(&self) -> bool {
        matches!(self, SendError::Refused { status: 400 | 413 | 422, .. })
            || matches!(self, SendError::Refused { status: 409, code, .. } if code == "report_id_conflict")
    }
}

/// Bodies larger than this are sent gzipped.
pub const GZIP_OVER: usize = 16 << 10;

fn gzipped(body: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    match encoder.write_all(body).and_then(|()| encoder.finish()) {
        Ok(out) => out,
        Err(_) => body.to_vec(),
    }
}

/// A client for one receiver and one key.
#[derive(Clone)]
pub struct Client {
    /// Whether large bodies go gzipped: off once a receiver (older than gzip support) refused
    /// one as not JSON.
    gzip: std::sync::Arc<std::sync::atomic::AtomicBool>,
    http: reqwest::Client,
    base: String,
    key_id: String,
    secret: Secret,
    timeout: Duration,
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl Client {
    /// A client for `server` (`https://host:8600`, optionally with a path prefix).
    pub fn new(
        server: &str,
        key_id: &str,
        secret: Secret,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self, SendError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SendError::Setup(format!(
                "server {server:?} must start with https:// (or http:// on a trusted network)"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("assetkit/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| SendError::Setup(format!("cannot read ca_file {}: {e}", ca.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                SendError::Setup(format!("ca_file {} holds no usable PEM certificate: {e}", ca.display()))
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http =
            builder.build().map_err(|e| SendError::Setup(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(Client { http, base, key_id: key_id.to_owned(), secret, timeout, gzip: std::sync::Arc::new(true.into()) })
    }

    fn url(&self, path: &str) -> (String, String) {
        let url = format!("{}{path}", self.base);
        let path_and_query = reqwest::Url::parse(&url)
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            })
            .unwrap_or_else(|_| path.to_owned());
        (url, path_and_query)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        deadline: Option<Instant>,
    ) -> Result<serde_json::Value, SendError> {
        let (url, _) = self.url(path);
        let left = match deadline {
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => self.timeout,
        };
        if left.is_zero() {
            return Err(SendError::Unreachable { url, message: "out of time for this run".into() });
        }
        match tokio::time::timeout(left, self.exchange(method, path, body, left)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Unreachable {
                url,
                message: format!("no complete answer within {}", humantime::format_duration(left)),
            }),
        }
    }

    /// One signed request and its answer, read within the size bound.
    async fn exchange(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<serde_json::Value, SendError> {
        let (url, signed_path) = self.url(path);
        // A large body travels gzipped: a full package list is a tenth of its size.
        let gzip = body.len() > GZIP_OVER && self.gzip.load(std::sync::atomic::Ordering::Relaxed);
        let body = if gzip { gzipped(&body) } else { body };
        let headers = assetkit_sign::sign(&self.key_id, &self.secret, method.as_str(), &signed_path, &body);
        let mut req = self.http.request(method, &url).timeout(timeout);
        for (name, value) in headers.pairs() {
            req = req.header(name, value);
        }
        if !body.is_empty() {
            req = req.header("content-type", "application/json");
            if gzip {
                req = req.header("content-encoding", "gzip");
            }
            req = req.body(body);
        }
        let unreachable = |e: reqwest::Error| match crate::tls::explain(&e) {
            Some(message) => SendError::Certificate { url: url.clone(), message },
            None => SendError::Unreachable { url: url.clone(), message: chain(&e) },
        };
        let mut resp = req.send().await.map_err(unreachable)?;
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            let to = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(excerpt).unwrap_or_default();
            return Err(SendError::Refused {
                url: url.clone(),
                status,
                code: "redirect".into(),
                message: format!(
                    "the receiver redirects to {to:?}; assetkit does not follow redirects (a signed request must \
                     not go to another origin): set `server` to the receiver's own URL"
                ),
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(SendError::Refused {
                    url: url.clone(),
                    status,
                    code: "answer_too_large".into(),
                    message: format!("the answer exceeds {MAX_ANSWER_BYTES} bytes; this is not an assetkitd"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&bytes);
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| serde_json::Value::String(excerpt(&text)));
        if status == 200 || status == 201 {
            return Ok(value);
        }
        let code = value.pointer("/error/code").and_then(|c| c.as_str()).map(excerpt).unwrap_or_else(|| "error".into());
        let message = value
            .pointer("/error/message")
            .and_then(|c| c.as_str())
            .map(excerpt)
            .unwrap_or_else(|| excerpt(&value.to_string()));
        Err(SendError::Refused { url, status, code, message })
    }

    /// Posts a report, signed now, giving up at `deadline`.
    pub async fn post_report(&self, report: &Report, deadline: Option<Instant>) -> Result<Answer, SendError> {
        let body = serde_json::to_vec(report).map_err(|e| SendError::Setup(e.to_string()))?;
        let gzipped = body.len() > GZIP_OVER && self.gzip.load(std::sync::atomic::Ordering::Relaxed);
        let value = match self.send(reqwest::Method::POST, "/api/v1/reports", body.clone(), deadline).await {
            // A receiver older than gzip support reads the gzipped body as broken JSON: plain
            // bodies from now on.
            Err(SendError::Refused { status: 400, code, .. }) if gzipped && code == "malformed_json" => {
                self.gzip.store(false, std::sync::atomic::Ordering::Relaxed);
                tracing::info!("the receiver does not take gzipped reports; sending them plain");
                self.send(reqwest::Method::POST, "/api/v1/reports", body, deadline).await?
            }
            other => other?,
        };
        serde_json::from_value(value).map_err(|e| SendError::Setup(format!("unexpected answer from the receiver: {e}")))
    }

    /// Posts a report, retrying transient failures with backoff until `deadline`.
    pub async fn post_report_with_retry(&self, report: &Report, deadline: Instant) -> Result<Answer, SendError> {
        let mut delay = Duration::from_millis(250);
        loop {
            match self.post_report(report, Some(deadline)).await {
                Ok(a) => return Ok(a),
                // Over a budget: hammering makes it worse; the report waits for the next run.
                Err(e) if e.is_transient() && !e.is_throttled() && Instant::now() + delay < deadline => {
                    tracing::info!(error = %e, retry_in = ?delay, "send failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The hostnames an admin entered that have not reported today.
    pub async fn pending_hosts(&self) -> Result<Vec<String>, SendError> {
        let value = self.send(reqwest::Method::GET, "/api/v1/hosts/pending", Vec::new(), None).await?;
        Ok(value["hosts"]
            .as_array()
            .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }
}
