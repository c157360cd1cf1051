//! Entry points for the fuzz targets in `fuzz/` (not a stable API): every parser of input that
//! comes from outside, fed arbitrary bytes. Each must return, never panic; each also checks what
//! it parsed against an oracle (serde_json's own reading, the README's value rules) and panics on
//! a mismatch, which is how a fuzzer sees a wrong answer. `tests/fuzz_corpus.rs` replays the
//! committed corpus through the same `*_input` functions the fuzz targets call.
//!
//! The oracle's asserts print what they compare: only fuzz inputs reach this module, and `run`
//! never calls it.

use crate::aws::{self, Service};
use crate::config::{self, Origin, Reference, Targets, Version};
use crate::error::{Class, Error};
use crate::sensitive::Sensitive;
use crate::sm;
use crate::values::Payload;
use serde_json::Value;

/// One fuzz input as `LAMBDA_SECRETS`: the binary refuses text that is not UTF-8 before
/// parsing, so only UTF-8 reaches the parser.
pub fn lambda_secrets_input(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        lambda_secrets(text);
    }
}

/// `LAMBDA_SECRETS` text.
pub fn lambda_secrets(text: &str) {
    match config::parse_targets(text) {
        Err(e) => {
            assert_eq!(
                e.class(),
                Class::Config,
                "a LAMBDA_SECRETS refusal is a configuration error"
            );
            let message = e.to_string();
            assert!(message.starts_with("LAMBDA_SECRETS: "), "{message}");
        }
        Ok(None) => {
            let empty = text.trim().is_empty()
                || match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(m)) => m.is_empty(),
                    Ok(Value::Array(a)) => a.is_empty(),
                    _ => false,
                };
            assert!(
                empty,
                "nothing to fetch, but LAMBDA_SECRETS names something"
            );
        }
        Ok(Some(targets)) => {
            if let Targets::Named(named) = &targets {
                assert!(!named.is_empty());
                for (i, (name, _)) in named.iter().enumerate() {
                    assert!(config::refusal(name).is_none(), "{name:?} accepted");
                    assert!(named[..i].iter().all(|(n, _)| n != name), "{name:?} twice");
                }
            }
            let array = matches!(targets, Targets::Expand(_));
            for r in targets.references() {
                check_reference(r, array);
            }
        }
    }
}

fn check_reference(r: &Reference, array: bool) {
    assert!(r.json_key.as_deref().is_none_or(|k| !k.is_empty()));
    assert!(!array || r.json_key.is_none());
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
    };
    match &r.origin {
        Origin::Secret { id, version } => {
            assert!(!id.is_empty());
            match &r.arn_region {
                Some(region) => {
                    let f: Vec<&str> = id.split(':').collect();
                    assert!(f.len() == 7 && f[0] == "arn" && f[2] == "secretsmanager");
                    assert!(f[5] == "secret" && !f[1].is_empty() && !f[6].is_empty());
                    assert!(f[3] == region.as_str());
                }
                None => assert!(!id.contains(':') && !id.starts_with("arn:")),
            }
            if let Version::Stage(s) | Version::Id(s) = version {
                assert!(!s.is_empty());
            }
        }
        Origin::Parameter {
            sent,
            name,
            selector,
        } => {
            assert!(name_ok(name) && !name.ends_with('/'), "{name:?}");
            assert!(
                selector
                    .as_deref()
                    .is_none_or(|s| !s.is_empty() && !s.contains(':'))
            );
            match &r.arn_region {
                Some(region) => {
                    let f: Vec<&str> = sent.split(':').collect();
                    assert!(
                        f.len() == 6 && f[0] == "arn" && f[2] == "ssm" && f[3] == region.as_str()
                    );
                    let rest = f[5].strip_prefix("parameter/").expect("a parameter ARN");
                    assert_eq!(name.trim_start_matches('/'), rest);
                }
                None => assert_eq!(sent, name),
            }
        }
        Origin::Path { path } => {
            assert!(array, "a path outside the array form");
            assert!(name_ok(path) && path.ends_with('/') && r.json_key.is_none());
            assert!(r.arn_region.is_none());
        }
    }
}

