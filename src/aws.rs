//! What every AWS service we call shares: the awsJson 1.1 protocol (headers, error replies) and
//! the error codes that decide what is retried and which exit code a failure gets.
//!
//! `Service` is the seam between services: its names (signing, endpoint, target prefix, endpoint
//! variable) and its own error codes. A service's wire format (bodies and replies) lives in its
//! own module (`sm.rs`).

use crate::error::{Class, Error, Kind};
use crate::http::Reply;
use serde_json::Value;
use std::time::SystemTime;

/// The AWS services lambda-secrets calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    SecretsManager,
    /// Systems Manager Parameter Store.
    Ssm,
}

impl Service {
    /// The SigV4 signing name.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "ssm",
        }
    }
    /// The first label of the service's host name (`-fips` is added after it).
    pub fn endpoint_prefix(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "ssm",
        }
    }
    /// The service-specific endpoint URL variable, read before `AWS_ENDPOINT_URL`.
    pub fn endpoint_variable(self) -> &'static str {
        match self {
            Service::SecretsManager => "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            Service::Ssm => "AWS_ENDPOINT_URL_SSM",
        }
    }
    /// The prefix of `X-Amz-Target`.
    fn target_prefix(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "AmazonSSM",
        }
    }
    /// Codes that mean the reference names nothing readable: configuration (78).
    fn config_codes(self) -> &'static [&'static str] {
        match self {
            Service::SecretsManager => &[
                "ResourceNotFoundException",
                "InvalidRequestException",
                "InvalidParameterException",
            ],
            Service::Ssm => &[
                "ParameterNotFound",
                "ParameterVersionNotFound",
                "ParameterVersionLabelNotFound",
                "ValidationException",
            ],
        }
    }
    /// Codes that mean the role may not use what it needs: permission (77), beyond the codes
    /// every service shares. For SSM, a `SecureString` whose KMS key cannot be used: denied
    /// (`AccessDeniedException`), or disabled, pending deletion or gone (`InvalidKeyId`, and the
    /// KMS codes SSM passes on).
    fn permission_codes(self) -> &'static [&'static str] {
        match self {
            Service::SecretsManager => &[],
            Service::Ssm => &[
                "InvalidKeyId",
                "KMSAccessDeniedException",
                "KMSDisabledException",
                "KMSInvalidStateException",
                "KMSNotFoundException",
            ],
        }
    }

    /// Classifies by AWS error code first; the HTTP status decides only when the code is unknown.
    pub fn classify(self, code: &str, status: u16) -> Kind {
        if THROTTLING.contains(&code) {
            Kind::Throttled
        } else if TRANSIENT.contains(&code) {
            Kind::Transient
        } else if PERMISSION.contains(&code) || self.permission_codes().contains(&code) {
            Kind::Fatal(Class::Permission)
        } else if self.config_codes().contains(&code) {
            Kind::Fatal(Class::Config)
        } else if status == 429 {
            Kind::Throttled
        } else if status >= 500 {
            Kind::Transient
        } else {
            Kind::Fatal(Class::Unavailable)
        }
    }
}

/// One operation of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub service: Service,
    pub name: &'static str,
}

impl Operation {
    /// The headers of an awsJson 1.1 call, lower case, as signed and sent.
    pub fn headers(self) -> Vec<(String, String)> {
        vec![
            (
                "content-type".to_string(),
                "application/x-amz-json-1.1".to_string(),
            ),
            (
                "x-amz-target".to_string(),
                format!("{}.{}", self.service.target_prefix(), self.name),
            ),
        ]
    }
}

/// An error reply of `service`, read the way smithy-rs reads it (`X-Amzn-Errortype`, then `code`,
/// then `__type`), and also as the IAM-style XML some endpoints answer auth failures with.
pub fn parse_error(service: Service, reply: &Reply) -> Error {
    let mut code = reply.error_type.clone().unwrap_or_default();
    let mut message = String::new();
    let mut request_id = reply.request_id.clone();
    if let Ok(v) = serde_json::from_slice::<Value>(&reply.body) {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        if code.is_empty() {
            code = text("code").or_else(|| text("__type")).unwrap_or_default();
        }
        message = text("message")
            .or_else(|| text("Message"))
            .or_else(|| text("errorMessage"))
            .unwrap_or_default();
    } else if let Ok(body) = std::str::from_utf8(&reply.body) {
        let tag = |t: &str| {
            let open = format!("<{t}>");
            let start = body.find(&open)? + open.len();
            let end = body[start..].find("</")? + start;
            Some(body[start..end].to_string())
        };
        if code.is_empty() {
            code = tag("Code").unwrap_or_default();
        }
        message = tag("Message").unwrap_or_default();
        request_id = request_id
            .or_else(|| tag("RequestId").map(|id| clean_id(&id)))
            .filter(|id| !id.is_empty());
    }
    let code = clean_code(&code);
    let code = if code.is_empty() {
        format!("HTTP {}", reply.status)
    } else {
        code
    };
    let mut message = clean_message(&message);
    if let Some(skew) = reply
        .server_date
        .filter(|_| crate::error::is_clock_skew_code(&code))
        .map(|date| clock_skew(SystemTime::now(), date))
    {
        if !message.is_empty() {
            message.push_str("; ");
        }
        message.push_str(&skew);
    }
    Error::Service {
        kind: service.classify(&code, reply.status),
        code,
        message,
        request_id,
        retry_after_ms: reply.retry_after_ms,
    }
}

