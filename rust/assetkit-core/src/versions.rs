//! Version order of each package manager: dpkg's, rpm's `rpmvercmp` over epoch, version and
//! release, apk's. Never string order.
//!
//! PLACEHOLDER: the real comparators land with the packages collector (branch `packages`).

use std::cmp::Ordering;

use crate::model::PackageManager;

/// Compares two versions of one package by `manager`'s rules.
pub fn compare(manager: PackageManager, a: &str, b: &str) -> Ordering {
    let _ = manager;
    a.cmp(b)
}
