//! Planning and running the Secrets Manager calls.
//!
//! Each distinct (region, secret, version) is one unit, fetched once. Current-version units are
//! grouped into `BatchGetSecretValue` calls per SPEC's `LAMBDA_SECRETS_BATCH` rules; everything
//! else is one `GetSecretValue`. A small pool of scoped threads takes calls from one queue and
//! shares one `Http` (one connection pool); a batch that is refused for throttling or access, or
//! whose entries need another try, puts `GetSecretValue` calls back on the queue.

use crate::api::{self, AwsError, Kind, SecretValue};
use crate::config::{BatchMode, Version};
use crate::creds::Credentials;
use crate::endpoint::Endpoints;
use crate::error::Class;
use crate::http::Http;
use crate::log::Log;
use crate::retry::{Attempt, Retry};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::SystemTime;

/// One thing to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub region: String,
    pub secret_id: String,
    pub version: Version,
}

/// Why a unit could not be fetched, ready to print after "VARIABLE from secret ID: ".
#[derive(Debug, Clone)]
pub struct UnitError {
    pub class: Class,
    pub text: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Call {
    Batch(Vec<usize>),
    Get(usize),
}

/// The first calls to make for `units`.
pub fn plan(units: &[Unit], mode: BatchMode) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut regions: Vec<&str> = Vec::new();
    for u in units {
        if !regions.contains(&u.region.as_str()) {
            regions.push(&u.region);
        }
    }
    for region in regions {
        let in_region = || (0..units.len()).filter(|&i| units[i].region == region);
        let current: Vec<usize> = in_region()
            .filter(|&i| units[i].version == Version::Current)
            .collect();
        let batch = match mode {
            BatchMode::Never => false,
            BatchMode::Always => true,
            BatchMode::Auto => current.len() >= 2,
        };
        if batch {
            calls.extend(
                current
                    .chunks(api::BATCH_MAX)
                    .map(|c| Call::Batch(c.to_vec())),
            );
        }
        calls.extend(
            in_region()
                .filter(|i| !batch || !current.contains(i))
                .map(Call::Get),
        );
    }
    calls
}

pub struct Fetcher<'a> {
    pub http: &'a Http,
    pub creds: &'a Credentials,
    pub endpoints: &'a Endpoints,
    pub retry: &'a Retry,
    pub log: &'a Log,
    pub requests: AtomicU32,
    pub fell_back: AtomicBool,
}

struct Queue {
    calls: VecDeque<Call>,
    running: usize,
    /// Worker threads started so far, the caller's own included.
    workers: usize,
}

type Outcome = Result<SecretValue, UnitError>;

/// What the workers share.
struct Pool<'a> {
    fetcher: &'a Fetcher<'a>,
    units: &'a [Unit],
    queue: Mutex<Queue>,
    wake: Condvar,
    results: Mutex<Vec<Option<Outcome>>>,
    max_workers: usize,
}

impl<'a> Fetcher<'a> {
    /// Runs `calls` for `units` on at most `threads` threads; one outcome per unit.
    ///
    /// The calling thread is the first worker. Another starts only when a call is waiting and
    /// no worker is free (one batch call needs no second thread; its fallback may), so a
    /// cold start pays for the threads it uses and no more.
    pub fn run(&'a self, units: &'a [Unit], calls: Vec<Call>, threads: usize) -> Vec<Outcome> {
        let pool = Pool {
            fetcher: self,
            units,
            results: Mutex::new((0..units.len()).map(|_| None).collect()),
            queue: Mutex::new(Queue {
                calls: calls.into(),
                running: 0,
                workers: 1,
            }),
            wake: Condvar::new(),
            max_workers: threads.clamp(1, units.len().max(1)),
        };
        std::thread::scope(|s| {
            pool.grow(s);
            pool.work(s);
        });
        let results = pool.results.into_inner().unwrap_or_else(|p| p.into_inner());
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(UnitError {
                        class: Class::Unavailable,
                        text: "not fetched".into(),
                    })
                })
            })
            .collect()
    }
}

