//! Secrets Manager's wire format: the two operations, their request bodies, their replies, and
//! how a batch reply settles each secret it was asked for (README, "Fetching").
//!
//! A reply's secret material goes straight into `Sensitive`; nothing here formats it.

use crate::aws::{self, Operation, Service};
use crate::config::Version;
use crate::error::{Error, Kind};
use crate::sensitive::Sensitive;
use crate::values::Payload;
use serde_json::Value;

pub const GET: Operation = Operation {
    service: Service::SecretsManager,
    name: "GetSecretValue",
};
pub const BATCH: Operation = Operation {
    service: Service::SecretsManager,
    name: "BatchGetSecretValue",
};
/// AWS's cap on ids in one `BatchGetSecretValue` call.
pub const BATCH_MAX: usize = 20;

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

fn malformed(why: &'static str) -> Error {
    Error::Malformed {
        why,
        request_id: None,
    }
}

fn secret_value(v: &mut Value) -> Result<SecretValue, Error> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let take = |v: &mut Value, k: &str| match v.get_mut(k) {
        Some(Value::String(s)) => Some(Sensitive::new(std::mem::take(s))),
        _ => None,
    };
    let payload = match take(v, "SecretString") {
        Some(s) => Payload::String(s),
        None => match take(v, "SecretBinary") {
            Some(b) => Payload::Binary(b),
            None => {
                return Err(malformed(
                    "a secret in the reply has neither SecretString nor SecretBinary",
                ));
            }
        },
    };
    Ok(SecretValue {
        arn: text(v, "ARN").unwrap_or_default(),
        name: text(v, "Name").unwrap_or_default(),
        version_id: aws::clean_id(&text(v, "VersionId").unwrap_or_default()),
        payload,
    })
}

/// Parses a `GetSecretValue` success body.
pub fn parse_get(body: &[u8]) -> Result<SecretValue, Error> {
    let mut v: Value =
        serde_json::from_slice(body).map_err(|_| malformed("the reply is not valid JSON"))?;
    if !v.is_object() {
        return Err(malformed("the reply is not a JSON object"));
    }
    secret_value(&mut v)
}

/// Parses a `BatchGetSecretValue` success body.
pub fn parse_batch(body: &[u8]) -> Result<BatchReply, Error> {
    let mut v: Value =
        serde_json::from_slice(body).map_err(|_| malformed("the reply is not valid JSON"))?;
    let mut values = Vec::new();
    if let Some(list) = v.get_mut("SecretValues").and_then(Value::as_array_mut) {
        for item in list {
            values.push(secret_value(item)?);
        }
    } else if !v.is_object() {
        return Err(malformed("the reply is not a JSON object"));
    }
    let mut errors = Vec::new();
    if let Some(list) = v.get("Errors").and_then(Value::as_array) {
        for e in list {
            let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
            errors.push(EntryError {
                secret_id: text("SecretId").to_string(),
                code: aws::clean_code(text("ErrorCode")),
                message: aws::clean_message(text("Message")),
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

/// What a batch reply says about one secret it was asked for.
#[derive(Debug)]
pub enum Entry {
    Value(SecretValue),
    Failed(Error),
    /// Read it alone with `GetSecretValue`: throttled or transient for this entry, refused
    /// (`BatchGetSecretValue` is not among the operations AWS allows across accounts), or
    /// missing from the reply.
    Alone,
}

/// Settles each of `ids` (the secret ids asked for, in order) from a batch reply.
pub fn settle_batch(ids: &[&str], reply: BatchReply, request_id: Option<&str>) -> Vec<Entry> {
    let mut values: Vec<Option<SecretValue>> = reply.values.into_iter().map(Some).collect();
    ids.iter()
        .map(|&id| {
            if let Some(v) = values
                .iter_mut()
                .find(|v| v.as_ref().is_some_and(|v| names(id, v)))
                .and_then(Option::take)
            {
                return Entry::Value(v);
            }
            let Some(e) = reply.errors.iter().find(|e| e.secret_id == id) else {
                return Entry::Alone;
            };
            match Service::SecretsManager.classify(&e.code, 200) {
                Kind::Fatal(_) if e.code == "AccessDeniedException" => Entry::Alone,
                kind @ Kind::Fatal(_) => Entry::Failed(Error::Service {
                    code: e.code.clone(),
                    message: e.message.clone(),
                    request_id: request_id.map(str::to_string),
                    kind,
                    retry_after_ms: None,
                }),
                Kind::Throttled | Kind::Transient => Entry::Alone,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Class;

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

    #[test]
    fn batch_settlement() {
        let body = br#"{"SecretValues":[
            {"ARN":"arn:aws:secretsmanager:r:1:secret:a-AbCdEf","Name":"a","VersionId":"v1","SecretString":"x"},
            {"ARN":"arn:aws:secretsmanager:r:1:secret:b-AbCdEf","Name":"b","VersionId":"v2","SecretString":"y"}],
            "Errors":[
            {"SecretId":"gone","ErrorCode":"ResourceNotFoundException","Message":"no"},
            {"SecretId":"kms","ErrorCode":"DecryptionFailure","Message":"key"},
            {"SecretId":"denied","ErrorCode":"AccessDeniedException","Message":"no"},
            {"SecretId":"slow","ErrorCode":"ThrottlingException","Message":"later"},
            {"SecretId":"odd","ErrorCode":"InternalServiceError","Message":"oops"}]}"#;
        let ids = [
            "arn:aws:secretsmanager:r:1:secret:b",
            "gone",
            "kms",
            "denied",
            "slow",
            "odd",
            "absent",
            "a",
        ];
        let entries = settle_batch(&ids, parse_batch(body).unwrap(), Some("req-9"));
        let shape: Vec<String> = entries
            .iter()
            .map(|e| match e {
                Entry::Value(v) => format!("value {}", v.version_id),
                Entry::Failed(e) => format!("{:?} {e}", e.class()),
                Entry::Alone => "alone".into(),
            })
            .collect();
        assert_eq!(
            shape,
            [
                "value v2",
                "Config ResourceNotFoundException (request id req-9): no",
                "Permission DecryptionFailure (request id req-9): key",
                "alone",
                "alone",
                "alone",
                "alone",
                "value v1",
            ]
        );
        // A value is used once, even when two ids name it.
        let body = br#"{"SecretValues":[{"ARN":"arn:aws:secretsmanager:r:1:secret:a-AbCdEf","Name":"a","SecretString":"x"}]}"#;
        let twice = settle_batch(&["a", "a"], parse_batch(body).unwrap(), None);
        assert!(matches!(twice[0], Entry::Value(_)) && matches!(twice[1], Entry::Alone));
        let _ = Class::Config;
    }
}
