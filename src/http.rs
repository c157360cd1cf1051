//! The HTTP client: the only module that imports ureq (and rustls, to read what ureq hands back).
//!
//! One `Http` (one connection pool per route) is shared by all worker threads. TLS is always
//! verified, against the compiled-in Mozilla roots or, when `AWS_CA_BUNDLE` is set, against the
//! certificates of that PEM file only. Proxies are read as curl reads them (README, "Options"):
//! `https_proxy`, `HTTPS_PROXY`, then `all_proxy`, `ALL_PROXY` for an https endpoint (`http_proxy`
//! only, then the `all_proxy` pair, for plain http); `no_proxy` before `NO_PROXY`; an empty
//! variable counts as unset. Failures say where the request went and what kind of failure it was.

use crate::endpoint::{Url, redact};
use crate::error::Error;
use std::io::Read;
use std::time::{Duration, SystemTime};
use ureq::tls::{RootCerts, TlsConfig};
use ureq::{Agent, Proxy};

/// Largest reply read: 20 secrets of 64 KiB, base64-encoded, fit with room to spare.
const MAX_BODY: u64 = 4 << 20;
/// Largest `AWS_CA_BUNDLE` read (Mozilla's whole bundle is about 220 KB).
const MAX_BUNDLE: u64 = 1 << 20;

/// What came back from a server, whatever its status.
pub struct Reply {
    pub status: u16,
    /// `x-amzn-RequestId` (or `x-amz-request-id`), cleaned (`aws::clean_id`).
    pub request_id: Option<String>,
    /// `X-Amzn-Errortype`.
    pub error_type: Option<String>,
    /// `x-amz-retry-after`, in milliseconds.
    pub retry_after_ms: Option<u64>,
    /// The server's `Date` header, to say how far off the clock is after a signature error.
    pub server_date: Option<SystemTime>,
    pub body: Vec<u8>,
}

/// A proxy and, for messages, its `host:port` (never its user information).
struct ProxyUse {
    proxy: Proxy,
    at: String,
}

/// The proxies, parsed once.
struct ProxyRule {
    https: Option<ProxyUse>,
    http: Option<ProxyUse>,
    /// `no_proxy`/`NO_PROXY` as written.
    no_proxy: Option<String>,
}

pub struct Http {
    direct: Agent,
    /// Agents through the proxy, built on first use: (https, http).
    proxied: [std::sync::OnceLock<Agent>; 2],
    proxy: ProxyRule,
    tls: TlsConfig,
    pool: usize,
}

/// The first of `names` set to something other than white space, with its name (curl: an empty
/// variable is unset).
fn first_set(
    get: &dyn Fn(&str) -> Option<String>,
    names: &[&'static str],
) -> Option<(&'static str, String)> {
    names.iter().find_map(|&n| {
        get(n)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|v| (n, v))
    })
}

/// A proxy URL as curl takes it: no scheme means `http://`. Only HTTP CONNECT proxies (`http://`,
/// `https://`) are supported; any other scheme is refused here, before any request. The value is
/// never printed whole: it may carry a password.
fn parse_proxy(name: &str, value: &str) -> Result<ProxyUse, Error> {
    let shown = redact(value);
    let bad = |m: &str| Error::Config(format!("{name}={shown:?}: {m}"));
    let with_scheme = match value.split_once("://") {
        None => format!("http://{value}"),
        Some((scheme, _)) => match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => value.to_string(),
            "socks" | "socks4" | "socks4a" | "socks5" | "socks5h" => {
                return Err(bad(
                    "SOCKS proxies are not supported; use an HTTP CONNECT proxy (http://host:port)",
                ));
            }
            _ => return Err(bad("unsupported proxy scheme; use http://host:port")),
        },
    };
    if with_scheme.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(bad("not a usable proxy URL"));
    }
    let proxy = Proxy::new(&with_scheme).map_err(|_| bad("not a usable proxy URL"))?;
    if proxy.host().is_empty() {
        return Err(bad("not a usable proxy URL"));
    }
    let at = if proxy.host().contains(':') {
        format!("[{}]:{}", proxy.host(), proxy.port())
    } else {
        format!("{}:{}", proxy.host(), proxy.port())
    };
    Ok(ProxyUse { proxy, at })
}