/// One fuzz input as a reply: an optional first line `STATUS[ X-AMZN-ERRORTYPE]` (at most
/// 128 bytes, status a number), then the body. Without that line: status 200, no header.
pub fn reply_input(data: &[u8]) {
    let (status, error_type, body) = frame(data);
    reply(status, error_type, body);
}

/// Splits a fuzz input into status, error type header and body (see `reply_input`).
fn frame(data: &[u8]) -> (u16, Option<String>, &[u8]) {
    data.iter()
        .position(|&b| b == b'\n')
        .filter(|&i| i <= 128)
        .and_then(|i| {
            let line = std::str::from_utf8(&data[..i]).ok()?;
            let (status, error_type) = line.split_once(' ').unwrap_or((line, ""));
            let status = status.parse::<u16>().ok()?;
            let error_type = (!error_type.is_empty()).then(|| error_type.to_string());
            Some((status, error_type, &data[i + 1..]))
        })
        .unwrap_or((200, None, data))
}

/// A Secrets Manager reply body, as a success of either operation and as an error, and a
/// secret string through every value rule.
pub fn reply(status: u16, error_type: Option<String>, body: &[u8]) {
    if let Ok(v) = sm::parse_get(body) {
        check_payload(&v.payload);
    }
    if let Ok(b) = sm::parse_batch(body) {
        for v in &b.values {
            let _ = sm::names("arn:aws:secretsmanager:r:1:secret:x", v);
            check_payload(&v.payload);
        }
        for e in &b.errors {
            check_code(&e.code);
            check_message(&e.message);
            let _ = Service::SecretsManager.classify(&e.code, 200);
        }
    }
    check_error(Service::SecretsManager, status, error_type, body);
    if let Ok(text) = std::str::from_utf8(body) {
        check_payload(&Payload::String(Sensitive::new(text.to_string())));
    }
}

/// One fuzz input as a Parameter Store reply, framed like `reply_input`.
pub fn ssm_reply_input(data: &[u8]) {
    let (status, error_type, body) = frame(data);
    ssm_reply(status, error_type, body);
}

/// A Parameter Store reply body, as a success of both operations and as an error: every parsed
/// parameter has a name and its value is a JSON parameter value run through the value rules; the
/// settlement of a `GetParameters` reply gives one entry a name asked for, each returned value
/// used at most once; a path's leaf is the last segment of a name.
pub fn ssm_reply(status: u16, error_type: Option<String>, body: &[u8]) {
    use crate::ssm::{self, Asked, Entry};
    if let Ok(reply) = ssm::parse_parameters(body) {
        let names: Vec<String> = reply.parameters.iter().map(|p| p.name.clone()).collect();
        for p in &reply.parameters {
            assert!(p.version.len() <= 128);
            check_payload(&Payload::String(p.value.clone()));
        }
        let mut asked: Vec<Asked> = names
            .iter()
            .take(10)
            .map(|n| Asked {
                sent: n,
                name: n,
                selector: None,
            })
            .collect();
        asked.push(Asked {
            sent: "/not/asked/for",
            name: "/not/asked/for",
            selector: Some("1"),
        });
        let returned = reply.parameters.len();
        let entries = ssm::settle(&asked, reply);
        assert_eq!(entries.len(), asked.len());
        let values = entries
            .iter()
            .filter(|e| matches!(e, Entry::Value(_)))
            .count();
        assert!(values <= returned);
    }
    if let Ok(page) = ssm::parse_path(body) {
        for p in &page.parameters {
            let leaf = ssm::leaf(&p.name);
            assert!(!leaf.contains('/') && p.name.ends_with(leaf));
        }
        assert!(page.next_token.as_deref().is_none_or(|t| !t.is_empty()));
    }
    check_error(Service::Ssm, status, error_type, body);
}

