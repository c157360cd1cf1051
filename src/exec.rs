//! Replacing this process with the command: same PID, so signals, stdio and the process tree
//! belong to the runtime. The environment is built as a value and handed to `execve`; this
//! process's own environment is never modified (`set_var` is unsound once threads have run).

use crate::error::Error;
use crate::sensitive::Sensitive;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Execs `argv` (through `next_wrapper` when set) with the current environment plus `vars`,
/// which replace variables of the same name. Returns only on failure.
pub fn exec(
    argv: &[OsString],
    next_wrapper: Option<&OsStr>,
    vars: Vec<(String, Sensitive)>,
) -> Error {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !vars.iter().any(|(n, _)| OsStr::new(n) == k))
        .collect();
    env.extend(
        vars.into_iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v.into_inner()))),
    );
    let (program, args): (&OsStr, &[OsString]) = match next_wrapper {
        Some(w) => (w, argv),
        None => (&argv[0], &argv[1..]),
    };
    let err = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env)
        .exec();
    let shown = program.to_string_lossy();
    match (err.kind(), err.raw_os_error()) {
        (std::io::ErrorKind::NotFound, _) => Error::NotFound(format!("command not found: {shown}")),
        (_, Some(7)) => Error::NotExecutable(format!(
            "cannot start {shown}: argument list and environment too large (E2BIG); the secrets may be too big for the environment"
        )),
        _ => Error::NotExecutable(format!("cannot execute {shown}: {err}")),
    }
}
