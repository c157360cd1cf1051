//! The retry policy: at most `AWS_MAX_ATTEMPTS` attempts per request, exponential backoff with
//! full jitter, and never past the one deadline that covers all fetching. Each attempt gets a
//! share of the time left, so that one stalled connection cannot use up the whole deadline while
//! attempts remain.

use crate::error::{Error, Retryable};
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
/// The least time one attempt gets when more is left: a Secrets Manager call, TLS handshake
/// included, takes tens of milliseconds.
const MIN_ATTEMPT_TIME: Duration = Duration::from_secs(1);

pub struct Retry {
    pub deadline: Instant,
    pub max_attempts: u32,
    /// Throttled requests are retried until the deadline, whatever `max_attempts` says: in a
    /// storm of cold starts, giving up early only turns a slow start into a failed one, and
    /// Lambda then runs Init again (README, "Fetching"). Off when `AWS_MAX_ATTEMPTS` is set.
    pub throttled_until_deadline: bool,
}

enum Attempt {
    /// The backoff is slept: try again.
    Again,
    /// That was the last attempt `AWS_MAX_ATTEMPTS` allows.
    Exhausted,
    /// The backoff and another attempt would not fit before the deadline.
    Deadline,
}

impl Retry {
    /// The one retry loop: runs `attempt` (given its number, from 1, and the time it may take)
    /// until it succeeds or fails for good, the attempts run out, or the deadline nears.
    /// `stop_early` says whether to give up on an error that could be retried (a refused batch
    /// falls back instead: README, "Fetching").
    pub fn run<T>(
        &self,
        mut attempt: impl FnMut(u32, Duration) -> Result<T, Error>,
        stop_early: impl Fn(&Error) -> bool,
    ) -> Result<T, Error> {
        let mut last: Option<Error> = None;
        // Attempts made, and those that count toward `max_attempts`: with
        // `throttled_until_deadline`, a throttled attempt does not use up one of the attempts that
        // other failures get (throttle, throttle, reset must not be the end with seconds left).
        let (mut n, mut counted) = (0, 0);
        loop {
            n += 1;
            let Some(timeout) = self.attempt_timeout(counted + 1) else {
                return Err(match last {
                    Some(e) => gave_up(e, n - 1, true),
                    None => Error::Deadline,
                });
            };
            let err = match attempt(n, timeout) {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let throttled = match err.retryable() {
                Retryable::No => return Err(err),
                Retryable::Throttled => true,
                Retryable::Yes => false,
            };
            if stop_early(&err) {
                return Err(err);
            }
            let exempt = throttled && self.throttled_until_deadline;
            if !exempt {
                counted += 1;
            }
            match self.before_next(n, counted, exempt, throttled, err.retry_after_ms()) {
                Attempt::Again => last = Some(err),
                Attempt::Exhausted => return Err(gave_up(err, n, false)),
                Attempt::Deadline => return Err(gave_up(err, n, true)),
            }
        }
    }

    /// Time left for one request, or `None` when the deadline has (nearly) passed.
    pub fn time_left(&self) -> Option<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        (left >= MIN_REQUEST_TIME).then_some(left)
    }

    /// How long attempt number `attempt` (from 1) may take, or `None` when the deadline has
    /// (nearly) passed: an equal share of the time left among the attempts still allowed, this
    /// one included, but at least `MIN_ATTEMPT_TIME` and at most what is left. The last attempt
    /// gets all that is left. A server that stalls one request (a black-holed connection, a
    /// reply that stops half-way) so leaves time to try again on another connection; one that
    /// is merely slow has a third of the default deadline per attempt.
    pub fn attempt_timeout(&self, attempt: u32) -> Option<Duration> {
        let left = self.time_left()?;
        let attempts_left = self.max_attempts.saturating_sub(attempt).saturating_add(1);
        Some((left / attempts_left).max(MIN_ATTEMPT_TIME).min(left))
    }

    /// After failed attempt number `attempt` (from 1), `counted` of them toward `max_attempts`:
    /// sleeps the backoff and says whether to try again. An `exempt` failure (throttling, when
    /// retried until the deadline) never exhausts the attempts. `retry_after_ms` is the server's
    /// `x-amz-retry-after`, honoured up to `MAX_BACKOFF`.
    fn before_next(
        &self,
        attempt: u32,
        counted: u32,
        exempt: bool,
        throttled: bool,
        retry_after_ms: Option<u64>,
    ) -> Attempt {
        if !exempt && counted >= self.max_attempts {
            return Attempt::Exhausted;
        }
        let delay = match retry_after_ms {
            Some(ms) => Duration::from_millis(ms).min(MAX_BACKOFF),
            None => jitter(backoff_cap(attempt, throttled)),
        };
        if Instant::now() + delay + MIN_REQUEST_TIME > self.deadline {
            return Attempt::Deadline;
        }
        std::thread::sleep(delay);
        Attempt::Again
    }
}

