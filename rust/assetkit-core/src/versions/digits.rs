//! What dpkg's and rpm's orders share: digit runs compared as numbers of any length.

use std::cmp::Ordering;

/// Compares two runs of ASCII digits as numbers of any length (leading zeros ignored).
pub(super) fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
    let (a, b) = (&a[trim(a)..], &b[trim(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}
