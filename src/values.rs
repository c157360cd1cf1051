//! The value rules (README, "`LAMBDA_SECRETS`"): what a fetched secret becomes as environment
//! variables, and the settling of every reference into the variables to set or the errors that
//! stop the command.
//!
//! Errors name variables, secrets and keys and say what is wrong; they never quote a value.

use crate::config::{Reference, Targets, refusal_from_data};
use crate::error::Error;
use crate::json::{compact, object_entries};
use crate::log::Log;
use crate::sensitive::Sensitive;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// A secret's or parameter's value as the API returned it.
#[derive(Debug)]
pub enum Payload {
    String(Sensitive),
    /// `SecretBinary`, still base64 as on the wire.
    Binary(Sensitive),
    /// Every parameter directly under a path, each one variable.
    Path(Vec<PathEntry>),
}

/// One parameter under a path.
#[derive(Debug)]
pub struct PathEntry {
    pub name: String,
    pub version: String,
    pub value: Sensitive,
}

/// One fetched secret, parameter or path, as the value rules see it.
#[derive(Debug)]
pub struct Fetched {
    /// The version id or number, for `--check`.
    pub version: String,
    pub payload: Payload,
}

/// What the command gets.
#[derive(Debug, Default)]
pub struct Injection {
    /// Variables to set, by name.
    pub vars: Vec<(String, Sensitive)>,
    /// `--check` lines: `NAME<TAB>SECRET_ID or ssm:PARAMETER<TAB>VERSION`.
    pub lines: Vec<String>,
}

/// Applies the value rules to each reference of `targets`, given its fetched outcome (in the
/// order of `Targets::references`). Optional references that fail are warned about and left
/// out; every failure of a required one is returned.
pub fn settle(
    targets: &Targets,
    outcomes: &[&Result<Fetched, Error>],
    log: &Log,
) -> Result<Injection, Vec<Error>> {
    let mut out = Settled {
        injection: Injection::default(),
        errors: Vec::new(),
        log,
    };
    match targets {
        Targets::Named(named) => {
            for ((var, r), outcome) in named.iter().zip(outcomes) {
                let value = outcome.as_ref().map_err(Clone::clone).and_then(|f| {
                    let v = select(&f.payload, r.json_key.as_deref())?;
                    Ok((v, f.version.as_str()))
                });
                out.add(var, r, &r.describe(), &r.label(), value);
            }
        }
        Targets::Expand(list) => {
            // Who set each variable: one hash lookup a key, so thousands of keys cost
            // microseconds (README, "Limits").
            let mut owner: HashMap<String, String> = HashMap::new();
            for (r, outcome) in list.iter().zip(outcomes) {
                let entries = match outcome
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|f| expansion(r, f))
                {
                    Ok(entries) => entries,
                    Err(e) => {
                        out.add(
                            &format!("[{}]", r.label()),
                            r,
                            &r.describe(),
                            &r.label(),
                            Err(e),
                        );
                        continue;
                    }
                };
                for x in entries {
                    let value = if let Some(why) = refusal_from_data(&x.var) {
                        Err(Error::Data(format!(
                            "key {:?} cannot be a variable: {why}",
                            x.var
                        )))
                    } else {
                        match owner.entry(x.var.clone()) {
                            Entry::Occupied(other) => Err(Error::Config(format!(
                                "key {:?} is also in {}; two references cannot set the same variable",
                                x.var,
                                other.get()
                            ))),
                            Entry::Vacant(slot) => {
                                slot.insert(x.who.clone());
                                Ok((x.value, x.version))
                            }
                        }
                    };
                    out.add(&x.var, r, &x.who, &x.label, value);
                }
            }
        }
    }
    if out.errors.is_empty() {
        Ok(out.injection)
    } else {
        Err(out.errors)
    }
}

/// One variable of the array form, before the name rules and the owner check.
struct Expanded<'a> {
    var: String,
    /// `secret ID` or `parameter NAME`, for messages and the owner check.
    who: String,
    /// The `--check` column: the secret id or `ssm:NAME`.
    label: String,
    version: &'a str,
    value: Sensitive,
}

