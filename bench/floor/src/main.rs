//! bench-floor: the least a client on this stack can do for the cold-start benchmark
//! (bench/README.md, "The floor"). It does exactly one thing: open one TLS 1.3 connection, send
//! one request the harness has already signed, read the reply, set the variables and exec the
//! runtime. No configuration, no retries, no threads, no timeouts, no proxies.
//!
//! Usage: bench-floor HOST:PORT CA_PEM REQUEST VAR=SECRET_ID... -- RUNTIME [ARGS...]
//!
//! REQUEST is the whole HTTP/1.1 request (head and body). The reply is a `GetSecretValue` reply
//! (one VAR) or a `BatchGetSecretValue` reply (its `SecretValues`, matched to VARs by `Name`).
//! Any failure exits 3 with one line on stderr.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{exit, Command};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

fn die(what: &str) -> ! {
    eprintln!("bench-floor: {what}");
    exit(3)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dash = args.iter().position(|a| a == "--").unwrap_or_else(|| die("usage"));
    if dash < 4 || dash + 1 >= args.len() {
        die("usage: bench-floor HOST:PORT CA_PEM REQUEST VAR=SECRET_ID... -- RUNTIME [ARGS...]");
    }
    let (addr, ca, request) = (&args[0], &args[1], &args[2]);
    let pairs: Vec<(&str, &str)> = args[3..dash]
        .iter()
        .map(|p| p.split_once('=').unwrap_or_else(|| die("VAR=SECRET_ID")))
        .collect();

    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap_or_else(|_| die("cannot read the CA file"));
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(cert.unwrap_or_else(|_| die("bad PEM")))
            .unwrap_or_else(|_| die("bad CA certificate"));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap_or_else(|_| die("TLS 1.3"))
    .with_root_certificates(roots)
    .with_no_client_auth();
    let host = addr.rsplit_once(':').unwrap_or_else(|| die("HOST:PORT")).0;
    let name = ServerName::try_from(host.to_string()).unwrap_or_else(|_| die("server name"));
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name)
        .unwrap_or_else(|e| die(&format!("TLS: {e}")));
    let mut sock = TcpStream::connect(addr.as_str()).unwrap_or_else(|e| die(&format!("connect: {e}")));
    sock.set_nodelay(true).ok();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(request.as_bytes())
        .unwrap_or_else(|e| die(&format!("write: {e}")));

    // The reply: head, then Content-Length bytes of body.
    let mut buf = Vec::with_capacity(16 << 10);
    let mut chunk = [0u8; 16 << 10];
    let mut want: Option<usize> = None;
    loop {
        if let Some(total) = want {
            if buf.len() >= total {
                break;
            }
        } else if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or_else(|_| die("reply head"));
            if !head.starts_with("HTTP/1.1 200 ") {
                die(&format!("reply: {}", head.lines().next().unwrap_or("")));
            }
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or_else(|| die("no Content-Length"));
            want = Some(end + 4 + len);
            continue;
        }
        let n = tls.read(&mut chunk).unwrap_or_else(|e| die(&format!("read: {e}")));
        if n == 0 {
            die("connection closed early");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let start = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let reply: serde_json::Value =
        serde_json::from_slice(&buf[start..]).unwrap_or_else(|_| die("reply is not JSON"));

    let mut cmd = Command::new(&args[dash + 1]);
    cmd.args(&args[dash + 2..]);
    let value = |v: &serde_json::Value| -> String {
        v["SecretString"].as_str().unwrap_or_else(|| die("no SecretString")).to_string()
    };
    match reply.get("SecretValues").and_then(|v| v.as_array()) {
        None if pairs.len() == 1 => {
            cmd.env(pairs[0].0, value(&reply));
        }
        None => die("not a BatchGetSecretValue reply"),
        Some(values) => {
            for (var, id) in &pairs {
                let v = values
                    .iter()
                    .find(|v| v["Name"].as_str() == Some(id))
                    .unwrap_or_else(|| die("a secret is missing from the reply"));
                cmd.env(var, value(v));
            }
        }
    }
    let err = cmd.exec();
    die(&format!("exec: {err}"))
}
