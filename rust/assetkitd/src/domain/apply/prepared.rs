//! A report with what applying it needs that follows from the report alone.
//!
//! Its digests and the raw text kept with the asset are worked out by [`Prepared::new`] on the
//! request's own thread, before the report joins the writer's queue; so are its components with
//! their stored texts, when [`super::LastDigests`] expects the report to change its asset. Every write
//! waits for the one writer thread (SQLite allows one writer), so work that needs no database is
//! kept off it: at saturation that is what bounds latency. A report expected unchanged skips the
//! extraction altogether (it is not needed then); if it does change its asset after all, the
//! writer extracts them itself.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use assetkit_core::model::Report;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::components::{self, Reported};
use crate::domain::software;

/// A decoded report and what follows from it alone.
pub struct Prepared {
    /// The report.
    pub report: Report,
    /// Its JSON as received.
    pub raw: String,
    /// [`digest`]: everything an unchanged report would repeat, but its packages.
    pub digest: String,
    /// The digest of its full package list, when it sends one.
    pub listed: Option<String>,
    /// Its components by kind, sections absent from the report absent here: extracted once,
    /// when first asked for.
    components: OnceLock<BTreeMap<&'static str, Reported>>,
    /// The raw report as kept with the asset when it sends packages (they are kept as rows);
    /// `None` when that is `raw` itself. Made once, when first asked for.
    kept: OnceLock<Option<String>>,
}

impl Prepared {
    /// Works out what `report` (whose JSON is `raw`) needs before it is applied.
    pub fn new(report: Report, raw: String) -> Prepared {
        let listed = report.facts.packages.as_deref().map(assetkit_core::model::packages_digest);
        let digest = digest(&report);
        Prepared { report, raw, digest, listed, components: OnceLock::new(), kept: OnceLock::new() }
    }

    /// Extracts the components, and makes the text kept with the asset, now, on this thread:
    /// for a report expected to change its asset.
    pub fn with_components(self) -> Prepared {
        self.components();
        self.kept();
        self
    }

    /// Its components by kind, sections absent from the report absent here.
    pub fn components(&self) -> &BTreeMap<&'static str, Reported> {
        self.components.get_or_init(|| {
            components::extract(&self.report.facts).into_iter().map(|(kind, list)| (kind, Reported::of(list))).collect()
        })
    }

    /// The raw report as kept with the asset: its package list is kept as rows instead.
    pub fn kept(&self) -> &str {
        let kept = self.kept.get_or_init(|| {
            let r = &self.report.facts;
            match (&self.listed, &r.packages_delta, &r.packages_digest) {
                (Some(d), _, _) | (None, Some(_), Some(d)) => Some(software::store::without_packages(&self.raw, d)),
                _ => None,
            }
        });
        kept.as_deref().unwrap_or(&self.raw)
    }

    /// What the report sends of its packages.
    pub fn sent(&self) -> software::Sent<'_> {
        software::Sent::of(&self.report, self.listed.as_deref())
    }
}

/// The digest of everything an unchanged report would repeat, but its packages: those are
/// compared by their own digest (`assets.packages_digest`), so a report whose only change is
/// its package set is applied without diffing the hardware again.
pub fn digest(report: &Report) -> String {
    #[derive(Serialize)]
    struct Digested<'a> {
        facts: &'a assetkit_core::model::Facts,
        hostname: &'a Option<String>,
        cert_hostname: &'a Option<String>,
        errors: &'a [assetkit_core::model::PluginMessage],
    }
    let without_packages;
    let facts = if report.facts.packages.is_some()
        || report.facts.packages_digest.is_some()
        || report.facts.packages_delta.is_some()
    {
        without_packages = report.facts.without_packages();
        &without_packages
    } else {
        &report.facts
    };
    let bytes = serde_json::to_vec(&Digested {
        facts,
        hostname: &report.host.hostname,
        cert_hostname: &report.host.cert_hostname,
        errors: &report.errors,
    })
    .unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}
