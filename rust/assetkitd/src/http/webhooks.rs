//! The webhook delivery worker and the offline sweep: one task per server.
//!
//! Each round reads the outbox rows that are due (the oldest pending row of each endpoint and
//! asset, so an asset's events arrive in order). Each endpoint's batch is then *claimed* through
//! the writer (a lease: the rows are not due again before the POSTs' timeout has passed, so a
//! second replica leaves them alone and a crash mid-attempt retries them later), POSTed together,
//! and the outcomes written, each fenced by its claim. Delivery is at least once: a crash between the
//! endpoint's answer and the write-back sends the event again, with the same
//! `X-Assetkit-Event-Id`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::domain::webhooks::{self, Due, Target};
use crate::http::state::AppState;

/// Deliveries to one endpoint per round, sent together.
const PER_ENDPOINT: usize = 16;
/// Endpoints served at once (so at most 64 POSTs in flight).
const ENDPOINTS_AT_ONCE: usize = 4;
/// A claim outlives its POSTs' timeout by this much (the claim and the write-back around them).
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Rows read per round: as many as a round can send (rows beyond an endpoint's batch are read
/// and left, so a larger read only carries payloads that wait for the next round).
const ROUND: usize = PER_ENDPOINT * ENDPOINTS_AT_ONCE;
/// Delivered rows are kept this long, then purged.
const KEEP_DELIVERED: i64 = 7 * 86_400;
/// Dead rows are kept this long (listed, redeliverable), then purged.
const KEEP_DEAD: i64 = 30 * 86_400;

/// Webhook and offline-sweep settings (`assetkitd serve --webhook-*`, `--offline-*`).
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    /// Longest one POST may take (connect, send, answer).
    pub timeout: Duration,
    /// First retry delay; doubled per attempt, with jitter.
    pub retry_base: Duration,
    /// Longest delay between two attempts.
    pub retry_max: Duration,
    /// An event not delivered this long after it was queued is dead (redeliverable).
    pub give_up_after: Duration,
    /// How often the outbox is polled.
    pub poll: Duration,
    /// How often the offline sweep runs.
    pub sweep_every: Duration,
    /// Whether this server delivers and sweeps (replicas may leave it to others).
    pub worker: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(86_400),
            poll: Duration::from_secs(1),
            sweep_every: Duration::from_secs(60),
            worker: true,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Runs deliveries and the offline sweep until the task is aborted.
pub async fn run(state: AppState) {
    let settings = state.config.webhooks;
    if !settings.worker {
        tracing::info!("webhook deliveries and the offline sweep are left to other replicas (--no-webhook-worker)");
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(concat!("assetkitd/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook deliveries disabled: the HTTP client could not be built");
            return;
        }
    };
    let mut tick = tokio::time::interval(settings.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first sweep runs one interval after the start, not with it.
    let mut last_sweep = Instant::now();
    let wake = state.webhook_wake.clone();
    loop {
        // A report that queued deliveries wakes the worker at once; the poll is for retries
        // coming due, the sweep, other replicas' events and the gauges.
        let polled = tokio::select! {
            _ = tick.tick() => true,
            () = wake.notified() => false,
        };
        if last_sweep.elapsed() >= settings.sweep_every {
            last_sweep = Instant::now();
            sweep(&state).await;
        }
        // Rounds follow each other while there is work; the poll interval is for idle times.
        loop {
            match round(&state, &client).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook round failed; tried again shortly");
                    break;
                }
            }
        }
        if polled {
            gauges(&state).await;
        }
    }
}

/// The offline sweep and the purge of old deliveries.
async fn sweep(state: &AppState) {
    let offline_after = state.config.offline_after.as_secs() as i64;
    let done = state
        .writer
        .run(None, move |db, now| {
            let flagged = webhooks::sweep_offline(db, now, now - offline_after)?;
            webhooks::purge(db, now, KEEP_DELIVERED, KEEP_DEAD)?;
            Ok::<_, crate::domain::Error>(flagged)
        })
        .await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(hosts = n, "offline sweep: hosts gone silent"),
        Err(e) => tracing::warn!(error = %e, "offline sweep failed; it runs again at the next interval"),
    }
}

async fn gauges(state: &AppState) {
    let readers = state.readers.clone();
    let stats =
        tokio::task::spawn_blocking(move || readers.with(|db| webhooks::queue_stats(db, crate::store::now()))).await;
    if let Ok(Ok(s)) = stats {
        state.metrics.webhook_queue_depth.set(s.pending);
        state.metrics.webhook_oldest_age.set(s.oldest_age_secs);
        state.metrics.webhook_dead.set(s.dead);
    }
}

