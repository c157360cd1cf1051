//! The worker pool: runs calls on a few scoped threads that share one queue. A call may leave
//! more calls to make (a batch's fallback), which join the queue.
//!
//! The calling thread is the first worker. Another starts only when a call is waiting and no
//! worker is free, up to the limit, so a cold start pays for the threads it uses and no more
//! (one batch call needs no second thread; its fallback may). Every thread ends before `run`
//! returns.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::Scope;

struct Queue<C> {
    calls: VecDeque<C>,
    /// Calls being worked on.
    running: usize,
    /// Worker threads started so far, the caller's own included.
    workers: usize,
}

struct Pool<C, F> {
    queue: Mutex<Queue<C>>,
    wake: Condvar,
    max_workers: usize,
    work: F,
}

/// Runs `calls`, and every call they leave, on at most `max_workers` threads (at least one: the
/// caller's). Returns the number of threads used.
pub fn run<C, F>(calls: Vec<C>, max_workers: usize, work: F) -> usize
where
    C: Send,
    F: Fn(C) -> Vec<C> + Sync,
{
    let pool = Pool {
        queue: Mutex::new(Queue {
            calls: calls.into(),
            running: 0,
            workers: 1,
        }),
        wake: Condvar::new(),
        max_workers: max_workers.max(1),
        work,
    };
    std::thread::scope(|s| {
        pool.grow(s);
        pool.work(s);
    });
    pool.lock().workers
}

impl<C: Send, F: Fn(C) -> Vec<C> + Sync> Pool<C, F> {
    // A poisoned lock means a worker panicked; the process aborts on panic anyway
    // (panic = "abort" in release), so taking the data is safe.
    fn lock(&self) -> MutexGuard<'_, Queue<C>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts workers for the calls that no free worker will take, up to `max_workers`.
    fn grow<'scope, 'env>(&'env self, s: &'scope Scope<'scope, 'env>) {
        let extra = {
            let mut q = self.lock();
            let free = q.workers - q.running;
            let wanted = q.calls.len().saturating_sub(free);
            let extra = wanted.min(self.max_workers.saturating_sub(q.workers));
            q.workers += extra;
            extra
        };
        for _ in 0..extra {
            s.spawn(move || self.work(s));
        }
    }

    fn work<'scope, 'env>(&'env self, s: &'scope Scope<'scope, 'env>) {
        loop {
            let call = {
                let mut q = self.lock();
                loop {
                    if let Some(c) = q.calls.pop_front() {
                        q.running += 1;
                        break Some(c);
                    }
                    if q.running == 0 {
                        break None;
                    }
                    q = self.wake.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            let Some(call) = call else {
                self.wake.notify_all();
                return;
            };
            let more = (self.work)(call);
            {
                let mut q = self.lock();
                q.calls.extend(more);
                q.running -= 1;
            }
            self.grow(s);
            self.wake.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn one_call_needs_no_second_thread() {
        let ran = AtomicUsize::new(0);
        let threads = run(vec![()], 8, |()| {
            ran.fetch_add(1, Ordering::SeqCst);
            vec![]
        });
        assert_eq!((ran.into_inner(), threads), (1, 1));
        assert_eq!(run(Vec::<()>::new(), 8, |_| vec![]), 1);
    }

    #[test]
    fn calls_left_by_calls_all_run_within_the_limit() {
        // Call n leaves calls 2n+1 and 2n+2 below 100: every number from 0 to 99 runs once.
        let ran = Mutex::new(Vec::new());
        let busy = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let threads = run(vec![0usize], 4, |n| {
            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
            ran.lock().unwrap().push(n);
            busy.fetch_sub(1, Ordering::SeqCst);
            [2 * n + 1, 2 * n + 2]
                .into_iter()
                .filter(|&m| m < 100)
                .collect()
        });
        let mut ran = ran.into_inner().unwrap();
        ran.sort();
        assert_eq!(ran, (0..100).collect::<Vec<_>>());
        assert!(threads <= 4 && most.into_inner() <= 4, "{threads}");
    }

    #[test]
    fn waiting_calls_get_their_own_threads() {
        // Three calls that each wait for the others: they can only all finish if each has a
        // thread of its own, which proves the pool grows while calls wait.
        let arrived = AtomicUsize::new(0);
        let names = Mutex::new(HashSet::new());
        let threads = run(vec![0, 1, 2], 3, |_| {
            arrived.fetch_add(1, Ordering::SeqCst);
            names
                .lock()
                .unwrap()
                .insert(format!("{:?}", std::thread::current().id()));
            while arrived.load(Ordering::SeqCst) < 3 {
                std::thread::yield_now();
            }
            vec![]
        });
        assert_eq!(threads, 3);
        assert_eq!(names.into_inner().unwrap().len(), 3);
    }
}
