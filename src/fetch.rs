//! What to fetch and fetching it (README, "Fetching").
//!
//! `Plan::new` turns the references into units, each distinct (region, secret, version) fetched
//! once, and into the first calls: current-version units grouped into `BatchGetSecretValue`
//! calls by the `LAMBDA_SECRETS_BATCH` rules, everything else one `GetSecretValue`. `run` makes
//! the calls on the worker pool (`pool.rs`), sharing one `Http`, and returns one outcome a unit.
//! A batch that is refused or fails, or whose entries need another try, leaves `GetSecretValue`
//! calls behind it.

use crate::aws::{self, Operation};
use crate::config::{BatchMode, Origin, Reference, Version};
use crate::creds::Credentials;
use crate::endpoint::{Endpoints, Region, Url};
use crate::error::{Class, Error};
use crate::http::{Http, Reply};
use crate::log::Log;
use crate::retry::Retry;
use crate::sm;
use crate::ssm;
use crate::values::{Fetched, PathEntry, Payload};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

/// One thing to fetch, in one region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unit {
    pub region: Region,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum What {
    Secret {
        id: String,
        version: Version,
    },
    Parameter {
        sent: String,
        name: String,
        selector: Option<String>,
    },
    Path {
        path: String,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Call {
    /// `BatchGetSecretValue` for these secrets.
    Batch(Vec<usize>),
    /// `GetSecretValue` for this secret.
    Get(usize),
    /// `GetParameters` for these parameters (at most 10, no name twice).
    Parameters(Vec<usize>),
    /// `GetParametersByPath` for this path, every page.
    Path(usize),
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
                let arn = match r.origin {
                    Origin::Secret { .. } => "the secret's full ARN",
                    _ => "the parameter's ARN",
                };
                return Err(Error::Config(format!(
                    "no region for {}: set AWS_REGION (or AWS_DEFAULT_REGION), or use {arn}",
                    r.describe()
                )));
            };
            let what = match &r.origin {
                Origin::Secret { id, version } => What::Secret {
                    id: id.clone(),
                    version: version.clone(),
                },
                Origin::Parameter {
                    sent,
                    name,
                    selector,
                } => What::Parameter {
                    sent: sent.clone(),
                    name: name.clone(),
                    selector: selector.clone(),
                },
                Origin::Path { path } => What::Path { path: path.clone() },
            };
            let unit = Unit {
                region: region.clone(),
                what,
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

/// The first calls to make for `units`, region by region in the order first named: secrets
/// (batched by `LAMBDA_SECRETS_BATCH`), then parameters in `GetParameters` calls of at most 10
/// (a name twice, with two selectors, goes into two calls, so each reply is unambiguous), then
/// paths.
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
            .filter(|&i| {
                matches!(
                    &units[i].what,
                    What::Secret {
                        version: Version::Current,
                        ..
                    }
                )
            })
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
                .filter(|&i| matches!(units[i].what, What::Secret { .. }))
                .filter(|i| !batch || !current.contains(i))
                .map(Call::Get),
        );
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        for i in in_region() {
            let What::Parameter { name, .. } = &units[i].what else {
                continue;
            };
            let same_name =
                |&j: &usize| matches!(&units[j].what, What::Parameter { name: n, .. } if n == name);
            match chunks
                .iter_mut()
                .find(|c| c.len() < ssm::BATCH_MAX && !c.iter().any(same_name))
            {
                Some(c) => c.push(i),
                None => chunks.push(vec![i]),
            }
        }
        calls.extend(chunks.into_iter().map(Call::Parameters));
        calls.extend(
            in_region()
                .filter(|&i| matches!(units[i].what, What::Path { .. }))
                .map(Call::Path),
        );
    }
    calls
}

