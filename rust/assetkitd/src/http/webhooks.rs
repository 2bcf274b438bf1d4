//! The webhook delivery worker and the offline sweep: one task per server.
//!
//! Endpoints are served independently: each round reads the due rows of the endpoints that have
//! no batch in flight (the oldest pending row of each endpoint and asset, so an asset's events
//! arrive in order), and starts a batch per endpoint on a task of its own: its rows *claimed*
//! through the writer (a lease: not due again before the POSTs' timeout has passed, so a second
//! replica leaves them alone and a crash mid-attempt retries them later), POSTed together, and
//! the outcomes written, each fenced by its claim. A slow endpoint holds up only its own batch.
//! Delivery is at least once: a crash between the endpoint's answer and the write-back sends the
//! event again, with the same `X-Assetkit-Event-Id`.
//!
//! Every connection goes through [`Guarded`], which resolves the endpoint's name and refuses
//! internal addresses (loopback, private, link-local, cloud metadata) unless the operator allowed
//! their network. Failures are told coarsely (the HTTP status, or "could not be reached"), so the
//! outbox is no port scanner.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::domain::webhooks::destinations::Destinations;
use crate::domain::webhooks::{self, Due, Target};
use crate::http::state::{AppState, WebhookSettings};

/// Deliveries to one endpoint per batch, sent together.
const PER_ENDPOINT: usize = 16;
/// Endpoints with a batch in flight at once (so at most 256 POSTs in flight).
const ENDPOINTS_AT_ONCE: usize = 16;
/// A claim outlives its POSTs' timeout by this much (the claim and the write-back around them).
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// Rows read per round.
const ROUND: usize = PER_ENDPOINT * ENDPOINTS_AT_ONCE;
/// Delivered rows are kept this long, then purged.
const KEEP_DELIVERED: i64 = 7 * 86_400;
/// Dead rows are kept this long (listed, redeliverable), then purged.
const KEEP_DEAD: i64 = 30 * 86_400;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The client every delivery goes through: no redirects, no proxy, the timeout, and the
/// destination guard on every name it resolves.
pub fn client(settings: &WebhookSettings, destinations: &Destinations) -> reqwest::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .dns_resolver(Arc::new(Guarded(destinations.clone())))
        .user_agent(concat!("assetkitd/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Runs deliveries and the offline sweep until the task is aborted.
pub async fn run(state: AppState) {
    let settings = state.config.webhooks;
    if !settings.worker {
        tracing::info!("webhook deliveries and the offline sweep are left to other replicas (--no-webhook-worker)");
        return;
    }
    let client = match client(&settings, &state.config.webhook_destinations) {
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
    // Endpoints with a batch in flight, and those batches.
    let mut busy: Vec<i64> = Vec::new();
    let mut batches: JoinSet<i64> = JoinSet::new();
    loop {
        // A report that queued deliveries wakes the worker at once; a batch ending frees its
        // endpoint; the poll is for retries coming due, the sweep, other replicas' events and
        // the gauges.
        let polled = tokio::select! {
            _ = tick.tick() => true,
            () = wake.notified() => false,
            Some(done) = batches.join_next(), if !batches.is_empty() => {
                if let Ok(id) = done {
                    busy.retain(|b| *b != id);
                }
                false
            }
        };
        if last_sweep.elapsed() >= settings.sweep_every {
            last_sweep = Instant::now();
            sweep(&state).await;
        }
        if let Err(e) = start_batches(&state, &client, &mut busy, &mut batches).await {
            tracing::warn!(error = %e, "webhook round failed; tried again shortly");
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
            let warned = webhooks::offline::sweep_warranties(db, now)?;
            if warned > 0 {
                tracing::info!(assets = warned, "warranty sweep: warranties ending soon");
            }
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

/// Starts a batch for every endpoint that has due rows and none in flight (at most
/// [`ENDPOINTS_AT_ONCE`] in flight), each on a task of its own.
async fn start_batches(
    state: &AppState,
    client: &reqwest::Client,
    busy: &mut Vec<i64>,
    batches: &mut JoinSet<i64>,
) -> Result<(), crate::domain::Error> {
    if busy.len() >= ENDPOINTS_AT_ONCE {
        return Ok(());
    }
    let (readers, ring, skip) = (state.readers.clone(), state.keyring.clone(), busy.clone());
    let room = ENDPOINTS_AT_ONCE - busy.len();
    let ready = tokio::task::spawn_blocking(move || {
        readers.with(|db| {
            let mut ready: BTreeMap<i64, Vec<Due>> = BTreeMap::new();
            for d in webhooks::due(db, now_ms(), ROUND, &skip)? {
                if ready.len() >= room && !ready.contains_key(&d.webhook_id) {
                    continue;
                }
                let batch = ready.entry(d.webhook_id).or_default();
                if batch.len() < PER_ENDPOINT {
                    batch.push(d);
                }
            }
            // An endpoint whose URL or secret cannot be opened (a wrong server key file) fails
            // its own deliveries, with the reason; the others go on.
            let mut out = Vec::with_capacity(ready.len());
            for (id, rows) in ready {
                let target = match webhooks::target(db, &ring, id) {
                    Ok(Some(t)) => Ok(t),
                    Ok(None) => Err("the endpoint was removed".to_owned()),
                    Err(e) => Err(format!("the endpoint's URL or secret cannot be opened: {e}")),
                };
                out.push((id, target, rows));
            }
            Ok::<_, crate::domain::Error>(out)
        })
    })
    .await
    .map_err(|e| crate::domain::Error::invalid(e.to_string()))??;
    for (id, target, rows) in ready {
        busy.push(id);
        let (state, client) = (state.clone(), client.clone());
        batches.spawn(async move {
            if let Err(e) = batch(&state, &client, target, rows).await {
                tracing::warn!(error = %e, webhook = id, "webhook batch failed; its rows are retried after their lease");
            }
            id
        });
    }
    Ok(())
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
                Ok(t) => deliver(client, &state.config.webhook_destinations, t, &d).await,
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

/// One POST: 2xx is delivered; anything else is an error message for the outbox row, coarse on
/// purpose: the HTTP status, or that the endpoint could not be reached (a refused connection, a
/// timeout, a TLS or DNS failure read alike), or that its address is not allowed. The answer's
/// body is not read.
async fn deliver(client: &reqwest::Client, policy: &Destinations, target: &Target, d: &Due) -> Result<(), String> {
    let url = reqwest::Url::parse(&target.url).map_err(|_| "the endpoint's URL does not parse".to_owned())?;
    // A literal address is never resolved, so the guard sees it here.
    if let Some(ip) = literal_ip(&url) {
        policy.check(ip)?;
    }
    let body = webhooks::render(target.format, &d.payload);
    let timestamp = assetkit_sign::unix_now();
    let signature = assetkit_sign::webhook_signature(&target.secret, timestamp, &body);
    let sent = client
        .post(url)
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
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                if let Some(refused) = s.downcast_ref::<NotAllowed>() {
                    return Err(refused.0.clone());
                }
                source = s.source();
            }
            Err("the endpoint could not be reached (no connection, TLS or answer within the timeout)".to_owned())
        }
    }
}

fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// A connection the destination policy refused.
#[derive(Debug)]
struct NotAllowed(String);

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAllowed {}

/// A resolver that drops the addresses the policy refuses. DNS is asked at every connection, so
/// a name that pointed outside when the endpoint was added cannot point inside later.
struct Guarded(Destinations);

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| policy.check(a.ip()).map_err(|why| refusal.get_or_insert(why)).is_ok())
                .collect();
            if allowed.is_empty() {
                let why = refusal.unwrap_or_else(|| "the endpoint's name does not resolve".to_owned());
                return Err(Box::new(NotAllowed(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Checks where an endpoint's URL points before it is added: its name resolved here and every
/// address checked against the policy (as it is again at every delivery).
pub async fn check_destination(url: &url::Url, policy: &Destinations) -> Result<(), String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match (literal_ip(url), url.host_str()) {
        (Some(ip), _) => vec![SocketAddr::new(ip, port)],
        (None, Some(name)) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| format!("{name} does not resolve from this server"))?
            .collect(),
        (None, None) => return Err("the URL has no host".to_owned()),
    };
    addrs.iter().try_for_each(|a| policy.check(a.ip()))
}
