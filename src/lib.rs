//! lambda-secrets: fetch AWS Secrets Manager secrets and SSM Parameter Store parameters into the
//! environment, then exec the command.
//!
//! `run` is the straight line of the program: arguments, configuration, plan, credentials,
//! fetch, values, then the mode's own ending (`--check` prints, otherwise exec). Each step is a
//! call into the module that owns it; failures come back as `Error`s, one log line each, and the
//! exit code is derived from them. See ARCHITECTURE.md for the invariants.

mod aws;
mod cli;
mod config;
mod creds;
mod endpoint;
mod error;
mod exec;
mod fetch;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod json;
mod log;
mod pool;
mod retry;
mod sensitive;
mod sign;
mod sm;
mod ssm;
mod values;

use cli::Mode;
use error::{Error, plural};
use log::{Field, Log};
use std::ffi::OsString;
use std::io::Write;
use std::time::Instant;
use values::Injection;

/// An environment lookup over fixed pairs, for unit tests of code that reads variables.
#[cfg(test)]
fn test_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Runs the program; returns an exit code only when the command was not started.
pub fn run(args: Vec<OsString>) -> u8 {
    let started = Instant::now();
    let mut log = Log::from_env(&env);
    match pipeline(&args, &mut log, started) {
        Ok(code) => code,
        Err(errors) => {
            for e in &errors {
                log.error(&e.to_string());
            }
            error::exit_class(&errors).code()
        }
    }
}

/// The straight line; returns only on failure, or when the mode ends without exec.
fn pipeline(args: &[OsString], log: &mut Log, started: Instant) -> Result<u8, Vec<Error>> {
    let mode = cli::parse(args)?;
    if let Mode::Help | Mode::Version = mode {
        return Ok(print_info(&mode));
    }
    let Some(targets) = config::targets_from_env()? else {
        return nothing_to_fetch(mode, log);
    };
    // Options are read only now that there is something to fetch.
    if let Some(level) = config::log_level(&env)? {
        log.level = level;
    }
    let options = config::parse_options(&env)?;
    let default_region = endpoint::default_region(&env)?;
    let endpoints = endpoint::Endpoints::from_env(&env, &targets.services())?;
    let refs = targets.references();
    let plan = fetch::Plan::new(&refs, default_region.as_ref(), options.batch)?;
    let http = http::Http::from_env(&env, options.concurrency)?;
    let source = creds::source(&env)?;
    if env("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref() == Some("snap-start") {
        log.warn("SnapStart: the secret values are captured in the snapshot and are not refreshed after rotation until a new version is published");
    }
    let retry = retry::Retry {
        deadline: started + options.timeout,
        max_attempts: options.max_attempts,
        throttled_until_deadline: !options.max_attempts_set,
    };
    let creds = creds::resolve(source, &http, &retry)?;
    let fetcher = fetch::Fetcher {
        http: &http,
        creds: &creds,
        endpoints: &endpoints,
        retry: &retry,
        log,
    };
    let unit_of = plan.unit_of.clone();
    let fetched = fetch::run(plan, &fetcher, options.concurrency);
    let outcomes: Vec<_> = unit_of.iter().map(|&u| &fetched.units[u]).collect();
    let injection = values::settle(&targets, &outcomes, log)?;
    if log.enabled(config::Level::Debug) {
        for (var, _) in &injection.vars {
            log.debug(&format!("set {var}"));
        }
    }
    match mode {
        Mode::Check => Ok(print_check(injection)),
        Mode::Exec(argv) => {
            log_success(log, &injection, &fetched, started);
            // The HTTP client, its pooled connection and the replies are still alive here, on
            // purpose: exec discards the address space, so freeing them first would only hand
            // pages back one munmap at a time (bench/README.md, "Where the time goes").
            Err(vec![exec::exec(
                &argv,
                next_wrapper().as_deref(),
                injection.vars,
            )])
        }
        Mode::Help | Mode::Version => unreachable!("handled before any fetching"),
    }
}

/// `LAMBDA_SECRETS` names nothing: exec at once, with no network, credentials or options.
fn nothing_to_fetch(mode: Mode, log: &Log) -> Result<u8, Vec<Error>> {
    match mode {
        Mode::Exec(argv) => Err(vec![exec::exec(
            &argv,
            next_wrapper().as_deref(),
            Vec::new(),
        )]),
        _ => {
            log.info("LAMBDA_SECRETS names no secrets: nothing to fetch", &[]);
            Ok(0)
        }
    }
}

fn next_wrapper() -> Option<OsString> {
    std::env::var_os("LAMBDA_SECRETS_NEXT_WRAPPER").filter(|w| !w.is_empty())
}

fn print_info(mode: &Mode) -> u8 {
    let text = match mode {
        Mode::Help => cli::HELP.to_string(),
        _ => format!("lambda-secrets {}\n", env!("CARGO_PKG_VERSION")),
    };
    print(&text)
}

/// `--check`: one line a variable, sorted; never a value.
fn print_check(injection: Injection) -> u8 {
    let mut lines = injection.lines;
    lines.sort();
    let mut out = String::new();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    print(&out)
}

fn print(text: &str) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => 0,
        // A reader that went away (`| head`) is not our failure; coreutils exit quietly too.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(_) => 1,
    }
}

/// The one line on success (README, "Output").
fn log_success(log: &Log, injection: &Injection, fetched: &fetch::Outcomes, started: Instant) {
    let elapsed = started.elapsed().as_millis() as u64;
    let fell_back = if fetched.fell_back {
        ", batch fell back to GetSecretValue"
    } else {
        ""
    };
    let variables = injection.vars.len();
    let (secrets, parameters) = (fetched.secrets, fetched.parameters);
    let sources = match (secrets, parameters) {
        (s, 0) => plural(s, "secret"),
        (0, p) => plural(p, "parameter"),
        (s, p) => format!("{} and {}", plural(s, "secret"), plural(p, "parameter")),
    };
    log.info(
        &format!(
            "injected {} from {sources}, {}{fell_back}, {elapsed} ms",
            plural(variables, "variable"),
            plural(fetched.requests as usize, "request"),
        ),
        &[
            Field::Num("variables", variables as u64),
            Field::Num("secrets", secrets as u64),
            Field::Num("parameters", parameters as u64),
            Field::Num("requests", u64::from(fetched.requests)),
            Field::Num("elapsed_ms", elapsed),
        ],
    );
}
