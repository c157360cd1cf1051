//! Where requests go: regions, and the endpoint of each service in a region, following the SDKs'
//! rules (service-specific and general endpoint URL variables, FIPS, the aws-cn partition).
//! README, "Options": the standard AWS variables.

use crate::aws::Service;
use crate::error::Error;
use std::fmt;

/// A parsed `http(s)://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    /// Host as written, without brackets for IPv6.
    pub host: String,
    pub port: Option<u16>,
    pub path: String,
}

impl Url {
    /// A URL read from the variable `name`: a refusal names the variable and shows its value
    /// without user information (`redact`).
    pub fn from_variable(name: &str, value: &str) -> Result<Url, Error> {
        let value = value.trim();
        Url::parse(value).map_err(|m| Error::Config(format!("{name}={:?}: {m}", redact(value))))
    }

    fn parse(s: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err("must start with https:// or http://".into());
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if path.contains(['?', '#']) {
            return Err("must not have a query or fragment".into());
        }
        if authority.contains('@') {
            return Err("must not carry user information".into());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or("unclosed '['")?;
            let host = &v6[..end];
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("has no valid host".into());
            }
            // After `]` only `:port`, or nothing.
            let rest = &v6[end + 1..];
            let port = match rest.strip_prefix(':') {
                Some(p) => Some(p),
                None if rest.is_empty() => None,
                None => return Err("has text after the IPv6 address that is not :port".into()),
            };
            (host, port)
        } else {
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            // An IPv6 address must be in brackets: a host name holds no ':'.
            if host.contains(':') {
                return Err("has no valid host (an IPv6 address goes in brackets)".into());
            }
            (host, port)
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
        {
            return Err("has no valid host".into());
        }
        let port = match port {
            None => None,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse::<u16>().map_err(|_| "has a bad port")?)
            }
            Some(_) => return Err("has a bad port".into()),
        };
        // The path goes into the request line and the signature: printable ASCII only.
        if !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("has a path with spaces, control or non-ASCII characters".into());
        }
        let path = if path.is_empty() { "/" } else { path };
        Ok(Url {
            https,
            host: host.to_ascii_lowercase(),
            port,
            path: path.to_string(),
        })
    }

    /// The URL in canonical form, as sent and as signed.
    pub fn as_string(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{scheme}://{host}:{p}{}", self.path),
            None => format!("{scheme}://{host}{}", self.path),
        }
    }
}

/// `text` (a URL, or what was meant as one) fit to print: the user information (`user:password@`)
/// is replaced by `***@`. Everything up to the last `@` after the scheme goes, so a password
/// holding `/` or `@` is hidden too.
pub fn redact(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(i) => (&text[..i + 3], &text[i + 3..]),
        None => ("", text),
    };
    match rest.rfind('@') {
        Some(i) => format!("{scheme}***@{}", &rest[i + 1..]),
        None => text.to_string(),
    }
}

/// A region name, checked once: it goes into host names, so only `[a-z0-9-]`, at most 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    pub fn parse(s: &str) -> Option<Region> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Region(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The region from `AWS_REGION`, then `AWS_DEFAULT_REGION`.
pub fn default_region(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Region>, Error> {
    for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Some(r) = get(name)
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
        {
            return Region::parse(&r)
                .map(Some)
                .ok_or_else(|| Error::Config(format!("{name}={r:?} is not a region name")));
        }
    }
    Ok(None)
}

/// How endpoints are chosen, read once from the environment.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The configured endpoint URL of each service in use, if any.
    configured: Vec<(Service, Url)>,
    fips: bool,
}

fn truthy(name: &str, v: Option<String>) -> Result<bool, Error> {
    match v.as_deref().map(|s| s.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(s) if s.is_empty() || s == "false" => Ok(false),
        Some(s) if s == "true" => Ok(true),
        Some(s) => Err(Error::Config(format!(
            "{name}={s:?}: expected true or false"
        ))),
    }
}

