//! What to fetch and fetching it (README, "Fetching").
//!
//! `Plan::new` turns the references into units, each distinct (region, secret, version) fetched
//! once, and into the first calls: current-version units grouped into `BatchGetSecretValue`
//! calls by the `LAMBDA_SECRETS_BATCH` rules, everything else one `GetSecretValue`. `run` makes
//! the calls on the worker pool (`pool.rs`), sharing one `Http`, and returns one outcome a unit.
//! A batch that is refused or fails, or whose entries need another try, leaves `GetSecretValue`
//! calls behind it.

use crate::aws::{self, Operation};
use crate::config::{BatchMode, Reference, Version};
use crate::creds::Credentials;
use crate::endpoint::{Endpoints, Region, Url};
use crate::error::{Class, Error};
use crate::http::{Http, Reply};
use crate::log::Log;
use crate::retry::Retry;
use crate::sm::{self, Entry};
use crate::values::Fetched;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

/// One thing to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unit {
    pub region: Region,
    pub secret_id: String,
    pub version: Version,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Call {
    Batch(Vec<usize>),
    Get(usize),
}

/// The units to fetch and the first calls to make.
#[derive(Debug)]
pub struct Plan {
    pub units: Vec<Unit>,
    /// For each reference, in order, the unit it reads.
    pub unit_of: Vec<usize>,
    pub calls: Vec<Call>,
}

impl Plan {
    /// Fails only when a reference has no region: neither its ARN nor `default_region` gives one.
    pub fn new(
        refs: &[&Reference],
        default_region: Option<&Region>,
        mode: BatchMode,
    ) -> Result<Plan, Error> {
        let mut units: Vec<Unit> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut unit_of = Vec::with_capacity(refs.len());
        for r in refs {
            let Some(region) = r.arn_region.as_ref().or(default_region) else {
                return Err(Error::Config(format!(
                    "no region for secret {}: set AWS_REGION (or AWS_DEFAULT_REGION), or use the secret's full ARN",
                    r.secret_id
                )));
            };
            let unit = Unit {
                region: region.clone(),
                secret_id: r.secret_id.clone(),
                version: r.version.clone(),
            };
            let i = *index.entry(unit.clone()).or_insert_with(|| {
                units.push(unit);
                units.len() - 1
            });
            unit_of.push(i);
        }
        let calls = first_calls(&units, mode);
        Ok(Plan {
            units,
            unit_of,
            calls,
        })
    }
}

/// The first calls to make for `units`, region by region in the order first named.
fn first_calls(units: &[Unit], mode: BatchMode) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut regions: Vec<&Region> = Vec::new();
    for u in units {
        if !regions.contains(&&u.region) {
            regions.push(&u.region);
        }
    }
    for region in regions {
        let in_region = || (0..units.len()).filter(|&i| units[i].region == *region);
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
                    .chunks(sm::BATCH_MAX)
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

/// What fetching gave: one outcome a unit, and what it took.
pub struct Outcomes {
    pub units: Vec<Result<Fetched, Error>>,
    /// Requests sent, retries included.
    pub requests: u32,
    /// A batch call failed and its secrets were read with `GetSecretValue`.
    pub fell_back: bool,
}

/// Everything a call needs besides its own arguments.
pub struct Fetcher<'a> {
    pub http: &'a Http,
    pub creds: &'a Credentials,
    pub endpoints: &'a Endpoints,
    pub retry: &'a Retry,
    pub log: &'a Log,
}

/// Makes the plan's calls on at most `threads` threads.
pub fn run(plan: Plan, fetcher: &Fetcher, threads: usize) -> Outcomes {
    let run = Run {
        fetcher,
        units: &plan.units,
        results: Mutex::new((0..plan.units.len()).map(|_| None).collect()),
        requests: AtomicU32::new(0),
        fell_back: AtomicBool::new(false),
    };
    let max_workers = threads.min(plan.units.len().max(1));
    crate::pool::run(plan.calls, max_workers, |call| run.execute(call));
    let results = run.results.into_inner().unwrap_or_else(|p| p.into_inner());
    Outcomes {
        units: results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::Unavailable("not fetched".into()))))
            .collect(),
        requests: run.requests.into_inner(),
        fell_back: run.fell_back.into_inner(),
    }
}

/// One run of the plan: what the workers share.
struct Run<'a> {
    fetcher: &'a Fetcher<'a>,
    units: &'a [Unit],
    results: Mutex<Vec<Option<Result<Fetched, Error>>>>,
    requests: AtomicU32,
    fell_back: AtomicBool,
}

