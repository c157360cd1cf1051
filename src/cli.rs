//! The command line (README, "Invocation"): our options come first, then the command, which is
//! passed through untouched.

use crate::error::Error;
use std::ffi::OsString;

pub const HELP: &str = "\
lambda-secrets: fetch AWS Secrets Manager secrets and SSM parameters into the environment,
then exec a command.

Usage:
  lambda-secrets [--] COMMAND [ARGS...]   fetch, inject, then exec COMMAND in place (same PID)
  lambda-secrets --check                  fetch everything, print what would be set (names, never values)
  lambda-secrets --help | --version

Configuration is read from the environment:
  LAMBDA_SECRETS               JSON: {\"VAR\": \"SECRET_ID[:JSON_KEY[:VERSION_STAGE[:VERSION_ID]]]\", ...}
                               with parameters as \"ssm:NAME[:SELECTOR]\" or a parameter ARN;
                               or [\"SECRET_ID\", \"ssm:/PATH/\", ...] to expand every key of JSON
                               secrets and parameters, and every parameter directly under a path
  LAMBDA_SECRETS_TIMEOUT_MS    deadline for all fetching (default 5000)
  LAMBDA_SECRETS_CONCURRENCY   requests in flight at once (default 8)
  LAMBDA_SECRETS_BATCH         auto | always | never (default auto)
  LAMBDA_SECRETS_LOG           error | warn | info | debug (default from AWS_LAMBDA_LOG_LEVEL, else info)
  LAMBDA_SECRETS_NEXT_WRAPPER  another exec wrapper to run in between

Exit codes when the command is not started: 64 usage, 65 data, 69 unavailable,
77 permission, 78 configuration, 126 cannot execute, 127 command not found.
";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Mode {
    /// Fetch, inject, then exec this command.
    Exec(Vec<OsString>),
    /// Fetch and print what would be set.
    Check,
    Help,
    Version,
}

/// Our options come first; the command is everything after `--`, or from the first argument that
/// does not start with `-`, passed through untouched.
pub fn parse(args: &[OsString]) -> Result<Mode, Error> {
    let usage = Error::Usage;
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
            "-h" | "--help" => return Ok(Mode::Help),
            "-V" | "--version" => return Ok(Mode::Version),
            s if s.starts_with('-') => return Err(usage(format!("unknown option {s:?}"))),
            _ => break,
        }
        i += 1;
    }
    let command = args[i.min(args.len())..].to_vec();
    match (check, command.is_empty()) {
        (true, false) => Err(usage("--check takes no command".into())),
        (true, true) => Ok(Mode::Check),
        (false, true) => Err(usage("no command given".into())),
        (false, false) => Ok(Mode::Exec(command)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn options_first_then_the_command_untouched() {
        let exec = |a: &[&str]| Mode::Exec(args(a));
        let cases: &[(&[&str], Mode)] = &[
            (
                &["ls", "node", "--expose-gc", "x.js"],
                exec(&["node", "--expose-gc", "x.js"]),
            ),
            (
                &["ls", "--", "-weird", "--check"],
                exec(&["-weird", "--check"]),
            ),
            (&["ls", "--check"], Mode::Check),
            (&["ls", "--help", "x"], Mode::Help),
            (&["ls", "-V"], Mode::Version),
        ];
        for (a, want) in cases {
            assert_eq!(parse(&args(a)).as_ref().ok(), Some(want), "{a:?}");
        }
        for bad in [
            &["ls"][..],
            &["ls", "--check", "x"],
            &["ls", "--nope", "x"],
            &["ls", "--"],
        ] {
            let e = parse(&args(bad)).unwrap_err();
            assert_eq!(e.class(), crate::error::Class::Usage, "{bad:?}");
        }
    }
}