/// The body and headers read as `service`'s error reply: a bounded code and a one-line message.
fn check_error(service: Service, status: u16, error_type: Option<String>, body: &[u8]) {
    let reply = crate::http::Reply {
        status,
        request_id: None,
        error_type,
        retry_after_ms: None,
        server_date: None,
        body: body.to_vec(),
    };
    let Error::Service { code, message, .. } = aws::parse_error(service, &reply) else {
        panic!("an error reply is a service error")
    };
    if code != format!("HTTP {status}") {
        check_code(&code);
    }
    check_message(&message);
}

/// Error codes are printed and matched: a bounded identifier.
fn check_code(code: &str) {
    assert!(code.len() <= 100, "code of {} bytes", code.len());
    assert!(
        code.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'),
        "code {code:?}"
    );
}

/// AWS's messages are printed on one log line: bounded, no control characters.
fn check_message(m: &str) {
    assert!(m.chars().count() <= 300);
    assert!(!m.chars().any(|c| c.is_control()), "message {m:?}");
}

/// What the value rules must give for one top-level value written as `raw`, with
/// serde_json's reading of that value as the oracle: a string as decoded; any other value
/// as written, white space outside strings removed (which must mean the same value); a NUL
/// byte or a string serde_json cannot decode is a data error.
fn expected(raw: &str) -> Option<String> {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::String(s)) => (!s.contains('\0')).then_some(s),
        Ok(other) => {
            let text = crate::json::compact(raw);
            let again: Value = serde_json::from_str(&text).expect("compact text parses");
            assert_eq!(again, other, "compact text changed the value");
            Some(text)
        }
        Err(_) if raw.starts_with('"') => None,
        // Valid JSON serde_json will not hold in a Value (a number out of f64's range, a
        // lone surrogate escape deep inside): injected as written.
        Err(_) => Some(crate::json::compact(raw)),
    }
}

fn check_payload(payload: &Payload) {
    use crate::values::{expand, select};
    let text = match payload {
        Payload::Binary(b) => {
            let whole = select(payload, None).map(Sensitive::into_inner);
            assert_eq!(
                whole.ok().as_deref(),
                (!b.expose().contains('\0')).then(|| b.expose())
            );
            assert!(select(payload, Some("k")).is_err() && expand(payload).is_err());
            return;
        }
        Payload::String(s) => s.expose(),
        Payload::Path(_) => {
            assert!(select(payload, None).is_err() && expand(payload).is_err());
            return;
        }
    };
    let whole = select(payload, None).map(Sensitive::into_inner);
    assert_eq!(
        whole.ok().as_deref(),
        (!text.contains('\0')).then_some(text)
    );
    let Ok(entries) = crate::json::object_entries(text) else {
        assert!(
            select(payload, Some("k")).is_err(),
            "a key selected from a non-object"
        );
        assert!(expand(payload).is_err(), "a non-object expanded");
        return;
    };
    // Per key, in the order first written, the last value written (as any JSON reader).
    let mut want: Vec<(String, Option<String>)> = Vec::new();
    for (key, raw) in &entries {
        let value = expected(raw.get());
        match want.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => want.push((key.clone(), value)),
        }
    }
    for (key, value) in want.iter().take(8) {
        let got = select(payload, Some(key)).map(Sensitive::into_inner);
        assert_eq!(got.ok().as_ref(), value.as_ref(), "key {key:?}");
    }
    if !want.iter().any(|(k, _)| k == "k") {
        assert!(
            select(payload, Some("k")).is_err(),
            "a missing key selected"
        );
    }
    let expanded = expand(payload).ok().map(|v| {
        v.into_iter()
            .map(|(k, v)| (k, Some(v.into_inner())))
            .collect::<Vec<_>>()
    });
    let all_ok = want.iter().all(|(_, v)| v.is_some());
    assert_eq!(
        expanded,
        all_ok.then_some(want),
        "expand disagrees with select"
    );
}
