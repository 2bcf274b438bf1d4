//! Prometheus metrics: reports applied by action, requests rejected by reason, apply latency,
//! webhook deliveries and their queue.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label for applied reports.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    /// created, updated, unchanged, duplicate.
    pub action: String,
}

/// Label for rejected requests.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The error code sent to the client.
    pub reason: String,
}

/// Label for webhook delivery attempts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// delivered, failed (retried later), dead (given up).
    pub outcome: String,
}

/// The registry and its metrics.
pub struct Metrics {
    registry: Registry,
    applied: Family<ActionLabel, Counter>,
    rejected: Family<ReasonLabel, Counter>,
    latency: Histogram,
    /// Keys in the verification cache.
    pub key_cache: Gauge,
    /// Write batches lost to a fault in the writer thread.
    pub writer_faults: Gauge,
    /// Log lines that could not be written (stderr full or closed).
    pub log_dropped: Gauge,
    /// Import previews waiting, and their bytes.
    pub import_previews: Gauge,
    /// Bytes held by waiting import previews.
    pub import_preview_bytes: Gauge,
    webhook_attempts: Family<OutcomeLabel, Counter>,
    /// Webhook deliveries waiting in the outbox.
    pub webhook_queue_depth: Gauge,
    /// Age of the oldest undelivered webhook event, seconds.
    pub webhook_oldest_age: Gauge,
    /// Webhook deliveries given up (dead, redeliverable).
    pub webhook_dead: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("assetkit");
        let applied = Family::<ActionLabel, Counter>::default();
        let rejected = Family::<ReasonLabel, Counter>::default();
        let latency = Histogram::new([0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]);
        registry.register("reports_applied", "Reports applied, by action", applied.clone());
        registry.register("requests_rejected", "Requests rejected, by reason", rejected.clone());
        registry.register("apply_latency_seconds", "Time from request to durable apply", latency.clone());
        let webhook_attempts = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, failed, dead)",
            webhook_attempts.clone(),
        );
        let gauges: [(&str, &str); 8] = [
            ("key_cache_entries", "Keys in the verification cache"),
            ("writer_faults", "Write batches lost to a fault in the writer thread"),
            ("log_lines_dropped", "Log lines that could not be written"),
            ("import_previews", "Import previews waiting to be applied"),
            ("import_preview_bytes", "Bytes held by waiting import previews"),
            ("webhook_queue_depth", "Webhook deliveries waiting in the outbox"),
            ("webhook_oldest_undelivered_seconds", "Age of the oldest undelivered webhook event"),
            ("webhook_dead", "Webhook deliveries given up, redeliverable from the console"),
        ];
        let [
            key_cache,
            writer_faults,
            log_dropped,
            import_previews,
            import_preview_bytes,
            webhook_queue_depth,
            webhook_oldest_age,
            webhook_dead,
        ] = gauges.map(|(name, help)| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        });
        Metrics {
            registry,
            applied,
            rejected,
            latency,
            key_cache,
            writer_faults,
            log_dropped,
            import_previews,
            import_preview_bytes,
            webhook_attempts,
            webhook_queue_depth,
            webhook_oldest_age,
            webhook_dead,
        }
    }
}

impl Metrics {
    /// Counts an applied report.
    pub fn applied(&self, action: &str, seconds: f64) {
        self.applied.get_or_create(&ActionLabel { action: action.to_owned() }).inc();
        self.latency.observe(seconds);
    }
    /// Counts a rejection.
    pub fn rejected(&self, reason: &str) {
        self.rejected.get_or_create(&ReasonLabel { reason: reason.to_owned() }).inc();
    }
    /// Counts a webhook delivery attempt.
    pub fn webhook_outcome(&self, outcome: &str) {
        self.webhook_attempts.get_or_create(&OutcomeLabel { outcome: outcome.to_owned() }).inc();
    }
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
