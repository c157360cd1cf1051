//! Log lines on stderr, as text or in Lambda's JSON log format.
//!
//! Every line is written with one `write` call, so lines from worker threads never interleave.
//! Callers pass only names, ids, counts, codes and AWS messages: nothing here ever sees a value.

use crate::config::Level;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Log {
    pub level: Level,
    pub json: bool,
}

/// A field attached to a JSON log line (text lines carry the same facts in the message).
pub enum Field<'a> {
    Num(&'a str, u64),
}

impl Log {
    /// The logger before options are read: `info`, format from `AWS_LAMBDA_LOG_FORMAT`.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Log {
        let json =
            get("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.trim().eq_ignore_ascii_case("json"));
        Log {
            level: Level::Info,
            json,
        }
    }

    pub fn enabled(&self, level: Level) -> bool {
        level <= self.level
    }

    pub fn error(&self, msg: &str) {
        self.emit(Level::Error, msg, &[]);
    }
    pub fn warn(&self, msg: &str) {
        self.emit(Level::Warn, msg, &[]);
    }
    pub fn info(&self, msg: &str, fields: &[Field]) {
        self.emit(Level::Info, msg, fields);
    }
    pub fn debug(&self, msg: &str) {
        self.emit(Level::Debug, msg, &[]);
    }

    pub fn emit(&self, level: Level, msg: &str, fields: &[Field]) {
        if !self.enabled(level) {
            return;
        }
        let line = if self.json {
            json_line(SystemTime::now(), level, msg, fields)
        } else {
            let name = ["error", "warn", "info", "debug"][level as usize];
            format!("lambda-secrets: {name}: {msg}\n")
        };
        // A failed write to stderr has nowhere to be reported.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

fn json_line(now: SystemTime, level: Level, msg: &str, fields: &[Field]) -> String {
    let mut s = String::with_capacity(96 + msg.len());
    s.push_str("{\"timestamp\":\"");
    s.push_str(&rfc3339(now));
    s.push_str("\",\"level\":\"");
    s.push_str(["ERROR", "WARN", "INFO", "DEBUG"][level as usize]);
    s.push_str("\",\"message\":");
    crate::json::push_str(&mut s, msg);
    s.push_str(",\"logger\":\"lambda-secrets\"");
    for f in fields {
        s.push(',');
        let Field::Num(k, v) = f;
        crate::json::push_str(&mut s, k);
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push_str("}\n");
    s
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        let at = |s: u64, ms: u64| rfc3339(UNIX_EPOCH + Duration::from_millis(s * 1000 + ms));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_795_824_000 + 3661, 999), "2026-11-28T01:01:01.999Z");
    }

    #[test]
    fn json_lines_parse() {
        let line = json_line(
            UNIX_EPOCH,
            Level::Warn,
            "a \"quoted\"\nmessage",
            &[Field::Num("requests", 3)],
        );
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "a \"quoted\"\nmessage");
        assert_eq!(v["requests"], 3);
        assert_eq!(v["timestamp"], "1970-01-01T00:00:00.000Z");
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
    }
}
