//! `Sensitive`: the one type that holds secret material (secret values, the secret access key,
//! session and authorization tokens). It has no `Display`, and its `Debug` says only that it is
//! hidden, so a value cannot reach a formatter by accident.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let s = Sensitive::new("SENTINEL-VALUE".into());
        let shown = format!("{s:?} {:?}", Some(vec![s.clone()]));
        assert!(!shown.contains("SENTINEL"), "{shown}");
        assert_eq!(s.expose(), "SENTINEL-VALUE");
    }
}
