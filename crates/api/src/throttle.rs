//! Failed sign-ins, counted in memory on this node (docs/API.md, "Sign-in").
//!
//! Three tallies are checked and counted together, under one lock:
//! - a username from one address (the pair): [`PAIR_LIMIT`] failures lock that pair;
//! - an address, whatever the usernames: [`ADDRESS_LIMIT`] failures throttle it (spraying);
//! - a username, from any address: [`USERNAME_LIMIT`] failures lock it everywhere (a guess spread
//!   over many addresses). High, so one address cannot lock a user out: it is throttled first.
//!
//! A tally's failures count from its first one for [`WINDOW_MS`]; a lock lasts [`LOCKOUT_MS`].
//! Usernames are counted as typed, whether or not they exist, so a refusal never tells which
//! usernames are real. An attempt is counted when it starts, so attempts still being checked use
//! up the allowance too; a success, or an attempt that got no answer, gives its count back.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
pub const PAIR_LIMIT: u32 = 5;
pub const ADDRESS_LIMIT: u32 = 20;
pub const USERNAME_LIMIT: u32 = 50;
/// Keys each tally remembers at most (about 100 bytes each).
pub const MAX_TRACKED: usize = 100_000;

/// The key an address is counted under: IPv4 as it is, IPv6 by its /64 (what one subscriber gets).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct Tally {
    /// Failures, and attempts still being checked, since `since_ms`.
    count: u32,
    since_ms: i64,
    locked_until_ms: i64,
}

struct Tallies<K> {
    limit: u32,
    cap: usize,
    map: HashMap<K, Tally>,
}

impl<K: Eq + Hash> Tallies<K> {
    fn new(limit: u32, cap: usize) -> Self {
        Tallies {
            limit,
            cap,
            map: HashMap::new(),
        }
    }

    /// How long `key` must wait before another attempt, if it must.
    fn wait_ms(&mut self, key: &K, now: i64) -> Option<i64> {
        let t = self.map.get_mut(key)?;
        if t.locked_until_ms > now {
            return Some(t.locked_until_ms - now);
        }
        if now - t.since_ms >= WINDOW_MS {
            t.count = 0;
            t.since_ms = now;
        }
        // Without a lock, only attempts still being checked fill the allowance: they end soon.
        (t.count >= self.limit).then_some(1000)
    }

    fn count(&mut self, key: K, now: i64) {
        if !self.map.contains_key(&key) && !self.make_room(now) {
            return;
        }
        let t = self.map.entry(key).or_insert(Tally {
            count: 0,
            since_ms: now,
            locked_until_ms: 0,
        });
        if now - t.since_ms >= WINDOW_MS {
            t.count = 0;
            t.since_ms = now;
        }
        t.count = t.count.saturating_add(1);
    }

    /// A counted attempt failed: the key is locked once its allowance is used up. True when
    /// the lock begins now.
    fn failed(&mut self, key: &K, now: i64) -> bool {
        match self.map.get_mut(key) {
            Some(t) if t.count >= self.limit && t.locked_until_ms <= now => {
                let until = now + LOCKOUT_MS;
                *t = Tally {
                    count: 0,
                    since_ms: until,
                    locked_until_ms: until,
                };
                true
            }
            _ => false,
        }
    }

    fn refund(&mut self, key: &K) {
        if let Some(t) = self.map.get_mut(key) {
            t.count = t.count.saturating_sub(1);
        }
    }

    fn forget(&mut self, key: &K) {
        self.map.remove(key);
    }

    /// Room for one more key: forgets what no longer counts and, when that is not enough, all
    /// but the locks. False when the map is full of locks (the new key then goes uncounted).
    fn make_room(&mut self, now: i64) -> bool {
        if self.map.len() < self.cap {
            return true;
        }
        self.map.retain(|_, t| {
            t.locked_until_ms > now || (t.count > 0 && now - t.since_ms < WINDOW_MS)
        });
        if self.map.len() >= self.cap - self.cap / 10 {
            self.map.retain(|_, t| t.locked_until_ms > now);
        }
        self.map.len() < self.cap
    }
}

