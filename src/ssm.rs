//! Parameter Store's wire format (awsJson 1.1, `AmazonSSM.*`): `GetParameters` and
//! `GetParametersByPath` bodies and replies, and how a `GetParameters` reply settles each
//! parameter it was asked for (README, "SSM Parameter Store references").
//!
//! Values are always requested decrypted and go straight into `Sensitive`.

use crate::aws::{self, Operation, Service};
use crate::error::Error;
use crate::sensitive::Sensitive;
use serde_json::Value;

pub const GET_PARAMETERS: Operation = Operation {
    service: Service::Ssm,
    name: "GetParameters",
};
pub const GET_BY_PATH: Operation = Operation {
    service: Service::Ssm,
    name: "GetParametersByPath",
};
/// AWS's cap on names in one `GetParameters` call.
pub const BATCH_MAX: usize = 10;
/// The most pages of one path read: 10 parameters a page is already more variables than an
/// environment should hold; a server that never stops paging is refused here.
pub const MAX_PAGES: usize = 500;

/// `name:selector` as `GetParameters` takes it.
pub fn wire_name(sent: &str, selector: Option<&str>) -> String {
    match selector {
        Some(s) => format!("{sent}:{s}"),
        None => sent.to_string(),
    }
}

pub fn parameters_body(names: &[String]) -> Vec<u8> {
    let mut s = String::from("{\"Names\":[");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        crate::json::push_str(&mut s, n);
    }
    s.push_str("],\"WithDecryption\":true}");
    s.into_bytes()
}

/// One page of the parameters directly under `path` (not recursive).
pub fn path_body(path: &str, next_token: Option<&str>) -> Vec<u8> {
    let mut s = String::from("{\"Path\":");
    crate::json::push_str(&mut s, path);
    s.push_str(",\"Recursive\":false,\"WithDecryption\":true");
    if let Some(t) = next_token {
        s.push_str(",\"NextToken\":");
        crate::json::push_str(&mut s, t);
    }
    s.push('}');
    s.into_bytes()
}

#[derive(Debug)]
pub struct Parameter {
    pub name: String,
    pub arn: String,
    /// The version number, as printed by `--check`.
    pub version: String,
    /// `:selector`, when SSM echoed the one asked for.
    pub selector: Option<String>,
    pub value: Sensitive,
}

#[derive(Debug)]
pub struct ParametersReply {
    pub parameters: Vec<Parameter>,
    /// Names (as sent, selector included) that do not exist, or whose selector does not.
    pub invalid: Vec<String>,
}

#[derive(Debug)]
pub struct PathPage {
    pub parameters: Vec<Parameter>,
    pub next_token: Option<String>,
}

fn malformed(why: &'static str) -> Error {
    Error::Malformed {
        why,
        request_id: None,
    }
}

fn object(body: &[u8]) -> Result<Value, Error> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed("the reply is not valid JSON"))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(malformed("the reply is not a JSON object"))
    }
}

fn parameters(v: &mut Value) -> Result<Vec<Parameter>, Error> {
    let Some(list) = v.get_mut("Parameters") else {
        return Ok(Vec::new());
    };
    let Some(list) = list.as_array_mut() else {
        return Err(malformed("Parameters is not a list"));
    };
    list.iter_mut().map(parameter).collect()
}

fn parameter(p: &mut Value) -> Result<Parameter, Error> {
    let text = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    let name = text("Name").ok_or_else(|| malformed("a parameter in the reply has no Name"))?;
    let arn = text("ARN").unwrap_or_default();
    let selector = text("Selector");
    let version = match p.get("Version") {
        Some(Value::Number(n)) => aws::clean_id(&n.to_string()),
        _ => String::new(),
    };
    let value = match p.get_mut("Value") {
        Some(Value::String(s)) => Sensitive::new(std::mem::take(s)),
        _ => return Err(malformed("a parameter in the reply has no Value")),
    };
    Ok(Parameter {
        name,
        arn,
        version,
        selector,
        value,
    })
}

