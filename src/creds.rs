//! Credentials: the access-key variables, else the container credentials endpoint (how Lambda
//! SnapStart, ECS and EKS Pod Identity hand them out), as the AWS SDKs read them.

use crate::endpoint::{Url, redact};
use crate::error::Error;
use crate::http::Http;
use crate::retry::Retry;
use crate::sensitive::Sensitive;

#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Sensitive,
    pub session_token: Option<Sensitive>,
}

/// Where credentials come from, decided from the environment without any network call.
#[derive(Debug)]
pub enum Source {
    Static(Credentials),
    Container {
        url: Url,
        /// The name of the variable the URL came from, for messages.
        from: &'static str,
        token: Option<Sensitive>,
    },
}

/// Largest token file read (tokens are a few KiB at most).
const MAX_TOKEN_FILE: u64 = 64 << 10;

fn perm(m: &str) -> Error {
    Error::Permission(m.to_string())
}

pub fn source(get: &dyn Fn(&str) -> Option<String>) -> Result<Source, Error> {
    let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            return Ok(Source::Static(Credentials {
                access_key_id: id.trim().to_string(),
                secret_access_key: Sensitive::new(secret.trim().to_string()),
                session_token: set("AWS_SESSION_TOKEN")
                    .map(|t| Sensitive::new(t.trim().to_string())),
            }));
        }
        (Some(_), None) => {
            return Err(perm(
                "credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
            ));
        }
        (None, Some(_)) => {
            return Err(perm(
                "credentials: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
            ));
        }
        (None, None) => {}
    }
    let (url, from) = if let Some(rel) = set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        let rel = rel.trim();
        let sep = if rel.starts_with('/') { "" } else { "/" };
        let name = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
        let url = Url::from_variable(name, &format!("http://169.254.170.2{sep}{rel}"))?;
        (url, name)
    } else if let Some(full) = set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        let name = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
        let shown = redact(full.trim());
        let url = Url::from_variable(name, &full)?;
        if !url.https && !allowed_plain_http_host(&url.host) {
            return Err(Error::Config(format!(
                "{name}={shown:?}: plain http is allowed only to a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23; use https"
            )));
        }
        (url, name)
    } else {
        return Err(perm(
            "credentials: none found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)",
        ));
    };
    let token = if let Some(path) = set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        // Read within bounds: a FIFO or a device would block or never end (README, "Options").
        let path = path.trim();
        let bytes = crate::http::read_config_file(path, MAX_TOKEN_FILE, |m| {
            perm(&format!(
                "credentials: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={path:?}: {m}"
            ))
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            perm(&format!(
                "credentials: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={path:?}: not UTF-8 text"
            ))
        })?;
        Some(Sensitive::new(text.trim().to_string()))
    } else {
        set("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(|t| Sensitive::new(t.trim().to_string()))
    };
    // It goes into a header: no control character (a line break would add a header, others make
    // the request impossible to send).
    if let Some(t) = &token
        && (t.expose().is_empty() || t.expose().chars().any(char::is_control))
    {
        return Err(perm(
            "credentials: the container authorization token is empty or holds a line break or another control character",
        ));
    }
    Ok(Source::Container { url, from, token })
}

/// The hosts the SDKs let a container credentials URL reach over plain http.
fn allowed_plain_http_host(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            ip.is_loopback()
                || ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]
                    .iter()
                    .any(|a| a.parse::<std::net::IpAddr>().ok() == Some(ip))
        }
        Err(_) => false,
    }
}

