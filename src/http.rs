//! The HTTP client: the only module that imports ureq and rustls.
//!
//! One `Http` (one connection pool per route) is shared by all worker threads. TLS is always
//! verified, against the compiled-in Mozilla roots or, when `AWS_CA_BUNDLE` is set, against the
//! certificates of that PEM file only. Proxies follow curl's reading of `HTTPS_PROXY`/`https_proxy`
//! (`http_proxy` for an `http://` endpoint) and `NO_PROXY`/`no_proxy`.

use crate::endpoint::Url;
use crate::error::Failure;
use std::io::Read;
use std::time::Duration;
use ureq::tls::{RootCerts, TlsConfig};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::{Agent, Proxy};

/// Largest reply read: 20 secrets of 64 KiB, base64-encoded, fit with room to spare.
const MAX_BODY: u64 = 4 << 20;

/// What came back from a server, whatever its status.
pub struct Reply {
    pub status: u16,
    /// `x-amzn-RequestId` (or `x-amz-request-id`).
    pub request_id: Option<String>,
    /// `X-Amzn-Errortype`.
    pub error_type: Option<String>,
    /// `x-amz-retry-after`, in milliseconds.
    pub retry_after_ms: Option<u64>,
    pub body: Vec<u8>,
}

/// A request that got no complete reply.
#[derive(Debug)]
pub struct TransportError {
    /// Worth another attempt (timeouts, refused or reset connections); a certificate that does
    /// not verify, say, is not.
    pub retryable: bool,
    pub message: String,
}

struct ProxyRule {
    https: Option<String>,
    http: Option<String>,
    no_proxy: Vec<String>,
}

pub struct Http {
    direct: Agent,
    /// Agents through the proxy, built on first use: (https, http).
    proxied: [std::sync::OnceLock<Option<Agent>>; 2],
    proxy: ProxyRule,
    tls: TlsConfig,
    pool: usize,
}

impl Http {
    /// Reads `AWS_CA_BUNDLE` and the proxy variables. `pool` is the most idle connections kept per
    /// host (the concurrency).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>, pool: usize) -> Result<Http, Failure> {
        let roots = match get("AWS_CA_BUNDLE").filter(|p| !p.trim().is_empty()) {
            None => RootCerts::WebPki,
            Some(path) => load_bundle(&path)?,
        };
        let tls = TlsConfig::builder().root_certs(roots).build();
        let first = |a: &str, b: &str| {
            get(a)
                .or_else(|| get(b))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let proxy = ProxyRule {
            https: first("HTTPS_PROXY", "https_proxy"),
            // curl reads only the lower-case name for plain http (httpoxy).
            http: get("http_proxy")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            no_proxy: first("NO_PROXY", "no_proxy")
                .map(|v| {
                    v.split(',')
                        .map(|e| e.trim().to_ascii_lowercase())
                        .filter(|e| !e.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        };
        for (name, p) in [("HTTPS_PROXY", &proxy.https), ("http_proxy", &proxy.http)] {
            if let Some(p) = p {
                let with_scheme = if p.contains("://") {
                    p.clone()
                } else {
                    format!("http://{p}")
                };
                Proxy::new(&with_scheme)
                    .map_err(|_| Failure::config(format!("{name}: not a usable proxy URL")))?;
            }
        }
        Ok(Http {
            direct: agent(tls.clone(), None, pool),
            proxied: Default::default(),
            proxy,
            tls,
            pool,
        })
    }

    fn agent_for(&self, url: &Url, allow_proxy: bool) -> &Agent {
        if !allow_proxy || no_proxy_matches(&self.proxy.no_proxy, &url.host) {
            return &self.direct;
        }
        let (slot, proxy) = if url.https {
            (&self.proxied[0], &self.proxy.https)
        } else {
            (&self.proxied[1], &self.proxy.http)
        };
        let agent = slot.get_or_init(|| {
            let p = proxy.as_ref()?;
            let p = if p.contains("://") {
                p.clone()
            } else {
                format!("http://{p}")
            };
            // Checked in `from_env`.
            let proxy = Proxy::new(&p).ok()?;
            Some(agent(self.tls.clone(), Some(proxy), self.pool))
        });
        agent.as_ref().unwrap_or(&self.direct)
    }

    /// POSTs `body` with `headers`, within `timeout`.
    pub fn post(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<Reply, TransportError> {
        let req = self.agent_for(url, true).post(url.as_string());
        read_reply(prepare(req, headers, timeout).send(body))
    }

    /// GETs `url` (the container credentials endpoint: never through a proxy).
    pub fn get(
        &self,
        url: &Url,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Reply, TransportError> {
        let req = self.agent_for(url, false).get(url.as_string());
        read_reply(prepare(req, headers, timeout).call())
    }
}

fn prepare<B>(
    req: ureq::RequestBuilder<B>,
    headers: &[(String, String)],
    timeout: Duration,
) -> ureq::RequestBuilder<B> {
    let mut req = req.config().timeout_global(Some(timeout)).build();
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    req
}

fn agent(tls: TlsConfig, proxy: Option<Proxy>, pool: usize) -> Agent {
    let config = Agent::config_builder()
        .tls_config(tls)
        .proxy(proxy)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_idle_connections_per_host(pool.max(1))
        // ureq's default is 128 KiB each, zero-filled per connection, for the TCP and the TLS
        // layer: 512 KiB of page faults. 16 KiB holds any reply head and one TLS record; bodies
        // stream through it (bench/README.md, "Where the time goes").
        .input_buffer_size(16 << 10)
        .output_buffer_size(16 << 10)
        .user_agent(concat!("lambda-secrets/", env!("CARGO_PKG_VERSION")))
        .build();
    Agent::with_parts(config, DefaultConnector::default(), LiteralFirst::default())
}

/// ureq's resolver, except that an IP address needs no lookup: ureq starts a thread for every
/// lookup to enforce its timeout, which an address literal would pay for nothing
/// (bench/README.md, "Where the time goes"). Names still go through ureq's lookup and timeout.
#[derive(Debug, Default)]
struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri.host().and_then(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .ok()
        });
        let port = match uri.scheme_str() {
            Some("http") => uri.port_u16().or(Some(80)),
            Some("https") => uri.port_u16().or(Some(443)),
            _ => uri.port_u16(),
        };
        match (literal, port) {
            (Some(ip), Some(port)) => {
                let mut addrs = self.empty();
                addrs.push(std::net::SocketAddr::new(ip, port));
                Ok(addrs)
            }
            _ => self.0.resolve(uri, config, timeout),
        }
    }
}

fn load_bundle(path: &str) -> Result<RootCerts, Failure> {
    let bad = |m: &str| Failure::config(format!("AWS_CA_BUNDLE={path:?}: {m}"));
    let pem = std::fs::read(path).map_err(|e| bad(&format!("cannot read it ({e})")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(_) => return Err(bad("not a PEM certificate bundle")),
        }
    }
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate"));
    }
    Ok(RootCerts::new_with_certs(&certs))
}

/// curl's `NO_PROXY`: `*` matches all; otherwise an entry (a leading dot ignored) matches the host
/// itself and every name below it; IP addresses match exactly.
fn no_proxy_matches(entries: &[String], host: &str) -> bool {
    entries.iter().any(|e| {
        if e == "*" {
            return true;
        }
        let e = e.trim_start_matches('.');
        let e = e.trim_start_matches('[').trim_end_matches(']');
        host == e || (host.ends_with(e) && host[..host.len() - e.len()].ends_with('.'))
    })
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn read_reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, TransportError> {
    let mut resp = result.map_err(transport)?;
    let mut body = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| TransportError {
            retryable: true,
            message: format!("reading the reply failed ({})", io_kind(&e)),
        })?;
    if body.len() as u64 > MAX_BODY {
        return Err(TransportError {
            retryable: false,
            message: format!("reply larger than {MAX_BODY} bytes"),
        });
    }
    Ok(Reply {
        status: resp.status().as_u16(),
        request_id: header(&resp, "x-amzn-requestid").or_else(|| header(&resp, "x-amz-request-id")),
        error_type: header(&resp, "x-amzn-errortype"),
        retry_after_ms: header(&resp, "x-amz-retry-after").and_then(|v| v.parse().ok()),
        body,
    })
}

fn io_kind(e: &std::io::Error) -> String {
    // ureq wraps its own errors (timeouts among them) in io::Error when reading a body.
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
    {
        Some(inner) => describe(inner),
        None => e.kind().to_string(),
    }
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => io.kind().to_string(),
        other => other.to_string(),
    }
}

