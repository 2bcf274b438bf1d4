//! What one key may send: reports and bytes per minute, per key, checked once the signature is
//! verified and before the body is parsed, so a flood of valid reports from one host (or from
//! the fleet key) costs the receiver little more than reading it. Over budget: 429 with
//! `Retry-After`; the agent keeps the report in its spool for its next run.
//!
//! Token buckets: each key may send its per-minute amount at once, then at the rate that refills
//! it. Kept per receiver process, in a table of bounded size (a key idle for a minute is full
//! again, and is the first forgotten), so that N replicas allow N times the budget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Per-minute budgets (`assetkitd serve --max-reports-per-minute`, `--max-report-bytes-per-minute`,
/// and their `--fleet-...` twins).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Reports one host credential may send per minute.
    pub host_reports: f64,
    /// Report bytes one host credential may send per minute.
    pub host_bytes: f64,
    /// Reports one fleet (or admin) key may send per minute, all its hosts together.
    pub fleet_reports: f64,
    /// Report bytes one fleet (or admin) key may send per minute.
    pub fleet_bytes: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            host_reports: 30.0,
            host_bytes: (4u64 << 20) as f64,
            fleet_reports: 3_000.0,
            fleet_bytes: (64u64 << 20) as f64,
        }
    }
}

/// Keys tracked at once; beyond it the fullest buckets are forgotten (a forgotten key is full).
pub const MAX_KEYS: usize = 200_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    reports: f64,
    bytes: f64,
    at: Instant,
}

/// Why a request is over its key's budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Over {
    /// Which budget, in words.
    pub what: String,
    /// Seconds until it has room.
    pub retry_after: u64,
}

/// The buckets of the keys seen lately.
#[derive(Debug)]
pub struct Budgets {
    limits: Limits,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Budgets {
    /// Empty buckets table with these limits.
    pub fn new(limits: Limits) -> Budgets {
        Budgets { limits, buckets: Mutex::default() }
    }

    /// Whether `key_id` has room for a report of `bytes` now, taking nothing: checked on the
    /// key id a request claims, before its body is read, so that a key over its budget does not
    /// even cost the receiver its body. A forged request naming someone else's key learns only
    /// that that key is over its budget; it takes nothing from it.
    pub fn has_room(&self, key_id: &str, host: bool, bytes: usize, now: Instant) -> Result<(), Over> {
        let Some(bucket) = self.buckets.lock().unwrap_or_else(|e| e.into_inner()).get(key_id).copied() else {
            return Ok(());
        };
        take(&self.limits, &mut HashMap::from([(key_id.to_owned(), bucket)]), key_id, host, bytes, now)
    }

    /// Takes one report of `bytes` from `key_id`'s budget (`host`: a host credential), or says
    /// when there is room again; nothing is taken when it is over.
    pub fn admit(&self, key_id: &str, host: bool, bytes: usize, now: Instant) -> Result<(), Over> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        take(&self.limits, &mut buckets, key_id, host, bytes, now)
    }
}

