//! Small JSON helpers that serde_json does not offer directly: the entries of an object in the
//! order written (duplicates kept, so they can be refused), and the compact text of a value as
//! written.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// The `(key, raw value)` pairs of a JSON object, in order, repeated keys included.
pub fn object_entries(text: &str) -> Result<Vec<(String, &RawValue)>, serde_json::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let entries = (&mut de).deserialize_map(Entries)?;
    de.end()?;
    Ok(entries)
}

/// The text of a JSON value exactly as written, with the white space outside strings removed.
/// `raw` must already be valid JSON (it comes from a `RawValue`).
pub fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// Appends `s` to `out` as a JSON string literal (quotes included).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_order_and_duplicates() {
        let e = object_entries(r#" {"b": 1, "a" : {"x" : [1, 2]}, "b":"z"} "#).unwrap();
        let keys: Vec<_> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        assert_eq!(e[1].1.get(), r#"{"x" : [1, 2]}"#);
        assert!(object_entries("[1]").is_err());
        assert!(object_entries(r#"{"a":1} x"#).is_err());
    }

    #[test]
    fn compact_keeps_spelling() {
        let cases = [
            ("1.50", "1.50"),
            ("1e+3", "1e+3"),
            ("null", "null"),
            ("true", "true"),
            (
                "{ \"z\" : [ 1 , 2 ],\n \"a\":\"x y\\\" }\" }",
                "{\"z\":[1,2],\"a\":\"x y\\\" }\"}",
            ),
            ("[\"a\\\\\", \" \"]", "[\"a\\\\\",\" \"]"),
        ];
        for (input, want) in cases {
            assert_eq!(compact(input), want, "{input}");
        }
    }

    #[test]
    fn string_literal_round_trips() {
        for s in ["plain", "quote\" back\\ nl\n tab\t ctl\u{1} é"] {
            let mut out = String::new();
            push_str(&mut out, s);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s);
        }
    }
}
