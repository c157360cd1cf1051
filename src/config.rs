//! `LAMBDA_SECRETS` and the `LAMBDA_SECRETS_*` options, parsed once into typed values.
//!
//! Everything a user can get wrong in configuration is refused here, before any network call:
//! malformed references, bad or reserved target names, a key repeated in the object form, a
//! version stage together with a version id, bad option values.

use crate::aws::Service;
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

/// What a reference reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A Secrets Manager secret: its name, partial ARN or full ARN, as written.
    Secret { id: String, version: Version },
    /// A Parameter Store parameter.
    Parameter {
        /// As sent to SSM: the name, or the ARN as written (a parameter shared from another
        /// account can only be read by its ARN); without the selector.
        sent: String,
        /// The name, for messages and `--check` (an ARN's `parameter/a/b` is `/a/b`).
        name: String,
        /// A version number or a label, as `GetParameters` takes it after `:`.
        selector: Option<String>,
    },
    /// Every parameter directly under a path (array form only): the path as written, ending
    /// in `/`.
    Path { path: String },
}

/// One parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub origin: Origin,
    /// The region in the ARN, when it was given by ARN.
    pub arn_region: Option<Region>,
    pub json_key: Option<String>,
    pub optional: bool,
}

impl Reference {
    /// `secret ID` or `parameter NAME`, for messages.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Secret { id, .. } => format!("secret {id}"),
            Origin::Parameter { name, .. } => format!("parameter {name}"),
            Origin::Path { path } => format!("parameter path {path}"),
        }
    }

    /// The second column of `--check`: the secret id, or `ssm:` and the parameter's name.
    pub fn label(&self) -> String {
        match &self.origin {
            Origin::Secret { id, .. } => id.clone(),
            Origin::Parameter { name, .. } => format!("ssm:{name}"),
            Origin::Path { path } => format!("ssm:{path}"),
        }
    }

    pub fn service(&self) -> Service {
        match self.origin {
            Origin::Secret { .. } => Service::SecretsManager,
            Origin::Parameter { .. } | Origin::Path { .. } => Service::Ssm,
        }
    }
}

/// The two forms of `LAMBDA_SECRETS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Object form: variable name and the reference that produces it, in the order written.
    Named(Vec<(String, Reference)>),
    /// Array form: every top-level key of each secret (or JSON parameter, or parameter under a
    /// path) becomes a variable.
    Expand(Vec<Reference>),
}

impl Targets {
    /// The services the references need, each once.
    pub fn services(&self) -> Vec<Service> {
        let mut services: Vec<Service> = self.references().iter().map(|r| r.service()).collect();
        services.sort();
        services.dedup();
        services
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
            if let Origin::Path { path } = &reference.origin {
                return Err(bad(format!(
                    "{name}: {path:?} is a parameter path, which names many variables: use it in the array form, or name one parameter"
                )));
            }
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
                    "item {i} ({}): the array form takes whole secrets and parameters; remove the JSON key, or use the object form to pick one key",
                    reference.label()
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
            let mut parameter = None;
            let mut json_key = None;
            let mut stage = None;
            let mut id_field = None;
            let mut optional = false;
            for (k, v) in map {
                let text = |v: Value| match v {
                    Value::String(s) if !s.is_empty() => Ok(s),
                    Value::String(_) => Err(format!("{k:?} is empty; leave it out instead")),
                    _ => Err(format!("{k:?} must be a string")),
                };
                match k.as_str() {
                    "secret_id" => secret_id = Some(text(v)?),
                    "parameter" => parameter = Some(text(v)?),
                    "json_key" => json_key = Some(text(v)?),
                    "version_stage" => stage = Some(text(v)?),
                    "version_id" => id_field = Some(text(v)?),
                    "optional" => {
                        optional = v
                            .as_bool()
                            .ok_or_else(|| "\"optional\" must be true or false".to_string())?
                    }
                    other => {
                        return Err(format!(
                            "unknown field {other:?} (known: secret_id or parameter, json_key, version_stage, version_id, optional)"
                        ));
                    }
                }
            }
            let (origin, arn_region) = match (secret_id, parameter) {
                (Some(_), Some(_)) => {
                    return Err("give \"secret_id\" or \"parameter\", not both".into());
                }
                (None, None) => return Err("\"secret_id\" (or \"parameter\") is required".into()),
                (Some(id), None) => {
                    let arn_region = parse_secret_id(&id)?;
                    let version = version(stage, id_field)?;
                    (Origin::Secret { id, version }, arn_region)
                }
                (None, Some(p)) => {
                    if stage.is_some() || id_field.is_some() {
                        return Err(
                            "\"version_stage\" and \"version_id\" are for secrets; a parameter takes a selector (\"name:3\" or \"name:label\")".into(),
                        );
                    }
                    parse_parameter(&p)?
                }
            };
            let reference = Reference {
                origin,
                arn_region,
                json_key,
                optional,
            };
            check_path(&reference)?;
            Ok(reference)
        }
        _ => Err(
            "a reference must be a string or an object with \"secret_id\" or \"parameter\"".into(),
        ),
    }
}