/// Takes one report of `bytes` from `key_id`'s bucket in `buckets`, or says when there is room.
fn take(
    limits: &Limits,
    buckets: &mut HashMap<String, Bucket>,
    key_id: &str,
    host: bool,
    bytes: usize,
    now: Instant,
) -> Result<(), Over> {
    let (reports_per_min, bytes_per_min) =
        if host { (limits.host_reports, limits.host_bytes) } else { (limits.fleet_reports, limits.fleet_bytes) };
    if buckets.len() >= MAX_KEYS && !buckets.contains_key(key_id) {
        // Idle a minute: full again, the same as absent.
        buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() < 60.0);
    }
    let full = Bucket { reports: reports_per_min, bytes: bytes_per_min, at: now };
    let b = buckets.entry(key_id.to_owned()).or_insert(full);
    let minutes = now.saturating_duration_since(b.at).as_secs_f64() / 60.0;
    b.reports = (b.reports + minutes * reports_per_min).min(reports_per_min);
    b.bytes = (b.bytes + minutes * bytes_per_min).min(bytes_per_min);
    b.at = now;
    let size = bytes as f64;
    let (kind, per_min) = if host { ("host credential", "") } else { ("fleet key", "fleet-") };
    if b.reports < 1.0 {
        let wait = (1.0 - b.reports) / reports_per_min * 60.0;
        return Err(Over {
            what: format!(
                "this {kind} sent more than {reports_per_min} reports in a minute (--max-{per_min}reports-per-minute)"
            ),
            retry_after: wait.ceil().max(1.0) as u64,
        });
    }
    if b.bytes < size {
        // A report larger than the whole budget waits for a full bucket, and then goes.
        let wait = (size.min(bytes_per_min) - b.bytes).max(0.0) / bytes_per_min * 60.0;
        if b.bytes < bytes_per_min || size <= bytes_per_min {
            return Err(Over {
                what: format!(
                    "this {kind} sent more than {} MiB of reports in a minute (--max-{per_min}report-bytes-per-minute)",
                    bytes_per_min / f64::from(1u32 << 20)
                ),
                retry_after: wait.ceil().max(1.0) as u64,
            });
        }
    }
    b.reports -= 1.0;
    b.bytes = (b.bytes - size).max(0.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits() -> Limits {
        Limits { host_reports: 3.0, host_bytes: 1000.0, fleet_reports: 100.0, fleet_bytes: 100_000.0 }
    }

    #[test]
    fn a_key_sends_its_budget_at_once_then_at_the_refill_rate() {
        let b = Budgets::new(limits());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.admit("hk_a", true, 10, t0).is_ok());
        }
        let over = b.admit("hk_a", true, 10, t0).unwrap_err();
        assert_eq!(over.retry_after, 20, "one report every 20 s at 3 a minute");
        assert!(over.what.contains("3 reports"), "{}", over.what);
        // Another key is not affected; the fleet key has its own, larger budget.
        assert!(b.admit("hk_b", true, 10, t0).is_ok());
        assert!(b.admit("ak_fleet", false, 10, t0).is_ok());
        // 20 s later there is room for one.
        let t1 = t0 + Duration::from_secs(20);
        assert!(b.admit("hk_a", true, 10, t1).is_ok());
        assert!(b.admit("hk_a", true, 10, t1).is_err());
    }

    #[test]
    fn asking_whether_there_is_room_takes_nothing() {
        let b = Budgets::new(limits());
        let t0 = Instant::now();
        assert!(b.has_room("hk_a", true, 10, t0).is_ok(), "an unknown key has a full bucket");
        for _ in 0..100 {
            assert!(b.has_room("hk_a", true, 10, t0).is_ok());
        }
        for _ in 0..3 {
            assert!(b.admit("hk_a", true, 10, t0).is_ok());
        }
        assert_eq!(b.has_room("hk_a", true, 10, t0).unwrap_err().retry_after, 20);
        assert!(b.admit("hk_b", true, 990, t0).is_ok());
        assert!(b.has_room("hk_b", true, 20, t0).is_err(), "over the bytes budget");
        assert!(b.has_room("hk_b", true, 10, t0).is_ok());
    }

    #[test]
    fn bytes_are_a_budget_too_and_an_oversized_report_still_goes_when_the_bucket_is_full() {
        let b = Budgets::new(limits());
        let t0 = Instant::now();
        assert!(b.admit("hk_a", true, 900, t0).is_ok());
        let over = b.admit("hk_a", true, 200, t0).unwrap_err();
        assert!(over.what.contains("MiB"), "{}", over.what);
        assert_eq!(over.retry_after, 6, "100 more bytes at 1000 a minute: 6 s");
        // Larger than the whole budget: refused until the bucket is full, then taken.
        let t1 = t0 + Duration::from_secs(60);
        assert!(b.admit("hk_c", true, 5000, t1).is_ok());
        assert!(b.admit("hk_c", true, 5000, t1).is_err());
    }
}