impl Endpoints {
    /// Reads the endpoint variables of `services` (those in use): `AWS_ENDPOINT_URL_<SERVICE>`,
    /// then `AWS_ENDPOINT_URL`, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`; FIPS together with
    /// a configured URL is refused, as in the SDKs.
    pub fn from_env(
        get: &dyn Fn(&str) -> Option<String>,
        services: &[Service],
    ) -> Result<Endpoints, Error> {
        let fips = truthy("AWS_USE_FIPS_ENDPOINT", get("AWS_USE_FIPS_ENDPOINT"))?;
        let ignore = truthy(
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
            get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"),
        )?;
        let mut configured = Vec::new();
        for &service in services.iter().filter(|_| !ignore) {
            for name in [service.endpoint_variable(), "AWS_ENDPOINT_URL"] {
                if let Some(v) = get(name).filter(|v| !v.trim().is_empty()) {
                    let url = Url::from_variable(name, &v)?;
                    if fips {
                        return Err(Error::Config(format!(
                            "{name} is set together with AWS_USE_FIPS_ENDPOINT=true: FIPS and a custom endpoint are not supported together"
                        )));
                    }
                    configured.push((service, url));
                    break;
                }
            }
        }
        Ok(Endpoints { configured, fips })
    }

    /// The endpoint of `service` in `region`.
    pub fn for_region(&self, service: Service, region: &Region) -> Url {
        if let Some((_, u)) = self.configured.iter().find(|(s, _)| *s == service) {
            return u.clone();
        }
        let prefix = service.endpoint_prefix();
        let fips = if self.fips { "-fips" } else { "" };
        let suffix = if region.0.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Url {
            https: true,
            host: format!("{prefix}{fips}.{region}.{suffix}"),
            port: None,
            path: "/".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_env as env;

    #[test]
    #[allow(clippy::type_complexity)]
    fn endpoint_resolution() {
        let cases: &[(&[(&str, &str)], &str, &str)] = &[
            (
                &[],
                "eu-west-1",
                "https://secretsmanager.eu-west-1.amazonaws.com/",
            ),
            (
                &[],
                "cn-north-1",
                "https://secretsmanager.cn-north-1.amazonaws.com.cn/",
            ),
            (
                &[("AWS_USE_FIPS_ENDPOINT", "true")],
                "us-east-1",
                "https://secretsmanager-fips.us-east-1.amazonaws.com/",
            ),
            (
                &[("AWS_USE_FIPS_ENDPOINT", "TRUE")],
                "us-gov-west-1",
                "https://secretsmanager-fips.us-gov-west-1.amazonaws.com/",
            ),
            (
                &[("AWS_ENDPOINT_URL", "http://localhost:4566")],
                "us-east-1",
                "http://localhost:4566/",
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL", "http://a:1"),
                    ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://b:2/sm"),
                ],
                "us-east-1",
                "https://b:2/sm",
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL", "http://a:1"),
                    ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
                ],
                "us-east-1",
                "https://secretsmanager.us-east-1.amazonaws.com/",
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL", "http://a:1"),
                    ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
                    ("AWS_USE_FIPS_ENDPOINT", "true"),
                ],
                "us-east-1",
                "https://secretsmanager-fips.us-east-1.amazonaws.com/",
            ),
            (
                &[("AWS_ENDPOINT_URL", "https://[::1]:8443")],
                "us-east-1",
                "https://[::1]:8443/",
            ),
        ];
        let sm = Service::SecretsManager;
        for (vars, region, want) in cases {
            let e = Endpoints::from_env(&env(vars), &[sm]).unwrap();
            let region = Region::parse(region).unwrap();
            assert_eq!(e.for_region(sm, &region).as_string(), *want, "{vars:?}");
        }
    }

    #[test]
    fn endpoint_refusals() {
        let cases: &[&[(&str, &str)]] = &[
            &[
                ("AWS_ENDPOINT_URL", "http://a:1"),
                ("AWS_USE_FIPS_ENDPOINT", "true"),
            ],
            &[("AWS_ENDPOINT_URL_SECRETS_MANAGER", "ftp://x")],
            &[("AWS_ENDPOINT_URL", "https://host:99999")],
            &[("AWS_ENDPOINT_URL", "https://u:p@host")],
            &[("AWS_ENDPOINT_URL", "http://[::1]junk/")],
            &[("AWS_ENDPOINT_URL", "http://[::1]x:80/")],
            &[("AWS_ENDPOINT_URL", "http://[nothex]/")],
            &[("AWS_ENDPOINT_URL", "http://::1/")],
            &[("AWS_ENDPOINT_URL", "http://host:+80/")],
            &[("AWS_ENDPOINT_URL", "http://host/a b")],
            &[("AWS_ENDPOINT_URL", "http://host/\u{e9}")],
            &[("AWS_ENDPOINT_URL", "https://")],
            &[("AWS_USE_FIPS_ENDPOINT", "yes")],
        ];
        for vars in cases {
            let e = Endpoints::from_env(&env(vars), &[Service::SecretsManager])
                .expect_err(&format!("{vars:?}"));
            assert_eq!(e.class(), crate::error::Class::Config);
        }
    }

    #[test]
    fn user_information_is_redacted() {
        for (text, want) in [
            ("https://u:p@host/x", "https://***@host/x"),
            ("https://u:p/w@d@host:1/", "https://***@host:1/"),
            ("u:p@host", "***@host"),
            ("https://host/", "https://host/"),
        ] {
            assert_eq!(redact(text), want);
        }
        let e = Endpoints::from_env(
            &env(&[("AWS_ENDPOINT_URL", "https://user:hunter2@host")]),
            &[Service::SecretsManager],
        )
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn ssm_endpoints_follow_the_same_rules() {
        let ssm = Service::Ssm;
        let cases: &[(&[(&str, &str)], &str, &str)] = &[
            (&[], "eu-west-1", "https://ssm.eu-west-1.amazonaws.com/"),
            (
                &[],
                "cn-northwest-1",
                "https://ssm.cn-northwest-1.amazonaws.com.cn/",
            ),
            (
                &[("AWS_USE_FIPS_ENDPOINT", "true")],
                "us-gov-west-1",
                "https://ssm-fips.us-gov-west-1.amazonaws.com/",
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL", "http://a:1"),
                    ("AWS_ENDPOINT_URL_SSM", "https://b:2/ssm"),
                    ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://c:3/sm"),
                ],
                "us-east-1",
                "https://b:2/ssm",
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL", "http://a:1"),
                    ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://c:3/sm"),
                ],
                "us-east-1",
                "http://a:1/",
            ),
        ];
        for (vars, region, want) in cases {
            let e = Endpoints::from_env(&env(vars), &[Service::SecretsManager, ssm]).unwrap();
            let region = Region::parse(region).unwrap();
            assert_eq!(e.for_region(ssm, &region).as_string(), *want, "{vars:?}");
        }
        // A service's own variable is read only when a reference needs that service.
        let bad_ssm = env(&[("AWS_ENDPOINT_URL_SSM", "ftp://x")]);
        assert!(Endpoints::from_env(&bad_ssm, &[Service::SecretsManager]).is_ok());
        assert!(Endpoints::from_env(&bad_ssm, &[ssm]).is_err());
    }

    #[test]
    fn regions() {
        assert_eq!(default_region(&env(&[])).unwrap(), None);
        let both = env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]);
        let name = |r: Option<Region>| r.map(|r| r.as_str().to_string());
        assert_eq!(
            name(default_region(&both).unwrap()).as_deref(),
            Some("eu-west-1")
        );
        let fallback = env(&[("AWS_DEFAULT_REGION", "us-east-1")]);
        assert_eq!(
            name(default_region(&fallback).unwrap()).as_deref(),
            Some("us-east-1")
        );
        assert!(default_region(&env(&[("AWS_REGION", "evil.com/")])).is_err());
    }
}
