//! `LAMBDA_SECRETS` and the `LAMBDA_SECRETS_*` options, parsed once into typed values.
//!
//! Everything a user can get wrong in configuration is refused here, before any network call:
//! malformed references, bad or reserved target names, a key repeated in the object form, a
//! version stage together with a version id, bad option values.

use crate::endpoint::Region;
use crate::error::Error;
use crate::json::object_entries;
use serde_json::Value;
use serde_json::value::RawValue;
use std::time::Duration;

/// Which version of a secret a reference reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// No stage or id given: `AWSCURRENT`, the only version `BatchGetSecretValue` reads.
    Current,
    /// A stage given explicitly, even `AWSCURRENT`: pinned, so always read with `GetSecretValue`
    /// (the Terraform module grants `BatchGetSecretValue` by the same rule).
    Stage(String),
    Id(String),
}

/// One parsed secret reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Name, partial ARN or full ARN, as written.
    pub secret_id: String,
    /// The region in the ARN, when the id is an ARN.
    pub arn_region: Option<Region>,
    pub json_key: Option<String>,
    pub version: Version,
    pub optional: bool,
}

/// The two forms of `LAMBDA_SECRETS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Object form: variable name and the reference that produces it, in the order written.
    Named(Vec<(String, Reference)>),
    /// Array form: every top-level key of each secret becomes a variable.
    Expand(Vec<Reference>),
}

impl Targets {
    /// The services the references need.
    pub fn services(&self) -> Vec<crate::aws::Service> {
        vec![crate::aws::Service::SecretsManager]
    }

    pub fn references(&self) -> Vec<&Reference> {
        match self {
            Targets::Named(v) => v.iter().map(|(_, r)| r).collect(),
            Targets::Expand(v) => v.iter().collect(),
        }
    }
}

/// `LAMBDA_SECRETS` from the environment; `None` when it is unset or names nothing.
pub fn targets_from_env() -> Result<Option<Targets>, Error> {
    match std::env::var("LAMBDA_SECRETS") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::Config("LAMBDA_SECRETS: not valid UTF-8".into()))
        }
        Ok(text) => parse_targets(&text),
    }
}

/// Parses the value of `LAMBDA_SECRETS`. `None` means there is nothing to fetch (empty, only white
/// space, `{}` or `[]`).
pub fn parse_targets(text: &str) -> Result<Option<Targets>, Error> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let bad = |m: String| Error::Config(format!("LAMBDA_SECRETS: {m}"));
    let value: &RawValue =
        serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    let raw = value.get().trim_start();
    if raw.starts_with('{') {
        let entries =
            object_entries(value.get()).map_err(|e| bad(format!("not valid JSON ({e})")))?;
        let mut named: Vec<(String, Reference)> = Vec::with_capacity(entries.len());
        let mut seen = std::collections::HashSet::with_capacity(entries.len());
        for (name, raw_ref) in entries {
            if !seen.insert(name.clone()) {
                return Err(bad(format!("variable {name} is named twice")));
            }
            if let Some(why) = refusal(&name) {
                return Err(bad(format!("variable {name:?}: {why}")));
            }
            let reference = parse_reference(raw_ref).map_err(|m| bad(format!("{name}: {m}")))?;
            named.push((name, reference));
        }
        Ok((!named.is_empty()).then_some(Targets::Named(named)))
    } else if raw.starts_with('[') {
        let items: Vec<&RawValue> =
            serde_json::from_str(value.get()).map_err(|e| bad(format!("not valid JSON ({e})")))?;
        let mut refs = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let reference = parse_reference(item).map_err(|m| bad(format!("item {i}: {m}")))?;
            if reference.json_key.is_some() {
                return Err(bad(format!(
                    "item {i} ({}): the array form takes whole secrets; remove the JSON key, or use the object form to pick one key",
                    reference.secret_id
                )));
            }
            refs.push(reference);
        }
        Ok((!refs.is_empty()).then_some(Targets::Expand(refs)))
    } else {
        Err(bad(
            "must be a JSON object (variable name to secret reference) or a JSON array of references".into(),
        ))
    }
}