impl<'a> Pool<'a> {
    // A poisoned lock means a worker panicked; the process aborts on panic anyway
    // (panic = "abort"), so taking the data is safe.
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts workers for the calls that no free worker will take, up to `max_workers`.
    fn grow<'scope>(&'a self, s: &'scope std::thread::Scope<'scope, 'a>) {
        let extra = {
            let mut q = self.lock();
            let free = q.workers - q.running;
            let wanted = q.calls.len().saturating_sub(free);
            let extra = wanted.min(self.max_workers - q.workers);
            q.workers += extra;
            extra
        };
        for _ in 0..extra {
            s.spawn(move || self.work(s));
        }
    }

    fn work<'scope>(&'a self, s: &'scope std::thread::Scope<'scope, 'a>) {
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
            let (done, more) = self.fetcher.execute(self.units, call);
            {
                let mut r = self.results.lock().unwrap_or_else(|p| p.into_inner());
                for (i, outcome) in done {
                    r[i] = Some(outcome);
                }
            }
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

impl Fetcher<'_> {
    /// Runs one call: the outcomes it settles, and the calls it leaves to do.
    fn execute(&self, units: &[Unit], call: Call) -> (Vec<(usize, Outcome)>, Vec<Call>) {
        match call {
            Call::Get(i) => {
                let u = &units[i];
                let body = api::get_body(&u.secret_id, &u.version);
                let outcome = self
                    .call(api::GET, &u.region, &body, api::parse_get)
                    .map(|(v, _)| v)
                    .map_err(|e| e.into_unit_error());
                (vec![(i, outcome)], vec![])
            }
            Call::Batch(ids) => {
                let region = &units[ids[0]].region;
                let names: Vec<&str> = ids.iter().map(|&i| units[i].secret_id.as_str()).collect();
                let body = api::batch_body(&names);
                match self.call(api::BATCH, region, &body, api::parse_batch) {
                    Ok((reply, request_id)) => self.settle_batch(units, &ids, reply, request_id),
                    Err(e) if e.credentials_problem() => {
                        let err = e.into_unit_error();
                        (
                            ids.into_iter().map(|i| (i, Err(err.clone()))).collect(),
                            vec![],
                        )
                    }
                    // No time left to fall back (the batch stalled until the deadline, say): the
                    // batch's own failure is each secret's, rather than "the deadline passed".
                    Err(e) if self.retry.time_left().is_none() => {
                        let mut err = e.into_unit_error();
                        err.text = format!("{}: {}", api::BATCH, err.text);
                        (
                            ids.into_iter().map(|i| (i, Err(err.clone()))).collect(),
                            vec![],
                        )
                    }
                    Err(e) => {
                        // Not a warning: the success line says that a batch fell back.
                        self.log.emit(
                            crate::config::Level::Debug,
                            &format!(
                                "BatchGetSecretValue in {region} failed ({}); reading its {} secrets with GetSecretValue",
                                e.code,
                                ids.len()
                            ),
                            &[],
                        );
                        self.fell_back.store(true, Ordering::Relaxed);
                        (vec![], ids.into_iter().map(Call::Get).collect())
                    }
                }
            }
        }
    }

    fn settle_batch(
        &self,
        units: &[Unit],
        ids: &[usize],
        reply: api::BatchReply,
        request_id: Option<String>,
    ) -> (Vec<(usize, Outcome)>, Vec<Call>) {
        let mut values: Vec<Option<SecretValue>> = reply.values.into_iter().map(Some).collect();
        let mut done = Vec::new();
        let mut more = Vec::new();
        for &i in ids {
            let id = units[i].secret_id.as_str();
            if let Some(slot) = values
                .iter_mut()
                .find(|v| v.as_ref().is_some_and(|v| api::names(id, v)))
            {
                if let Some(v) = slot.take() {
                    done.push((i, Ok(v)));
                }
                continue;
            }
            match reply.errors.iter().find(|e| e.secret_id == id) {
                Some(e) => match (e.code.as_str(), api::classify(&e.code, 200)) {
                    // Not listed among the operations AWS allows across accounts: try it alone,
                    // once.
                    ("AccessDeniedException", _) => more.push(Call::Get(i)),
                    (_, Kind::Fatal(class)) => done.push((
                        i,
                        Err(UnitError {
                            class,
                            text: describe(&e.code, &e.message, request_id.as_deref()),
                        }),
                    )),
                    // Throttled or transient for this entry: fetch it alone, with retries.
                    _ => more.push(Call::Get(i)),
                },
                // Neither a value nor an error (a paginated or short reply): fetch it alone.
                None => more.push(Call::Get(i)),
            }
        }
        (done, more)
    }

    /// One signed call with retries. Returns the parsed reply and its request id.
    fn call<T>(
        &self,
        operation: &str,
        region: &str,
        body: &[u8],
        parse: fn(&[u8]) -> Result<T, &'static str>,
    ) -> Result<(T, Option<String>), CallError> {
        let url = self.endpoints.for_region(region);
        let url_text = url.as_string();
        let headers = api::headers(operation);
        let mut last: Option<CallError> = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(timeout) = self.retry.attempt_timeout(attempt) else {
                return Err(match last {
                    Some(e) => e.at_deadline(),
                    None => CallError::deadline(),
                });
            };
            let signed = crate::sign::sign_request(
                self.creds,
                region,
                &url_text,
                &headers,
                body,
                SystemTime::now(),
            )
            .map_err(|m| CallError::local(Class::Permission, m))?;
            let mut send = headers.clone();
            send.extend(signed);
            self.requests.fetch_add(1, Ordering::Relaxed);
            let result = self.http.post(&url, &send, body, timeout);
            let err = match result {
                Ok(reply) if reply.status == 200 => match parse(&reply.body) {
                    Ok(v) => {
                        self.debug(
                            operation,
                            region,
                            attempt,
                            "200",
                            reply.request_id.as_deref(),
                        );
                        return Ok((v, reply.request_id));
                    }
                    Err(why) => CallError {
                        code: "MalformedReply".into(),
                        message: why.into(),
                        request_id: reply.request_id,
                        kind: Kind::Transient,
                        throttled: false,
                        attempts: attempt,
                        retry_after_ms: None,
                    },
                },
                Ok(reply) => {
                    let e: AwsError = api::parse_error(&reply);
                    let kind = api::classify(&e.code, reply.status);
                    CallError {
                        throttled: kind == Kind::Throttled,
                        code: e.code,
                        message: e.message,
                        request_id: e.request_id,
                        kind,
                        attempts: attempt,
                        retry_after_ms: e.retry_after_ms,
                    }
                }
                Err(t) => CallError {
                    code: "RequestFailed".into(),
                    message: t.message,
                    request_id: None,
                    kind: if t.retryable {
                        Kind::Transient
                    } else {
                        Kind::Fatal(Class::Unavailable)
                    },
                    throttled: false,
                    attempts: attempt,
                    retry_after_ms: None,
                },
            };
            self.debug(
                operation,
                region,
                attempt,
                &err.code,
                err.request_id.as_deref(),
            );
            // A refused batch falls back at once instead of retrying (SPEC, Fetching).
            if let Kind::Fatal(_) = err.kind {
                return Err(err);
            }
            if operation == api::BATCH && err.throttled {
                return Err(err);
            }
            match self
                .retry
                .before_next(attempt, err.throttled, err.retry_after_ms)
            {
                Attempt::Again => last = Some(err),
                Attempt::Exhausted => return Err(err.exhausted()),
                Attempt::Deadline => return Err(err.at_deadline()),
            }
        }
    }

    fn debug(&self, op: &str, region: &str, attempt: u32, status: &str, request_id: Option<&str>) {
        if self.log.enabled(crate::config::Level::Debug) {
            self.log.debug(&format!(
                "{op} in {region}, attempt {attempt}: {status} (request id {})",
                request_id.unwrap_or("none")
            ));
        }
    }
}

