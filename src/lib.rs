//! lambda-secrets: fetch AWS Secrets Manager secrets into the environment, then exec the command.
//!
//! The straight line of the program: arguments, configuration, credentials, plan, fetch, values,
//! exec. Each step is a module; `run` only wires them together and turns failures into one
//! line each and an exit code. See ARCHITECTURE.md for the invariants.

mod api;
mod config;
mod creds;
mod endpoint;
mod error;
mod exec;
mod fetch;
mod http;
mod json;
mod log;
mod retry;
mod sign;
mod values;

/// An environment lookup over fixed pairs, for unit tests of code that reads variables.
#[cfg(test)]
fn test_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

use config::{Level, Reference, Targets};
use creds::Sensitive;
use error::{Class, Failure};
use log::{Field, Log};
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

const HELP: &str = "\
lambda-secrets: fetch AWS Secrets Manager secrets into the environment, then exec a command.

Usage:
  lambda-secrets [--] COMMAND [ARGS...]   fetch, inject, then exec COMMAND in place (same PID)
  lambda-secrets --check                  fetch everything, print what would be set (names, never values)
  lambda-secrets --help | --version

Configuration is read from the environment:
  LAMBDA_SECRETS               JSON: {\"VAR\": \"SECRET_ID[:JSON_KEY[:VERSION_STAGE[:VERSION_ID]]]\", ...}
                               or [\"SECRET_ID\", ...] to expand every key of JSON secrets
  LAMBDA_SECRETS_TIMEOUT_MS    deadline for all fetching (default 5000)
  LAMBDA_SECRETS_CONCURRENCY   requests in flight at once (default 8)
  LAMBDA_SECRETS_BATCH         auto | always | never (default auto)
  LAMBDA_SECRETS_LOG           error | warn | info | debug (default from AWS_LAMBDA_LOG_LEVEL, else info)
  LAMBDA_SECRETS_NEXT_WRAPPER  another exec wrapper to run in between

Exit codes when the command is not started: 64 usage, 65 data, 69 unavailable,
77 permission, 78 configuration, 126 cannot execute, 127 command not found.
";

enum Mode {
    Exec(Vec<OsString>),
    Check,
}

/// Our options come first; the command is everything after `--`, or from the first argument that
/// does not start with `-`, passed through untouched.
fn parse_args(args: &[OsString]) -> Result<Option<Mode>, Failure> {
    let usage = |m: String| Failure::new(Class::Usage, format!("{m} (see lambda-secrets --help)"));
    let mut check = false;
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        match a.as_ref() {
            "--" => {
                i += 1;
                break;
            }
            "--check" => check = true,
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("lambda-secrets {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            s if s.starts_with('-') => return Err(usage(format!("unknown option {s:?}"))),
            _ => break,
        }
        i += 1;
    }
    let command = args[i.min(args.len())..].to_vec();
    match (check, command.is_empty()) {
        (true, false) => Err(usage("--check takes no command".into())),
        (true, true) => Ok(Some(Mode::Check)),
        (false, true) => Err(usage("no command given".into())),
        (false, false) => Ok(Some(Mode::Exec(command))),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn next_wrapper() -> Option<OsString> {
    std::env::var_os("LAMBDA_SECRETS_NEXT_WRAPPER").filter(|w| !w.is_empty())
}

/// Runs the program; returns an exit code only when the command was not started.
pub fn run(args: Vec<OsString>) -> u8 {
    let started = Instant::now();
    let mut log = Log::from_env(&env);
    let mode = match parse_args(&args) {
        Ok(Some(m)) => m,
        Ok(None) => return 0,
        Err(f) => return fail(&log, &[f]),
    };
    let targets = match std::env::var("LAMBDA_SECRETS") {
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return fail(&log, &[Failure::config("LAMBDA_SECRETS: not valid UTF-8")]);
        }
        Ok(text) => match config::parse_targets(&text) {
            Ok(t) => t,
            Err(f) => return fail(&log, &[f]),
        },
    };
    let Some(targets) = targets else {
        return match mode {
            Mode::Check => {
                log.info("LAMBDA_SECRETS names no secrets: nothing to fetch", &[]);
                0
            }
            Mode::Exec(argv) => fail(
                &log,
                &[exec::exec(&argv, next_wrapper().as_deref(), Vec::new())],
            ),
        };
    };
    // Options are read only now that there is something to fetch.
    if let Some(l) = env("LAMBDA_SECRETS_LOG").filter(|l| !l.trim().is_empty()) {
        match config::parse_level(&l) {
            Some(level) => log.level = level,
            None => {
                return fail(
                    &log,
                    &[Failure::config(format!(
                        "LAMBDA_SECRETS_LOG={l:?}: expected error, warn, info or debug"
                    ))],
                );
            }
        }
    } else if let Some(level) = env("AWS_LAMBDA_LOG_LEVEL").and_then(|l| config::parse_level(&l)) {
        log.level = level;
    }
    match prepare_and_fetch(&targets, &log, started) {
        Ok((vars, summary)) => match mode {
            Mode::Check => {
                let mut lines: Vec<String> = summary.lines;
                lines.sort();
                let mut out = String::new();
                for l in lines {
                    out.push_str(&l);
                    out.push('\n');
                }
                print!("{out}");
                0
            }
            Mode::Exec(argv) => {
                log.info(
                    &summary.text,
                    &[
                        Field::Num("variables", vars.len() as u64),
                        Field::Num("secrets", summary.secrets as u64),
                        Field::Num("requests", summary.requests as u64),
                        Field::Num("elapsed_ms", started.elapsed().as_millis() as u64),
                    ],
                );
                fail(&log, &[exec::exec(&argv, next_wrapper().as_deref(), vars)])
            }
        },
        Err(failures) => fail(&log, &failures),
    }
}

fn fail(log: &Log, failures: &[Failure]) -> u8 {
    for f in failures {
        log.error(&f.message);
    }
    error::exit_class(failures).code()
}

/// Variables to set, by name.
type Vars = Vec<(String, Sensitive)>;

struct Summary {
    text: String,
    secrets: usize,
    requests: u32,
    /// `--check` lines: `NAME<TAB>SECRET_ID<TAB>VERSION_ID`.
    lines: Vec<String>,
}

/// Everything between configuration and exec. Returns the variables to set, or every failure.
fn prepare_and_fetch(
    targets: &Targets,
    log: &Log,
    started: Instant,
) -> Result<(Vars, Summary), Vec<Failure>> {
    let one = |f: Failure| vec![f];
    let options = config::parse_options(&env).map_err(one)?;
    let default_region = endpoint::default_region(&env).map_err(one)?;
    let endpoints = endpoint::Endpoints::from_env(&env).map_err(one)?;

    // Units: each distinct (region, secret, version), fetched once.
    let refs = targets.references();
    let mut units: Vec<fetch::Unit> = Vec::new();
    let mut unit_of: Vec<usize> = Vec::with_capacity(refs.len());
    for r in &refs {
        let Some(region) = r.arn_region.clone().or_else(|| default_region.clone()) else {
            return Err(one(Failure::config(format!(
                "no region for secret {}: set AWS_REGION (or AWS_DEFAULT_REGION), or use the secret's full ARN",
                r.secret_id
            ))));
        };
        let unit = fetch::Unit {
            region,
            secret_id: r.secret_id.clone(),
            version: r.version.clone(),
        };
        let idx = units.iter().position(|u| *u == unit).unwrap_or_else(|| {
            units.push(unit);
            units.len() - 1
        });
        unit_of.push(idx);
    }

    let http = http::Http::from_env(&env, options.concurrency).map_err(one)?;
    let source = creds::source(&env).map_err(one)?;
    if env("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref() == Some("snap-start") {
        log.warn("SnapStart: the secret values are captured in the snapshot and are not refreshed after rotation until a new version is published");
    }
    let retry = retry::Retry {
        deadline: started + options.timeout,
        max_attempts: options.max_attempts,
    };
    let credentials = match source {
        creds::Source::Static(c) => c,
        creds::Source::Container { url, from, token } => {
            creds::fetch(&http, &url, from, token.as_ref(), &retry).map_err(one)?
        }
    };

    let calls = fetch::plan(&units, options.batch);
    let fetcher = fetch::Fetcher {
        http: &http,
        creds: &credentials,
        endpoints: &endpoints,
        retry: &retry,
        log,
        requests: AtomicU32::new(0),
        fell_back: AtomicBool::new(false),
    };
    let outcomes = fetcher.run(&units, calls, options.concurrency);

    // Values, and every failure.
    let mut vars: Vec<(String, Sensitive)> = Vec::new();
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    let mut settle =
        |var: &str, r: &Reference, result: Result<Sensitive, (Class, String)>, version: &str| {
            match result {
                Ok(v) => {
                    lines.push(format!("{var}\t{}\t{version}", r.secret_id));
                    vars.push((var.to_string(), v));
                }
                Err((class, text)) => {
                    let message = format!("{var} from secret {}: {text}", r.secret_id);
                    if r.optional {
                        log.warn(&format!("{message} (optional: left out)"));
                    } else {
                        failures.push(Failure::new(class, message));
                    }
                }
            }
        };
    match targets {
        Targets::Named(named) => {
            for ((var, r), &u) in named.iter().zip(&unit_of) {
                let (result, version) = match &outcomes[u] {
                    Ok(v) => (
                        values::select(&v.payload, r.json_key.as_deref())
                            .map_err(|m| (Class::Data, m)),
                        v.version_id.as_str(),
                    ),
                    Err(e) => (Err((e.class, e.text.clone())), ""),
                };
                settle(var, r, result, version);
            }
        }
        Targets::Expand(list) => {
            let mut owner: Vec<(String, &str)> = Vec::new();
            for (r, &u) in list.iter().zip(&unit_of) {
                let v = match &outcomes[u] {
                    Ok(v) => v,
                    Err(e) => {
                        settle(
                            &format!("[{}]", r.secret_id),
                            r,
                            Err((e.class, e.text.clone())),
                            "",
                        );
                        continue;
                    }
                };
                let entries = match values::expand(&v.payload) {
                    Ok(e) => e,
                    Err(m) => {
                        settle(&format!("[{}]", r.secret_id), r, Err((Class::Data, m)), "");
                        continue;
                    }
                };
                for (key, value) in entries {
                    let result = match config::check_target_name(&key) {
                        Err(why) => Err((
                            Class::Data,
                            format!("key {key:?} cannot be a variable: {why}"),
                        )),
                        Ok(()) => match owner.iter().find(|(k, _)| *k == key) {
                            Some((_, other)) => Err((
                                Class::Config,
                                format!(
                                    "key {key:?} is also in secret {other}; two secrets cannot set the same variable"
                                ),
                            )),
                            None => Ok(value),
                        },
                    };
                    if result.is_ok() {
                        owner.push((key.clone(), r.secret_id.as_str()));
                    }
                    settle(&key, r, result, &v.version_id);
                }
            }
        }
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    let requests = fetcher.requests.load(Ordering::Relaxed);
    let secrets = units
        .iter()
        .enumerate()
        .filter(|(i, _)| outcomes[*i].is_ok())
        .count();
    let fell_back = if fetcher.fell_back.load(Ordering::Relaxed) {
        ", batch fell back to GetSecretValue"
    } else {
        ""
    };
    let text = format!(
        "injected {} variable{} from {} secret{}, {} request{}{}, {} ms",
        vars.len(),
        plural(vars.len()),
        secrets,
        plural(secrets),
        requests,
        plural(requests as usize),
        fell_back,
        started.elapsed().as_millis()
    );
    if log.enabled(Level::Debug) {
        for (var, _) in &vars {
            log.debug(&format!("set {var}"));
        }
    }
    // The process is about to exec or exit: freeing the client (its pooled connection, buffers
    // and TLS state) would only hand pages back to the kernel one munmap at a time
    // (bench/README.md, "Where the time goes"). The socket is close-on-exec.
    std::mem::forget(http);
    Ok((
        vars,
        Summary {
            text,
            secrets,
            requests,
            lines,
        },
    ))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Entry points for the fuzz targets in `fuzz/` (not a stable API): every parser of input that
/// comes from outside, fed arbitrary bytes. Each must return, never panic; each also checks what
/// it parsed against an oracle (serde_json's own reading, SPEC's rules) and panics on a mismatch,
/// which is how a fuzzer sees a wrong answer. `tests/fuzz_corpus.rs` replays the committed corpus
/// through the same `*_input` functions the fuzz targets call.
#[doc(hidden)]
pub mod fuzzing {
    use crate::api::{self, Payload};
    use crate::config::{self, Reference, Targets, Version};
    use crate::creds::Sensitive;
    use crate::error::Class;
    use serde_json::Value;

    /// One fuzz input as `LAMBDA_SECRETS`: the binary refuses text that is not UTF-8 before
    /// parsing, so only UTF-8 reaches the parser.
    pub fn lambda_secrets_input(data: &[u8]) {
        if let Ok(text) = std::str::from_utf8(data) {
            lambda_secrets(text);
        }
    }

    /// `LAMBDA_SECRETS` text.
    pub fn lambda_secrets(text: &str) {
        match config::parse_targets(text) {
            Err(f) => {
                assert_eq!(
                    f.class,
                    Class::Config,
                    "a LAMBDA_SECRETS refusal is a configuration error"
                );
                assert!(f.message.starts_with("LAMBDA_SECRETS: "), "{}", f.message);
            }
            Ok(None) => {
                let empty = text.trim().is_empty()
                    || match serde_json::from_str::<Value>(text) {
                        Ok(Value::Object(m)) => m.is_empty(),
                        Ok(Value::Array(a)) => a.is_empty(),
                        _ => false,
                    };
                assert!(
                    empty,
                    "nothing to fetch, but LAMBDA_SECRETS names something"
                );
            }
            Ok(Some(targets)) => {
                if let Targets::Named(named) = &targets {
                    assert!(!named.is_empty());
                    for (i, (name, _)) in named.iter().enumerate() {
                        assert!(config::check_target_name(name).is_ok(), "{name:?} accepted");
                        assert!(named[..i].iter().all(|(n, _)| n != name), "{name:?} twice");
                    }
                }
                let array = matches!(targets, Targets::Expand(_));
                for r in targets.references() {
                    check_reference(r, array);
                }
            }
        }
    }

    fn check_reference(r: &Reference, array: bool) {
        assert!(!r.secret_id.is_empty());
        match &r.arn_region {
            Some(region) => {
                let f: Vec<&str> = r.secret_id.split(':').collect();
                assert!(f.len() == 7 && f[0] == "arn" && f[2] == "secretsmanager");
                assert!(f[5] == "secret" && !f[1].is_empty() && !f[6].is_empty());
                assert!(f[3] == region && config::valid_region(region));
            }
            None => assert!(!r.secret_id.contains(':') && !r.secret_id.starts_with("arn:")),
        }
        assert!(r.json_key.as_deref().is_none_or(|k| !k.is_empty()));
        assert!(!array || r.json_key.is_none());
        if let Version::Stage(s) | Version::Id(s) = &r.version {
            assert!(!s.is_empty());
        }
    }

    /// One fuzz input as a reply: an optional first line `STATUS[ X-AMZN-ERRORTYPE]` (at most
    /// 128 bytes, status a number), then the body. Without that line: status 200, no header.
    pub fn reply_input(data: &[u8]) {
        let head = data
            .iter()
            .position(|&b| b == b'\n')
            .filter(|&i| i <= 128)
            .and_then(|i| {
                let line = std::str::from_utf8(&data[..i]).ok()?;
                let (status, error_type) = line.split_once(' ').unwrap_or((line, ""));
                let status = status.parse::<u16>().ok()?;
                let error_type = (!error_type.is_empty()).then(|| error_type.to_string());
                Some((status, error_type, &data[i + 1..]))
            });
        match head {
            Some((status, error_type, body)) => reply(status, error_type, body),
            None => reply(200, None, data),
        }
    }

    /// A Secrets Manager reply body, as a success of either operation and as an error, and a
    /// secret string through every value rule.
    pub fn reply(status: u16, error_type: Option<String>, body: &[u8]) {
        if let Ok(v) = api::parse_get(body) {
            check_payload(&v.payload);
        }
        if let Ok(b) = api::parse_batch(body) {
            for v in &b.values {
                let _ = api::names("arn:aws:secretsmanager:r:1:secret:x", v);
                check_payload(&v.payload);
            }
            for e in &b.errors {
                check_code(&e.code);
                check_message(&e.message);
                let _ = api::classify(&e.code, 200);
            }
        }
        let reply = crate::http::Reply {
            status,
            request_id: None,
            error_type,
            retry_after_ms: None,
            body: body.to_vec(),
        };
        let e = api::parse_error(&reply);
        if e.code != format!("HTTP {status}") {
            check_code(&e.code);
        }
        check_message(&e.message);
        let _ = api::classify(&e.code, status);
        let _ = api::clock_hint(&e.code);
        if let Ok(text) = std::str::from_utf8(body) {
            check_payload(&Payload::String(Sensitive::new(text.to_string())));
        }
    }

    /// Error codes are printed and matched: a bounded identifier.
    fn check_code(code: &str) {
        assert!(code.len() <= 100, "code of {} bytes", code.len());
        assert!(
            code.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'),
            "code {code:?}"
        );
    }

    /// AWS's messages are printed on one log line: bounded, no control characters.
    fn check_message(m: &str) {
        assert!(m.chars().count() <= 300);
        assert!(!m.chars().any(|c| c.is_control()), "message {m:?}");
    }

    /// What SPEC's value rules must give for one top-level value written as `raw`, with
    /// serde_json's reading of that value as the oracle: a string as decoded; any other value
    /// as written, white space outside strings removed (which must mean the same value); a NUL
    /// byte or a string serde_json cannot decode is a data error.
    fn expected(raw: &str) -> Option<String> {
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::String(s)) => (!s.contains('\0')).then_some(s),
            Ok(other) => {
                let text = crate::json::compact(raw);
                let again: Value = serde_json::from_str(&text).expect("compact text parses");
                assert_eq!(again, other, "compact text changed the value");
                Some(text)
            }
            Err(_) if raw.starts_with('"') => None,
            // Valid JSON serde_json will not hold in a Value (a number out of f64's range, a
            // lone surrogate escape deep inside): injected as written.
            Err(_) => Some(crate::json::compact(raw)),
        }
    }

    fn check_payload(payload: &Payload) {
        use crate::values::{expand, select};
        let text = match payload {
            Payload::Binary(b) => {
                let whole = select(payload, None).map(Sensitive::into_inner);
                assert_eq!(
                    whole.ok().as_deref(),
                    (!b.expose().contains('\0')).then(|| b.expose())
                );
                assert!(select(payload, Some("k")).is_err() && expand(payload).is_err());
                return;
            }
            Payload::String(s) => s.expose(),
        };
        let whole = select(payload, None).map(Sensitive::into_inner);
        assert_eq!(
            whole.ok().as_deref(),
            (!text.contains('\0')).then_some(text)
        );
        let Ok(entries) = crate::json::object_entries(text) else {
            assert!(
                select(payload, Some("k")).is_err(),
                "a key selected from a non-object"
            );
            assert!(expand(payload).is_err(), "a non-object expanded");
            return;
        };
        // Per key, in the order first written, the last value written (as any JSON reader).
        let mut want: Vec<(String, Option<String>)> = Vec::new();
        for (key, raw) in &entries {
            let value = expected(raw.get());
            match want.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => want.push((key.clone(), value)),
            }
        }
        for (key, value) in want.iter().take(8) {
            let got = select(payload, Some(key)).map(Sensitive::into_inner);
            assert_eq!(got.ok().as_ref(), value.as_ref(), "key {key:?}");
        }
        if !want.iter().any(|(k, _)| k == "k") {
            assert!(
                select(payload, Some("k")).is_err(),
                "a missing key selected"
            );
        }
        let expanded = expand(payload).ok().map(|v| {
            v.into_iter()
                .map(|(k, v)| (k, Some(v.into_inner())))
                .collect::<Vec<_>>()
        });
        let all_ok = want.iter().all(|(_, v)| v.is_some());
        assert_eq!(
            expanded,
            all_ok.then_some(want),
            "expand disagrees with select"
        );
    }
}