impl Run<'_> {
    /// Runs one call, records the outcomes it settles, and returns the calls it leaves to do.
    fn execute(&self, call: Call) -> Vec<Call> {
        let (done, more) = match call {
            Call::Get(i) => (vec![(i, self.get(&self.units[i]))], vec![]),
            Call::Batch(ids) => self.batch(ids),
        };
        let mut results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        for (i, outcome) in done {
            results[i] = Some(outcome);
        }
        more
    }

    fn get(&self, u: &Unit) -> Result<Fetched, Error> {
        let body = sm::get_body(&u.secret_id, &u.version);
        let (v, _) = self.call(sm::GET, &u.region, &body, sm::parse_get, |_| false)?;
        Ok(Fetched {
            version: v.version_id,
            payload: v.payload,
        })
    }

    #[allow(clippy::type_complexity)]
    fn batch(&self, ids: Vec<usize>) -> (Vec<(usize, Result<Fetched, Error>)>, Vec<Call>) {
        let region = &self.units[ids[0]].region;
        let names: Vec<&str> = ids
            .iter()
            .map(|&i| self.units[i].secret_id.as_str())
            .collect();
        let body = sm::batch_body(&names);
        let every = |e: Error| ids.iter().map(|&i| (i, Err(e.clone()))).collect();
        // A batch that fails for any reason worth retrying (throttled, a 5xx, a reset, a stalled
        // attempt, a malformed reply) falls back at once instead of retrying: one slow batch must
        // not use up the time its secrets could be fetched in (README, "Fetching").
        match self.call(sm::BATCH, region, &body, sm::parse_batch, |_| true) {
            Ok((reply, request_id)) => {
                let entries = sm::settle_batch(&names, reply, request_id.as_deref());
                let mut done = Vec::new();
                let mut more = Vec::new();
                for (&i, entry) in ids.iter().zip(entries) {
                    match entry {
                        Entry::Value(v) => done.push((
                            i,
                            Ok(Fetched {
                                version: v.version_id,
                                payload: v.payload,
                            }),
                        )),
                        Entry::Failed(e) => done.push((i, Err(e))),
                        Entry::Alone => more.push(Call::Get(i)),
                    }
                }
                (done, more)
            }
            // Credentials that GetSecretValue would meet just the same. Not access (the role may
            // lack only the batch permission) and not DecryptionFailure (one secret's key can
            // fail the whole call, when the others would read fine).
            Err(e)
                if e.class() == Class::Permission
                    && !e.is_access_denied()
                    && e.code() != Some("DecryptionFailure") =>
            {
                (every(e), vec![])
            }
            // No time left to fall back (the batch stalled until the deadline, say): the
            // batch's own failure is each secret's, rather than "the deadline passed".
            Err(e) if self.fetcher.retry.time_left().is_none() => {
                (every(e.context(sm::BATCH.name)), vec![])
            }
            Err(e) => {
                // Not a warning: the success line says that a batch fell back.
                let log = self.fetcher.log;
                if log.enabled(crate::config::Level::Debug) {
                    log.debug(&format!(
                        "BatchGetSecretValue in {region} failed ({}); reading its {} secrets with GetSecretValue",
                        e.label(),
                        ids.len()
                    ));
                }
                self.fell_back.store(true, Ordering::Relaxed);
                (vec![], ids.into_iter().map(Call::Get).collect())
            }
        }
    }

    /// One signed call with retries. Returns the parsed reply and its request id.
    fn call<T>(
        &self,
        op: Operation,
        region: &Region,
        body: &[u8],
        parse: fn(&[u8]) -> Result<T, Error>,
        stop_early: impl Fn(&Error) -> bool,
    ) -> Result<(T, Option<String>), Error> {
        let url = self.fetcher.endpoints.for_region(op.service, region);
        let headers = op.headers();
        self.fetcher.retry.run(
            |attempt, timeout| {
                let result = self.attempt(op, region, &url, &headers, body, timeout);
                let result = result.and_then(|reply| match parse(&reply.body) {
                    Ok(v) => Ok((v, reply.request_id)),
                    Err(e) => Err(e.with_request_id(reply.request_id)),
                });
                let log = self.fetcher.log;
                if log.enabled(crate::config::Level::Debug) {
                    let (status, id) = match &result {
                        Ok((_, id)) => ("200", id.as_deref()),
                        Err(e) => (e.label(), e.request_id()),
                    };
                    log.debug(&format!(
                        "{} in {region}, attempt {attempt}: {status} (request id {})",
                        op.name,
                        id.unwrap_or("none")
                    ));
                }
                result
            },
            stop_early,
        )
    }

    /// Signs and sends one attempt; a reply that is not a 200 is the service's error.
    fn attempt(
        &self,
        op: Operation,
        region: &Region,
        url: &Url,
        headers: &[(String, String)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let f = self.fetcher;
        let signed = crate::sign::sign_request(
            f.creds,
            op.service,
            region,
            &url.as_string(),
            headers,
            body,
            SystemTime::now(),
        )?;
        let mut send = headers.to_vec();
        send.extend(signed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        let reply = f.http.post(url, &send, body, timeout)?;
        if reply.status == 200 {
            Ok(reply)
        } else {
            Err(aws::parse_error(op.service, &reply))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(region: &str, id: &str, version: Version) -> Unit {
        Unit {
            region: Region::parse(region).unwrap(),
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
            assert_eq!(first_calls(units, mode), want, "{mode:?} {units:?}");
        }
        let many: Vec<Unit> = (0..45)
            .map(|i| unit("r", &format!("s{i}"), cur.clone()))
            .collect();
        let sizes: Vec<usize> = first_calls(&many, Auto)
            .iter()
            .map(|c| match c {
                Batch(v) => v.len(),
                Get(_) => 0,
            })
            .collect();
        assert_eq!(sizes, [20, 20, 5]);
    }

    #[test]
    fn units_are_distinct_and_need_a_region() {
        let refs: Vec<Reference> = ["a", "a:k", "b", "a::AWSPREVIOUS"]
            .iter()
            .map(|s| crate::config::parse_reference_string(s).unwrap())
            .collect();
        let refs: Vec<&Reference> = refs.iter().collect();
        let region = Region::parse("eu-west-1").unwrap();
        let plan = Plan::new(&refs, Some(&region), BatchMode::Auto).unwrap();
        assert_eq!(plan.units.len(), 3);
        assert_eq!(plan.unit_of, [0, 0, 1, 2]);
        assert_eq!(plan.calls, [Call::Batch(vec![0, 1]), Call::Get(2)]);
        let e = Plan::new(&refs, None, BatchMode::Auto).unwrap_err();
        assert!(e.to_string().starts_with("no region for secret a:"), "{e}");
    }
}
