//! The Secrets Manager wire format (awsJson 1.1): request bodies, replies, and the error codes
//! that decide what is retried and which exit code a failure gets.
//!
//! A reply's secret material goes straight into `Sensitive`; nothing here formats it.

use crate::config::Version;
use crate::creds::Sensitive;
use crate::error::Class;
use crate::http::Reply;
use serde_json::Value;

pub const GET: &str = "GetSecretValue";
pub const BATCH: &str = "BatchGetSecretValue";
/// AWS's cap on ids in one `BatchGetSecretValue` call.
pub const BATCH_MAX: usize = 20;

/// The headers of an awsJson 1.1 call, lower case, as signed and sent.
pub fn headers(operation: &str) -> Vec<(String, String)> {
    vec![
        (
            "content-type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        (
            "x-amz-target".to_string(),
            format!("secretsmanager.{operation}"),
        ),
    ]
}

pub fn get_body(secret_id: &str, version: &Version) -> Vec<u8> {
    let mut s = String::from("{\"SecretId\":");
    crate::json::push_str(&mut s, secret_id);
    match version {
        Version::Current => {}
        Version::Stage(stage) => {
            s.push_str(",\"VersionStage\":");
            crate::json::push_str(&mut s, stage);
        }
        Version::Id(id) => {
            s.push_str(",\"VersionId\":");
            crate::json::push_str(&mut s, id);
        }
    }
    s.push('}');
    s.into_bytes()
}

pub fn batch_body(ids: &[&str]) -> Vec<u8> {
    let mut s = String::from("{\"SecretIdList\":[");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        crate::json::push_str(&mut s, id);
    }
    s.push_str("]}");
    s.into_bytes()
}

/// A secret's value as the API returned it.
#[derive(Debug)]
pub enum Payload {
    String(Sensitive),
    /// `SecretBinary`, still base64 as on the wire.
    Binary(Sensitive),
}

#[derive(Debug)]
pub struct SecretValue {
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub payload: Payload,
}

/// A per-secret entry of a batch reply's `Errors[]`.
#[derive(Debug)]
pub struct EntryError {
    pub secret_id: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug)]
pub struct BatchReply {
    pub values: Vec<SecretValue>,
    pub errors: Vec<EntryError>,
}

fn secret_value(v: &mut Value) -> Result<SecretValue, &'static str> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let take = |v: &mut Value, k: &str| match v.get_mut(k) {
        Some(Value::String(s)) => Some(Sensitive::new(std::mem::take(s))),
        _ => None,
    };
    let payload = match take(v, "SecretString") {
        Some(s) => Payload::String(s),
        None => match take(v, "SecretBinary") {
            Some(b) => Payload::Binary(b),
            None => return Err("a secret in the reply has neither SecretString nor SecretBinary"),
        },
    };
    Ok(SecretValue {
        arn: text(v, "ARN").unwrap_or_default(),
        name: text(v, "Name").unwrap_or_default(),
        version_id: text(v, "VersionId").unwrap_or_default(),
        payload,
    })
}

/// Parses a `GetSecretValue` success body.
pub fn parse_get(body: &[u8]) -> Result<SecretValue, &'static str> {
    let mut v: Value = serde_json::from_slice(body).map_err(|_| "the reply is not valid JSON")?;
    if !v.is_object() {
        return Err("the reply is not a JSON object");
    }
    secret_value(&mut v)
}

/// Parses a `BatchGetSecretValue` success body.
pub fn parse_batch(body: &[u8]) -> Result<BatchReply, &'static str> {
    let mut v: Value = serde_json::from_slice(body).map_err(|_| "the reply is not valid JSON")?;
    let mut values = Vec::new();
    if let Some(list) = v.get_mut("SecretValues").and_then(Value::as_array_mut) {
        for item in list {
            values.push(secret_value(item)?);
        }
    } else if !v.is_object() {
        return Err("the reply is not a JSON object");
    }
    let mut errors = Vec::new();
    if let Some(list) = v.get("Errors").and_then(Value::as_array) {
        for e in list {
            let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
            errors.push(EntryError {
                secret_id: text("SecretId").to_string(),
                code: clean_code(text("ErrorCode")),
                message: clean_message(text("Message")),
            });
        }
    }
    Ok(BatchReply { values, errors })
}

/// Whether `requested` (a name, partial ARN or full ARN as sent) names `value`.
pub fn names(requested: &str, value: &SecretValue) -> bool {
    requested == value.name
        || requested == value.arn
        || (requested.starts_with("arn:")
            && value.arn.len() == requested.len() + 7
            && value.arn.starts_with(requested)
            && value.arn.as_bytes()[requested.len()] == b'-')
}

/// An error reply from Secrets Manager.
#[derive(Debug, Clone)]
pub struct AwsError {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub retry_after_ms: Option<u64>,
}

