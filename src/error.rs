//! `Error`: every failure the program can report, classified, and the exit codes they map to
//! (README, "Exit codes").
//!
//! Every layer returns this one type. Its `Display` is the text printed on the failure's log line;
//! it is built only from names, ids, AWS error codes, request ids and AWS's own (cleaned) error
//! messages, never from a secret value. The exit class is derived from the variant, never stored
//! beside it.

use std::fmt;

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
    /// last attempt, and any AWS error code not named in the README's table.
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

/// What an AWS error code means for the request that got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Retry with the throttling backoff.
    Throttled,
    /// Retry with the ordinary backoff.
    Transient,
    /// Do not retry; fail with this class.
    Fatal(Class),
}

/// One reportable problem.
#[derive(Debug, Clone)]
pub enum Error {
    /// The arguments: no command, an unknown option (64).
    Usage(String),
    /// `LAMBDA_SECRETS`, an option, the region, an endpoint, the CA bundle, a proxy (78).
    Config(String),
    /// A secret is not what its reference needs (65).
    Data(String),
    /// No usable credentials, a request that cannot be signed, a refused token (77).
    Permission(String),
    /// A failure with no AWS error code that retrying cannot help (69).
    Unavailable(String),
    /// The service answered with an error code.
    Service {
        code: String,
        message: String,
        request_id: Option<String>,
        /// What the code means, from the service's table (`aws::classify`).
        kind: Kind,
        /// `x-amz-retry-after`, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// A 200 reply that could not be read.
    Malformed {
        why: &'static str,
        request_id: Option<String>,
    },
    /// A non-AWS endpoint (the container credentials endpoint) answered with this status.
    Status {
        status: u16,
        retry_after_ms: Option<u64>,
    },
    /// The request got no complete reply.
    Transport { retryable: bool, message: String },
    /// The deadline had passed before the request could be made.
    Deadline,
    /// Still failing when the retries stopped.
    GaveUp {
        last: Box<Error>,
        attempts: u32,
        /// The deadline stopped them, rather than `AWS_MAX_ATTEMPTS`.
        at_deadline: bool,
    },
    /// `inner`, about `context` (a variable and its secret, an operation, an endpoint).
    Context { context: String, inner: Box<Error> },
    /// The command was not found (127).
    NotFound(String),
    /// The command could not be executed (126).
    NotExecutable(String),
}

/// Whether another attempt may help, and with which backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retryable {
    No,
    Yes,
    Throttled,
}

impl Error {
    /// `inner` about `context`: printed as `context: inner`.
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            inner: Box::new(self),
        }
    }

    pub fn class(&self) -> Class {
        match self {
            Error::Usage(_) => Class::Usage,
            Error::Config(_) => Class::Config,
            Error::Data(_) => Class::Data,
            Error::Permission(_) => Class::Permission,
            Error::Service {
                kind: Kind::Fatal(class),
                ..
            } => *class,
            Error::Context { inner, .. } => inner.class(),
            Error::NotFound(_) => Class::NotFound,
            Error::NotExecutable(_) => Class::NotExecutable,
            Error::Unavailable(_)
            | Error::Service { .. }
            | Error::Malformed { .. }
            | Error::Status { .. }
            | Error::Transport { .. }
            | Error::Deadline
            | Error::GaveUp { .. } => Class::Unavailable,
        }
    }

    pub fn retryable(&self) -> Retryable {
        match self {
            Error::Service {
                kind: Kind::Throttled,
                ..
            } => Retryable::Throttled,
            Error::Service {
                kind: Kind::Transient,
                ..
            }
            | Error::Malformed { .. }
            | Error::Transport {
                retryable: true, ..
            } => Retryable::Yes,
            Error::Status { status, .. } if *status >= 500 || *status == 429 => Retryable::Yes,
            Error::Context { inner, .. } => inner.retryable(),
            _ => Retryable::No,
        }
    }

    /// The server's `x-amz-retry-after`, when it sent one.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Error::Service { retry_after_ms, .. } | Error::Status { retry_after_ms, .. } => {
                *retry_after_ms
            }
            Error::Context { inner, .. } => inner.retry_after_ms(),
            _ => None,
        }
    }

    /// The AWS error code, when the service sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Service { code, .. } => Some(code),
            Error::Context { inner, .. } | Error::GaveUp { last: inner, .. } => inner.code(),
            _ => None,
        }
    }

    /// The request id of the reply that carried the error, when there was one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Service { request_id, .. } | Error::Malformed { request_id, .. } => {
                request_id.as_deref()
            }
            Error::Context { inner, .. } | Error::GaveUp { last: inner, .. } => inner.request_id(),
            _ => None,
        }
    }

    /// A malformed reply's request id, known only once the reply is read.
    pub fn with_request_id(self, id: Option<String>) -> Error {
        match self {
            Error::Malformed { why, .. } => Error::Malformed {
                why,
                request_id: id,
            },
            other => other,
        }
    }

    /// A short label for debug lines: the AWS code, or what kind of failure it was.
    pub fn label(&self) -> &str {
        match self {
            Error::Service { code, .. } => code,
            Error::Malformed { .. } => "MalformedReply",
            Error::Transport { .. } => "RequestFailed",
            Error::Deadline => "DeadlineExceeded",
            Error::Status { .. } => "HTTP",
            Error::Context { inner, .. } | Error::GaveUp { last: inner, .. } => inner.label(),
            _ => "",
        }
    }

    /// Access refused to the resource, as opposed to credentials that are wrong everywhere.
    pub fn is_access_denied(&self) -> bool {
        matches!(self.code(), Some("AccessDeniedException" | "AccessDenied"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let request_id = |f: &mut fmt::Formatter, id: &Option<String>| match id {
            Some(id) => write!(f, " (request id {id})"),
            None => Ok(()),
        };
        match self {
            Error::Usage(m) => write!(f, "{m} (see lambda-secrets --help)"),
            Error::Config(m)
            | Error::Data(m)
            | Error::Permission(m)
            | Error::Unavailable(m)
            | Error::NotFound(m)
            | Error::NotExecutable(m) => f.write_str(m),
            Error::Service {
                code,
                message,
                request_id: id,
                ..
            } => {
                f.write_str(code)?;
                request_id(f, id)?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                if let Some(hint) = clock_hint(code) {
                    write!(f, "; {hint}")?;
                }
                Ok(())
            }
            Error::Malformed {
                why,
                request_id: id,
            } => {
                f.write_str("MalformedReply")?;
                request_id(f, id)?;
                write!(f, ": {why}")
            }
            Error::Status { status, .. } => write!(f, "HTTP {status}"),
            Error::Transport { message, .. } => write!(f, "RequestFailed: {message}"),
            Error::Deadline => f.write_str(
                "DeadlineExceeded: LAMBDA_SECRETS_TIMEOUT_MS ran out before this request could be made",
            ),
            Error::GaveUp {
                last,
                attempts,
                at_deadline,
            } => {
                let attempts = plural(*attempts as usize, "attempt");
                if *at_deadline {
                    write!(
                        f,
                        "{last} (LAMBDA_SECRETS_TIMEOUT_MS ran out after {attempts})"
                    )
                } else {
                    write!(f, "{last} (after {attempts})")
                }
            }
            Error::Context { context, inner } => write!(f, "{context}: {inner}"),
        }
    }
}

/// The codes AWS answers a wrong clock with (the AWS SDK for JavaScript v3's clock-skew list).
pub fn is_clock_skew_code(code: &str) -> bool {
    matches!(
        code,
        "RequestExpired"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "AuthFailure"
            | "RequestInTheFuture"
            | "RequestTimeTooSkewed"
    )
}

/// A hint for errors that a wrong clock causes. The message already says how far off the clock
/// is when the reply had a `Date` header (`aws::parse_error`).
fn clock_hint(code: &str) -> Option<&'static str> {
    is_clock_skew_code(code).then_some(
        "the signature was refused: check the secret access key, and the system clock, which may be wrong",
    )
}

