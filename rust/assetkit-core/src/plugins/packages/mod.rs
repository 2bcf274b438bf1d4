//! `packages`: every installed package of every package manager on the host, read from the
//! managers' own databases as files: dpkg's `/var/lib/dpkg/status` ([`dpkg`]), the rpm database
//! of any backend (`rpmdb.sqlite`, ndb `Packages.db`, Berkeley DB `Packages`: [`rpm`]) and apk's
//! `/lib/apk/db/installed` ([`apk`]).
//!
//! It spawns nothing and takes no lock: each database is read whole through the source and
//! parsed in memory. The one exception is an rpm database whose format no reader here knows:
//! then the output of `rpm -qa --qf` in one fixed format ([`rpm::qa::FORMAT`], snapshot
//! `commands/rpm-qa`) stands in for it.
//!
//! All or nothing: a database that is truncated, empty, corrupt, being rewritten or of an
//! unknown format (with no `rpm -qa` to fall back on) fails the plugin, and the report carries
//! no `packages` section at all, never a shorter list that the receiver would read as removals.
//! A host with no package database has no section either. Otherwise the list holds every
//! manager's packages, each tagged with its manager, sorted by (manager, name, arch, version in
//! the manager's order), with `packages_digest` beside it.

pub mod apk;
pub mod database;
pub mod dpkg;
pub mod rpm;

use std::cmp::Ordering;

use super::{CollectError, Collector, Ctx, Output};
pub use database::{DbError, MAX_PACKAGES};

use crate::model::{Package, packages_digest};
use crate::source::Source;

/// Every installed package (dpkg, rpm, apk), read from the databases without running anything.
pub struct PackagesCollector;

impl Collector for PackagesCollector {
    fn name(&self) -> &'static str {
        "packages"
    }
    fn describe(&self) -> &'static str {
        "installed packages from the dpkg, rpm (sqlite, ndb, Berkeley DB) and apk databases, read as files"
    }
    fn collect(&self, ctx: &Ctx) -> Result<Output, CollectError> {
        let src = ctx.source.as_ref();
        let mut out = Output::default();
        let Some(packages) = read_all(src)? else {
            return Ok(out);
        };
        out.facts.packages_digest = Some(packages_digest(&packages));
        out.facts.packages = Some(packages);
        Ok(out)
    }
}

/// The snapshot name of what the sweep's script could not capture of the package databases
/// (`rpm -qa` failed, a file it could not read), one problem a line.
pub const ERROR_COMMAND: &str = "packages.error";

/// Every manager's packages, checked and sorted; `None` when the host has no package database.
pub fn read_all(src: &dyn Source) -> Result<Option<Vec<Package>>, CollectError> {
    // Only a snapshot holds this (the live source has no such command): the capture was
    // incomplete, so no list read from it is whole.
    if let Ok(problem) = src.command(ERROR_COMMAND) {
        let problem = String::from_utf8_lossy(&problem).trim().to_owned();
        return Err(CollectError::Invalid(format!("the snapshot could not capture the package databases: {problem}")));
    }
    let deb = dpkg::read(src)?;
    let rpm = rpm::read(src)?;
    let apk = apk::read(src)?;
    if deb.is_none() && rpm.is_none() && apk.is_none() {
        return Ok(None);
    }
    let mut packages: Vec<Package> = [deb, rpm, apk].into_iter().flatten().flatten().collect();
    finish(&mut packages).map_err(CollectError::Invalid)?;
    Ok(Some(packages))
}

/// Sorts the list, drops exact repeats and checks it against the report's limits: a list the
/// receiver would refuse fails here, with the package named.
pub fn finish(packages: &mut Vec<Package>) -> Result<(), String> {
    packages.sort_by(order);
    packages.dedup_by(|a, b| order(a, b) == Ordering::Equal && same_identity(a, b));
    if packages.len() > MAX_PACKAGES {
        return Err(format!("{} installed packages, more than a report carries ({MAX_PACKAGES})", packages.len()));
    }
    packages.iter().try_for_each(check)
}

/// (manager, name, arch, version in the manager's order).
fn order(a: &Package, b: &Package) -> Ordering {
    a.manager
        .cmp(&b.manager)
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.arch.cmp(&b.arch))
        .then_with(|| crate::versions::sort_order(a.manager, &a.version, &b.version))
}

fn same_identity(a: &Package, b: &Package) -> bool {
    (&a.source, &a.source_version, &a.vendor) == (&b.source, &b.source_version, &b.vendor)
}

/// The schema's bounds on one package: name and version 1 to 256 bytes, arch up to 64, the
/// others up to 256, no NUL anywhere.
fn check(p: &Package) -> Result<(), String> {
    let fields: [(&str, Option<&str>, usize); 6] = [
        ("name", Some(&p.name), 256),
        ("version", Some(&p.version), 256),
        ("arch", p.arch.as_deref(), 64),
        ("source", p.source.as_deref(), 256),
        ("source version", p.source_version.as_deref(), 256),
        ("vendor", p.vendor.as_deref(), 256),
    ];
    for (what, value, max) in fields {
        let Some(value) = value else { continue };
        let problem = if value.len() > max {
            format!("is longer than {max} bytes")
        } else if value.contains('\0') {
            "holds a NUL character".to_owned()
        } else if value.is_empty() && matches!(what, "name" | "version") {
            "is empty".to_owned()
        } else {
            continue;
        };
        let name: String = p.name.chars().take(64).collect();
        return Err(format!("{} package {name:?}: its {what} {problem} (the report's limit)", p.manager.as_str()));
    }
    Ok(())
}