/// What fetching gave: one outcome a unit, and what it took.
pub struct Outcomes {
    pub units: Vec<Result<Fetched, Error>>,
    /// Secrets read.
    pub secrets: usize,
    /// Parameters read, each under a path counted.
    pub parameters: usize,
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
pub fn run(mut plan: Plan, fetcher: &Fetcher, threads: usize) -> Outcomes {
    let run = Run {
        fetcher,
        units: &plan.units,
        results: Mutex::new((0..plan.units.len()).map(|_| None).collect()),
        requests: AtomicU32::new(0),
        fell_back: AtomicBool::new(false),
    };
    let max_workers = threads.min(plan.units.len().max(1));
    let calls = std::mem::take(&mut plan.calls);
    crate::pool::run(calls, max_workers, |call| run.execute(call));
    let results: Vec<Result<Fetched, Error>> = run
        .results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Unavailable("not fetched".into()))))
        .collect();
    let (mut secrets, mut parameters) = (0, 0);
    for (u, r) in plan.units.iter().zip(&results) {
        match (&u.what, r) {
            (What::Secret { .. }, Ok(_)) => secrets += 1,
            (
                _,
                Ok(Fetched {
                    payload: Payload::Path(p),
                    ..
                }),
            ) => parameters += p.len(),
            (What::Parameter { .. }, Ok(_)) => parameters += 1,
            _ => {}
        }
    }
    Outcomes {
        units: results,
        secrets,
        parameters,
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
            Call::Get(i) => (vec![(i, self.get(i))], vec![]),
            Call::Batch(ids) => self.batch(ids),
            Call::Parameters(ids) => self.parameters(ids),
            Call::Path(i) => (vec![(i, self.path(i))], vec![]),
        };
        let mut results = self.results.lock().unwrap_or_else(|p| p.into_inner());
        for (i, outcome) in done {
            results[i] = Some(outcome);
        }
        more
    }

    fn secret_id(&self, i: usize) -> &str {
        match &self.units[i].what {
            What::Secret { id, .. } => id,
            _ => "",
        }
    }

    fn get(&self, i: usize) -> Result<Fetched, Error> {
        let u = &self.units[i];
        let What::Secret { id, version } = &u.what else {
            return Err(Error::Unavailable("not a secret".into()));
        };
        let body = sm::get_body(id, version);
        let (v, _) = self.call(sm::GET, &u.region, &body, sm::parse_get, |_| false)?;
        Ok(Fetched {
            version: v.version_id,
            payload: v.payload,
        })
    }

    #[allow(clippy::type_complexity)]
    fn batch(&self, ids: Vec<usize>) -> (Vec<(usize, Result<Fetched, Error>)>, Vec<Call>) {
        let region = &self.units[ids[0]].region;
        let names: Vec<&str> = ids.iter().map(|&i| self.secret_id(i)).collect();
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
                        sm::Entry::Value(v) => done.push((
                            i,
                            Ok(Fetched {
                                version: v.version_id,
                                payload: v.payload,
                            }),
                        )),
                        sm::Entry::Failed(e) => done.push((i, Err(e))),
                        sm::Entry::Alone => more.push(Call::Get(i)),
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

    /// `GetParameters` for `ids`. A call refused with `AccessDeniedException` is repeated once
    /// per name, alone: AWS refuses the whole call when one name is denied, and the others may
    /// be readable (README, "SSM Parameter Store references").
    #[allow(clippy::type_complexity)]
    fn parameters(&self, ids: Vec<usize>) -> (Vec<(usize, Result<Fetched, Error>)>, Vec<Call>) {
        let region = &self.units[ids[0]].region;
        let asked: Vec<ssm::Asked> = ids
            .iter()
            .filter_map(|&i| match &self.units[i].what {
                What::Parameter {
                    sent,
                    name,
                    selector,
                } => Some(ssm::Asked {
                    sent,
                    name,
                    selector: selector.as_deref(),
                }),
                _ => None,
            })
            .collect();
        let names: Vec<String> = asked
            .iter()
            .map(|a| ssm::wire_name(a.sent, a.selector))
            .collect();
        let body = ssm::parameters_body(&names);
        let (reply, request_id) = match self.call(
            ssm::GET_PARAMETERS,
            region,
            &body,
            ssm::parse_parameters,
            |_| false,
        ) {
            Ok(r) => r,
            Err(e) if e.is_access_denied() && ids.len() > 1 => {
                return (
                    vec![],
                    ids.into_iter().map(|i| Call::Parameters(vec![i])).collect(),
                );
            }
            Err(e) => return (ids.iter().map(|&i| (i, Err(e.clone()))).collect(), vec![]),
        };
        let mut done = Vec::new();
        let mut more = Vec::new();
        let alone = ids.len() == 1;
        for (&i, entry) in ids.iter().zip(ssm::settle(&asked, reply)) {
            match entry {
                ssm::Entry::Value(p) => done.push((
                    i,
                    Ok(Fetched {
                        version: p.version,
                        payload: Payload::String(p.value),
                    }),
                )),
                ssm::Entry::Invalid => done.push((
                    i,
                    Err(Error::Service {
                        code: "ParameterNotFound".into(),
                        message: "listed in InvalidParameters: the parameter, or the version or label asked for, does not exist".into(),
                        request_id: request_id.clone(),
                        kind: crate::error::Kind::Fatal(Class::Config),
                        retry_after_ms: None,
                    }),
                )),
                ssm::Entry::Missing if !alone => more.push(Call::Parameters(vec![i])),
                ssm::Entry::Missing => done.push((
                    i,
                    Err(Error::Malformed {
                        why: "the reply has neither the parameter nor its name in InvalidParameters",
                        request_id: request_id.clone(),
                    }),
                )),
            }
        }
        (done, more)
    }

    /// `GetParametersByPath` for one path, following `NextToken` to the end.
    fn path(&self, i: usize) -> Result<Fetched, Error> {
        let u = &self.units[i];
        let What::Path { path } = &u.what else {
            return Err(Error::Unavailable("not a path".into()));
        };
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..ssm::MAX_PAGES {
            let body = ssm::path_body(path, token.as_deref());
            let (page, _) =
                self.call(ssm::GET_BY_PATH, &u.region, &body, ssm::parse_path, |_| {
                    false
                })?;
            entries.extend(page.parameters.into_iter().map(|p| PathEntry {
                name: p.name,
                version: p.version,
                value: p.value,
            }));
            token = page.next_token;
            if token.is_none() {
                return Ok(Fetched {
                    version: String::new(),
                    payload: Payload::Path(entries),
                });
            }
        }
        Err(Error::Unavailable(format!(
            "GetParametersByPath: still paging after {} pages",
            ssm::MAX_PAGES
        )))
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
            what: What::Secret {
                id: id.into(),
                version,
            },
        }
    }

    fn param(region: &str, name: &str, selector: Option<&str>) -> Unit {
        Unit {
            region: Region::parse(region).unwrap(),
            what: What::Parameter {
                sent: name.into(),
                name: name.into(),
                selector: selector.map(Into::into),
            },
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
                Batch(v) | Parameters(v) => v.len(),
                Get(_) | Path(_) => 0,
            })
            .collect();
        assert_eq!(sizes, [20, 20, 5]);
    }

    #[test]
    fn parameters_go_in_tens_per_region_without_a_name_twice() {
        use Call::*;
        let mut units: Vec<Unit> = (0..12)
            .map(|i| param("r1", &format!("/p{i}"), None))
            .collect();
        units.push(param("r1", "/p0", Some("2")));
        units.push(param("r2", "/q", None));
        units.push(Unit {
            region: Region::parse("r1").unwrap(),
            what: What::Path {
                path: "/app/".into(),
            },
        });
        units.push(unit("r1", "s", Version::Current));
        let calls = first_calls(&units, BatchMode::Auto);
        assert_eq!(
            calls,
            [
                Get(15),
                Parameters((0..10).collect()),
                Parameters(vec![10, 11, 12]),
                Path(14),
                Parameters(vec![13]),
            ]
        );
        // The same name with two selectors never shares a call.
        let twice = vec![param("r", "/a", Some("1")), param("r", "/a", Some("2"))];
        assert_eq!(
            first_calls(&twice, BatchMode::Auto),
            [Parameters(vec![0]), Parameters(vec![1])]
        );
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