struct Tallied {
    pairs: Tallies<(String, IpAddr)>,
    addresses: Tallies<IpAddr>,
    usernames: Tallies<String>,
}

/// The three tallies of a node's sign-ins.
pub struct SignInThrottle {
    tallies: Mutex<Tallied>,
}

/// Too many failures: try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: u64,
}

/// A sign-in attempt being checked. Settle it with [`Attempt::succeeded`] or
/// [`Attempt::failed`]; dropped unsettled (no answer was given), its count is given back.
pub struct Attempt {
    throttle: Arc<SignInThrottle>,
    username: String,
    address: IpAddr,
    settled: bool,
}

impl SignInThrottle {
    pub fn new() -> Arc<Self> {
        Self::with_cap(MAX_TRACKED)
    }

    fn with_cap(cap: usize) -> Arc<Self> {
        Arc::new(SignInThrottle {
            tallies: Mutex::new(Tallied {
                pairs: Tallies::new(PAIR_LIMIT, cap),
                addresses: Tallies::new(ADDRESS_LIMIT, cap),
                usernames: Tallies::new(USERNAME_LIMIT, cap),
            }),
        })
    }

    fn tallies(&self) -> MutexGuard<'_, Tallied> {
        self.tallies.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts an attempt for `username` from `ip`, or says how long to wait. The answer depends
    /// only on earlier attempts, never on whether the username exists.
    pub fn begin(
        self: &Arc<Self>,
        username: &str,
        ip: IpAddr,
        now_ms: i64,
    ) -> Result<Attempt, Throttled> {
        let address = address_key(ip);
        let pair = (username.to_string(), address);
        let user = username.to_string();
        let mut t = self.tallies();
        let wait = [
            t.addresses.wait_ms(&address, now_ms),
            t.pairs.wait_ms(&pair, now_ms),
            t.usernames.wait_ms(&user, now_ms),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(ms) = wait {
            return Err(Throttled {
                retry_after_secs: u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1),
            });
        }
        t.addresses.count(address, now_ms);
        t.pairs.count(pair, now_ms);
        t.usernames.count(user, now_ms);
        Ok(Attempt {
            throttle: self.clone(),
            username: username.to_string(),
            address,
            settled: false,
        })
    }
}

impl Attempt {
    fn pair(&self) -> (String, IpAddr) {
        (self.username.clone(), self.address)
    }

    /// The right password: the pair starts afresh and this attempt does not count.
    pub fn succeeded(mut self) {
        self.settled = true;
        let pair = self.pair();
        let mut t = self.throttle.tallies();
        t.pairs.forget(&pair);
        t.addresses.refund(&self.address);
        t.usernames.refund(&self.username);
    }

    /// A wrong password or an unknown user: the attempt stays counted. Returns the locks that
    /// begin with it ("pair", "address", "username").
    pub fn failed(mut self, now_ms: i64) -> Vec<&'static str> {
        self.settled = true;
        let pair = self.pair();
        let mut t = self.throttle.tallies();
        let mut locks = Vec::new();
        if t.pairs.failed(&pair, now_ms) {
            locks.push("pair");
        }
        if t.addresses.failed(&self.address, now_ms) {
            locks.push("address");
        }
        if t.usernames.failed(&self.username, now_ms) {
            locks.push("username");
        }
        locks
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let pair = self.pair();
        let mut t = self.throttle.tallies();
        t.pairs.refund(&pair);
        t.addresses.refund(&self.address);
        t.usernames.refund(&self.username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn fail(t: &Arc<SignInThrottle>, user: &str, from: &str, now: i64) -> Vec<&'static str> {
        t.begin(user, ip(from), now).unwrap().failed(now)
    }

