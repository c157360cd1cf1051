//! Credentials: the access-key variables, else the container credentials endpoint (how Lambda
//! SnapStart, ECS and EKS Pod Identity hand them out), as the AWS SDKs read them.

use crate::endpoint::Url;
use crate::error::{Class, Failure};
use crate::http::Http;
use crate::retry::{Attempt, Retry};
use std::fmt;

/// A string that must never be printed: its `Debug` says only that it is hidden.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    pub fn new(s: String) -> Self {
        Sensitive(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("<hidden>")
    }
}

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

fn perm(m: String) -> Failure {
    Failure::new(Class::Permission, m)
}

pub fn source(get: &dyn Fn(&str) -> Option<String>) -> Result<Source, Failure> {
    let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            return Ok(Source::Static(Credentials {
                access_key_id: id.trim().to_string(),
                secret_access_key: Sensitive(secret.trim().to_string()),
                session_token: set("AWS_SESSION_TOKEN").map(|t| Sensitive(t.trim().to_string())),
            }));
        }
        (Some(_), None) => {
            return Err(perm(
                "credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(perm(
                "credentials: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".into(),
            ));
        }
        (None, None) => {}
    }
    let (url, from) = if let Some(rel) = set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        let rel = rel.trim();
        let sep = if rel.starts_with('/') { "" } else { "/" };
        let url = Url::parse(&format!("http://169.254.170.2{sep}{rel}")).map_err(|m| {
            Failure::config(format!(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI={rel:?}: {m}"
            ))
        })?;
        (url, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    } else if let Some(full) = set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        let name = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
        let url = Url::parse(full.trim())
            .map_err(|m| Failure::config(format!("{name}={full:?}: {m}")))?;
        if !url.https && !allowed_plain_http_host(&url.host) {
            return Err(Failure::config(format!(
                "{name}={full:?}: plain http is allowed only to a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23; use https"
            )));
        }
        (url, name)
    } else {
        return Err(perm(
            "credentials: none found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI)".into(),
        ));
    };
    let token = if let Some(path) = set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        let text = std::fs::read_to_string(path.trim()).map_err(|e| {
            perm(format!(
                "credentials: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={path:?} ({})",
                e.kind()
            ))
        })?;
        Some(Sensitive(text.trim().to_string()))
    } else {
        set("AWS_CONTAINER_AUTHORIZATION_TOKEN").map(|t| Sensitive(t.trim().to_string()))
    };
    if let Some(t) = &token
        && (t.0.is_empty() || t.0.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0))
    {
        return Err(perm(
            "credentials: the container authorization token is empty or holds a line break".into(),
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

/// Fetches credentials from the container endpoint, retrying transient failures within `retry`.
pub fn fetch(
    http: &Http,
    url: &Url,
    from: &str,
    token: Option<&Sensitive>,
    retry: &Retry,
) -> Result<Credentials, Failure> {
    let headers: Vec<(String, String)> = token
        .map(|t| vec![("authorization".to_string(), t.0.clone())])
        .unwrap_or_default();
    let unavailable = |m: String| {
        Failure::new(
            Class::Unavailable,
            format!("credentials: the endpoint in {from} {m}"),
        )
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Some(timeout) = retry.attempt_timeout(attempt) else {
            return Err(unavailable("did not answer before the deadline".into()));
        };
        let outcome = http.get(url, &headers, timeout);
        let (retryable, why, hint) = match outcome {
            Ok(reply) if reply.status == 200 => return parse(&reply.body).map_err(unavailable),
            Ok(reply) if matches!(reply.status, 401 | 403) => {
                return Err(perm(format!(
                    "credentials: the endpoint in {from} refused the authorization token (HTTP {})",
                    reply.status
                )));
            }
            Ok(reply) => (
                reply.status >= 500 || reply.status == 429,
                format!("answered HTTP {}", reply.status),
                reply.retry_after_ms,
            ),
            Err(e) => (e.retryable, format!("failed: {}", e.message), None),
        };
        if !retryable {
            return Err(unavailable(why));
        }
        let s = if attempt == 1 { "" } else { "s" };
        match retry.before_next(attempt, false, hint) {
            Attempt::Again => continue,
            Attempt::Exhausted => {
                return Err(unavailable(format!("{why} (after {attempt} attempt{s})")));
            }
            Attempt::Deadline => {
                return Err(unavailable(format!(
                    "{why} (LAMBDA_SECRETS_TIMEOUT_MS ran out after {attempt} attempt{s})"
                )));
            }
        }
    }
}

fn parse(body: &[u8]) -> Result<Credentials, String> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| "answered with a body that is not JSON".to_string())?;
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    match (field("AccessKeyId"), field("SecretAccessKey")) {
        (Some(id), Some(secret)) => Ok(Credentials {
            access_key_id: id,
            secret_access_key: Sensitive(secret),
            session_token: field("Token").map(Sensitive),
        }),
        _ => Err("answered without AccessKeyId and SecretAccessKey".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                (Err(e), None) => assert_eq!(e.class, Class::Config),
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
            assert_eq!(source(&env(vars)).unwrap_err().class, Class::Permission);
        }
    }
}
