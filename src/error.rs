//! Failures and the exit codes they map to (SPEC "Exit codes").
//!
//! A `Failure` carries a message that is safe to print: it is built only from names, ids, AWS error
//! codes, request ids and AWS's own error messages, never from a secret value.

/// The documented exit codes, used only when the command is not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// 77: no credentials, access denied, bad signature, expired token, `DecryptionFailure`.
    Permission,
    /// 78: bad `LAMBDA_SECRETS` or option, no region, bad endpoint, a secret that does not exist
    /// or cannot be read in its state.
    Config,
    /// 65: a secret is not what its reference needs.
    Data,
    /// 69: network, TLS, throttling or service errors still failing at the deadline or after the
    /// last attempt, and any AWS error code not named in SPEC's table.
    Unavailable,
    /// 64: no command, unknown option.
    Usage,
    /// 126: the command exists but cannot be executed.
    NotExecutable,
    /// 127: the command was not found.
    NotFound,
}

impl Class {
    pub fn code(self) -> u8 {
        match self {
            Class::Usage => 64,
            Class::Data => 65,
            Class::Unavailable => 69,
            Class::Permission => 77,
            Class::Config => 78,
            Class::NotExecutable => 126,
            Class::NotFound => 127,
        }
    }
}

/// One reportable problem.
#[derive(Debug, Clone)]
pub struct Failure {
    pub class: Class,
    pub message: String,
}

impl Failure {
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        Failure {
            class,
            message: message.into(),
        }
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Class::Config, message)
    }
}

/// The exit code for a set of failures: the first of 77, 78, 65, 69 that applies (the `Ord` of
/// `Class` is that order).
pub fn exit_class(failures: &[Failure]) -> Class {
    failures
        .iter()
        .map(|f| f.class)
        .min()
        .unwrap_or(Class::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_priority() {
        let f = |c| Failure::new(c, "x");
        let cases = [
            (vec![Class::Unavailable, Class::Data], 65),
            (vec![Class::Data, Class::Config], 78),
            (
                vec![Class::Unavailable, Class::Permission, Class::Config],
                77,
            ),
            (vec![Class::Unavailable], 69),
        ];
        for (classes, code) in cases {
            let failures: Vec<_> = classes.into_iter().map(f).collect();
            assert_eq!(exit_class(&failures).code(), code);
        }
    }
}