fn parse_reference(raw: &RawValue) -> Result<Reference, String> {
    let value: Value = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    match value {
        Value::String(s) => parse_reference_string(&s),
        Value::Object(map) => {
            // A repeated field inside a reference object is refused too.
            let entries = object_entries(raw.get()).map_err(|e| e.to_string())?;
            for (i, (k, _)) in entries.iter().enumerate() {
                if entries[..i].iter().any(|(p, _)| p == k) {
                    return Err(format!("field {k:?} is given twice"));
                }
            }
            let mut secret_id = None;
            let mut json_key = None;
            let mut stage = None;
            let mut id = None;
            let mut optional = false;
            for (k, v) in map {
                let text = |v: Value| match v {
                    Value::String(s) if !s.is_empty() => Ok(s),
                    Value::String(_) => Err(format!("{k:?} is empty; leave it out instead")),
                    _ => Err(format!("{k:?} must be a string")),
                };
                match k.as_str() {
                    "secret_id" => secret_id = Some(text(v)?),
                    "json_key" => json_key = Some(text(v)?),
                    "version_stage" => stage = Some(text(v)?),
                    "version_id" => id = Some(text(v)?),
                    "optional" => {
                        optional = v
                            .as_bool()
                            .ok_or_else(|| "\"optional\" must be true or false".to_string())?
                    }
                    other => {
                        return Err(format!(
                            "unknown field {other:?} (known: secret_id, json_key, version_stage, version_id, optional)"
                        ));
                    }
                }
            }
            let secret_id = secret_id.ok_or("\"secret_id\" is required")?;
            let arn_region = parse_secret_id(&secret_id)?;
            Ok(Reference {
                secret_id,
                arn_region,
                json_key,
                version: version(stage, id)?,
                optional,
            })
        }
        _ => Err("a reference must be a string or an object with \"secret_id\"".into()),
    }
}

/// `SECRET_ID[:JSON_KEY[:VERSION_STAGE[:VERSION_ID]]]`, the tail grammar of ECS `valueFrom`.
pub fn parse_reference_string(s: &str) -> Result<Reference, String> {
    let fields: Vec<&str> = s.split(':').collect();
    // An ARN's own fields come first: the tail follows its seventh.
    let id_fields = if s.starts_with("arn:") {
        fields.len().min(7)
    } else {
        1
    };
    let (id, tail) = fields.split_at(id_fields);
    let secret_id = id.join(":");
    let arn_region = parse_secret_id(&secret_id).map_err(|m| format!("{s:?}: {m}"))?;
    if tail.len() > 3 {
        return Err(format!(
            "{s:?}: too many ':' fields (SECRET_ID[:JSON_KEY[:VERSION_STAGE[:VERSION_ID]]])"
        ));
    }
    let field = |i: usize| tail.get(i).filter(|f| !f.is_empty()).map(|f| f.to_string());
    Ok(Reference {
        secret_id,
        arn_region,
        json_key: field(0),
        version: version(field(1), field(2)).map_err(|m| format!("{s:?}: {m}"))?,
        optional: false,
    })
}

/// The one secret id parser, for both reference forms: a name (no `:`), or a full or partial
/// ARN `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`, whose region it returns.
fn parse_secret_id(id: &str) -> Result<Option<Region>, String> {
    if id.is_empty() {
        return Err("the secret id is empty".into());
    }
    if !id.starts_with("arn:") {
        if id.contains(':') {
            return Err(format!("secret id {id:?}: a name cannot contain ':'"));
        }
        return Ok(None);
    }
    let f: Vec<&str> = id.split(':').collect();
    if f.len() != 7 {
        return Err(format!(
            "secret id {id:?}: an ARN has 7 fields (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        ));
    }
    if f[2] != "secretsmanager" || f[5] != "secret" {
        return Err(format!(
            "{id:?} is not a Secrets Manager secret ARN (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        ));
    }
    if f[1].is_empty() || f[6].is_empty() {
        return Err(format!(
            "{id:?}: partition and secret name must not be empty"
        ));
    }
    Region::parse(f[3])
        .map(Some)
        .ok_or_else(|| format!("{id:?}: bad region {:?}", f[3]))
}

fn version(stage: Option<String>, id: Option<String>) -> Result<Version, String> {
    match (stage, id) {
        (Some(_), Some(_)) => Err("give a version stage or a version id, not both".into()),
        (Some(s), None) => Ok(Version::Stage(s)),
        (None, Some(i)) => Ok(Version::Id(i)),
        (None, None) => Ok(Version::Current),
    }
}

const RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_SECURITY_TOKEN",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
];

/// Why `name` cannot receive a value, if it cannot: it must be `[A-Za-z_][A-Za-z0-9_]*`, not one
/// of Lambda's reserved names, not `AWS_LAMBDA_*`, not our own `LAMBDA_SECRETS*`.
pub fn refusal(name: &str) -> Option<&'static str> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if !first_ok || !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Some(
            "not a valid environment variable name (letters, digits and '_', not starting with a digit)",
        );
    }
    if RESERVED.contains(&name) || name.starts_with("AWS_LAMBDA_") {
        return Some("reserved by Lambda; choose another name");
    }
    if name.starts_with("LAMBDA_SECRETS") {
        return Some("LAMBDA_SECRETS* names are lambda-secrets' own options");
    }
    None
}

