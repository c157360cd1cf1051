//! SPEC's value rules: what a fetched secret becomes as environment variables.
//!
//! Errors name keys and say what is wrong; they never quote the secret.

use crate::api::Payload;
use crate::creds::Sensitive;
use crate::json::{compact, object_entries};

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
            json_value_text(raw.get())
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
    let mut out: Vec<(String, Sensitive)> = Vec::with_capacity(entries.len());
    for (key, raw) in entries {
        let value =
            check_value(json_value_text(raw.get())).map_err(|m| format!("key {key:?}: {m}"))?;
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
    }
    Ok(out)
}

/// A string value unescaped; any other value as its compact JSON text.
fn json_value_text(raw: &str) -> String {
    if raw.starts_with('"') {
        // A RawValue that starts with a quote is a valid JSON string.
        serde_json::from_str::<String>(raw).unwrap_or_default()
    } else {
        compact(raw)
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
        assert!(expand(&Payload::Binary(Sensitive::new("AAE=".into()))).is_err());
        assert!(
            expand(&s(r#"{"K":"a\u0000"}"#))
                .unwrap_err()
                .contains("key \"K\"")
        );
    }
}