/// Parses a `GetParameters` success body.
pub fn parse_parameters(body: &[u8]) -> Result<ParametersReply, Error> {
    let mut v = object(body)?;
    let parameters = parameters(&mut v)?;
    let invalid = match v.get("InvalidParameters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| malformed("InvalidParameters holds something other than names"))?,
        Some(_) => return Err(malformed("InvalidParameters is not a list")),
    };
    Ok(ParametersReply {
        parameters,
        invalid,
    })
}

/// Parses a `GetParametersByPath` success body.
pub fn parse_path(body: &[u8]) -> Result<PathPage, Error> {
    let mut v = object(body)?;
    let parameters = parameters(&mut v)?;
    let next_token = v
        .get("NextToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok(PathPage {
        parameters,
        next_token,
    })
}

/// One parameter asked for in a `GetParameters` call.
pub struct Asked<'a> {
    /// The name or ARN as sent, without the selector.
    pub sent: &'a str,
    /// The name (an ARN's name part).
    pub name: &'a str,
    pub selector: Option<&'a str>,
}

/// What a `GetParameters` reply says about one parameter asked for.
#[derive(Debug)]
pub enum Entry {
    Value(Parameter),
    /// Listed in `InvalidParameters`: the parameter, or its version or label, does not exist.
    Invalid,
    /// In neither list: ask again.
    Missing,
}