/// Names a secret's keys (array form) or a path's parameters may not set, beyond `refusal`'s:
/// whoever can write that secret or parameter chooses them, and these change how a process
/// starts, where the AWS SDKs send requests, or whom they trust (README, "`LAMBDA_SECRETS`").
const FROM_DATA_REFUSED: &[&str] = &[
    "PATH",
    "HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "NODE_OPTIONS",
    "NODE_PATH",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "GCONV_PATH",
    "BASH_ENV",
    "ENV",
    "IFS",
    "SHELLOPTS",
];
const FROM_DATA_REFUSED_PREFIXES: &[&str] = &[
    "AWS_", "LD_", "PYTHON", "PERL5", "RUBY", "GEM_", "BUNDLE_", "DOTNET_", "CORECLR_", "COMPlus_",
];
/// Matched in any case, as the tools that read them do.
const FROM_DATA_REFUSED_PROXIES: &[&str] = &["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"];

/// Why a name that comes from data (a key of a secret in the array form, a parameter under a
/// path) cannot be a variable, if it cannot: `refusal`'s rules, and the names that would let
/// whoever writes the data take over the process.
pub fn refusal_from_data(name: &str) -> Option<&'static str> {
    refusal(name).or_else(|| {
        let refused = FROM_DATA_REFUSED.contains(&name)
            || FROM_DATA_REFUSED_PREFIXES
                .iter()
                .any(|p| name.starts_with(p))
            || FROM_DATA_REFUSED_PROXIES
                .iter()
                .any(|p| name.eq_ignore_ascii_case(p));
        refused.then_some(
            "it changes how the runtime starts or where its requests go, so only the object form may set it",
        )
    })
}

/// `LAMBDA_SECRETS_BATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    Auto,
    Always,
    Never,
}

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

