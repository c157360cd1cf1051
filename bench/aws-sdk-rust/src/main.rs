//! sdk-fetch VAR=REF... -- COMMAND [ARGS...]
//!
//! The AWS SDK for Rust way of doing what lambda-secrets does: load the default configuration
//! (environment credentials, region and endpoint URL variables), fetch the values, put each into
//! the named variable and exec the command in place. A REF is a Secrets Manager secret id, or
//! `ssm:NAME` for a Parameter Store parameter (read decrypted). Secrets: one GetSecretValue for one
//! secret, BatchGetSecretValue for more (as lambda-secrets does). Parameters: GetParameters with up
//! to 10 names a call, WithDecryption. With both, the two services are fetched concurrently
//! (`tokio::join!`), as lambda-secrets fetches them in parallel.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{exit, Command};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("sdk-fetch: {msg}");
    exit(1)
}

async fn fetch_secrets(client: aws_sdk_secretsmanager::Client, ids: Vec<String>) -> HashMap<String, String> {
    let mut by_id: HashMap<String, String> = HashMap::new();
    if ids.is_empty() {
        return by_id;
    }
    if ids.len() == 1 {
        let out = client
            .get_secret_value()
            .secret_id(&ids[0])
            .send()
            .await
            .unwrap_or_else(|e| fail(format!("{e:?}")));
        by_id.insert(
            ids[0].clone(),
            out.secret_string.unwrap_or_else(|| fail("no SecretString")),
        );
        return by_id;
    }
    for chunk in ids.chunks(20) {
        let out = client
            .batch_get_secret_value()
            .set_secret_id_list(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap_or_else(|e| fail(format!("{e:?}")));
        if let Some(errors) = out.errors.filter(|e| !e.is_empty()) {
            fail(format!(
                "{} secrets failed: {:?}",
                errors.len(),
                errors.iter().map(|e| &e.error_code).collect::<Vec<_>>()
            ));
        }
        for v in out.secret_values.unwrap_or_default() {
            let name = v.name.unwrap_or_default();
            by_id.insert(
                name,
                v.secret_string.unwrap_or_else(|| fail("no SecretString")),
            );
        }
    }
    by_id
}

async fn fetch_parameters(client: aws_sdk_ssm::Client, names: Vec<String>) -> HashMap<String, String> {
    let mut by_name: HashMap<String, String> = HashMap::new();
    for chunk in names.chunks(10) {
        let out = client
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .unwrap_or_else(|e| fail(format!("{e:?}")));
        if let Some(invalid) = out.invalid_parameters.filter(|i| !i.is_empty()) {
            fail(format!("parameters not found: {invalid:?}"));
        }
        for p in out.parameters.unwrap_or_default() {
            by_name.insert(
                p.name.unwrap_or_default(),
                p.value.unwrap_or_else(|| fail("no Value")),
            );
        }
    }
    by_name
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .iter()
        .position(|a| a == "--")
        .unwrap_or_else(|| fail("usage: sdk-fetch VAR=REF... -- COMMAND"));
    let (pairs, command) = (&args[..split], &args[split + 1..]);
    if command.is_empty() {
        fail("no command");
    }
    let wanted: Vec<(String, String)> = pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(v, s)| (v.to_string(), s.to_string()))
                .unwrap_or_else(|| fail("bad VAR=REF"))
        })
        .collect();
    let distinct = |ssm: bool| {
        let mut v: Vec<String> = wanted
            .iter()
            .filter_map(|(_, r)| match r.strip_prefix("ssm:") {
                Some(name) if ssm => Some(name.to_string()),
                None if !ssm => Some(r.clone()),
                _ => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let (secret_ids, parameter_names) = (distinct(false), distinct(true));

    let config = aws_config::load_from_env().await;
    let (secrets, parameters) = if parameter_names.is_empty() {
        let sm = aws_sdk_secretsmanager::Client::new(&config);
        (fetch_secrets(sm, secret_ids).await, HashMap::new())
    } else if secret_ids.is_empty() {
        let ssm = aws_sdk_ssm::Client::new(&config);
        (HashMap::new(), fetch_parameters(ssm, parameter_names).await)
    } else {
        let sm = aws_sdk_secretsmanager::Client::new(&config);
        let ssm = aws_sdk_ssm::Client::new(&config);
        tokio::join!(fetch_secrets(sm, secret_ids), fetch_parameters(ssm, parameter_names))
    };
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    for (var, r) in &wanted {
        let value = match r.strip_prefix("ssm:") {
            Some(name) => parameters.get(name),
            None => secrets.get(r),
        };
        cmd.env(
            var,
            value.unwrap_or_else(|| fail(format!("{r} missing from the reply"))),
        );
    }
    let err = cmd.exec();
    fail(format!("exec {}: {err}", command[0]))
}