/// One round: the due rows read (16 per endpoint at most), then each endpoint's batch claimed in
/// one write (a lease that covers the batch: its POSTs run together, each within the timeout),
/// sent, and its outcomes written in one write, fenced by the claims; a few endpoints at once,
/// so a slow one holds up only its own batch. The number attempted.
async fn round(state: &AppState, client: &reqwest::Client) -> Result<usize, crate::domain::Error> {
    let readers = state.readers.clone();
    let ring = state.keyring.clone();
    let batches = tokio::task::spawn_blocking(move || {
        readers.with(|db| {
            let mut batches: BTreeMap<i64, Vec<Due>> = BTreeMap::new();
            for d in webhooks::due(db, now_ms(), ROUND)? {
                let batch = batches.entry(d.webhook_id).or_default();
                if batch.len() < PER_ENDPOINT {
                    batch.push(d);
                }
            }
            // An endpoint whose URL or secret cannot be opened (a wrong server key file) fails
            // its own deliveries, with the reason; the others go on.
            let mut out = Vec::with_capacity(batches.len());
            for (id, rows) in batches {
                let target = match webhooks::target(db, &ring, id) {
                    Ok(Some(t)) => Ok(t),
                    Ok(None) => Err("the endpoint was removed".to_owned()),
                    Err(e) => Err(format!("the endpoint's URL or secret cannot be opened: {e}")),
                };
                out.push((target, rows));
            }
            Ok::<_, crate::domain::Error>(out)
        })
    })
    .await
    .map_err(|e| crate::domain::Error::invalid(e.to_string()))??;
    let attempted = batches.iter().map(|(_, rows)| rows.len()).sum();
    let results: Vec<Result<(), crate::domain::Error>> = futures_util::stream::iter(batches)
        .map(|(target, rows)| batch(state, client, target, rows))
        .buffer_unordered(ENDPOINTS_AT_ONCE)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(attempted)
}

/// One endpoint's batch: claimed (rows another worker took are skipped), POSTed together, and
/// each outcome written only if its claim still holds (a worker whose lease ran out does not
/// overwrite the next one's).
async fn batch(
    state: &AppState,
    client: &reqwest::Client,
    target: Result<Target, String>,
    rows: Vec<Due>,
) -> Result<(), crate::domain::Error> {
    let settings = state.config.webhooks;
    let lease = settings.timeout + LEASE_MARGIN;
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let claims: Vec<webhooks::Claim> = state
        .writer
        .run(None, move |db, _| {
            let now = now_ms();
            let mut claims = Vec::with_capacity(ids.len());
            for id in ids {
                claims.extend(webhooks::claim(db, id, now, now + lease.as_millis() as i64)?);
            }
            Ok::<_, crate::domain::Error>(claims)
        })
        .await?;
    let shown = target.as_ref().map_or("-", |t| t.url_shown.as_str()).to_owned();
    let sends = rows.into_iter().filter_map(|d| {
        let claim = *claims.iter().find(|c| c.id == d.id)?;
        let target = &target;
        Some(async move {
            let result = match target {
                Ok(t) => deliver(client, t, &d).await,
                Err(e) => Err(e.clone()),
            };
            (d, claim, result)
        })
    });
    let mut outcomes = Vec::new();
    for (d, claim, result) in futures_util::future::join_all(sends).await {
        let outcome = match result {
            Ok(()) => {
                state.metrics.webhook_outcome("delivered");
                tracing::debug!(event = %d.event, event_id = %d.event_id, url = %shown, "webhook delivered");
                webhooks::Outcome::Delivered
            }
            Err(error) => {
                let give_up = crate::store::now() - d.created_at >= settings.give_up_after.as_secs() as i64;
                state.metrics.webhook_outcome(if give_up { "dead" } else { "failed" });
                if give_up {
                    tracing::warn!(event = %d.event, event_id = %d.event_id, url = %shown, attempts = claim.attempts,
                        error = %error, "webhook delivery given up: dead, redeliverable from the console");
                    webhooks::Outcome::Dead(error)
                } else {
                    let delay = webhooks::backoff(claim.attempts, settings.retry_base, settings.retry_max, random());
                    tracing::info!(event = %d.event, event_id = %d.event_id, url = %shown, attempts = claim.attempts,
                        error = %error, retry_in = ?delay, "webhook delivery failed; retried later");
                    webhooks::Outcome::Retry { at_ms: now_ms() + delay.as_millis() as i64, error }
                }
            }
        };
        outcomes.push((claim, outcome));
    }
    if outcomes.is_empty() {
        return Ok(());
    }
    state
        .writer
        .run(None, move |db, _| {
            let now = now_ms();
            for (claim, outcome) in &outcomes {
                webhooks::settle(db, claim, outcome, now)?;
            }
            Ok(())
        })
        .await
}

fn random() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

/// One POST: 2xx is delivered; anything else (a status, a timeout, a refused connection) is an
/// error message for the outbox row. The answer's body is not read.
async fn deliver(client: &reqwest::Client, target: &Target, d: &Due) -> Result<(), String> {
    let body = webhooks::render(target.format, &d.payload);
    let timestamp = assetkit_sign::unix_now();
    let signature = assetkit_sign::webhook_signature(&target.secret, timestamp, &body);
    let sent = client
        .post(&target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(assetkit_sign::HEADER_WEBHOOK_SIGNATURE, signature)
        .header(assetkit_sign::HEADER_TIMESTAMP, timestamp.to_string())
        .header(assetkit_sign::HEADER_WEBHOOK_EVENT_ID, d.event_id.as_str())
        .header("x-assetkit-event", d.event.as_str())
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the endpoint answered HTTP {}", r.status().as_u16())),
        Err(e) => {
            let e = e.without_url();
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            // reqwest names the URL; a Slack URL's path is a credential.
            Err(text.replace(target.url.as_str(), &target.url_shown))
        }
    }
}