impl Http {
    /// Reads `AWS_CA_BUNDLE` and the proxy variables. `pool` is the most idle connections kept per
    /// host (the concurrency).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>, pool: usize) -> Result<Http, Error> {
        let roots = match get("AWS_CA_BUNDLE").filter(|p| !p.trim().is_empty()) {
            None => RootCerts::WebPki,
            Some(path) => load_bundle(&path)?,
        };
        let tls = TlsConfig::builder().root_certs(roots).build();
        let proxy = |names: &[&'static str]| -> Result<Option<ProxyUse>, Error> {
            first_set(get, names)
                .map(|(name, value)| parse_proxy(name, &value))
                .transpose()
        };
        let proxy = ProxyRule {
            https: proxy(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"])?,
            // curl reads only the lower-case name for plain http (httpoxy).
            http: proxy(&["http_proxy", "all_proxy", "ALL_PROXY"])?,
            // Taken as written: curl compares the whole value with `*`, blanks and all.
            no_proxy: ["no_proxy", "NO_PROXY"]
                .iter()
                .find_map(|&n| get(n).filter(|v| !v.is_empty())),
        };
        Ok(Http {
            direct: agent(tls.clone(), None, pool),
            proxied: Default::default(),
            proxy,
            tls,
            pool,
        })
    }

    /// The agent for `url`, and the proxy it goes through (`host:port`), if any.
    fn agent_for(&self, url: &Url, allow_proxy: bool) -> (&Agent, Option<&str>) {
        let no_proxy = self.proxy.no_proxy.as_deref().unwrap_or("");
        if !allow_proxy || no_proxy_matches(no_proxy, &url.host) {
            return (&self.direct, None);
        }
        let (slot, proxy) = if url.https {
            (&self.proxied[0], &self.proxy.https)
        } else {
            (&self.proxied[1], &self.proxy.http)
        };
        match proxy {
            Some(p) => (
                slot.get_or_init(|| agent(self.tls.clone(), Some(p.proxy.clone()), self.pool)),
                Some(&p.at),
            ),
            None => (&self.direct, None),
        }
    }