/// The variables one array-form reference expands to: every top-level key of a JSON secret or
/// parameter, or every parameter directly under a path (named by its last segment).
fn expansion<'a>(r: &Reference, fetched: &'a Fetched) -> Result<Vec<Expanded<'a>>, Error> {
    match &fetched.payload {
        Payload::Path(params) if params.is_empty() => Err(Error::Data(
            "no parameter directly under this path (the path expands to nothing)".into(),
        )),
        Payload::Path(params) => Ok(params
            .iter()
            .map(|p| Expanded {
                var: crate::ssm::leaf(&p.name).to_string(),
                who: format!("parameter {}", p.name),
                label: format!("ssm:{}", p.name),
                version: &p.version,
                value: p.value.clone(),
            })
            .collect()),
        payload => Ok(expand(payload)?
            .into_iter()
            .map(|(var, value)| Expanded {
                var,
                who: r.describe(),
                label: r.label(),
                version: &fetched.version,
                value,
            })
            .collect()),
    }
}

struct Settled<'a> {
    injection: Injection,
    errors: Vec<Error>,
    log: &'a Log,
}

impl Settled<'_> {
    /// One variable, set by `who` (`secret ID`, `parameter NAME`) under reference `r`.
    fn add(
        &mut self,
        var: &str,
        r: &Reference,
        who: &str,
        label: &str,
        value: Result<(Sensitive, &str), Error>,
    ) {
        match value {
            Ok((v, version)) => {
                self.injection
                    .lines
                    .push(format!("{var}\t{label}\t{version}"));
                self.injection.vars.push((var.to_string(), v));
            }
            Err(e) => {
                let e = e.context(format!("{var} from {who}"));
                if r.optional {
                    self.log.warn(&format!("{e} (optional: left out)"));
                } else {
                    self.errors.push(e);
                }
            }
        }
    }
}

/// The value of one variable: the whole secret, or one top-level key of a JSON secret.
pub fn select(payload: &Payload, json_key: Option<&str>) -> Result<Sensitive, Error> {
    let value = match (payload, json_key) {
        (Payload::String(s), None) => s.expose().to_string(),
        // Injected base64-encoded, exactly as the API returns it.
        (Payload::Binary(b), None) => b.expose().to_string(),
        (Payload::Path(_), _) => {
            return Err(Error::Data(
                "a parameter path names many variables; only the array form expands it".into(),
            ));
        }
        (Payload::Binary(_), Some(_)) => {
            return Err(Error::Data(
                "the secret is binary (SecretBinary), so a JSON key cannot be selected".into(),
            ));
        }
        (Payload::String(s), Some(key)) => {
            let entries = object_entries(s.expose()).map_err(|_| {
                Error::Data(
                    "the secret string is not a JSON object, so a JSON key cannot be selected"
                        .into(),
                )
            })?;
            // As with any JSON reader, a repeated key means its last value.
            let raw = entries
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, raw)| *raw)
                .ok_or_else(|| Error::Data(format!("the secret has no top-level key {key:?}")))?;
            json_value_text(raw.get()).map_err(|m| Error::Data(format!("key {key:?}: {m}")))?
        }
    };
    check_value(value).map_err(|m| Error::Data(m.into()))
}

/// Every top-level key of a JSON secret, as `(key, value)`, in the order written.
pub fn expand(payload: &Payload) -> Result<Vec<(String, Sensitive)>, Error> {
    let s = match payload {
        Payload::String(s) => s,
        Payload::Binary(_) => {
            return Err(Error::Data(
                "the secret is binary (SecretBinary); the array form needs a JSON object".into(),
            ));
        }
        Payload::Path(_) => {
            return Err(Error::Data(
                "a parameter path is expanded by name, not as JSON".into(),
            ));
        }
    };
    let entries = object_entries(s.expose()).map_err(|_| {
        Error::Data("the secret string is not a JSON object, which the array form needs".into())
    })?;
    // As with any JSON reader, a repeated key means its last value: an earlier value it replaces
    // is not read at all, so it cannot fail the secret (found by fuzz/, target `reply`: a NUL or
    // an unpaired surrogate in a replaced value used to fail the array form, while the object
    // form's `select` read the last value without complaint).
    let mut last: Vec<(String, &RawValue)> = Vec::with_capacity(entries.len());
    let mut index: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    for (key, raw) in entries {
        match index.entry(key) {
            Entry::Occupied(i) => last[*i.get()].1 = raw,
            Entry::Vacant(slot) => {
                last.push((slot.key().clone(), raw));
                slot.insert(last.len() - 1);
            }
        }
    }
    last.into_iter()
        .map(|(key, raw)| {
            match json_value_text(raw.get()).and_then(|v| check_value(v).map_err(Into::into)) {
                Ok(value) => Ok((key, value)),
                Err(m) => Err(Error::Data(format!("key {key:?}: {m}"))),
            }
        })
        .collect()
}

