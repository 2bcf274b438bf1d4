//! apk's version order and syntax (apk-tools src/version.c): `digit{.digit}…{letter}
//! {_suf{#}}…{~hash}{-r#}`, read as a sequence of typed tokens.

use std::cmp::Ordering;

/// Token kinds, in apk's order: the order is the semantics (what may follow what, and which of
/// two versions that agree up to a point is newer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffixes in apk's order; `None` is the pivot: pre-releases below it, post-releases above.
const SUFFIXES: [&[u8]; 11] = [b"", b"alpha", b"beta", b"pre", b"rc", b"", b"cvs", b"svn", b"git", b"hg", b"p"];
const SUFFIX_INVALID: u8 = 0;
const SUFFIX_NONE: u8 = 5;

fn suffix_value(s: &[u8]) -> u8 {
    match SUFFIXES.iter().position(|&known| !known.is_empty() && known == s) {
        Some(i) => i as u8,
        None => SUFFIX_INVALID,
    }
}

/// The tokenizer's state: the current token, its text, and its value.
struct State<'a> {
    rest: &'a [u8],
    token: Token,
    value: &'a [u8],
    number: u64,
    suffix: u8,
}

impl<'a> State<'a> {
    /// `token_first`: a version starts with digits.
    fn first(v: &'a [u8]) -> Self {
        let mut s = State { rest: v, token: Token::InitialDigit, value: &[], number: 0, suffix: 0 };
        s.digits();
        s
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        head
    }

    /// `token_parse_digits`: the number wraps as apk's `uint64_t` does.
    fn digits(&mut self) {
        let n = self.rest.iter().take_while(|c| c.is_ascii_digit()).count();
        self.value = self.take(n);
        self.number = self.value.iter().fold(0u64, |acc, c| acc.wrapping_mul(10).wrapping_add(u64::from(c - b'0')));
        if self.value.is_empty() {
            self.token = Token::Invalid;
        }
    }

    /// `token_next`: the kind of the next token from its first character, checked against what
    /// may follow the current one.
    fn next(&mut self) {
        let Some(&c) = self.rest.first() else {
            self.token = Token::End;
            return;
        };
        let t = self.token;
        self.token = match c {
            b'a'..=b'z' if t <= Token::Digit => {
                self.value = self.take(1);
                Token::Letter
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if t > Token::Digit {
                        self.token = Token::Invalid;
                        return;
                    }
                    self.take(1);
                }
                self.token = match t {
                    Token::InitialDigit | Token::Digit => Token::Digit,
                    Token::Suffix => Token::SuffixNo,
                    _ => {
                        self.token = Token::Invalid;
                        return;
                    }
                };
                self.digits();
                return;
            }
            b'_' if t <= Token::SuffixNo => {
                self.take(1);
                let n = self.rest.iter().take_while(|c| c.is_ascii_lowercase()).count();
                self.value = self.take(n);
                self.suffix = suffix_value(self.value);
                if self.suffix == SUFFIX_INVALID { Token::Invalid } else { Token::Suffix }
            }
            b'~' if t < Token::CommitHash => {
                self.take(1);
                let n = self.rest.iter().take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(*c)).count();
                self.value = self.take(n);
                if self.value.is_empty() { Token::Invalid } else { Token::CommitHash }
            }
            b'-' if t < Token::RevisionNo && self.rest.starts_with(b"-r") => {
                self.take(2);
                self.token = Token::RevisionNo;
                self.digits();
                return;
            }
            _ => Token::Invalid,
        };
    }
}

/// `token_cmp`: numbers as numbers, except digit fields with a leading zero, which compare as
/// strings (Gentoo's rule); letters and suffixes by value; anything else as strings.
fn token_cmp(a: &State<'_>, b: &State<'_>) -> Ordering {
    match a.token {
        Token::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => a.value.cmp(b.value),
        Token::Digit | Token::InitialDigit | Token::SuffixNo | Token::RevisionNo => a.number.cmp(&b.number),
        Token::Letter => a.value.first().cmp(&b.value.first()),
        Token::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.value.cmp(b.value),
    }
}

/// Compares two apk versions as `apk version -t` does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut ta, mut tb) = (State::first(a.as_bytes()), State::first(b.as_bytes()));
    // Each round consumes at least one byte of each side, so this ends.
    while ta.token == tb.token && ta.token < Token::End {
        let r = token_cmp(&ta, &tb);
        if r != Ordering::Equal {
            return r;
        }
        ta.next();
        tb.next();
    }
    if ta.token == tb.token {
        return Ordering::Equal;
    }
    // Equal up to here: the longer one is newer, unless what it goes on with is a pre-release
    // suffix.
    if ta.token == Token::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.token == Token::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    tb.token.cmp(&ta.token)
}

/// `apk_version_validate`: the whole string reads as tokens up to the end.
pub fn valid(v: &str) -> bool {
    let mut t = State::first(v.as_bytes());
    while t.token < Token::End {
        t.next();
    }
    t.token == Token::End
}