/// Settles each of `asked` from a `GetParameters` reply. A returned parameter matches by `Name`
/// or `ARN` (a parameter asked for by ARN may come back under either), and by `Selector` when
/// SSM echoes one. The plan never puts one name twice in a call, so this is unambiguous.
pub fn settle(asked: &[Asked], reply: ParametersReply) -> Vec<Entry> {
    let mut values: Vec<Option<Parameter>> = reply.parameters.into_iter().map(Some).collect();
    asked
        .iter()
        .map(|a| {
            let wire = wire_name(a.sent, a.selector);
            let matches = |p: &Parameter| {
                let named = p.name == a.sent
                    || p.name == a.name
                    || (!p.arn.is_empty() && p.arn == a.sent)
                    || [&p.name, &p.arn]
                        .iter()
                        .any(|arn| name_in_arn(arn) == Some(a.name.trim_start_matches('/')));
                let selector_ok = match (&p.selector, a.selector) {
                    (Some(echoed), Some(asked)) => echoed.strip_prefix(':') == Some(asked),
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                named && selector_ok
            };
            if let Some(p) = values
                .iter_mut()
                .find(|v| v.as_ref().is_some_and(matches))
                .and_then(Option::take)
            {
                return Entry::Value(p);
            }
            if reply.invalid.iter().any(|n| *n == wire || *n == a.sent) {
                Entry::Invalid
            } else {
                Entry::Missing
            }
        })
        .collect()
}

/// The name in a parameter ARN without its leading `/` (`…:parameter/a/b` is `a/b`): a reply may
/// name a parameter asked for by name with its ARN. The ARN of `/a` and of `a` is the same
/// `parameter/a`, so names are compared without their leading `/`.
fn name_in_arn(arn: &str) -> Option<&str> {
    let f: Vec<&str> = arn.split(':').collect();
    if f.len() != 6 || f[0] != "arn" || f[2] != "ssm" {
        return None;
    }
    f[5].strip_prefix("parameter/")
}

/// The variable a parameter under a path sets: the last segment of its name, as written.
pub fn leaf(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(
            parameters_body(&["/a".into(), "b:3".into()]),
            br#"{"Names":["/a","b:3"],"WithDecryption":true}"#
        );
        assert_eq!(
            path_body("/prod/app/", None),
            br#"{"Path":"/prod/app/","Recursive":false,"WithDecryption":true}"#
        );
        assert_eq!(
            path_body("/p/", Some("t\"1")),
            br#"{"Path":"/p/","Recursive":false,"WithDecryption":true,"NextToken":"t\"1"}"#
        );
        assert_eq!(wire_name("/a", Some("live")), "/a:live");
    }

    #[test]
    fn replies_settle_each_name() {
        let body = br#"{"Parameters":[
            {"Name":"/prod/db/host","Type":"String","Value":"h","Version":4,"ARN":"arn:aws:ssm:r:1:parameter/prod/db/host"},
            {"Name":"/prod/db/pw","Type":"SecureString","Value":"s","Version":3,"Selector":":3","ARN":"arn:aws:ssm:r:1:parameter/prod/db/pw"},
            {"Name":"arn:aws:ssm:r:2:parameter/shared","Type":"StringList","Value":"a,b","Version":1,"ARN":"arn:aws:ssm:r:2:parameter/shared"}],
            "InvalidParameters":["/gone","/prod/db/user:9"]}"#;
        let asked = [
            Asked {
                sent: "/prod/db/host",
                name: "/prod/db/host",
                selector: None,
            },
            Asked {
                sent: "/prod/db/pw",
                name: "/prod/db/pw",
                selector: Some("3"),
            },
            Asked {
                sent: "arn:aws:ssm:r:2:parameter/shared",
                name: "shared",
                selector: None,
            },
            Asked {
                sent: "/gone",
                name: "/gone",
                selector: None,
            },
            Asked {
                sent: "/prod/db/user",
                name: "/prod/db/user",
                selector: Some("9"),
            },
            Asked {
                sent: "/absent",
                name: "/absent",
                selector: None,
            },
        ];
        let entries = settle(&asked, parse_parameters(body).unwrap());
        let shape: Vec<String> = entries
            .iter()
            .map(|e| match e {
                Entry::Value(p) => format!("{} v{}", p.name, p.version),
                Entry::Invalid => "invalid".into(),
                Entry::Missing => "missing".into(),
            })
            .collect();
        assert_eq!(
            shape,
            [
                "/prod/db/host v4",
                "/prod/db/pw v3",
                "arn:aws:ssm:r:2:parameter/shared v1",
                "invalid",
                "invalid",
                "missing"
            ]
        );
        // An echoed selector that is not the one asked for does not match.
        let body = br#"{"Parameters":[{"Name":"/a","Value":"x","Version":2,"Selector":":2"}]}"#;
        let asked = [Asked {
            sent: "/a",
            name: "/a",
            selector: Some("1"),
        }];
        assert!(matches!(
            settle(&asked, parse_parameters(body).unwrap())[0],
            Entry::Missing
        ));
    }

    #[test]
    fn malformed_replies() {
        for body in [
            &b"[]"[..],
            b"{\"Parameters\":{}}",
            b"{\"Parameters\":[{\"Value\":\"x\"}]}",
            b"{\"Parameters\":[{\"Name\":\"/a\"}]}",
            b"{\"InvalidParameters\":[1]}",
            b"not json",
        ] {
            assert!(parse_parameters(body).is_err(), "{body:?}");
        }
        let page = parse_path(
            br#"{"Parameters":[{"Name":"/p/A","Value":"1","Version":1}],"NextToken":"n"}"#,
        )
        .unwrap();
        assert_eq!(
            (page.parameters.len(), page.next_token.as_deref()),
            (1, Some("n"))
        );
        let last = parse_path(br#"{"Parameters":[],"NextToken":null}"#).unwrap();
        assert!(last.next_token.is_none());
        assert_eq!(leaf("/prod/app/DB_HOST"), "DB_HOST");
        assert_eq!(leaf("host"), "host");
        assert_eq!(name_in_arn("arn:aws:ssm:r:1:parameter/a/b"), Some("a/b"));
        assert_eq!(name_in_arn("arn:aws:ssm:r:1:parameter/host"), Some("host"));
        assert_eq!(name_in_arn("/a/b"), None);
        // Asked by name, answered with the ARN as its Name.
        let body =
            br#"{"Parameters":[{"Name":"arn:aws:ssm:r:1:parameter/a","Value":"x","Version":1}]}"#;
        let asked = [Asked {
            sent: "/a",
            name: "/a",
            selector: None,
        }];
        assert!(matches!(
            settle(&asked, parse_parameters(body).unwrap())[0],
            Entry::Value(_)
        ));
    }
}