/// A failed call after its retries.
#[derive(Debug)]
struct CallError {
    code: String,
    message: String,
    request_id: Option<String>,
    kind: Kind,
    throttled: bool,
    attempts: u32,
    retry_after_ms: Option<u64>,
}

impl CallError {
    fn local(class: Class, message: String) -> Self {
        CallError {
            code: String::new(),
            message,
            request_id: None,
            kind: Kind::Fatal(class),
            throttled: false,
            attempts: 0,
            retry_after_ms: None,
        }
    }
    /// No attempt could start: the deadline had passed (a call queued behind others, say).
    fn deadline() -> Self {
        CallError {
            code: "DeadlineExceeded".into(),
            message: "LAMBDA_SECRETS_TIMEOUT_MS ran out before this request could be made".into(),
            request_id: None,
            kind: Kind::Fatal(Class::Unavailable),
            throttled: false,
            attempts: 0,
            retry_after_ms: None,
        }
    }
    /// Still failing when the deadline left no time for another attempt.
    fn at_deadline(self) -> Self {
        let why = format!(
            "LAMBDA_SECRETS_TIMEOUT_MS ran out after {}",
            attempts(self.attempts)
        );
        self.give_up(why)
    }
    /// Still failing after the last attempt `AWS_MAX_ATTEMPTS` allows.
    fn exhausted(self) -> Self {
        let why = format!("after {}", attempts(self.attempts));
        self.give_up(why)
    }
    fn give_up(mut self, why: String) -> Self {
        self.message = if self.message.is_empty() {
            format!("({why})")
        } else {
            format!("{} ({why})", self.message)
        };
        self.kind = Kind::Fatal(Class::Unavailable);
        self
    }
    /// Errors that GetSecretValue would meet just the same.
    fn credentials_problem(&self) -> bool {
        matches!(self.kind, Kind::Fatal(Class::Permission))
            && self.code != "AccessDeniedException"
            && self.code != "AccessDenied"
    }
    fn into_unit_error(self) -> UnitError {
        let class = match self.kind {
            Kind::Fatal(c) => c,
            _ => Class::Unavailable,
        };
        let mut text = if self.code.is_empty() {
            self.message.clone()
        } else {
            describe(&self.code, &self.message, self.request_id.as_deref())
        };
        if let Some(h) = api::clock_hint(&self.code) {
            text.push_str("; ");
            text.push_str(h);
        }
        UnitError { class, text }
    }
}

