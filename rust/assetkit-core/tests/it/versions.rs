//! Version order against each manager's own published test vectors
//! (tests/fixtures/versions, origins in its ORIGIN.md): every row, both ways round.

use std::cmp::Ordering;

use assetkit_core::model::PackageManager;
use assetkit_core::versions;

use crate::support::fixtures;

/// The rows of a vector file: (line number, A, B, expected).
fn rows(name: &str) -> Vec<(usize, String, String, Ordering)> {
    let path = fixtures().join("versions").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(n, l)| {
            let mut f = l.split('\t');
            let (a, b, e) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            let expected = match e.trim() {
                "-1" => Ordering::Less,
                "0" => Ordering::Equal,
                "1" => Ordering::Greater,
                other => panic!("{name}:{}: expected {other:?}", n + 1),
            };
            (n + 1, a.to_owned(), b.to_owned(), expected)
        })
        .collect()
}

/// Every row and its mirror; returns the number of rows checked.
fn check(name: &str, minimum: usize, cmp: impl Fn(&str, &str) -> Ordering) -> usize {
    let rows = rows(name);
    assert!(rows.len() >= minimum, "{name}: {} rows, expected at least {minimum}", rows.len());
    let mut failures = Vec::new();
    for (line, a, b, expected) in &rows {
        let got = cmp(a, b);
        if got != *expected {
            failures.push(format!("{name}:{line}: cmp({a:?}, {b:?}) = {got:?}, expected {expected:?}"));
        }
        let mirror = cmp(b, a);
        if mirror != expected.reverse() {
            failures.push(format!("{name}:{line}: cmp({b:?}, {a:?}) = {mirror:?}, expected {:?}", expected.reverse()));
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    rows.len()
}

#[test]
fn dpkg_agrees_with_dpkgs_own_vectors() {
    let deb = |a: &str, b: &str| versions::compare(PackageManager::Deb, a, b);
    assert_eq!(check("dpkg.tsv", 43, deb), 43);
    assert_eq!(check("dpkg-libdpkg-t-version.tsv", 9, deb), 9);
    check("dpkg-this-machine.tsv", 400, deb);
}

#[test]
fn rpmvercmp_agrees_with_rpms_own_vectors() {
    assert_eq!(check("rpm.tsv", 91, versions::rpm::vercmp), 91);
    assert_eq!(check("rpm-oddities.tsv", 12, versions::rpm::vercmp), 12);
    // A bare version is an EVR with epoch 0 and no release: the same answers.
    check("rpm.tsv", 91, |a, b| versions::compare(PackageManager::Rpm, a, b));
}

#[test]
fn rpm_evr_agrees_with_rpm_vercmp() {
    check("rpm-evr.tsv", 26, |a, b| versions::compare(PackageManager::Rpm, a, b));
}

#[test]
fn apk_agrees_with_apk_tools_vectors() {
    assert_eq!(check("apk.tsv", 733, |a, b| versions::compare(PackageManager::Apk, a, b)), 733);
}

#[test]
fn validity_per_manager() {
    use PackageManager::{Apk, Deb, Rpm};
    for (manager, good, bad) in [
        (
            Deb,
            &["1.0", "1:2.36-9+deb12u14", "3.0.13-1~deb12u1", "2.2~rc-4", "1.16.5-1.3", "0:0-0"][..],
            &["", "1.0 beta", "a1.0", "x:1.0", "1.0-", "1:", "-1.0", "1.0-1_2", "99999999999:1"][..],
        ),
        (
            Rpm,
            &["3.0.13", "3.0.13-1.el9", "1:3.0.13-1.el9", "1.0^git1-2.fc40", "1.0~rc1-1"][..],
            &["", "1:", "1.0-", "1.0 -1", "1.0-1/2", "é-1"][..],
        ),
        (
            Apk,
            &["1.0", "2.9.11_pre20061021-r2", "1.0_alpha2-r0", "1.2.3a", "1.0~abc123-r1"][..],
            &["", "1.0bc", "23_foo", "1.0-1", "a1", "1.0.", "1.0-r"][..],
        ),
    ] {
        for v in good {
            assert!(versions::valid(manager, v), "{manager:?}: {v:?} should be valid");
        }
        for v in bad {
            assert!(!versions::valid(manager, v), "{manager:?}: {v:?} should be invalid");
        }
    }
    assert!(!versions::valid(Deb, &"1".repeat(257)), "longer than the report allows");
}

#[test]
fn sort_order_is_total() {
    use PackageManager::Deb;
    // dpkg calls these equal; the list order still has to be one order.
    assert_eq!(versions::compare(Deb, "1.09", "1.9"), Ordering::Equal);
    assert_eq!(versions::sort_order(Deb, "1.09", "1.9"), Ordering::Less);
    let mut v = vec!["1.9", "1.10", "1.09", "1.9~rc1", "1:0.1"];
    v.sort_by(|a, b| versions::sort_order(Deb, a, b));
    assert_eq!(v, ["1.9~rc1", "1.09", "1.9", "1.10", "1:0.1"]);
}
