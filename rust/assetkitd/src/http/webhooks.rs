//! The webhook delivery worker and the offline sweep: one task per server.
//!
//! Each round reads the outbox rows that are due (the oldest pending row of each endpoint and
//! asset, so an asset's events arrive in order), *claims* them through the writer (a lease: the
//! row is not due again before the attempt's timeout has passed, so a second replica leaves it
//! alone and a crash mid-attempt retries it later), POSTs them a few at once, and writes the
//! outcomes back in one transaction. Delivery is at least once: a crash between the endpoint's
//! answer and the write-back sends the event again, with the same `X-Assetkit-Event-Id`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::domain::webhooks::{self, Due, Target};
use crate::http::state::AppState;

/// Deliveries attempted at once.
const IN_FLIGHT: usize = 16;
/// Rows read per round.
const ROUND: usize = 256;
/// Delivered rows are kept this long (the console and metrics count them), then purged.
const KEEP_DELIVERED: i64 = 7 * 86_400;

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
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Runs deliveries and the offline sweep until the task is aborted.
pub async fn run(state: AppState) {
    let settings = state.config.webhooks;
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
    loop {
        tick.tick().await;
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
        gauges(&state).await;
    }
}

/// The offline sweep and the purge of old deliveries.
async fn sweep(state: &AppState) {
    let offline_after = state.config.offline_after.as_secs() as i64;
    let done = state
        .writer
        .run(None, move |db, now| {
            let flagged = webhooks::sweep_offline(db, now, now - offline_after)?;
            webhooks::purge_delivered(db, now, KEEP_DELIVERED)?;
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

/// One round: due rows claimed, sent, outcomes written. The number attempted.
async fn round(state: &AppState, client: &reqwest::Client) -> Result<usize, crate::domain::Error> {
    let settings = state.config.webhooks;
    let readers = state.readers.clone();
    let ring = state.keyring.clone();
    let (due, targets) = tokio::task::spawn_blocking(move || {
        readers.with(|db| {
            let due = webhooks::due(db, now_ms(), ROUND)?;
            let mut targets: HashMap<i64, Option<Target>> = HashMap::new();
            for d in &due {
                if let std::collections::hash_map::Entry::Vacant(slot) = targets.entry(d.webhook_id) {
                    slot.insert(webhooks::target(db, &ring, d.webhook_id)?);
                }
            }
            Ok::<_, crate::domain::Error>((due, targets))
        })
    })
    .await
    .map_err(|e| crate::domain::Error::invalid(e.to_string()))??;
    if due.is_empty() {
        return Ok(0);
    }
    let lease = settings.timeout + Duration::from_secs(2);
    let ids: Vec<i64> = due.iter().map(|d| d.id).collect();
    let claimed: Vec<i64> = state
        .writer
        .run(None, move |db, _| {
            let (now, until) = (now_ms(), now_ms() + lease.as_millis() as i64);
            let mut mine = Vec::new();
            for id in ids {
                if webhooks::claim(db, id, now, until)? {
                    mine.push(id);
                }
            }
            Ok::<_, crate::domain::Error>(mine)
        })
        .await?;
    let targets = Arc::new(targets);
    let work: Vec<Due> = due.into_iter().filter(|d| claimed.contains(&d.id)).collect();
    let attempted = work.len();
    let outcomes: Vec<(Due, Result<(), String>)> = futures_util::stream::iter(work)
        .map(|d| {
            let (client, targets) = (client.clone(), targets.clone());
            async move {
                let result = match targets.get(&d.webhook_id).and_then(Option::as_ref) {
                    Some(t) => deliver(&client, t, &d).await,
                    None => Err("the endpoint was removed".to_owned()),
                };
                (d, result)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let mut writes = Vec::with_capacity(outcomes.len());
    for (d, result) in outcomes {
        let shown =
            targets.get(&d.webhook_id).and_then(Option::as_ref).map_or("-", |t| t.url_shown.as_str()).to_owned();
        match result {
            Ok(()) => {
                state.metrics.webhook_outcome("delivered");
                tracing::debug!(event = %d.event, event_id = %d.event_id, url = %shown, "webhook delivered");
                writes.push((d.id, None, None));
            }
            Err(error) => {
                let age = crate::store::now() - d.created_at;
                let attempts = d.attempts + 1;
                let give_up = age >= settings.give_up_after.as_secs() as i64;
                let retry_at = (!give_up).then(|| {
                    let delay = webhooks::backoff(attempts, settings.retry_base, settings.retry_max, random());
                    now_ms() + delay.as_millis() as i64
                });
                state.metrics.webhook_outcome(if give_up { "dead" } else { "failed" });
                if give_up {
                    tracing::warn!(event = %d.event, event_id = %d.event_id, url = %shown, attempts, error = %error,
                        "webhook delivery given up: dead, redeliverable from the console");
                } else {
                    tracing::info!(event = %d.event, event_id = %d.event_id, url = %shown, attempts, error = %error,
                        "webhook delivery failed; retried later");
                }
                writes.push((d.id, Some(retry_at), Some(error)));
            }
        }
    }
    state
        .writer
        .run(None, move |db, _| {
            let now = now_ms();
            for (id, retry, error) in writes {
                match retry {
                    None => webhooks::delivered(db, id, now)?,
                    Some(at) => webhooks::failed(db, id, at, error.as_deref().unwrap_or(""), now)?,
                }
            }
            Ok::<_, crate::domain::Error>(())
        })
        .await?;
    Ok(attempted)
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