/// `LAMBDA_SECRETS_LOG`, else `AWS_LAMBDA_LOG_LEVEL` (ignored when it is not a level we know);
/// `None` when neither is set.
pub fn log_level(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Level>, Error> {
    if let Some(l) = get("LAMBDA_SECRETS_LOG").filter(|l| !l.trim().is_empty()) {
        return parse_level(&l).map(Some).ok_or_else(|| {
            Error::Config(format!(
                "LAMBDA_SECRETS_LOG={l:?}: expected error, warn, info or debug"
            ))
        });
    }
    Ok(get("AWS_LAMBDA_LOG_LEVEL").and_then(|l| parse_level(&l)))
}

pub fn parse_level(s: &str) -> Option<Level> {
    match s.trim().to_ascii_lowercase().as_str() {
        "error" | "fatal" => Some(Level::Error),
        "warn" | "warning" => Some(Level::Warn),
        "info" => Some(Level::Info),
        "debug" | "trace" => Some(Level::Debug),
        _ => None,
    }
}

/// The options that govern fetching, read only when there is something to fetch.
#[derive(Debug, Clone)]
pub struct Options {
    pub timeout: Duration,
    pub concurrency: usize,
    pub batch: BatchMode,
    pub max_attempts: u32,
    /// `AWS_MAX_ATTEMPTS` was set: it then bounds throttled requests too.
    pub max_attempts_set: bool,
}

/// Reads the options through `get` (the environment in production, a table in tests).
pub fn parse_options(get: &dyn Fn(&str) -> Option<String>) -> Result<Options, Error> {
    let set = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let count = |name: &str, default: u64, max: u64| -> Result<u64, Error> {
        match set(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n >= 1 && n <= max => Ok(n),
                _ => Err(Error::Config(format!(
                    "{name}={v:?}: expected a whole number from 1 to {max}"
                ))),
            },
        }
    };
    let timeout = count("LAMBDA_SECRETS_TIMEOUT_MS", 5000, 15 * 60 * 1000)?;
    let concurrency = count("LAMBDA_SECRETS_CONCURRENCY", 8, 64)?;
    // Any positive number, as in the SDKs: the deadline bounds the attempts anyway.
    let max_attempts = count("AWS_MAX_ATTEMPTS", 3, u64::from(u32::MAX))?;
    let batch = match set("LAMBDA_SECRETS_BATCH").map(|v| v.trim().to_ascii_lowercase()) {
        None => BatchMode::Auto,
        Some(v) => match v.as_str() {
            "auto" => BatchMode::Auto,
            "always" => BatchMode::Always,
            "never" => BatchMode::Never,
            _ => {
                return Err(Error::Config(format!(
                    "LAMBDA_SECRETS_BATCH={v:?}: expected auto, always or never"
                )));
            }
        },
    };
    Ok(Options {
        timeout: Duration::from_millis(timeout),
        concurrency: concurrency as usize,
        batch,
        max_attempts: max_attempts as u32,
        max_attempts_set: set("AWS_MAX_ATTEMPTS").is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str, key: Option<&str>, version: Version) -> Reference {
        Reference {
            secret_id: id.into(),
            arn_region: id
                .starts_with("arn:")
                .then(|| Region::parse(id.split(':').nth(3).unwrap()).unwrap()),
            json_key: key.map(Into::into),
            version,
            optional: false,
        }
    }

    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:api-key-AbCdEf";

    #[test]
    fn reference_grammar() {
        use Version::*;
        let st = |s: &str| Stage(s.into());
        let cases: Vec<(&str, Reference)> = vec![
            ("prod/db", r("prod/db", None, Current)),
            ("prod/db:", r("prod/db", None, Current)),
            ("prod/db:password", r("prod/db", Some("password"), Current)),
            (
                "prod/db:password::",
                r("prod/db", Some("password"), Current),
            ),
            (
                "prod/token::AWSPREVIOUS:",
                r("prod/token", None, st("AWSPREVIOUS")),
            ),
            (
                "prod/token::AWSPREVIOUS",
                r("prod/token", None, st("AWSPREVIOUS")),
            ),
            (
                "prod/token:::abcdef0123",
                r("prod/token", None, Id("abcdef0123".into())),
            ),
            (
                "prod/token::AWSCURRENT",
                r("prod/token", None, st("AWSCURRENT")),
            ),
            (
                "prod/db:k:AWSPENDING",
                r("prod/db", Some("k"), st("AWSPENDING")),
            ),
            (ARN, r(ARN, None, Current)),
            (
                &*Box::leak(format!("{ARN}:user").into_boxed_str()),
                r(ARN, Some("user"), Current),
            ),
            (
                &*Box::leak(format!("{ARN}::AWSPREVIOUS:").into_boxed_str()),
                r(ARN, None, st("AWSPREVIOUS")),
            ),
            (
                "arn:aws-cn:secretsmanager:cn-north-1:1:secret:x",
                r(
                    "arn:aws-cn:secretsmanager:cn-north-1:1:secret:x",
                    None,
                    Current,
                ),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_reference_string(input).as_ref(), Ok(&want), "{input}");
        }
    }

    #[test]
    fn reference_grammar_refusals() {
        for bad in [
            "",
            ":key",
            "prod/db:k:AWSPREVIOUS:abc",
            "prod/db:k:s:i:extra",
            "arn:aws:secretsmanager:eu-west-1:1:secret",
            "arn:aws:ssm:eu-west-1:1:parameter:x",
            "arn:aws:secretsmanager:EU_WEST:1:secret:x",
            "arn:aws:secretsmanager:eu-west-1:1:secret:",
        ] {
            assert!(parse_reference_string(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn object_form_and_options() {
        let t = parse_targets(
            r#"{"A":"s1","B":{"secret_id":"s2","json_key":"k","version_stage":"AWSPREVIOUS","optional":true}}"#,
        )
        .unwrap()
        .unwrap();
        let Targets::Named(v) = t else { panic!() };
        assert_eq!(v[0].0, "A");
        assert_eq!(v[1].1.json_key.as_deref(), Some("k"));
        assert_eq!(v[1].1.version, Version::Stage("AWSPREVIOUS".into()));
        assert!(v[1].1.optional && !v[0].1.optional);
    }

    #[test]
    fn nothing_to_fetch() {
        for s in ["", "  \n", "{}", "[]", " { } "] {
            assert_eq!(parse_targets(s).unwrap(), None, "{s:?}");
        }
    }

    #[test]
    fn config_refusals() {
        let cases = [
            (r#"{"A":"x","A":"y"}"#, "named twice"),
            (r#"{"1A":"x"}"#, "not a valid"),
            (r#"{"A-B":"x"}"#, "not a valid"),
            (r#"{"AWS_REGION":"x"}"#, "reserved"),
            (r#"{"AWS_LAMBDA_RUNTIME_API":"x"}"#, "reserved"),
            (r#"{"_HANDLER":"x"}"#, "reserved"),
            (r#"{"TZ":"x"}"#, "reserved"),
            (r#"{"LAMBDA_SECRETS_LOG":"x"}"#, "own options"),
            (r#"{"A":"s::AWSPREVIOUS:abc"}"#, "not both"),
            (
                r#"{"A":{"secret_id":"s","version_stage":"x","version_id":"y"}}"#,
                "not both",
            ),
            (r#"{"A":{"secret_id":"s","jsonkey":"x"}}"#, "unknown field"),
            (r#"{"A":{"json_key":"x"}}"#, "required"),
            (r#"{"A":{"secret_id":""}}"#, "empty"),
            (
                r#"{"A":{"secret_id":"s","optional":"yes"}}"#,
                "true or false",
            ),
            (r#"{"A":{"secret_id":"s","secret_id":"t"}}"#, "twice"),
            (r#"{"A":3}"#, "string or an object"),
            (r#"["s:key"]"#, "array form"),
            (r#"[{"secret_id":"s","json_key":"k"}]"#, "array form"),
            (r#""s""#, "JSON object"),
            (r#"{"A":"s""#, "not valid JSON"),
        ];
        for (input, needle) in cases {
            let e = parse_targets(input).expect_err(input);
            let message = e.to_string();
            assert_eq!(e.class(), crate::error::Class::Config);
            assert!(message.contains(needle), "{input}: {message}");
            assert!(message.starts_with("LAMBDA_SECRETS"), "{message}");
        }
    }

    #[test]
    fn target_names() {
        for ok in [
            "A",
            "_a",
            "DB_PASSWORD",
            "x9",
            "AWS_SOMETHING",
            "LAMBDA_TASK",
        ] {
            assert_eq!(refusal(ok), None, "{ok}");
        }
        for bad in [
            "",
            "9",
            "A B",
            "A=B",
            "é",
            "AWS_SESSION_TOKEN",
            "LAMBDA_SECRETS",
            "AWS_LAMBDA_X",
        ] {
            assert!(refusal(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn names_from_data() {
        for ok in ["DB_PASSWORD", "Path", "home", "AWSX", "LDX", "NODE", "MY_PATH"] {
            assert_eq!(refusal_from_data(ok), None, "{ok}");
        }
        for bad in [
            "LD_PRELOAD",
            "NODE_OPTIONS",
            "PATH",
            "AWS_ENDPOINT_URL",
            "AWS_CA_BUNDLE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "HTTPS_PROXY",
            "https_proxy",
            "No_Proxy",
            "all_proxy",
            "PYTHONPATH",
            "COMPlus_EnableDiagnostics",
            "BASH_ENV",
            "IFS",
            "_HANDLER",
            "9X",
        ] {
            assert!(refusal_from_data(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn options() {
        let env = crate::test_env;
        let o = parse_options(&env(&[])).unwrap();
        assert_eq!(
            (o.timeout.as_millis(), o.concurrency, o.max_attempts),
            (5000, 8, 3)
        );
        assert_eq!(o.batch, BatchMode::Auto);
        let o = parse_options(&env(&[
            ("LAMBDA_SECRETS_BATCH", "Never"),
            ("AWS_MAX_ATTEMPTS", "1"),
        ]))
        .unwrap();
        assert_eq!((o.batch, o.max_attempts), (BatchMode::Never, 1));
        for bad in [
            ("LAMBDA_SECRETS_CONCURRENCY", "0"),
            ("LAMBDA_SECRETS_TIMEOUT_MS", "5s"),
            ("LAMBDA_SECRETS_BATCH", "sometimes"),
            ("AWS_MAX_ATTEMPTS", "0"),
            ("AWS_MAX_ATTEMPTS", "-1"),
        ] {
            let e = parse_options(&env(&[bad])).expect_err(bad.0);
            assert!(e.to_string().starts_with(bad.0));
        }
        assert_eq!(parse_level("TRACE"), Some(Level::Debug));
        assert_eq!(parse_level("FATAL"), Some(Level::Error));
        assert_eq!(parse_level("loud"), None);
    }
}
