//! The retry policy: at most `AWS_MAX_ATTEMPTS` attempts per request, exponential backoff with
//! full jitter, and never past the one deadline that covers all fetching.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

/// First backoff step for errors that are not throttling.
const BASE_TRANSIENT: Duration = Duration::from_millis(25);
/// First backoff step after throttling: the quota needs time to refill.
const BASE_THROTTLED: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The least time worth starting a request with.
const MIN_REQUEST_TIME: Duration = Duration::from_millis(5);

pub struct Retry {
    pub deadline: Instant,
    pub max_attempts: u32,
}

pub enum Attempt {
    Again,
    GiveUp,
}

impl Retry {
    /// Time left for one request, or `None` when the deadline has (nearly) passed.
    pub fn time_left(&self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        (left >= MIN_REQUEST_TIME).then_some(left)
    }

    /// After failed attempt number `attempt` (from 1): sleeps the backoff and says whether to try
    /// again. `retry_after_ms` is the server's `x-amz-retry-after`, honoured up to `MAX_BACKOFF`.
    pub fn before_next(
        &self,
        attempt: u32,
        throttled: bool,
        retry_after_ms: Option<u64>,
    ) -> Attempt {
        if attempt >= self.max_attempts {
            return Attempt::GiveUp;
        }
        let delay = match retry_after_ms {
            Some(ms) => Duration::from_millis(ms).min(MAX_BACKOFF),
            None => jitter(backoff_cap(attempt, throttled)),
        };
        if Instant::now() + delay + MIN_REQUEST_TIME > self.deadline {
            return Attempt::GiveUp;
        }
        std::thread::sleep(delay);
        Attempt::Again
    }
}

/// `min(base * 2^(attempt-1), MAX_BACKOFF)`.
fn backoff_cap(attempt: u32, throttled: bool) -> Duration {
    let base = if throttled {
        BASE_THROTTLED
    } else {
        BASE_TRANSIENT
    };
    base.saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_BACKOFF)
}

/// A uniformly random duration in `[0, cap]`: full jitter.
fn jitter(cap: Duration) -> Duration {
    thread_local! {
        static COUNTER: Cell<u64> = const { Cell::new(0) };
        static STATE: RandomState = RandomState::new();
    }
    // RandomState is seeded from the OS once per thread; hashing a counter gives a fresh value.
    let r = COUNTER.with(|c| {
        c.set(c.get() + 1);
        STATE.with(|s| s.hash_one(c.get()))
    });
    let nanos = cap.as_nanos() as u64;
    Duration::from_nanos(if nanos == 0 { 0 } else { r % (nanos + 1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_cap(1, false), Duration::from_millis(25));
        assert_eq!(backoff_cap(3, false), Duration::from_millis(100));
        assert_eq!(backoff_cap(2, true), Duration::from_millis(200));
        assert_eq!(backoff_cap(40, true), MAX_BACKOFF);
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let cap = Duration::from_millis(10);
        let draws: Vec<_> = (0..200).map(|_| jitter(cap)).collect();
        assert!(draws.iter().all(|d| *d <= cap));
        let distinct: std::collections::HashSet<_> = draws.iter().collect();
        assert!(distinct.len() > 100, "{}", distinct.len());
    }

    #[test]
    fn gives_up_at_max_attempts_and_deadline() {
        let r = Retry {
            deadline: Instant::now() + Duration::from_secs(10),
            max_attempts: 2,
        };
        assert!(matches!(r.before_next(2, false, None), Attempt::GiveUp));
        assert!(matches!(r.before_next(1, false, Some(0)), Attempt::Again));
        let r = Retry {
            deadline: Instant::now() + Duration::from_millis(50),
            max_attempts: 9,
        };
        // A retry-after beyond the deadline is not waited for.
        assert!(matches!(
            r.before_next(1, true, Some(1000)),
            Attempt::GiveUp
        ));
    }
}