/// Reads the error code the way smithy-rs does (`X-Amzn-Errortype`, then `code`, then `__type`),
/// and also the IAM-style XML some endpoints answer auth failures with.
pub fn parse_error(reply: &Reply) -> AwsError {
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
        request_id = request_id.or_else(|| tag("RequestId"));
    }
    let code = clean_code(&code);
    AwsError {
        code: if code.is_empty() {
            format!("HTTP {}", reply.status)
        } else {
            code
        },
        message: clean_message(&message),
        request_id,
        retry_after_ms: reply.retry_after_ms,
    }
}

/// `aws.protocoltests#Name:http://...` -> `Name`.
fn clean_code(code: &str) -> String {
    let code = code.split(':').next().unwrap_or_default();
    let code = code.rsplit('#').next().unwrap_or_default();
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
        .take(100)
        .collect()
}

/// One line, bounded: AWS messages are printed, so keep them printable.
fn clean_message(m: &str) -> String {
    let one_line: String = m
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    one_line
}

/// What to do about an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Retry with the throttling backoff.
    Throttled,
    /// Retry with the ordinary backoff.
    Transient,
    /// Do not retry; fail with this class.
    Fatal(Class),
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

const CONFIG: &[&str] = &[
    "ResourceNotFoundException",
    "InvalidRequestException",
    "InvalidParameterException",
];

/// Classifies by AWS error code first; the HTTP status decides only when the code is unknown.
pub fn classify(code: &str, status: u16) -> Kind {
    if THROTTLING.contains(&code) {
        Kind::Throttled
    } else if TRANSIENT.contains(&code) {
        Kind::Transient
    } else if PERMISSION.contains(&code) {
        Kind::Fatal(Class::Permission)
    } else if CONFIG.contains(&code) {
        Kind::Fatal(Class::Config)
    } else if status == 429 {
        Kind::Throttled
    } else if status >= 500 {
        Kind::Transient
    } else {
        Kind::Fatal(Class::Unavailable)
    }
}

/// A hint for errors that a wrong clock causes.
pub fn clock_hint(code: &str) -> Option<&'static str> {
    match code {
        "RequestExpired" | "InvalidSignatureException" | "SignatureDoesNotMatch" => Some(
            "the signature was refused: check the secret access key, and the system clock, which may be wrong",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, error_type: Option<&str>, body: &str) -> Reply {
        Reply {
            status,
            request_id: Some("req-1".into()),
            error_type: error_type.map(Into::into),
            retry_after_ms: None,
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
        for (r, code, message) in cases {
            let e = parse_error(&r);
            assert_eq!((e.code.as_str(), e.message.as_str()), (code, message));
            assert_eq!(e.request_id.as_deref(), Some("req-1"));
        }
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
            assert_eq!(classify(code, status), kind, "{code} {status}");
        }
    }

    #[test]
    fn bodies() {
        assert_eq!(
            get_body("a\"b", &Version::Current),
            br#"{"SecretId":"a\"b"}"#
        );
        assert_eq!(
            get_body("a", &Version::Stage("AWSPREVIOUS".into())),
            br#"{"SecretId":"a","VersionStage":"AWSPREVIOUS"}"#
        );
        assert_eq!(
            get_body("a", &Version::Id("v1".into())),
            br#"{"SecretId":"a","VersionId":"v1"}"#
        );
        assert_eq!(batch_body(&["a", "b"]), br#"{"SecretIdList":["a","b"]}"#);
    }

    #[test]
    fn batch_replies_and_matching() {
        let body = br#"{"SecretValues":[
            {"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:app/db-AbCdEf","Name":"app/db","VersionId":"v1","SecretString":"x"},
            {"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:bin-XyZ123","Name":"bin","VersionId":"v2","SecretBinary":"AAEC"}],
            "Errors":[{"SecretId":"nope","ErrorCode":"ResourceNotFoundException","Message":"can't\nfind"}],
            "NextToken":null}"#;
        let b = parse_batch(body).unwrap();
        assert_eq!(b.values.len(), 2);
        assert!(matches!(b.values[1].payload, Payload::Binary(ref s) if s.expose() == "AAEC"));
        assert_eq!(b.errors[0].message, "can't find");
        let db = &b.values[0];
        assert!(names("app/db", db));
        assert!(names(
            "arn:aws:secretsmanager:us-east-1:1:secret:app/db",
            db
        ));
        assert!(names(
            "arn:aws:secretsmanager:us-east-1:1:secret:app/db-AbCdEf",
            db
        ));
        assert!(!names("app", db));
        assert!(!names("arn:aws:secretsmanager:us-east-1:1:secret:app", db));
        assert!(parse_batch(b"{\"SecretValues\":[{\"Name\":\"x\"}]}").is_err());
        assert!(parse_get(b"{\"SecretString\":").is_err());
    }
}
