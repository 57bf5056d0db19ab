//! Time as the domain sees it, from an injectable clock, in two kinds:
//!
//! - wall time (`now`): milliseconds since the Unix epoch, for dates (issue, expiry, last
//!   use). Expiry is compared against it on every check;
//! - monotonic time (`monotonic`): milliseconds since an arbitrary start, for "how long
//!   ago" (the cache's TTL). A wall clock stepped back by an hour must not make a cache entry
//!   look an hour younger: "never beyond `--cache-ttl`" holds on this clock.
//!
//! Expiry stays on wall time, since it is a date: a clock stepped back by D moves every
//! expiry D later, as it does for every system that stores dates. Tests drive a
//! [`ManualClock`] instead of sleeping until a token expires.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (wall), or since an arbitrary start (monotonic).
pub type Millis = i64;

pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Wall time.
    fn now(&self) -> Millis;
    /// Monotonic time: never steps, whatever the wall clock does.
    fn monotonic(&self) -> Millis;
}

/// A duration as milliseconds, saturating.
pub fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The system's clocks: `SystemTime` and `Instant`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        millis(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
        )
    }

    fn monotonic(&self) -> Millis {
        static START: OnceLock<Instant> = OnceLock::new();
        millis(START.get_or_init(Instant::now).elapsed())
    }
}

/// A clock that moves only when told to; its wall time starts at the system's.
#[derive(Debug)]
pub struct ManualClock {
    wall: AtomicI64,
    monotonic: AtomicI64,
}

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock {
            wall: AtomicI64::new(SystemClock.now()),
            monotonic: AtomicI64::new(0),
        })
    }

    /// Time passes: both clocks move forward.
    pub fn advance(&self, by: Duration) {
        self.wall.fetch_add(millis(by), Ordering::SeqCst);
        self.monotonic.fetch_add(millis(by), Ordering::SeqCst);
    }

    /// The wall clock is stepped back (NTP, an operator); no time passes.
    pub fn step_wall_back(&self, by: Duration) {
        self.wall.fetch_sub(millis(by), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.wall.load(Ordering::SeqCst)
    }

    fn monotonic(&self) -> Millis {
        self.monotonic.load(Ordering::SeqCst)
    }
}
