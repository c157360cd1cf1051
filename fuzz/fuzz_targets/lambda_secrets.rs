//! The `LAMBDA_SECRETS` parser (both forms, references, names), checked against the README's rules.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lambda_secrets::fuzzing::lambda_secrets_input(data));