/// `aws.protocoltests#Name:http://...` -> `Name`.
pub fn clean_code(code: &str) -> String {
    let code = code.split(':').next().unwrap_or_default();
    let code = code.rsplit('#').next().unwrap_or_default();
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
        .take(100)
        .collect()
}

/// An id the server chose (a request id from a header or an XML error body, a version id, a
/// parameter version), fit to print: the characters ids are made of (letters, digits, `-_.:/+=`), at
/// most 128, so it cannot break a line or a `--check` column.
pub fn clean_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.:/+=".contains(*c))
        .take(128)
        .collect()
}

/// How far our clock is from the server's, from its `Date` header (one-second resolution): "the
/// clock is 7 min 12 s behind the server's", or that they agree.
pub fn clock_skew(now: SystemTime, server: SystemTime) -> String {
    let (behind, d) = match server.duration_since(now) {
        Ok(d) => (true, d),
        Err(e) => (false, e.duration()),
    };
    let s = d.as_secs();
    if s < 5 {
        return "the clock agrees with the server's Date header (within 5 s)".to_string();
    }
    let amount = match (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60) {
        (0, 0, 0, sec) => format!("{sec} s"),
        (0, 0, m, sec) => format!("{m} min {sec} s"),
        (0, h, m, _) => format!("{h} h {m} min"),
        (days, h, _, _) => format!("{days} d {h} h"),
    };
    let side = if behind { "behind" } else { "ahead of" };
    format!("the clock is {amount} {side} the server's")
}

/// One line, bounded: AWS messages are printed, so keep them printable.
pub fn clean_message(m: &str) -> String {
    m.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
];

const TRANSIENT: &[&str] = &[
    "InternalServiceError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
];