fn gave_up(last: Error, attempts: u32, at_deadline: bool) -> Error {
    Error::GaveUp {
        last: Box::new(last),
        attempts,
        at_deadline,
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
            throttled_until_deadline: false,
        };
        assert!(matches!(
            r.before_next(2, 2, false, false, None),
            Attempt::Exhausted
        ));
        assert!(matches!(
            r.before_next(2, 2, false, true, None),
            Attempt::Exhausted
        ));
        assert!(matches!(
            r.before_next(1, 1, false, false, Some(0)),
            Attempt::Again
        ));
        // An exempt failure (throttling retried until the deadline) never exhausts them.
        assert!(matches!(
            r.before_next(7, 2, true, true, Some(0)),
            Attempt::Again
        ));
        let r = Retry {
            deadline: Instant::now() + Duration::from_millis(50),
            max_attempts: 9,
            throttled_until_deadline: false,
        };
        // A retry-after beyond the deadline is not waited for.
        assert!(matches!(
            r.before_next(1, 1, false, true, Some(1000)),
            Attempt::Deadline
        ));
    }

    #[test]
    fn the_loop_retries_what_may_help_and_nothing_else() {
        use crate::error::{Class, Kind};
        let r = Retry {
            deadline: Instant::now() + Duration::from_secs(10),
            max_attempts: 3,
            throttled_until_deadline: false,
        };
        let transient = || Error::Transport {
            retryable: true,
            message: "reset".into(),
        };
        // Two failures, then success: three attempts.
        let mut seen = Vec::new();
        let got = r.run(
            |n, _| {
                seen.push(n);
                if n < 3 { Err(transient()) } else { Ok(n) }
            },
            |_| false,
        );
        assert_eq!((got.ok(), seen), (Some(3), vec![1, 2, 3]));
        // Always failing: gives up after max_attempts, saying so.
        let e = r
            .run(|_, _| Err::<(), _>(transient()), |_| false)
            .unwrap_err();
        assert_eq!(e.to_string(), "RequestFailed: reset (after 3 attempts)");
        // A fatal code is not retried.
        let mut calls = 0;
        let fatal = r
            .run(
                |_, _| {
                    calls += 1;
                    Err::<(), _>(Error::Service {
                        code: "ResourceNotFoundException".into(),
                        message: String::new(),
                        request_id: None,
                        kind: Kind::Fatal(Class::Config),
                        retry_after_ms: None,
                    })
                },
                |_| false,
            )
            .unwrap_err();
        assert_eq!((calls, fatal.class()), (1, Class::Config));
        // Stopped early by the caller: the error as it is, not "gave up".
        let e = r
            .run(|_, _| Err::<(), _>(transient()), |_| true)
            .unwrap_err();
        assert!(matches!(e, Error::Transport { .. }));
        // Throttled attempts do not use up the attempts other failures get, when throttling is
        // retried until the deadline: throttle, throttle, reset, reset, then the value.
        let script = |until: bool| {
            let r = Retry {
                deadline: Instant::now() + Duration::from_secs(10),
                max_attempts: 3,
                throttled_until_deadline: until,
            };
            r.run(
                |n, _| match n {
                    1 | 2 => Err(Error::Service {
                        code: "ThrottlingException".into(),
                        message: String::new(),
                        request_id: None,
                        kind: Kind::Throttled,
                        retry_after_ms: Some(0),
                    }),
                    3 | 4 => Err(transient()),
                    _ => Ok(n),
                },
                |_| false,
            )
        };
        assert_eq!(script(true).ok(), Some(5));
        assert_eq!(
            script(false).unwrap_err().to_string(),
            "RequestFailed: reset (after 3 attempts)"
        );
        // Past the deadline: no attempt at all.
        let past = Retry {
            deadline: Instant::now(),
            max_attempts: 3,
            throttled_until_deadline: false,
        };
        assert!(matches!(
            past.run(|_, _| Ok(()), |_| false),
            Err(Error::Deadline)
        ));
    }

    #[test]
    fn attempts_share_the_time_left() {
        let secs = |s: f64| Duration::from_secs_f64(s);
        let near = |d: Option<Duration>, want: f64| {
            let d = d.expect("time left").as_secs_f64();
            assert!((d - want).abs() < 0.25, "{d} vs {want}");
        };
        let r = Retry {
            deadline: Instant::now() + secs(9.0),
            max_attempts: 3,
            throttled_until_deadline: false,
        };
        near(r.attempt_timeout(1), 3.0);
        near(r.attempt_timeout(2), 4.5);
        near(r.attempt_timeout(3), 9.0);
        // Many attempts: at least MIN_ATTEMPT_TIME each.
        let r = Retry {
            deadline: Instant::now() + secs(5.0),
            max_attempts: 50,
            throttled_until_deadline: false,
        };
        near(r.attempt_timeout(1), 1.0);
        // Less than that left: what is left.
        let r = Retry {
            deadline: Instant::now() + secs(0.5),
            max_attempts: 3,
            throttled_until_deadline: false,
        };
        near(r.attempt_timeout(1), 0.5);
        let r = Retry {
            deadline: Instant::now(),
            max_attempts: 3,
            throttled_until_deadline: false,
        };
        assert!(r.attempt_timeout(1).is_none());
    }
}
