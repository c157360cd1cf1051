//! Parameter Store replies: success bodies of `GetParameters` and `GetParametersByPath`, error
//! bodies and headers, every parameter value run through the value rules, and the settlement of a
//! `GetParameters` reply, each checked against its own oracle.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lambda_secrets::fuzzing::ssm_reply_input(data));