/// The credentials, from `source`: fetched from the container endpoint when that is where they
/// are, retrying transient failures within `retry`.
pub fn resolve(source: Source, http: &Http, retry: &Retry) -> Result<Credentials, Error> {
    let (url, from, token) = match source {
        Source::Static(c) => return Ok(c),
        Source::Container { url, from, token } => (url, from, token),
    };
    let headers: Vec<(String, String)> = token
        .map(|t| vec![("authorization".to_string(), t.into_inner())])
        .unwrap_or_default();
    let endpoint = format!("credentials: the endpoint in {from}");
    let reply = retry
        .run(
            |_, timeout| match http.get(&url, &headers, timeout)? {
                reply if reply.status == 200 => Ok(reply),
                reply if matches!(reply.status, 401 | 403) => Err(Error::Permission(format!(
                    "{endpoint} refused the authorization token (HTTP {})",
                    reply.status
                ))),
                reply => Err(Error::Status {
                    status: reply.status,
                    retry_after_ms: reply.retry_after_ms,
                }),
            },
            |_| false,
        )
        .map_err(|e| match e {
            Error::Permission(_) => e,
            e => e.context(&endpoint),
        })?;
    parse(&reply.body).map_err(|m| Error::Unavailable(format!("{endpoint} {m}")))
}

fn parse(body: &[u8]) -> Result<Credentials, &'static str> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "answered with a body that is not JSON")?;
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    match (field("AccessKeyId"), field("SecretAccessKey")) {
        (Some(id), Some(secret)) => Ok(Credentials {
            access_key_id: id,
            secret_access_key: Sensitive::new(secret),
            session_token: field("Token").map(Sensitive::new),
        }),
        _ => Err("answered without AccessKeyId and SecretAccessKey"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Class;
    use crate::test_env as env;

    #[test]
    fn static_keys_first() {
        let s = source(&env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "S3CRET-SENTINEL"),
            ("AWS_SESSION_TOKEN", "TOKEN-SENTINEL"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1/creds",
            ),
        ]))
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(matches!(s, Source::Static(_)));
        assert!(!dbg.contains("SENTINEL"), "{dbg}");
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn container_endpoints() {
        let cases: &[(&[(&str, &str)], Option<&str>)] = &[
            (
                &[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds")],
                Some("http://169.254.170.2/v2/creds"),
            ),
            (
                &[
                    ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/r"),
                    ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/f"),
                ],
                Some("http://169.254.170.2/r"),
            ),
            (
                &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/f")],
                Some("http://127.0.0.1:9/f"),
            ),
            (
                &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:9/f")],
                Some("http://localhost:9/f"),
            ),
            (
                &[(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://169.254.170.23/v1/credentials",
                )],
                Some("http://169.254.170.23/v1/credentials"),
            ),
            (
                &[(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://[fd00:ec2::23]/v1/credentials",
                )],
                Some("http://[fd00:ec2::23]/v1/credentials"),
            ),
            (
                &[(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "https://creds.example.com/x",
                )],
                Some("https://creds.example.com/x"),
            ),
            (
                &[(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://creds.example.com/x",
                )],
                None,
            ),
            (
                &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.0.0.1/x")],
                None,
            ),
        ];
        for (vars, want) in cases {
            match (source(&env(vars)), want) {
                (Ok(Source::Container { url, .. }), Some(w)) => assert_eq!(url.as_string(), *w),
                (Err(e), None) => assert_eq!(e.class(), Class::Config),
                (other, _) => panic!("{vars:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn token_file_wins_and_is_trimmed() {
        let dir = std::env::temp_dir().join(format!("ls-token-{}", std::process::id()));
        std::fs::write(&dir, "file-token\n").unwrap();
        let path = dir.to_str().unwrap().to_string();
        let s = source(&env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/f"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "var-token"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &path),
        ]))
        .unwrap();
        std::fs::remove_file(&dir).unwrap();
        let Source::Container { token, .. } = s else {
            panic!()
        };
        assert_eq!(token.unwrap().expose(), "file-token");
    }

    #[test]
    fn missing_credentials_are_permission_errors() {
        for vars in [&[][..], &[("AWS_ACCESS_KEY_ID", "AKID")][..]] {
            assert_eq!(source(&env(vars)).unwrap_err().class(), Class::Permission);
        }
    }
}
