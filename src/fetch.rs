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
}

type Outcome = Result<SecretValue, UnitError>;

impl Fetcher<'_> {
    /// Runs `calls` for `units` on at most `threads` threads; one outcome per unit.
    pub fn run(&self, units: &[Unit], calls: Vec<Call>, threads: usize) -> Vec<Outcome> {
        let results: Mutex<Vec<Option<Outcome>>> =
            Mutex::new((0..units.len()).map(|_| None).collect());
        let queue = Mutex::new(Queue {
            calls: calls.into(),
            running: 0,
        });
        let wake = Condvar::new();
        let worker = || self.work(units, &queue, &wake, &results);
        let threads = threads.clamp(1, units.len().max(1));
        if threads == 1 {
            worker();
        } else {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(worker);
                }
            });
        }
        let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
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

    fn work(
        &self,
        units: &[Unit],
        queue: &Mutex<Queue>,
        wake: &Condvar,
        results: &Mutex<Vec<Option<Outcome>>>,
    ) {
        // A poisoned lock means another worker panicked; the process aborts on panic anyway
        // (panic = "abort"), so taking the data is safe.
        let lock = || queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let call = {
                let mut q = lock();
                loop {
                    if let Some(c) = q.calls.pop_front() {
                        q.running += 1;
                        break Some(c);
                    }
                    if q.running == 0 {
                        break None;
                    }
                    q = wake.wait(q).unwrap_or_else(|p| p.into_inner());
                }
            };
            let Some(call) = call else {
                wake.notify_all();
                return;
            };
            let (done, more) = self.execute(units, call);
            {
                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                for (i, outcome) in done {
                    r[i] = Some(outcome);
                }
            }
            let mut q = lock();
            q.calls.extend(more);
            q.running -= 1;
            wake.notify_all();
        }
    }

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
                // Not listed among the operations AWS allows across accounts: try it alone, once.
                Some(e) if e.code == "AccessDeniedException" => more.push(Call::Get(i)),
                Some(e) if !matches!(api::classify(&e.code, 200), Kind::Fatal(_)) => {
                    more.push(Call::Get(i))
                }
                Some(e) => {
                    let Kind::Fatal(class) = api::classify(&e.code, 200) else {
                        unreachable!("matched above")
                    };
                    done.push((
                        i,
                        Err(UnitError {
                            class,
                            text: describe(&e.code, &e.message, request_id.as_deref()),
                        }),
                    ));
                }
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
            let Some(timeout) = self.retry.time_left() else {
                return Err(last
                    .unwrap_or_else(|| CallError::deadline(attempt - 1))
                    .at_deadline());
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
                Attempt::GiveUp => return Err(err.exhausted()),
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
    fn deadline(attempts: u32) -> Self {
        CallError {
            code: "DeadlineExceeded".into(),
            message: "no reply before LAMBDA_SECRETS_TIMEOUT_MS ran out".into(),
            request_id: None,
            kind: Kind::Fatal(Class::Unavailable),
            throttled: false,
            attempts,
            retry_after_ms: None,
        }
    }
    fn at_deadline(mut self) -> Self {
        self.message = format!(
            "{} (still failing when LAMBDA_SECRETS_TIMEOUT_MS ran out)",
            self.message
        );
        self.kind = Kind::Fatal(Class::Unavailable);
        self
    }
    fn exhausted(mut self) -> Self {
        self.message = format!("{} (after {} attempts)", self.message, self.attempts);
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
