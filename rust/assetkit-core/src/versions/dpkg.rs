//! dpkg's version order (lib/dpkg/version.c `dpkg_version_compare`, `verrevcmp`) and its
//! version syntax (lib/dpkg/parsehelp.c `parseversion`).

use std::cmp::Ordering;

use super::digits::cmp_digits;

/// A version split as dpkg splits it: the epoch (digits before the first `:`, empty when
/// absent), the upstream version, the revision (after the last `-`, empty when absent).
struct Parts<'a> {
    epoch: &'a [u8],
    upstream: &'a [u8],
    revision: &'a [u8],
}

fn split(v: &str) -> Parts<'_> {
    let v = v.trim().as_bytes();
    let (epoch, rest) = match v.iter().position(|&c| c == b':') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (&v[..0], v),
    };
    let (upstream, revision) = match rest.iter().rposition(|&c| c == b'-') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    Parts { epoch, upstream, revision }
}

/// Compares two Debian versions `[epoch:]upstream[-revision]` as `dpkg --compare-versions`.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (split(a), split(b));
    // dpkg reads the epoch with strtol (its leading digits); a missing one is 0. Digits compare
    // as numbers of any length, so a nonsense epoch orders without overflowing.
    let lead = |e: &'_ [u8]| -> usize { e.iter().take_while(|c| c.is_ascii_digit()).count() };
    let by_epoch = cmp_digits(&a.epoch[..lead(a.epoch)], &b.epoch[..lead(b.epoch)]);
    by_epoch.then_with(|| verrevcmp(a.upstream, b.upstream)).then_with(|| verrevcmp(a.revision, b.revision))
}

/// The weight of a non-digit character: `~` first (before the end), then the end and digits,
/// then letters, then everything else, by ASCII.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternating non-digit runs (by [`order`]) and digit runs (as numbers).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let at = |s: &[u8], k: usize| s.get(k).copied();
    let digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(at(a, i))) || (j < b.len() && !digit(at(b, j))) {
            let (ac, bc) = (order(at(a, i)), order(at(b, j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let si = i + a[i.min(a.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        let sj = j + b[j.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        let by_number = cmp_digits(&a[i.min(a.len())..si], &b[j.min(b.len())..sj]);
        if by_number != Ordering::Equal {
            return by_number;
        }
        (i, j) = (si, sj);
    }
    Ordering::Equal
}

/// dpkg's `parseversion` accepts `v` with neither an error nor a warning.
pub fn valid(v: &str) -> bool {
    if v.bytes().any(|c| c.is_ascii_whitespace()) || !v.is_ascii() {
        return false;
    }
    let rest = match v.split_once(':') {
        Some((epoch, rest)) => {
            let number = !epoch.is_empty() && epoch.bytes().all(|c| c.is_ascii_digit());
            if !number
                || epoch.trim_start_matches('0').len() > 10
                || epoch.parse::<u64>().unwrap_or(u64::MAX) > 0x7fff_ffff
            {
                return false;
            }
            rest
        }
        None => v,
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, "")) => (u, None),
        Some((u, r)) => (u, Some(r)),
        None => (rest, Some("")),
    };
    let Some(revision) = revision else { return false };
    upstream.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && upstream.bytes().all(|c| c.is_ascii_alphanumeric() || b".-+~:".contains(&c))
        && revision.bytes().all(|c| c.is_ascii_alphanumeric() || b".+~".contains(&c))
}