    /// POSTs `body` with `headers`, within `timeout`.
    pub fn post(
        &self,
        url: &Url,
        headers: &[(String, String)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let (agent, proxy) = self.agent_for(url, true);
        let req = agent.post(url.as_string());
        let route = Route { url, proxy };
        read_reply(prepare(req, headers, timeout).send(body), &route)
    }

    /// GETs `url` (the container credentials endpoint: never through a proxy).
    pub fn get(
        &self,
        url: &Url,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let (agent, proxy) = self.agent_for(url, false);
        let req = agent.get(url.as_string());
        let route = Route { url, proxy };
        read_reply(prepare(req, headers, timeout).call(), &route)
    }
}

fn prepare<B>(
    req: ureq::RequestBuilder<B>,
    headers: &[(String, String)],
    timeout: Duration,
) -> ureq::RequestBuilder<B> {
    // The connection gets most of the attempt's time, so that a connection that cannot be made
    // is reported as such (and not as the request timing out) when name resolution was quick.
    let mut req = req
        .config()
        .timeout_global(Some(timeout))
        .timeout_connect(Some(timeout - timeout / 10))
        .build();
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    req
}

fn agent(tls: TlsConfig, proxy: Option<Proxy>, pool: usize) -> Agent {
    Agent::config_builder()
        .tls_config(tls)
        .proxy(proxy)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_idle_connections_per_host(pool.max(1))
        // ureq's default is 128 KiB each, zero-filled per connection, for the TCP and the TLS
        // layer: 512 KiB of page faults (bench/README.md, "Where the time goes"). The input
        // buffer must hold a whole reply head: 64 KiB, ureq's own cap on response headers, so a
        // server's oversized head meets that cap and its error, not a smaller buffer. Our
        // requests stream through 16 KiB.
        .input_buffer_size(64 << 10)
        .output_buffer_size(16 << 10)
        .user_agent(concat!("lambda-secrets/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Reads a small configuration file without ever blocking or reading without end: it must be a
/// regular file (a FIFO or a device is refused before it is read, and it is opened non-blocking
/// so that one swapped in meanwhile cannot block either), of at most `cap` bytes. `refuse` turns
/// the reason into the caller's error (the file's variable decides the exit code).
pub fn read_config_file(
    path: &str,
    cap: u64,
    refuse: impl Fn(String) -> Error,
) -> Result<Vec<u8>, Error> {
    read_bounded(path, cap).map_err(refuse)
}

fn read_bounded(path: &str, cap: u64) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    /// `O_NONBLOCK` on Linux (x86_64 and aarch64): opening a FIFO then returns at once.
    const O_NONBLOCK: i32 = 0o4000;
    let not_regular = "not a regular file".to_string();
    match std::fs::metadata(path) {
        Err(e) => return Err(format!("cannot be read ({})", e.kind())),
        Ok(m) if !m.is_file() => return Err(not_regular),
        Ok(_) => {}
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot be read ({})", e.kind()))?;
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        _ => return Err(not_regular),
    }
    let mut data = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot be read ({})", e.kind()))?;
    if data.len() as u64 > cap {
        return Err(format!("larger than {cap} bytes"));
    }
    Ok(data)
}

/// The bundle's certificates, each checked now with rustls's own root store, so that one it
/// cannot use is a configuration error before any request rather than a failure of every
/// connection.
fn load_bundle(path: &str) -> Result<RootCerts, Error> {
    let bad = |m: &str| Error::Config(format!("AWS_CA_BUNDLE={path:?}: {m}"));
    let pem = read_config_file(path, MAX_BUNDLE, |m| bad(&m))?;
    let mut certs = Vec::new();
    let mut store = rustls::RootCertStore::empty();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => {
                let der = rustls::pki_types::CertificateDer::from(c.der());
                if store.add(der).is_err() {
                    return Err(bad(&format!(
                        "certificate {} cannot be parsed as an X.509 certificate",
                        certs.len() + 1
                    )));
                }
                certs.push(c);
            }
            Ok(_) => {}
            Err(_) => return Err(bad("not a PEM certificate bundle")),
        }
    }
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate"));
    }
    Ok(RootCerts::new_with_certs(&certs))
}

/// curl's `NO_PROXY` (7.86 and later): the whole value `*` matches every host; otherwise entries
/// are separated by commas or blanks. A host name matches an entry equal to it or a domain above
/// it (a leading and a trailing dot of the entry ignored); an IPv4 address matches an address or
/// a CIDR block (`10.0.0.0/8`; `/0` means the address alone, as in curl). An IPv6 address is
/// compared the same way, written with or without brackets (as curl 8 does).
fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    use std::net::IpAddr;
    if no_proxy == "*" {
        return true;
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split([',', ' ', '\t'])
        .filter(|t| !t.is_empty())
        .any(|token| match ip {
            Some(ip) => {
                let token = token.trim_start_matches('[');
                let (addr, bits) = match token.split_once('/') {
                    Some((a, b)) => (a, b.parse::<u32>().unwrap_or(0)),
                    None => (token, 0),
                };
                let addr = addr.trim_end_matches(']');
                match addr.parse::<IpAddr>() {
                    Ok(net) => cidr_match(ip, net, bits),
                    Err(_) => false,
                }
            }
            None => {
                let t = token.to_ascii_lowercase();
                let t = t.strip_suffix('.').unwrap_or(&t);
                let t = t.strip_prefix('.').unwrap_or(t);
                !t.is_empty()
                    && (host == t
                        || (host.len() > t.len()
                            && host.ends_with(t)
                            && host.as_bytes()[host.len() - t.len() - 1] == b'.'))
            }
        })
}