/// `SECRET_ID[:JSON_KEY[:VERSION_STAGE[:VERSION_ID]]]`, the tail grammar of ECS `valueFrom`.
pub fn parse_reference_string(s: &str) -> Result<Reference, String> {
    if let Some(p) = s.strip_prefix("ssm:") {
        if p.starts_with("arn:") {
            return Err(format!(
                "{s:?}: a parameter ARN is written as it is, without \"ssm:\" in front"
            ));
        }
        let (origin, arn_region) = parse_parameter(p).map_err(|m| format!("{s:?}: {m}"))?;
        return Ok(Reference {
            origin,
            arn_region,
            json_key: None,
            optional: false,
        });
    }
    if s.starts_with("arn:") && s.split(':').nth(2) == Some("ssm") {
        let (origin, arn_region) = parse_parameter(s).map_err(|m| format!("{s:?}: {m}"))?;
        return Ok(Reference {
            origin,
            arn_region,
            json_key: None,
            optional: false,
        });
    }
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
    let version = version(field(1), field(2)).map_err(|m| format!("{s:?}: {m}"))?;
    Ok(Reference {
        origin: Origin::Secret {
            id: secret_id,
            version,
        },
        arn_region,
        json_key: field(0),
        optional: false,
    })
}

/// A parameter as the README's grammar writes it: `NAME[:SELECTOR]`, or a parameter ARN
/// `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/PATH[:SELECTOR]`; a name ending in `/` is a path.
fn parse_parameter(text: &str) -> Result<(Origin, Option<Region>), String> {
    let (sent, name, selector, region) = if text.starts_with("arn:") {
        let f: Vec<&str> = text.split(':').collect();
        let usage = "a parameter ARN is arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:SELECTOR]";
        if f.len() < 6 || f.len() > 7 || f[2] != "ssm" || f[1].is_empty() || f[4].is_empty() {
            return Err(format!("not a parameter ARN ({usage})"));
        }
        let Some(rest) = f[5].strip_prefix("parameter/").filter(|r| !r.is_empty()) else {
            return Err(format!("not a parameter ARN ({usage})"));
        };
        if rest.ends_with('/') {
            return Err(
                "a parameter path is given by its name (\"ssm:/prod/app/\"), not by an ARN".into(),
            );
        }
        let region =
            Region::parse(f[3]).ok_or_else(|| format!("bad region {:?} in the ARN", f[3]))?;
        // SSM's rule: a hierarchical name starts with `/`.
        let name = if rest.contains('/') {
            format!("/{rest}")
        } else {
            rest.to_string()
        };
        (f[..6].join(":"), name, f.get(6).copied(), Some(region))
    } else {
        let (name, selector) = match text.split_once(':') {
            Some((n, s)) => (n, Some(s)),
            None => (text, None),
        };
        (name.to_string(), name.to_string(), selector, None)
    };
    check_parameter_name(&name)?;
    let selector = selector.filter(|s| !s.is_empty());
    if let Some(sel) = selector {
        let ok = sel.len() <= 100
            && !sel.contains(':')
            && sel
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok {
            return Err(format!(
                "selector {sel:?}: a version number or a label (letters, digits, '.', '-', '_')"
            ));
        }
    }
    if name.ends_with('/') {
        if selector.is_some() {
            return Err(format!("{name:?} is a path: a path takes no selector"));
        }
        return Ok((Origin::Path { path: name }, region));
    }
    Ok((
        Origin::Parameter {
            sent,
            name,
            selector: selector.map(str::to_string),
        },
        region,
    ))
}

/// Parameter names are made of letters, digits, `_`, `.`, `-` and `/` (AWS, "Creating Systems
/// Manager parameters"), at most 2048 bytes with the path.
fn check_parameter_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "/" {
        return Err("the parameter name is empty".into());
    }
    let ok = name.len() <= 2048
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b))
        && !name.contains("//");
    if !ok {
        return Err(format!(
            "{name:?} is not a parameter name (letters, digits, '_', '.', '-', and '/' between levels)"
        ));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(format!(
            "{name:?}: a name in a hierarchy starts with '/' (AWS, PutParameter), as in \"/{name}\""
        ));
    }
    Ok(())
}