fn transport(e: ureq::Error) -> TransportError {
    use ureq::Error as E;
    let retryable = match &e {
        E::Timeout(_) | E::Io(_) | E::ConnectionFailed | E::HostNotFound | E::BodyStalled => true,
        E::Protocol(_) | E::ConnectProxyFailed(_) => true,
        // Certificates, bad URLs, and the like do not get better by trying again.
        _ => false,
    };
    TransportError {
        retryable,
        message: describe(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_like_curl() {
        let entries: Vec<String> = ["localhost", ".internal.example", "10.0.0.1", "[::1]"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for (host, want) in [
            ("localhost", true),
            ("internal.example", true),
            ("a.b.internal.example", true),
            ("notinternal.example", false),
            ("10.0.0.1", true),
            ("10.0.0.10", false),
            ("::1", true),
            ("secretsmanager.eu-west-1.amazonaws.com", false),
        ] {
            assert_eq!(no_proxy_matches(&entries, host), want, "{host}");
        }
        assert!(no_proxy_matches(&["*".to_string()], "anything"));
    }

    #[test]
    fn address_literals_need_no_lookup() {
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from_secs(1),
            reason: ureq::Timeout::Resolve,
            per_read: None,
            per_write: None,
        };
        let config = ureq::config::Config::default();
        for (url, want) in [
            ("https://127.0.0.1:8443/", "127.0.0.1:8443"),
            ("https://10.1.2.3/", "10.1.2.3:443"),
            ("http://10.1.2.3/", "10.1.2.3:80"),
            ("https://[::1]:9000/", "[::1]:9000"),
        ] {
            let uri: ureq::http::Uri = url.parse().unwrap();
            let got = LiteralFirst::default()
                .resolve(&uri, &config, timeout)
                .unwrap();
            assert_eq!(got.len(), 1, "{url}");
            assert_eq!(got[0].to_string(), want, "{url}");
        }
    }

    #[test]
    fn ca_bundle_errors_are_configuration() {
        let get = |k: &str| (k == "AWS_CA_BUNDLE").then(|| "/nonexistent/ca.pem".to_string());
        let e = Http::from_env(&get, 1).err().unwrap();
        assert_eq!(e.class, crate::error::Class::Config);
        assert!(e.message.starts_with("AWS_CA_BUNDLE"));
    }
}