/// Whether `ip` lies in `net/bits`; 0 bits (or none) means `net` alone, as curl reads it.
fn cidr_match(ip: std::net::IpAddr, net: std::net::IpAddr, bits: u32) -> bool {
    use std::net::IpAddr::{V4, V6};
    let (a, b, width) = match (ip, net) {
        (V4(a), V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (V6(a), V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let bits = if bits == 0 { width } else { bits };
    let shift = width - bits;
    (a >> shift) == (b >> shift)
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Where a request went, for messages: the endpoint and the proxy it went through.
struct Route<'a> {
    url: &'a Url,
    proxy: Option<&'a str>,
}

impl Route<'_> {
    /// `host:port` of the endpoint, and the proxy when there is one.
    fn at(&self) -> String {
        let host = if self.url.host.contains(':') {
            format!("[{}]", self.url.host)
        } else {
            self.url.host.clone()
        };
        let port = self
            .url
            .port
            .unwrap_or(if self.url.https { 443 } else { 80 });
        match self.proxy {
            Some(p) => format!("{host}:{port} (through the proxy at {p})"),
            None => format!("{host}:{port}"),
        }
    }
}

fn read_reply(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    route: &Route,
) -> Result<Reply, Error> {
    let mut resp = result.map_err(|e| transport(e, route))?;
    let mut body = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| Error::Transport {
            retryable: true,
            message: format!(
                "reading the reply failed ({} from {})",
                io_kind(&e),
                route.at()
            ),
        })?;
    if body.len() as u64 > MAX_BODY {
        return Err(Error::Transport {
            retryable: false,
            message: format!("reply from {} larger than {MAX_BODY} bytes", route.at()),
        });
    }
    Ok(Reply {
        status: resp.status().as_u16(),
        request_id: header(&resp, "x-amzn-requestid")
            .or_else(|| header(&resp, "x-amz-request-id"))
            .map(|id| crate::aws::clean_id(&id))
            .filter(|id| !id.is_empty()),
        error_type: header(&resp, "x-amzn-errortype"),
        retry_after_ms: header(&resp, "x-amz-retry-after").and_then(|v| v.parse().ok()),
        server_date: header(&resp, "date").and_then(|d| http_date(&d)),
        body,
    })
}

/// An HTTP date in its one current form (RFC 9110, IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(s: &str) -> Option<SystemTime> {
    let mut it = s.split(' ');
    let (_, day, month, year, time, zone) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    if it.next().is_some() || zone != "GMT" {
        return None;
    }
    let num = |t: &str| -> Option<u64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let day = num(day)?;
    let year = num(year)?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|&m| m == month)? as u64 + 1;
    let mut hms = time.split(':');
    let (h, m, sec) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
    if hms.next().is_some() || !(1970..=9999).contains(&year) || !(1..=31).contains(&day) {
        return None;
    }
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // Days since 1970-01-01 from a civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let secs = days * 86_400 + h * 3600 + m * 60 + sec;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

fn io_kind(e: &std::io::Error) -> String {
    // ureq wraps its own errors (timeouts among them) in io::Error when reading a body.
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
    {
        Some(ureq::Error::Timeout(_)) => "timed out".into(),
        Some(ureq::Error::Io(io)) => io.kind().to_string(),
        Some(_) => "a protocol error".into(),
        None => e.kind().to_string(),
    }
}

/// A certificate or handshake failure, in words a user can act on.
fn tls_words(e: &rustls::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    let clock = "or the system clock is wrong";
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => format!(
                "certificate not trusted (unknown issuer) for {host}: set AWS_CA_BUNDLE if a proxy inspects TLS"
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("the server's certificate is not valid for the name {host}")
            }
            C::Expired | C::ExpiredContext { .. } => {
                format!("the certificate of {host} has expired, {clock}")
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                format!("the certificate of {host} is not valid yet, {clock}")
            }
            C::Revoked => format!("the certificate of {host} is revoked"),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                format!("the certificate of {host} is not for a TLS server")
            }
            C::BadSignature | C::UnsupportedSignatureAlgorithmContext { .. } => {
                format!("the certificate of {host} has a signature that cannot be verified")
            }
            _ => format!("the certificate of {host} was refused (bad or unsupported certificate)"),
        },
        rustls::Error::NoCertificatesPresented => format!("{host} presented no certificate"),
        rustls::Error::AlertReceived(a) => {
            format!("{host} refused the TLS handshake (alert {a:?})")
        }
        rustls::Error::PeerIncompatible(_) => {
            format!("{host} offers no TLS version or cipher suite in common")
        }
        _ => format!("the TLS handshake with {host} failed (the peer misbehaved)"),
    }
}

