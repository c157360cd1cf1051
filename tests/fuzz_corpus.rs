//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) through the same entry points the
//! cargo-fuzz targets call, so every input a fuzzer found interesting, and every crash it found
//! once, stays checked by a plain `cargo test`, without cargo-fuzz or a nightly toolchain.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "{}: only {} inputs",
        dir.display(),
        files.len()
    );
    for file in files {
        let data = std::fs::read(&file).expect("a corpus file");
        // A panic names the input; the input itself is not printed (it may be large).
        let name = file.display().to_string();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("fuzz corpus input {name} failed");
        }
    }
}

#[test]
fn lambda_secrets_corpus() {
    replay(
        "lambda_secrets",
        lambda_secrets::fuzzing::lambda_secrets_input,
    );
}

#[test]
fn reply_corpus() {
    replay("reply", lambda_secrets::fuzzing::reply_input);
}

#[test]
fn ssm_reply_corpus() {
    replay("ssm_reply", lambda_secrets::fuzzing::ssm_reply_input);
}
