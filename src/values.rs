//! SPEC's value rules: what a fetched secret becomes as environment variables.
//!
//! Errors name keys and say what is wrong; they never quote the secret.

use crate::api::Payload;
use crate::creds::Sensitive;
use crate::json::{compact, object_entries};
use serde_json::value::RawValue;

/// The value of one variable: the whole secret, or one top-level key of a JSON secret.
pub fn select(payload: &Payload, json_key: Option<&str>) -> Result<Sensitive, String> {
    let value = match (payload, json_key) {
        (Payload::String(s), None) => s.expose().to_string(),
        // Injected base64-encoded, exactly as the API returns it.
        (Payload::Binary(b), None) => b.expose().to_string(),
        (Payload::Binary(_), Some(_)) => {
            return Err(
                "the secret is binary (SecretBinary), so a JSON key cannot be selected".into(),
            );
        }
        (Payload::String(s), Some(key)) => {
            let entries = object_entries(s.expose()).map_err(|_| {
                "the secret string is not a JSON object, so a JSON key cannot be selected"
                    .to_string()
            })?;
            // As with any JSON reader, a repeated key means its last value.
            let raw = entries
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, raw)| *raw)
                .ok_or_else(|| format!("the secret has no top-level key {key:?}"))?;
            json_value_text(raw.get()).map_err(|m| format!("key {key:?}: {m}"))?
        }
    };
    check_value(value)
}

/// Every top-level key of a JSON secret, as `(key, value)`, in the order written.
pub fn expand(payload: &Payload) -> Result<Vec<(String, Sensitive)>, String> {
    let Payload::String(s) = payload else {
        return Err(
            "the secret is binary (SecretBinary); the array form needs a JSON object".into(),
        );
    };
    let entries = object_entries(s.expose()).map_err(|_| {
        "the secret string is not a JSON object, which the array form needs".to_string()
    })?;
    // As with any JSON reader, a repeated key means its last value: an earlier value it replaces
    // is not read at all, so it cannot fail the secret (found by fuzz/, target `reply`: a NUL or
    // an unpaired surrogate in a replaced value used to fail the array form, while the object
    // form's `select` read the last value without complaint).
    let mut last: Vec<(String, &RawValue)> = Vec::with_capacity(entries.len());
    for (key, raw) in entries {
        match last.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = raw,
            None => last.push((key, raw)),
        }
    }
    last.into_iter()
        .map(
            |(key, raw)| match json_value_text(raw.get()).and_then(check_value) {
                Ok(value) => Ok((key, value)),
                Err(m) => Err(format!("key {key:?}: {m}")),
            },
        )
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

fn check_value(v: String) -> Result<Sensitive, String> {
    if v.contains('\0') {
        return Err("the value holds a NUL byte, which an environment variable cannot".into());
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
            let e = select(&payload, key).unwrap_err();
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
                .contains("key \"K\"")
        );
    }
}