fn attempts(n: u32) -> String {
    format!("{n} attempt{}", if n == 1 { "" } else { "s" })
}

/// `Code (request id X): message`
fn describe(code: &str, message: &str, request_id: Option<&str>) -> String {
    let mut s = code.to_string();
    if let Some(r) = request_id {
        s.push_str(&format!(" (request id {r})"));
    }
    if !message.is_empty() {
        s.push_str(": ");
        s.push_str(message);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(region: &str, id: &str, version: Version) -> Unit {
        Unit {
            region: region.into(),
            secret_id: id.into(),
            version,
        }
    }

    #[test]
    fn planning() {
        use BatchMode::*;
        use Call::*;
        let cur = Version::Current;
        let prev = Version::Stage("AWSPREVIOUS".into());
        let one = vec![unit("r1", "a", cur.clone())];
        let two = vec![unit("r1", "a", cur.clone()), unit("r1", "b", cur.clone())];
        let mixed = vec![
            unit("r1", "a", cur.clone()),
            unit("r2", "b", cur.clone()),
            unit("r1", "c", cur.clone()),
            unit("r1", "d", prev.clone()),
            unit("r2", "e", Version::Id("v".into())),
        ];
        let cases: Vec<(&Vec<Unit>, BatchMode, Vec<Call>)> = vec![
            (&one, Auto, vec![Get(0)]),
            (&one, Always, vec![Batch(vec![0])]),
            (&one, Never, vec![Get(0)]),
            (&two, Auto, vec![Batch(vec![0, 1])]),
            (&two, Never, vec![Get(0), Get(1)]),
            (
                &mixed,
                Auto,
                vec![Batch(vec![0, 2]), Get(3), Get(1), Get(4)],
            ),
            (
                &mixed,
                Always,
                vec![Batch(vec![0, 2]), Get(3), Batch(vec![1]), Get(4)],
            ),
        ];
        for (units, mode, want) in cases {
            assert_eq!(plan(units, mode), want, "{mode:?} {units:?}");
        }
        let many: Vec<Unit> = (0..45)
            .map(|i| unit("r", &format!("s{i}"), cur.clone()))
            .collect();
        let sizes: Vec<usize> = plan(&many, Auto)
            .iter()
            .map(|c| match c {
                Batch(v) => v.len(),
                Get(_) => 0,
            })
            .collect();
        assert_eq!(sizes, [20, 20, 5]);
    }
}
