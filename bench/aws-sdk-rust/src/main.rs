//! sdk-fetch VAR=SECRET_ID... -- COMMAND [ARGS...]
//!
//! The AWS SDK for Rust way of doing what lambda-secrets does: load the default configuration
//! (environment credentials, region and endpoint URL variables), fetch the secrets (one
//! GetSecretValue for one secret, BatchGetSecretValue for more, as lambda-secrets does), put each
//! SecretString into the named variable and exec the command in place.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{exit, Command};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("sdk-fetch: {msg}");
    exit(1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .iter()
        .position(|a| a == "--")
        .unwrap_or_else(|| fail("usage: sdk-fetch VAR=ID... -- COMMAND"));
    let (pairs, command) = (&args[..split], &args[split + 1..]);
    if command.is_empty() {
        fail("no command");
    }
    let wanted: Vec<(String, String)> = pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(v, s)| (v.to_string(), s.to_string()))
                .unwrap_or_else(|| fail("bad VAR=ID"))
        })
        .collect();

    let config = aws_config::load_from_env().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let mut by_id: HashMap<String, String> = HashMap::new();
    if wanted.len() == 1 {
        let out = client
            .get_secret_value()
            .secret_id(&wanted[0].1)
            .send()
            .await
            .unwrap_or_else(|e| fail(format!("{e:?}")));
        by_id.insert(
            wanted[0].1.clone(),
            out.secret_string.unwrap_or_else(|| fail("no SecretString")),
        );
    } else {
        let mut ids: Vec<String> = wanted.iter().map(|(_, s)| s.clone()).collect();
        ids.sort();
        ids.dedup();
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
    }
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    for (var, id) in &wanted {
        cmd.env(
            var,
            by_id
                .get(id)
                .unwrap_or_else(|| fail(format!("{id} missing from the reply"))),
        );
    }
    let err = cmd.exec();
    fail(format!("exec {}: {err}", command[0]))
}