/// A failed request in words: where it went (`host:port`, and the proxy) and what kind of failure
/// it was. Only what may get better with time is retried: DNS, connections, timeouts, resets;
/// never certificates or a TLS handshake that was refused.
fn transport(e: ureq::Error, route: &Route) -> Error {
    use std::io::ErrorKind as K;
    use ureq::Error as E;
    let at = route.at();
    let host = &route.url.host;
    let (retryable, message) = match &e {
        E::HostNotFound => (true, format!("DNS resolution failed for {at}")),
        E::Timeout(ureq::Timeout::Connect) => (
            true,
            format!(
                "connecting to {at} timed out: a function in a VPC needs a NAT gateway or an interface VPC endpoint for secretsmanager (and ssm) to reach AWS"
            ),
        ),
        E::Timeout(ureq::Timeout::Resolve) => (true, format!("DNS resolution timed out for {at}")),
        E::Timeout(_) => (true, format!("request to {at} timed out")),
        E::Io(io) => match io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => (false, format!("TLS: {}", tls_words(tls, host))),
            // std's getaddrinfo failure: an uncategorized error with this text.
            None if io
                .to_string()
                .starts_with("failed to lookup address information") =>
            {
                let why = io.to_string();
                let why = why.rsplit(": ").next().unwrap_or_default();
                (
                    true,
                    format!(
                        "DNS resolution failed for {at} ({})",
                        crate::aws::clean_message(why)
                    ),
                )
            }
            None => match io.kind() {
                K::ConnectionRefused => (true, format!("connection refused by {at}")),
                K::ConnectionReset => (true, format!("connection reset by {at}")),
                K::ConnectionAborted => (true, format!("connection aborted by {at}")),
                K::TimedOut => (true, format!("request to {at} timed out")),
                K::UnexpectedEof => (true, format!("connection closed early by {at}")),
                K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown => {
                    (true, format!("no route to {at} ({})", io.kind()))
                }
                kind => (true, format!("network error with {at} ({kind})")),
            },
        },
        E::Tls(_) => (
            false,
            format!("TLS: {host} is not a name a certificate can be checked for"),
        ),
        E::ConnectionFailed | E::BodyStalled => (true, format!("connection to {at} failed")),
        E::Protocol(_) => (
            true,
            format!("{at} answered with something that is not HTTP/1.1"),
        ),
        E::LargeResponseHeader(..) => (true, format!("{at} answered with too large a header")),
        // The proxy's status line is its own text: not repeated.
        E::ConnectProxyFailed(_) => (true, format!("the proxy refused to connect to {at}")),
        // A URL or header ureq could not use: nothing another attempt can change.
        _ => (false, format!("the request to {at} could not be made")),
    };
    Error::Transport { retryable, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_like_curl() {
        // Each case checked against curl 7.88 (tests/integration/test_hostile.py runs the IPv4
        // and host-name ones against the curl on the machine).
        for (no_proxy, host, want) in [
            ("localhost", "localhost", true),
            (".internal.example", "internal.example", true),
            ("internal.example", "a.b.internal.example", true),
            ("internal.example.", "a.internal.example", true),
            ("internal.example", "notinternal.example", false),
            ("Internal.Example", "internal.example", true),
            ("10.0.0.1", "10.0.0.1", true),
            ("10.0.0.1", "10.0.0.10", false),
            ("127.0.0.0/8", "127.0.0.1", true),
            ("127.0.1.0/24", "127.0.0.1", false),
            ("127.0.0.0/0", "127.0.0.1", false),
            ("127.0.0.1.", "127.0.0.1", false),
            ("localhost", "127.0.0.1", false),
            ("example.com 127.0.0.1", "127.0.0.1", true),
            ("example.com,,\t10.1.2.3", "10.1.2.3", true),
            ("example.com,*", "127.0.0.1", false),
            (" * ", "127.0.0.1", false),
            ("*", "anything", true),
            ("[::1]", "::1", true),
            ("::1", "::1", true),
            ("fd00::/8", "fd00:ec2::23", true),
            (
                "secretsmanager.eu-west-1.amazonaws.com",
                "secretsmanager.eu-west-1.amazonaws.com",
                true,
            ),
            (
                "amazonaws.com",
                "secretsmanager.eu-west-1.amazonaws.com",
                true,
            ),
            ("", "localhost", false),
        ] {
            assert_eq!(
                no_proxy_matches(no_proxy, host),
                want,
                "{no_proxy:?} {host}"
            );
        }
    }

    #[test]
    fn proxies_are_read_like_curl() {
        let http = |pairs: &[(&str, &str)]| Http::from_env(&crate::test_env(pairs), 1);
        let at = |h: &Http| h.proxy.https.as_ref().map(|p| p.at.clone());
        let h = http(&[
            ("HTTPS_PROXY", "http://u:p@upper:1"),
            ("https_proxy", "lower:2"),
        ])
        .unwrap();
        assert_eq!(at(&h).as_deref(), Some("lower:2"));
        let h = http(&[("https_proxy", ""), ("HTTPS_PROXY", "upper:1")]).unwrap();
        assert_eq!(at(&h).as_deref(), Some("upper:1"));
        let h = http(&[("ALL_PROXY", "all:3")]).unwrap();
        assert_eq!(at(&h).as_deref(), Some("all:3"));
        assert_eq!(h.proxy.http.as_ref().map(|p| p.at.as_str()), Some("all:3"));
        let h = http(&[("HTTP_PROXY", "upper:1")]).unwrap();
        assert!(h.proxy.http.is_none() && h.proxy.https.is_none());
        let h = http(&[("NO_PROXY", ""), ("no_proxy", "a")]).unwrap();
        assert_eq!(h.proxy.no_proxy.as_deref(), Some("a"));
        let h = http(&[("NO_PROXY", "b"), ("no_proxy", "a")]).unwrap();
        assert_eq!(h.proxy.no_proxy.as_deref(), Some("a"));
        for bad in [
            "socks5h://127.0.0.1:1080",
            "SOCKS5://u:secret@127.0.0.1:1080",
            "socks4://x:1",
            "ftp://x:1",
            "http://a b:1",
            "http://",
        ] {
            let e = http(&[("HTTPS_PROXY", bad)]).err().expect(bad);
            assert_eq!(e.class(), crate::error::Class::Config, "{bad}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }

    #[test]
    fn http_dates() {
        let at =
            |s| http_date(s).map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            at("Sat, 28 Nov 2026 01:01:01 GMT"),
            Some(1_795_824_000 + 3661)
        );
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 25:00:00 GMT",
            "Sun, -1 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn config_files_are_bounded() {
        assert_eq!(
            read_bounded("/dev/zero", 10).unwrap_err(),
            "not a regular file"
        );
        let dir = std::env::temp_dir().join(format!("ls-cfg-{}", std::process::id()));
        std::fs::write(&dir, [b'x'; 11]).unwrap();
        let path = dir.to_str().unwrap();
        assert_eq!(read_bounded(path, 10).unwrap_err(), "larger than 10 bytes");
        assert_eq!(read_bounded(path, 11).unwrap().len(), 11);
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn ca_bundle_errors_are_configuration() {
        let get = |k: &str| (k == "AWS_CA_BUNDLE").then(|| "/nonexistent/ca.pem".to_string());
        let e = Http::from_env(&get, 1).err().unwrap();
        assert_eq!(e.class(), crate::error::Class::Config);
        assert!(e.to_string().starts_with("AWS_CA_BUNDLE"));
    }
}