/// A path expands into many variables: it takes no JSON key.
fn check_path(r: &Reference) -> Result<(), String> {
    match (&r.origin, &r.json_key) {
        (Origin::Path { path }, Some(_)) => Err(format!(
            "{path:?} is a path: a path takes no json_key (each parameter under it is one variable)"
        )),
        _ => Ok(()),
    }
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
            origin: Origin::Secret {
                id: id.into(),
                version,
            },
            arn_region: id
                .starts_with("arn:")
                .then(|| Region::parse(id.split(':').nth(3).unwrap()).unwrap()),
            json_key: key.map(Into::into),
            optional: false,
        }
    }

    fn p(sent: &str, name: &str, selector: Option<&str>, region: Option<&str>) -> Reference {
        Reference {
            origin: Origin::Parameter {
                sent: sent.into(),
                name: name.into(),
                selector: selector.map(Into::into),
            },
            arn_region: region.map(|r| Region::parse(r).unwrap()),
            json_key: None,
            optional: false,
        }
    }

    #[test]
    fn parameter_grammar() {
        let arn = "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/flags";
        let cases: Vec<(&str, Reference)> = vec![
            (
                "ssm:/prod/db/host",
                p("/prod/db/host", "/prod/db/host", None, None),
            ),
            (
                "ssm:/prod/db/password:3",
                p("/prod/db/password", "/prod/db/password", Some("3"), None),
            ),
            ("ssm:host:live", p("host", "host", Some("live"), None)),
            ("ssm:host:", p("host", "host", None, None)),
            (arn, p(arn, "/prod/flags", None, Some("eu-west-1"))),
            (
                "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/flags:live",
                p(arn, "/prod/flags", Some("live"), Some("eu-west-1")),
            ),
            (
                "arn:aws-cn:ssm:cn-north-1:1:parameter/host",
                p(
                    "arn:aws-cn:ssm:cn-north-1:1:parameter/host",
                    "host",
                    None,
                    Some("cn-north-1"),
                ),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_reference_string(input).as_ref(), Ok(&want), "{input}");
        }
        let path = parse_reference_string("ssm:/prod/app/").unwrap();
        assert_eq!(
            path.origin,
            Origin::Path {
                path: "/prod/app/".into()
            }
        );
        assert_eq!(path.label(), "ssm:/prod/app/");
        for bad in [
            "ssm:",
            "ssm::3",
            "ssm:/prod/app/:3",
            "ssm:/a b",
            "ssm:/a:b:c",
            "ssm:/a//b",
            "arn:aws:ssm:eu-west-1:1:document/x",
            "arn:aws:ssm:eu-west-1:1:parameter/",
            "arn:aws:ssm:eu-west-1:1:parameter/prod/app/",
            "arn:aws:ssm:EU:1:parameter/x",
            "arn:aws:ssm:eu-west-1:1:parameter/x:1:2",
            "ssm:/a:sel!",
            "ssm:arn:aws:ssm:eu-west-1:111122223333:parameter/prod/flags:2",
            "ssm:prod/db",
        ] {
            assert!(parse_reference_string(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parameter_refusals_in_context() {
        let cases = [
            (r#"{"A":"ssm:/prod/app/"}"#, "is a parameter path"),
            (r#"{"A":{"parameter":"/p","secret_id":"s"}}"#, "not both"),
            (
                r#"{"A":{"parameter":"/p","version_stage":"AWSPREVIOUS"}}"#,
                "are for secrets",
            ),
            (
                r#"["ssm:/p/",{"parameter":"/q/","json_key":"k"}]"#,
                "json_key",
            ),
            (r#"[{"parameter":"/q","json_key":"k"}]"#, "array form"),
            (
                r#"{"A":{"parameter":"arn:aws:ssm:r-1:1:parameter/x/"}}"#,
                "not by an ARN",
            ),
        ];
        for (input, needle) in cases {
            let e = parse_targets(input).expect_err(input).to_string();
            assert!(e.contains(needle), "{input}: {e}");
        }
        let t = parse_targets(
            r#"{"A":"s","B":{"parameter":"/p:2","json_key":"port","optional":true}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.services(), [Service::SecretsManager, Service::Ssm]);
        let Targets::Named(v) = t else { panic!() };
        assert_eq!(v[1].1.json_key.as_deref(), Some("port"));
        assert!(v[1].1.optional);
        assert_eq!(v[1].1.label(), "ssm:/p");
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
        assert!(
            matches!(&v[1].1.origin, Origin::Secret { version: Version::Stage(s), .. } if s == "AWSPREVIOUS")
        );
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
        for ok in [
            "DB_PASSWORD",
            "Path",
            "home",
            "AWSX",
            "LDX",
            "NODE",
            "MY_PATH",
        ] {
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