    #[test]
    fn five_failures_lock_the_pair_for_fifteen_minutes_and_nothing_else() {
        let t = SignInThrottle::new();
        for n in 0..4 {
            assert!(fail(&t, "admin", "10.0.0.1", n).is_empty());
        }
        assert_eq!(fail(&t, "admin", "10.0.0.1", 4), ["pair"]);
        let wait = t.begin("admin", ip("10.0.0.1"), 5).err();
        assert_eq!(
            wait,
            Some(Throttled {
                retry_after_secs: 900
            })
        );
        assert!(
            t.begin("admin", ip("10.0.0.2"), 5).is_ok(),
            "the user elsewhere"
        );
        assert!(
            t.begin("operator", ip("10.0.0.1"), 5).is_ok(),
            "the address"
        );
        assert!(
            t.begin("admin", ip("10.0.0.1"), 4 + LOCKOUT_MS - 1)
                .is_err()
        );
        assert!(t.begin("admin", ip("10.0.0.1"), 4 + LOCKOUT_MS).is_ok());
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let t = SignInThrottle::new();
        for n in 0..4 {
            fail(&t, "admin", "10.0.0.1", n);
        }
        assert!(fail(&t, "admin", "10.0.0.1", WINDOW_MS).is_empty());
        assert!(t.begin("admin", ip("10.0.0.1"), WINDOW_MS + 1).is_ok());
    }

    #[test]
    fn spraying_from_one_address_throttles_that_address_only() {
        let t = SignInThrottle::new();
        for n in 0..ADDRESS_LIMIT {
            fail(&t, &format!("user{n}"), "10.0.0.1", 0);
        }
        assert!(t.begin("someone", ip("10.0.0.1"), 1).is_err());
        assert!(t.begin("someone", ip("10.0.0.2"), 1).is_ok());
    }

    #[test]
    fn a_guess_spread_over_addresses_locks_the_username() {
        let t = SignInThrottle::new();
        for n in 0..USERNAME_LIMIT {
            fail(&t, "admin", &format!("10.0.{}.{}", n / 200, n % 200), 0);
        }
        assert!(t.begin("admin", ip("10.9.9.9"), 1).is_err());
        assert!(t.begin("operator", ip("10.9.9.9"), 1).is_ok());
    }

    #[test]
    fn successes_do_not_count_and_restart_the_pair() {
        let t = SignInThrottle::new();
        for n in 0..(2 * ADDRESS_LIMIT) {
            t.begin(&format!("user{n}"), ip("10.0.0.1"), 0)
                .unwrap()
                .succeeded();
        }
        for _ in 0..4 {
            fail(&t, "admin", "10.0.0.1", 0);
        }
        t.begin("admin", ip("10.0.0.1"), 0).unwrap().succeeded();
        for _ in 0..4 {
            fail(&t, "admin", "10.0.0.1", 0);
        }
        assert!(t.begin("admin", ip("10.0.0.1"), 0).is_ok());
    }

    #[test]
    fn attempts_being_checked_use_the_allowance_and_unanswered_ones_give_it_back() {
        let t = SignInThrottle::new();
        let running: Vec<_> = (0..PAIR_LIMIT)
            .map(|_| t.begin("admin", ip("10.0.0.1"), 0).unwrap())
            .collect();
        let wait = t.begin("admin", ip("10.0.0.1"), 0).err();
        assert_eq!(
            wait,
            Some(Throttled {
                retry_after_secs: 1
            })
        );
        drop(running);
        assert!(t.begin("admin", ip("10.0.0.1"), 0).is_ok());
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:3:4:5:6")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(address_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        let t = SignInThrottle::new();
        for n in 0..ADDRESS_LIMIT {
            fail(&t, &format!("user{n}"), &format!("2001:db8::{n:x}"), 0);
        }
        assert!(t.begin("someone", ip("2001:db8::ffff"), 1).is_err());
    }

    #[test]
    fn the_tallies_stay_bounded_and_keep_their_locks() {
        let t = SignInThrottle::with_cap(50);
        for _ in 0..PAIR_LIMIT {
            fail(&t, "admin", "10.0.0.1", 0);
        }
        for n in 0..1000 {
            fail(
                &t,
                &format!("user{n}"),
                &format!("10.1.{}.{}", n / 200, n % 200),
                1,
            );
        }
        let tallies = t.tallies();
        assert!(tallies.pairs.map.len() <= 50);
        assert!(tallies.addresses.map.len() <= 50);
        assert!(tallies.usernames.map.len() <= 50);
        drop(tallies);
        assert!(
            t.begin("admin", ip("10.0.0.1"), 2).is_err(),
            "the lock survives"
        );
    }
}
