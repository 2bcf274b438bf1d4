//! Version order of each package manager: dpkg's, rpm's `rpmvercmp` over epoch, version and
//! release, apk's. Never string order.
//!
//! Each comparator is a port of the manager's own C code, checked against that project's
//! published test vectors (`tests/fixtures/versions/`, 100% agreement in the test suite):
//!
//! - [`dpkg`]: `dpkg_version_compare` (lib/dpkg/version.c): the epoch as a number, then the
//!   upstream version and the revision by `verrevcmp` (`~` before everything, even the end;
//!   letters before other characters; digit runs as numbers);
//! - [`rpm`]: `rpmvercmp` (rpmio/rpmvercmp.c) over each of epoch (missing = 0), version and
//!   release, as `rpmverCmp` (rpmio/rpmver.c, Lua's `rpm.vercmp`) does: a missing release
//!   sorts before any release, so `3.0.13` < `3.0.13-1.el9` and "older than 3.0.13" does not
//!   take in 3.0.13-1.el9 (rpm's dependency matching, where `openssl >= 3.0.13` is met by any
//!   release, is a different question);
//! - [`apk`]: `apk_version_compare` (apk-tools src/version.c): digits, a letter, `_suffix`es
//!   (`alpha` < `beta` < `pre` < `rc` < none < `cvs` < `svn` < `git` < `hg` < `p`), `~hash`,
//!   `-r` revision.
//!
//! None of them allocates, and none panics on any input: a string the manager would refuse is
//! still ordered (the way the manager's own code orders it), and [`valid`] says whether the
//! manager would accept it.

use std::cmp::Ordering;

use crate::model::PackageManager;

pub mod apk;
mod digits;
pub mod dpkg;
pub mod rpm;

/// Compares two versions of one package by `manager`'s rules.
pub fn compare(manager: PackageManager, a: &str, b: &str) -> Ordering {
    match manager {
        PackageManager::Deb => dpkg::compare(a, b),
        PackageManager::Rpm => rpm::compare(a, b),
        PackageManager::Apk => apk::compare(a, b),
    }
}

/// True when `manager` itself would accept `v` as a version: for the receiver to refuse a query
/// such as `version_lt=1.0 beta` with a clear message instead of ordering nonsense.
///
/// - deb: what dpkg's `parseversion` accepts without an error or a warning:
///   `[epoch:]upstream[-revision]`, the epoch a number up to 2^31-1, the upstream version
///   starting with a digit and made of letters, digits and `.+~-:`, the revision (after the
///   last `-`) of letters, digits and `.+~`;
/// - rpm: `[epoch:]version[-release]`, the epoch a number, version and release non-empty and
///   made of letters, digits and `._+~^` (rpmbuild's rule); the release may be left out (a
///   query for `3.0.13` matches every release);
/// - apk: what `apk_version_validate` accepts: `digit{.digit}…{letter}{_suf{#}}…{~hash}{-r#}`.
///
/// At most 256 bytes in every case (the report's limit).
pub fn valid(manager: PackageManager, v: &str) -> bool {
    if v.is_empty() || v.len() > 256 {
        return false;
    }
    match manager {
        PackageManager::Deb => dpkg::valid(v),
        PackageManager::Rpm => rpm::valid(v),
        PackageManager::Apk => apk::valid(v),
    }
}

/// A total order for sorting a host's package list: the manager's order, then plain byte order
/// for the versions it calls equal (`1.0` and `1.00`), so a list always sorts the same way.
pub fn sort_order(manager: PackageManager, a: &str, b: &str) -> Ordering {
    compare(manager, a, b).then_with(|| a.cmp(b))
}