/// A string value unescaped; any other value as its compact JSON text.
///
/// A `RawValue` that starts with a quote is valid JSON text, but not always a string Rust can
/// hold: serde_json checks `\u` escapes only when it decodes them, so `"\ud800"` (half of a
/// UTF-16 surrogate pair) passes as raw text and fails here. That is a data error: the value has
/// no UTF-8 form, so it cannot be an environment variable (found by fuzz/, target `reply`; it
/// used to become an empty value without a word).
fn json_value_text(raw: &str) -> Result<String, String> {
    if raw.starts_with('"') {
        serde_json::from_str::<String>(raw).map_err(|_| {
            "the value is a JSON string with an unpaired surrogate escape (\\uD800 to \\uDFFF), which has no UTF-8 form"
                .to_string()
        })
    } else {
        Ok(compact(raw))
    }
}

fn check_value(v: String) -> Result<Sensitive, &'static str> {
    if v.contains('\0') {
        return Err("the value holds a NUL byte, which an environment variable cannot");
    }
    Ok(Sensitive::new(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Payload {
        Payload::String(Sensitive::new(text.into()))
    }

    #[test]
    fn value_rules() {
        let secret = s(
            r#"{"user":"admin","port": 5432 ,"ratio":1.50,"on":true,"none":null,
            "nested": { "b" : [1, 2], "a":"x y" },"esc":"line\nbreak \"q\" \u00e9"}"#,
        );
        let cases = [
            (None, None),
            (Some("user"), Some("admin")),
            (Some("port"), Some("5432")),
            (Some("ratio"), Some("1.50")),
            (Some("on"), Some("true")),
            (Some("none"), Some("null")),
            (Some("nested"), Some(r#"{"b":[1,2],"a":"x y"}"#)),
            (Some("esc"), Some("line\nbreak \"q\" é")),
        ];
        for (key, want) in cases {
            let got = select(&secret, key).unwrap();
            match want {
                Some(w) => assert_eq!(got.expose(), w, "{key:?}"),
                None => assert!(got.expose().starts_with("{\"user\"")),
            }
        }
    }

    #[test]
    fn data_errors() {
        let cases = [
            (s("plain text"), Some("k"), "not a JSON object"),
            (s("[1,2]"), Some("k"), "not a JSON object"),
            (s(r#"{"a":1}"#), Some("k"), "no top-level key \"k\""),
            (s(r#"{"a":"x\u0000y"}"#), Some("a"), "NUL"),
            (
                s(r#"{"a":"\ude00"}"#),
                Some("a"),
                "key \"a\": the value is a JSON string with an unpaired surrogate",
            ),
            (s(r#"{"a":"x\ud800y"}"#), Some("a"), "unpaired surrogate"),
            (s("x\0y"), None, "NUL"),
            (
                Payload::Binary(Sensitive::new("AAE=".into())),
                Some("k"),
                "binary",
            ),
        ];
        for (payload, key, needle) in cases {
            let e = select(&payload, key).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
        assert_eq!(
            select(&Payload::Binary(Sensitive::new("AAE=".into())), None)
                .unwrap()
                .expose(),
            "AAE="
        );
    }

    #[test]
    fn expansion() {
        let got = expand(&s(r#"{"B":"1","A":{"x": 1},"B":"2"}"#)).unwrap();
        let flat: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        assert_eq!(flat, [("B", "2"), ("A", r#"{"x":1}"#)]);
        assert!(expand(&s("\"just a string\"")).is_err());
        assert!(
            expand(&s(r#"{"K":"\udbff"}"#))
                .unwrap_err()
                .to_string()
                .contains("key \"K\": the value is a JSON string with an unpaired surrogate")
        );
        // Only the last of a repeated key is read, in both forms.
        for text in [r#"{"K":"a\u0000","K":"b"}"#, r#"{"K":"\ud800","K":"b"}"#] {
            let got = expand(&s(text)).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!((got[0].0.as_str(), got[0].1.expose()), ("K", "b"));
            assert_eq!(select(&s(text), Some("K")).unwrap().expose(), "b");
        }
        // A surrogate pair is one character, and fine.
        assert_eq!(
            select(&s(r#"{"a":"\ud83d\ude00"}"#), Some("a"))
                .unwrap()
                .expose(),
            "\u{1f600}"
        );
        assert!(expand(&Payload::Binary(Sensitive::new("AAE=".into()))).is_err());
        assert!(
            expand(&s(r#"{"K":"a\u0000"}"#))
                .unwrap_err()
                .to_string()
                .contains("key \"K\"")
        );
    }
}