/// `1 attempt`, `3 attempts`: a count and its noun, pluralised in English.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Lets `?` turn one error into the list a step returns.
impl From<Error> for Vec<Error> {
    fn from(e: Error) -> Self {
        vec![e]
    }
}

/// The exit code for a set of failures: the first of 77, 78, 65, 69 that applies (the `Ord` of
/// `Class` is that order).
pub fn exit_class(errors: &[Error]) -> Class {
    errors
        .iter()
        .map(Error::class)
        .min()
        .unwrap_or(Class::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_priority() {
        let of = |c| match c {
            Class::Permission => Error::Permission("x".into()),
            Class::Config => Error::Config("x".into()),
            Class::Data => Error::Data("x".into()),
            _ => Error::Unavailable("x".into()),
        };
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
            let errors: Vec<_> = classes.into_iter().map(of).collect();
            assert_eq!(exit_class(&errors).code(), code);
        }
    }

    #[test]
    fn classes_and_text_compose() {
        let throttled = Error::Service {
            code: "ThrottlingException".into(),
            message: "slow down".into(),
            request_id: Some("r1".into()),
            kind: Kind::Throttled,
            retry_after_ms: Some(50),
        };
        assert_eq!(throttled.retryable(), Retryable::Throttled);
        assert_eq!(throttled.retry_after_ms(), Some(50));
        let gave_up = Error::GaveUp {
            last: Box::new(throttled),
            attempts: 3,
            at_deadline: false,
        }
        .context("A from secret s");
        assert_eq!(gave_up.class(), Class::Unavailable);
        assert_eq!(gave_up.retryable(), Retryable::No);
        assert_eq!(
            gave_up.to_string(),
            "A from secret s: ThrottlingException (request id r1): slow down (after 3 attempts)"
        );
        let denied = Error::Service {
            code: "AccessDeniedException".into(),
            message: String::new(),
            request_id: None,
            kind: Kind::Fatal(Class::Permission),
            retry_after_ms: None,
        }
        .context("BatchGetSecretValue");
        assert!(denied.is_access_denied());
        assert_eq!(denied.class(), Class::Permission);
        assert_eq!(
            denied.to_string(),
            "BatchGetSecretValue: AccessDeniedException"
        );
        let t = Error::Transport {
            retryable: true,
            message: "timed out".into(),
        };
        let at = Error::GaveUp {
            last: Box::new(t),
            attempts: 1,
            at_deadline: true,
        };
        assert_eq!(
            at.to_string(),
            "RequestFailed: timed out (LAMBDA_SECRETS_TIMEOUT_MS ran out after 1 attempt)"
        );
        assert_eq!(plural(2, "secret"), "2 secrets");
    }
}
