//! rpm's version order: `rpmvercmp` (rpmio/rpmvercmp.c) and the EVR comparison of `rpmverCmp`
//! (lib/rpmver.c) over `[epoch:]version[-release]`, split as `rpmverParse` splits it.

use std::cmp::Ordering;

use super::digits::cmp_digits;

/// An EVR split as rpm splits it: the epoch (the digits before a `:`, when they are followed
/// by one), the version, the release (after the last `-`).
struct Evr<'a> {
    epoch: Option<&'a [u8]>,
    version: &'a [u8],
    release: Option<&'a [u8]>,
}

fn split(evr: &str) -> Evr<'_> {
    let s = evr.as_bytes();
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let (epoch, rest) = if s.get(digits) == Some(&b':') { (Some(&s[..digits]), &s[digits + 1..]) } else { (None, s) };
    match rest.iter().rposition(|&c| c == b'-') {
        Some(i) => Evr { epoch, version: &rest[..i], release: Some(&rest[i + 1..]) },
        None => Evr { epoch, version: rest, release: None },
    }
}

/// Compares two `[epoch:]version[-release]` strings as rpm's `rpmverCmp` (and `rpm.vercmp`)
/// does: the epoch (missing = 0), then the version, then the release, where a missing release
/// sorts before any release (`3.0.13` < `3.0.13-1.el9`).
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (split(a), split(b));
    // rpm compares epochs with rpmvercmp too; an empty epoch (":1.0") is 0 as well.
    vercmp_bytes(epoch(a.epoch), epoch(b.epoch)).then_with(|| vercmp_bytes(a.version, b.version)).then_with(|| {
        match (a.release, b.release) {
            (Some(ra), Some(rb)) => vercmp_bytes(ra, rb),
            (ra, rb) => ra.is_some().cmp(&rb.is_some()),
        }
    })
}

fn epoch(e: Option<&[u8]>) -> &[u8] {
    e.filter(|e| !e.is_empty()).unwrap_or(b"0")
}

/// `rpmvercmp`: compares two version (or release) strings segment by segment.
pub fn vercmp(a: &str, b: &str) -> Ordering {
    vercmp_bytes(a.as_bytes(), b.as_bytes())
}

fn vercmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    // rpm works on C strings: a NUL ends the string.
    let cut = |s: &'_ [u8]| -> usize { s.iter().position(|&c| c == 0).unwrap_or(s.len()) };
    let (a, b) = (&a[..cut(a)], &b[..cut(b)]);
    let (mut i, mut j) = (0usize, 0usize);
    let separator = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while i < a.len() || j < b.len() {
        while i < a.len() && separator(a[i]) {
            i += 1;
        }
        while j < b.len() && separator(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        // A tilde sorts before everything, even the end of the string.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            (i, j) = (i + 1, j + 1);
            continue;
        }
        // A caret sorts after the end of the string but before any further segment.
        if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(x), _) if x != b'^' => return Ordering::Greater,
                (_, Some(y)) if y != b'^' => return Ordering::Less,
                _ => {}
            }
            (i, j) = (i + 1, j + 1);
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else { break };
        let numeric = ca.is_ascii_digit();
        let class = |c: &u8| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() };
        let ei = i + a[i..].iter().take_while(|c| class(c)).count();
        let ej = j + b[j..].iter().take_while(|c| class(c)).count();
        // Segments of different kinds: the numeric one is newer.
        if ej == j {
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let by_segment = if numeric { cmp_digits(&a[i..ei], &b[j..ej]) } else { a[i..ei].cmp(&b[j..ej]) };
        if by_segment != Ordering::Equal {
            return by_segment;
        }
        (i, j) = (ei, ej);
    }
    // Whichever still has characters left wins; separators alone left on both sides tie.
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, _) => Ordering::Greater,
    }
}

/// `[epoch:]version[-release]` with a numeric epoch and version and release of letters,
/// digits and `._+~^`.
pub fn valid(v: &str) -> bool {
    let evr = split(v);
    let allowed = |s: &[u8]| !s.is_empty() && s.iter().all(|c| c.is_ascii_alphanumeric() || b"._+~^".contains(c));
    evr.epoch.is_none_or(|e| !e.is_empty() && e.len() <= 10) && allowed(evr.version) && evr.release.is_none_or(allowed)
}