const PERMISSION: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
    "RequestExpired",
    "AuthFailure",
    "DecryptionFailure",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, error_type: Option<&str>, body: &str) -> Reply {
        Reply {
            status,
            request_id: Some("req-1".into()),
            error_type: error_type.map(Into::into),
            retry_after_ms: None,
            server_date: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn error_codes_are_read_like_smithy() {
        let cases = [
            (
                reply(
                    400,
                    None,
                    r#"{"__type":"ResourceNotFoundException","Message":"gone"}"#,
                ),
                "ResourceNotFoundException",
                "gone",
            ),
            (
                reply(
                    400,
                    None,
                    r#"{"__type":"com.amazonaws.secretsmanager#DecryptionFailure","message":"kms"}"#,
                ),
                "DecryptionFailure",
                "kms",
            ),
            (
                reply(
                    400,
                    Some("ThrottlingException:http://internal.amazon.com/"),
                    r#"{"__type":"Other"}"#,
                ),
                "ThrottlingException",
                "",
            ),
            (
                reply(
                    400,
                    None,
                    r#"{"code":"AccessDeniedException","__type":"x","errorMessage":"no"}"#,
                ),
                "AccessDeniedException",
                "no",
            ),
            (
                reply(
                    403,
                    None,
                    "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message></Error><RequestId>r2</RequestId></ErrorResponse>",
                ),
                "SignatureDoesNotMatch",
                "bad sig",
            ),
            (reply(503, None, "<html>busy</html>"), "HTTP 503", ""),
            (reply(500, None, ""), "HTTP 500", ""),
        ];
        for (r, want_code, want_message) in cases {
            let Error::Service {
                code,
                message,
                request_id,
                ..
            } = parse_error(Service::SecretsManager, &r)
            else {
                panic!("not a service error")
            };
            assert_eq!((code.as_str(), message.as_str()), (want_code, want_message));
            assert_eq!(request_id.as_deref(), Some("req-1"));
        }
    }

    #[test]
    fn server_text_is_cleaned_and_capped() {
        let mut r = reply(
            403,
            None,
            &format!(
                "<Error><Code>AccessDenied</Code></Error><RequestId>{}\nforged\u{7}</RequestId>",
                "r".repeat(20_000)
            ),
        );
        r.request_id = None;
        let e = parse_error(Service::SecretsManager, &r);
        let id = e.request_id().unwrap();
        assert_eq!(id.len(), 128);
        assert!(id.bytes().all(|b| b == b'r'));
        assert_eq!(clean_id("a\tb\u{7}c-1/2=+"), "abc-1/2=+");
    }

    #[test]
    fn clock_skew_in_words() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        let s = |d: u64| std::time::Duration::from_secs(d);
        assert_eq!(
            clock_skew(t, t + s(432)),
            "the clock is 7 min 12 s behind the server's"
        );
        assert_eq!(
            clock_skew(t + s(9), t),
            "the clock is 9 s ahead of the server's"
        );
        assert_eq!(
            clock_skew(t, t + s(3 * 3600 + 120)),
            "the clock is 3 h 2 min behind the server's"
        );
        assert_eq!(
            clock_skew(t + s(2 * 86_400 + 3600), t),
            "the clock is 2 d 1 h ahead of the server's"
        );
        assert!(clock_skew(t, t + s(2)).starts_with("the clock agrees"));
        let mut r = reply(400, None, r#"{"__type":"RequestExpired","message":"late"}"#);
        r.server_date = Some(SystemTime::now() + s(3600 + 61));
        let text = parse_error(Service::SecretsManager, &r).to_string();
        assert!(
            text.contains(
                "late; the clock is 1 h 1 min behind the server's; the signature was refused"
            ),
            "{text}"
        );
        r.body = br#"{"__type":"AccessDeniedException"}"#.to_vec();
        assert!(
            !parse_error(Service::SecretsManager, &r)
                .to_string()
                .contains("clock")
        );
    }

    #[test]
    fn classification_by_code_not_status() {
        use Class::*;
        let cases = [
            ("ThrottlingException", 400, Kind::Throttled),
            ("InternalServiceError", 400, Kind::Transient),
            ("InternalServiceError", 500, Kind::Transient),
            ("InternalFailure", 500, Kind::Transient),
            ("ServiceUnavailable", 503, Kind::Transient),
            ("HTTP 502", 502, Kind::Transient),
            ("HTTP 429", 429, Kind::Throttled),
            ("AccessDeniedException", 400, Kind::Fatal(Permission)),
            ("AccessDeniedException", 500, Kind::Fatal(Permission)),
            ("DecryptionFailure", 400, Kind::Fatal(Permission)),
            ("ExpiredTokenException", 400, Kind::Fatal(Permission)),
            ("UnrecognizedClientException", 400, Kind::Fatal(Permission)),
            ("ResourceNotFoundException", 400, Kind::Fatal(Config)),
            ("InvalidRequestException", 400, Kind::Fatal(Config)),
            ("InvalidParameterException", 400, Kind::Fatal(Config)),
            ("SomethingNew", 400, Kind::Fatal(Unavailable)),
        ];
        for (code, status, kind) in cases {
            assert_eq!(
                Service::SecretsManager.classify(code, status),
                kind,
                "{code} {status}"
            );
        }
        let ssm = [
            ("ThrottlingException", 400, Kind::Throttled),
            ("InternalServerError", 500, Kind::Transient),
            ("AccessDeniedException", 400, Kind::Fatal(Permission)),
            ("InvalidKeyId", 400, Kind::Fatal(Permission)),
            ("ParameterNotFound", 400, Kind::Fatal(Config)),
            ("ParameterVersionNotFound", 400, Kind::Fatal(Config)),
            ("ParameterVersionLabelNotFound", 400, Kind::Fatal(Config)),
            ("ValidationException", 400, Kind::Fatal(Config)),
            ("InvalidNextToken", 400, Kind::Fatal(Unavailable)),
            // Secrets Manager's own codes mean nothing from SSM, and the reverse.
            ("ResourceNotFoundException", 400, Kind::Fatal(Unavailable)),
        ];
        for (code, status, kind) in ssm {
            assert_eq!(
                Service::Ssm.classify(code, status),
                kind,
                "ssm {code} {status}"
            );
        }
        assert_eq!(
            Service::SecretsManager.classify("ParameterNotFound", 400),
            Kind::Fatal(Unavailable)
        );
    }

    #[test]
    fn targets() {
        let op = Operation {
            service: Service::SecretsManager,
            name: "GetSecretValue",
        };
        assert_eq!(op.headers()[1].1, "secretsmanager.GetSecretValue");
        let op = Operation {
            service: Service::Ssm,
            name: "GetParameters",
        };
        assert_eq!(op.headers()[1].1, "AmazonSSM.GetParameters");
    }
}
