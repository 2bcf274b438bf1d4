//! The login throttle: failed logins per account and per client network, in bounded memory.
//!
//! - Accounts are counted only when they exist, so that table is as large as the users table and
//!   an attacker inventing names cannot grow it, nor push a locked account out of it.
//! - Client networks (an IPv4 address, an IPv6 /64) live in a table of at most
//!   [`MAX_NETWORKS`] entries. When it is full, expired entries go first, then the least
//!   recently failed entries that are *not* locked; a locked entry is never evicted. If every
//!   entry is locked, new networks are refused until some expire: under that attack, failing
//!   closed is the safe side.
//! - The tables are never cleared wholesale, and each entry keeps at most as many timestamps as
//!   its limit.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per account in [`WINDOW`].
pub const MAX_FAILED_LOGINS: usize = 5;
/// Failed logins allowed per client network (several people behind one NAT, or a password spray).
pub const MAX_FAILED_LOGINS_PER_NETWORK: usize = 20;
/// The window over which failed logins count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most client networks tracked at once.
pub const MAX_NETWORKS: usize = 65_536;

/// The unit an address is counted in: IPv4 addresses one by one, IPv6 by /64 (one host can
/// hold a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// An IPv4 address.
    V4(u32),
    /// The upper 64 bits of an IPv6 address.
    V6(u64),
}

impl From<IpAddr> for Network {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Network::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Network::V4(u32::from(v4)),
                None => Network::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

#[derive(Debug, Default)]
struct Failures(VecDeque<Instant>);

impl Failures {
    fn expire(&mut self, now: Instant) {
        while self.0.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            self.0.pop_front();
        }
    }
    /// Seconds until an attempt is allowed again, when locked.
    fn locked_for(&self, limit: usize, now: Instant) -> Option<u64> {
        (self.0.len() >= limit).then(|| {
            let oldest = self.0[self.0.len() - limit];
            (WINDOW - now.duration_since(oldest).min(WINDOW)).as_secs() + 1
        })
    }
    fn push(&mut self, now: Instant, limit: usize) {
        self.0.push_back(now);
        while self.0.len() > limit {
            self.0.pop_front();
        }
    }
    fn last(&self) -> Option<Instant> {
        self.0.back().copied()
    }
}

struct Table<K> {
    entries: HashMap<K, Failures>,
    limit: usize,
    capacity: usize,
}

impl<K: Eq + Hash + Clone> Table<K> {
    fn new(limit: usize, capacity: usize) -> Self {
        Table { entries: HashMap::new(), limit, capacity }
    }

    fn locked_for(&mut self, key: &K, now: Instant) -> Option<u64> {
        let f = self.entries.get_mut(key)?;
        f.expire(now);
        f.locked_for(self.limit, now)
    }

    /// Makes room for one new key; false when every entry is locked.
    fn make_room(&mut self, now: Instant) -> bool {
        if self.entries.len() < self.capacity {
            return true;
        }
        self.entries.retain(|_, f| {
            f.expire(now);
            !f.0.is_empty()
        });
        if self.entries.len() < self.capacity {
            return true;
        }
        // Free a tenth of the table at once, so this O(n log n) pass runs once per many inserts.
        let mut evictable: Vec<(Instant, K)> = self
            .entries
            .iter()
            .filter(|(_, f)| f.locked_for(self.limit, now).is_none())
            .filter_map(|(k, f)| Some((f.last()?, k.clone())))
            .collect();
        evictable.sort_by_key(|(t, _)| *t);
        for (_, k) in evictable.into_iter().take((self.capacity / 10).max(1)) {
            self.entries.remove(&k);
        }
        self.entries.len() < self.capacity
    }

    fn count(&mut self, key: &K, now: Instant) -> bool {
        if !self.entries.contains_key(key) && !self.make_room(now) {
            return false;
        }
        self.entries.entry(key.clone()).or_default().push(now, self.limit);
        true
    }

    fn take_back(&mut self, key: &K) {
        if let Some(f) = self.entries.get_mut(key) {
            f.0.pop_back();
        }
    }
}

/// Per-account and per-network failure counts.
pub struct Throttle {
    inner: Mutex<(Table<i64>, Table<Network>)>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::with_capacity(MAX_NETWORKS)
    }
}

impl Throttle {
    /// A throttle tracking at most `networks` client networks.
    pub fn with_capacity(networks: usize) -> Self {
        Throttle {
            inner: Mutex::new((
                Table::new(MAX_FAILED_LOGINS, usize::MAX),
                Table::new(MAX_FAILED_LOGINS_PER_NETWORK, networks),
            )),
        }
    }

    /// Counts one attempt for `user` (the id of an existing account, if the name is one) from
    /// `network`, or refuses it with the seconds to wait. Check and count happen under one lock,
    /// before the password is verified, so parallel attempts cannot slip past the limit.
    pub fn attempt(&self, user: Option<i64>, network: Network) -> Result<(), u64> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (users, networks) = &mut *guard;
        let now = Instant::now();
        let wait = user.and_then(|u| users.locked_for(&u, now)).max(networks.locked_for(&network, now));
        if let Some(w) = wait {
            return Err(w);
        }
        if !networks.count(&network, now) {
            return Err(WINDOW.as_secs());
        }
        if let Some(u) = user {
            users.count(&u, now);
        }
        Ok(())
    }

    /// A successful login clears the account's count and takes back its attempt from the network.
    pub fn succeed(&self, user: i64, network: Network) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (users, networks) = &mut *guard;
        users.entries.remove(&user);
        networks.take_back(&network);
    }

    /// Networks tracked now.
    pub fn networks(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(n: u32) -> Network {
        Network::V4(n)
    }

    #[test]
    fn counts_before_verifying() {
        let t = Throttle::default();
        for _ in 0..MAX_FAILED_LOGINS {
            assert!(t.attempt(Some(1), v4(1)).is_ok());
        }
        assert!(t.attempt(Some(1), v4(2)).is_err(), "the account is locked from any address");
        assert!(t.attempt(Some(2), v4(1)).is_ok(), "another account from the same address is not");
        t.succeed(2, v4(1));
        assert!(t.attempt(Some(2), v4(1)).is_ok());
    }

    #[test]
    fn a_flood_of_new_networks_never_unlocks_a_locked_one_and_never_grows_the_table() {
        let t = Throttle::with_capacity(100);
        for _ in 0..MAX_FAILED_LOGINS_PER_NETWORK {
            assert!(t.attempt(None, v4(7)).is_ok());
        }
        assert!(t.attempt(None, v4(7)).is_err());
        for n in 1000..20_000 {
            let _ = t.attempt(None, v4(n));
        }
        assert!(t.networks() <= 100);
        assert!(t.attempt(None, v4(7)).is_err(), "the locked network stayed locked");
    }

    #[test]
    fn a_table_full_of_locked_networks_refuses_new_ones() {
        let t = Throttle::with_capacity(3);
        for n in 0..3 {
            for _ in 0..MAX_FAILED_LOGINS_PER_NETWORK {
                assert!(t.attempt(None, v4(n)).is_ok());
            }
        }
        assert!(t.attempt(None, v4(99)).is_err());
        assert_eq!(t.networks(), 3);
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Network::from(a), Network::from(b));
        assert_ne!(Network::from(a), Network::from(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(Network::from(mapped), Network::from("10.0.0.1".parse::<IpAddr>().unwrap()));
    }
}
