//! Logging that never takes the service down and never carries attacker-sized input.
//!
//! - A failed write to stderr (a full disk, `2>/dev/full`, a closed pipe) is dropped and counted,
//!   never a panic: `tracing-subscriber` would otherwise report the failure with `eprintln!`,
//!   which panics when stderr itself is what failed.
//! - [`clip`] bounds every client-supplied string before it reaches a log line.
//! - [`Limiter`] lets a burst of identical failures through a few times per window, then counts
//!   the rest into one summary line.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Log writes that failed (exposed in `/metrics`).
pub static DROPPED_LINES: AtomicU64 = AtomicU64::new(0);

/// Longest client-supplied string in a log line.
pub const MAX_LOGGED: usize = 64;

/// At most [`MAX_LOGGED`] characters of `s`, control characters escaped, marked when cut.
pub fn clip(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX_LOGGED {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// At most about 300 characters of `s` (an error message that may quote client input), cut
/// after a whole word when it is longer: advice is never left as "check t…".
pub fn clip_long(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let head: String = s.chars().take(MAX).collect();
    let cut = head.rfind(char::is_whitespace).filter(|at| *at >= MAX / 2).unwrap_or(head.len());
    format!("{}…", head[..cut].trim_end())
}

/// stderr whose failures are swallowed (and counted).
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::io::stderr().write_all(buf).is_err() {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Installs the global subscriber: `filter` (e.g. "info") unless `ASSETKIT_LOG` is set.
pub fn init(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASSETKIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    // Colour only for a person at a terminal: a file or a journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(|| Stderr)
        .with_target(false)
        .log_internal_errors(false)
        .init();
}

/// Lets `burst` lines per key through in each `window`; the rest are counted, and the count is
/// handed back with the first line of the next window.
pub struct Limiter {
    burst: u32,
    window: Duration,
    state: Mutex<Vec<(&'static str, Instant, u32, u64)>>,
}

impl Limiter {
    /// A limiter of `burst` lines per key per `window`. Keys are static (error codes), so the
    /// table is as small as the set of codes.
    pub const fn new(burst: u32, window: Duration) -> Self {
        Limiter { burst, window, state: Mutex::new(Vec::new()) }
    }

    /// `Some(suppressed since the last line)` when a line for `key` may be written now.
    pub fn allow(&self, key: &'static str) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let at = match state.iter().position(|(k, ..)| *k == key) {
            Some(at) => at,
            None => {
                state.push((key, now, 0, 0));
                state.len() - 1
            }
        };
        let (_, start, count, suppressed) = &mut state[at];
        if now.duration_since(*start) >= self.window {
            *start = now;
            *count = 0;
        }
        if *count < self.burst {
            *count += 1;
            Some(std::mem::take(suppressed))
        } else {
            *suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_bounds_and_escapes() {
        assert_eq!(clip("web01"), "web01");
        assert_eq!(clip("a\nb\0"), "a\\nb\\u{0}");
        let long = "x".repeat(10_000);
        assert_eq!(clip(&long).chars().count(), MAX_LOGGED + 1);
    }

    #[test]
    fn limiter_counts_what_it_holds_back() {
        let l = Limiter::new(2, Duration::from_secs(3600));
        assert_eq!(l.allow("bad_signature"), Some(0));
        assert_eq!(l.allow("bad_signature"), Some(0));
        assert_eq!(l.allow("bad_signature"), None);
        assert_eq!(l.allow("bad_signature"), None);
        assert_eq!(l.allow("replay"), Some(0), "keys are independent");
    }
}
